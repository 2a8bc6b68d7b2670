/* SPDX-License-Identifier: MIT */
/* test-logretention.c — job log file retention in the core ([Daemon]
 * LogMaxSize=, LogMaxAge=): which files go by size and by age, per job,
 * that the file being written is kept, that symlinks are never followed,
 * and how jobd.conf spells the limits. Real files; ages set with utimensat.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-config.h"
#include "jobd-error.h"
#include "jobd-logretention.h"
#include "test-fs-util.h"

#define NOW ((gint64) 1800000000)
#define HOUR 3600
#define DAY (24 * HOUR)

typedef struct {
  char *tmp;
  char *logs;
} Tree;

static void
age (const char *path, gint64 mtime)
{
  struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
}

/* A file of `size` bytes last modified at mtime. */
static void
make_file (Tree *t, const char *relative, gsize size, gint64 mtime)
{
  g_autofree char *path = g_build_filename (t->logs, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *data = g_malloc0 (size + 1);
  g_autoptr(GError) error = NULL;

  memset (data, 'x', size);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, data, size, &error);
  g_assert_no_error (error);
  age (path, mtime);
}

static void
age_dir (Tree *t, const char *relative, gint64 mtime)
{
  g_autofree char *path = g_build_filename (t->logs, relative, NULL);

  age (path, mtime);
}

static gboolean
exists (Tree *t, const char *relative)
{
  g_autofree char *path = g_build_filename (t->logs, relative, NULL);
  struct stat st;

  return lstat (path, &st) == 0;
}

static void
tree_setup (Tree *t, gconstpointer data)
{
  t->tmp = g_dir_make_tmp ("jobd-retention-XXXXXX", NULL);
  g_assert_nonnull (t->tmp);
  t->logs = g_build_filename (t->tmp, "logs", NULL);
}

static void
tree_teardown (Tree *t, gconstpointer data)
{
  test_remove_tree (t->tmp);
  g_free (t->tmp);
  g_free (t->logs);
}

/* The rule jobd uses: only the last hour is protected. */
static JobdLogPrune
core_rule (gint64 max_age, guint64 max_bytes)
{
  JobdLogPrune rule = {
    .older_than = max_age == 0 ? G_MININT64 : NOW - max_age,
    .max_bytes = max_bytes,
    .keep_since = NOW - HOUR,
    .empty_dirs_before = NOW - HOUR,
  };

  return rule;
}

static guint
prune (Tree *t, JobdLogPrune rule)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  g_assert_true (jobd_log_prune (t->logs, &rule, &removed, &error));
  g_assert_no_error (error);
  return removed;
}

/* Past LogMaxSize, a job's oldest files go first until it fits; each job
 * (and server/) is measured on its own. */
static void
test_size (Tree *t, gconstpointer data)
{
  make_file (t, "jobs/a/20260101/2026010100.log", 1000, NOW - 5 * DAY);
  make_file (t, "jobs/a/20260102/2026010200.error.log", 1000, NOW - 4 * DAY);
  make_file (t, "jobs/a/20260103/2026010300.log", 1000, NOW - 3 * DAY);
  make_file (t, "jobs/a/20260104/2026010400.log", 1000, NOW - 2 * DAY);
  make_file (t, "jobs/b/20260101/2026010100.log", 2500, NOW - 5 * DAY);
  make_file (t, "server/20260101/2026010100.log", 2000, NOW - 5 * DAY);
  make_file (t, "server/20260102/2026010200.log", 500, NOW - 4 * DAY);
  age_dir (t, "jobs/a/20260101", NOW - 5 * DAY);
  age_dir (t, "jobs/a/20260102", NOW - 4 * DAY);

  /* a: 4000 bytes → the two oldest go (and their day folders); b: one
   * file of 2500 > 2500? no, exactly the limit, it stays; server: 2500. */
  g_assert_cmpuint (prune (t, core_rule (0, 2500)), ==, 4);
  g_assert_false (exists (t, "jobs/a/20260101"));
  g_assert_false (exists (t, "jobs/a/20260102"));
  g_assert_true (exists (t, "jobs/a/20260103/2026010300.log"));
  g_assert_true (exists (t, "jobs/a/20260104/2026010400.log"));
  g_assert_true (exists (t, "jobs/b/20260101/2026010100.log"));
  g_assert_true (exists (t, "server/20260101/2026010100.log"));

  /* Lower: b's only file goes, server keeps its newest. */
  prune (t, core_rule (0, 1000));
  g_assert_false (exists (t, "jobs/b/20260101/2026010100.log"));
  g_assert_false (exists (t, "jobs/a/20260103/2026010300.log"));
  g_assert_true (exists (t, "jobs/a/20260104/2026010400.log"));
  g_assert_false (exists (t, "server/20260101/2026010100.log"));
  g_assert_true (exists (t, "server/20260102/2026010200.log"));
  /* Job folders themselves are never removed. */
  g_assert_true (exists (t, "jobs/b"));
}

/* The file being written (modified within the hour) is never deleted,
 * even alone over the limit or past the age. */
static void
test_current_file_kept (Tree *t, gconstpointer data)
{
  make_file (t, "jobs/a/20260101/old.log", 100, NOW - 3 * HOUR);
  make_file (t, "jobs/a/20260101/now.log", 5000, NOW - 60);

  prune (t, core_rule (0, 1000));
  g_assert_false (exists (t, "jobs/a/20260101/old.log"));
  g_assert_true (exists (t, "jobs/a/20260101/now.log"));
  prune (t, core_rule (1, 1));
  g_assert_true (exists (t, "jobs/a/20260101/now.log"));
}

