/* SPDX-License-Identifier: MIT */
/* scope-start.c — first starts and stops of jobd jobs, timed (the scope
 * bench, tests/bench/scope.py). start-latency covers a start right after
 * the previous run of the same job ended; this covers the rest.
 *
 *   scope-start --address A --fresh --prefix P [--reps N]
 *       N times: Add job P-I (/bin/echo hi, restart no; untimed), then time
 *       from the Start call until "hi" arrives on its FollowOutput pipe
 *       (the first start of a job: no earlier scope of that name), wait
 *       until it is down and Remove it (untimed).
 *   scope-start --address A --stop --job NAME [--unit U] [--reps N]
 *       N times: Start NAME (a job that exits on SIGTERM) and wait until it
 *       is up (untimed), then time from the Stop call until JobStateChanged
 *       → down arrived and, with --unit, until systemd removed the unit U
 *       (UnitRemoved on the system bus).
 *
 * Prints "reps=N errors=E p50_us=… p99_us=… max_us=… min_us=…" (and for
 * --stop also "down_p50_us=…", without waiting for the unit).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "bench-dbus.h"
#include "bench-stats.h"

#define MANAGER_PATH "/org/jobd1"
#define MANAGER_IFACE "org.jobd1.Manager"
#define SD_NAME "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define WAIT_NS G_GINT64_CONSTANT (10000000000)

typedef struct {
  const char *job;
  const char *unit;
  gint64 down_ns;      /* when the awaited event came; 0 while waiting */
  gint64 gone_ns;
} Watch;

static GVariant *
call (GDBusConnection *conn, const char *method, GVariant *args, GError **error)
{
  return g_dbus_connection_call_sync (conn, NULL, MANAGER_PATH, MANAGER_IFACE, method, args,
                                      NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, error);
}

static gboolean
call_ok (GDBusConnection *conn, const char *method, GVariant *args, GError **error)
{
  g_autoptr(GVariant) reply = call (conn, method, args, error);

  return reply != NULL;
}

/* Untimed: poll Status until the job is in one of the states (bounded). */
static gboolean
wait_state (GDBusConnection *conn, const char *job, const char *a, const char *b,
            GError **error)
{
  gint64 deadline = bench_now_ns () + WAIT_NS;

  while (bench_now_ns () < deadline)
    {
      g_autoptr(GVariant) reply = call (conn, "Status", g_variant_new ("(s)", job), error);
      const char *state;

      if (reply == NULL)
        return FALSE;
      g_variant_get (reply, "(&s)", &state);
      if (g_str_equal (state, a) || g_str_equal (state, b))
        return TRUE;
      g_usleep (1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "job %s did not become %s", job, a);
  return FALSE;
}

static gboolean
read_until (int fd, const char *needle, GError **error)
{
  g_autoptr(GString) seen = g_string_new (NULL);

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[4096];
      ssize_t n;

      if (poll (&pfd, 1, 10000) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no \"%s\" in 10 s", needle);
          return FALSE;
        }
      n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "pipe closed");
          return FALSE;
        }
      g_string_append_len (seen, buf, n);
      if (strstr (seen->str, needle) != NULL)
        return TRUE;
    }
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

static gboolean
fresh_once (GDBusConnection *conn, const char *prefix, int i, BenchStats *stats,
            GError **error)
{
  g_autofree char *job = g_strdup_printf ("%s-%d", prefix, i);
  const char *echo_args[] = { "hi", NULL };
  GVariantBuilder settings;
  gint64 t0;
  gboolean ok;
  int fd;

  g_variant_builder_init (&settings, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&settings, "{sv}", "command", g_variant_new_string ("/bin/echo"));
  g_variant_builder_add (&settings, "{sv}", "args", g_variant_new_strv (echo_args, -1));
  g_variant_builder_add (&settings, "{sv}", "restart", g_variant_new_string ("no"));
  if (!call_ok (conn, "Add", g_variant_new ("(sa{sv})", job, &settings), error))
    return FALSE;
  fd = follow_output (conn, job, error);
  if (fd < 0)
    return FALSE;
  t0 = bench_now_ns ();
  ok = call_ok (conn, "Start", g_variant_new ("(s)", job), error) &&
       read_until (fd, "\thi\n", error);
  if (ok)
    bench_stats_add (stats, bench_now_ns () - t0);
  close (fd);
  return ok && wait_state (conn, job, "down", "failed", error) &&
         call_ok (conn, "Remove", g_variant_new ("(s)", job), error);
}

static void
on_state_changed (GDBusConnection *conn, const char *sender, const char *path,
                  const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
  Watch *watch = user_data;
  const char *name, *old_state, *new_state;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(sssa{sv})")))
    return;
  g_variant_get (params, "(&s&s&s@a{sv})", &name, &old_state, &new_state, NULL);
  if (watch->down_ns == 0 && g_str_equal (name, watch->job) &&
      (g_str_equal (new_state, "down") || g_str_equal (new_state, "failed")))
    watch->down_ns = bench_now_ns ();
}

