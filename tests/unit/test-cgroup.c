/* SPDX-License-Identifier: MIT */
/* test-cgroup.c — jobd-cgroup against a fake cgroup tree in a temp dir.
 *
 * The tree mimics /sys/fs/cgroup in its three shapes (pure v2, hybrid with
 * the v1 memory controller, hybrid without it); the cgroup.procs fallback
 * lists real child processes so the RSS sum can be checked against /proc.
 */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "jobd-cgroup.h"
#include "jobd-memory.h"

#define CG "/jobd.slice/jobd-w.scope"

typedef struct {
  char *root;
  GPid kids[2];
} Fixture;

static void
put_file (const char *root, const char *hierarchy, const char *cgroup,
          const char *name, const char *contents)
{
  g_autofree char *dir = g_build_filename (root, hierarchy, cgroup, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* A child that touches some memory and then waits to be killed, so its
 * RSS is stable while the test reads it. */
static GPid
spawn_sleeper (gsize touch)
{
  int ready[2];
  GPid pid;
  char c;

  g_assert_cmpint (pipe (ready), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      volatile char *mem = g_malloc (touch);
      for (gsize i = 0; i < touch; i += 4096)
        mem[i] = 1;
      (void) !write (ready[1], "r", 1);
      for (;;)
        pause ();
    }
  close (ready[1]);
  g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
  close (ready[0]);
  return pid;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->root = g_dir_make_tmp ("jobd-cgroup-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", f->root);

  for (guint i = 0; i < G_N_ELEMENTS (f->kids); i++)
    if (f->kids[i] > 0)
      {
        kill (f->kids[i], SIGKILL);
        waitpid (f->kids[i], NULL, 0);
      }
  g_assert_true (g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL));
  g_free (f->root);
}

static void
test_v2 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  put_file (f->root, "", CG, "memory.current", "1234567\n");
  put_file (f->root, "", CG, "cgroup.procs", "");
  /* A v1 figure too: v2 must win. */
  put_file (f->root, "memory", CG, "memory.usage_in_bytes", "99\n");
  g_assert_true (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bytes, ==, 1234567);
  g_assert_cmpstr (source, ==, JOBD_CGROUP_SOURCE_V2);
}

static void
test_v1 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  put_file (f->root, "unified", CG, "cgroup.procs", "1\n");
  put_file (f->root, "systemd", CG, "cgroup.procs", "1\n");
  put_file (f->root, "memory", CG, "memory.usage_in_bytes", "4096000\n");
  g_assert_true (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bytes, ==, 4096000);
  g_assert_cmpstr (source, ==, JOBD_CGROUP_SOURCE_V1);
}

static guint64
rss_of (GPid pid)
{
  g_autoptr(GError) error = NULL;
  guint64 rss = 0;

  g_assert_true (jobd_memory_process_rss (pid, &rss, &error));
  g_assert_no_error (error);
  return rss;
}

/* Hybrid without a usable memory controller: the sum of the RSS of the
 * listed processes, including a sub-cgroup's, skipping a vanished PID. */
