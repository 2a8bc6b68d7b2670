/* SPDX-License-Identifier: MIT */
/* jobctl-connect.c — finding jobd.
 *
 * An address given with --address (or $JOBD_ADDRESS) is jobd's private
 * peer-to-peer socket, unless --bus says it is a message bus. Without one,
 * jobctl looks where jobd listens, in this order: the system bus and the
 * session bus (where org.jobd1 has an owner), then the private socket in
 * the runtime directory, the way systemctl falls back to systemd's private
 * socket. On a bus the owner's unique name goes to the proxy, so the proxy
 * makes no call of its own and `jobctl status` costs one round trip after
 * the lookup.
 *
 * With -H (or $JOBD_HOST) jobd is on another host, reached over ssh
 * (jobctl-remote.c); --address (or $JOBD_REMOTE_ADDRESS) then names the
 * address on that host, and $JOBD_ADDRESS, a local address, is not used.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "jobctl.h"
#include "jobctl-remote.h"
#include "jobd-names.h"

static GVariant *
call_bus_driver (GDBusConnection *connection, const char *method, GVariant *parameters,
                 const char *reply_type, GError **error)
{
  return g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", method, parameters,
                                      G_VARIANT_TYPE (reply_type),
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

/* The unique name that owns org.jobd1 on a bus, or NULL (error set).
 * When nobody owns it but the bus can activate jobd (org.jobd1.service,
 * SystemdService=jobd.service), it is started first, as any call to the
 * name would. */
static char *
lookup_owner (GDBusConnection *connection, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) started = NULL;
  g_autoptr(GError) local_error = NULL;
  char *owner = NULL;

  reply = call_bus_driver (connection, "GetNameOwner", g_variant_new ("(s)", JOBD_DBUS_NAME),
                           "(s)", &local_error);
  if (reply == NULL)
    {
      started = call_bus_driver (connection, "StartServiceByName",
                                 g_variant_new ("(su)", JOBD_DBUS_NAME, 0), "(u)", NULL);
      if (started == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      reply = call_bus_driver (connection, "GetNameOwner", g_variant_new ("(s)", JOBD_DBUS_NAME),
                               "(s)", error);
      if (reply == NULL)
        return NULL;
    }
  g_variant_get (reply, "(s)", &owner);
  return owner;
}

/* Keeps connection (and the owner, on a bus) when jobd is there. */
static gboolean
use_connection (Jobctl *jobctl, GDBusConnection *connection, gboolean bus,
                GError **error)
{
  g_autofree char *owner = NULL;

  if (bus)
    {
      owner = lookup_owner (connection, error);
      if (owner == NULL)
        return FALSE;
    }
  g_set_object (&jobctl->connection, connection);
  jobctl->bus_name = g_steal_pointer (&owner);
  return TRUE;
}

static gboolean
try_address (Jobctl *jobctl, const char *address, gboolean bus, GError **error)
{
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT;
  g_autoptr(GDBusConnection) connection = NULL;

  if (bus)
    flags |= G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;
  connection = g_dbus_connection_new_for_address_sync (address, flags, NULL,
                                                       NULL, error);
  return connection != NULL && use_connection (jobctl, connection, bus, error);
}

static gboolean
try_bus (Jobctl *jobctl, GBusType type)
{
  g_autoptr(GDBusConnection) connection = g_bus_get_sync (type, NULL, NULL);

  return connection != NULL && use_connection (jobctl, connection, TRUE, NULL);
}

static char *
socket_address (const char *path)
{
  g_autofree char *escaped = g_dbus_address_escape_value (path);

  return g_strconcat ("unix:path=", escaped, NULL);
}

