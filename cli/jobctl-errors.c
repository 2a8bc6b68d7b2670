/* SPDX-License-Identifier: MIT */
/* jobctl-errors.c — jobd's errors in the user's language.
 *
 * jobd words its errors in English (the same text goes to the journal and
 * to legacy clients). The D-Bus error name is the contract
 * (common/jobd-error.h): jobctl picks a message of its own by that name,
 * through gettext, and fills in the job's name or jobd's detail. Where the
 * catalogue has no translation (the C locale, an incomplete catalogue),
 * jobd's own message is shown unchanged, so English output stays what it
 * always was.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "jobctl.h"
#include "jobd-error.h"

/* Each message is used only when the catalogue translates it. A macro
 * and not a table, so the compiler checks every format. */
#define USE_IF_TRANSLATED(msgid, ...)                                    \
  G_STMT_START {                                                         \
    if (strcmp (_(msgid), msgid) != 0)                                   \
      return g_strdup_printf (_(msgid), __VA_ARGS__);                    \
  } G_STMT_END

char *
jobctl_error_message (const char *job, const GError *error)
{
  const char *detail = error->message;

  if (error->domain != JOBD_ERROR)
    return g_strdup (detail);
  switch ((JobdError) error->code)
    {
    case JOBD_ERROR_NO_SUCH_JOB:
      if (job != NULL)
        USE_IF_TRANSLATED (N_("no such job “%s”"), job);
      USE_IF_TRANSLATED (N_("no such job: %s"), detail);
      break;
    case JOBD_ERROR_JOB_EXISTS:
      if (job != NULL)
        USE_IF_TRANSLATED (N_("job “%s” already exists"), job);
      USE_IF_TRANSLATED (N_("the job already exists: %s"), detail);
      break;
    case JOBD_ERROR_ALREADY_RUNNING:
      if (job != NULL)
        USE_IF_TRANSLATED (N_("job “%s” is active (starting, up or stopping)"), job);
      USE_IF_TRANSLATED (N_("the job is active: %s"), detail);
      break;
    case JOBD_ERROR_NOT_RUNNING:
      if (job != NULL)
        USE_IF_TRANSLATED (N_("job “%s” is not running"), job);
      USE_IF_TRANSLATED (N_("the job is not running: %s"), detail);
      break;
    case JOBD_ERROR_INVALID_ARGS:
      USE_IF_TRANSLATED (N_("invalid argument: %s"), detail);
      break;
    case JOBD_ERROR_ACCESS_DENIED:
      USE_IF_TRANSLATED (N_("access denied: %s"), detail);
      break;
    case JOBD_ERROR_SPAWN_FAILED:
      USE_IF_TRANSLATED (N_("the job could not be started: %s"), detail);
      break;
    case JOBD_ERROR_BUSY:
      USE_IF_TRANSLATED (N_("jobd is busy: %s"), detail);
      break;
    case JOBD_ERROR_FAILED:
    default:
      USE_IF_TRANSLATED (N_("jobd failed: %s"), detail);
      break;
    }
  return g_strdup (detail);
}
