/* SPDX-License-Identifier: MIT */
/* jobctl-format.c — `list` (a table of jobs) and `show` (one job's runtime
 * state and settings as aligned "Label: value" lines), plus the aligned
 * table and timestamp helpers they share with other verbs.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <pwd.h>
#include <string.h>

#include "jobctl.h"
#include "jobd-parse.h"
#include "jobd-error.h"
#include "jobd-names.h"

/* ---- aligned output ---------------------------------------------------- */

/* The terminal's width when stdout is one, else 0: piped output is never
 * cut. */
static guint output_width;

void
jobctl_set_output_width (guint columns)
{
  output_width = columns;
}

char *
jobctl_ellipsize (const char *text, gsize columns)
{
  /* "…" where the terminal speaks UTF-8, else three dots. */
  const char *mark = g_get_charset (NULL) ? "…" : "...";
  gsize mark_width = jobd_display_width (mark);
  GString *out;
  gsize used = 0;

  if (jobd_display_width (text) <= columns)
    return g_strdup (text);
  if (columns < mark_width)
    return g_strndup (mark, columns);
  out = g_string_new (NULL);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize w = g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;

      if (used + w > columns - mark_width)
        break;
      g_string_append_unichar (out, c);
      used += w;
    }
  g_string_append (out, mark);
  return g_string_free (out, FALSE);
}

struct _JobctlTable {
  guint n_columns;
  guint32 right_aligned;  /* bit per column */
  GPtrArray *cells;       /* char *, row-major; row 0 is the header */
  GPtrArray *sgrs;        /* const char * (or NULL) per cell */
};

JobctlTable *
jobctl_table_new (guint n_columns, guint32 right_aligned, const char *const *header)
{
  JobctlTable *table = g_new0 (JobctlTable, 1);

  table->n_columns = n_columns;
  table->right_aligned = right_aligned;
  table->cells = g_ptr_array_new_with_free_func (g_free);
  table->sgrs = g_ptr_array_new ();
  for (guint i = 0; i < n_columns; i++)
    jobctl_table_add (table, _(header[i]), NULL);
  return table;
}

void
jobctl_table_free (JobctlTable *table)
{
  g_ptr_array_unref (table->cells);
  g_ptr_array_unref (table->sgrs);
  g_free (table);
}

void
jobctl_table_add (JobctlTable *table, const char *text, const char *sgr)
{
  g_ptr_array_add (table->cells, g_strdup (text));
  g_ptr_array_add (table->sgrs, (gpointer) sgr);
}

void
jobctl_table_take (JobctlTable *table, char *text)
{
  g_ptr_array_add (table->cells, text);
  g_ptr_array_add (table->sgrs, NULL);
}

static void
append_cell (GString *line, const char *text, const char *sgr, gboolean color,
             gsize padding, gboolean right)
{
  g_autofree char *shown = jobctl_colorize (color, sgr, text);

  if (right)
    g_string_append_printf (line, "%*s", (int) padding, "");
  g_string_append (line, shown);
  if (!right)
    g_string_append_printf (line, "%*s", (int) padding, "");
}

/* On a terminal, the widest column gives way until the table fits (down to
 * the next widest, then both, …, to a few columns each); cells wider than
 * their column are then ellipsized. */
static void
fit_widths (gsize *widths, guint n_columns)
{
  const gsize min_width = 6;
  gsize total = 2 * (n_columns - 1);

  for (guint i = 0; i < n_columns; i++)
    total += widths[i];
  while (output_width > 0 && total > output_width)
    {
      guint widest = 0;
      gsize next = min_width;
      gsize cut;

      for (guint i = 1; i < n_columns; i++)
        if (widths[i] > widths[widest])
          widest = i;
      if (widths[widest] <= min_width)
        return;
      for (guint i = 0; i < n_columns; i++)
        if (i != widest && widths[i] < widths[widest])
          next = MAX (next, widths[i]);
      cut = MIN (total - output_width, MAX (widths[widest] - next, 1));
      widths[widest] -= cut;
      total -= cut;
    }
}

void
jobctl_table_print (JobctlTable *table, gboolean legend, gboolean color)
{
  guint first_row = legend ? 0 : 1;
  guint n_rows = table->cells->len / table->n_columns;
  g_autofree gsize *widths = g_new0 (gsize, table->n_columns);

  for (guint i = first_row * table->n_columns; i < table->cells->len; i++)
    widths[i % table->n_columns] = MAX (widths[i % table->n_columns],
                                        jobd_display_width (table->cells->pdata[i]));
  fit_widths (widths, table->n_columns);

  for (guint row = first_row; row < n_rows; row++)
    {
      g_autoptr(GString) line = g_string_new (NULL);

      for (guint column = 0; column < table->n_columns; column++)
        {
          guint i = row * table->n_columns + column;
          g_autofree char *text = jobctl_ellipsize (table->cells->pdata[i], widths[column]);
          gboolean right = (table->right_aligned >> column) & 1;
          gboolean last = column + 1 == table->n_columns;
          gsize padding = widths[column] - jobd_display_width (text);

          append_cell (line, text, table->sgrs->pdata[i], color,
                       last && !right ? 0 : padding, right);
          if (!last)
            g_string_append (line, "  ");
        }
      g_print ("%s\n", line->str);
    }
}

/* "Label: value" lines with the labels right-aligned, like systemctl status. */
typedef struct {
  const char *label;
  char *value;
  const char *sgr;
} Field;

