/* SPDX-License-Identifier: MIT */
/* jobd-ready.c — parsing the `ready` setting. */
#include "jobd-ready.h"

#include <string.h>

#include "jobd-error.h"
#include "jobd-probe.h"

#define READY_ERROR(...) \
  (g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, __VA_ARGS__), FALSE)

static gboolean
check_regex (const char *text, GError **error)
{
  g_autoptr(GRegex) regex = NULL;
  g_autoptr(GError) local = NULL;

  if (*text == '\0')
    return READY_ERROR ("ready: log:REGEX needs a regex");
  regex = g_regex_new (text, G_REGEX_OPTIMIZE, 0, &local);
  if (regex == NULL)
    return READY_ERROR ("ready: the regex '%s' does not compile: %s", text, local->message);
  return TRUE;
}

gboolean
jobd_ready_spec_parse (const char *text, JobdReadySpec *spec, GError **error)
{
  JobdReadySpec parsed = { JOBD_READY_EXEC, NULL, 0 };
  const char *colon = text != NULL ? strchr (text, ':') : NULL;
  g_autofree char *mode = colon ? g_strndup (text, (gsize) (colon - text)) : g_strdup (text);
  const char *argument = colon ? colon + 1 : NULL;

  if (text == NULL || g_strcmp0 (text, "exec") == 0)
    parsed.mode = JOBD_READY_EXEC;
  else if (g_str_equal (text, "notify"))
    parsed.mode = JOBD_READY_NOTIFY;
  else if (g_strcmp0 (mode, "log") == 0 && argument != NULL)
    {
      if (!check_regex (argument, error))
        return FALSE;
      parsed.mode = JOBD_READY_LOG;
      parsed.argument = g_strdup (argument);
    }
  else if (g_strcmp0 (mode, "tcp") == 0 && argument != NULL)
    {
      if (!jobd_probe_port_parse ("ready", argument, &parsed.port, error))
        return FALSE;
      parsed.mode = JOBD_READY_TCP;
    }
  else if (g_strcmp0 (mode, "exec-probe") == 0 && argument != NULL)
    {
      if (*argument == '\0')
        return READY_ERROR ("ready: exec-probe:COMMAND needs a command");
      parsed.mode = JOBD_READY_EXEC_PROBE;
      parsed.argument = g_strdup (argument);
    }
  else
    return READY_ERROR ("ready: unknown readiness '%s': use exec, notify, log:REGEX, "
                        "tcp:PORT or exec-probe:COMMAND", text);

  if (spec != NULL)
    *spec = parsed;
  else
    g_free (parsed.argument);
  return TRUE;
}

void
jobd_ready_spec_clear (JobdReadySpec *spec)
{
  g_clear_pointer (&spec->argument, g_free);
}
