/* SPDX-License-Identifier: MIT */
/* jobctl-history.c — `jobctl history NAME`: a job's recorded runs
 * (GetHistory), oldest first so the newest is on the last line, like
 * journalctl. */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-parse.h"
#include "jobd-signal.h"

/* One row of GetHistory, read in one pass over its entries (a lookup per
 * key walks the dictionary again each time). Strings point into the reply. */
typedef struct {
  guint64 run, peak, out, err;
  gint64 start, end;
  const char *reason, *trigger, *result, *stop_cause;
  gboolean has_uid, killed;
  guint32 uid;
  gint32 code, signo;
} Run;

static void
run_read (GVariant *dict, Run *r)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  *r = (Run) { .code = -1 };
  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
#define IS(k, type) (g_str_equal (key, k) && g_variant_is_of_type (value, type))
      if (IS ("run", G_VARIANT_TYPE_UINT64)) r->run = g_variant_get_uint64 (value);
      else if (IS ("start", G_VARIANT_TYPE_INT64)) r->start = g_variant_get_int64 (value);
      else if (IS ("end", G_VARIANT_TYPE_INT64)) r->end = g_variant_get_int64 (value);
      else if (IS ("peak-memory", G_VARIANT_TYPE_UINT64)) r->peak = g_variant_get_uint64 (value);
      else if (IS ("stdout-lines", G_VARIANT_TYPE_UINT64)) r->out = g_variant_get_uint64 (value);
      else if (IS ("stderr-lines", G_VARIANT_TYPE_UINT64)) r->err = g_variant_get_uint64 (value);
      else if (IS ("reason", G_VARIANT_TYPE_STRING)) r->reason = g_variant_get_string (value, NULL);
      else if (IS ("trigger", G_VARIANT_TYPE_STRING)) r->trigger = g_variant_get_string (value, NULL);
      else if (IS ("result", G_VARIANT_TYPE_STRING)) r->result = g_variant_get_string (value, NULL);
      else if (IS ("stop-cause", G_VARIANT_TYPE_STRING)) r->stop_cause = g_variant_get_string (value, NULL);
      else if (IS ("caller-uid", G_VARIANT_TYPE_UINT32))
        {
          r->has_uid = TRUE;
          r->uid = g_variant_get_uint32 (value);
        }
      else if (IS ("killed", G_VARIANT_TYPE_BOOLEAN)) r->killed = g_variant_get_boolean (value);
      else if (IS ("exit-code", G_VARIANT_TYPE_INT32)) r->code = g_variant_get_int32 (value);
      else if (IS ("exit-signal", G_VARIANT_TYPE_INT32)) r->signo = g_variant_get_int32 (value);
#undef IS
      /* The strings stay valid: the reply holds the serialized data. */
      g_variant_unref (value);
    }
}

/* "manual (uid 1000)", "schedule (daily)", "policy". */
static char *
format_reason (const Run *r)
{
  if (r->trigger != NULL)
    return g_strdup_printf ("%s (%s)", r->reason, r->trigger);
  if (r->has_uid)
    return g_strdup_printf (_("%s (uid %u)"), r->reason, r->uid);
  return g_strdup (r->reason != NULL ? r->reason : "");
}

/* "exit 0", "signal SIGTERM, runtime-max", "signal SIGKILL, stop-request,
 * SIGKILL after the stop timeout", "running", "unknown (...)". */
static char *
format_result (const Run *r, const char **sgr)
{
  GString *text = g_string_new (NULL);

  *sgr = NULL;
  if (r->result == NULL || *r->result == '\0')
    {
      g_string_append (text, _("running"));
      *sgr = "1;32";
    }
  else if (g_str_equal (r->result, "exit-code"))
    {
      g_string_append_printf (text, _("exit %d"), r->code);
      if (r->code != 0)
        *sgr = "1;31";
    }
  else if (g_str_equal (r->result, "signal"))
    {
      const char *name = jobd_signal_to_string (r->signo);
      if (name != NULL)
        g_string_append_printf (text, _("signal %s"), name);
      else
        g_string_append_printf (text, _("signal %d"), r->signo);
      if (r->stop_cause == NULL)
        *sgr = "1;31";
    }
  else if (g_str_equal (r->result, "unknown"))
    {
      g_string_append (text, _("unknown (ended while jobd was down)"));
      *sgr = "1;33";
    }
  else
    {
      g_string_append (text, r->result);
      *sgr = "1;31";
    }
  if (r->stop_cause != NULL)
    g_string_append_printf (text, ", %s", r->stop_cause);
  if (r->killed)
    g_string_append (text, _(", SIGKILL after the stop timeout"));
  return g_string_free (text, FALSE);
}