static void
field_clear (gpointer data)
{
  g_free (((Field *) data)->value);
}

GArray *
jobctl_fields_new (void)
{
  GArray *fields = g_array_new (FALSE, FALSE, sizeof (Field));

  g_array_set_clear_func (fields, field_clear);
  return fields;
}

void
jobctl_fields_add (GArray *fields, const char *label, char *value, const char *sgr)
{
  Field field = { label, value, sgr };

  g_array_append_val (fields, field);
}

void
jobctl_fields_print (GArray *fields, gboolean color)
{
  gsize width = 0;

  for (guint i = 0; i < fields->len; i++)
    width = MAX (width, jobd_display_width (g_array_index (fields, Field, i).label));
  for (guint i = 0; i < fields->len; i++)
    {
      Field *field = &g_array_index (fields, Field, i);
      gsize room = output_width > width + 2 + 6 ? output_width - width - 2 : 0;
      g_autofree char *cut = room > 0 ? jobctl_ellipsize (field->value, room)
                                      : g_strdup (field->value);
      g_autofree char *shown = jobctl_colorize (color, field->sgr, cut);
      gsize padding = width - jobd_display_width (field->label);

      g_print ("%*s%s: %s\n", (int) padding, "", field->label, shown);
    }
}

char *
jobctl_format_timestamp (guint64 usec, gboolean with_ms)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local ((gint64) (usec / G_USEC_PER_SEC));
  g_autofree char *text = NULL;

  if (time == NULL)
    return g_strdup ("-");
  text = g_date_time_format (time, "%Y-%m-%d %H:%M:%S");
  if (!with_ms)
    return g_steal_pointer (&text);
  return g_strdup_printf ("%s.%03u", text, (guint) (usec % G_USEC_PER_SEC / 1000));
}

/* ---- list -------------------------------------------------------------- */

char *
jobctl_format_cpu_time (guint64 usec)
{
  /* Seconds with milliseconds, like `time`: "1.234s". */
  return g_strdup_printf ("%" G_GUINT64_FORMAT ".%03us", usec / G_USEC_PER_SEC,
                          (guint) (usec % G_USEC_PER_SEC / 1000));
}

GHashTable *
jobctl_fetch_cpu_usage (Jobctl *jobctl, const char *const *names)
{
  g_autoptr(GHashTable) usage = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GVariant) rows = NULL;
  const char *const none[] = { NULL };
  GVariantIter iter;
  const char *name;
  guint64 cpu, memory;

  if (!jobd_dbus_manager_call_get_usage_sync (jobctl->manager, names != NULL ? names : none,
                                              &rows, NULL, NULL))
    return NULL;
  g_variant_iter_init (&iter, rows);
  while (g_variant_iter_next (&iter, "(&stt)", &name, &cpu, &memory))
    {
      guint64 both[2] = { cpu, memory };

      g_hash_table_insert (usage, g_strdup (name), g_memdup2 (both, sizeof both));
    }
  return g_steal_pointer (&usage);
}

gboolean
jobctl_list_jobs (Jobctl *jobctl, GVariant **rows, GError **error)
{
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) states = NULL;
  g_autoptr(GVariant) pids = NULL, memory = NULL, started_at = NULL, restarts = NULL;
  const guint32 *pid, *restart;
  const guint64 *mem, *started;
  gsize n, n_pid, n_mem, n_started, n_restart;
  GVariantBuilder b;

  if (!jobd_dbus_manager_call_list_sync (jobctl->manager, &names, &states, &pids, &memory,
                                         &started_at, &restarts, NULL, error))
    return FALSE;
  n = g_strv_length (names);
  pid = g_variant_get_fixed_array (pids, &n_pid, sizeof (guint32));
  mem = g_variant_get_fixed_array (memory, &n_mem, sizeof (guint64));
  started = g_variant_get_fixed_array (started_at, &n_started, sizeof (guint64));
  restart = g_variant_get_fixed_array (restarts, &n_restart, sizeof (guint32));
  if (g_strv_length (states) != n || n_pid != n || n_mem != n || n_started != n || n_restart != n)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("jobd answered List with columns of different lengths"));
      return FALSE;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ssuttuo)"));
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *path = jobd_job_object_path (names[i]);

      g_variant_builder_add (&b, "(ssuttuo)", names[i], states[i], pid[i], mem[i], started[i],
                             restart[i], path);
    }
  *rows = g_variant_ref_sink (g_variant_builder_end (&b));
  return TRUE;
}

/* The CPU time of a job from jobctl_fetch_cpu_usage()'s table. */
static guint64
cpu_of (GHashTable *usage, const char *name)
{
  guint64 *both = usage != NULL ? g_hash_table_lookup (usage, name) : NULL;

  return both != NULL ? both[0] : 0;
}

/* Its memory read now, from the same table; otherwise listed, the figure
 * List has (jobd's last reading, which List does not refresh). */
static guint64
memory_of (GHashTable *usage, const char *name, guint64 listed)
{
  guint64 *both = usage != NULL ? g_hash_table_lookup (usage, name) : NULL;

  return both != NULL ? both[1] : listed;
}

