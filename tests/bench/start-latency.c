/* SPDX-License-Identifier: MIT */
/* start-latency.c — how long until a started program's first line is readable.
 *
 * Three modes, all printing one line "reps=N errors=E samples=… p50_us=…":
 *
 *   start-latency --address A --job NAME [--expect hi] [--reps N]
 *       jobd: FollowOutput(NAME) for a pipe of the job's lines, then time
 *       from the Start call to the arrival of the first stdout line holding
 *       EXPECT on that pipe. The job must exist and print EXPECT once and
 *       exit (e.g. /bin/echo hi, restart no); between repetitions the bench
 *       waits, untimed, until the job is down again.
 *   start-latency --spawn [--expect hi] [--reps N] -- PROGRAM ARGS…
 *       the reference: fork/exec PROGRAM with its stdout on a pipe, time
 *       until EXPECT is read from the pipe.
 *   start-latency --exec [--reps N] -- PROGRAM ARGS…
 *       whole-process wall time: fork, exec, waitpid (stdout to /dev/null),
 *       for CLIs such as `jobctl status NAME`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "bench-dbus.h"
#include "bench-stats.h"

#define MANAGER_PATH "/org/jobd1"
#define MANAGER_IFACE "org.jobd1.Manager"
#define READ_TIMEOUT_MS 10000

/* Read fd until a line containing needle arrives; FALSE on EOF or timeout. */
static gboolean
read_until (int fd, const char *needle, GError **error)
{
  g_autoptr(GString) seen = g_string_new (NULL);

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[4096];
      ssize_t n;

      if (poll (&pfd, 1, READ_TIMEOUT_MS) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no \"%s\" within %d ms",
                       needle, READ_TIMEOUT_MS);
          return FALSE;
        }
      n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "pipe closed before \"%s\"",
                       needle);
          return FALSE;
        }
      g_string_append_len (seen, buf, n);
      if (strstr (seen->str, needle) != NULL)
        return TRUE;
    }
}

static GVariant *
call (GDBusConnection *conn, const char *method, GVariant *args, GError **error)
{
  return g_dbus_connection_call_sync (conn, NULL, MANAGER_PATH, MANAGER_IFACE, method, args,
                                      NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, error);
}

static int
follow_output (GDBusConnection *conn, const char *job, GError **error)
{
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  gint32 handle;

  reply = g_dbus_connection_call_with_unix_fd_list_sync (conn, NULL, MANAGER_PATH,
                                                         MANAGER_IFACE, "FollowOutput",
                                                         g_variant_new ("(s)", job),
                                                         G_VARIANT_TYPE ("(h)"),
                                                         G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
                                                         &fds, NULL, error);
  if (reply == NULL)
    return -1;
  g_variant_get (reply, "(h)", &handle);
  return g_unix_fd_list_get (fds, handle, error);
}

/* Untimed: poll Status until the one-line job is down again (bounded). */
static gboolean
wait_down (GDBusConnection *conn, const char *job, GError **error)
{
  gint64 deadline = bench_now_ns () + G_GINT64_CONSTANT (5000000000);

  while (bench_now_ns () < deadline)
    {
      g_autoptr(GVariant) reply = call (conn, "Status", g_variant_new ("(s)", job), error);
      const char *state;

      if (reply == NULL)
        return FALSE;
      g_variant_get (reply, "(&s)", &state);
      if (g_str_equal (state, "down") || g_str_equal (state, "failed"))
        return TRUE;
      g_usleep (1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "job %s did not go down", job);
  return FALSE;
}

static gboolean
jobd_once (GDBusConnection *conn, const char *job, const char *needle, BenchStats *stats,
           GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  gint64 t0;
  int fd = follow_output (conn, job, error);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  t0 = bench_now_ns ();
  reply = call (conn, "Start", g_variant_new ("(s)", job), error);
  ok = reply != NULL && read_until (fd, needle, error);
  if (ok)
    bench_stats_add (stats, bench_now_ns () - t0);
  close (fd);
  return ok && wait_down (conn, job, error);
}

/* fork/exec argv with stdout on out_fd (-1: /dev/null); returns the PID. */
static pid_t
spawn (char **argv, int out_fd, int close_fd)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      int fd = out_fd >= 0 ? out_fd : open ("/dev/null", O_WRONLY);

      dup2 (fd, STDOUT_FILENO);
      if (close_fd >= 0)
        close (close_fd);
      execv (argv[0], argv);
      _exit (127);
    }
  return pid;
}

