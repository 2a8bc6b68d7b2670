/* SPDX-License-Identifier: MIT */
/* test-legacy-peer.c — the uid of a legacy connection's local peer
 * (daemon/legacy/jobd-legacy-peer.c), over real loopback TCP connections. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "jobd-legacy-peer.h"

/* A connected pair over loopback: *server is the accepted end. FALSE when
 * the family is not available here (IPv6 disabled). */
static gboolean
loopback_pair (int family, int *client, int *server)
{
  struct sockaddr_storage addr = { 0 };
  socklen_t len = family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
  int listener = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (listener < 0)
    return FALSE;
  addr.ss_family = family;
  if (family == AF_INET)
    ((struct sockaddr_in *) &addr)->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  else
    ((struct sockaddr_in6 *) &addr)->sin6_addr = in6addr_loopback;
  if (bind (listener, (struct sockaddr *) &addr, len) < 0)
    {
      close (listener);
      return FALSE;
    }
  g_assert_no_errno (listen (listener, 1));
  g_assert_no_errno (getsockname (listener, (struct sockaddr *) &addr, &len));
  *client = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (*client, >=, 0);
  g_assert_no_errno (connect (*client, (struct sockaddr *) &addr, len));
  *server = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (*server, >=, 0);
  close (listener);
  return TRUE;
}

static void
check_family (int family)
{
  int client, server;

  if (!loopback_pair (family, &client, &server))
    {
      g_test_skip ("this address family is not available");
      return;
    }
  /* The kernel reports the uid that created the client's socket: ours. */
  g_assert_cmpuint (jobd_legacy_peer_uid (server), ==, getuid ());
  close (client);
  close (server);
}

/* A client socket created by another user (nobody) is reported as his;
 * once he has closed it (orphaned, or a TIME_WAIT mini-socket, for which
 * the kernel may report uid 0), as unknown, never as root. */
static void
check_other_user (gboolean close_first)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;
  int listener, server, status;
  pid_t pid;

  if (getuid () != 0)
    {
      g_test_skip ("needs root to act as another user");
      return;
    }
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_no_errno (bind (listener, (struct sockaddr *) &addr, len));
  g_assert_no_errno (listen (listener, 1));
  g_assert_no_errno (getsockname (listener, (struct sockaddr *) &addr, &len));
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int client;
      char byte;

      if (setgroups (0, NULL) < 0 || setresgid (65534, 65534, 65534) < 0
          || setresuid (65534, 65534, 65534) < 0)
        _exit (2);
      client = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (client < 0 || connect (client, (struct sockaddr *) &addr, len) < 0)
        _exit (3);
      if (close_first)
        _exit (0);
      /* Stay connected until the parent has looked. */
      _exit (read (client, &byte, 1) == 0 ? 0 : 4);
    }
  if (close_first)
    {
      /* The client has closed and gone before jobd looks. */
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      pid = 0;
    }
  server = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (server, >=, 0);
  g_assert_cmpuint (jobd_legacy_peer_uid (server), ==,
                    close_first ? JOBD_LEGACY_PEER_UNKNOWN : 65534);
  close (server);
  close (listener);
  if (pid != 0)
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static void
test_other_user (void)
{
  check_other_user (FALSE);
}

static void
test_other_user_gone (void)
{
  check_other_user (TRUE);
}

static void
test_ipv4 (void)
{
  check_family (AF_INET);
}

static void
test_ipv6 (void)
{
  check_family (AF_INET6);
}

static void
test_not_tcp (void)
{
  int pair[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
  g_assert_cmpuint (jobd_legacy_peer_uid (pair[0]), ==, JOBD_LEGACY_PEER_UNKNOWN);
  close (pair[0]);
  close (pair[1]);
  g_assert_cmpuint (jobd_legacy_peer_uid (-1), ==, JOBD_LEGACY_PEER_UNKNOWN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/legacy-peer/ipv4", test_ipv4);
  g_test_add_func ("/legacy-peer/ipv6", test_ipv6);
  g_test_add_func ("/legacy-peer/other-user", test_other_user);
  g_test_add_func ("/legacy-peer/other-user-gone", test_other_user_gone);
  g_test_add_func ("/legacy-peer/not-tcp", test_not_tcp);
  return g_test_run ();
}
