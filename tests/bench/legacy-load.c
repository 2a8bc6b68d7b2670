/* SPDX-License-Identifier: MIT */
/* legacy-load.c — load client for the legacy TCP protocol.
 *
 * Keeps N connections busy, each with exactly one request in flight, for T
 * seconds (or until a request count), and prints one line:
 *   requests=R errors=E seconds=S rps=X samples=… p50_us=… p99_us=… max_us=…
 * One thread and epoll, so the client costs far less than any server it
 * drives. A request's latency runs from the connect (new-connection mode, as
 * the old PHP client did: connect, send one frame, read one, close) or from
 * the send (--keepalive: frames back to back on one connection) to the last
 * byte of the answer.
 *
 *   legacy-load --port P [--conns N] [--seconds T] [--max-requests M]
 *               [--keepalive] [--request 'STATUS {"jobname":"x"}']
 *               [--expect '{"code":"OK"']
 *
 * An answer that does not start with --expect counts as an error, so a
 * server answering FAILED cannot look fast.
 */
#include <errno.h>
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

/* Requests still in flight this long after the deadline count as errors. */
#define GRACE_NS (G_GINT64_CONSTANT (5) * 1000000000)
#define MAX_ANSWER (64 * 1024 * 1024)

typedef enum {
  CONN_IDLE,
  CONN_CONNECTING,
  CONN_SENDING,
  CONN_RECEIVING,
} ConnState;

typedef struct {
  int fd;
  ConnState state;
  gsize sent;
  GByteArray *answer;
  gint64 started_ns;
} Conn;

typedef struct {
  /* options */
  int port;
  gboolean keepalive;
  gint64 max_requests;
  const char *expect;
  GByteArray *frame;
  /* run */
  int epfd;
  gint64 deadline_ns;
  gint64 issued;
  gint64 completed;
  gint64 errors;
  gint64 in_flight;
  BenchStats stats;
} Load;

static void
conn_close (Conn *conn)
{
  if (conn->fd >= 0)
    close (conn->fd);
  conn->fd = -1;
  conn->state = CONN_IDLE;
}

static gboolean
want_more (Load *load)
{
  return bench_now_ns () < load->deadline_ns && load->issued < load->max_requests;
}

static void
conn_watch (Load *load, Conn *conn, int op, guint32 events)
{
  struct epoll_event ev = { .events = events, .data.ptr = conn };

  if (epoll_ctl (load->epfd, op, conn->fd, &ev) < 0)
    g_error ("legacy-load: epoll_ctl: %s", g_strerror (errno));
}

/* Open a new non-blocking connection; FALSE (counted) when that fails. */
static gboolean
conn_connect (Load *load, Conn *conn)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  int one = 1;

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (load->port);
  conn->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (conn->fd < 0)
    g_error ("legacy-load: socket: %s", g_strerror (errno));
  setsockopt (conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (conn->fd, (struct sockaddr *) &addr, sizeof addr) < 0 && errno != EINPROGRESS)
    {
      conn_close (conn);
      return FALSE;
    }
  conn->state = CONN_CONNECTING;
  conn_watch (load, conn, EPOLL_CTL_ADD, EPOLLOUT);
  return TRUE;
}

/* Begin the next request on conn, or close it when the run is over. */
static void
conn_begin (Load *load, Conn *conn)
{
  if (!want_more (load))
    conn_close (conn);
  while (want_more (load))
    {
      conn->started_ns = bench_now_ns ();
      conn->sent = 0;
      g_byte_array_set_size (conn->answer, 0);
      load->issued++;
      load->in_flight++;
      if (conn->fd >= 0)
        {
          conn->state = CONN_SENDING;
          conn_watch (load, conn, EPOLL_CTL_MOD, EPOLLOUT);
          return;
        }
      if (conn_connect (load, conn))
        return;
      /* Refused or out of ports: an error, and the next try. */
      load->in_flight--;
      load->errors++;
    }
}

static void
conn_fail (Load *load, Conn *conn)
{
  load->errors++;
  load->in_flight--;
  conn_close (conn);
  conn_begin (load, conn);
}

static void
conn_finish (Load *load, Conn *conn)
{
  gsize len = conn->answer->len - 4;
  gsize expect_len = strlen (load->expect);

  load->in_flight--;
  if (len >= expect_len && memcmp (conn->answer->data + 4, load->expect, expect_len) == 0)
    {
      load->completed++;
      bench_stats_add (&load->stats, bench_now_ns () - conn->started_ns);
    }
  else
    {
      load->errors++;
    }
  if (!load->keepalive)
    conn_close (conn);
  conn_begin (load, conn);
}