static void
print_list_json (GVariant *jobs, GHashTable *usage)
{
  GVariantBuilder rows;
  GVariantIter iter;
  const char *name, *state, *object_path;
  guint32 pid, restarts;
  guint64 memory, started_at;

  g_variant_builder_init (&rows, G_VARIANT_TYPE ("aa{sv}"));
  g_variant_iter_init (&iter, jobs);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, &state, &pid,
                              &memory, &started_at, &restarts, &object_path))
    g_variant_builder_add_value (&rows,
      g_variant_new_parsed ("{'name': <%s>, 'state': <%s>, 'pid': <%u>, "
                            "'memory': <%t>, 'cpu-usage-usec': <%t>, 'started-at': <%t>, "
                            "'restarts': <%u>, 'object': <%s>}",
                            name, state, pid, memory_of (usage, name, memory),
                            cpu_of (usage, name), started_at,
                            restarts, object_path));
  jobctl_print_variant (g_variant_builder_end (&rows));
}

static char *
format_pid (guint32 pid)
{
  return pid != 0 ? g_strdup_printf ("%u", pid) : g_strdup ("-");
}

static const char *lookup_string (GVariant *dict, const char *key);

/* What each job last said with STATUS= (sd_notify), in list's order, from
 * one GetStatusTexts call; NULL when none said anything (then list has no
 * STATUS column) or when jobd is older than that method. */
static GPtrArray *
fetch_status_texts (Jobctl *jobctl, GVariant *jobs)
{
  g_autoptr(GPtrArray) texts = NULL;
  g_autoptr(GVariant) said = NULL;
  GVariantIter iter;
  const char *name;
  guint32 pid;

  if (!jobd_dbus_manager_call_get_status_texts_sync (jobctl->manager, &said, NULL, NULL) ||
      g_variant_n_children (said) == 0)
    return NULL;
  texts = g_ptr_array_new_with_free_func (g_free);
  g_variant_iter_init (&iter, jobs);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, NULL, &pid, NULL, NULL, NULL, NULL))
    {
      const char *text = NULL;

      if (pid == 0 || !g_variant_lookup (said, name, "&s", &text))
        text = "-";
      g_ptr_array_add (texts, g_strdup (text));
    }
  return g_steal_pointer (&texts);
}

static void
print_list_table (Jobctl *jobctl, GVariant *jobs, GHashTable *usage)
{
  static const char *const header[] = {
    N_("NAME"), N_("STATE"), N_("PID"), N_("CPU"), N_("MEMORY"), N_("UPTIME"), N_("RESTARTS"),
    N_("STATUS"), N_("NEXT"),
  };
  g_autoptr(GPtrArray) status_texts = fetch_status_texts (jobctl, jobs);
  /* The NEXT column only when some job has a schedule. */
  g_autoptr(GHashTable) next = jobctl_next_fires (jobctl);
  gboolean with_next = g_hash_table_size (next) > 0;
  /* The optional columns that are shown, in the header's order. */
  const char *shown[G_N_ELEMENTS (header)];
  guint n_shown = 7;
  g_autoptr(JobctlTable) table = NULL;

  memcpy (shown, header, sizeof (char *) * 7);
  if (status_texts != NULL)
    shown[n_shown++] = header[7];
  if (with_next)
    shown[n_shown++] = header[8];
  /* PID, CPU, MEMORY and RESTARTS are numbers: right-aligned. */
  table = jobctl_table_new (n_shown, 1 << 2 | 1 << 3 | 1 << 4 | 1 << 6, shown);
  gint64 now = g_get_real_time ();
  GVariantIter iter;
  const char *name, *state;
  guint32 pid, restarts;
  guint64 memory, started_at;
  guint row = 0;

  g_variant_iter_init (&iter, jobs);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, &state, &pid,
                              &memory, &started_at, &restarts, NULL))
    {
      gboolean running = pid != 0;

      jobctl_table_add (table, name, NULL);
      jobctl_table_add (table, state, jobctl_state_sgr (state));
      jobctl_table_take (table, format_pid (pid));
      /* "-" too when jobd is older than GetUsage. */
      jobctl_table_take (table, running && usage != NULL
                                ? jobctl_format_cpu_time (cpu_of (usage, name))
                                : g_strdup ("-"));
      jobctl_table_take (table, running ? jobd_format_size (memory_of (usage, name, memory))
                                        : g_strdup ("-"));
      jobctl_table_take (table, running ? jobd_format_uptime (started_at, now)
                                        : g_strdup ("-"));
      jobctl_table_take (table, g_strdup_printf ("%u", restarts));
      if (status_texts != NULL)
        jobctl_table_add (table, status_texts->pdata[row], NULL);
      row++;
      if (with_next)
        jobctl_table_take (table, jobctl_format_next_fire (
                             GPOINTER_TO_SIZE (g_hash_table_lookup (next, name))));
    }
  jobctl_table_print (table, !jobctl->no_legend, jobctl->color);
}

/* The rows of List that --state and the name patterns keep (a new
 * variant of the same type). */
static GVariant *
filter_jobs (GVariant *jobs, const char *const *states, const char *const *patterns)
{
  GVariantBuilder kept;
  GVariantIter iter;
  GVariant *row;

  g_variant_builder_init (&kept, g_variant_get_type (jobs));
  g_variant_iter_init (&iter, jobs);
  while ((row = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *name, *state;

      g_variant_get_child (row, 0, "&s", &name);
      g_variant_get_child (row, 1, "&s", &state);
      if ((states == NULL || g_strv_contains (states, state))
          && jobctl_name_matches (patterns, name))
        g_variant_builder_add_value (&kept, row);
      g_variant_unref (row);
    }
  return g_variant_ref_sink (g_variant_builder_end (&kept));
}

/* The CPU time of the running jobs among rows, from one GetUsage call;
 * NULL when none runs or jobd is older than GetUsage. */
static GHashTable *
fetch_shown_usage (Jobctl *jobctl, GVariant *rows)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GVariantIter iter;
  const char *name;
  guint32 pid;

  g_variant_iter_init (&iter, rows);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, NULL, &pid, NULL, NULL, NULL, NULL))
    if (pid != 0)
      g_ptr_array_add (names, (gpointer) name);
  if (names->len == 0)
    return NULL;
  g_ptr_array_add (names, NULL);
  return jobctl_fetch_cpu_usage (jobctl, (const char *const *) names->pdata);
}

