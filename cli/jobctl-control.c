/* SPDX-License-Identifier: MIT */
/* jobctl-control.c — the small verbs: remove, start, stop, restart, reload
 * (one handler, the generated call comes from the verb table), kill, status,
 * is-active, is-failed and mem. The verbs that act on jobs take several
 * names, globs and --all (jobctl-select.c), and start/stop/restart --wait
 * (jobctl-wait.c).
 */
#include "config.h"

#include <fnmatch.h>
#include <glib/gi18n.h>
#include <string.h>

#include "jobctl.h"
#include "jobd-error.h"
#include "jobd-parse.h"

/* Acting on a job already in the wanted state is no error, as with
 * systemctl: start of an active job, stop of a stopped one. */
static gboolean
already_there (Jobctl *jobctl, const JobctlVerb *verb, const char *name, const GError *error)
{
  g_autofree char *state = NULL;

  /* A stopping job is not started again: that is an error (with --wait,
   * the wait reports the job down). */
  if (verb->call == jobd_dbus_manager_call_start_sync)
    return g_error_matches (error, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING)
           && jobd_dbus_manager_call_status_sync (jobctl->manager, name, &state, NULL, NULL)
           && (g_str_equal (state, "up") || g_str_equal (state, "starting"));
  if (verb->call == jobd_dbus_manager_call_stop_sync)
    return g_error_matches (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING);
  return FALSE;
}

/* --wait: the verbs that have a state to wait for. */
static gboolean
verb_waits (const JobctlVerb *verb, gboolean *want_up)
{
  *want_up = verb->call != jobd_dbus_manager_call_stop_sync;
  return verb->call == jobd_dbus_manager_call_start_sync
         || verb->call == jobd_dbus_manager_call_stop_sync
         || verb->call == jobd_dbus_manager_call_restart_sync;
}

/* remove --force: remove even a job that others require. */
static gboolean remove_force;

static gboolean
call_remove_forced (Jobctl *jobctl, const char *name, GError **error)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "force", "b", TRUE);
  return jobd_dbus_manager_call_remove_with_options_sync (jobctl->manager, name,
                                                          g_variant_dict_end (&options),
                                                          NULL, error);
}

/* Calls the verb on one job; reports and returns the exit code. */
static int
act_on_job (Jobctl *jobctl, const JobctlVerb *verb, const char *name, int signo,
            JobctlWaiter *waiter, gboolean want_up, gint64 deadline)
{
  g_autoptr(GError) error = NULL;
  gboolean done;

  if (verb->call == jobd_dbus_manager_call_remove_sync && remove_force)
    done = call_remove_forced (jobctl, name, &error);
  else if (verb->call != NULL)
    done = verb->call (jobctl->manager, name, NULL, &error);
  else
    done = jobd_dbus_manager_call_kill_sync (jobctl->manager, name, signo, NULL, &error);
  if (!done)
    {
      g_dbus_error_strip_remote_error (error);
      /* With --wait, a start that found the job stopping, or that failed
       * to spawn, is reported by the wait with the job's state and error. */
      if (!already_there (jobctl, verb, name, error)
          && !(waiter != NULL && (g_error_matches (error, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING)
                                  || g_error_matches (error, JOBD_ERROR,
                                                      JOBD_ERROR_SPAWN_FAILED))))
        return jobctl_fail_job (name, error);
      g_clear_error (&error);
    }
  if (waiter != NULL && !jobctl_waiter_wait (waiter, name, want_up, deadline, &error))
    return jobctl_fail_job (name, error);
  return JOBCTL_EXIT_OK;
}

/* Several names, globs or --all; a failure on one job is reported and the
 * others are still acted on. */