/* Local "YYYY-MM-DD HH:MM:SS", with the zone looked up once for all rows
 * (per row it costs a readlink and stats of /etc/localtime). */
static char *
format_start (gint64 usec, GTimeZone *tz)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_timezone (utc, tz) : NULL;

  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

static void
add_row (JobctlTable *table, GVariant *dict, gint64 now, GTimeZone *tz, gboolean color)
{
  const char *sgr;
  char *result;
  Run r;

  run_read (dict, &r);
  jobctl_table_take (table, g_strdup_printf ("%" G_GUINT64_FORMAT, r.run));
  jobctl_table_take (table, r.start > 0 ? format_start (r.start, tz) : g_strdup ("-"));
  if (r.start > 0)
    jobctl_table_take (table, jobd_format_duration_ms ((guint64) MAX (0, (r.end != 0 ? r.end : now) - r.start) / 1000));
  else
    jobctl_table_add (table, "-", NULL);
  jobctl_table_take (table, format_reason (&r));
  result = format_result (&r, &sgr);
  jobctl_table_add (table, result, color ? sgr : NULL);
  g_free (result);
  jobctl_table_take (table, r.peak > 0 ? jobd_format_size (r.peak) : g_strdup ("-"));
  jobctl_table_take (table, g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, r.out, r.err));
}

int
jobctl_verb_history (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  static const char *const header[] = {
    N_("RUN"), N_("START"), N_("DURATION"), N_("REASON"), N_("RESULT"),
    N_("PEAK MEM"), N_("LINES OUT/ERR"),
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) runs = NULL;
  g_autoptr(JobctlTable) table = NULL;
  g_autoptr(GTimeZone) tz = NULL;
  g_autoptr(GPtrArray) oldest_first = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  GVariantBuilder builder;
  gint lines = 0;
  gint64 now = g_get_real_time ();
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT, &lines,
      N_("Show the newest N runs only (default: every run kept)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, 1, &argc, &argv, &error))
    return jobctl_fail (error);
  if (lines < 0)
    {
      jobctl_set_usage_error (&error, _("--lines: expected a number of runs, 0 or more"));
      return jobctl_fail (error);
    }
  if (!jobctl_connect (jobctl, &error) ||
      !jobd_dbus_manager_call_get_history_sync (jobctl->manager, argv[1], (guint) lines,
                                                &runs, NULL, &error))
    return jobctl_fail (error);

  /* jobd answers newest first; shown and printed oldest first. */
  for (gsize i = g_variant_n_children (runs); i > 0; i--)
    g_ptr_array_add (oldest_first, g_variant_get_child_value (runs, i - 1));

  if (jobctl->json)
    {
      g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
      for (guint i = 0; i < oldest_first->len; i++)
        g_variant_builder_add_value (&builder, oldest_first->pdata[i]);
      jobctl_print_variant (g_variant_builder_end (&builder));
      return JOBCTL_EXIT_OK;
    }

  table = jobctl_table_new (G_N_ELEMENTS (header), (1 << 0) | (1 << 2) | (1 << 5) | (1 << 6),
                            header);
  tz = g_time_zone_new_local ();
  for (guint i = 0; i < oldest_first->len; i++)
    add_row (table, oldest_first->pdata[i], now, tz, jobctl->color);
  jobctl_table_print (table, !jobctl->no_legend, jobctl->color);
  return JOBCTL_EXIT_OK;
}
