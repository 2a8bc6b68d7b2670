/* SPDX-License-Identifier: MIT */
/* dbus-load.c — D-Bus round trips per second on one connection.
 *
 * Connects to jobd's private peer socket (no bus daemon, so no Hello) and
 * makes synchronous calls back to back, one in flight at a time, for T
 * seconds or M calls, then prints one line:
 *   calls=N errors=E seconds=S rps=X samples=… p50_us=… p99_us=… max_us=…
 *
 *   dbus-load --address unix:path=R/bus --method ping|status|statusall|list
 *             [--name JOB] [--seconds T] [--max-calls M] [--max-errors E]
 *
 * "ping" is org.freedesktop.DBus.Peer.Ping, answered inside GDBus itself on
 * the daemon's side: the ceiling for any method on the same connection.
 */
#include <gio/gio.h>
#include <stdio.h>

#include "bench-dbus.h"
#include "bench-stats.h"

#define MANAGER_PATH "/org/jobd1"
#define MANAGER_IFACE "org.jobd1.Manager"

typedef struct {
  const char *interface;
  const char *method;
  const GVariantType *reply_type;
  gboolean takes_name;
} Call;

static gboolean
lookup_call (const char *what, Call *call)
{
  if (g_str_equal (what, "ping"))
    *call = (Call) { "org.freedesktop.DBus.Peer", "Ping", G_VARIANT_TYPE_UNIT, FALSE };
  else if (g_str_equal (what, "status"))
    *call = (Call) { MANAGER_IFACE, "Status", G_VARIANT_TYPE ("(s)"), TRUE };
  else if (g_str_equal (what, "statusall"))
    *call = (Call) { MANAGER_IFACE, "StatusAll", G_VARIANT_TYPE ("(a{ss})"), FALSE };
  else if (g_str_equal (what, "list"))
    *call = (Call) { MANAGER_IFACE, "List", G_VARIANT_TYPE ("(asasauatatau)"), FALSE };
  else
    return FALSE;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL, *method = NULL, *name = NULL;
  double seconds = 2.0;
  gint64 max_calls = 10000000, max_errors = 1, calls = 0, errors = 0;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "jobd's D-Bus address", "ADDR" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method, "ping, status, statusall or list", "M" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Job name for status", "JOB" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Run time", "T" },
    { "max-calls", 0, 0, G_OPTION_ARG_INT64, &max_calls, "Stop after N calls", "N" },
    { "max-errors", 0, 0, G_OPTION_ARG_INT64, &max_errors, "Stop after N errors (1)", "N" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- D-Bus round-trip load");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) conn = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  BenchStats stats;
  Call call;
  gint64 t0, deadline, elapsed;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dbus-load: %s\n", error->message);
      return 2;
    }
  if (address == NULL || method == NULL || !lookup_call (method, &call)
      || (call.takes_name && name == NULL) || seconds <= 0 || seconds > 600)
    {
      g_printerr ("dbus-load: need --address, --method (ping|status|statusall|list), "
                  "--name for status, 0..600 --seconds\n");
      return 2;
    }
  conn = bench_dbus_connect ("dbus-load", address);
  if (conn == NULL)
    return 1;

  bench_stats_init (&stats);
  t0 = bench_now_ns ();
  deadline = t0 + (gint64) (seconds * 1e9);
  /* A failed call (often a timeout) ends the run: calls queued behind a
   * slow one would only measure the queue. */
  while (calls + errors < max_calls && errors < max_errors && bench_now_ns () < deadline)
    {
      gint64 start = bench_now_ns ();
      g_autoptr(GVariant) reply = NULL;
      g_autoptr(GError) call_error = NULL;

      reply = g_dbus_connection_call_sync (conn, NULL, MANAGER_PATH, call.interface,
                                           call.method,
                                           call.takes_name ? g_variant_new ("(s)", name) : NULL,
                                           call.reply_type, G_DBUS_CALL_FLAGS_NONE,
                                           10000, NULL, &call_error);
      if (reply == NULL)
        {
          /* Report the first error: a fast stream of errors is no result. */
          if (errors++ == 0)
            g_printerr ("dbus-load: %s: %s\n", call.method, call_error->message);
          continue;
        }
      bench_stats_add (&stats, bench_now_ns () - start);
      calls++;
    }
  elapsed = bench_now_ns () - t0;

  g_string_printf (out, "calls=%" G_GINT64_FORMAT " errors=%" G_GINT64_FORMAT
                   " seconds=%.3f rps=%.1f", calls, errors, elapsed / 1e9,
                   calls / (elapsed / 1e9));
  bench_stats_format (&stats, out);
  printf ("%s\n", out->str);
  bench_stats_clear (&stats);
  return errors == 0 ? 0 : 1;
}