/* --state=STATE[,STATE] (repeatable): jobd's states, or systemd's words
 * for them (active, inactive, activating, deactivating). */
static gboolean
parse_states (char **given, char ***out, GError **error)
{
  static const char *const names[][2] = {
    { "up", "up" }, { "down", "down" }, { "failed", "failed" }, { "starting", "starting" },
    { "stopping", "stopping" }, { "active", "up" }, { "inactive", "down" },
    { "activating", "starting" }, { "deactivating", "stopping" }, { "running", "up" },
  };
  g_autoptr(GStrvBuilder) states = g_strv_builder_new ();

  *out = NULL;
  if (given == NULL)
    return TRUE;
  for (gsize i = 0; given[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit (given[i], ",", -1);

      for (gsize j = 0; words[j] != NULL; j++)
        {
          gboolean known = FALSE;

          for (gsize k = 0; k < G_N_ELEMENTS (names) && !known; k++)
            if (g_ascii_strcasecmp (words[j], names[k][0]) == 0)
              {
                g_strv_builder_add (states, names[k][1]);
                known = TRUE;
              }
          if (!known)
            {
              jobctl_set_usage_error (error, _("--state: unknown state “%s” (up, down, "
                                               "failed, starting, stopping)"), words[j]);
              return FALSE;
            }
        }
    }
  *out = g_strv_builder_end (states);
  return TRUE;
}

int
jobctl_verb_list (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) jobs = NULL;
  g_autoptr(GVariant) shown = NULL;
  g_auto(GStrv) state_args = NULL;
  g_auto(GStrv) states = NULL;
  g_autoptr(GHashTable) usage = NULL;
  gboolean tree = FALSE;
  const GOptionEntry entries[] = {
    { "state", 0, 0, G_OPTION_ARG_STRING_ARRAY, &state_args,
      N_("Only jobs in these states (up, down, failed, starting, stopping; "
         "comma-separated, repeatable)"), N_("STATE") },
    { "tree", 0, 0, G_OPTION_ARG_NONE, &tree,
      N_("Show each job with what it requires and is ordered after below it"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, -1, &argc, &argv, &error)
      || !parse_states (state_args, &states, &error)
      || !jobctl_connect (jobctl, &error)
      || !jobctl_list_jobs (jobctl, &jobs, &error))
    return jobctl_fail (error);

  shown = filter_jobs (jobs, (const char *const *) states, (const char *const *) argv + 1);
  /* Only the jobs shown that run: a list of stopped jobs costs no call. */
  usage = fetch_shown_usage (jobctl, shown);
  jobctl_pager_open (jobctl);
  if (tree && !jobctl->json)
    return jobctl_print_tree (jobctl, shown);
  if (jobctl->json)
    print_list_json (shown, usage);
  else
    print_list_table (jobctl, shown, usage);
  return JOBCTL_EXIT_OK;
}

/* ---- show -------------------------------------------------------------- */

typedef enum {
  SHOW_TEXT, SHOW_ARGS, SHOW_DICT, SHOW_BOOL, SHOW_NUMBER, SHOW_DURATION,
  SHOW_SIZE, SHOW_PERCENT, SHOW_LIMIT,
  SHOW_DURATION_LIMIT,   /* a duration where 0 means "no limit" */
} ShowKind;

typedef struct {
  const char *key;
  const char *label;
  ShowKind kind;
} ShownSetting;

static const ShownSetting shown_settings[] = {
  { "command", N_("Command"), SHOW_TEXT },
  { "args", N_("Arguments"), SHOW_ARGS },
  { "params", N_("Parameters"), SHOW_TEXT },
  { "working-directory", N_("Directory"), SHOW_TEXT },
  { "environment", N_("Environment"), SHOW_DICT },
  { "buffer-size", N_("Buffer size"), SHOW_NUMBER },
  { "write-log", N_("Write log"), SHOW_BOOL },
  { "autostart", N_("Autostart"), SHOW_BOOL },
  { "restart", N_("Restart"), SHOW_TEXT },
  { "restart-delay-ms", N_("Restart delay"), SHOW_DURATION },
  { "restart-delay-max-ms", N_("Restart delay max"), SHOW_DURATION },
  { "restart-reset-ms", N_("Restart reset"), SHOW_DURATION },
  { "start-limit-burst", N_("Start limit burst"), SHOW_NUMBER },
  { "start-limit-interval-ms", N_("Start limit interval"), SHOW_DURATION },
  { "stop-signal", N_("Stop signal"), SHOW_TEXT },
  { "stop-timeout-ms", N_("Stop timeout"), SHOW_DURATION },
  { "reload-signal", N_("Reload signal"), SHOW_TEXT },
  { "user", N_("User"), SHOW_TEXT },
  { "group", N_("Group"), SHOW_TEXT },
  { "interpreter", N_("Interpreter"), SHOW_TEXT },
  { "memory-max", N_("Memory limit"), SHOW_SIZE },
  { "cpu-quota", N_("CPU quota"), SHOW_PERCENT },
  { "tasks-max", N_("Tasks limit"), SHOW_LIMIT },
  { "memory-restart", N_("Memory restart"), SHOW_SIZE },
  { "runtime-max-ms", N_("Runtime limit"), SHOW_DURATION_LIMIT },
  { "history-size", N_("History size"), SHOW_NUMBER },
  { "ready", N_("Ready"), SHOW_TEXT },
  { "ready-timeout-ms", N_("Ready timeout"), SHOW_DURATION_LIMIT },
  { "watchdog-ms", N_("Watchdog"), SHOW_DURATION_LIMIT },
  { "health", N_("Health probe"), SHOW_TEXT },
  { "health-interval-ms", N_("Health interval"), SHOW_DURATION },
  { "health-timeout-ms", N_("Health timeout"), SHOW_DURATION },
  { "health-failures", N_("Health failures"), SHOW_NUMBER },
  { "instances", N_("Instances"), SHOW_NUMBER },
  { "requires", N_("Requires"), SHOW_ARGS },
  { "after", N_("After"), SHOW_ARGS },
  { "watch", N_("Watch"), SHOW_ARGS },
  { "watch-glob", N_("Watch globs"), SHOW_ARGS },
  { "watch-exclude", N_("Watch excludes"), SHOW_ARGS },
  { "watch-action", N_("Watch action"), SHOW_TEXT },
  { "watch-debounce-ms", N_("Watch debounce"), SHOW_DURATION },
  { "extra", N_("Extra"), SHOW_DICT },
};

static gboolean
variant_to_uint64 (GVariant *value, guint64 *out)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    *out = g_variant_get_uint32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    *out = g_variant_get_uint64 (value);
  else
    return FALSE;
  return TRUE;
}

