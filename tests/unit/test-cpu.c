/* SPDX-License-Identifier: MIT */
/* test-cpu.c — jobd-cpu: the stat line parser, cpu.stat and cpuacct of a
 * fake cgroup tree in a temp dir (the three shapes of /sys/fs/cgroup), and
 * a real busy child's figure against getrusage. */
#include "config.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "jobd-cpu.h"

#define CG "/jobd.slice/jobd-w.scope"

static void
put_file (const char *root, const char *hierarchy, const char *name, const char *contents)
{
  g_autofree char *dir = g_build_filename (root, hierarchy, CG, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *root)
{
  g_autofree char *quoted = g_shell_quote (root);
  g_autofree char *command = g_strdup_printf ("rm -rf %s", quoted);

  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
}

static void
test_parse_stat (void)
{
  /* A command name with spaces and ')' in it. */
  const char *line = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 "
                     "7 3 20 10 20 0 1 0 12345 1000 100 18446744073709551615";
  guint64 ticks = 0;
  GPid sid = 0;

  g_assert_true (jobd_cpu_parse_stat (line, &ticks, &sid));
  g_assert_cmpuint (ticks, ==, 7 + 3 + 20 + 10);
  g_assert_cmpint (sid, ==, 42);
  g_assert_false (jobd_cpu_parse_stat ("42 (cut", &ticks, NULL));
  g_assert_false (jobd_cpu_parse_stat ("42 (x) S 1 2 3", &ticks, NULL));
}

static void
test_cgroup_shapes (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-cpu-XXXXXX", NULL);
  const char *source = NULL;
  guint64 usec = 0;
  g_autoptr(GError) error = NULL;

  /* v1 only: cpuacct.usage in ns (as Debian mounts it, cpu,cpuacct). */
  put_file (root, "cpu,cpuacct", "cpuacct.usage", "2500000000\n");
  g_assert_true (jobd_cpu_cgroup_usage (root, CG, &usec, &source, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (usec, ==, 2500000);
  g_assert_cmpstr (source, ==, JOBD_CPU_SOURCE_CPUACCT);

  /* Hybrid: the unified tree's cpu.stat wins, usage_usec not first. */
  put_file (root, "unified", "cpu.stat", "nr_periods 0\nusage_usec 1234567\nuser_usec 1\n");
  g_assert_true (jobd_cpu_cgroup_usage (root, CG, &usec, &source, &error));
  g_assert_cmpuint (usec, ==, 1234567);
  g_assert_cmpstr (source, ==, JOBD_CPU_SOURCE_CGROUP);

  /* Pure v2 at the root. */
  put_file (root, "", "cpu.stat", "usage_usec 99\nuser_usec 90\nsystem_usec 9\n");
  g_assert_true (jobd_cpu_cgroup_usage (root, CG, &usec, &source, &error));
  g_assert_cmpuint (usec, ==, 99);
  {
    g_autofree char *dir = g_build_filename (root, CG, NULL);
    g_assert_true (jobd_cpu_cgroup_dir_usage (dir, &usec));
    g_assert_cmpuint (usec, ==, 99);
  }
  remove_tree (root);
}

/* A child that spins for about 300 ms of CPU then waits: its figure (and
 * that of its session, which it leads) matches what the kernel says. */
static void
test_process_usage (void)
{
  struct timespec cpu;
  guint64 usec = 0, session = 0;
  int ready[2];
  GPid pid;
  char c;

  g_assert_cmpint (pipe (ready), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      setsid ();
      do
        clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu);
      while (cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000 < 300);
      (void) !write (ready[1], "r", 1);
      for (;;)
        pause ();
    }
  g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
  close (ready[0]);
  close (ready[1]);
  g_assert_true (jobd_cpu_process_usage (pid, &usec));
  g_assert_true (jobd_cpu_session_usage (pid, &session, NULL));
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  /* Clock ticks: 10 ms granularity, and a tick's slack. */
  g_assert_cmpuint (usec, >=, 280000);
  g_assert_cmpuint (usec, <=, 2000000);
  g_assert_cmpuint (session, ==, usec);
  g_assert_false (jobd_cpu_process_usage (pid, &usec));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/parse-stat", test_parse_stat);
  g_test_add_func ("/cpu/cgroup-shapes", test_cgroup_shapes);
  g_test_add_func ("/cpu/process-usage", test_process_usage);
  return g_test_run ();
}
