/* SPDX-License-Identifier: MIT */
/* jobctl.c — main () of jobctl, the command line client of jobd.
 *
 * Holds the table of verbs, the global options (which every verb accepts
 * too, so `jobctl list --json` and `jobctl --json list` both work), and the
 * helpers all verbs share: option parsing, error reporting, JSON output and
 * colour. The verbs themselves live in jobctl-<verb>.c.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <unistd.h>

#include "jobctl.h"
#include "jobctl-remote.h"
#include "jobd-error.h"

static const JobctlVerb verbs[] = {
  { "list", jobctl_verb_list, N_("[PATTERN…]"),
    N_("List jobs: state, PID, memory, uptime, restarts"), NULL },
  { "top", jobctl_verb_top, "",
    N_("Watch every job's state, CPU, memory and uptime, full screen (q quits)"), NULL },
  { "status", jobctl_verb_status, N_("NAME"),
    N_("Print a job's state; exit 0 when it is up, 3 otherwise"), NULL },
  { "is-active", jobctl_verb_is_active, N_("NAME…"),
    N_("Print active/inactive/…; exit 0 when any job is up, 3 otherwise"), NULL },
  { "is-failed", jobctl_verb_is_failed, N_("NAME…"),
    N_("Print each job's state; exit 0 when any job has failed, 1 otherwise"), NULL },
  { "show", jobctl_verb_show, N_("NAME"),
    N_("Show a job's settings and runtime state"), NULL },
  { "add", jobctl_verb_add, N_("NAME -- COMMAND [ARG…]"),
    N_("Add a job"), NULL },
  { "update", jobctl_verb_update, N_("NAME [-- COMMAND [ARG…]]"),
    N_("Change a job's settings; they apply at its next start"), NULL },
  { "remove", jobctl_verb_simple, N_("NAME…"),
    N_("Remove a stopped job"), jobd_dbus_manager_call_remove_sync },
  { "start", jobctl_verb_simple, N_("NAME…"),
    N_("Start a job"), jobd_dbus_manager_call_start_sync },
  { "stop", jobctl_verb_simple, N_("NAME…"),
    N_("Stop a job gracefully"), jobd_dbus_manager_call_stop_sync },
  { "restart", jobctl_verb_simple, N_("NAME…"),
    N_("Stop a job, wait for it to exit, start it again"),
    jobd_dbus_manager_call_restart_sync },
  { "reload", jobctl_verb_simple, N_("NAME…"),
    N_("Send a job its reload signal"), jobd_dbus_manager_call_reload_sync },
  { "kill", jobctl_verb_kill, N_("NAME…"),
    N_("Send a signal to every process of a job"), NULL },
  { "scale", jobctl_verb_scale, N_("NAME N"),
    N_("Run N instances of a job (saved; a running job scales at once)"), NULL },
  { "mem", jobctl_verb_mem, N_("NAME"),
    N_("Print the memory a job uses"), NULL },
  { "read", jobctl_verb_read, N_("NAME"),
    N_("Print a job's buffered output"), NULL },
  { "logs", jobctl_verb_logs, N_("[NAME…]"),
    N_("Print jobs' output history (log files, journal or buffer); with -f, follow it"), NULL },
  { "timers", jobctl_verb_timers, "",
    N_("List every schedule: next and last fire, job, expression"), NULL },
  { "history", jobctl_verb_history, N_("NAME"),
    N_("List a job's recorded runs, the newest last (-n N: the newest N)"), NULL },
  { "apply", jobctl_verb_apply, N_("FILE|DIR…"),
    N_("Make the jobs match job files: add, update, restart, --prune"), NULL },
  { "export", jobctl_verb_export, N_("[NAME…]"),
    N_("Write jobs as job files (stdout, or -o DIR)"), NULL },
  { "cat", jobctl_verb_cat, N_("NAME…"),
    N_("Print a job as a job file"), NULL },
  { "server", jobctl_verb_server, N_("[log]"),
    N_("Show jobd's version, backend, memory and recent log"), NULL },
};

/* The global options, stored in jobctl; address and host go through locals
 * so a verb's --address replaces the global one without leaking it. */
