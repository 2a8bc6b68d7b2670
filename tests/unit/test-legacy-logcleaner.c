/* SPDX-License-Identifier: MIT */
/* test-legacy-logcleaner.c — log retention: which files and day folders go,
 * which stay, and that symlinks anywhere in the tree are never followed.
 * Ages are set with utimensat, so nothing waits for real time to pass.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-legacy-logcleaner.h"
#include "test-fs-util.h"

#define NOW ((gint64) 1800000000)
#define DAY (24 * 3600)
#define OLD (NOW - 10 * DAY)
#define FRESH (NOW - 1 * DAY)
#define CUTOFF (NOW - 7 * DAY)

typedef struct {
  char *tmp;
  char *logs;
  char *outside;
} Tree;

static char *
path_in (const char *base, const char *relative)
{
  return g_build_filename (base, relative, NULL);
}

/* Set a path's mtime (not following a symlink). */
static void
age (const char *path, gint64 mtime)
{
  struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static void
age_in (const char *base, const char *relative, gint64 mtime)
{
  g_autofree char *path = path_in (base, relative);

  age (path, mtime);
}

static void
make_file (const char *base, const char *relative, gint64 mtime)
{
  g_autofree char *path = path_in (base, relative);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, "line\n", -1, &error);
  g_assert_no_error (error);
  age (path, mtime);
}

static void
make_dir (const char *base, const char *relative, gint64 mtime)
{
  g_autofree char *path = path_in (base, relative);

  g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
  age (path, mtime);
}

static void
make_link (const char *base, const char *relative, const char *target, gint64 mtime)
{
  g_autofree char *path = path_in (base, relative);

  g_assert_cmpint (symlink (target, path), ==, 0);
  age (path, mtime);
}

static gboolean
exists (const char *base, const char *relative)
{
  g_autofree char *path = path_in (base, relative);
  struct stat st;

  return lstat (path, &st) == 0;
}

static void
tree_setup (Tree *t, gconstpointer data)
{
  g_autofree char *outside_old = NULL;
  g_autofree char *outside_dir = NULL;

  t->tmp = g_dir_make_tmp ("jobd-clean-XXXXXX", NULL);
  g_assert_nonnull (t->tmp);
  t->logs = path_in (t->tmp, "logs");
  t->outside = path_in (t->tmp, "outside");

  /* Outside the log directory: old, and must survive everything. */
  make_file (t->outside, "secret.log", OLD);
  make_file (t->outside, "20200101/old.log", OLD);
  outside_old = path_in (t->outside, "secret.log");
  outside_dir = path_in (t->outside, "20200101");

  make_file (t->logs, "server/20260101/2026010100.log", OLD);
  make_file (t->logs, "server/20260520/2026052000.log", FRESH);
  make_file (t->logs, "jobs/a/20260101/2026010100.log", OLD);
  make_file (t->logs, "jobs/a/20260101/2026010100.error.log", OLD);
  make_file (t->logs, "jobs/a/20260102/2026010200.log", OLD);
  make_file (t->logs, "jobs/a/20260102/2026010223.log", FRESH);
  make_file (t->logs, "jobs/b/20260101/2026010100.log", OLD);
  make_link (t->logs, "jobs/b/20260101/link.log", outside_old, OLD);
  make_link (t->logs, "jobs/b/20200101", outside_dir, OLD);
  make_link (t->logs, "jobs/c", t->outside, OLD);
  make_link (t->logs, "server/20200101", outside_dir, OLD);
  /* Empty day folders: an old one goes, a fresh one (about to be written) stays. */
  make_dir (t->logs, "jobs/a/20251201", OLD);
  make_dir (t->logs, "jobs/a/20260521", FRESH);
  /* Folder ages last: creating their files touched them. */
  age_in (t->logs, "server/20260101", OLD);
  age_in (t->logs, "jobs/a/20260101", OLD);
  age_in (t->logs, "jobs/a/20260102", OLD);
  age_in (t->logs, "jobs/b/20260101", OLD);
}

static void
tree_teardown (Tree *t, gconstpointer data)
{
  test_remove_tree (t->tmp);
  g_free (t->tmp);
  g_free (t->logs);
  g_free (t->outside);
}