/* A string or array of strings as a shell would read it back. */
static char *
format_words (GVariant *value)
{
  g_autoptr(GString) text = g_string_new (NULL);
  GVariantIter iter;
  const char *word;

  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "&s", &word))
    {
      g_autofree char *quoted = g_shell_quote (word);
      gboolean plain = *word != '\0' && strpbrk (word, " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL;

      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, plain ? word : quoted);
    }
  return g_strdup (text->len > 0 ? text->str : "-");
}

/* a{ss} or a{sv} as KEY=VALUE words. */
static char *
format_dict (GVariant *value)
{
  g_autoptr(GString) text = g_string_new (NULL);
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, value);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr(GVariant) owned G_GNUC_UNUSED = entry;   /* frees entry */
      g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
      g_autoptr(GVariant) item = g_variant_get_child_value (entry, 1);
      g_autoptr(GVariant) inner = g_variant_is_of_type (item, G_VARIANT_TYPE_VARIANT)
                                  ? g_variant_get_variant (item) : g_variant_ref (item);
      g_autofree char *printed = g_variant_is_of_type (inner, G_VARIANT_TYPE_STRING)
                                 ? g_variant_dup_string (inner, NULL)
                                 : g_variant_print (inner, FALSE);

      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append_printf (text, "%s=%s", g_variant_get_string (key, NULL), printed);
    }
  return g_strdup (text->len > 0 ? text->str : "-");
}

static char *
format_number (ShowKind kind, guint64 number)
{
  if (number == 0 && (kind == SHOW_SIZE || kind == SHOW_PERCENT || kind == SHOW_LIMIT ||
                      kind == SHOW_DURATION_LIMIT))
    return g_strdup (_("none"));
  switch (kind)
    {
    case SHOW_DURATION:
    case SHOW_DURATION_LIMIT:
      return jobd_format_duration_ms (number);
    case SHOW_SIZE:
      return jobd_format_size (number);
    case SHOW_PERCENT:
      return g_strdup_printf ("%" G_GUINT64_FORMAT "%%", number);
    default:
      return g_strdup_printf ("%" G_GUINT64_FORMAT, number);
    }
}

