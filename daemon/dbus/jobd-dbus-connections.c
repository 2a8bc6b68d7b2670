/* SPDX-License-Identifier: MIT */
/* jobd-dbus-connections.c — the connections jobd serves, and the bus name.
 *
 * Every connection (each peer of the private socket, and the bus in
 * --system/--user) gets the Manager skeleton and the job subtree exported
 * on it, and is remembered so signals reach it. On a bus, everything is
 * exported before the name is requested, so no caller sees half an API;
 * owning the name is retried for a while (a bus reloading its policy, a
 * jobd we replace still letting go). At exit, what was sent is flushed,
 * with a bound on peers that do not read.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <errno.h>

#include "jobd-dbus-client.h"
#include "jobd-dbus-peer.h"
#include "jobd-dbus-service-private.h"

/* Owning the bus name: attempts before giving up, and the pause between. */
#define NAME_OWN_ATTEMPTS 20
#define NAME_OWN_RETRY_MSEC 250

static gboolean
export_on (JobdDBusService *self, GDBusConnection *connection, GError **error)
{
  guint subtree_id;

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                         connection, JOBD_DBUS_PATH, error))
    return FALSE;
  subtree_id = jobd_dbus_jobs_register_on (self, connection, error);
  if (subtree_id == 0)
    {
      g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                                          connection);
      return FALSE;
    }
  g_hash_table_insert (self->subtree_ids, g_object_ref (connection), GUINT_TO_POINTER (subtree_id));
  g_ptr_array_add (self->connections, g_object_ref (connection));
  return TRUE;
}

static void
unexport_from (JobdDBusService *self, GDBusConnection *connection)
{
  guint subtree_id = GPOINTER_TO_UINT (g_hash_table_lookup (self->subtree_ids, connection));

  if (subtree_id == 0)
    return;
  g_dbus_connection_unregister_subtree (connection, subtree_id);
  g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                                      connection);
  g_hash_table_remove (self->subtree_ids, connection);
  g_ptr_array_remove (self->connections, connection);
}

static void
on_peer_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
                gpointer user_data)
{
  unexport_from (user_data, connection);
}

static void
on_new_connection (GDBusConnection *connection, GSocket *socket, guint uid, gpointer user_data)
{
  JobdDBusService *self = user_data;
  JobdConfig *config = jobd_manager_get_config (self->manager);
  g_autoptr(GError) error = NULL;

  jobd_dbus_client_attach (connection, socket, uid, config->dbus_max_queued_bytes);
  if (!export_on (self, connection, &error) ||
      jobd_dbus_peer_register_bus_driver (connection, &error) == 0)
    {
      g_warning ("cannot serve a new client: %s", error->message);
      unexport_from (self, connection);
      g_dbus_connection_close (connection, NULL, NULL, NULL);
      return;
    }
  g_signal_connect_object (connection, "closed", G_CALLBACK (on_peer_closed), self, 0);
}

gboolean
jobd_dbus_service_listen_private (JobdDBusService *self,
                                  const char *socket_path,
                                  GError **error)
{
  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);

  /* A socket file left by a jobd that died; we hold the runtime dir. */
  if (g_unlink (socket_path) < 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot remove stale socket %s: %s", socket_path, g_strerror (saved));
      return FALSE;
    }
  self->listener = jobd_dbus_listener_new (socket_path, jobd_manager_get_config (self->manager),
                                           on_new_connection, self, error);
  if (self->listener == NULL)
    return FALSE;
  self->socket_path = g_strdup (socket_path);
  g_message ("listening on %s", address);
  return TRUE;
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;
  g_autoptr(GError) error = NULL;

  /* Export everything before the name is ours, so no caller sees a half API. */
  if (!export_on (self, connection, &error))
    g_warning ("cannot export the API on the bus: %s", error->message);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;

  self->name_owned = TRUE;
  g_message ("owning %s on the bus", name);
  if (self->on_name_acquired != NULL)
    self->on_name_acquired (self->on_name_data);
}

