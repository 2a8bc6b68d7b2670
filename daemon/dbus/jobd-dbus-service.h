/* jobd-dbus-service.h — the D-Bus front end of the manager.
 *
 * Serves org.jobd1.Manager at /org/jobd1 and one org.jobd1.Job object per
 * job under /org/jobd1/job/ on every connection it is given: the private
 * peer-to-peer socket (always) and the system or session bus (--system,
 * --user). Each method is listed once, with the access it needs, in the
 * table at the top of jobd-dbus-service.c; that is where to look for what a
 * D-Bus method does.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-manager.h"
#include "jobd-names.h"

G_BEGIN_DECLS

#define JOBD_TYPE_DBUS_SERVICE (jobd_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (JobdDBusService, jobd_dbus_service, JOBD, DBUS_SERVICE, GObject)

JobdDBusService *jobd_dbus_service_new (JobdManager *manager);

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
                                 GCallback on_name_acquired,
                                 GCallback on_name_lost,
                                 gpointer user_data);

void jobd_dbus_service_stop (JobdDBusService *service);

/* Object path of a job: /org/jobd1/job/<name with non-alphanumerics as _XX>. */
char *jobd_dbus_job_path (const char *name);
/* The inverse of the escaping; NULL when node is not a valid escape. */
char *jobd_dbus_job_name_from_node (const char *node);

G_END_DECLS