/* LogMaxAge: files not written for longer go; the rest stay; empty day
 * folders go, a fresh empty one (about to be written) stays. */
static void
test_age (Tree *t, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (t->tmp, "outside", NULL);
  g_autofree char *secret = g_build_filename (outside, "secret.log", NULL);
  g_autofree char *link = g_build_filename (t->logs, "jobs/a/20260101/link.log", NULL);
  g_autofree char *link_dir = g_build_filename (t->logs, "jobs/c", NULL);
  g_autofree char *fresh_dir = g_build_filename (t->logs, "jobs/a/20260501", NULL);
  g_autoptr(GError) error = NULL;

  make_file (t, "jobs/a/20260101/2026010100.log", 10, NOW - 40 * DAY);
  make_file (t, "jobs/a/20260120/2026012000.log", 10, NOW - 20 * DAY);
  make_file (t, "server/20260101/2026010100.log", 10, NOW - 40 * DAY);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0755), ==, 0);
  g_file_set_contents (secret, "x", -1, &error);
  g_assert_no_error (error);
  age (secret, NOW - 100 * DAY);
  g_assert_cmpint (symlink (secret, link), ==, 0);
  age (link, NOW - 100 * DAY);
  g_assert_cmpint (symlink (outside, link_dir), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (fresh_dir, 0755), ==, 0);
  age_dir (t, "jobs/a/20260501", NOW - 60);
  age_dir (t, "jobs/a/20260101", NOW - 40 * DAY);
  age_dir (t, "jobs/a/20260120", NOW - 20 * DAY);
  age_dir (t, "server/20260101", NOW - 40 * DAY);

  g_assert_cmpuint (prune (t, core_rule (30 * DAY, 0)), ==, 3);
  g_assert_false (exists (t, "jobs/a/20260101/2026010100.log"));
  g_assert_false (exists (t, "server/20260101"));
  g_assert_true (exists (t, "jobs/a/20260120/2026012000.log"));
  g_assert_true (exists (t, "jobs/a/20260501"));
  /* The symlink is not a regular file: kept, and its target untouched;
   * so the folder holding it is not empty and stays. */
  g_assert_true (exists (t, "jobs/a/20260101/link.log"));
  g_assert_true (g_file_test (secret, G_FILE_TEST_EXISTS));
}

static void
test_missing_dir (void)
{
  JobdLogPrune rule = core_rule (DAY, 1);
  g_autoptr(GError) error = NULL;
  guint removed = 1;

  g_assert_true (jobd_log_prune ("/nonexistent/jobd/logs", &rule, &removed, &error));
  g_assert_cmpuint (removed, ==, 0);
}

static JobdConfig *
load (const char *text, GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("jobd-conf-XXXXXX", &path, NULL);
  JobdConfig *config = jobd_config_new ();

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  if (!jobd_config_load (config, path, TRUE, error))
    g_clear_pointer (&config, jobd_config_free);
  g_unlink (path);
  return config;
}

/* The keys accept units as journald's do; a bad value names the key. */
static void
test_config (void)
{
  static const struct { const char *text; guint64 size; guint64 age; } good[] = {
    { "[Daemon]\n", 0, 0 },
    { "[Daemon]\nLogMaxSize=\nLogMaxAge=\n", 0, 0 },
    { "[Daemon]\nLogMaxSize=4096\nLogMaxAge=90\n", 4096, 90 },
    { "[Daemon]\nLogMaxSize=500M\nLogMaxAge=30d\n", 500 * 1024 * 1024, 30 * DAY },
    { "[Daemon]\nLogMaxSize=2 G\nLogMaxAge=12h\n", G_GUINT64_CONSTANT (2) << 30, 12 * HOUR },
    { "[Daemon]\nLogMaxSize=1k\nLogMaxAge=2w\n", 1024, 14 * DAY },
    { "[Daemon]\nLogMaxAge=5min\n", 0, 300 },
  };
  static const char *const bad[] = {
    "[Daemon]\nLogMaxSize=-1\n", "[Daemon]\nLogMaxSize=10X\n", "[Daemon]\nLogMaxAge=1y\n",
    "[Daemon]\nLogMaxAge=soon\n", "[Daemon]\nLogMaxSize=99999999999999999999\n",
    "[Daemon]\nLogMaxSize=99999999999T\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdConfig) config = load (good[i].text, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (config->log_max_size, ==, good[i].size);
      g_assert_cmpuint (config->log_max_age_sec, ==, good[i].age);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdConfig) config = load (bad[i], &error);

      g_assert_null (config);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_nonnull (strstr (error->message, "[Daemon] LogMax"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/logretention/size", Tree, NULL, tree_setup, test_size, tree_teardown);
  g_test_add ("/logretention/current-file-kept", Tree, NULL, tree_setup,
              test_current_file_kept, tree_teardown);
  g_test_add ("/logretention/age", Tree, NULL, tree_setup, test_age, tree_teardown);
  g_test_add_func ("/logretention/missing-dir", test_missing_dir);
  g_test_add_func ("/logretention/config", test_config);
  return g_test_run ();
}