/* value as kind says; anything of an unexpected type as GVariant text. */
static char *
format_setting (ShowKind kind, GVariant *value)
{
  guint64 number;

  if (kind == SHOW_TEXT && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      const char *text = g_variant_get_string (value, NULL);
      return g_strdup (*text != '\0' ? text : "-");
    }
  if (kind == SHOW_ARGS && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    return format_words (value);
  if (kind == SHOW_DICT && g_variant_is_of_type (value, G_VARIANT_TYPE ("a{s*}")))
    return format_dict (value);
  if (kind == SHOW_BOOL && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? _("yes") : _("no"));
  if (kind >= SHOW_NUMBER && variant_to_uint64 (value, &number))
    return format_number (kind, number);
  return g_variant_print (value, FALSE);
}

/* The limits jobd says its backend does not enforce (runtime key
 * "limits-not-enforced"); NULL when none. */
static char **
unenforced_limits (GVariant *runtime)
{
  char **names = NULL;

  if (runtime == NULL || !g_variant_lookup (runtime, "limits-not-enforced", "^as", &names))
    return NULL;
  return names;
}

static void
add_settings_fields (GArray *fields, GVariant *settings, GVariant *runtime)
{
  g_auto(GStrv) unenforced = unenforced_limits (runtime);
  GVariantIter iter;
  const char *key;
  GVariant *value;

  for (gsize i = 0; i < G_N_ELEMENTS (shown_settings); i++)
    {
      g_autoptr(GVariant) known = g_variant_lookup_value (settings, shown_settings[i].key, NULL);
      char *text;

      /* No dependencies: nothing to say (most jobs). */
      if (known == NULL || (shown_settings[i].kind == SHOW_ARGS && g_variant_n_children (known) == 0 &&
                            !g_str_equal (shown_settings[i].key, "args")))
        continue;
      /* The probe's interval, timeout and threshold mean nothing without one. */
      if (g_str_has_prefix (shown_settings[i].key, "health-") &&
          !g_variant_lookup (settings, "health", "s", NULL))
        continue;
      /* A job of one shows as it always did. */
      if (g_str_equal (shown_settings[i].key, "instances") &&
          g_variant_is_of_type (known, G_VARIANT_TYPE_UINT32) && g_variant_get_uint32 (known) == 1)
        continue;
      text = format_setting (shown_settings[i].kind, known);
      if (unenforced != NULL &&
          g_strv_contains ((const char *const *) unenforced, shown_settings[i].key))
        {
          char *marked = g_strdup_printf (_("%s, not enforced (direct backend)"), text);
          g_free (text);
          text = marked;
        }
      jobctl_fields_add (fields, _(shown_settings[i].label), text, NULL);
    }

  /* Keys a newer jobd has and this jobctl does not know. */
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) owned G_GNUC_UNUSED = value;   /* frees value */
      /* Shown with the next fire (add_schedule_fields). */
      gboolean known = g_str_equal (key, "schedules") || g_str_equal (key, "overlap")
                       || g_str_equal (key, "persistent") || g_str_equal (key, "randomized-delay");

      for (gsize i = 0; i < G_N_ELEMENTS (shown_settings) && !known; i++)
        known = g_str_equal (shown_settings[i].key, key);
      if (!known)
        jobctl_fields_add (fields, key, g_variant_print (value, FALSE), NULL);
    }
}

static guint64
lookup_uint (GVariant *dict, const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (dict, key, NULL);
  guint64 number = 0;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return (guint64) MAX (g_variant_get_int32 (value), 0);
  if (value != NULL)
    variant_to_uint64 (value, &number);
  return number;
}

static const char *
lookup_string (GVariant *dict, const char *key)
{
  const char *text = NULL;

  if (!g_variant_lookup (dict, key, "&s", &text) || *text == '\0')
    return NULL;
  return text;
}

/* The liveness probe (health-* runtime keys), when the job has one. */
static void
add_health_fields (GArray *fields, GVariant *runtime)
{
  const char *status = lookup_string (runtime, "health-status");
  const char *result = lookup_string (runtime, "health-last-result");
  guint64 failures = lookup_uint (runtime, "health-failures-in-row");
  guint64 at = lookup_uint (runtime, "health-last-at");

  if (status == NULL)
    return;
  jobctl_fields_add (fields, _("Health"),
                     failures > 0
                     ? g_strdup_printf (_("%s (%u failed in a row)"), status, (guint) failures)
                     : g_strdup (status),
                     g_str_equal (status, "failing") ? "1;31" : NULL);
  if (at != 0)
    {
      g_autofree char *when = jobctl_format_timestamp (at, FALSE);
      jobctl_fields_add (fields, _("Last probe"),
                         g_strdup_printf (_("%s at %s"), result != NULL ? result : "-", when),
                         NULL);
    }
}

static char *
format_last_exit (GVariant *runtime)
{
  guint64 code = lookup_uint (runtime, "exit-code");
  guint64 signo = lookup_uint (runtime, "exit-signal");
  const char *name = jobd_signal_to_string ((int) signo);

  if (signo != 0 && name != NULL)
    return g_strdup_printf (_("killed by %s"), name);
  if (signo != 0)
    return g_strdup_printf (_("killed by signal %u"), (guint) signo);
  if (code != 0)
    return g_strdup_printf (_("exit code %u"), (guint) code);
  return NULL;
}

static char *
format_owner (guint64 uid)
{
  struct passwd *entry = getpwuid ((uid_t) uid);

  if (entry == NULL)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, uid);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " (%s)", uid, entry->pw_name);
}

static char *
format_started (GVariant *runtime, const char *state)
{
  guint64 started_at = lookup_uint (runtime, "started-at");
  g_autofree char *when = NULL;
  g_autofree char *uptime = NULL;

  if (started_at == 0)
    return NULL;
  when = jobctl_format_timestamp (started_at, FALSE);
  if (g_strcmp0 (state, "up") != 0)
    return g_steal_pointer (&when);
  uptime = jobd_format_uptime (started_at, g_get_real_time ());
  /* TRANSLATORS: a start time, then for how long the job has been up. */
  return g_strdup_printf (_("%s (up %s)"), when, uptime);
}

/* "up (3/4)": of a job of several instances, how many are up. */
static char *
format_state (GVariant *runtime, const char *state)
{
  g_autoptr(GVariant) list = g_variant_lookup_value (runtime, "instances", G_VARIANT_TYPE ("aa{sv}"));

  if (list == NULL)
    return g_strdup (state != NULL ? state : "-");
  return g_strdup_printf ("%s (%u/%u)", state != NULL ? state : "-",
                          (guint) lookup_uint (runtime, "instances-up"),
                          (guint) g_variant_n_children (list));
}

