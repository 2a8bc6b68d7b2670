/* SPDX-License-Identifier: MIT */
/* jobctl-server.c — `server`: jobd's version and backend (properties of
 * org.jobd1.Manager, read with one Properties.GetAll since the proxy loads
 * none), its own memory and its recent log; `server log` prints the log
 * only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"
#include "jobd-parse.h"

#define SERVER_LOG_LINES 20

static GVariant *
get_properties (Jobctl *jobctl, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *properties = NULL;

  reply = g_dbus_connection_call_sync (jobctl->connection, jobctl->bus_name,
                                       g_dbus_proxy_get_object_path (G_DBUS_PROXY (jobctl->manager)),
                                       "org.freedesktop.DBus.Properties", "GetAll",
                                       g_variant_new ("(s)", "org.jobd1.Manager"),
                                       G_VARIANT_TYPE ("(a{sv})"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(@a{sv})", &properties);
  return properties;
}

static const char *
property_string (GVariant *properties, const char *name)
{
  const char *value = NULL;

  if (!g_variant_lookup (properties, name, "&s", &value))
    return "-";
  return value;
}

static void
print_log (Jobctl *jobctl, const char *const *lines)
{
  if (jobctl->json)
    jobctl_print_variant (g_variant_new_strv (lines, -1));
  else
    for (gsize i = 0; lines[i] != NULL; i++)
      g_print ("%s\n", lines[i]);
}

static void
print_server (Jobctl *jobctl, GVariant *properties, guint64 memory,
              const char *const *log)
{
  g_autoptr(GArray) fields = NULL;

  if (jobctl->json)
    {
      jobctl_print_variant (g_variant_new_parsed ("{'version': <%s>, 'backend': <%s>, "
                                                  "'memory': <%t>, 'log': <%^as>}",
                                                  property_string (properties, "Version"),
                                                  property_string (properties, "Backend"),
                                                  memory, log));
      return;
    }

  fields = jobctl_fields_new ();
  jobctl_fields_add (fields, _("Version"), g_strdup (property_string (properties, "Version")), NULL);
  jobctl_fields_add (fields, _("Backend"), g_strdup (property_string (properties, "Backend")), NULL);
  jobctl_fields_add (fields, _("Memory"), jobd_format_size (memory), NULL);
  jobctl_fields_print (fields, jobctl->color);
  if (log[0] == NULL)
    return;
  g_print ("\n%s\n", _("Recent log:"));
  for (gsize i = 0; log[i] != NULL; i++)
    g_print ("  %s\n", log[i]);
}

int
jobctl_verb_server (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) properties = NULL;
  g_auto(GStrv) log = NULL;
  int lines = SERVER_LOG_LINES;
  guint64 memory = 0;
  gboolean log_only;
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT, &lines,
      N_("Show the last N lines of the log (default: 20)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, 1, &argc, &argv, &error))
    return jobctl_fail (error);
  log_only = argc == 2;
  if ((log_only && g_strcmp0 (argv[1], "log") != 0) || lines < 0)
    {
      jobctl_set_usage_error (&error, _("usage: jobctl server [log] [-n N]"));
      return jobctl_fail (error);
    }

  if (!jobctl_connect (jobctl, &error)
      || !jobd_dbus_manager_call_get_server_log_sync (jobctl->manager, (guint) lines,
                                                      &log, NULL, &error))
    return jobctl_fail (error);
  if (log_only)
    {
      print_log (jobctl, (const char *const *) log);
      return JOBCTL_EXIT_OK;
    }

  properties = get_properties (jobctl, &error);
  if (properties == NULL
      || !jobd_dbus_manager_call_get_server_memory_sync (jobctl->manager, &memory,
                                                         NULL, &error))
    return jobctl_fail (error);
  print_server (jobctl, properties, memory, (const char *const *) log);
  return JOBCTL_EXIT_OK;
}
