/* SPDX-License-Identifier: MIT */
/* jobctl-settings.c — `add` and `update`: one option per job setting,
 * turned into the a{sv} of org.jobd1.Manager.Add/Update.
 *
 * The options come from one table (option → key, kind of value), all
 * handled by one callback that parses the value the way a user writes it
 * (2s, 64M, 50%, TERM) and stores it under the API's key with the API's
 * type. Only the options given end up in the a{sv}, so an update changes
 * nothing else.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "jobctl.h"
#include "jobd-parse.h"

typedef enum {
  KIND_STRING,    /* s */
  KIND_BOOL,      /* b; --opt, --opt=yes, --opt=no */
  KIND_COUNT,     /* u */
  KIND_DURATION,  /* u, milliseconds */
  KIND_SIZE,      /* t, bytes */
  KIND_PERCENT,   /* u */
  KIND_LIMIT,     /* t, "none" = 0 */
  KIND_RESTART,   /* s, one of the policies */
  KIND_SIGNAL,    /* s, normalized name */
  KIND_ENV,       /* one entry of environment a{ss} */
  KIND_EXTRA,     /* one string entry of extra a{sv} */
  KIND_ARG,       /* one element of args as */
  KIND_SCHEDULE,  /* one entry of schedules aa{sv} */
  KIND_OVERLAP,   /* s, one of the overlap policies */
  KIND_NO_SCHEDULES, /* schedules = [] */
  KIND_LIST,      /* one element of an as (repeatable; replaces the whole list) */
  KIND_NO_LIST,   /* that as = [] */
  KIND_WATCH_ACTION, /* s, restart or reload */
} Kind;

typedef struct {
  const char *option;
  const char *key;
  Kind kind;
  gboolean update_only;
  const char *arg_description;
  const char *description;
} SettingOption;

