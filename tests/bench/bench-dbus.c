/* SPDX-License-Identifier: MIT */
/* bench-dbus.c — the D-Bus connection every D-Bus bench client opens. */
#include "bench-dbus.h"

GDBusConnection *
bench_dbus_connect (const char *program, const char *address)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *conn;

  conn = g_dbus_connection_new_for_address_sync (address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                 NULL, NULL, &error);
  if (conn == NULL)
    g_printerr ("%s: cannot connect to %s: %s\n", program, address, error->message);
  return conn;
}