static void
test_clean (Tree *t, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  g_assert_true (jobd_legacy_log_clean (t->logs, CUTOFF, &removed, &error));
  g_assert_no_error (error);

  /* Old files and the folders they leave empty are gone. */
  g_assert_false (exists (t->logs, "server/20260101"));
  g_assert_false (exists (t->logs, "jobs/a/20260101"));
  g_assert_false (exists (t->logs, "jobs/a/20260102/2026010200.log"));
  g_assert_false (exists (t->logs, "jobs/b/20260101/2026010100.log"));
  g_assert_false (exists (t->logs, "jobs/a/20251201"));
  /* Fresh ones stay, and so does a day folder with a fresh file. */
  g_assert_true (exists (t->logs, "server/20260520/2026052000.log"));
  g_assert_true (exists (t->logs, "jobs/a/20260102/2026010223.log"));
  g_assert_true (exists (t->logs, "jobs/a/20260521"));
  /* Job folders themselves are never removed. */
  g_assert_true (exists (t->logs, "jobs/a"));
  /* Symlinks are neither followed nor deleted; nothing outside is touched,
   * and the day folder holding a symlink is not empty so it stays. */
  g_assert_true (exists (t->logs, "jobs/b/20260101/link.log"));
  g_assert_true (exists (t->logs, "jobs/b/20200101"));
  g_assert_true (exists (t->logs, "jobs/c"));
  g_assert_true (exists (t->logs, "server/20200101"));
  g_assert_true (exists (t->outside, "secret.log"));
  g_assert_true (exists (t->outside, "20200101/old.log"));
  g_assert_true (exists (t->outside, "20200101"));

  /* 5 files + 3 folders (server/20260101, jobs/a/20260101, jobs/a/20251201). */
  g_assert_cmpuint (removed, ==, 8);

  /* Idempotent. */
  g_assert_true (jobd_legacy_log_clean (t->logs, CUTOFF, &removed, &error));
  g_assert_cmpuint (removed, ==, 0);
}

static void
test_missing_dir (void)
{
  g_autoptr(GError) error = NULL;
  guint removed = 7;

  g_assert_true (jobd_legacy_log_clean ("/nonexistent/jobd/logs", NOW, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 0);
}

/* [Legacy] LogExpireDays= and LogCleanIntervalSec= are read (and checked)
 * with the rest of [Legacy] (jobd-legacy-config.c). */
static void
test_config (void)
{
  const char *bad[] = {
    "[Legacy]\nLogExpireDays=0\n", "[Legacy]\nLogExpireDays=abc\n",
    "[Legacy]\nLogCleanIntervalSec=-5\n", "[Legacy]\nLogCleanIntervalSec=0\n", NULL,
  };
  g_autoptr(GKeyFile) good = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(JobdLegacyConfig) conf = { 0 };
  g_autoptr(JobdLegacyLogCleaner) cleaner = NULL;

  g_key_file_load_from_data (good, "[Legacy]\nLogExpireDays=30\nLogCleanIntervalSec=60\n",
                             -1, 0, &error);
  g_assert_no_error (error);
  g_assert_true (jobd_legacy_config_read (good, &conf, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (conf.log_expire_days, ==, 30);
  g_assert_cmpuint (conf.log_clean_interval_sec, ==, 60);
  cleaner = jobd_legacy_logcleaner_new ("/tmp", conf.log_expire_days, conf.log_clean_interval_sec);
  g_assert_nonnull (cleaner);

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GKeyFile) keyfile = g_key_file_new ();
      g_auto(JobdLegacyConfig) none = { 0 };

      g_key_file_load_from_data (keyfile, bad[i], -1, 0, &error);
      g_assert_no_error (error);
      g_assert_false (jobd_legacy_config_read (keyfile, &none, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/legacy-logcleaner/clean", Tree, NULL, tree_setup, test_clean, tree_teardown);
  g_test_add_func ("/legacy-logcleaner/missing-dir", test_missing_dir);
  g_test_add_func ("/legacy-logcleaner/config", test_config);

  return g_test_run ();
}
