/* SPDX-License-Identifier: MIT */
/* jobd-dbus-peer.c — a minimal org.freedesktop.DBus for peer connections. */
#include "config.h"

#include "jobd-dbus-peer.h"

#include "jobd-dbus-client.h"
#include "jobd-dbus-service.h"

#define JOBD_PEER_UNIQUE_NAME ":1.0"

static const char bus_driver_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.DBus'>"
  "    <method name='Hello'><arg type='s' direction='out'/></method>"
  "    <method name='AddMatch'><arg type='s' direction='in'/></method>"
  "    <method name='RemoveMatch'><arg type='s' direction='in'/></method>"
  "    <method name='GetNameOwner'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
  "    <method name='NameHasOwner'><arg type='s' direction='in'/><arg type='b' direction='out'/></method>"
  "    <method name='ListNames'><arg type='as' direction='out'/></method>"
  "    <method name='GetId'><arg type='s' direction='out'/></method>"
  "  </interface>"
  "</node>";

static gboolean
is_our_name (const char *name)
{
  return g_str_equal (name, JOBD_DBUS_NAME) || g_str_equal (name, "org.freedesktop.DBus") ||
         g_str_equal (name, JOBD_PEER_UNIQUE_NAME);
}

static void
bus_driver_method_call (GDBusConnection *connection,
                        const char *sender,
                        const char *object_path,
                        const char *interface_name,
                        const char *method_name,
                        GVariant *parameters,
                        GDBusMethodInvocation *invocation,
                        gpointer user_data)
{
  const char *name = NULL;

  if (g_str_equal (method_name, "Hello"))
    {
      /* Every peer is alone on its connection: one name fits all. */
      g_autofree char *unique = g_strdup_printf (":1.%u", g_random_int_range (1, G_MAXINT));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", unique));
    }
  else if (g_str_equal (method_name, "AddMatch"))
    {
      /* Signals go only to peers that asked for them (jobd-dbus-client.h). */
      JobdDBusClient *client = jobd_dbus_client_get (connection);

      if (client != NULL && !jobd_dbus_client_add_match (client))
        g_dbus_method_invocation_return_dbus_error (invocation,
                                                    "org.freedesktop.DBus.Error.LimitsExceeded",
                                                    "too many match rules");
      else
        g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "RemoveMatch"))
    {
      JobdDBusClient *client = jobd_dbus_client_get (connection);

      if (client != NULL && !jobd_dbus_client_remove_match (client))
        g_dbus_method_invocation_return_dbus_error (invocation,
                                                    "org.freedesktop.DBus.Error.MatchRuleNotFound",
                                                    "no match rule to remove");
      else
        g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "GetNameOwner"))
    {
      g_variant_get (parameters, "(&s)", &name);
      if (is_our_name (name))
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", JOBD_PEER_UNIQUE_NAME));
      else
        g_dbus_method_invocation_return_dbus_error (invocation,
                                                    "org.freedesktop.DBus.Error.NameHasNoOwner",
                                                    "only org.jobd1 is here");
    }
  else if (g_str_equal (method_name, "NameHasOwner"))
    {
      g_variant_get (parameters, "(&s)", &name);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", is_our_name (name)));
    }
  else if (g_str_equal (method_name, "ListNames"))
    {
      const char *names[] = { "org.freedesktop.DBus", JOBD_DBUS_NAME, NULL };
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", names));
    }
  else if (g_str_equal (method_name, "GetId"))
    {
      g_autofree char *guid = g_dbus_generate_guid ();
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", guid));
    }
}

static const GDBusInterfaceVTable bus_driver_vtable = {
  .method_call = bus_driver_method_call,
};

guint
jobd_dbus_peer_register_bus_driver (GDBusConnection *connection, GError **error)
{
  static GDBusNodeInfo *node_info;

  if (g_once_init_enter (&node_info))
    g_once_init_leave (&node_info, g_dbus_node_info_new_for_xml (bus_driver_xml, NULL));
  return g_dbus_connection_register_object (connection, "/org/freedesktop/DBus",
                                            node_info->interfaces[0], &bus_driver_vtable,
                                            NULL, NULL, error);
}