static const SettingOption setting_options[] = {
  { "command", "command", KIND_STRING, TRUE, N_("PATH"),
    N_("Program to run") },
  { "arg", "args", KIND_ARG, TRUE, N_("ARG"),
    N_("Argument of the program (repeatable; replaces all arguments)") },
  { "params", "params", KIND_STRING, FALSE, N_("STRING"),
    N_("Arguments as one string, split like a shell (used without args)") },
  { "workdir", "working-directory", KIND_STRING, FALSE, N_("DIR"),
    N_("Working directory (add: default the current directory)") },
  { "env", "environment", KIND_ENV, FALSE, N_("KEY=VALUE"),
    N_("Environment variable (repeatable)") },
  { "buffer-size", "buffer-size", KIND_COUNT, FALSE, N_("N"),
    N_("Output lines kept in memory") },
  { "write-log", "write-log", KIND_BOOL, FALSE, N_("yes|no"),
    N_("Write output to log files") },
  { "autostart", "autostart", KIND_BOOL, FALSE, N_("yes|no"),
    N_("Start when jobd starts") },
  { "restart", "restart", KIND_RESTART, FALSE, N_("no|on-failure|always"),
    N_("When to restart the job after it exits") },
  { "restart-delay", "restart-delay-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Delay before the first restart (500ms, 2s, 1m; plain numbers are ms)") },
  { "restart-delay-max", "restart-delay-max-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Longest restart delay of the backoff") },
  { "restart-reset", "restart-reset-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Time up after which the backoff starts over") },
  { "start-limit-burst", "start-limit-burst", KIND_COUNT, FALSE, N_("N"),
    N_("Automatic restarts allowed per interval") },
  { "start-limit-interval", "start-limit-interval-ms", KIND_DURATION, FALSE,
    N_("DURATION"), N_("Interval of the start limit") },
  { "stop-signal", "stop-signal", KIND_SIGNAL, FALSE, N_("SIGNAL"),
    N_("Signal that stops the job (default: TERM)") },
  { "stop-timeout", "stop-timeout-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Time to wait after the stop signal before SIGKILL") },
  { "reload-signal", "reload-signal", KIND_SIGNAL, FALSE, N_("SIGNAL"),
    N_("Signal that reloads the job (default: HUP)") },
  { "user", "user", KIND_STRING, FALSE, N_("USER"),
    N_("Run as this user (root only)") },
  { "group", "group", KIND_STRING, FALSE, N_("GROUP"),
    N_("Run with this group (root only)") },
  { "interpreter", "interpreter", KIND_STRING, FALSE, N_("PATH"),
    N_("Interpreter for a program that is not executable") },
  { "memory-max", "memory-max", KIND_SIZE, FALSE, N_("SIZE"),
    N_("Memory limit (512K, 64M, 2G; none)") },
  { "cpu-quota", "cpu-quota", KIND_PERCENT, FALSE, N_("PERCENT"),
    /* xgettext:no-c-format */
    N_("CPU limit in percent of one CPU (50%; none)") },
  { "tasks-max", "tasks-max", KIND_LIMIT, FALSE, N_("N"),
    N_("Limit of processes and threads (none)") },
  { "memory-restart", "memory-restart", KIND_SIZE, FALSE, N_("SIZE"),
    N_("Restart the job gracefully when its memory passes this (64M; none)") },
  { "schedule", "schedules", KIND_SCHEDULE, FALSE, N_("EXPR"),
    N_("Start on a schedule: a calendar expression like OnCalendar= (daily, *:*:0/5, "
       "Mon 03:00), or every DURATION (repeatable; replaces all schedules)") },
  { "no-schedules", "schedules", KIND_NO_SCHEDULES, TRUE, NULL,
    N_("Remove every schedule") },
  { "overlap", "overlap", KIND_OVERLAP, FALSE, N_("skip|restart|queue"),
    N_("What a schedule does while the job still runs (default: skip)") },
  { "persistent", "persistent", KIND_BOOL, FALSE, N_("yes|no"),
    N_("Run a schedule missed while jobd was down once when it starts") },
  { "randomized-delay", "randomized-delay", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Delay each scheduled start by a random time up to this") },
  { "runtime-max", "runtime-max-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Stop a run that lasts longer than this (0: no limit)") },
  { "history-size", "history-size", KIND_COUNT, FALSE, N_("N"),
    N_("Runs kept in the job's history (default 100, 0..10000)") },
  { "ready", "ready", KIND_STRING, FALSE, N_("exec|notify|log:REGEX|tcp:PORT|exec-probe:CMD"),
    N_("When the job counts as up (default: exec)") },
  { "ready-timeout", "ready-timeout-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Not ready by then: stopped, a failed start (default 90s; 0 = none)") },
  { "watchdog", "watchdog-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Restart the job when no WATCHDOG=1 comes within this (0 = off)") },
  { "health", "health", KIND_STRING, FALSE, N_("exec:CMD|tcp:PORT|http://127.0.0.1:PORT/PATH"),
    N_("Liveness probe while the job is up; failing ones restart it (\"\" = none)") },
  { "health-interval", "health-interval-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Time between health probes (default 10s)") },
  { "health-timeout", "health-timeout-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("A health probe not done by then fails (default 5s)") },
  { "health-failures", "health-failures", KIND_COUNT, FALSE, N_("N"),
    N_("Failed health probes in a row that restart the job (default 3)") },
  { "instances", "instances", KIND_COUNT, FALSE, N_("N"),
    N_("Run N copies, each with JOBD_INSTANCE=1..N (default 1)") },
  { "requires", "requires", KIND_LIST, FALSE, N_("JOB[:CONDITION]"),
    N_("Start JOB first and wait until it is ready (or started, succeeded); stop with it "
       "(repeatable; replaces all)") },
  { "no-requires", "requires", KIND_NO_LIST, TRUE, NULL,
    N_("Remove every requirement") },
  { "after", "after", KIND_LIST, FALSE, N_("JOB[:CONDITION]"),
    N_("When JOB is being started too, wait for it (ordering only; repeatable; replaces all)") },
  { "no-after", "after", KIND_NO_LIST, TRUE, NULL,
    N_("Remove every ordering") },
  { "watch", "watch", KIND_LIST, FALSE, N_("PATH"),
    N_("Restart the job when a file under this directory changes (repeatable; "
       "relative to the working directory)") },
  { "watch-glob", "watch-glob", KIND_LIST, FALSE, N_("GLOB"),
    N_("Only files matching this glob count, like *.php (repeatable)") },
  { "watch-exclude", "watch-exclude", KIND_LIST, FALSE, N_("GLOB"),
    N_("Files and folders matching this glob do not count (repeatable)") },
  { "watch-action", "watch-action", KIND_WATCH_ACTION, FALSE, N_("restart|reload"),
    N_("What a watched change does (default: restart)") },
  { "watch-debounce", "watch-debounce-ms", KIND_DURATION, FALSE, N_("DURATION"),
    N_("Act once files have been quiet this long (default 500ms)") },
  { "set", "extra", KIND_EXTRA, FALSE, N_("KEY=VALUE"),
    N_("Extra setting kept for other tools (repeatable)") },
};