static int
act_on_jobs (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv,
             gboolean all, gboolean wait, int signo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  JobctlWaiter *waiter = NULL;
  gboolean want_up = TRUE;
  int status = JOBCTL_EXIT_OK;
  gint64 deadline;

  if (!all && argc < 2)
    {
      jobctl_set_usage_error (&error, _("usage: jobctl %s %s"), verb->name, _(verb->params));
      return jobctl_fail (error);
    }
  if (all && argc > 1)
    {
      jobctl_set_usage_error (&error, _("give job names or --all, not both"));
      return jobctl_fail (error);
    }
  verb_waits (verb, &want_up);
  if (!jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  /* Restart waits for the job to exit, which may take its whole stop
   * timeout: longer than D-Bus's default 25 s. */
  if (verb->call == jobd_dbus_manager_call_restart_sync)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (jobctl->manager), G_MAXINT);
  /* Subscribed before the calls, so no change between a call and the wait
   * is missed. */
  if (wait && (waiter = jobctl_waiter_new (jobctl, &error)) == NULL)
    return jobctl_fail (error);

  names = jobctl_select_jobs (jobctl, argv + 1, argc - 1, all, &status, &error);
  if (names == NULL)
    status = jobctl_fail (error);
  deadline = g_get_monotonic_time () + JOBCTL_WAIT_TIMEOUT_S * G_USEC_PER_SEC;
  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      int code = act_on_job (jobctl, verb, names->pdata[i], signo, waiter, want_up, deadline);

      if (code != JOBCTL_EXIT_OK)
        jobctl_note_failure (&status, code);
    }
  if (waiter != NULL)
    jobctl_waiter_free (waiter);
  return status;
}

int
jobctl_verb_simple (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  gboolean all = FALSE;
  gboolean wait = FALSE;
  gboolean want_up;
  const GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("Act on every job"), NULL },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait,
      N_("Return once each job is up (stop: down); fail when one ends elsewhere"), NULL },
    G_OPTION_ENTRY_NULL
  };
  GOptionEntry without_wait[] = { entries[0], G_OPTION_ENTRY_NULL };
  const GOptionEntry for_remove[] = {
    entries[0],
    { "force", 0, 0, G_OPTION_ARG_NONE, &remove_force,
      N_("Remove it even if other jobs require it"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb,
                          verb->call == jobd_dbus_manager_call_remove_sync ? for_remove
                          : verb_waits (verb, &want_up) ? entries : without_wait,
                          NULL, 0, -1, &argc, &argv, &error))
    return jobctl_fail (error);
  return act_on_jobs (jobctl, verb, argc, argv, all, wait, 0);
}

int
jobctl_verb_kill (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *signal_text = NULL;
  gboolean all = FALSE;
  int signo = SIGTERM;
  const GOptionEntry entries[] = {
    { "signal", 's', 0, G_OPTION_ARG_STRING, &signal_text,
      N_("Signal to send, by name or number (default: TERM)"), N_("SIGNAL") },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("Act on every job"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, -1, &argc, &argv, &error))
    return jobctl_fail (error);
  if (signal_text != NULL && !jobd_parse_signal (signal_text, &signo, &error))
    {
      g_prefix_error (&error, "--signal: ");
      return jobctl_fail (error);
    }
  return act_on_jobs (jobctl, verb, argc, argv, all, FALSE, signo);
}

int
jobctl_verb_scale (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  guint64 n = 0;

  if (!jobctl_parse_verb (jobctl, verb, NULL, NULL, 2, 2, &argc, &argv, &error))
    return jobctl_fail (error);
  if (!g_ascii_string_to_unsigned (argv[2], 10, 0, G_MAXUINT32, &n, NULL))
    {
      g_set_error (&error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   _("the number of instances must be a whole number, not '%s'"), argv[2]);
      return jobctl_fail (error);
    }
  if (!jobctl_connect (jobctl, &error) ||
      !jobd_dbus_manager_call_scale_sync (jobctl->manager, argv[1], (guint) n, NULL, &error))
    return jobctl_fail_job (argv[1], error);
  return JOBCTL_EXIT_OK;
}

