/* SPDX-License-Identifier: MIT */
/* jobctl-timers.c — `jobctl timers`: every schedule with its job, next and
 * last fire, like `systemctl list-timers`; and the next fire that `list`
 * and `show` print.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-parse.h"

/* "3s left", "2min 5s passed" (µs times; 0 = none → "-"). */
static char *
format_relative (guint64 usec, gint64 now)
{
  gint64 delta;
  g_autofree char *text = NULL;

  if (usec == 0)
    return g_strdup ("-");
  delta = (gint64) usec - now;
  /* Whole seconds, like list-timers; under one second reads "0s". */
  text = ABS (delta) < G_USEC_PER_SEC ? g_strdup ("0s")
                                      : jobd_format_duration_ms ((guint64) ABS (delta) / 1000 / 1000 * 1000);
  return delta >= 0 ? g_strdup_printf (_("%s left"), text) : g_strdup_printf (_("%s passed"), text);
}

char *
jobctl_format_next_fire (guint64 usec)
{
  g_autofree char *when = NULL;
  g_autofree char *left = NULL;

  if (usec == 0)
    return g_strdup ("-");
  when = jobctl_format_timestamp (usec, FALSE);
  left = format_relative (usec, g_get_real_time ());
  return g_strdup_printf ("%s (%s)", when, left);
}

GHashTable *
jobctl_next_fires (Jobctl *jobctl)
{
  GHashTable *next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GVariant) timers = NULL;
  GVariantIter iter;
  const char *job;
  gboolean enabled;
  guint64 at;

  /* An older jobd has no GetTimers: no next fires to show. */
  if (!jobd_dbus_manager_call_get_timers_sync (jobctl->manager, &timers, NULL, NULL))
    return next;
  g_variant_iter_init (&iter, timers);
  while (g_variant_iter_next (&iter, "(&s&s&sbtt)", &job, NULL, NULL, &enabled, &at, NULL))
    {
      guint64 known = GPOINTER_TO_SIZE (g_hash_table_lookup (next, job));

      if (!g_hash_table_contains (next, job))
        g_hash_table_insert (next, g_strdup (job), GSIZE_TO_POINTER (0));
      if (enabled && at != 0 && (known == 0 || at < known))
        g_hash_table_insert (next, g_strdup (job), GSIZE_TO_POINTER ((gsize) at));
    }
  return next;
}

static void
print_timers_table (Jobctl *jobctl, GVariant *timers)
{
  static const char *const header[] = {
    N_("NEXT"), N_("LEFT"), N_("LAST"), N_("PASSED"), N_("JOB"), N_("SCHEDULE"), N_("ID"),
  };
  g_autoptr(JobctlTable) table = jobctl_table_new (G_N_ELEMENTS (header), 0, header);
  gint64 now = g_get_real_time ();
  GVariantIter iter;
  const char *job, *id, *spec;
  gboolean enabled;
  guint64 next, last;

  g_variant_iter_init (&iter, timers);
  while (g_variant_iter_next (&iter, "(&s&s&sbtt)", &job, &id, &spec, &enabled, &next, &last))
    {
      jobctl_table_take (table, enabled && next != 0 ? jobctl_format_timestamp (next, FALSE)
                                                     : g_strdup (enabled ? "-" : _("disabled")));
      jobctl_table_take (table, enabled ? format_relative (next, now) : g_strdup ("-"));
      jobctl_table_take (table, last != 0 ? jobctl_format_timestamp (last, FALSE) : g_strdup ("-"));
      jobctl_table_take (table, format_relative (last, now));
      jobctl_table_add (table, job, NULL);
      jobctl_table_add (table, spec, NULL);
      jobctl_table_add (table, id, NULL);
    }
  jobctl_table_print (table, !jobctl->no_legend, jobctl->color);
}

static void
print_timers_json (GVariant *timers)
{
  GVariantBuilder rows;
  GVariantIter iter;
  const char *job, *id, *spec;
  gboolean enabled;
  guint64 next, last;

  g_variant_builder_init (&rows, G_VARIANT_TYPE ("aa{sv}"));
  g_variant_iter_init (&iter, timers);
  while (g_variant_iter_next (&iter, "(&s&s&sbtt)", &job, &id, &spec, &enabled, &next, &last))
    g_variant_builder_add_value (&rows,
      g_variant_new_parsed ("{'job': <%s>, 'id': <%s>, 'spec': <%s>, 'enabled': <%b>, "
                            "'next-fire': <%t>, 'last-fire': <%t>}",
                            job, id, spec, enabled, next, last));
  jobctl_print_variant (g_variant_builder_end (&rows));
}

int
jobctl_verb_timers (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) timers = NULL;

  if (!jobctl_parse_verb (jobctl, verb, NULL, NULL, 0, 0, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_get_timers_sync (jobctl->manager, &timers, NULL, &error))
    return jobctl_fail (error);
  if (jobctl->json)
    print_timers_json (timers);
  else
    print_timers_table (jobctl, timers);
  return JOBCTL_EXIT_OK;
}
