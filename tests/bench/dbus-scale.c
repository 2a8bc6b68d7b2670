/* SPDX-License-Identifier: MIT */
/* dbus-scale.c — add and start (or stop and remove) many jobs through D-Bus.
 *
 *   dbus-scale --address A --add N [--start S] [--prefix P] [--window W] [-- PROGRAM ARGS…]
 *       Add jobs P0…P(N-1) running PROGRAM (default /bin/sleep 100000,
 *       restart no) and Start the first S of them (default all), keeping at
 *       most W calls in flight; then wait for every JobStateChanged → up.
 *       Prints "jobs=N started=S errors=E calls_s=… all_up_s=…" (seconds
 *       since the first call).
 *   dbus-scale --address A --remove N [--start S] [--prefix P] [--window W]
 *       Stop the first S jobs (default all), wait for every JobStateChanged →
 *       down (or failed), then Remove all N. Prints
 *       "jobs=N errors=E all_down_s=… removed_s=…".
 *
 * Both are bounded by --timeout (seconds, default 600); what is not done by
 * then is counted in errors.
 */
#include <gio/gio.h>
#include <stdio.h>

#include "bench-dbus.h"
#include "bench-stats.h"

#define MANAGER_PATH "/org/jobd1"
#define MANAGER_IFACE "org.jobd1.Manager"

typedef enum {
  PHASE_ADD_START,
  PHASE_STOP,
  PHASE_REMOVE,
} Phase;

typedef struct {
  GDBusConnection *conn;
  GMainLoop *loop;
  const char *prefix;
  char **program;        /* argv of each job */
  guint n_jobs;          /* jobs the current phase issues calls for */
  guint n_awaited;       /* of those, jobs that must reach the awaited state */
  guint window;
  Phase phase;
  guint next;            /* next job index to issue */
  guint in_flight;
  guint calls_done;      /* jobs whose calls of this phase all answered */
  guint reached;         /* jobs that reached the awaited state */
  guint errors;
  GHashTable *reached_names;
  guint timer;           /* the phase's deadline, 0 once it fired */
  const char *awaited;   /* "up" or "down" */
  gint64 t0;
  gint64 calls_ns;
  gint64 reached_ns;
} Scale;

static void issue_more (Scale *scale);

static char *
job_name (Scale *scale, guint i)
{
  return g_strdup_printf ("%s%u", scale->prefix, i);
}

static void
check_done (Scale *scale)
{
  gboolean calls_over = scale->calls_done == scale->n_jobs && scale->in_flight == 0;

  if (calls_over && scale->calls_ns == 0)
    scale->calls_ns = bench_now_ns () - scale->t0;
  if (scale->reached >= scale->n_awaited - MIN (scale->errors, scale->n_awaited)
      && scale->reached_ns == 0)
    scale->reached_ns = bench_now_ns () - scale->t0;
  if (calls_over && (scale->reached_ns != 0 || scale->phase == PHASE_REMOVE))
    g_main_loop_quit (scale->loop);
}

static void
on_state_changed (GDBusConnection *conn, const char *sender, const char *path,
                  const char *iface, const char *signal, GVariant *params, gpointer data)
{
  Scale *scale = data;
  const char *name, *old_state, *new_state;

  g_variant_get (params, "(&s&s&s@a{sv})", &name, &old_state, &new_state, NULL);
  if (!g_str_has_prefix (name, scale->prefix))
    return;
  if (g_str_equal (new_state, scale->awaited)
      || (g_str_equal (scale->awaited, "down") && g_str_equal (new_state, "failed")))
    {
      if (g_hash_table_add (scale->reached_names, g_strdup (name)))
        scale->reached++;
      check_done (scale);
    }
}

typedef struct {
  Scale *scale;
  guint index;
  const char *method;
} Pending;

static void call_job (Scale *scale, guint index, const char *method);

static void
on_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree Pending *pending = data;
  Scale *scale = pending->scale;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (scale->conn, result, &error);

  scale->in_flight--;
  if (reply == NULL)
    {
      if (scale->errors++ == 0)
        g_printerr ("dbus-scale: %s %s%u: %s\n", pending->method, scale->prefix,
                    pending->index, error->message);
      scale->calls_done++;
    }
  else if (g_str_equal (pending->method, "Add") && pending->index < scale->n_awaited)
    call_job (scale, pending->index, "Start");   /* same slot of the window */
  else
    scale->calls_done++;
  issue_more (scale);
  check_done (scale);
}

static GVariant *
add_args (Scale *scale, const char *name)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "command", g_variant_new_string (scale->program[0]));
  g_variant_builder_add (&b, "{sv}", "args",
                         g_variant_new_strv ((const char * const *) scale->program + 1, -1));
  g_variant_builder_add (&b, "{sv}", "restart", g_variant_new_string ("no"));
  return g_variant_new ("(sa{sv})", name, &b);
}

