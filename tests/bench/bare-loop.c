/* SPDX-License-Identifier: MIT */
/* bare-loop.c — the memory floor for the idle-jobd figure.
 *
 * A process linking what jobd links (GIO, json-glib, libsystemd), touching
 * each library once so none is dropped by --as-needed, and idling in a GLib
 * main loop until SIGTERM. Its PSS and private dirty memory are what any
 * daemon built on these libraries pays before doing anything.
 */
#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

static gboolean
on_sigterm (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (void)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_NULL);
  g_autoptr(GSocketService) service G_GNUC_UNUSED = g_socket_service_new ();   /* GIO networking in the floor */

  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  printf ("ready booted=%d null=%d\n", sd_booted (), json_node_is_null (node));
  fflush (stdout);
  g_main_loop_run (loop);
  return 0;
}