/* The private sockets to try, most specific first. */
static GPtrArray *
private_sockets (void)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_free);
  const char *runtime_dir = g_getenv ("XDG_RUNTIME_DIR");

  if (geteuid () != 0 && runtime_dir != NULL && *runtime_dir != '\0')
    {
      g_autofree char *path = g_build_filename (runtime_dir, JOBD_RUNTIME_SUBDIR, JOBD_SOCKET_NAME, NULL);

      g_ptr_array_add (addresses, socket_address (path));
    }
  g_ptr_array_add (addresses, socket_address (JOBD_SYSTEM_SOCKET));
  return addresses;
}

static gboolean
search (Jobctl *jobctl, GError **error)
{
  g_autoptr(GPtrArray) tried = g_ptr_array_new ();
  g_autoptr(GPtrArray) sockets = private_sockets ();
  g_autofree char *tried_text = NULL;

  g_ptr_array_add (tried, _("the system bus"));
  if (try_bus (jobctl, G_BUS_TYPE_SYSTEM))
    return TRUE;
  /* Only a bus that exists: autolaunching one would find no jobd on it. */
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
    {
      g_ptr_array_add (tried, _("the session bus"));
      if (try_bus (jobctl, G_BUS_TYPE_SESSION))
        return TRUE;
    }
  for (guint i = 0; i < sockets->len; i++)
    {
      g_ptr_array_add (tried, sockets->pdata[i]);
      if (try_address (jobctl, sockets->pdata[i], FALSE, NULL))
        return TRUE;
    }

  g_ptr_array_add (tried, NULL);
  tried_text = g_strjoinv (", ", (char **) tried->pdata);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("cannot reach jobd (tried %s). Start it with `jobd` "
                 "(or `systemctl start jobd`)."), tried_text);
  return FALSE;
}

static gboolean
connect_explicit (Jobctl *jobctl, const char *address, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (try_address (jobctl, address, jobctl->bus, &local_error))
    return TRUE;
  g_dbus_error_strip_remote_error (local_error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("cannot reach jobd (tried %s: %s). Start it with `jobd` "
                 "(or `systemctl start jobd`)."), address, local_error->message);
  return FALSE;
}

static gboolean
connect_remote (Jobctl *jobctl, const char *host, GError **error)
{
  const char *address = jobctl->address;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) local_error = NULL;

  if (address == NULL)
    address = g_getenv ("JOBD_REMOTE_ADDRESS");
  connection = jobctl_remote_connect (host, address, jobctl->bus, error);
  if (connection == NULL)
    return FALSE;
  if (use_connection (jobctl, connection, jobctl->bus, &local_error))
    return TRUE;
  g_dbus_error_strip_remote_error (local_error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("jobd is not on the bus on %s: %s"), host, local_error->message);
  return FALSE;
}

/* -H, else $JOBD_HOST; empty means this host. */
static const char *
remote_host (Jobctl *jobctl)
{
  const char *host = jobctl->host != NULL ? jobctl->host : g_getenv ("JOBD_HOST");

  return host != NULL && *host != '\0' ? host : NULL;
}

static gboolean
connect_local (Jobctl *jobctl, GError **error)
{
  const char *address = jobctl->address;

  if (address == NULL)
    address = g_getenv ("JOBD_ADDRESS");
  if (address == NULL && jobctl->bus)
    {
      jobctl_set_usage_error (error, _("--bus needs --address or $JOBD_ADDRESS"));
      return FALSE;
    }
  return address != NULL ? connect_explicit (jobctl, address, error)
                         : search (jobctl, error);
}

gboolean
jobctl_connect (Jobctl *jobctl, GError **error)
{
  const char *host = remote_host (jobctl);

  if (jobctl->manager != NULL)
    return TRUE;
  if (host != NULL ? !connect_remote (jobctl, host, error)
                   : !connect_local (jobctl, error))
    return FALSE;

  jobctl->manager =
    jobd_dbus_manager_proxy_new_sync (jobctl->connection,
                                      G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                      | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS
                                      | G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                      jobctl->bus_name, JOBD_DBUS_PATH,
                                      NULL, error);
  return jobctl->manager != NULL;
}