static void on_own_retry (gpointer user_data);

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;

  if (connection != NULL)
    unexport_from (self, connection);

  /* Not owned yet: the bus may still be loading a new policy, or the jobd
   * we replace may still be letting go. Try again for a while. */
  if (!self->name_owned && connection != NULL && self->own_attempts < NAME_OWN_ATTEMPTS)
    {
      g_debug ("cannot own %s yet; trying again", name);
      g_clear_handle_id (&self->own_name_id, g_bus_unown_name);
      self->own_retry_id = g_timeout_add_once (NAME_OWN_RETRY_MSEC, on_own_retry, self);
      return;
    }

  g_warning ("cannot own %s on the bus (another jobd running, or not allowed by the bus policy)",
             name);
  if (self->on_name_lost != NULL)
    self->on_name_lost (self->on_name_data);
}

static void
request_name (JobdDBusService *self)
{
  self->own_attempts++;
  self->own_name_id = g_bus_own_name (self->bus_type, JOBD_DBUS_NAME,
                                      G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                      on_bus_acquired, on_name_acquired, on_name_lost,
                                      self, NULL);
}

static void
on_own_retry (gpointer user_data)
{
  JobdDBusService *self = user_data;

  self->own_retry_id = 0;
  request_name (self);
}

void
jobd_dbus_service_own_name (JobdDBusService *self,
                            GBusType bus_type,
                            JobdDBusNameFunc on_acquired,
                            JobdDBusNameFunc on_lost,
                            gpointer user_data)
{
  self->on_name_acquired = on_acquired;
  self->on_name_lost = on_lost;
  self->on_name_data = user_data;
  self->bus_type = bus_type;
  request_name (self);
}


/* What jobd sent before exiting reaches the clients that read; one that
 * does not must not hold jobd's exit (a flush waits for the queue to be
 * written): after FLUSH_MSEC the peers still behind are cut off, which
 * fails their stuck writes and ends the flush. */
#define FLUSH_MSEC 1000

typedef struct {
  GPtrArray *connections;
  GMutex lock;
  GCond cond;
  gboolean done;
} Flusher;

static gpointer
flush_thread (gpointer data)
{
  Flusher *flusher = data;

  for (guint i = 0; i < flusher->connections->len; i++)
    g_dbus_connection_flush_sync (flusher->connections->pdata[i], NULL, NULL);
  g_mutex_lock (&flusher->lock);
  flusher->done = TRUE;
  g_cond_signal (&flusher->cond);
  g_mutex_unlock (&flusher->lock);
  return NULL;
}

static void
flush_all (GPtrArray *connections)
{
  Flusher flusher = { .connections = connections };
  gint64 deadline = g_get_monotonic_time () + FLUSH_MSEC * G_TIME_SPAN_MILLISECOND;
  GThread *thread;
  gboolean done;

  g_mutex_init (&flusher.lock);
  g_cond_init (&flusher.cond);
  thread = g_thread_new ("jobd-flush", flush_thread, &flusher);
  g_mutex_lock (&flusher.lock);
  while (!flusher.done && g_cond_wait_until (&flusher.cond, &flusher.lock, deadline))
    ;
  done = flusher.done;
  g_mutex_unlock (&flusher.lock);
  for (guint i = 0; !done && i < connections->len; i++)
    {
      JobdDBusClient *client = jobd_dbus_client_get (connections->pdata[i]);

      if (client != NULL)
        jobd_dbus_client_cut_off (client, "jobd is exiting and it does not read");
    }
  g_thread_join (thread);
  g_mutex_clear (&flusher.lock);
  g_cond_clear (&flusher.cond);
}

void
jobd_dbus_service_stop (JobdDBusService *self)
{
  g_clear_handle_id (&self->own_name_id, g_bus_unown_name);
  g_clear_handle_id (&self->own_retry_id, g_source_remove);
  if (self->listener != NULL)
    {
      g_clear_pointer (&self->listener, jobd_dbus_listener_free);
      if (self->socket_path != NULL)
        g_unlink (self->socket_path);
    }
  if (self->connections->len > 0)
    {
      g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < self->connections->len; i++)
        g_ptr_array_add (connections, g_object_ref (self->connections->pdata[i]));
      for (guint i = 0; i < connections->len; i++)
        unexport_from (self, connections->pdata[i]);
      flush_all (connections);
    }
}