static void
add_common_entries (GOptionContext *context, Jobctl *jobctl, char **address, char **host)
{
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, address,
      N_("Reach jobd at ADDRESS (default: $JOBD_ADDRESS, else look for it); "
         "with -H, the address on that host"),
      N_("ADDRESS") },
    { "host", 'H', 0, G_OPTION_ARG_STRING, host,
      N_("Control jobd on HOST over ssh (default: $JOBD_HOST)"),
      N_("[USER@]HOST[:PORT]") },
    { "bus", 0, 0, G_OPTION_ARG_NONE, &jobctl->bus,
      N_("ADDRESS is a message bus, not jobd's private socket"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &jobctl->json,
      N_("Print machine-readable JSON"), NULL },
    { "no-legend", 0, 0, G_OPTION_ARG_NONE, &jobctl->no_legend,
      N_("Print no column headers"), NULL },
    { "no-pager", 0, 0, G_OPTION_ARG_NONE, &jobctl->no_pager,
      N_("Do not pipe long output into a pager"), NULL },
    { "full", 'l', 0, G_OPTION_ARG_NONE, &jobctl->full,
      N_("Do not ellipsize to the terminal's width"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}

static void
take_string (char **slot, char *value)
{
  if (value == NULL)
    return;
  g_free (*slot);
  *slot = value;
}

static void
take_address (Jobctl *jobctl, char *address, char *host)
{
  take_string (&jobctl->address, address);
  take_string (&jobctl->host, host);
}

void
jobctl_set_usage_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (G_OPTION_ERROR,
                                                G_OPTION_ERROR_FAILED,
                                                format, args));
  va_end (args);
}

gboolean
jobctl_parse_verb (Jobctl *jobctl, const JobctlVerb *verb,
                   const GOptionEntry *entries, GOptionGroup *group,
                   int min_args, int max_args,
                   int *argc, char ***argv, GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_(verb->params));
  g_autofree char *prgname = g_strdup_printf ("jobctl %s", verb->name);
  char *address = NULL;
  char *host = NULL;
  int n_args;

  /* So that --help reads "Usage: jobctl VERB [OPTION…] PARAMS". */
  g_set_prgname (prgname);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _(verb->summary));
  if (group != NULL)
    g_option_context_set_main_group (context, group);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  add_common_entries (context, jobctl, &address, &host);

  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  take_address (jobctl, address, host);
  /* Before a pager takes stdout over. */
  jobctl_set_output_width (jobctl->full ? 0 : jobctl_terminal_width ());

  n_args = *argc - 1;
  if (n_args < min_args || (max_args >= 0 && n_args > max_args))
    {
      jobctl_set_usage_error (error, _("usage: jobctl %s %s"),
                              verb->name, _(verb->params));
      return FALSE;
    }
  return TRUE;
}

int
jobctl_fail (GError *error)
{
  return jobctl_fail_job (NULL, error);
}

int
jobctl_fail_job (const char *name, GError *error)
{
  int code = JOBCTL_EXIT_FAILURE;
  g_autofree char *message = NULL;

  g_dbus_error_strip_remote_error (error);
  if (error->domain == JOBD_ERROR && error->code == JOBD_ERROR_NO_SUCH_JOB)
    code = JOBCTL_EXIT_NO_SUCH_JOB;
  else if (g_error_matches (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS)
           || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS)
           || error->domain == G_OPTION_ERROR)
    code = JOBCTL_EXIT_USAGE;

  message = jobctl_error_message (name, error);
  g_printerr ("jobctl: %s\n", message);
  return code;
}

static void
print_json (JsonNode *node, gboolean pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

void
jobctl_print_json (JsonNode *node)
{
  print_json (node, TRUE);
}

void
jobctl_print_json_line (JsonNode *node)
{
  print_json (node, FALSE);
}

void
jobctl_print_variant (GVariant *value)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(JsonNode) node = json_gvariant_serialize (owned);

  jobctl_print_json (node);
}

char *
jobctl_colorize (gboolean color, const char *sgr, const char *text)
{
  if (!color || sgr == NULL)
    return g_strdup (text);
  return g_strdup_printf ("\033[%sm%s\033[0m", sgr, text);
}

