/* SPDX-License-Identifier: MIT */
/* test-notify.c — the sd_notify message parser and the notify socket's
 * bounds (size, rate), with real datagrams on a real socket. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-notify.h"

static void
test_parse (void)
{
  static const char text[] = "READY=1\nSTATUS=serving 3 clients\nMAINPID=4242\n"
                             "EXTEND_TIMEOUT_USEC=5000000\nWATCHDOG=1\nRELOADING=1\n"
                             "MONOTONIC_USEC=123\nBOGUS=7\nnot an assignment\nWATCHDOG_USEC=250000";
  JobdNotifyMessage m;

  g_assert_true (jobd_notify_message_parse (text, strlen (text), &m));
  g_assert_true (m.ready);
  g_assert_true (m.watchdog);
  g_assert_true (m.reloading);
  g_assert_false (m.stopping);
  g_assert_false (m.watchdog_trigger);
  g_assert_cmpstr (m.status, ==, "serving 3 clients");
  g_assert_cmpint (m.main_pid, ==, 4242);
  g_assert_cmpuint (m.extend_timeout_usec, ==, 5000000);
  g_assert_cmpuint (m.monotonic_usec, ==, 123);
  g_assert_cmpuint (m.watchdog_usec, ==, 250000);
  jobd_notify_message_clear (&m);
}

static void
test_parse_odd (void)
{
  JobdNotifyMessage m;

  /* READY=0, a bad PID, invalid UTF-8 in STATUS, WATCHDOG=trigger. */
  static const char text[] = "READY=0\nMAINPID=-3\nSTATUS=caf\xc3\nWATCHDOG=trigger\nSTOPPING=1";
  g_assert_true (jobd_notify_message_parse (text, strlen (text), &m));
  g_assert_false (m.ready);
  g_assert_cmpint (m.main_pid, ==, 0);
  g_assert_true (g_utf8_validate (m.status, -1, NULL));
  g_assert_true (g_str_has_prefix (m.status, "caf"));
  g_assert_true (m.watchdog_trigger);
  g_assert_true (m.stopping);
  jobd_notify_message_clear (&m);

  g_assert_false (jobd_notify_message_parse ("", 0, &m));
  g_assert_false (jobd_notify_message_parse ("READY=1\0X", 9, &m));
}

typedef struct {
  guint count;
  gboolean ready;
  GPid pid;
} Seen;

static void
on_message (const JobdNotifyMessage *m, GPid pid, uid_t uid, gpointer user_data)
{
  Seen *seen = user_data;

  seen->count++;
  seen->ready = seen->ready || m->ready;
  seen->pid = pid;
}

static void
pump (void)
{
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* Never blocks on a full receive queue (max_dgram_qlen may be small):
 * the main loop reads, then it tries again (bounded). */
static void
send_to (const char *path, const void *data, gsize len)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  strcpy (addr.sun_path, path);
  for (guint attempt = 0; attempt < 1000; attempt++)
    {
      if (sendto (fd, data, len, MSG_DONTWAIT, (struct sockaddr *) &addr, sizeof addr) >= 0 ||
          errno != EAGAIN)
        break;   /* sent, or refused (a message above the kernel's limit): fine */
      pump ();
    }
  close (fd);
}

static void
test_socket_bounds (void)
{
  g_autofree char *dir = g_dir_make_tmp ("jobd-notify-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "job", NULL);
  g_autofree char *big = g_malloc (JOBD_NOTIFY_MESSAGE_MAX + 100);
  g_autoptr(GError) error = NULL;
  Seen seen = { 0 };
  JobdNotifySocket *socket = jobd_notify_socket_new (path, on_message, &seen, &error);

  g_assert_no_error (error);
  g_assert_nonnull (socket);

  /* Paused: nothing is read, the message waits. */
  jobd_notify_socket_set_paused (socket, TRUE);
  send_to (path, "READY=1", 7);
  pump ();
  g_assert_cmpuint (seen.count, ==, 0);
  jobd_notify_socket_set_paused (socket, FALSE);
  pump ();
  g_assert_cmpuint (seen.count, ==, 1);
  g_assert_true (seen.ready);
  g_assert_cmpint (seen.pid, ==, getpid ());

  /* Too large: dropped, counted. */
  memset (big, 'x', JOBD_NOTIFY_MESSAGE_MAX + 100);
  memcpy (big, "STATUS=", 7);
  send_to (path, big, JOBD_NOTIFY_MESSAGE_MAX + 100);
  pump ();
  g_assert_cmpuint (seen.count, ==, 1);
  g_assert_cmpuint (jobd_notify_socket_get_dropped (socket), ==, 1);

  /* More than the rate in one second: the rest is dropped. */
  for (guint i = 0; i < JOBD_NOTIFY_RATE_PER_SECOND + 50; i++)
    {
      send_to (path, "WATCHDOG=1", 10);
      if (i % 8 == 0)
        pump ();
    }
  for (guint i = 0; i < 100; i++)
    pump ();
  g_assert_cmpuint (seen.count, <=, JOBD_NOTIFY_RATE_PER_SECOND);
  g_assert_cmpuint (jobd_notify_socket_get_dropped (socket), >=, 51);

  jobd_notify_socket_free (socket);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify/parse", test_parse);
  g_test_add_func ("/notify/parse-odd", test_parse_odd);
  g_test_add_func ("/notify/socket-bounds", test_socket_bounds);
  return g_test_run ();
}
