/* SPDX-License-Identifier: MIT */
/* jobd-dbus-authstream.h — a private-socket connection whose input is
 * bounded until authentication is over.
 *
 * GDBus reads the SASL lines of a connecting client with no length limit
 * (a line without a newline grows a buffer for as long as the client sends
 * it). This connection stands in for the accepted one while GDBus
 * authenticates: the same socket (peer credentials, descriptor passing),
 * but reading more than a given number of bytes through it fails, which
 * fails the authentication and closes the connection. Once authenticated,
 * GDBus reads messages from the socket itself, under its own checks.
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixconnection.h>

G_BEGIN_DECLS

#define JOBD_TYPE_DBUS_AUTH_CONNECTION (jobd_dbus_auth_connection_get_type ())
G_DECLARE_FINAL_TYPE (JobdDBusAuthConnection, jobd_dbus_auth_connection, JOBD,
                      DBUS_AUTH_CONNECTION, GUnixConnection)

/* A connection on socket (a connected unix stream socket, shared with the
 * connection it was accepted as) that reads at most limit bytes. */
GIOStream *jobd_dbus_auth_connection_new (GSocket *socket, gsize limit);

/* Authentication is over: no more bound on what is read. */
void jobd_dbus_auth_connection_unbound (JobdDBusAuthConnection *connection);

G_END_DECLS