static void
test_procs (Fixture *f, gconstpointer hierarchy)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *top = NULL, *sub = NULL;
  g_autofree char *sub_cg = g_strconcat (CG, "/payload", NULL);
  const char *source = NULL;
  guint64 bytes = 0, expected;
  GPid gone;

  f->kids[0] = spawn_sleeper (8 << 20);
  f->kids[1] = spawn_sleeper (2 << 20);
  gone = fork ();
  if (gone == 0)
    _exit (0);
  g_assert_cmpint (waitpid (gone, NULL, 0), ==, gone);

  /* The memory controller is mounted but does not hold this cgroup. */
  put_file (f->root, "memory", "/", "memory.usage_in_bytes", "1\n");
  top = g_strdup_printf ("%d\n%d\n", (int) f->kids[0], (int) gone);
  sub = g_strdup_printf ("%d\n", (int) f->kids[1]);
  put_file (f->root, hierarchy, CG, "cgroup.procs", top);
  put_file (f->root, hierarchy, sub_cg, "cgroup.procs", sub);

  expected = rss_of (f->kids[0]) + rss_of (f->kids[1]);
  g_assert_true (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (source, ==, JOBD_CGROUP_SOURCE_PROCS);
  g_assert_cmpuint (bytes, ==, expected);
  g_assert_cmpuint (bytes, >=, 10 << 20);
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  put_file (f->root, "unified", "/other.scope", "cgroup.procs", "");
  g_assert_false (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  put_file (f->root, "", CG, "memory.current", "lots\n");
  g_assert_false (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  put_file (f->root, "", CG, "memory.current", "12\n");   /* fixed … */
  put_file (f->root, "", CG, "cgroup.procs", "12x\n");    /* … not read */
  g_assert_true (jobd_cgroup_get_memory (f->root, CG, &bytes, &source, &error));
  g_assert_cmpuint (bytes, ==, 12);

  g_assert_null (jobd_cgroup_get_pids (f->root, CG, &error));
  g_assert_nonnull (error);
}

static void
test_get_pids (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) pids = NULL;

  put_file (f->root, "systemd", CG, "cgroup.procs", "10\n11\n");
  /* 0: a process of another PID namespace, or one exiting: skipped */
  put_file (f->root, "systemd", CG "/sub", "cgroup.procs", "0\n12\n");
  pids = jobd_cgroup_get_pids (f->root, CG, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pids->len, ==, 3);
  g_assert_cmpint (g_array_index (pids, GPid, 0) + g_array_index (pids, GPid, 1) +
                   g_array_index (pids, GPid, 2), ==, 33);
}

static void
test_parse_proc_cgroup (void)
{
  static const struct {
    const char *contents;
    const char *expected;
  } cases[] = {
    /* hybrid: the unified entry wins over name=systemd */
    { "9:name=systemd:/a.scope\n4:memory:/\n0::/jobd.slice/jobd-w.scope\n",
      "/jobd.slice/jobd-w.scope" },
    /* pure v2 */
    { "0::/user.slice/x:y.scope\n", "/user.slice/x:y.scope" },
    /* legacy v1 only */
    { "4:memory:/m\n1:name=systemd:/system.slice/jobd-a.scope\n",
      "/system.slice/jobd-a.scope" },
    { "4:memory:/m\n", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = jobd_cgroup_parse_proc_cgroup (cases[i].contents, &error);

      g_assert_cmpstr (path, ==, cases[i].expected);
      if (cases[i].expected == NULL)
        g_assert_nonnull (error);
      else
        g_assert_no_error (error);
    }
}

static void
test_path_of_self (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = jobd_cgroup_path_of_pid (getpid (), &error);

  g_assert_no_error (error);
  g_assert_nonnull (path);
  g_assert_true (path[0] == '/');
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cgroup/memory/v2", Fixture, NULL, fixture_setup, test_v2, fixture_teardown);
  g_test_add ("/cgroup/memory/v1", Fixture, NULL, fixture_setup, test_v1, fixture_teardown);
  g_test_add ("/cgroup/memory/procs-unified", Fixture, "unified",
              fixture_setup, test_procs, fixture_teardown);
  g_test_add ("/cgroup/memory/procs-named", Fixture, "systemd",
              fixture_setup, test_procs, fixture_teardown);
  g_test_add ("/cgroup/memory/not-found", Fixture, NULL, fixture_setup, test_not_found, fixture_teardown);
  g_test_add ("/cgroup/memory/garbage", Fixture, NULL, fixture_setup, test_garbage, fixture_teardown);
  g_test_add ("/cgroup/pids", Fixture, NULL, fixture_setup, test_get_pids, fixture_teardown);
  g_test_add_func ("/cgroup/parse-proc-cgroup", test_parse_proc_cgroup);
  g_test_add_func ("/cgroup/path-of-self", test_path_of_self);
  return g_test_run ();
}
