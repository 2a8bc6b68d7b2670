/* SPDX-License-Identifier: MIT */
/* test-legacy-logexplorer.c — the legacy logexplorer plugin's confinement:
 * names are single safe components, listings are newest first and hold
 * only real folders or files, and no name, "..", absolute path or symlink
 * (as the file or anywhere on the way) reaches outside the log directory.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-legacy-logexplorer.h"
#include "test-fs-util.h"

typedef struct {
  char *tmp;
  char *logs;
} Tree;

static void
put (const char *base, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (base, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
link_in (const char *base, const char *relative, const char *target)
{
  g_autofree char *path = g_build_filename (base, relative, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

static void
tree_setup (Tree *t, gconstpointer data)
{
  g_autofree char *outside = NULL;
  g_autofree char *fifo = NULL;

  t->tmp = g_dir_make_tmp ("jobd-logx-XXXXXX", NULL);
  g_assert_nonnull (t->tmp);
  t->logs = g_build_filename (t->tmp, "logs", NULL);
  outside = g_build_filename (t->tmp, "outside", NULL);

  put (t->tmp, "outside/secret.log", "SECRET\n");
  put (t->tmp, "secret.log", "SECRET\n");
  put (t->logs, "jobs/web/20260101/2026010100.log", "[26-01-01 00:00:01] one\n");
  put (t->logs, "jobs/web/20260101/2026010123.log", "late\n");
  put (t->logs, "jobs/web/20260101/2026010100.error.log", "err\n");
  put (t->logs, "jobs/web/20251231/2025123100.log", "old\n");
  put (t->logs, "jobs/web/stray.txt", "not a folder\n");
  put (t->logs, "jobs/web/20260102/bad.log", "a\xff" "b\n");
  put (t->logs, "server/20260101/2026010100.log", "server line\n");
  link_in (t->logs, "jobs/web/20260103", outside);
  link_in (t->logs, "jobs/web/20260101/link.log", "../../../../secret.log");
  link_in (t->logs, "jobs/evil", outside);
  fifo = g_build_filename (t->logs, "jobs/web/20260101/fifo.log", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
}

static void
tree_teardown (Tree *t, gconstpointer data)
{
  test_remove_tree (t->tmp);
  g_free (t->tmp);
  g_free (t->logs);
}

static char *
joined (GPtrArray *names)
{
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static char *
list (Tree *t, gboolean dirs, const char *a, const char *b, const char *c)
{
  const char *components[] = { a, b, c, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = jobd_legacy_log_list (t->logs, components, dirs, &error);

  if (names == NULL)
    return NULL;
  return joined (names);
}

static char *
read_log (Tree *t, const char *a, const char *b, const char *c, const char *d)
{
  const char *components[] = { a, b, c, d, NULL };

  return jobd_legacy_log_read (t->logs, components, NULL);
}

static void
test_names (void)
{
  g_autofree char *longest = g_strnfill (255, 'a');
  g_autofree char *too_long = g_strnfill (256, 'a');
  const char *unsafe[] = { "", ".", "..", "a/b", "/etc", "../x", "x/..", "/", NULL };
  const char *safe[] = { "20260101", "2026010100.log", ".hidden", "a..b", "...", "-x", NULL };

  for (guint i = 0; unsafe[i] != NULL; i++)
    g_assert_false (jobd_legacy_log_name_is_safe (unsafe[i]));
  for (guint i = 0; safe[i] != NULL; i++)
    g_assert_true (jobd_legacy_log_name_is_safe (safe[i]));
  g_assert_false (jobd_legacy_log_name_is_safe (NULL));
  g_assert_true (jobd_legacy_log_name_is_safe (longest));
  g_assert_false (jobd_legacy_log_name_is_safe (too_long));
}

static void
test_list (Tree *t, gconstpointer data)
{
  g_autofree char *days = list (t, TRUE, "jobs", "web", NULL);
  g_autofree char *files = list (t, FALSE, "jobs", "web", "20260101");
  g_autofree char *server = list (t, TRUE, "server", NULL, NULL);

  /* Newest first; the symlinked folder and the stray file are not days. */
  g_assert_cmpstr (days, ==, "20260102,20260101,20251231");
  /* Regular files only: no symlink, no FIFO. */
  g_assert_cmpstr (files, ==, "2026010123.log,2026010100.log,2026010100.error.log");
  g_assert_cmpstr (server, ==, "20260101");
}

