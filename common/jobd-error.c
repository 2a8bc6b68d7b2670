/* SPDX-License-Identifier: MIT */
/* jobd-error.c — JobdError ↔ D-Bus error names. */
#include "jobd-error.h"

#include <gio/gio.h>

static const GDBusErrorEntry jobd_error_entries[] = {
  { JOBD_ERROR_FAILED, "org.jobd1.Error.Failed" },
  { JOBD_ERROR_NO_SUCH_JOB, "org.jobd1.Error.NoSuchJob" },
  { JOBD_ERROR_JOB_EXISTS, "org.jobd1.Error.JobExists" },
  { JOBD_ERROR_ALREADY_RUNNING, "org.jobd1.Error.AlreadyRunning" },
  { JOBD_ERROR_NOT_RUNNING, "org.jobd1.Error.NotRunning" },
  { JOBD_ERROR_INVALID_ARGS, "org.jobd1.Error.InvalidArgs" },
  { JOBD_ERROR_ACCESS_DENIED, "org.jobd1.Error.AccessDenied" },
  { JOBD_ERROR_SPAWN_FAILED, "org.jobd1.Error.SpawnFailed" },
  { JOBD_ERROR_BUSY, "org.jobd1.Error.Busy" },
};

GQuark
jobd_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("jobd-error-quark", &quark,
                                      jobd_error_entries,
                                      G_N_ELEMENTS (jobd_error_entries));
  return (GQuark) quark;
}
