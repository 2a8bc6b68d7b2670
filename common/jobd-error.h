/* SPDX-License-Identifier: MIT */
/* jobd-error.h — the one error domain of jobd, mapped to D-Bus error names.
 *
 * Each value is registered once with a D-Bus name (org.jobd1.Error.*), so a
 * GError raised anywhere in the daemon reaches a D-Bus client as a named
 * error, and jobctl gets it back as the same JobdError.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JOBD_ERROR_FAILED,          /* org.jobd1.Error.Failed */
  JOBD_ERROR_NO_SUCH_JOB,     /* org.jobd1.Error.NoSuchJob */
  JOBD_ERROR_JOB_EXISTS,      /* org.jobd1.Error.JobExists */
  JOBD_ERROR_ALREADY_RUNNING, /* org.jobd1.Error.AlreadyRunning */
  JOBD_ERROR_NOT_RUNNING,     /* org.jobd1.Error.NotRunning */
  JOBD_ERROR_INVALID_ARGS,    /* org.jobd1.Error.InvalidArgs */
  JOBD_ERROR_ACCESS_DENIED,   /* org.jobd1.Error.AccessDenied */
  JOBD_ERROR_SPAWN_FAILED,    /* org.jobd1.Error.SpawnFailed */
  JOBD_ERROR_BUSY,            /* org.jobd1.Error.Busy */
} JobdError;

#define JOBD_ERROR (jobd_error_quark ())
GQuark jobd_error_quark (void);

G_END_DECLS