static const char *const restart_policies[] = { "no", "on-failure", "always", NULL };
static const char *const overlap_policies[] = { "skip", "restart", "queue", NULL };
static const char *const watch_actions[] = { "restart", "reload", NULL };

typedef struct {
  GVariantDict dict;
  GHashTable *environment;  /* NULL until --env */
  GVariantDict *extra;      /* NULL until --set */
  GPtrArray *args;          /* NULL until --arg */
  GPtrArray *schedules;     /* NULL until --schedule */
  GHashTable *lists;        /* key → GPtrArray of char *, NULL until a list option */
} SettingsBuilder;

static void
settings_builder_clear (SettingsBuilder *builder)
{
  g_variant_dict_clear (&builder->dict);
  g_clear_pointer (&builder->environment, g_hash_table_unref);
  g_clear_pointer (&builder->extra, g_variant_dict_unref);
  g_clear_pointer (&builder->args, g_ptr_array_unref);
  g_clear_pointer (&builder->schedules, g_ptr_array_unref);
  g_clear_pointer (&builder->lists, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SettingsBuilder, settings_builder_clear)

static const SettingOption *
find_option (const char *option_name)
{
  /* GOption passes "--workdir". */
  if (g_str_has_prefix (option_name, "--"))
    option_name += 2;
  for (gsize i = 0; i < G_N_ELEMENTS (setting_options); i++)
    if (strcmp (setting_options[i].option, option_name) == 0)
      return &setting_options[i];
  g_assert_not_reached ();
}

static gboolean
add_key_value (SettingsBuilder *builder, Kind kind, const char *value,
               GError **error)
{
  g_autofree char *key = NULL;
  g_autofree char *text = NULL;

  if (!jobd_parse_key_value (value, &key, &text, error))
    return FALSE;
  if (kind == KIND_ENV)
    {
      if (builder->environment == NULL)
        builder->environment = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      g_free, g_free);
      g_hash_table_replace (builder->environment, g_steal_pointer (&key),
                            g_steal_pointer (&text));
    }
  else
    {
      if (builder->extra == NULL)
        builder->extra = g_variant_dict_new (NULL);
      g_variant_dict_insert (builder->extra, key, "s", text);
    }
  return TRUE;
}

static gboolean
add_signal (SettingsBuilder *builder, const char *key, const char *value,
            GError **error)
{
  int signo;
  const char *name;

  if (!jobd_parse_signal (value, &signo, error))
    return FALSE;
  name = jobd_signal_to_string (signo);
  if (name != NULL)
    g_variant_dict_insert (&builder->dict, key, "s", name);
  else
    g_variant_dict_insert_value (&builder->dict, key,
                                 g_variant_new_take_string (g_strdup_printf ("%d", signo)));
  return TRUE;
}

/* A number option's value in the API's type (floating), or NULL. */
static GVariant *
parse_number (Kind kind, const char *value, GError **error)
{
  guint32 number32;
  guint64 number64;

  switch (kind)
    {
    case KIND_COUNT:
      return jobd_parse_uint (value, G_MAXUINT32, FALSE, &number64, error)
             ? g_variant_new_uint32 ((guint32) number64) : NULL;
    case KIND_DURATION:
      return jobd_parse_duration_ms (value, &number32, error)
             ? g_variant_new_uint32 (number32) : NULL;
    case KIND_SIZE:
      return jobd_parse_size (value, &number64, error)
             ? g_variant_new_uint64 (number64) : NULL;
    case KIND_PERCENT:
      return jobd_parse_percent (value, &number32, error)
             ? g_variant_new_uint32 (number32) : NULL;
    case KIND_LIMIT:
      return jobd_parse_uint (value, G_MAXUINT64, TRUE, &number64, error)
             ? g_variant_new_uint64 (number64) : NULL;
    default:
      g_assert_not_reached ();
    }
}

