/* SPDX-License-Identifier: MIT */
/* [DBus] in jobd.conf: the bounds of the private socket's clients. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "jobd-config.h"

static char *
write_conf (const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("jobd-dbus-limits-XXXXXX.conf", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_defaults (void)
{
  g_autoptr(JobdConfig) config = jobd_config_new ();

  g_assert_cmpuint (config->dbus_max_queued_bytes, ==, 8 * 1024 * 1024);
  g_assert_cmpuint (config->dbus_max_connections_per_user, ==, 64);
  g_assert_cmpuint (config->dbus_max_connections, ==, 1024);
  g_assert_cmpuint (config->dbus_auth_timeout_sec, ==, 5);
}

static void
test_read (void)
{
  g_autoptr(JobdConfig) config = jobd_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_conf ("[DBus]\nMaxQueuedBytes=1048576\nMaxConnectionsPerUser=8\n"
                                      "MaxConnections=100\nAuthTimeoutSec=2\n");

  g_assert_true (jobd_config_load (config, path, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config->dbus_max_queued_bytes, ==, 1048576);
  g_assert_cmpuint (config->dbus_max_connections_per_user, ==, 8);
  g_assert_cmpuint (config->dbus_max_connections, ==, 100);
  g_assert_cmpuint (config->dbus_auth_timeout_sec, ==, 2);
  g_unlink (path);
}

static void
test_refused (void)
{
  const char *bad[] = {
    "[DBus]\nMaxQueuedBytes=0\n",           /* no room for one signal */
    "[DBus]\nMaxQueuedBytes=-5\n",
    "[DBus]\nMaxQueuedBytes=lots\n",
    "[DBus]\nMaxConnectionsPerUser=0\n",    /* nobody could connect */
    "[DBus]\nMaxConnections=0\n",
    "[DBus]\nAuthTimeoutSec=0\n",
    "[DBus]\nAuthTimeoutSec=86400\n",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JobdConfig) config = jobd_config_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *path = write_conf (bad[i]);

      g_assert_false (jobd_config_load (config, path, TRUE, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "[DBus]"));
      /* Nothing half-applied. */
      g_assert_cmpuint (config->dbus_max_queued_bytes, ==, 8 * 1024 * 1024);
      g_assert_cmpuint (config->dbus_auth_timeout_sec, ==, 5);
      g_unlink (path);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dbus-limits/defaults", test_defaults);
  g_test_add_func ("/dbus-limits/read", test_read);
  g_test_add_func ("/dbus-limits/refused", test_refused);
  return g_test_run ();
}
