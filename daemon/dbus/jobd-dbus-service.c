/* SPDX-License-Identifier: MIT */
/* jobd-dbus-service.c — JobdDBusService: made, wired, torn down.
 *
 * The object's code is split by concern (see jobd-dbus-service-private.h);
 * this file only builds the Manager skeleton, has the access table bound to
 * it (refusing to exist if the table and the interface XML disagree) and
 * connects the manager's signals.
 */
#include "config.h"

#include "jobd-dbus-access.h"
#include "jobd-dbus-service-private.h"

G_DEFINE_FINAL_TYPE (JobdDBusService, jobd_dbus_service, G_TYPE_OBJECT)

gboolean
jobd_dbus_service_check_access_table (GError **error)
{
  gsize n_rows = 0;
  const JobdDBusAccessRow *rows = jobd_dbus_access_table (&n_rows);

  return jobd_dbus_access_table_check (rows, n_rows, jobd_dbus_access_interfaces (), error);
}

JobdDBusService *
jobd_dbus_service_new (JobdManager *manager, GError **error)
{
  g_autoptr(JobdDBusService) self = g_object_new (JOBD_TYPE_DBUS_SERVICE, NULL);

  self->manager = g_object_ref (manager);
  self->skeleton = jobd_dbus_manager_skeleton_new ();
  jobd_dbus_manager_set_version (self->skeleton, PACKAGE_VERSION);
  jobd_dbus_manager_set_backend (self->skeleton, jobd_manager_get_backend_name (manager));

  if (!jobd_dbus_access_bind (self, error))
    return NULL;
  jobd_dbus_jobs_connect_manager (self);
  return g_steal_pointer (&self);
}

static void
jobd_dbus_service_dispose (GObject *object)
{
  JobdDBusService *self = JOBD_DBUS_SERVICE (object);

  if (self->connections != NULL)
    jobd_dbus_service_stop (self);
  jobd_dbus_access_unbind (self);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->manager);
  G_OBJECT_CLASS (jobd_dbus_service_parent_class)->dispose (object);
}

static void
jobd_dbus_service_finalize (GObject *object)
{
  JobdDBusService *self = JOBD_DBUS_SERVICE (object);

  g_ptr_array_unref (self->connections);
  g_hash_table_unref (self->subtree_ids);
  g_hash_table_unref (self->bus_uid_cache);
  g_hash_table_unref (self->log_reads);
  g_free (self->socket_path);
  G_OBJECT_CLASS (jobd_dbus_service_parent_class)->finalize (object);
}

static void
jobd_dbus_service_class_init (JobdDBusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jobd_dbus_service_dispose;
  object_class->finalize = jobd_dbus_service_finalize;
}

static void
jobd_dbus_service_init (JobdDBusService *self)
{
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->subtree_ids = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->bus_uid_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->log_reads = g_hash_table_new (g_direct_hash, g_direct_equal);
}