/* One line per instance: "2: up, PID 1234, 3.1M, 0 restarts". */
static void
add_instance_fields (GArray *fields, GVariant *runtime)
{
  g_autoptr(GVariant) list = g_variant_lookup_value (runtime, "instances", G_VARIANT_TYPE ("aa{sv}"));

  for (gsize i = 0; list != NULL && i < g_variant_n_children (list); i++)
    {
      g_autoptr(GVariant) one = g_variant_get_child_value (list, i);
      guint64 pid = lookup_uint (one, "pid");
      guint64 memory = lookup_uint (one, "memory");
      g_autofree char *size = memory > 0 ? jobd_format_size (memory) : g_strdup ("-");
      g_autofree char *label_text = g_strdup_printf (_("Instance %u"), (guint) lookup_uint (one, "instance"));
      /* (The fields keep the label, not a copy.) */
      const char *label = g_intern_string (label_text);
      const char *state = lookup_string (one, "state");

      jobctl_fields_add (fields, label,
                         pid != 0
                         /* TRANSLATORS: an instance's state, PID, memory and restarts. */
                         ? g_strdup_printf (_("%s, PID %u, %s, %u restarts"), state, (guint) pid, size,
                                            (guint) lookup_uint (one, "restarts"))
                         : g_strdup_printf (_("%s, %u restarts"), state,
                                            (guint) lookup_uint (one, "restarts")),
                         jobctl_state_sgr (state));
    }
}

static void
add_runtime_fields (GArray *fields, const char *name, GVariant *runtime,
                    const char *memory)
{
  const char *state = lookup_string (runtime, "state");
  const char *reason = lookup_string (runtime, "last-restart-reason");
  guint64 pid = lookup_uint (runtime, "main-pid");
  guint64 next_start = lookup_uint (runtime, "next-start-at");
  guint64 restarts = lookup_uint (runtime, "restarts");
  char *started = format_started (runtime, state);
  char *last_exit = format_last_exit (runtime);
  gboolean reloading = FALSE;

  jobctl_fields_add (fields, _("Name"), g_strdup (name), NULL);
  jobctl_fields_add (fields, _("State"), format_state (runtime, state),
             jobctl_state_sgr (state));
  if (pid != 0)
    jobctl_fields_add (fields, _("Main PID"), g_strdup_printf ("%" G_GUINT64_FORMAT, pid), NULL);
  if (started != NULL)
    jobctl_fields_add (fields, _("Started"), started, NULL);
  if (memory != NULL)
    jobctl_fields_add (fields, _("Memory"), g_strdup (memory), NULL);
  if (pid != 0 && g_variant_lookup (runtime, "cpu-usage-usec", "t", NULL))
    jobctl_fields_add (fields, _("CPU"),
                       jobctl_format_cpu_time (lookup_uint (runtime, "cpu-usage-usec")), NULL);
  jobctl_fields_add (fields, _("Restarts"),
             reason != NULL
             ? g_strdup_printf (_("%u (last: %s)"), (guint) restarts, reason)
             : g_strdup_printf ("%u", (guint) restarts), NULL);
  add_instance_fields (fields, runtime);
  if (lookup_string (runtime, "status-text") != NULL)
    jobctl_fields_add (fields, _("Status"), g_strdup (lookup_string (runtime, "status-text")), NULL);
  if (g_variant_lookup (runtime, "reloading", "b", &reloading) && reloading)
    jobctl_fields_add (fields, _("Reloading"), g_strdup (_("yes")), NULL);
  add_health_fields (fields, runtime);
  if (last_exit != NULL)
    jobctl_fields_add (fields, _("Last exit"), last_exit, NULL);
  if (lookup_string (runtime, "last-error") != NULL)
    jobctl_fields_add (fields, _("Last error"), g_strdup (lookup_string (runtime, "last-error")),
               "1;31");
  if (next_start != 0)
    jobctl_fields_add (fields, _("Next start"), jobctl_format_timestamp (next_start, FALSE), NULL);
  if (g_variant_lookup (runtime, "owner-uid", "u", NULL))
    jobctl_fields_add (fields, _("Owner"), format_owner (lookup_uint (runtime, "owner-uid")), NULL);
  if (lookup_string (runtime, "unit") != NULL)
    jobctl_fields_add (fields, _("Unit"), g_strdup (lookup_string (runtime, "unit")), NULL);
}

/* The job's memory, or NULL (no error) when it has none because it is not
 * running. */