const char *
jobctl_state_sgr (const char *state)
{
  if (g_strcmp0 (state, "up") == 0)
    return "1;32";
  if (g_strcmp0 (state, "failed") == 0)
    return "1;31";
  if (g_strcmp0 (state, "starting") == 0 || g_strcmp0 (state, "stopping") == 0)
    return "1;33";
  return NULL;
}

static const JobctlVerb *
find_verb (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_strcmp0 (verbs[i].name, name) == 0)
      return &verbs[i];
  return NULL;
}

static char *
verbs_summary (void)
{
  GString *text = g_string_new (_("Control jobd, the job supervisor."));

  g_string_append_printf (text, "\n\n%s\n", _("Verbs:"));
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    g_string_append_printf (text, "  %-9s %s\n", verbs[i].name, _(verbs[i].summary));
  g_string_append (text, _("\n`jobctl VERB --help` shows the options of a verb."));
  return g_string_free (text, FALSE);
}

static const char *
exit_codes_description (void)
{
  return _("Exit status:\n"
           "  0  success (status, is-active: the job is up; is-failed: it has failed)\n"
           "  1  failure, jobd not reachable, or permission denied\n"
           "  2  bad usage or an invalid setting\n"
           "  3  status, is-active: the job is not up\n"
           "  4  no such job, or a pattern that matches none\n"
           "With several jobs, the first failure decides.");
}

/* A help option comes before the verb: only then is the long text of
 * `jobctl --help` worth building (some thirty translated strings, on the
 * path of every `jobctl status`). */
static gboolean
asks_global_help (int argc, char **argv)
{
  for (int i = 1; i < argc && argv[i][0] == '-'; i++)
    if (g_str_has_prefix (argv[i], "--help") || g_str_equal (argv[i], "-h") ||
        g_str_equal (argv[i], "-?"))
      return TRUE;
  return FALSE;
}

/* Parses the global options up to the verb (strict POSIX: the first
 * non-option ends them). */
static gboolean
parse_global (Jobctl *jobctl, gboolean *version, int *argc, char ***argv,
              GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("VERB [ARG…]"));
  gboolean help = asks_global_help (*argc, *argv);
  g_autofree char *summary = help ? verbs_summary () : NULL;
  g_autofree char *description = help ? g_strconcat (exit_codes_description (), "\n\n",
                                                     jobctl_remote_help (), NULL)
                                      : NULL;
  char *address = NULL;
  char *host = NULL;
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, version,
      N_("Print jobctl's version and exit"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  add_common_entries (context, jobctl, &address, &host);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  take_address (jobctl, address, host);
  return TRUE;
}

static int
run (Jobctl *jobctl, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const JobctlVerb *verb;
  gboolean version = FALSE;
  char *list_argv[] = { NULL, (char *) "list", NULL };

  if (!parse_global (jobctl, &version, &argc, &argv, &error))
    return jobctl_fail (error);
  if (version)
    {
      g_print ("jobctl %s\n", PACKAGE_VERSION);
      return JOBCTL_EXIT_OK;
    }

  /* Like systemctl, no verb lists. */
  if (argc < 2)
    {
      list_argv[0] = argv[0];
      argc = 2;
      argv = list_argv;
    }
  verb = find_verb (argv[1]);
  if (verb == NULL)
    {
      jobctl_set_usage_error (&error, _("unknown verb “%s” (see `jobctl --help`)"),
                              argv[1]);
      return jobctl_fail (error);
    }
  return verb->handler (jobctl, verb, argc - 1, argv + 1);
}

int
main (int argc, char **argv)
{
  Jobctl jobctl = { 0 };
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Registers org.jobd1.Error.* so remote errors come back as JobdError. */
  jobd_error_quark ();

  jobctl.color = isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL;
  status = run (&jobctl, argc, argv);
  jobctl_pager_close ();

  g_clear_object (&jobctl.manager);
  g_clear_object (&jobctl.connection);
  g_free (jobctl.bus_name);
  g_free (jobctl.address);
  g_free (jobctl.host);
  return status;
}