static void
call_job (Scale *scale, guint index, const char *method)
{
  g_autofree char *name = job_name (scale, index);
  Pending *pending = g_new0 (Pending, 1);

  pending->scale = scale;
  pending->index = index;
  pending->method = method;
  scale->in_flight++;
  g_dbus_connection_call (scale->conn, NULL, MANAGER_PATH, MANAGER_IFACE, method,
                          g_str_equal (method, "Add") ? add_args (scale, name)
                                                      : g_variant_new ("(s)", name),
                          NULL, G_DBUS_CALL_FLAGS_NONE, 60000, NULL, on_reply, pending);
}

static void
issue_more (Scale *scale)
{
  static const char *first_call[] = { "Add", "Stop", "Remove" };

  while (scale->in_flight < scale->window && scale->next < scale->n_jobs)
    call_job (scale, scale->next++, first_call[scale->phase]);
}

static gboolean
on_timeout (gpointer data)
{
  Scale *scale = data;

  g_printerr ("dbus-scale: timed out with %u of %u jobs %s\n", scale->reached,
              scale->n_jobs, scale->awaited);
  scale->errors += scale->n_awaited - MIN (scale->reached, scale->n_awaited);
  scale->timer = 0;
  g_main_loop_quit (scale->loop);
  return G_SOURCE_REMOVE;
}

/* Run one phase until its calls answered and the awaited state was seen. */
static void
run_phase (Scale *scale, Phase phase, guint n_jobs, guint n_awaited, const char *awaited,
           guint timeout_s)
{
  if (n_jobs == 0)
    return;
  scale->n_jobs = n_jobs;
  scale->n_awaited = n_awaited;
  scale->timer = g_timeout_add_seconds (timeout_s, on_timeout, scale);
  scale->phase = phase;
  scale->awaited = awaited;
  scale->next = 0;
  scale->calls_done = 0;
  scale->reached = 0;
  scale->calls_ns = 0;
  scale->reached_ns = 0;
  g_hash_table_remove_all (scale->reached_names);
  scale->t0 = bench_now_ns ();
  issue_more (scale);
  g_main_loop_run (scale->loop);
  g_clear_handle_id (&scale->timer, g_source_remove);
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL, *prefix = NULL;
  gint add = 0, remove = 0, start = -1, window = 64, timeout_s = 600;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "jobd's D-Bus address", "ADDR" },
    { "add", 0, 0, G_OPTION_ARG_INT, &add, "Add and start N jobs", "N" },
    { "remove", 0, 0, G_OPTION_ARG_INT, &remove, "Stop and remove N jobs", "N" },
    { "start", 0, 0, G_OPTION_ARG_INT, &start, "Start/stop only the first S jobs", "S" },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "Job name prefix", "P" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window, "Calls in flight", "W" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s, "Give up after S seconds", "S" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[-- PROGRAM ARGS…]");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) conn = NULL;
  char *default_program[] = { "/bin/sleep", "100000", NULL };
  Scale scale = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dbus-scale: %s\n", error->message);
      return 2;
    }
  /* GOption keeps "--" when options of the program follow it. */
  if (argc >= 2 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  if (address == NULL || (add > 0) == (remove > 0) || add < 0 || remove < 0
      || window < 1 || timeout_s < 1 || start > MAX (add, remove))
    {
      g_printerr ("dbus-scale: need --address and one of --add N / --remove N\n");
      return 2;
    }
  conn = bench_dbus_connect ("dbus-scale", address);
  if (conn == NULL)
    return 1;

  scale.conn = conn;
  scale.loop = g_main_loop_new (NULL, FALSE);
  scale.prefix = prefix != NULL ? prefix : "bench-scale-";
  scale.program = argc >= 2 ? argv + 1 : default_program;
  if (start < 0)
    start = MAX (add, remove);
  scale.window = window;
  scale.reached_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_dbus_connection_signal_subscribe (conn, NULL, MANAGER_IFACE, "JobStateChanged",
                                      MANAGER_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                      on_state_changed, &scale, NULL);
  /* On jobd's private socket signals go only to peers that ask for them. */
  g_dbus_connection_call_sync (conn, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "AddMatch", g_variant_new ("(s)", "type='signal'"), NULL,
                               G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (add > 0)
    {
      run_phase (&scale, PHASE_ADD_START, add, start, "up", timeout_s);
      printf ("jobs=%u started=%d errors=%u calls_s=%.3f all_up_s=%.3f\n", scale.n_jobs,
              start, scale.errors, scale.calls_ns / 1e9, scale.reached_ns / 1e9);
    }
  else
    {
      gint64 down_ns;

      run_phase (&scale, PHASE_STOP, start, start, "down", timeout_s);
      down_ns = scale.reached_ns;
      run_phase (&scale, PHASE_REMOVE, remove, 0, "none", timeout_s);
      printf ("jobs=%u errors=%u all_down_s=%.3f removed_s=%.3f\n", scale.n_jobs,
              scale.errors, down_ns / 1e9, (down_ns + scale.calls_ns) / 1e9);
    }
  g_main_loop_unref (scale.loop);
  g_hash_table_unref (scale.reached_names);
  return scale.errors == 0 ? 0 : 1;
}
