/* SPDX-License-Identifier: MIT */
/* jobd-dbus-listener.h — the private socket's door: accepts peer
 * connections, caps them per user and in all, and closes those that do not
 * authenticate in time.
 *
 * GDBusServer (used before) authenticates every connection in a thread of
 * its own with no timeout and no cap: 2 000 idle connections were 2 000
 * descriptors and 2 000 threads. Here the kernel's peer credentials
 * (SO_PEERCRED) name the user at accept(), before anything is read, so a
 * connection over the per-user cap ([DBus] MaxConnectionsPerUser) or the
 * global one (MaxConnections) is closed at once, costing a descriptor for
 * no longer than that. Authentication (EXTERNAL only) runs in a thread
 * and is cancelled after [DBus] AuthTimeoutSec. Refusals are logged at
 * most once every 10 seconds, with a count.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-config.h"

G_BEGIN_DECLS

typedef struct _JobdDBusListener JobdDBusListener;

/* An authenticated connection, on the main thread, before any of its
 * messages is processed (processing starts when this returns). socket is
 * the connection's socket; uid the peer's, from the kernel. */
typedef void (*JobdDBusListenerFunc) (GDBusConnection *connection,
                                      GSocket *socket,
                                      guint uid,
                                      gpointer user_data);

/* Listen on socket_path (mode 0666: any local user may connect). config is
 * read at each connection, so a reload applies to the next one. */
JobdDBusListener *jobd_dbus_listener_new (const char *socket_path,
                                          JobdConfig *config,
                                          JobdDBusListenerFunc on_connection,
                                          gpointer user_data,
                                          GError **error);
/* Stops accepting; connections already made stay. */
void jobd_dbus_listener_free (JobdDBusListener *listener);

G_END_DECLS