static gboolean
get_memory (Jobctl *jobctl, const char *name, GVariant **out_memory, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *source = NULL;
  guint64 bytes;

  *out_memory = NULL;
  if (jobd_dbus_manager_call_get_memory_sync (jobctl->manager, name, &bytes,
                                              &source, NULL, &local_error))
    {
      *out_memory = g_variant_ref_sink (g_variant_new ("(ts)", bytes, source));
      return TRUE;
    }
  if (g_error_matches (local_error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static void
print_show_json (const char *name, GVariant *settings, GVariant *runtime,
                 GVariant *memory)
{
  GVariantBuilder show;

  g_variant_builder_init (&show, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&show, "{sv}", "name", g_variant_new_string (name));
  g_variant_builder_add (&show, "{sv}", "runtime", runtime);
  g_variant_builder_add (&show, "{sv}", "settings", settings);
  if (memory != NULL)
    {
      guint64 bytes;
      const char *source;

      g_variant_get (memory, "(t&s)", &bytes, &source);
      g_variant_builder_add (&show, "{sv}", "memory",
                             g_variant_new_parsed ("{'bytes': <%t>, 'source': <%s>}",
                                                   bytes, source));
    }
  jobctl_print_variant (g_variant_builder_end (&show));
}

/* The other direction of requires and after (GetRuntime), when there is one. */
static void
add_reverse_dependency_fields (GArray *fields, GVariant *runtime)
{
  static const struct { const char *key; const char *label; } reverse[] = {
    { "required-by", N_("Required by") },
    { "before", N_("Before") },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (reverse); i++)
    {
      g_autoptr(GVariant) names = g_variant_lookup_value (runtime, reverse[i].key,
                                                          G_VARIANT_TYPE_STRING_ARRAY);

      if (names != NULL && g_variant_n_children (names) > 0)
        jobctl_fields_add (fields, _(reverse[i].label), format_words (names), NULL);
    }
}

/* The schedules, one line each, and the next fire. */
static void
add_schedule_fields (GArray *fields, GVariant *settings, GVariant *runtime)
{
  g_autoptr(GVariant) schedules = g_variant_lookup_value (settings, "schedules",
                                                          G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GString) text = g_string_new (NULL);
  guint64 next = 0;
  const char *overlap = NULL;
  gboolean persistent = FALSE;
  guint32 delay = 0;
  GVariantIter iter;
  GVariant *entry;

  if (schedules == NULL || g_variant_n_children (schedules) == 0)
    return;
  g_variant_iter_init (&iter, schedules);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *spec = "", *id = "";
      gboolean enabled = TRUE;

      g_variant_lookup (entry, "spec", "&s", &spec);
      g_variant_lookup (entry, "id", "&s", &id);
      g_variant_lookup (entry, "enabled", "b", &enabled);
      g_string_append_printf (text, "%s%s%s (%s)", text->len > 0 ? "\n" : "", spec,
                              enabled ? "" : _(" [disabled]"), id);
      g_variant_unref (entry);
    }
  jobctl_fields_add (fields, _("Schedules"), g_strdup (text->str), NULL);
  if (g_variant_lookup (settings, "overlap", "&s", &overlap))
    jobctl_fields_add (fields, _("Overlap"), g_strdup (overlap), NULL);
  if (g_variant_lookup (settings, "persistent", "b", &persistent))
    jobctl_fields_add (fields, _("Persistent"), g_strdup (persistent ? _("yes") : _("no")), NULL);
  if (g_variant_lookup (settings, "randomized-delay", "u", &delay))
    jobctl_fields_add (fields, _("Randomized delay"), jobd_format_duration_ms (delay), NULL);
  g_variant_lookup (runtime, "next-fire", "t", &next);
  jobctl_fields_add (fields, _("Next fire"), jobctl_format_next_fire (next), NULL);
}

static void
print_show_text (Jobctl *jobctl, const char *name, GVariant *settings,
                 GVariant *runtime, GVariant *memory)
{
  g_autoptr(GArray) fields = jobctl_fields_new ();
  g_autofree char *memory_text = NULL;

  if (memory != NULL)
    {
      guint64 bytes;
      const char *source;
      g_autofree char *human = NULL;

      g_variant_get (memory, "(t&s)", &bytes, &source);
      human = jobd_format_size (bytes);
      memory_text = g_strdup_printf ("%s (%s)", human, source);
    }
  add_runtime_fields (fields, name, runtime, memory_text);
  add_reverse_dependency_fields (fields, runtime);
  add_schedule_fields (fields, settings, runtime);
  add_settings_fields (fields, settings, runtime);
  jobctl_fields_print (fields, jobctl->color);
}

void
jobctl_warn_unenforced_limits (Jobctl *jobctl, const char *name)
{
  g_autoptr(GVariant) runtime = NULL;
  g_auto(GStrv) unenforced = NULL;
  g_autofree char *list = NULL;

  /* Best effort: the change itself has succeeded. */
  if (!jobd_dbus_manager_call_get_runtime_sync (jobctl->manager, name, &runtime, NULL, NULL))
    return;
  unenforced = unenforced_limits (runtime);
  if (unenforced == NULL || unenforced[0] == NULL)
    return;
  list = g_strjoinv (", ", unenforced);
  g_printerr (_("warning: job %s: %s not enforced (direct backend)\n"), name, list);
}

int
jobctl_verb_show (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GVariant) runtime = NULL;
  g_autoptr(GVariant) memory = NULL;
  g_auto(GStrv) properties = NULL;
  g_autoptr(GPtrArray) wanted = NULL;
  gboolean value_only = FALSE;
  const GOptionEntry entries[] = {
    { "property", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &properties,
      N_("Print only these properties as NAME=VALUE (MainPID, Restart, State, …; "
         "comma-separated, repeatable)"), N_("PROP") },
    { "value", 0, 0, G_OPTION_ARG_NONE, &value_only,
      N_("With --property, print only the values"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, 1, &argc, &argv, &error)
      || (properties != NULL
          && (wanted = jobctl_properties_parse (properties, &error)) == NULL))
    return jobctl_fail (error);
  if (!jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_get_runtime_sync (jobctl->manager, argv[1], &runtime,
                                                   NULL, &error)
      || !jobd_dbus_manager_call_get_settings_sync (jobctl->manager, argv[1], &settings,
                                                    NULL, &error))
    return jobctl_fail_job (argv[1], error);
  if (wanted != NULL)
    return jobctl_properties_print (jobctl, argv[1], wanted, settings, runtime, value_only);
  if (!get_memory (jobctl, argv[1], &memory, &error))
    return jobctl_fail_job (argv[1], error);

  jobctl_pager_open (jobctl);
  if (jobctl->json)
    print_show_json (argv[1], settings, runtime, memory);
  else
    print_show_text (jobctl, argv[1], settings, runtime, memory);
  return JOBCTL_EXIT_OK;
}
