/* SPDX-License-Identifier: MIT */
/* jobd-dbus-client.c — per peer connection: identity, signal subscription,
 * bytes held for the peer. See jobd-dbus-client.h for the accounting. */
#include "config.h"

#include "jobd-dbus-client.h"

#include <string.h>

/* More match rules than any client needs; each AddMatch is otherwise free. */
#define MAX_MATCH_RULES 512
/* Calls the peer sent whose replies are not yet written: a client that
 * pipelines calls and never reads is cut off here too, whatever the size of
 * the replies GDBus builds itself (Introspect, Ping, errors). */
#define MAX_CALLS_IN_FLIGHT 1024

struct _JobdDBusClient {
  GSocket *socket;
  guint uid;
  guint match_rules;          /* main thread only */
  guint64 max_queued;

  GMutex lock;                /* the fields below: main and GDBus worker thread */
  guint64 queued;             /* charged, not yet taken by GDBus's writer */
  guint calls_in_flight;
  gboolean cut;               /* over a bound: cut off, logged */
};

static GQuark
client_quark (void)
{
  return g_quark_from_static_string ("jobd-dbus-client");
}

static GQuark
charge_quark (void)
{
  return g_quark_from_static_string ("jobd-dbus-charge");
}

static void
client_free (gpointer data)
{
  JobdDBusClient *client = data;

  g_clear_object (&client->socket);
  g_mutex_clear (&client->lock);
  g_free (client);
}

/* What a queued message costs jobd: its serialized blob, the message's
 * copy of the body, and GDBus's bookkeeping around them (the message object
 * and its header table, the queue entry, allocator slack). The fixed part
 * is measured: a peer that never reads while a job flaps grew jobd by about
 * 5.8 KB per queued signal of some 400 bytes. */
#define MESSAGE_OVERHEAD 5120

static guint64
message_charge (GDBusMessage *message)
{
  GVariant *body = g_dbus_message_get_body (message);
  const char *fields[] = {
    g_dbus_message_get_path (message), g_dbus_message_get_interface (message),
    g_dbus_message_get_member (message), g_dbus_message_get_error_name (message),
    g_dbus_message_get_destination (message), g_dbus_message_get_signature (message),
  };
  guint64 size = 16 + 64;

  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    size += fields[i] != NULL ? strlen (fields[i]) + 8 : 0;
  if (body != NULL)
    size += g_variant_get_size (body);
  return 2 * size + MESSAGE_OVERHEAD;
}

/* Any thread; the caller holds no lock. Logs once. */
void
jobd_dbus_client_cut_off (JobdDBusClient *client, const char *why)
{
  gboolean first;
  guint64 queued;

  g_mutex_lock (&client->lock);
  first = !client->cut;
  client->cut = TRUE;
  queued = client->queued;
  g_mutex_unlock (&client->lock);
  if (!first)
    return;
  g_warning ("disconnecting a D-Bus client (uid %u): %s (%" G_GUINT64_FORMAT " bytes held for it)",
             client->uid, why, queued);
  /* Not g_dbus_connection_close(): it waits behind a write stuck on the
   * full socket. A shut-down socket fails that write, and GDBus closes the
   * connection and frees its queue. */
  g_socket_shutdown (client->socket, TRUE, TRUE, NULL);
}

/* GDBus's worker thread: incoming messages as they arrive, outgoing ones
 * just before they are written. */
