/* jobctl-control.c — the small verbs: remove, start, stop, restart, reload
 * (one handler, the generated call comes from the verb table), kill, status
 * and mem.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-parse.h"

int
jobctl_verb_simple (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (!jobctl_parse_verb (jobctl, verb, NULL, NULL, 1, 1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  /* Restart waits for the job to exit, which may take its whole stop
   * timeout: longer than D-Bus's default 25 s. */
  if (verb->call == jobd_dbus_manager_call_restart_sync)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (jobctl->manager), G_MAXINT);
  if (!verb->call (jobctl->manager, argv[1], NULL, &error))
    return jobctl_fail (error);
  return JOBCTL_EXIT_OK;
}

int
jobctl_verb_kill (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *signal_text = NULL;
  int signo = SIGTERM;
  const GOptionEntry entries[] = {
    { "signal", 's', 0, G_OPTION_ARG_STRING, &signal_text,
      N_("Signal to send, by name or number (default: TERM)"), N_("SIGNAL") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, 1, &argc, &argv, &error))
    return jobctl_fail (error);
  if (signal_text != NULL && !jobd_parse_signal (signal_text, &signo, &error))
    {
      g_prefix_error (&error, "--signal: ");
      return jobctl_fail (error);
    }
  if (!jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_kill_sync (jobctl->manager, argv[1], signo, NULL, &error))
    return jobctl_fail (error);
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
    return jobctl_fail (error);

  if (jobctl->json)
    jobctl_print_variant (g_variant_new_parsed ("{'name': <%s>, 'state': <%s>}",
                                                argv[1], state));
  else
    {
      g_autofree char *shown = jobctl_colorize (jobctl->color,
                                                jobctl_state_sgr (state), state);
      g_print ("%s\n", shown);
    }
  return g_strcmp0 (state, "up") == 0 ? JOBCTL_EXIT_OK : JOBCTL_EXIT_NOT_UP;
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
    return jobctl_fail (error);

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
