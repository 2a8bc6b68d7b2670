/* SPDX-License-Identifier: MIT */
/* status-client.c — the bare D-Bus client `jobctl status NAME` is measured
 * against: connect to $JOBD_ADDRESS (jobd's private socket), one Status
 * call, print the state; exit 0 when up, 3 otherwise (as jobctl does).
 * GIO and nothing else: no option parsing, no locale, no proxy. */
#include <gio/gio.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *address = g_getenv ("JOBD_ADDRESS");
  const char *state = NULL;

  if (argc != 2 || address == NULL)
    {
      fprintf (stderr, "usage: JOBD_ADDRESS=ADDRESS status-client NAME\n");
      return 2;
    }
  connection = g_dbus_connection_new_for_address_sync (
      address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &error);
  if (connection != NULL)
    reply = g_dbus_connection_call_sync (connection, NULL, "/org/jobd1", "org.jobd1.Manager",
                                         "Status", g_variant_new ("(s)", argv[1]),
                                         G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                         NULL, &error);
  if (reply == NULL)
    {
      fprintf (stderr, "status-client: %s\n", error->message);
      return 1;
    }
  g_variant_get (reply, "(&s)", &state);
  printf ("%s\n", state);
  return g_str_equal (state, "up") ? 0 : 3;
}