static GDBusMessage *
client_filter (GDBusConnection *connection, GDBusMessage *message, gboolean incoming,
               gpointer user_data)
{
  JobdDBusClient *client = user_data;
  GDBusMessageType type = g_dbus_message_get_message_type (message);
  gboolean expects_reply = type == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
    !(g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
  gboolean too_many = FALSE;
  gboolean cut;

  g_mutex_lock (&client->lock);
  if (incoming)
    {
      if (expects_reply && !client->cut)
        too_many = ++client->calls_in_flight > MAX_CALLS_IN_FLIGHT;
    }
  else
    {
      guint64 charge = GPOINTER_TO_SIZE (g_object_steal_qdata (G_OBJECT (message), charge_quark ()));

      client->queued -= MIN (charge, client->queued);
      if ((type == G_DBUS_MESSAGE_TYPE_METHOD_RETURN || type == G_DBUS_MESSAGE_TYPE_ERROR) &&
          client->calls_in_flight > 0)
        client->calls_in_flight--;
    }
  cut = client->cut;
  g_mutex_unlock (&client->lock);

  if (too_many)
    jobd_dbus_client_cut_off (client, "too many calls whose replies it does not read");
  if (incoming && (cut || too_many))
    {
      g_object_unref (message);
      return NULL;
    }
  return message;
}

JobdDBusClient *
jobd_dbus_client_attach (GDBusConnection *connection, GSocket *socket, guint uid,
                         guint64 max_queued)
{
  JobdDBusClient *client = g_new0 (JobdDBusClient, 1);

  client->socket = g_object_ref (socket);
  client->uid = uid;
  client->max_queued = max_queued;
  g_mutex_init (&client->lock);
  g_object_set_qdata_full (G_OBJECT (connection), client_quark (), client, client_free);
  /* The connection owns the client, and the filter runs only while the
   * connection is alive: no destroy notify for the filter. */
  g_dbus_connection_add_filter (connection, client_filter, client, NULL);
  return client;
}

JobdDBusClient *
jobd_dbus_client_get (GDBusConnection *connection)
{
  return g_object_get_qdata (G_OBJECT (connection), client_quark ());
}

guint
jobd_dbus_client_get_uid (JobdDBusClient *client)
{
  return client->uid;
}

gboolean
jobd_dbus_client_add_match (JobdDBusClient *client)
{
  if (client->match_rules >= MAX_MATCH_RULES)
    return FALSE;
  client->match_rules++;
  return TRUE;
}

gboolean
jobd_dbus_client_remove_match (JobdDBusClient *client)
{
  if (client->match_rules == 0)
    return FALSE;
  client->match_rules--;
  return TRUE;
}

gboolean
jobd_dbus_client_wants_signals (GDBusConnection *connection)
{
  JobdDBusClient *client = jobd_dbus_client_get (connection);

  return client == NULL || client->match_rules > 0;
}

guint64
jobd_dbus_client_get_queued (JobdDBusClient *client)
{
  guint64 queued;

  g_mutex_lock (&client->lock);
  queued = client->queued;
  g_mutex_unlock (&client->lock);
  return queued;
}

void
jobd_dbus_client_send (GDBusConnection *connection, GDBusMessage *message)
{
  JobdDBusClient *client = jobd_dbus_client_get (connection);
  guint64 charge;
  gboolean over;

  if (client == NULL)
    {
      g_dbus_connection_send_message (connection, message, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                      NULL, NULL);
      return;
    }
  charge = message_charge (message);
  g_mutex_lock (&client->lock);
  over = client->cut || client->queued + charge > client->max_queued;
  if (!over)
    client->queued += charge;
  g_mutex_unlock (&client->lock);
  if (over)
    {
      jobd_dbus_client_cut_off (client, "it does not read what jobd sends");
      return;
    }
  /* Charged before it is queued, so the writer never gives back more than
   * was charged. */
  g_object_set_qdata (G_OBJECT (message), charge_quark (), GSIZE_TO_POINTER (charge));
  if (!g_dbus_connection_send_message (connection, message, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                       NULL, NULL))
    {
      g_mutex_lock (&client->lock);
      client->queued -= MIN (charge, client->queued);
      g_mutex_unlock (&client->lock);
    }
}

static gboolean
wants_reply (GDBusMethodInvocation *invocation)
{
  GDBusMessage *call = g_dbus_method_invocation_get_message (invocation);

  return !(g_dbus_message_get_flags (call) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
}

void
jobd_dbus_client_return_value (GDBusMethodInvocation *invocation,
                               GVariant *parameters,
                               GUnixFDList *fd_list)
{
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  g_autoptr(GDBusMessage) reply = NULL;

  if (jobd_dbus_client_get (connection) == NULL)
    {
      g_dbus_method_invocation_return_value_with_unix_fd_list (invocation, parameters, fd_list);
      return;
    }
  if (parameters == NULL)
    parameters = g_variant_new_tuple (NULL, 0);
  g_variant_ref_sink (parameters);
  if (wants_reply (invocation))
    {
      reply = g_dbus_message_new_method_reply (g_dbus_method_invocation_get_message (invocation));
      g_dbus_message_set_body (reply, parameters);
      if (fd_list != NULL)
        g_dbus_message_set_unix_fd_list (reply, fd_list);
      jobd_dbus_client_send (connection, reply);
    }
  g_variant_unref (parameters);
  g_object_unref (invocation);
}

void
jobd_dbus_client_return_gerror (GDBusMethodInvocation *invocation, const GError *error)
{
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  g_autoptr(GDBusMessage) reply = NULL;
  g_autofree char *name = NULL;

  if (jobd_dbus_client_get (connection) == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  if (wants_reply (invocation))
    {
      name = g_dbus_error_encode_gerror (error);
      reply = g_dbus_message_new_method_error_literal (g_dbus_method_invocation_get_message (invocation),
                                                       name, error->message);
      jobd_dbus_client_send (connection, reply);
    }
  g_object_unref (invocation);
}
