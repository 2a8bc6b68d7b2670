/* SPDX-License-Identifier: MIT */
/* test-process.c — JobdProcess, the part every backend shares: the exit
 * seen through the pidfd (code, signal, or unknown for a process jobd did
 * not start), signalling the main process, the record that re-adoption reads
 * back, and the PID-reuse check of a re-adopted PID. A minimal subclass
 * stands in for a backend; the processes are real children of the test. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-process.h"

#define TEST_TYPE_PROCESS (test_process_get_type ())
G_DECLARE_FINAL_TYPE (TestProcess, test_process, TEST, PROCESS, JobdProcess)

struct _TestProcess {
  JobdProcess parent;
  guint cleanups;
};

G_DEFINE_TYPE (TestProcess, test_process, JOBD_TYPE_PROCESS)

static void
test_process_cleanup (JobdProcess *process)
{
  TEST_PROCESS (process)->cleanups++;
}

static void
test_process_class_init (TestProcessClass *klass)
{
  JOBD_PROCESS_CLASS (klass)->cleanup = test_process_cleanup;
}

static void
test_process_init (TestProcess *self)
{
}

typedef struct {
  int code;
  int signo;
  guint calls;
} Exit;

static void
on_exited (JobdProcess *process, int code, int signo, gpointer user_data)
{
  Exit *seen = user_data;

  seen->code = code;
  seen->signo = signo;
  seen->calls++;
}

/* A child that waits on a pipe and then exits with code; the write end of
 * the pipe is returned in *go. */
static pid_t
fork_child (int code, int *go)
{
  int fds[2];
  pid_t pid;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      char c;

      close (fds[1]);
      while (read (fds[0], &c, 1) > 0)
        ;
      _exit (code);
    }
  close (fds[0]);
  *go = fds[1];
  return pid;
}

static TestProcess *
watch (pid_t pid, gboolean is_child, Exit *seen)
{
  g_autoptr(GError) error = NULL;
  TestProcess *process = g_object_new (TEST_TYPE_PROCESS, NULL);
  int pidfd = jobd_pidfd_open (pid, &error);

  g_assert_no_error (error);
  g_assert_cmpint (pidfd, >=, 0);
  jobd_process_setup (JOBD_PROCESS (process), pid, pidfd, is_child);
  g_signal_connect (process, "exited", G_CALLBACK (on_exited), seen);
  return process;
}

static void
wait_exit (Exit *seen)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (seen->calls == 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_cmpuint (seen->calls, ==, 1);
}

static void
test_exit_code (void)
{
  Exit seen = { 0 };
  int go;
  pid_t pid = fork_child (7, &go);
  g_autoptr(TestProcess) process = watch (pid, TRUE, &seen);
  int code = 0, signo = 0;

  g_assert_true (jobd_process_is_child (JOBD_PROCESS (process)));
  g_assert_true (jobd_process_is_watched_child (pid));
  g_assert_false (jobd_process_has_exited (JOBD_PROCESS (process)));
  g_assert_false (jobd_process_get_exit_status (JOBD_PROCESS (process), &code, &signo));
  close (go);
  wait_exit (&seen);
  g_assert_cmpint (seen.code, ==, 7);
  g_assert_cmpint (seen.signo, ==, 0);
  /* Reaped by the process itself (waitid on the pidfd), cleaned up once. */
  g_assert_cmpint (waitpid (pid, NULL, WNOHANG), ==, -1);
  g_assert_false (jobd_process_is_watched_child (pid));
  g_assert_cmpuint (process->cleanups, ==, 1);
  g_assert_true (jobd_process_has_exited (JOBD_PROCESS (process)));
  g_assert_true (jobd_process_get_exit_status (JOBD_PROCESS (process), &code, &signo));
  g_assert_cmpint (code, ==, 7);
  g_assert_cmpint (signo, ==, 0);
}

