/* SPDX-License-Identifier: MIT */
/* null-server.c — the transport ceiling for the legacy TCP bench.
 *
 * Speaks the legacy framing (4-byte little-endian length, then payload) on a
 * loopback port and answers every request frame with the fixed frame
 * {"code":"OK","data":"UP"}, without parsing it. One thread, epoll,
 * non-blocking, like jobd's single main loop, so legacy-load against it
 * measures what the kernel and the client cost, not a server.
 *
 *   null-server [--port N] [--max-seconds S]
 *
 * Prints "port=N" once listening (N is chosen when --port is 0), then serves
 * until SIGTERM/SIGINT or --max-seconds (a safety bound, default 900 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "bench-stats.h"

#define REPLY "{\"code\":\"OK\",\"data\":\"UP\"}"
#define MAX_FRAME (1024 * 1024)

typedef struct {
  int fd;
  guint8 *in;          /* unparsed input */
  gsize in_len;
  gsize in_size;
  GString *out;        /* replies not yet written */
} Conn;

static volatile sig_atomic_t stop_requested;
static guint8 reply_frame[4 + sizeof REPLY - 1];

static void
on_signal (int signo)
{
  stop_requested = 1;
}

static void
conn_free (Conn *conn)
{
  close (conn->fd);
  g_free (conn->in);
  g_string_free (conn->out, TRUE);
  g_free (conn);
}

/* Write what is queued; FALSE when the peer is gone. */
static gboolean
conn_flush (Conn *conn, int epfd)
{
  struct epoll_event ev = { 0 };

  while (conn->out->len > 0)
    {
      ssize_t n = send (conn->fd, conn->out->str, conn->out->len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0)
        return FALSE;
      g_string_erase (conn->out, 0, n);
    }
  /* Only ask for EPOLLOUT while something waits to be written. */
  ev.events = EPOLLIN | (conn->out->len > 0 ? EPOLLOUT : 0);
  ev.data.ptr = conn;
  return epoll_ctl (epfd, EPOLL_CTL_MOD, conn->fd, &ev) == 0;
}

/* Answer every complete frame in the input buffer. */
static gboolean
conn_consume_frames (Conn *conn)
{
  gsize pos = 0;

  while (conn->in_len - pos >= 4)
    {
      const guint8 *p = conn->in + pos;
      guint32 len = p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);

      if (len > MAX_FRAME)
        return FALSE;
      if (conn->in_len - pos < 4 + (gsize) len)
        break;
      g_string_append_len (conn->out, (const char *) reply_frame, sizeof reply_frame);
      pos += 4 + len;
    }
  memmove (conn->in, conn->in + pos, conn->in_len - pos);
  conn->in_len -= pos;
  return TRUE;
}

static gboolean
conn_read (Conn *conn, int epfd)
{
  for (;;)
    {
      ssize_t n;

      if (conn->in_size - conn->in_len < 4096)
        {
          conn->in_size = MAX (conn->in_size * 2, 8192);
          conn->in = g_realloc (conn->in, conn->in_size);
        }
      n = recv (conn->fd, conn->in + conn->in_len, conn->in_size - conn->in_len, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
        return FALSE;
      conn->in_len += n;
      if (!conn_consume_frames (conn))
        return FALSE;
    }
  return conn_flush (conn, epfd);
}

static void
accept_all (int listen_fd, int epfd)
{
  for (;;)
    {
      int one = 1;
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct epoll_event ev = { 0 };
      Conn *conn;

      if (fd < 0)
        {
          if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            g_printerr ("null-server: accept: %s\n", g_strerror (errno));
          return;
        }
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conn = g_new0 (Conn, 1);
      conn->fd = fd;
      conn->out = g_string_new (NULL);
      ev.events = EPOLLIN;
      ev.data.ptr = conn;
      if (epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        conn_free (conn);
    }
}

static int
listen_loopback (int port, GError **error)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t addr_len = sizeof addr;
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (port);
  if (fd < 0
      || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0
      || listen (fd, SOMAXCONN) < 0
      || getsockname (fd, (struct sockaddr *) &addr, &addr_len) < 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot listen on 127.0.0.1:%d: %s", port, g_strerror (saved));
      if (fd >= 0)
        close (fd);
      return -1;
    }
  printf ("port=%d\n", ntohs (addr.sin_port));
  fflush (stdout);
  return fd;
}

static void
serve (int listen_fd, int epfd, gint64 deadline_ns)
{
  static int listen_tag;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };
  struct epoll_event events[256];

  epoll_ctl (epfd, EPOLL_CTL_ADD, listen_fd, &ev);
  while (!stop_requested && bench_now_ns () < deadline_ns)
    {
      int n = epoll_wait (epfd, events, G_N_ELEMENTS (events), 500);

      for (int i = 0; i < n; i++)
        {
          Conn *conn = events[i].data.ptr;
          gboolean ok;

          if (events[i].data.ptr == &listen_tag)
            {
              accept_all (listen_fd, epfd);
              continue;
            }
          ok = (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
               ? conn_read (conn, epfd) : conn_flush (conn, epfd);
          if (!ok)
            conn_free (conn);
        }
    }
}

int
main (int argc, char **argv)
{
  gint port = 0, max_seconds = 900;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Loopback port (0: any free one)", "N" },
    { "max-seconds", 0, 0, G_OPTION_ARG_INT, &max_seconds, "Exit after S seconds", "S" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- legacy-framing null server");
  g_autoptr(GError) error = NULL;
  guint32 len = sizeof REPLY - 1;
  int listen_fd, epfd;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("null-server: %s\n", error->message);
      return 2;
    }
  reply_frame[0] = len & 0xff;
  reply_frame[1] = (len >> 8) & 0xff;
  reply_frame[2] = (len >> 16) & 0xff;
  reply_frame[3] = len >> 24;
  memcpy (reply_frame + 4, REPLY, len);

  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  signal (SIGPIPE, SIG_IGN);
  listen_fd = listen_loopback (port, &error);
  if (listen_fd < 0)
    {
      g_printerr ("null-server: %s\n", error->message);
      return 1;
    }
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  serve (listen_fd, epfd, bench_now_ns () + (gint64) max_seconds * 1000000000);
  /* Connections still open are released by exit. */
  close (epfd);
  close (listen_fd);
  return 0;
}