static gboolean
spawn_once (char **argv, const char *needle, BenchStats *stats, GError **error)
{
  int fds[2];
  gint64 t0 = bench_now_ns ();
  pid_t pid;
  gboolean ok;
  int status;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    g_error ("start-latency: pipe: %s", g_strerror (errno));
  pid = spawn (argv, fds[1], fds[0]);
  close (fds[1]);
  ok = pid > 0 && read_until (fds[0], needle, error);
  if (ok)
    bench_stats_add (stats, bench_now_ns () - t0);
  close (fds[0]);
  if (pid > 0)
    waitpid (pid, &status, 0);
  return ok;
}

static gboolean
exec_once (char **argv, BenchStats *stats, GError **error)
{
  gint64 t0 = bench_now_ns ();
  pid_t pid = spawn (argv, -1, -1);
  int status;

  if (pid < 0 || waitpid (pid, &status, 0) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot run %s", argv[0]);
      return FALSE;
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed (status %d)", argv[0],
                   status);
      return FALSE;
    }
  bench_stats_add (stats, bench_now_ns () - t0);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL, *job = NULL, *expect = NULL;
  gboolean spawn_mode = FALSE, exec_mode = FALSE;
  gint reps = 20, errors = 0;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "jobd's D-Bus address", "ADDR" },
    { "job", 0, 0, G_OPTION_ARG_STRING, &job, "The one-line job", "NAME" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &expect, "Text of the line (default hi)", "TEXT" },
    { "spawn", 0, 0, G_OPTION_ARG_NONE, &spawn_mode, "Reference: fork/exec with a pipe", NULL },
    { "exec", 0, 0, G_OPTION_ARG_NONE, &exec_mode, "Whole-process wall time", NULL },
    { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "Repetitions", "N" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[-- PROGRAM ARGS…]");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) conn = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *needle = NULL;
  BenchStats stats;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("start-latency: %s\n", error->message);
      return 2;
    }
  /* GOption keeps "--" when options of the program follow it. */
  if (argc >= 2 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  if (reps < 1 || reps > 100000 || (address == NULL && !spawn_mode && !exec_mode)
      || (address != NULL && job == NULL) || ((spawn_mode || exec_mode) && argc < 2))
    {
      g_printerr ("start-latency: need --address and --job, or --spawn/--exec -- PROGRAM\n");
      return 2;
    }
  /* The pipe from FollowOutput carries "stdout<TAB>time<TAB>text\n". */
  needle = address != NULL ? g_strdup_printf ("\t%s\n", expect ? expect : "hi")
                           : g_strdup_printf ("%s\n", expect ? expect : "hi");
  if (address != NULL)
    {
      conn = bench_dbus_connect ("start-latency", address);
      if (conn == NULL)
        return 1;
    }

  bench_stats_init (&stats);
  for (int i = 0; i < reps; i++)
    {
      g_autoptr(GError) rep_error = NULL;
      gboolean ok;

      if (conn != NULL)
        ok = jobd_once (conn, job, needle, &stats, &rep_error);
      else if (spawn_mode)
        ok = spawn_once (argv + 1, needle, &stats, &rep_error);
      else
        ok = exec_once (argv + 1, &stats, &rep_error);
      if (!ok && errors++ == 0)
        g_printerr ("start-latency: %s\n", rep_error->message);
    }
  g_string_printf (out, "reps=%d errors=%d", reps, errors);
  bench_stats_format (&stats, out);
  printf ("%s\n", out->str);
  bench_stats_clear (&stats);
  return errors == 0 ? 0 : 1;
}
