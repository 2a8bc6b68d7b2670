/* SPDX-License-Identifier: MIT */
/* ready-latency.c — from READY=1 sent to state "up" seen by a D-Bus client.
 *
 *   ready-latency --address A --job NAME --fifo PATH [--reps N]
 *
 * The job (ready=notify) is notify-job PATH. Each repetition, untimed:
 * Start NAME (not waiting for the answer, which comes once it is up), open
 * PATH for writing (returns once the job runs and opened it). Timed: write
 * one byte (the job then sends READY=1) until JobStateChanged(NAME, *,
 * "up") arrives on this connection. Untimed again: Stop, wait for "down".
 * The figure includes the job's wake-up on the FIFO and its sendto, so it
 * is an upper bound of jobd's part. The reference, on the same connection
 * in the same run: org.freedesktop.DBus.Peer.Ping round trips, and Status
 * round trips (which, like READY=1, go through jobd's main loop).
 * Prints "reps=N errors=E p50_us=… … ping_p50_us=… status_p50_us=…".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "bench-dbus.h"
#include "bench-stats.h"

#define MANAGER_PATH "/org/jobd1"
#define MANAGER_IFACE "org.jobd1.Manager"
#define WAIT_MS 10000

typedef struct {
  const char *job;
  const char *wanted;   /* the state waited for */
  gboolean seen;
} Waiter;

static void
on_state_changed (GDBusConnection *conn, const char *sender, const char *path,
                  const char *iface, const char *member, GVariant *params, gpointer user_data)
{
  Waiter *w = user_data;
  const char *name, *new_state;

  g_variant_get (params, "(&s&s&s@a{sv})", &name, NULL, &new_state, NULL);
  if (g_str_equal (name, w->job) && g_str_equal (new_state, w->wanted))
    w->seen = TRUE;
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate until the state was seen; FALSE after WAIT_MS. */
static gboolean
wait_seen (Waiter *w)
{
  gboolean late = FALSE;
  guint timer = g_timeout_add (WAIT_MS, on_deadline, &late);

  while (!w->seen && !late)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (timer);
  return w->seen;
}

static GVariant *
call (GDBusConnection *conn, const char *iface, const char *method, GVariant *args,
      GError **error)
{
  return g_dbus_connection_call_sync (conn, NULL, MANAGER_PATH, iface, method, args, NULL,
                                      G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, error);
}

static gboolean
one_rep (GDBusConnection *conn, Waiter *w, const char *fifo, gint64 *ns, GError **error)
{
  g_autoptr(GVariant) stopped = NULL;
  gint64 t0;
  int fd;
  char byte = 'r';

  w->wanted = "up";
  w->seen = FALSE;
  g_dbus_connection_call (conn, NULL, MANAGER_PATH, MANAGER_IFACE, "Start",
                          g_variant_new ("(s)", w->job), NULL, G_DBUS_CALL_FLAGS_NONE,
                          WAIT_MS, NULL, NULL, NULL);
  fd = open (fifo, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", fifo,
                   g_strerror (errno));
      return FALSE;
    }
  t0 = bench_now_ns ();
  if (write (fd, &byte, 1) != 1)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "write to %s failed", fifo);
      return FALSE;
    }
  close (fd);
  if (!wait_seen (w))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no \"up\" within %d ms", WAIT_MS);
      return FALSE;
    }
  *ns = bench_now_ns () - t0;

  w->wanted = "down";
  w->seen = FALSE;
  stopped = call (conn, MANAGER_IFACE, "Stop", g_variant_new ("(s)", w->job), error);
  return stopped != NULL && wait_seen (w);
}

int
main (int argc, char **argv)
{
  const char *address = NULL, *job = NULL, *fifo = NULL;
  int reps = 50, errors = 0;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "jobd's D-Bus address", "ADDRESS" },
    { "job", 0, 0, G_OPTION_ARG_STRING, &job, "the ready=notify job (notify-job FIFO)", "NAME" },
    { "fifo", 0, 0, G_OPTION_ARG_FILENAME, &fifo, "the job's FIFO", "PATH" },
    { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "repetitions", "N" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- READY=1 to state up");
  g_autoptr(GDBusConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  BenchStats ready, ping, status;
  Waiter w = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || address == NULL ||
      job == NULL || fifo == NULL)
    {
      fprintf (stderr, "ready-latency: %s\n", error ? error->message : "--address, --job and --fifo are needed");
      return 2;
    }
  conn = bench_dbus_connect ("ready-latency", address);
  if (conn == NULL)
    return 1;
  w.job = job;
  g_dbus_connection_signal_subscribe (conn, NULL, MANAGER_IFACE, "JobStateChanged", MANAGER_PATH,
                                      NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_state_changed, &w, NULL);
  /* On the private socket jobd sends signals only to a peer that asked. */
  g_clear_pointer (&error, g_error_free);
  if (!g_dbus_connection_call_sync (conn, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                    "AddMatch", g_variant_new ("(s)", "type='signal'"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, &error))
    {
      fprintf (stderr, "ready-latency: AddMatch: %s\n", error->message);
      return 1;
    }

  bench_stats_init (&ready);
  bench_stats_init (&ping);
  bench_stats_init (&status);
  for (int i = 0; i < reps; i++)
    {
      g_autoptr(GError) rep_error = NULL;
      gint64 ns = 0;

      if (one_rep (conn, &w, fifo, &ns, &rep_error))
        bench_stats_add (&ready, ns);
      else
        {
          errors++;
          fprintf (stderr, "ready-latency: %s\n", rep_error->message);
        }
      /* The references, interleaved: Peer.Ping round trips (answered in
       * GDBus's thread) and Status round trips (through jobd's main loop,
       * as the READY=1 message is). */
      for (int k = 0; k < 5; k++)
        {
          g_autoptr(GVariant) pong = NULL;
          g_autoptr(GVariant) answer = NULL;
          gint64 t0 = bench_now_ns ();

          pong = g_dbus_connection_call_sync (conn, NULL, MANAGER_PATH,
                                              "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                                              G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, NULL);
          if (pong != NULL)
            bench_stats_add (&ping, bench_now_ns () - t0);
          t0 = bench_now_ns ();
          answer = call (conn, MANAGER_IFACE, "Status", g_variant_new ("(s)", job), NULL);
          if (answer != NULL)
            bench_stats_add (&status, bench_now_ns () - t0);
        }
    }
  g_string_append_printf (out, "reps=%d errors=%d", reps, errors);
  bench_stats_format (&ready, out);
  g_string_append_printf (out, " ping_p50_us=%.1f status_p50_us=%.1f",
                          bench_stats_quantile (&ping, 0.5) / 1000.0,
                          bench_stats_quantile (&status, 0.5) / 1000.0);
  printf ("%s\n", out->str);
  bench_stats_clear (&ready);
  bench_stats_clear (&ping);
  bench_stats_clear (&status);
  return errors == reps ? 1 : 0;
}