int
jobctl_verb_status (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;

  if (!jobctl_parse_verb (jobctl, verb, NULL, NULL, 1, 1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_status_sync (jobctl->manager, argv[1], &state,
                                              NULL, &error))
    return jobctl_fail_job (argc > 1 ? argv[1] : NULL, error);

  if (jobctl->json)
    jobctl_print_variant (g_variant_new_parsed ("{'name': <%s>, 'state': <%s>}",
                                                argv[1], state));
  else
    {
      g_autofree char *shown = jobctl_colorize (jobctl->color,
                                                jobctl_state_sgr (state), state);
      g_autoptr(GVariant) runtime = NULL;
      g_autoptr(GVariant) list = NULL;
      guint up = 0;

      /* A job of several instances: how many are up, "up (3/4)". */
      if (jobd_dbus_manager_call_get_runtime_sync (jobctl->manager, argv[1], &runtime, NULL, NULL) &&
          (list = g_variant_lookup_value (runtime, "instances", G_VARIANT_TYPE ("aa{sv}"))) != NULL &&
          g_variant_lookup (runtime, "instances-up", "u", &up))
        g_print ("%s (%u/%u)\n", shown, up, (guint) g_variant_n_children (list));
      else
        g_print ("%s\n", shown);
    }
  return g_strcmp0 (state, "up") == 0 ? JOBCTL_EXIT_OK : JOBCTL_EXIT_NOT_UP;
}

/* A jobd state in systemd's words (ActiveState), as is-active prints it. */
static const char *
active_state (const char *state)
{
  static const char *const map[][2] = {
    { "up", "active" }, { "down", "inactive" }, { "failed", "failed" },
    { "starting", "activating" }, { "stopping", "deactivating" },
  };

  if (state == NULL)
    return "inactive";   /* no such job: what systemctl says of a unit not loaded */
  for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_equal (map[i][0], state))
      return map[i][1];
  return state;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names of an a{ss}, sorted. */
static GPtrArray *
sorted_names (GVariant *states)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  char *name;

  g_variant_iter_init (&iter, states);
  while (g_variant_iter_next (&iter, "{ss}", &name, NULL))
    g_ptr_array_add (names, name);
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* is-active and is-failed: one StatusAll for every name and glob. */
static int
state_check (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv,
             const char *wanted, int miss_code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) states = NULL;
  g_autoptr(GPtrArray) sorted = NULL;
  GVariantBuilder json;
  gboolean quiet = FALSE;
  gboolean any = FALSE;
  const GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print nothing; only the exit status"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, -1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_status_all_sync (jobctl->manager, &states, NULL, &error))
    return jobctl_fail (error);

  g_variant_builder_init (&json, G_VARIANT_TYPE ("a{ss}"));
  sorted = sorted_names (states);
  for (int i = 1; i < argc; i++)
    {
      const char *known = NULL;

      for (guint j = 0; j < sorted->len; j++)
        {
          const char *name = sorted->pdata[j];
          const char *state = NULL;
          const char *shown;

          if (jobctl_is_glob (argv[i]) ? fnmatch (argv[i], name, 0) != 0
                                       : !g_str_equal (argv[i], name))
            continue;
          g_variant_lookup (states, name, "&s", &state);
          shown = active_state (state);
          any = any || g_str_equal (shown, wanted);
          if (jobctl->json)
            g_variant_builder_add (&json, "{ss}", name, shown);
          else if (!quiet)
            g_print ("%s\n", shown);
        }
      if (!jobctl_is_glob (argv[i]) && !g_variant_lookup (states, argv[i], "&s", &known))
        {
          if (jobctl->json)
            g_variant_builder_add (&json, "{ss}", argv[i], active_state (NULL));
          else if (!quiet)
            g_print ("%s\n", active_state (NULL));
        }
    }
  if (jobctl->json && !quiet)
    jobctl_print_variant (g_variant_builder_end (&json));
  else
    g_variant_builder_clear (&json);
  return any ? JOBCTL_EXIT_OK : miss_code;
}

int
jobctl_verb_is_active (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  return state_check (jobctl, verb, argc, argv, "active", JOBCTL_EXIT_NOT_UP);
}

int
jobctl_verb_is_failed (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  return state_check (jobctl, verb, argc, argv, "failed", JOBCTL_EXIT_FAILURE);
}

int
jobctl_verb_mem (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *source = NULL;
  gboolean bytes_only = FALSE;
  guint64 bytes = 0;
  const GOptionEntry entries[] = {
    { "bytes", 0, 0, G_OPTION_ARG_NONE, &bytes_only,
      N_("Print the plain number of bytes"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, 1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_get_memory_sync (jobctl->manager, argv[1],
                                                  &bytes, &source, NULL, &error))
    return jobctl_fail_job (argc > 1 ? argv[1] : NULL, error);

  if (jobctl->json)
    jobctl_print_variant (g_variant_new_parsed ("{'name': <%s>, 'bytes': <%t>, 'source': <%s>}",
                                                argv[1], bytes, source));
  else if (bytes_only)
    g_print ("%" G_GUINT64_FORMAT "\n", bytes);
  else
    {
      g_autofree char *human = jobd_format_size (bytes);
      g_print ("%s (%s)\n", human, source);
    }
  return JOBCTL_EXIT_OK;
}