/* Parses value as the option's kind; stores it under the option's key. */
/* value NULL: the list becomes empty (cleared). */
static void
add_list_item (SettingsBuilder *builder, const char *key, const char *value)
{
  GPtrArray *list;

  if (builder->lists == NULL)
    builder->lists = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) g_ptr_array_unref);
  list = g_hash_table_lookup (builder->lists, key);
  if (list == NULL || value == NULL)
    {
      list = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_replace (builder->lists, (gpointer) key, list);
    }
  if (value != NULL)
    g_ptr_array_add (list, g_strdup (value));
}

static gboolean
add_setting (SettingsBuilder *builder, const SettingOption *option,
             const char *value, GError **error)
{
  GVariantDict *dict = &builder->dict;
  const char *key = option->key;
  gboolean flag = TRUE;
  GVariant *number;

  switch (option->kind)
    {
    case KIND_STRING:
      g_variant_dict_insert (dict, key, "s", value);
      return TRUE;
    case KIND_BOOL:
      if (value != NULL && !jobd_parse_bool (value, &flag, error))
        return FALSE;
      g_variant_dict_insert (dict, key, "b", flag);
      return TRUE;
    case KIND_COUNT:
    case KIND_DURATION:
    case KIND_SIZE:
    case KIND_PERCENT:
    case KIND_LIMIT:
      number = parse_number (option->kind, value, error);
      if (number == NULL)
        return FALSE;
      g_variant_dict_insert_value (dict, key, number);
      return TRUE;
    case KIND_RESTART:
      if (!g_strv_contains (restart_policies, value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not no, on-failure or always"), value);
          return FALSE;
        }
      g_variant_dict_insert (dict, key, "s", value);
      return TRUE;
    case KIND_OVERLAP:
      if (!g_strv_contains (overlap_policies, value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not skip, restart or queue"), value);
          return FALSE;
        }
      g_variant_dict_insert (dict, key, "s", value);
      return TRUE;
    case KIND_NO_SCHEDULES:
      g_clear_pointer (&builder->schedules, g_ptr_array_unref);
      builder->schedules = g_ptr_array_new_with_free_func (g_free);
      return TRUE;
    case KIND_SCHEDULE:
      /* Checked by jobd, which names the bad part of the expression. */
      if (builder->schedules == NULL)
        builder->schedules = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (builder->schedules, g_strdup (value));
      return TRUE;
    case KIND_LIST:
    case KIND_NO_LIST:
      add_list_item (builder, key, option->kind == KIND_LIST ? value : NULL);
      return TRUE;
    case KIND_WATCH_ACTION:
      if (!g_strv_contains (watch_actions, value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not restart or reload"), value);
          return FALSE;
        }
      g_variant_dict_insert (dict, key, "s", value);
      return TRUE;
    case KIND_SIGNAL:
      return add_signal (builder, key, value, error);
    case KIND_ENV:
    case KIND_EXTRA:
      return add_key_value (builder, option->kind, value, error);
    case KIND_ARG:
      if (builder->args == NULL)
        builder->args = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (builder->args, g_strdup (value));
      return TRUE;
    }
  g_assert_not_reached ();
}

static gboolean
option_cb (const char *option_name, const char *value, gpointer data,
           GError **error)
{
  if (add_setting (data, find_option (option_name), value, error))
    return TRUE;
  g_prefix_error (error, "%s: ", option_name);
  return FALSE;
}

static GOptionGroup *
settings_group_new (SettingsBuilder *builder, gboolean update)
{
  GOptionGroup *group = g_option_group_new ("settings", _("Job settings"),
                                            _("Show the job settings"),
                                            builder, NULL);
  g_autoptr(GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));

  for (gsize i = 0; i < G_N_ELEMENTS (setting_options); i++)
    {
      const SettingOption *option = &setting_options[i];
      GOptionEntry entry = {
        option->option, 0,
        option->kind == KIND_BOOL ? G_OPTION_FLAG_OPTIONAL_ARG
        : option->kind == KIND_NO_SCHEDULES || option->kind == KIND_NO_LIST ? G_OPTION_FLAG_NO_ARG : 0,
        G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
        option->description, option->arg_description,
      };

      if (!option->update_only || update)
        g_array_append_val (entries, entry);
    }
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  g_option_group_add_entries (group, (const GOptionEntry *) (gpointer) entries->data);
  return group;
}

/* The a{sv} of what was given (floating). */
static GVariant *
settings_builder_end (SettingsBuilder *builder)
{
  if (builder->environment != NULL)
    {
      GVariantBuilder environment;
      GHashTableIter iter;
      gpointer key, value;

      g_variant_builder_init (&environment, G_VARIANT_TYPE ("a{ss}"));
      g_hash_table_iter_init (&iter, builder->environment);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_variant_builder_add (&environment, "{ss}", key, value);
      g_variant_dict_insert_value (&builder->dict, "environment",
                                   g_variant_builder_end (&environment));
    }
  if (builder->extra != NULL)
    g_variant_dict_insert_value (&builder->dict, "extra",
                                 g_variant_dict_end (builder->extra));
  if (builder->schedules != NULL)
    {
      GVariantBuilder schedules;

      g_variant_builder_init (&schedules, G_VARIANT_TYPE ("aa{sv}"));
      for (guint i = 0; i < builder->schedules->len; i++)
        {
          g_variant_builder_open (&schedules, G_VARIANT_TYPE_VARDICT);
          g_variant_builder_add (&schedules, "{sv}", "spec",
                                 g_variant_new_string (builder->schedules->pdata[i]));
          g_variant_builder_close (&schedules);
        }
      g_variant_dict_insert_value (&builder->dict, "schedules",
                                   g_variant_builder_end (&schedules));
    }
  if (builder->lists != NULL)
    {
      GHashTableIter iter;
      gpointer key, list;

      g_hash_table_iter_init (&iter, builder->lists);
      while (g_hash_table_iter_next (&iter, &key, &list))
        g_variant_dict_insert_value (&builder->dict, key,
                                     g_variant_new_strv ((const char *const *) ((GPtrArray *) list)->pdata,
                                                         ((GPtrArray *) list)->len));
    }
  if (builder->args != NULL)
    g_variant_dict_insert_value (&builder->dict, "args",
                                 g_variant_new_strv ((const char *const *) builder->args->pdata,
                                                     builder->args->len));
  return g_variant_dict_end (&builder->dict);
}

static void
set_args (SettingsBuilder *builder, char **args, int n_args)
{
  g_clear_pointer (&builder->args, g_ptr_array_unref);
  builder->args = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < n_args; i++)
    g_ptr_array_add (builder->args, g_strdup (args[i]));
}

/* A verb's command line split at the first "--": GOption sees only what
 * comes before it, so the job's own arguments may look like options. */
typedef struct {
  int argc;
  char **argv;          /* a copy of the pointers before "--", NULL-terminated */
  char **rest;          /* after "--", or NULL when there was none */
  int n_rest;
} SplitArgs;

static void
split_args (SplitArgs *split, int argc, char **argv)
{
  int i = 0;

  while (i < argc && strcmp (argv[i], "--") != 0)
    i++;
  split->argc = i;
  split->argv = g_new0 (char *, i + 1);
  memcpy (split->argv, argv, sizeof (char *) * (gsize) i);
  split->rest = i < argc ? argv + i + 1 : NULL;
  split->n_rest = i < argc ? argc - i - 1 : 0;
}

static int
print_added (const char *name, const char *object_path)
{
  jobctl_print_variant (g_variant_new_parsed ("{'name': <%s>, 'object': <%s>}",
                                              name, object_path));
  return JOBCTL_EXIT_OK;
}

int
jobctl_verb_add (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_auto(SettingsBuilder) builder = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *object_path = NULL;
  g_autofree char **options = NULL;
  SplitArgs split;
  char **command;
  int n_command;

  g_variant_dict_init (&builder.dict, NULL);
  split_args (&split, argc, argv);
  options = split.argv;
  if (!jobctl_parse_verb (jobctl, verb, NULL, settings_group_new (&builder, FALSE),
                          1, split.rest != NULL ? 1 : -1,
                          &split.argc, &options, &error))
    return jobctl_fail (error);

  /* Without "--", what follows NAME is the command. */
  command = split.rest != NULL ? split.rest : options + 2;
  n_command = split.rest != NULL ? split.n_rest : split.argc - 2;
  if (n_command < 1)
    {
      jobctl_set_usage_error (&error, _("add needs a command: jobctl add %s"),
                              _(verb->params));
      return jobctl_fail (error);
    }
  g_variant_dict_insert (&builder.dict, "command", "s", command[0]);
  set_args (&builder, command + 1, n_command - 1);
  /* Where the user typed the command, as a shell would run it (jobd's own
   * default, for API clients, is the program's folder). */
  if (!g_variant_dict_contains (&builder.dict, "working-directory"))
    {
      g_autofree char *here = g_get_current_dir ();

      g_variant_dict_insert (&builder.dict, "working-directory", "s", here);
    }

  if (!jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_add_sync (jobctl->manager, options[1],
                                           settings_builder_end (&builder),
                                           &object_path, NULL, &error))
    return jobctl_fail_job (options[1], error);
  jobctl_warn_unenforced_limits (jobctl, options[1]);
  return jobctl->json ? print_added (options[1], object_path) : JOBCTL_EXIT_OK;
}

/* What follows `--` in update: the whole command line, as add takes it,
 * when its first word is a program: a path (has a slash), the job's own
 * command, or a program found in $PATH. Otherwise (say `-- -v`, or words
 * that name no program) it is read as update always did: the arguments only. */
static gboolean
names_program (Jobctl *jobctl, const char *name, const char *word)
{
  g_autoptr(GVariant) settings = NULL;
  g_autofree char *in_path = NULL;
  const char *command = NULL;

  if (*word == '-' || *word == '\0')
    return FALSE;
  if (strchr (word, '/') != NULL)
    return TRUE;
  if (jobd_dbus_manager_call_get_settings_sync (jobctl->manager, name, &settings, NULL, NULL)
      && g_variant_lookup (settings, "command", "&s", &command)
      && (g_str_equal (command, word)
          || g_str_equal (strrchr (command, '/') != NULL ? strrchr (command, '/') + 1 : command,
                          word)))
    return TRUE;
  in_path = g_find_program_in_path (word);
  return in_path != NULL;
}

int
jobctl_verb_update (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_auto(SettingsBuilder) builder = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char **options = NULL;
  g_autoptr(GVariant) settings = NULL;
  SplitArgs split;

  g_variant_dict_init (&builder.dict, NULL);
  split_args (&split, argc, argv);
  options = split.argv;
  if (!jobctl_parse_verb (jobctl, verb, NULL, settings_group_new (&builder, TRUE),
                          1, 1, &split.argc, &options, &error))
    return jobctl_fail (error);

  if (split.rest != NULL)
    {
      if (builder.args != NULL)
        {
          jobctl_set_usage_error (&error, _("give the arguments either with --arg "
                                            "or after `--`, not both"));
          return jobctl_fail (error);
        }
      if (!jobctl_connect (jobctl, &error))
        return jobctl_fail (error);
      if (split.n_rest > 0 && names_program (jobctl, options[1], split.rest[0]))
        {
          if (g_variant_dict_contains (&builder.dict, "command"))
            {
              jobctl_set_usage_error (&error, _("give the command either with --command "
                                                "or after `--`, not both"));
              return jobctl_fail (error);
            }
          g_variant_dict_insert (&builder.dict, "command", "s", split.rest[0]);
          set_args (&builder, split.rest + 1, split.n_rest - 1);
        }
      else
        set_args (&builder, split.rest, split.n_rest);
    }

  settings = g_variant_ref_sink (settings_builder_end (&builder));
  if (g_variant_n_children (settings) == 0)
    {
      jobctl_set_usage_error (&error, _("nothing to update: give a setting "
                                        "(see `jobctl update --help`)"));
      return jobctl_fail (error);
    }
  if (!jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_update_sync (jobctl->manager, options[1], settings,
                                              NULL, &error))
    return jobctl_fail_job (options[1], error);
  jobctl_warn_unenforced_limits (jobctl, options[1]);
  return JOBCTL_EXIT_OK;
}
