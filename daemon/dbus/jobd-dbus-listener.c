/* SPDX-License-Identifier: MIT */
/* jobd-dbus-listener.c — accept, cap, authenticate with a deadline. */
#include "config.h"

#include "jobd-dbus-listener.h"
#include "jobd-dbus-authstream.h"

#include <errno.h>
#include <sys/socket.h>
#include <glib/gstdio.h>

#define REFUSAL_LOG_INTERVAL_USEC (10 * G_USEC_PER_SEC)
/* What a client may send before it is authenticated: GDBus reads SASL lines
 * with no length limit, and an EXTERNAL exchange is a few hundred bytes
 * (plus what GDBus's line buffer may read ahead: 4 KiB). */
#define AUTH_BYTES_MAX (16 * 1024)

/* Live connections, authenticating or not; shared (refcounted) with every
 * connection, which may outlive the listener. Main thread only. */
typedef struct {
  GHashTable *per_uid;          /* uid → connections */
  guint total;
} Counts;

struct _JobdDBusListener {
  GSocketService *service;
  GDBusAuthObserver *observer;
  JobdConfig *config;
  char *guid;
  JobdDBusListenerFunc on_connection;
  gpointer user_data;
  Counts *counts;
  gint64 last_refusal_log;
  guint refusals_unlogged;
};

/* One connection from accept() until authentication ends. */
typedef struct {
  JobdDBusListener *listener;   /* NULL once the listener is gone */
  Counts *counts;
  guint uid;
  char *guid;
  GDBusAuthObserver *observer;
  GCancellable *cancellable;
  guint timeout_id;
  GSocketConnection *stream;
  GDBusConnection *connection;  /* set by the thread on success */
} Pending;

/* Live pendings, so freeing the listener can detach them. */
static GPtrArray *pendings;

static GQuark
pending_quark (void)
{
  return g_quark_from_static_string ("jobd-dbus-pending");
}

static void
counts_clear (gpointer data)
{
  Counts *counts = data;

  g_hash_table_unref (counts->per_uid);
}

static void
counts_release (Counts *counts)
{
  g_rc_box_release_full (counts, counts_clear);
}

static guint
count_of (Counts *counts, guint uid)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts->per_uid, GUINT_TO_POINTER (uid)));
}

static void
count_add (Counts *counts, guint uid, int delta)
{
  guint n = count_of (counts, uid) + delta;

  counts->total += delta;
  if (n == 0)
    g_hash_table_remove (counts->per_uid, GUINT_TO_POINTER (uid));
  else
    g_hash_table_insert (counts->per_uid, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n));
}

static void
log_refusal (JobdDBusListener *self, guint uid, const char *why)
{
  gint64 now = g_get_monotonic_time ();

  self->refusals_unlogged++;
  if (self->last_refusal_log != 0 && now - self->last_refusal_log < REFUSAL_LOG_INTERVAL_USEC)
    return;
  g_warning ("refused a D-Bus connection from uid %u: %s (%u refused since the last such message)",
             uid, why, self->refusals_unlogged);
  self->last_refusal_log = now;
  self->refusals_unlogged = 0;
}

typedef struct {
  Counts *counts;               /* NULL once released */
  guint uid;
} Release;

static void
release_done (Release *release)
{
  if (release->counts == NULL)
    return;
  count_add (release->counts, release->uid, -1);
  g_clear_pointer (&release->counts, counts_release);
}

static void
release_free (gpointer data, GClosure *closure)
{
  release_done (data);
  g_free (data);
}

static void
on_closed (GDBusConnection *connection, gboolean vanished, GError *error, gpointer user_data)
{
  release_done (user_data);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  Pending *pending = user_data;

  pending->timeout_id = 0;
  g_cancellable_cancel (pending->cancellable);
  return G_SOURCE_REMOVE;
}

static void
pending_free (Pending *pending)
{
  g_clear_handle_id (&pending->timeout_id, g_source_remove);
  g_clear_object (&pending->cancellable);
  g_clear_object (&pending->stream);
  g_clear_object (&pending->connection);
  g_clear_object (&pending->observer);
  g_free (pending->guid);
  counts_release (pending->counts);
  g_ptr_array_remove_fast (pendings, pending);
  g_free (pending);
}

/* Main thread: authentication is over, one way or the other. */
static gboolean
on_auth_done (gpointer user_data)
{
  Pending *pending = user_data;
  JobdDBusListener *self = pending->listener;
  GDBusConnection *connection = pending->connection;

  if (self == NULL || connection == NULL || g_dbus_connection_is_closed (connection))
    {
      if (connection != NULL)
        g_dbus_connection_close (connection, NULL, NULL, NULL);
      count_add (pending->counts, pending->uid, -1);
    }
  else
    {
      Release *release = g_new0 (Release, 1);
      GSocket *socket = g_socket_connection_get_socket (pending->stream);

      release->counts = g_rc_box_acquire (pending->counts);
      release->uid = pending->uid;
      g_signal_connect_data (connection, "closed", G_CALLBACK (on_closed), release,
                             release_free, 0);
      self->on_connection (connection, socket, pending->uid, self->user_data);
      g_dbus_connection_start_message_processing (connection);
    }
  pending_free (pending);
  return G_SOURCE_REMOVE;
}