static void
test_list_confined (Tree *t, gconstpointer data)
{
  const char *const escapes[][3] = {
    { "jobs", "..", NULL }, { "jobs", "web", ".." }, { "..", NULL, NULL },
    { "jobs", "evil", NULL }, { "jobs", "web", "20260103" }, { "/", NULL, NULL },
    { "jobs", "/tmp", NULL }, { "jobs", "web/../..", NULL }, { "jobs", "", NULL },
    { "jobs", "nope", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (escapes); i++)
    {
      g_autofree char *got = list (t, FALSE, escapes[i][0], escapes[i][1], escapes[i][2]);
      g_autofree char *dirs = list (t, TRUE, escapes[i][0], escapes[i][1], escapes[i][2]);

      if (got != NULL || dirs != NULL)
        g_error ("listing %s/%s/%s escaped: %s %s", escapes[i][0], escapes[i][1],
                 escapes[i][2], got, dirs);
    }
}

static void
test_read (Tree *t, gconstpointer data)
{
  g_autofree char *one = read_log (t, "jobs", "web", "20260101", "2026010100.log");
  g_autofree char *bad = read_log (t, "jobs", "web", "20260102", "bad.log");
  const char *components[] = { "server", "20260101", "2026010100.log", NULL };
  g_autofree char *server = jobd_legacy_log_read (t->logs, components, NULL);

  g_assert_cmpstr (one, ==, "[26-01-01 00:00:01] one\n");
  g_assert_cmpstr (server, ==, "server line\n");
  /* Invalid UTF-8 comes back valid (JSON strings must be). */
  g_assert_nonnull (bad);
  g_assert_true (g_utf8_validate (bad, -1, NULL));
  g_assert_true (g_str_has_prefix (bad, "a"));
}

static void
test_read_confined (Tree *t, gconstpointer data)
{
  const char *const escapes[][4] = {
    { "jobs", "web", "20260101", "link.log" },     /* symlink file */
    { "jobs", "web", "20260103", "secret.log" },   /* symlinked folder */
    { "jobs", "evil", "x", "secret.log" },
    { "jobs", "web", "20260101", "fifo.log" },     /* not a regular file */
    { "jobs", "web", "..", "stray.txt" },
    { "jobs", "web", "20260101", "../../../../secret.log" },
    { "jobs", "web", "20260101", "/etc/passwd" },
    { "jobs", "web", "20260101", ".." },
    { "jobs", "web", "20260101", "" },
    { "jobs", "web", "/etc", "passwd" },
    { "jobs", "web", "20260101", "missing.log" },
    { "jobs", "web", "20260101", NULL },            /* a folder */
  };

  for (guint i = 0; i < G_N_ELEMENTS (escapes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *got = NULL;

      got = jobd_legacy_log_read (t->logs, (const char *const *) escapes[i], &error);
      if (got != NULL)
        g_error ("read %u escaped: %s", i, got);
      g_assert_nonnull (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/legacy-logexplorer/names", test_names);
  g_test_add ("/legacy-logexplorer/list", Tree, NULL, tree_setup, test_list, tree_teardown);
  g_test_add ("/legacy-logexplorer/list-confined", Tree, NULL, tree_setup, test_list_confined,
              tree_teardown);
  g_test_add ("/legacy-logexplorer/read", Tree, NULL, tree_setup, test_read, tree_teardown);
  g_test_add ("/legacy-logexplorer/read-confined", Tree, NULL, tree_setup, test_read_confined,
              tree_teardown);

  return g_test_run ();
}
