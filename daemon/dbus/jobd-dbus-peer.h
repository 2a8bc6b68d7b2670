/* SPDX-License-Identifier: MIT */
/* jobd-dbus-peer.h — make the private socket look enough like a bus.
 *
 * Generic D-Bus tools (gdbus, busctl --address) treat any address as a
 * message bus: they call org.freedesktop.DBus.Hello first and add match
 * rules. On a peer-to-peer connection nobody answers those, so this answers
 * the handful of bus-driver methods such tools need, naming jobd itself as
 * the owner of org.jobd1. jobctl does not need it.
 *
 * AddMatch and RemoveMatch count per connection (jobd-dbus-client.h): jobd
 * sends its signals only to a peer holding at least one rule, so a client
 * that wants signals on the private socket must call AddMatch, as it would
 * on a bus (g_dbus_connection_signal_subscribe() does not on a peer
 * connection).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Returns the registration id (0 with error on failure). */
guint jobd_dbus_peer_register_bus_driver (GDBusConnection *connection, GError **error);

G_END_DECLS