static void
on_unit_removed (GDBusConnection *conn, const char *sender, const char *path,
                 const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
  Watch *watch = user_data;
  const char *unit;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(so)")))
    return;
  g_variant_get (params, "(&s&o)", &unit, NULL);
  if (watch->gone_ns == 0 && watch->unit != NULL && g_str_equal (unit, watch->unit))
    watch->gone_ns = bench_now_ns ();
}

static gboolean
stop_once (GDBusConnection *conn, Watch *watch, BenchStats *stats, BenchStats *down,
           GError **error)
{
  gint64 t0, deadline;

  if (!call_ok (conn, "Start", g_variant_new ("(s)", watch->job), error) ||
      !wait_state (conn, watch->job, "up", "up", error))
    return FALSE;
  watch->down_ns = watch->gone_ns = 0;
  t0 = bench_now_ns ();
  if (!call_ok (conn, "Stop", g_variant_new ("(s)", watch->job), error))
    return FALSE;
  deadline = t0 + WAIT_NS;
  while ((watch->down_ns == 0 || (watch->unit != NULL && watch->gone_ns == 0)) &&
         bench_now_ns () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (watch->down_ns == 0 || (watch->unit != NULL && watch->gone_ns == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s not down%s within 10 s",
                   watch->job, watch->unit ? " and its scope gone" : "");
      return FALSE;
    }
  bench_stats_add (stats, MAX (watch->down_ns, watch->gone_ns) - t0);
  bench_stats_add (down, watch->down_ns - t0);
  return TRUE;
}

/* A wake-up of the main context at least every 100 ms, so the deadline of
 * stop_once() is checked even when no message comes. */
static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL, *job = NULL, *prefix = NULL, *unit = NULL;
  gboolean fresh = FALSE, stop = FALSE;
  gint reps = 20, errors = 0;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "jobd's D-Bus address", "ADDR" },
    { "fresh", 0, 0, G_OPTION_ARG_NONE, &fresh, "First starts of new jobs", NULL },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "Names of the new jobs", "P" },
    { "stop", 0, 0, G_OPTION_ARG_NONE, &stop, "Stop latency", NULL },
    { "job", 0, 0, G_OPTION_ARG_STRING, &job, "The job to stop", "NAME" },
    { "unit", 0, 0, G_OPTION_ARG_STRING, &unit, "Its scope, awaited gone", "UNIT" },
    { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "Repetitions", "N" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) conn = NULL;
  g_autoptr(GDBusConnection) system_bus = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  BenchStats stats, down;
  Watch watch = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("scope-start: %s\n", error->message);
      return 2;
    }
  if (address == NULL || reps < 1 || reps > 100000 || fresh == stop ||
      (fresh && prefix == NULL) || (stop && job == NULL))
    {
      g_printerr ("scope-start: need --address and --fresh --prefix P or --stop --job NAME\n");
      return 2;
    }
  conn = bench_dbus_connect ("scope-start", address);
  if (conn == NULL)
    return 1;
  watch.job = job;
  watch.unit = unit;
  if (stop)
    {
      g_dbus_connection_signal_subscribe (conn, NULL, MANAGER_IFACE, "JobStateChanged",
                                          MANAGER_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_state_changed, &watch, NULL);
      /* On jobd's private socket signals go only to peers that ask for them. */
      g_dbus_connection_call_sync (conn, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "AddMatch", g_variant_new ("(s)", "type='signal'"), NULL,
                                   G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
      g_timeout_add (100, tick, NULL);
    }
  if (unit != NULL)
    {
      system_bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
      if (system_bus == NULL)
        {
          g_printerr ("scope-start: system bus: %s\n", error->message);
          return 1;
        }
      g_dbus_connection_signal_subscribe (system_bus, SD_NAME, SD_MANAGER, "UnitRemoved",
                                          SD_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_unit_removed, &watch, NULL);
      /* systemd sends unit signals only while someone is subscribed. */
      g_dbus_connection_call_sync (system_bus, SD_NAME, SD_PATH, SD_MANAGER, "Subscribe",
                                   NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
    }

  bench_stats_init (&stats);
  bench_stats_init (&down);
  for (int i = 0; i < reps; i++)
    {
      g_autoptr(GError) rep_error = NULL;
      gboolean ok = fresh ? fresh_once (conn, prefix, i, &stats, &rep_error)
                          : stop_once (conn, &watch, &stats, &down, &rep_error);

      if (!ok && errors++ == 0)
        g_printerr ("scope-start: %s\n", rep_error->message);
    }
  g_string_printf (out, "reps=%d errors=%d", reps, errors);
  bench_stats_format (&stats, out);
  if (stop)
    g_string_append_printf (out, " down_p50_us=%.0f",
                            bench_stats_quantile (&down, 0.5) / 1000.0);
  printf ("%s\n", out->str);
  bench_stats_clear (&stats);
  bench_stats_clear (&down);
  return errors == 0 ? 0 : 1;
}
