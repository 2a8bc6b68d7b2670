/* SPDX-License-Identifier: MIT */
/* jobd-dbus-client.h — what jobd keeps per peer connection of the private
 * socket: who is on the other end, whether it asked for signals, and how
 * much jobd holds for it that it has not taken yet.
 *
 * GDBus queues whatever is sent on a connection until the peer reads it, and
 * does not say how much that is. jobd charges each message it sends on a peer
 * connection (signals, method replies) when it hands it to GDBus, and GDBus's
 * writer thread gives the charge back when it takes the message off its queue
 * to write it (an outgoing filter: GDBus calls it just before the write). The
 * difference is what waits in jobd for that peer; past the bound the peer is
 * cut off (its socket shut down, which also ends a write stuck on a full
 * socket, so GDBus frees the queue) and logged once.
 *
 * Bus connections (--system, --user) have no JobdDBusClient: the bus daemon
 * bounds its clients and routes signals by match rules itself.
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

typedef struct _JobdDBusClient JobdDBusClient;

/* Called on the main thread once, when the client went over its bound. */
typedef void (*JobdDBusClientOverFunc) (GDBusConnection *connection, gpointer user_data);

/* Attach to a peer connection (before message processing starts). socket is
 * the connection's socket, shut down when the client goes over max_queued. */
JobdDBusClient *jobd_dbus_client_attach (GDBusConnection *connection,
                                         GSocket *socket,
                                         guint uid,
                                         guint64 max_queued);

/* The client of a peer connection; NULL on a bus connection. */
JobdDBusClient *jobd_dbus_client_get (GDBusConnection *connection);

guint jobd_dbus_client_get_uid (JobdDBusClient *client);

/* AddMatch / RemoveMatch: the rules are kept as a count (jobd only sends
 * its own signals, and one rule is enough to ask for them). FALSE when the
 * client holds too many rules already (AddMatch) or none (RemoveMatch). */
gboolean jobd_dbus_client_add_match (JobdDBusClient *client);
gboolean jobd_dbus_client_remove_match (JobdDBusClient *client);

/* Whether a signal should go to this connection: on a bus always (the bus
 * routes), on a peer connection only after an AddMatch. */
gboolean jobd_dbus_client_wants_signals (GDBusConnection *connection);

/* Send message on connection, charging it to the peer's client. A client
 * over its bound is cut off instead and nothing is sent. */
void jobd_dbus_client_send (GDBusConnection *connection, GDBusMessage *message);

/* Replies, charged like jobd_dbus_client_send(); they take invocation
 * (like g_dbus_method_invocation_return_*). parameters may be NULL (no
 * value) and is sunk if floating; fd_list may be NULL. */
void jobd_dbus_client_return_value (GDBusMethodInvocation *invocation,
                                    GVariant *parameters,
                                    GUnixFDList *fd_list);
void jobd_dbus_client_return_gerror (GDBusMethodInvocation *invocation,
                                     const GError *error);

/* Disconnect the client now (any thread; logged once, with why). */
void jobd_dbus_client_cut_off (JobdDBusClient *client, const char *why);

/* Bytes held for the client now (for tests and logs). */
guint64 jobd_dbus_client_get_queued (JobdDBusClient *client);

G_END_DECLS
