/* SPDX-License-Identifier: MIT */
/* jobctl-wait.c — `--wait`: wait until jobs reach the state a verb wants.
 *
 * Signals only wake the wait; the state itself is always asked from jobd
 * (Status) after a wake-up. So a signal queued before a call's reply (a
 * restart's own "down" on the way to "up") can cost one more round trip,
 * never a wrong answer, and a change between the last answer and the wait
 * is caught because the subscription exists before the verb's call.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-names.h"

struct _JobctlWaiter {
  Jobctl *jobctl;
  guint subscription;
  const char *name;   /* the job waited for: other jobs' changes do not wake */
  guint wakeups;
};

static void
on_state_changed (GDBusConnection *connection, const char *sender, const char *path,
                  const char *interface, const char *member, GVariant *parameters,
                  gpointer user_data)
{
  JobctlWaiter *waiter = user_data;
  const char *name = NULL;

  if (g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sssa{sv})")))
    g_variant_get_child (parameters, 0, "&s", &name);
  if (name == NULL || g_strcmp0 (name, waiter->name) == 0)
    waiter->wakeups++;
}

JobctlWaiter *
jobctl_waiter_new (Jobctl *jobctl, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  JobctlWaiter *waiter = g_new0 (JobctlWaiter, 1);

  waiter->jobctl = jobctl;
  waiter->subscription =
    g_dbus_connection_signal_subscribe (jobctl->connection, jobctl->bus_name,
                                        "org.jobd1.Manager", "JobStateChanged",
                                        JOBD_DBUS_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_state_changed, waiter, NULL);
  /* On the private socket jobd sends signals only to peers that asked; on
   * a bus, subscribing has asked the bus already. */
  if (jobctl->bus_name == NULL)
    {
      reply = g_dbus_connection_call_sync (jobctl->connection, NULL, "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "AddMatch",
                                           g_variant_new ("(s)",
                                                          "type='signal',member='JobStateChanged'"),
                                           NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
      if (reply == NULL)
        {
          jobctl_waiter_free (waiter);
          return NULL;
        }
    }
  return waiter;
}

void
jobctl_waiter_free (JobctlWaiter *waiter)
{
  if (waiter->subscription != 0)
    g_dbus_connection_signal_unsubscribe (waiter->jobctl->connection, waiter->subscription);
  g_free (waiter);
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Why the job is not where it should be: its last error, else its exit. */
static void
set_ended_error (Jobctl *jobctl, const char *name, const char *state, GError **error)
{
  g_autoptr(GVariant) runtime = NULL;
  const char *last_error = NULL;
  gint32 code = 0;
  gint32 signo = 0;

  if (jobd_dbus_manager_call_get_runtime_sync (jobctl->manager, name, &runtime, NULL, NULL))
    {
      g_variant_lookup (runtime, "last-error", "&s", &last_error);
      g_variant_lookup (runtime, "exit-code", "i", &code);
      g_variant_lookup (runtime, "exit-signal", "i", &signo);
    }
  if (last_error != NULL && *last_error != '\0')
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("job “%s” is %s: %s"),
                 name, state, last_error);
  else if (signo != 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("job “%s” is %s: killed by signal %d"),
                 name, state, signo);
  else if (code != 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("job “%s” is %s: exit code %d"),
                 name, state, code);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("job “%s” is %s"), name, state);
}

gboolean
jobctl_waiter_wait (JobctlWaiter *waiter, const char *name, gboolean want_up,
                    gint64 deadline, GError **error)
{
  Jobctl *jobctl = waiter->jobctl;

  waiter->name = name;
  for (;;)
    {
      g_autofree char *state = NULL;
      gboolean timed_out = FALSE;
      guint wakeups = waiter->wakeups;
      guint timeout_id;
      gint64 left;

      if (!jobd_dbus_manager_call_status_sync (jobctl->manager, name, &state, NULL, error))
        return FALSE;
      if (g_str_equal (state, want_up ? "up" : "down"))
        return TRUE;
      if (g_str_equal (state, "failed") || (want_up && g_str_equal (state, "down")))
        {
          set_ended_error (jobctl, name, state, error);
          return FALSE;
        }

      left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("job “%s” is still %s: gave up waiting"), name, state);
          return FALSE;
        }
      timeout_id = g_timeout_add ((guint) MIN (left / 1000 + 1, G_MAXUINT), on_deadline,
                                  &timed_out);
      while (waiter->wakeups == wakeups && !timed_out)
        g_main_context_iteration (NULL, TRUE);
      if (!timed_out)
        g_source_remove (timeout_id);
    }
}