static void
test_killed_by_signal (void)
{
  g_autoptr(GError) error = NULL;
  Exit seen = { 0 };
  int go;
  pid_t pid = fork_child (0, &go);
  g_autoptr(TestProcess) process = watch (pid, TRUE, &seen);

  g_assert_true (jobd_process_kill_main (JOBD_PROCESS (process), SIGTERM, &error));
  g_assert_no_error (error);
  wait_exit (&seen);
  close (go);
  g_assert_cmpint (seen.code, ==, -1);
  g_assert_cmpint (seen.signo, ==, SIGTERM);
  /* Signalling an exited process is not an error: it may just have ended. */
  g_assert_true (jobd_process_kill_main (JOBD_PROCESS (process), SIGTERM, &error));
  g_assert_no_error (error);
}

/* A re-adopted process is not jobd's child: its exit status is unknown
 * (-1, -1) and it is left for its parent to reap. */
static void
test_not_a_child (void)
{
  Exit seen = { 0 };
  int go, status = 0;
  pid_t pid = fork_child (3, &go);
  g_autoptr(TestProcess) process = watch (pid, FALSE, &seen);

  g_assert_nonnull (process);   /* watched until the end of the test */
  g_assert_false (jobd_process_is_watched_child (pid));
  close (go);
  wait_exit (&seen);
  g_assert_cmpint (seen.code, ==, -1);
  g_assert_cmpint (seen.signo, ==, -1);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 3);
}

/* What re-adoption after a jobd restart reads back is what was saved. */
static void
test_record (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = json_object_new ();
  g_autoptr(JsonObject) empty = json_object_new ();
  Exit seen = { 0 };
  int go;
  pid_t pid = fork_child (0, &go);
  g_autoptr(TestProcess) process = watch (pid, TRUE, &seen);
  guint64 ticks = 0, read_ticks = 0;
  GPid read_pid = 0;
  const char *unit = "unset";

  g_assert_true (jobd_proc_start_ticks (pid, &ticks, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ticks, >, 0);

  jobd_process_save_record (JOBD_PROCESS (process), record);
  g_assert_true (jobd_process_record_get (record, &read_pid, &read_ticks, &unit));
  g_assert_cmpint (read_pid, ==, pid);
  g_assert_cmpuint (read_ticks, ==, ticks);
  g_assert_null (unit);

  jobd_process_set_unit (JOBD_PROCESS (process), "jobd-test.scope");
  jobd_process_save_record (JOBD_PROCESS (process), record);
  g_assert_true (jobd_process_record_get (record, &read_pid, &read_ticks, &unit));
  g_assert_cmpstr (unit, ==, "jobd-test.scope");

  g_assert_false (jobd_process_record_get (empty, &read_pid, &read_ticks, &unit));
  g_assert_false (jobd_process_record_get (NULL, &read_pid, &read_ticks, &unit));

  close (go);
  wait_exit (&seen);
}

/* A saved PID is re-adopted only while it is still the same process. */
static void
test_verified_pidfd (void)
{
  g_autoptr(GError) error = NULL;
  guint64 ticks = 0;
  int go, pidfd;
  pid_t pid = fork_child (0, &go);

  g_assert_true (jobd_proc_start_ticks (pid, &ticks, &error));
  g_assert_no_error (error);

  pidfd = jobd_pidfd_open_verified (pid, ticks, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pidfd, >=, 0);
  close (pidfd);

  /* Same PID, another start time: another process now. */
  pidfd = jobd_pidfd_open_verified (pid, ticks + 1, &error);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING);
  g_assert_cmpint (pidfd, ==, -1);
  g_clear_error (&error);

  close (go);
  g_assert_cmpint (waitpid (pid, NULL, 0), ==, pid);
  /* Gone: no pidfd at all. */
  pidfd = jobd_pidfd_open_verified (pid, ticks, &error);
  g_assert_nonnull (error);
  g_assert_cmpint (pidfd, ==, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/process/exit-code", test_exit_code);
  g_test_add_func ("/process/killed-by-signal", test_killed_by_signal);
  g_test_add_func ("/process/not-a-child", test_not_a_child);
  g_test_add_func ("/process/record", test_record);
  g_test_add_func ("/process/verified-pidfd", test_verified_pidfd);
  return g_test_run ();
}