static void
conn_on_writable (Load *load, Conn *conn)
{
  if (conn->state == CONN_CONNECTING)
    {
      int err = 0;
      socklen_t err_len = sizeof err;

      getsockopt (conn->fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
      if (err != 0)
        {
          conn_fail (load, conn);
          return;
        }
      conn->state = CONN_SENDING;
    }
  while (conn->sent < load->frame->len)
    {
      ssize_t n = send (conn->fd, load->frame->data + conn->sent,
                        load->frame->len - conn->sent, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          conn_fail (load, conn);
          return;
        }
      conn->sent += n;
    }
  conn->state = CONN_RECEIVING;
  conn_watch (load, conn, EPOLL_CTL_MOD, EPOLLIN);
}

static gsize
answer_size (GByteArray *answer)
{
  const guint8 *p = answer->data;

  if (answer->len < 4)
    return G_MAXSIZE;
  return 4 + (gsize) (p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24));
}

static void
conn_on_readable (Load *load, Conn *conn)
{
  for (;;)
    {
      guint8 buf[65536];
      ssize_t n = recv (conn->fd, buf, sizeof buf, 0);
      gsize want;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          conn_fail (load, conn);
          return;
        }
      g_byte_array_append (conn->answer, buf, n);
      want = answer_size (conn->answer);
      if (want != G_MAXSIZE && (want > MAX_ANSWER || conn->answer->len > want))
        {
          conn_fail (load, conn);   /* garbage, or more than one answer */
          return;
        }
      if (conn->answer->len == want)
        {
          conn_finish (load, conn);
          return;
        }
    }
}

static void
run (Load *load, Conn *conns, int n_conns, double seconds)
{
  struct epoll_event events[256];

  load->deadline_ns = bench_now_ns () + (gint64) (seconds * 1e9);
  for (int i = 0; i < n_conns; i++)
    conn_begin (load, &conns[i]);
  while (load->in_flight > 0 && bench_now_ns () < load->deadline_ns + GRACE_NS)
    {
      int n = epoll_wait (load->epfd, events, G_N_ELEMENTS (events), 100);

      for (int i = 0; i < n; i++)
        {
          Conn *conn = events[i].data.ptr;

          if (conn->state == CONN_RECEIVING)
            conn_on_readable (load, conn);
          else
            conn_on_writable (load, conn);
        }
    }
  /* Whatever did not answer within the grace period is an error. */
  load->errors += load->in_flight;
}

static GByteArray *
make_frame (const char *request)
{
  GByteArray *frame = g_byte_array_new ();
  guint32 len = strlen (request);
  guint8 header[4] = { len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >> 24 };

  g_byte_array_append (frame, header, 4);
  g_byte_array_append (frame, (const guint8 *) request, len);
  return frame;
}

int
main (int argc, char **argv)
{
  gint port = 0, n_conns = 1;
  gint64 max_requests = 10000000;
  double seconds = 2.0;
  gboolean keepalive = FALSE;
  g_autofree char *request = NULL, *expect = NULL;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Server port on 127.0.0.1", "P" },
    { "conns", 0, 0, G_OPTION_ARG_INT, &n_conns, "Concurrent connections", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Run time", "T" },
    { "max-requests", 0, 0, G_OPTION_ARG_INT64, &max_requests, "Stop after M requests", "M" },
    { "keepalive", 0, 0, G_OPTION_ARG_NONE, &keepalive, "Reuse each connection", NULL },
    { "request", 0, 0, G_OPTION_ARG_STRING, &request, "Request payload", "TEXT" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &expect, "Answer prefix that counts as success", "TEXT" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- legacy TCP load client");
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree Conn *conns = NULL;
  Load load = { 0 };
  gint64 t0, elapsed;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("legacy-load: %s\n", error->message);
      return 2;
    }
  if (port <= 0 || n_conns < 1 || n_conns > 4096 || seconds <= 0 || seconds > 600
      || max_requests < 1)
    {
      g_printerr ("legacy-load: need --port, 1..4096 --conns, 0..600 --seconds\n");
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  load.port = port;
  load.keepalive = keepalive;
  load.max_requests = max_requests;
  load.expect = expect != NULL ? expect : "{\"code\":\"OK\"";
  load.frame = make_frame (request != NULL ? request : "STATUS {\"jobname\":\"bench\"}");
  load.epfd = epoll_create1 (EPOLL_CLOEXEC);
  bench_stats_init (&load.stats);
  conns = g_new0 (Conn, n_conns);
  for (int i = 0; i < n_conns; i++)
    {
      conns[i].fd = -1;
      conns[i].answer = g_byte_array_new ();
    }

  t0 = bench_now_ns ();
  run (&load, conns, n_conns, seconds);
  elapsed = bench_now_ns () - t0;

  g_string_printf (out, "requests=%" G_GINT64_FORMAT " errors=%" G_GINT64_FORMAT
                   " seconds=%.3f rps=%.1f", load.completed, load.errors,
                   elapsed / 1e9, load.completed / (elapsed / 1e9));
  bench_stats_format (&load.stats, out);
  printf ("%s\n", out->str);

  for (int i = 0; i < n_conns; i++)
    {
      conn_close (&conns[i]);
      g_byte_array_unref (conns[i].answer);
    }
  close (load.epfd);
  g_byte_array_unref (load.frame);
  bench_stats_clear (&load.stats);
  return 0;
}