/* A thread of the service: the blocking SASL exchange. */
static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *stream, GObject *source,
        gpointer user_data)
{
  Pending *pending = g_object_get_qdata (G_OBJECT (stream), pending_quark ());
  g_autoptr(GError) error = NULL;
  /* The same socket, read through a bound until authenticated. */
  g_autoptr(GIOStream) bounded =
    jobd_dbus_auth_connection_new (g_socket_connection_get_socket (stream), AUTH_BYTES_MAX);

  /* Only the pending's own fields here: the listener may go meanwhile. */
  pending->connection =
    g_dbus_connection_new_sync (bounded, pending->guid,
                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                                G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                pending->observer, pending->cancellable, &error);
  if (pending->connection == NULL)
    g_debug ("a D-Bus client did not authenticate: %s", error->message);
  else
    jobd_dbus_auth_connection_unbound (JOBD_DBUS_AUTH_CONNECTION (bounded));
  g_main_context_invoke (NULL, on_auth_done, pending);
  return TRUE;
}

/* Main thread, at accept(): the caps, before a thread is spent. */
static gboolean
on_incoming (GSocketService *service, GSocketConnection *stream, GObject *source,
             gpointer user_data)
{
  JobdDBusListener *self = user_data;
  GSocket *socket = g_socket_connection_get_socket (stream);
  g_autoptr(GCredentials) credentials = g_socket_get_credentials (socket, NULL);
  uid_t uid = credentials != NULL ? g_credentials_get_unix_user (credentials, NULL) : (uid_t) -1;
  guint mine;
  Pending *pending;

  if (uid == (uid_t) -1)
    {
      log_refusal (self, uid, "no peer credentials");
      return TRUE;   /* handled: the service drops the last reference, closing it */
    }
  mine = count_of (self->counts, uid);
  if (mine >= self->config->dbus_max_connections_per_user)
    {
      log_refusal (self, uid, "too many connections of this user ([DBus] MaxConnectionsPerUser)");
      return TRUE;
    }
  if (self->counts->total >= self->config->dbus_max_connections)
    {
      log_refusal (self, uid, "too many connections ([DBus] MaxConnections)");
      return TRUE;
    }
  count_add (self->counts, uid, +1);
  pending = g_new0 (Pending, 1);
  pending->listener = self;
  pending->counts = g_rc_box_acquire (self->counts);
  pending->uid = uid;
  pending->guid = g_strdup (self->guid);
  pending->observer = g_object_ref (self->observer);
  pending->cancellable = g_cancellable_new ();
  pending->stream = g_object_ref (stream);
  pending->timeout_id = g_timeout_add_seconds (self->config->dbus_auth_timeout_sec,
                                               on_auth_timeout, pending);
  g_ptr_array_add (pendings, pending);
  g_object_set_qdata (G_OBJECT (stream), pending_quark (), pending);
  return FALSE;   /* on to the threaded service's own handler: on_run */
}

static gboolean
on_allow_mechanism (GDBusAuthObserver *observer, const char *mechanism, gpointer user_data)
{
  /* Only EXTERNAL tells us the caller's uid, which authorization needs. */
  return g_strcmp0 (mechanism, "EXTERNAL") == 0;
}

JobdDBusListener *
jobd_dbus_listener_new (const char *socket_path,
                        JobdConfig *config,
                        JobdDBusListenerFunc on_connection,
                        gpointer user_data,
                        GError **error)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (socket_path);
  JobdDBusListener *self;

  if (pendings == NULL)
    pendings = g_ptr_array_new ();
  self = g_new0 (JobdDBusListener, 1);
  self->config = config;
  self->on_connection = on_connection;
  self->user_data = user_data;
  self->guid = g_dbus_generate_guid ();
  self->counts = g_rc_box_new0 (Counts);
  self->counts->per_uid = g_hash_table_new (NULL, NULL);
  self->observer = g_dbus_auth_observer_new ();
  g_signal_connect (self->observer, "allow-mechanism", G_CALLBACK (on_allow_mechanism), NULL);
  /* A thread per connection while it authenticates: the caps bound them. */
  self->service = g_threaded_socket_service_new (-1);
  /* GLib's default backlog of 10 refuses bursts of clients (jobctl calls
   * from a script); refusals are ours to make, after accept(). */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), SOMAXCONN);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, error))
    {
      jobd_dbus_listener_free (self);
      return NULL;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_signal_connect (self->service, "run", G_CALLBACK (on_run), self);
  g_socket_service_start (self->service);
  /* Any local user may connect; the method table decides what they may do. */
  if (g_chmod (socket_path, 0666) < 0)
    g_warning ("cannot open %s to other users: %s", socket_path, g_strerror (errno));
  return self;
}

void
jobd_dbus_listener_free (JobdDBusListener *self)
{
  if (self == NULL)
    return;
  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_signal_handlers_disconnect_by_data (self->service, self);
  for (guint i = 0; pendings != NULL && i < pendings->len; i++)
    {
      Pending *pending = pendings->pdata[i];

      if (pending->listener == self)
        {
          pending->listener = NULL;
          g_cancellable_cancel (pending->cancellable);
        }
    }
  g_clear_object (&self->service);
  g_clear_object (&self->observer);
  counts_release (self->counts);
  g_free (self->guid);
  g_free (self);
}
