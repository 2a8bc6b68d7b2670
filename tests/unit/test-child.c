/* SPDX-License-Identifier: MIT */
/* test-child.c — the held child the systemd spawner starts (issue 16): it
 * runs nothing until released, reports a failed exec, never runs when jobd
 * gives up on it, lets each of several held children go on its own, and
 * costs jobd no copy of its memory while it waits. Real processes, children
 * of the test. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-child.h"
#include "jobd-error.h"

#define DEADLINE_MS 10000

typedef struct {
  GPid pid;
  int go_fd, err_fd;
} Held;

static void
start_held (Held *held, const char *program, const char *arg, const char *marker)
{
  g_autoptr(GError) error = NULL;
  g_auto(JobdChildSpec) spec = { 0 };
  const char *argv[] = { program, arg, marker, NULL };

  spec.argv = g_strdupv ((char **) argv);
  spec.envp = g_new0 (char *, 1);
  spec.stdout_fd = spec.stderr_fd = -1;
  spec.cgroup_fds[0] = spec.cgroup_fds[1] = -1;
  g_assert_true (jobd_child_start_held (&spec, &held->pid, &held->go_fd, &held->err_fd, &error));
  g_assert_no_error (error);
  g_assert_cmpint (held->pid, >, 0);
}

/* TRUE once fd is readable or hung up, FALSE at the deadline. */
static gboolean
wait_readable (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  int r;

  do
    r = poll (&pfd, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r == 1;
}

static int
reap (GPid pid)
{
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  return status;
}

/* The outcome of a held child that must fail at step (named in the error),
 * its exit reaped: 127, as every failure below the clone. */
static void
assert_fails_at (Held *held, const char *step)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (wait_readable (held->err_fd, DEADLINE_MS));
  g_assert_false (jobd_child_exec_outcome (held->err_fd, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, step));
  status = reap (held->pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 127);
}

static char *
make_marker_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jobd-child-XXXXXX", &error);

  g_assert_no_error (error);
  return g_build_filename (dir, "ran", NULL);
}

static void
remove_marker (const char *marker)
{
  g_autofree char *dir = g_path_get_dirname (marker);

  g_unlink (marker);
  g_rmdir (dir);
}

/* /bin/touch MARKER: the file exists once the program has run. */
static void
test_held_runs_after_release (void)
{
  g_autofree char *marker = make_marker_path ();
  g_autoptr(GError) error = NULL;
  Held held;

  start_held (&held, "/bin/touch", marker, NULL);
  /* Held: no exec (the outcome pipe stays open), so no file. */
  g_assert_false (wait_readable (held.err_fd, 200));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));

  jobd_child_release (held.go_fd);
  g_assert_true (wait_readable (held.err_fd, DEADLINE_MS));
  g_assert_true (jobd_child_exec_outcome (held.err_fd, &error));
  g_assert_no_error (error);
  g_assert_cmpint (reap (held.pid), ==, 0);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  remove_marker (marker);
}

static void
test_held_exec_failure (void)
{
  Held held;

  start_held (&held, "/nonexistent/program", NULL, NULL);
  jobd_child_release (held.go_fd);
  assert_fails_at (&held, "executing the program");
}

/* jobd gave up on the start (or died): the go pipe closes unwritten, and
 * the program must never run unsupervised. */
static void
test_held_never_runs_when_abandoned (void)
{
  g_autofree char *marker = make_marker_path ();
  Held held;

  start_held (&held, "/bin/touch", marker, NULL);
  close (held.go_fd);
  assert_fails_at (&held, "waiting to be released");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  remove_marker (marker);
}

/* Each child's outcome arrives when it execs, whatever the others do: the
 * first one's pipe ends must not be copied into a later one, which would
 * keep its outcome pipe open until that one is released too. */
static void
test_held_children_go_on_their_own (void)
{
  enum { N = 8 };
  Held held[N];

  for (guint i = 0; i < N; i++)
    start_held (&held[i], "/bin/true", NULL, NULL);

  /* Release them from the first to the last: every earlier one must be
   * done while every later one still waits. */
  for (guint i = 0; i < N; i++)
    {
      g_autoptr(GError) error = NULL;

      jobd_child_release (held[i].go_fd);
      g_assert_true (wait_readable (held[i].err_fd, DEADLINE_MS));
      g_assert_true (jobd_child_exec_outcome (held[i].err_fd, &error));
      g_assert_no_error (error);
      g_assert_cmpint (reap (held[i].pid), ==, 0);
    }
}

static long
minor_faults (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return usage.ru_minflt;
}

/* While a child is held, writing pages jobd already had costs no page
 * faults: the child shares jobd's memory instead of holding a copy of it
 * (with a fork, every such write is a copy-on-write fault). */
static void
test_held_child_copies_no_memory (void)
{
  const gsize pages = 4096;
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  g_autofree char *memory = g_malloc (pages * page);
  g_autoptr(GError) error = NULL;
  long before, faults;
  Held held;

  memset (memory, 1, pages * page);   /* all faulted in, before the child */
  start_held (&held, "/bin/true", NULL, NULL);

  before = minor_faults ();
  for (gsize i = 0; i < pages; i++)
    memory[i * page] = 2;
  faults = minor_faults () - before;
  g_test_message ("%ld minor faults writing %zu pages with a child held", faults, pages);
  g_assert_cmpint (faults, <, (long) pages / 4);

  jobd_child_release (held.go_fd);
  g_assert_true (wait_readable (held.err_fd, DEADLINE_MS));
  g_assert_true (jobd_child_exec_outcome (held.err_fd, &error));
  g_assert_cmpint (reap (held.pid), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/child/held/runs-after-release", test_held_runs_after_release);
  g_test_add_func ("/child/held/exec-failure", test_held_exec_failure);
  g_test_add_func ("/child/held/never-runs-when-abandoned", test_held_never_runs_when_abandoned);
  g_test_add_func ("/child/held/go-on-their-own", test_held_children_go_on_their_own);
  g_test_add_func ("/child/held/copies-no-memory", test_held_child_copies_no_memory);
  return g_test_run ();
}
