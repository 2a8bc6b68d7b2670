/* SPDX-License-Identifier: MIT */
/* jobd-dbus-service.h — the D-Bus front end of the manager.
 *
 * Serves org.jobd1.Manager at /org/jobd1 and one org.jobd1.Job object per
 * job under /org/jobd1/job/ on every connection it is given: the private
 * peer-to-peer socket (always) and the system or session bus (--system,
 * --user). Each method is listed once, with the access it needs, in the
 * access table of jobd-dbus-access.c (checked against the interface XML
 * when the service is made); what a method does is in jobd-dbus-methods.c,
 * the job objects and the signals in jobd-dbus-jobs.c.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-manager.h"
#include "jobd-names.h"

G_BEGIN_DECLS

#define JOBD_TYPE_DBUS_SERVICE (jobd_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (JobdDBusService, jobd_dbus_service, JOBD, DBUS_SERVICE, GObject)

/* NULL, with error set, when the access table does not have exactly one
 * row per method of the interface XML: jobd must not serve a method
 * nobody decided the access of. */
JobdDBusService *jobd_dbus_service_new (JobdManager *manager, GError **error);

/* The same check alone, for jobd to make first thing, before it takes
 * any job back. */
gboolean jobd_dbus_service_check_access_table (GError **error);

/* Told when the bus name is ours, or cannot be owned or was lost. */
typedef void (*JobdDBusNameFunc) (gpointer user_data);

/* Listen on unix:path=SOCKET_PATH (a stale socket file is replaced). Any
 * local user may connect; the method table decides what they may do. */
gboolean jobd_dbus_service_listen_private (JobdDBusService *service,
                                           const char *socket_path,
                                           GError **error);

/* Export on a bus, then own org.jobd1 there. on_name_acquired runs once
 * the name is ours (clients can reach us: the moment to report readiness);
 * on_name_lost if it cannot be owned or is lost. Both take user_data. */
void jobd_dbus_service_own_name (JobdDBusService *service,
                                 GBusType bus_type,
                                 JobdDBusNameFunc on_name_acquired,
                                 JobdDBusNameFunc on_name_lost,
                                 gpointer user_data);

void jobd_dbus_service_stop (JobdDBusService *service);

G_END_DECLS
