/* SPDX-License-Identifier: MIT */
/* jobd-legacy-peer.c — the local peer of a legacy connection, and what it
 * may change.
 *
 * The client's socket is looked up by its exact 4-tuple (its address and
 * port, ours) with one SOCK_DIAG_BY_FAMILY request; the answer carries the
 * uid that created the socket. Only loopback connections are looked up: a
 * remote peer's socket is not in this kernel, and an address match there
 * would mean nothing. A client that closed its socket before the lookup
 * (the kernel then says uid 0), or a kernel without inet_diag, leaves the
 * uid unknown, which grants nothing.
 */
#include "config.h"

#include "jobd-legacy-peer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "jobd-auth.h"
#include "jobd-error.h"

typedef struct {
  int family;            /* AF_INET or AF_INET6, as the kernel sees the client */
  guint32 addr[4];       /* network byte order; IPv4 in addr[0] */
  guint16 port;          /* network byte order */
} Endpoint;

static gboolean
endpoint_from_sockaddr (const struct sockaddr_storage *ss, Endpoint *ep)
{
  memset (ep, 0, sizeof *ep);
  if (ss->ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) ss;

      ep->family = AF_INET;
      ep->addr[0] = in->sin_addr.s_addr;
      ep->port = in->sin_port;
      return TRUE;
    }
  if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ss;

      ep->family = AF_INET6;
      memcpy (ep->addr, &in6->sin6_addr, 16);
      ep->port = in6->sin6_port;
      /* A dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d; the
       * client's own socket is an AF_INET one. */
      if (IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
        {
          ep->family = AF_INET;
          ep->addr[0] = ep->addr[3];
          ep->addr[1] = ep->addr[2] = ep->addr[3] = 0;
        }
      return TRUE;
    }
  return FALSE;
}

static gboolean
endpoint_is_loopback (const Endpoint *ep)
{
  if (ep->family == AF_INET)
    return (ntohl (ep->addr[0]) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK ((const struct in6_addr *) ep->addr);
}

/* One netlink socket for the life of jobd: opening and closing one per
 * connection cost ten times the lookup itself. */
static int diag_fd = -1;

static int
diag_socket (void)
{
  if (diag_fd < 0)
    {
      diag_fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
      if (diag_fd < 0)
        g_debug ("legacy peer: no sock_diag socket: %s", g_strerror (errno));
    }
  return diag_fd;
}

static void
diag_socket_reset (void)
{
  if (diag_fd >= 0)
    close (diag_fd);
  diag_fd = -1;
}

/* The uid in the answer to request seq, or JOBD_LEGACY_PEER_UNKNOWN. */
static guint
diag_answer (int fd, guint32 seq, const Endpoint *client, const Endpoint *server)
{
  union {
    struct nlmsghdr nlh;
    char bytes[8192];
  } answer;
  ssize_t n;

  /* The kernel answers an exact lookup while sendto() runs: the answer is
   * queued when it returns, so reading never waits. Older answers (to a
   * request whose reading failed) are skipped by their sequence number. */
  for (;;)
    {
      do
        n = recv (fd, &answer, sizeof answer, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0)
        return JOBD_LEGACY_PEER_UNKNOWN;
      for (struct nlmsghdr *h = &answer.nlh; NLMSG_OK (h, (size_t) n); h = NLMSG_NEXT (h, n))
        {
          const struct inet_diag_msg *msg;

          if (h->nlmsg_seq != seq)
            break;   /* a stale datagram: read the next one */
          if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY
              || h->nlmsg_len < NLMSG_LENGTH (sizeof (struct inet_diag_msg)))
            return JOBD_LEGACY_PEER_UNKNOWN;   /* NLMSG_ERROR: no such socket (any more) */
          msg = NLMSG_DATA (h);
          /* A socket its process has closed (orphaned, or a TIME_WAIT
           * mini-socket) has no inode, and the kernel reports uid 0 for
           * it: a client that sent its request and closed must not become
           * root. Only a socket still open in some process names its
           * owner. The kernel matched the tuple; check it anyway. */
          if (msg->idiag_inode != 0
              && msg->id.idiag_sport == client->port && msg->id.idiag_dport == server->port
              && memcmp (msg->id.idiag_src, client->addr, sizeof client->addr) == 0
              && memcmp (msg->id.idiag_dst, server->addr, sizeof server->addr) == 0)
            return msg->idiag_uid;
          return JOBD_LEGACY_PEER_UNKNOWN;
        }
    }
}

/* The uid owning the socket whose source is client and destination server. */
static guint
diag_lookup (const Endpoint *client, const Endpoint *server)
{
  static guint32 seq;
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } request;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  int fd = diag_socket ();

  if (fd < 0)
    return JOBD_LEGACY_PEER_UNKNOWN;
  memset (&request, 0, sizeof request);
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST;
  request.nlh.nlmsg_seq = ++seq;
  request.req.sdiag_family = client->family;
  request.req.sdiag_protocol = IPPROTO_TCP;
  request.req.idiag_states = ~0U;
  request.req.id.idiag_sport = client->port;
  request.req.id.idiag_dport = server->port;
  memcpy (request.req.id.idiag_src, client->addr, sizeof client->addr);
  memcpy (request.req.id.idiag_dst, server->addr, sizeof server->addr);
  request.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  if (sendto (fd, &request, sizeof request, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    {
      g_debug ("legacy peer: sock_diag request: %s", g_strerror (errno));
      diag_socket_reset ();   /* a fresh socket next time */
      return JOBD_LEGACY_PEER_UNKNOWN;
    }
  return diag_answer (fd, seq, client, server);
}

guint
jobd_legacy_peer_uid (int fd)
{
  struct sockaddr_storage ours, theirs;
  socklen_t ours_len = sizeof ours, theirs_len = sizeof theirs;
  Endpoint server, client;

  if (getsockname (fd, (struct sockaddr *) &ours, &ours_len) < 0
      || getpeername (fd, (struct sockaddr *) &theirs, &theirs_len) < 0
      || !endpoint_from_sockaddr (&ours, &server)
      || !endpoint_from_sockaddr (&theirs, &client)
      || server.family != client.family
      || !endpoint_is_loopback (&client))
    return JOBD_LEGACY_PEER_UNKNOWN;
  return diag_lookup (&client, &server);
}

gboolean
jobd_legacy_peer_may_change (JobdLegacy *legacy,
                             guint peer_uid,
                             JobdJob *job,
                             GError **error)
{
  if (jobd_job_get_owner_uid (job) == legacy->owner_uid)
    return TRUE;
  if (peer_uid != JOBD_LEGACY_PEER_UNKNOWN
      && jobd_auth_check (JOBD_ACCESS_MODIFY, peer_uid, legacy->config->admin_group, job, NULL))
    return TRUE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
               "permission denied: job '%s' is not a legacy job and belongs to another user",
               jobd_job_get_name (job));
  return FALSE;
}
