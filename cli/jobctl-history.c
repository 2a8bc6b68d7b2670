/* jobctl-history.c — `jobctl history NAME`: a job's recorded runs
 * (GetHistory), oldest first so the newest is on the last line, like
 * journalctl. */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-parse.h"
#include "jobd-signal.h"

static const char *
lookup_string (GVariant *run, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (run, key, "&s", &value))
    return NULL;
  return value;
}

/* "manual (uid 1000)", "schedule (daily)", "policy". */
static char *
format_reason (GVariant *run)
{
  const char *reason = lookup_string (run, "reason");
  const char *trigger = lookup_string (run, "trigger");
  guint32 uid;

  if (trigger != NULL)
    return g_strdup_printf ("%s (%s)", reason, trigger);
  if (g_variant_lookup (run, "caller-uid", "u", &uid))
    return g_strdup_printf (_("%s (uid %u)"), reason, uid);
  return g_strdup (reason != NULL ? reason : "");
}

/* "exit 0", "signal TERM, runtime-max", "signal KILL, stop-request, SIGKILL
 * after the stop timeout", "running", "unknown". */
static char *
format_result (GVariant *run, const char **sgr)
{
  const char *result = lookup_string (run, "result");
  const char *stop_cause = lookup_string (run, "stop-cause");
  gint32 code = -1, signo = 0;
  gboolean killed = FALSE;
  GString *text = g_string_new (NULL);

  g_variant_lookup (run, "exit-code", "i", &code);
  g_variant_lookup (run, "exit-signal", "i", &signo);
  g_variant_lookup (run, "killed", "b", &killed);
  *sgr = NULL;
  if (result == NULL || *result == '\0')
    {
      g_string_append (text, _("running"));
      *sgr = "1;32";
    }
  else if (g_str_equal (result, "exit-code"))
    {
      g_string_append_printf (text, _("exit %d"), code);
      if (code != 0)
        *sgr = "1;31";
    }
  else if (g_str_equal (result, "signal"))
    {
      const char *name = jobd_signal_to_string (signo);
      if (name != NULL)
        g_string_append_printf (text, _("signal %s"), name);
      else
        g_string_append_printf (text, _("signal %d"), signo);
      if (stop_cause == NULL)
        *sgr = "1;31";
    }
  else if (g_str_equal (result, "unknown"))
    {
      g_string_append (text, _("unknown (ended while jobd was down)"));
      *sgr = "1;33";
    }
  else
    {
      g_string_append (text, result);
      *sgr = "1;31";
    }
  if (stop_cause != NULL)
    g_string_append_printf (text, ", %s", stop_cause);
  if (killed)
    g_string_append (text, _(", SIGKILL after the stop timeout"));
  return g_string_free (text, FALSE);
}

static void
add_row (JobctlTable *table, GVariant *run, gint64 now, gboolean color)
{
  guint64 number = 0, peak = 0, out = 0, err = 0;
  gint64 start = 0, end = 0;
  const char *sgr;
  char *result;

  g_variant_lookup (run, "run", "t", &number);
  g_variant_lookup (run, "start", "x", &start);
  g_variant_lookup (run, "end", "x", &end);
  g_variant_lookup (run, "peak-memory", "t", &peak);
  g_variant_lookup (run, "stdout-lines", "t", &out);
  g_variant_lookup (run, "stderr-lines", "t", &err);

  jobctl_table_take (table, g_strdup_printf ("%" G_GUINT64_FORMAT, number));
  jobctl_table_take (table, start > 0 ? jobctl_format_timestamp ((guint64) start, FALSE)
                                      : g_strdup ("-"));
  if (start > 0)
    jobctl_table_take (table, jobd_format_duration_ms ((guint64) MAX (0, (end != 0 ? end : now) - start) / 1000));
  else
    jobctl_table_add (table, "-", NULL);
  jobctl_table_take (table, format_reason (run));
  result = format_result (run, &sgr);
  jobctl_table_add (table, result, color ? sgr : NULL);
  g_free (result);
  jobctl_table_take (table, peak > 0 ? jobd_format_size (peak) : g_strdup ("-"));
  jobctl_table_take (table, g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, out, err));
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
  for (guint i = 0; i < oldest_first->len; i++)
    add_row (table, oldest_first->pdata[i], now, jobctl->color);
  jobctl_table_print (table, !jobctl->no_legend, jobctl->color);
  return JOBCTL_EXIT_OK;
}
