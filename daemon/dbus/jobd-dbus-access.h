/* SPDX-License-Identifier: MIT */
/* jobd-dbus-access.h — the access table: every D-Bus method, once.
 *
 * One default-deny table decides who may call what: each row names a
 * method of the interface XML (dbus/org.jobd1.*.xml), the access it needs
 * (jobd-auth.h), whether its first argument is a job (looked up, and
 * checked against, before the method runs) and the code that runs it
 * (jobd-dbus-methods.c). jobd_dbus_access_table_check() holds the table to
 * the XML: a method without a row would be unreachable (the skeleton
 * answers nobody) and a method with two rows ambiguous, so the service
 * refuses to start on either, and on a row naming no method.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-auth.h"
#include "jobd-job.h"

G_BEGIN_DECLS

typedef struct _JobdDBusService JobdDBusService;

typedef void (*JobdDBusMethodImpl) (JobdDBusService *service,
                                    GDBusMethodInvocation *invocation,
                                    guint caller_uid,
                                    JobdJob *job);

typedef struct {
  const char *interface;  /* as in the XML, e.g. "org.jobd1.Manager" */
  const char *method;     /* the D-Bus member, e.g. "GetServerLog" */
  JobdAccess access;
  gboolean takes_job;     /* first argument is a job name, looked up first */
  JobdDBusMethodImpl impl;
} JobdDBusAccessRow;

/* jobd's table, n_rows long. */
const JobdDBusAccessRow *jobd_dbus_access_table (gsize *n_rows);

/* The interfaces the table must cover, NULL-terminated: every interface
 * XML jobd serves. */
GDBusInterfaceInfo *const *jobd_dbus_access_interfaces (void);

/* TRUE when every method of every interface in interfaces has exactly one
 * row in rows and every row names such a method; otherwise FALSE with an
 * error that names each method at fault. */
gboolean jobd_dbus_access_table_check (const JobdDBusAccessRow *rows,
                                       gsize n_rows,
                                       GDBusInterfaceInfo *const *interfaces,
                                       GError **error);

/* The skeleton's handle-* signal of a D-Bus method name: "GetServerLog" →
 * "handle-get-server-log" (gdbus-codegen's rule for such names). */
char *jobd_dbus_access_signal_name (const char *method);

G_END_DECLS
