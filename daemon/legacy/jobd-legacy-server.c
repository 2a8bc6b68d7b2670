/* SPDX-License-Identifier: MIT */
/* jobd-legacy-server.c — the legacy TCP listener.
 *
 * One Conn per client, served straight from its non-blocking socket by one
 * main-loop source: read into a bounded buffer, cut frames, hand each payload
 * to the dispatcher, send the answer at once, repeat. Only when the kernel
 * will not take the whole answer does the rest wait for the socket to become
 * writable, and meanwhile the connection reads nothing, so a pipelining
 * client that does not read its answers cannot grow jobd's memory; neither
 * does one whose request is still being dispatched. Every connection has a
 * deadline by which the next whole frame must have arrived (slow or silent
 * clients are dropped), and the number of connections is capped (the oldest
 * idle one makes room). Problems are logged once per kind per minute, not
 * per client.
 *
 * Answers are bounded too: per connection one answer at a time, held in
 * memory only up to MaxAnswerSize (larger ones answer FAILED); a log file
 * (LOGEXPLORER.GET) is streamed a slice at a time as the socket drains,
 * never built whole. Across connections, while the answers waiting for
 * their clients exceed MaxQueuedAnswerBytes, no further request is
 * processed: those connections wait, unread, until the clients read (or
 * are dropped: an answer that makes no progress for ReadTimeoutSec drops
 * its connection).
 *
 * GSocketService and the GIO stream calls cost several times what parsing
 * and answering a STATUS costs (tasks, idle sources and a main-loop turn per
 * read and per write), hence plain recv()/sendmsg() here.
 */
#include "jobd-legacy-server.h"
#include "jobd-legacy-peer.h"

#include "jobd-fdstore.h"

#include <errno.h>
#include <glib-unix.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "jobd-error.h"

#define READ_CHUNK 16384
#define LOG_INTERVAL_USEC (60 * G_USEC_PER_SEC)
/* Connections taken per wakeup of the listener: a burst of clients does not
 * hold up the ones already connected. */
#define ACCEPT_BATCH 64
/* Out of descriptors: wait this long before trying accept() again, rather
 * than spinning on a listening socket that stays readable. */
#define ACCEPT_PAUSE_MSEC 100
/* A streamed answer is produced at most this much per wakeup of its
 * connection, so that many of them do not hold up the main loop. */
#define STREAM_BURST (64 * 1024)

typedef enum {
  PROBLEM_TOO_LARGE,
  PROBLEM_TIMEOUT,
  PROBLEM_TRUNCATED,
  PROBLEM_FULL,
  PROBLEM_IO,
  PROBLEM_ACCEPT,
  PROBLEM_UNREAD,
  PROBLEM_ANSWER_TOO_LARGE,
  PROBLEM_STREAM,
  N_PROBLEMS,
} Problem;

static const char *const problem_text[N_PROBLEMS] = {
  "frame larger than MaxFrameSize, connection dropped",
  "request not complete within ReadTimeoutSec, connection dropped",
  "connection closed in the middle of a frame",
  "MaxConnections reached, oldest idle connection dropped",
  "connection error",
  "cannot accept connections",
  "answer not read within ReadTimeoutSec, connection dropped",
  "answer larger than MaxAnswerSize, answered FAILED",
  "streamed answer failed, connection dropped",
};

typedef struct {
  gint64 last_usec;
  guint suppressed;
} RateLimit;

typedef struct _Conn Conn;

struct _JobdLegacyServer {
  JobdLegacy *legacy;          /* its conf holds [Legacy]: Listen, the limits */
  JobdConfig *config;          /* borrowed, for its reload hook */
  gsize queued;                /* bytes in every connection's out */
  guint large_in_flight;       /* requests with large answers being dispatched */
  GQueue waiting;              /* Conn* (a reference each) waiting for queued < max_queued */
  GSource *resume_source;      /* idle: let waiting connections go on */
  GSocket *listener;           /* NULL while not listening */
  GSource *accept_source;      /* on the listener, or the pause after EMFILE */
  GQueue connections;          /* Conn*, oldest first */
  RateLimit limits[N_PROBLEMS];
};

/* The main-loop source of one connection: its socket, and its deadline as
 * the source's ready time. */
typedef struct {
  GSource source;
  Conn *conn;
  gpointer fd_tag;
} ConnSource;

struct _Conn {
  JobdLegacyServer *server;    /* NULL once closed */
  int fd;
  ConnSource *source;
  GIOCondition events;         /* what the source waits for */
  GByteArray *in;              /* received, not yet handled */
  GByteArray *out;             /* answer bytes the kernel did not take yet, */
  gsize out_sent;              /* from this offset */
  gint64 deadline_usec;        /* next whole frame due; 0: not waiting for one */
  gboolean busy;               /* a request is being dispatched */
  gboolean busy_large;         /* ... one whose answer may be large */
  gboolean close_when_sent;    /* after a frame that was too large */
  gboolean waiting;            /* in server->waiting */
  JobdLegacyStream *stream; /* the rest of a streamed answer */
  JobdLegacyClient client;     /* throttling of password checks */
  char peer[INET6_ADDRSTRLEN];
  GList link;
  gint refs;
};

static void conn_process (Conn *conn);
static void budget_released (JobdLegacyServer *server);

static void
log_problem (JobdLegacyServer *server, Problem problem, const char *detail)
{
  RateLimit *limit = &server->limits[problem];
  gint64 now = g_get_monotonic_time ();

  if (limit->last_usec != 0 && now - limit->last_usec < LOG_INTERVAL_USEC)
    {
      limit->suppressed++;
      return;
    }
  g_message ("legacy: %s%s%s (%u more like it in the last minute)",
             problem_text[problem], detail != NULL ? ": " : "",
             detail != NULL ? detail : "", limit->suppressed);
  limit->last_usec = now;
  limit->suppressed = 0;
}

static Conn *
conn_ref (Conn *conn)
{
  conn->refs++;
  return conn;
}

static void
conn_unref (Conn *conn)
{
  if (--conn->refs > 0)
    return;
  g_assert (conn->server == NULL);
  g_byte_array_unref (conn->in);
  g_byte_array_unref (conn->out);
  g_free (conn);
}

static void
conn_close (Conn *conn)
{
  JobdLegacyServer *server = conn->server;

  if (server == NULL)
    return;
  conn->server = NULL;
  g_queue_unlink (&server->connections, &conn->link);
  server->queued -= conn->out->len;
  g_byte_array_set_size (conn->out, 0);
  g_clear_pointer (&conn->stream, jobd_legacy_stream_free);
  if (conn->waiting && g_queue_remove (&server->waiting, conn))
    conn_unref (conn);
  conn->waiting = FALSE;
  if (conn->busy_large)
    {
      conn->busy_large = FALSE;
      server->large_in_flight--;
      budget_released (server);
    }
  g_source_destroy (&conn->source->source);
  g_source_unref (&conn->source->source);
  conn->source = NULL;
  close (conn->fd);
  conn->fd = -1;
  conn_unref (conn);
}

/* Wait for what the connection needs next: nothing while a request is
 * being dispatched, the socket to drain while an answer is pending, else
 * the next request. */
static void
conn_update_events (Conn *conn)
{
  GIOCondition events = conn->busy || conn->waiting ? 0
                        : conn->out->len > 0 || conn->stream != NULL ? G_IO_OUT : G_IO_IN;

  if (events != conn->events)
    {
      g_source_modify_unix_fd (&conn->source->source, conn->source->fd_tag, events);
      conn->events = events;
    }
}

/* The next whole frame must arrive within the read timeout. The source's
 * ready time lags behind: it is only moved when it fires, so a request
 * costs a clock read, not a timer. */
static void
conn_arm_deadline (Conn *conn)
{
  GSource *source = &conn->source->source;

  conn->deadline_usec = g_get_monotonic_time ()
                        + (gint64) conn->server->legacy->conf.read_timeout_sec * G_USEC_PER_SEC;
  if (g_source_get_ready_time (source) == -1)
    g_source_set_ready_time (source, conn->deadline_usec);
}

/* The source's ready time has come: drop the connection if its deadline
 * has really passed, else wake up again at the deadline. */
static void
conn_check_deadline (Conn *conn, gint64 now)
{
  if (conn->deadline_usec == 0)
    {
      g_source_set_ready_time (&conn->source->source, -1);
      return;
    }
  if (now < conn->deadline_usec)
    {
      g_source_set_ready_time (&conn->source->source, conn->deadline_usec);
      return;
    }
  log_problem (conn->server,
               conn->out->len > 0 || conn->stream != NULL ? PROBLEM_UNREAD : PROBLEM_TIMEOUT,
               NULL);
  conn_close (conn);
}

static gboolean resume_waiting (gpointer user_data);

static void
out_append (Conn *conn, const void *data, gsize len)
{
  g_byte_array_append (conn->out, data, len);
  conn->server->queued += len;
}

/* Everything in conn->out was sent. */
static void
out_reset (Conn *conn)
{
  JobdLegacyServer *server = conn->server;

  server->queued -= conn->out->len;
  g_byte_array_set_size (conn->out, 0);
  conn->out_sent = 0;
  budget_released (server);
}

/* Has a request with a large answer room to be dispatched now? */
static gboolean
budget_allows (JobdLegacyServer *server)
{
  return server->queued < server->legacy->conf.max_queued && server->large_in_flight == 0;
}

/* Let waiting connections go on (from an idle callback, not from inside
 * another connection's work) when there is room again. */
static void
budget_released (JobdLegacyServer *server)
{
  if (budget_allows (server) && server->waiting.length > 0 && server->resume_source == NULL)
    {
      server->resume_source = g_idle_source_new ();
      g_source_set_callback (server->resume_source, resume_waiting, server, NULL);
      g_source_set_static_name (server->resume_source, "jobd legacy answer budget");
      g_source_attach (server->resume_source, NULL);
    }
}

/* The next piece of a streamed answer into conn->out; FALSE when the
 * connection was closed. */
static gboolean
conn_refill (Conn *conn)
{
  g_autoptr(GError) error = NULL;
  gsize before = conn->out->len;

  if (jobd_legacy_stream_done (conn->stream))
    {
      g_clear_pointer (&conn->stream, jobd_legacy_stream_free);
      return TRUE;
    }
  if (!jobd_legacy_stream_next (conn->stream, conn->out, &error))
    {
      log_problem (conn->server, PROBLEM_STREAM, error->message);
      conn_close (conn);
      return FALSE;
    }
  conn->server->queued += conn->out->len - before;
  return TRUE;
}

/* Send what is pending (producing a streamed answer as it goes); FALSE
 * when the connection was closed. */
static gboolean
conn_flush (Conn *conn)
{
  gboolean progress = FALSE;
  gsize produced = 0;

  for (;;)
    {
      ssize_t n;

      if (conn->out->len == 0 && conn->stream != NULL)
        {
          /* Level-triggered: a writable socket brings us back. */
          if (produced >= STREAM_BURST)
            break;
          if (!conn_refill (conn))
            return FALSE;
          produced += conn->out->len;
          continue;
        }
      if (conn->out->len == 0)
        break;
      n = send (conn->fd, conn->out->data + conn->out_sent,
                conn->out->len - conn->out_sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        {
          g_debug ("legacy: write failed: %s", g_strerror (errno));
          conn_close (conn);
          return FALSE;
        }
      progress = TRUE;
      conn->out_sent += n;
      if (conn->out_sent == conn->out->len)
        out_reset (conn);
    }
  if (conn->out->len == 0 && conn->close_when_sent)
    {
      conn_close (conn);
      return FALSE;
    }
  /* A client that takes nothing of its answer for ReadTimeoutSec is
   * dropped; once all is sent, the next frame gets a deadline of its own. */
  if (conn->out->len == 0)
    conn->deadline_usec = 0;
  else if (progress)
    conn_arm_deadline (conn);
  return TRUE;
}

/* Answer: header and payload in one call, without copying them together;
 * what the kernel does not take waits in conn->out. FALSE when the
 * connection was closed. */
static gboolean
conn_send (Conn *conn, const char *payload, gsize len)
{
  guint8 header[JOBD_LEGACY_FRAME_HEADER];
  struct iovec iov[2];
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
  ssize_t n;
  gsize sent;

  if (len > G_MAXUINT32)
    {
      g_warning ("legacy: an answer of %" G_GSIZE_FORMAT " bytes does not fit in a frame", len);
      conn_close (conn);
      return FALSE;
    }
  jobd_legacy_frame_header (header, len);
  iov[0] = (struct iovec) { .iov_base = header, .iov_len = sizeof header };
  iov[1] = (struct iovec) { .iov_base = (void *) payload, .iov_len = len };

  if (conn->out->len > 0)
    n = 0;      /* keep the order: behind what is already waiting */
  else
    do
      n = sendmsg (conn->fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);

  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    {
      g_debug ("legacy: write failed: %s", g_strerror (errno));
      conn_close (conn);
      return FALSE;
    }
  sent = n < 0 ? 0 : (gsize) n;
  if (sent < sizeof header)
    out_append (conn, header + sent, sizeof header - sent);
  sent = sent > sizeof header ? sent - sizeof header : 0;
  if (sent < len)
    out_append (conn, (const guint8 *) payload + sent, len - sent);
  if (conn->out->len > 0)
    conn_arm_deadline (conn);
  return TRUE;
}

/* Send an answer built in memory, unless it is over MaxAnswerSize. */
static gboolean
conn_answer (Conn *conn, const char *payload, gsize len)
{
  g_autofree char *failed = NULL;

  if (len > conn->server->legacy->conf.max_answer)
    {
      g_autofree char *detail = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes", len);

      log_problem (conn->server, PROBLEM_ANSWER_TOO_LARGE, detail);
      failed = jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, &len);
      payload = failed;
    }
  return conn_send (conn, payload, len);
}

/* Start a streamed answer: its header now, the rest as the socket drains. */
static gboolean
conn_answer_stream (Conn *conn, JobdLegacyStream *stream, gsize len)
{
  guint8 header[JOBD_LEGACY_FRAME_HEADER];

  if (len > G_MAXUINT32)
    {
      jobd_legacy_stream_free (stream);
      return conn_answer (conn, "{\"code\":\"FAILED\"}", strlen ("{\"code\":\"FAILED\"}"));
    }
  jobd_legacy_frame_header (header, len);
  out_append (conn, header, sizeof header);
  conn->stream = stream;
  return conn_flush (conn);
}

/* The answer is here: send it, go on with the next request. */
static void
conn_answered (Conn *conn, char *payload, gsize len, JobdLegacyStream *stream)
{
  gboolean open;

  if (conn->busy_large)      /* then conn->server is set: conn_close clears it */
    {
      conn->busy_large = FALSE;
      conn->server->large_in_flight--;
      budget_released (conn->server);
    }
  open = stream != NULL ? conn_answer_stream (conn, stream, len)
                        : conn_answer (conn, payload, len);
  if (open)
    {
      conn->busy = FALSE;
      conn_process (conn);
    }
}

static void
built_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;
  gsize len = 0;
  JobdLegacyStream *stream = NULL;
  g_autofree char *payload = jobd_legacy_dispatch_finish_built (result, &len, &stream);

  if (conn->server == NULL)
    g_clear_pointer (&stream, jobd_legacy_stream_free);
  else
    conn_answered (conn, payload, len, stream);
  conn_unref (conn);
}

static void
dispatch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;
  gsize len = 0;
  JobdLegacyStream *stream = NULL;
  g_autofree char *payload = NULL;

  /* A large answer (GETALL of jobs with large extras) is written out on a
   * worker thread; one at a time (large_in_flight). */
  if (conn->server != NULL && conn->busy_large)
    {
      jobd_legacy_dispatch_finish_async (result, built_done, conn);
      return;
    }
  payload = jobd_legacy_dispatch_finish_stream (conn->server != NULL ? conn->server->legacy : NULL,
                                                result, &len, &stream);
  if (conn->server == NULL)
    g_clear_pointer (&stream, jobd_legacy_stream_free);
  else
    conn_answered (conn, payload, len, stream);
  conn_unref (conn);
}

/* Requests whose answers grow with what jobd holds (job records with
 * their extras, output, users, schedules, listings). Only these wait for
 * the answer budget, and they are made one at a time: a client asking
 * STATUS or STATUSALL is never held up by others that do not read their
 * GETALL. Log files (LOGEXPLORER.GET) are streamed, so they are not here. */
static const char *const large_answers[] = {
  "GET", "GETALL", "READ", "SERVERREAD",
  "AUTH.GET", "AUTH.GETALL",
  "SCHEDULER.GET", "SCHEDULER.GETALL", "SCHEDULER.GETLOG",
  "LOGEXPLORER.LISTDIR", "LOGEXPLORER.LISTFILE",
  "LOGEXPLORER.SERVERLISTDIR", "LOGEXPLORER.SERVERLISTFILE",
};

static gboolean
answer_may_be_large (const guint8 *payload, gsize len)
{
  gsize start = 0, end;

  while (start < len && g_ascii_isspace (payload[start]))
    start++;
  for (end = start; end < len && !g_ascii_isspace (payload[end]); end++)
    ;
  for (guint i = 0; i < G_N_ELEMENTS (large_answers); i++)
    if (strlen (large_answers[i]) == end - start
        && memcmp (large_answers[i], payload + start, end - start) == 0)
      return TRUE;
  return FALSE;
}

/* Answer FAILED, then drop: the rest of the stream cannot be resynchronised. */
static void
conn_reject_too_large (Conn *conn, gsize announced)
{
  g_autofree char *detail = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes announced", announced);
  gsize len;
  g_autofree char *payload = jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, &len);

  log_problem (conn->server, PROBLEM_TOO_LARGE, detail);
  conn->close_when_sent = TRUE;
  conn->deadline_usec = 0;
  if (conn_send (conn, payload, len) && conn_flush (conn))
    conn_update_events (conn);
}

/* Handle the complete frames at the start of the buffer, one at a time:
 * each is answered (or its answer is pending) before the next is looked at.
 * Then wait for what comes next. */
static void
conn_process (Conn *conn)
{
  gsize done = 0;
  g_autofree char *answer = NULL;
  gsize answer_len = 0;

  while (conn->server != NULL && !conn->busy && conn->out->len == 0 && conn->stream == NULL)
    {
      gsize payload_len = 0;
      gboolean large;
      const guint8 *frame = conn->in->data + done;
      JobdLegacyFrameStatus status = jobd_legacy_frame_check (frame, conn->in->len - done,
                                                              conn->server->legacy->conf.max_frame,
                                                              &payload_len);

      if (status == JOBD_LEGACY_FRAME_TOO_LARGE)
        {
          conn_reject_too_large (conn, payload_len);
          return;
        }
      if (status == JOBD_LEGACY_FRAME_INCOMPLETE)
        break;
      /* Too many answers wait for their readers, or another large one is
       * being made: this request waits. Large answers are made one at a
       * time, so they are counted in queued before the next one starts. */
      large = answer_may_be_large (frame + JOBD_LEGACY_FRAME_HEADER, payload_len);
      if (large && !budget_allows (conn->server))
        {
          conn->waiting = TRUE;
          conn->deadline_usec = 0;
          g_queue_push_tail (&conn->server->waiting, conn_ref (conn));
          break;
        }

      done += JOBD_LEGACY_FRAME_HEADER + payload_len;
      conn->deadline_usec = 0;     /* a new one for the next frame */
      /* The dispatcher parses the payload before it returns. */
      answer = jobd_legacy_dispatch_client (conn->server->legacy, &conn->client,
                                            frame + JOBD_LEGACY_FRAME_HEADER, payload_len,
                                            &answer_len, NULL, dispatch_done, conn_ref (conn));
      if (answer == NULL)
        {
          conn->busy = TRUE;       /* until dispatch_done, which drops the ref */
          if (large)
            {
              conn->busy_large = TRUE;
              conn->server->large_in_flight++;
            }
          continue;
        }
      conn_unref (conn);           /* answered at once: no callback */
      conn_answer (conn, answer, answer_len);
      g_clear_pointer (&answer, g_free);
    }
  g_byte_array_remove_range (conn->in, 0, done);
  if (conn->server == NULL)
    return;
  if (!conn->busy && !conn->waiting && conn->deadline_usec == 0)
    conn_arm_deadline (conn);
  conn_update_events (conn);
}

/* Answers were read: let the connections that wait for the budget go on,
 * oldest first, while it lasts. */
static gboolean
resume_waiting (gpointer user_data)
{
  JobdLegacyServer *server = user_data;

  g_clear_pointer (&server->resume_source, g_source_unref);
  while (budget_allows (server) && server->waiting.length > 0)
    {
      Conn *conn = g_queue_pop_head (&server->waiting);

      conn->waiting = FALSE;
      if (conn->server != NULL)
        conn_process (conn);
      conn_unref (conn);
    }
  return G_SOURCE_REMOVE;
}

/* Read what is there (one chunk: level-triggered polling brings us back for
 * more); FALSE when the connection was closed. */
static gboolean
conn_read (Conn *conn)
{
  gsize old_len = conn->in->len;
  ssize_t n;
  int saved_errno;

  g_byte_array_set_size (conn->in, old_len + READ_CHUNK);
  do
    n = recv (conn->fd, conn->in->data + old_len, READ_CHUNK, 0);
  while (n < 0 && errno == EINTR);
  saved_errno = errno;
  g_byte_array_set_size (conn->in, old_len + MAX (n, 0));

  if (n < 0 && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
    return TRUE;
  if (n < 0)
    {
      log_problem (conn->server, PROBLEM_IO, g_strerror (saved_errno));
      conn_close (conn);
      return FALSE;
    }
  if (n == 0)
    {
      /* A client closing after its answer is the normal end. */
      if (conn->in->len > 0)
        log_problem (conn->server, PROBLEM_TRUNCATED, NULL);
      conn_close (conn);
      return FALSE;
    }
  return TRUE;
}

static void
conn_ready (Conn *conn, GIOCondition revents)
{
  gint64 ready_time = g_source_get_ready_time (&conn->source->source);

  if (revents & G_IO_OUT)
    {
      if (!conn_flush (conn))
        return;
      conn_process (conn);
    }
  else if (revents & G_IO_IN)
    {
      if (!conn_read (conn))
        return;
      conn_process (conn);
    }
  else if (revents & (G_IO_HUP | G_IO_ERR))
    {
      /* Reported even while a request is dispatched and nothing is
       * asked for: the client is gone, its answer can go nowhere. */
      conn_close (conn);
      return;
    }
  if (conn->server != NULL && ready_time != -1
      && g_source_get_time (&conn->source->source) >= ready_time)
    conn_check_deadline (conn, g_get_monotonic_time ());
}

/* By default GLib takes a source's descriptors out of the poll set while it
 * dispatches and puts them back afterwards, and each of these wakes the
 * context (a write to its eventfd): two system calls per request. Nothing
 * here runs a nested main loop, so there is no recursion to prevent. */
static void
set_no_blocking (GSource *source)
{
  g_source_set_can_recurse (source, TRUE);
}

static gboolean
conn_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ConnSource *cs = (ConnSource *) source;
  Conn *conn = conn_ref (cs->conn);

  conn_ready (conn, g_source_query_unix_fd (source, cs->fd_tag));
  conn_unref (conn);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
  .dispatch = conn_source_dispatch,
};

static void
conn_new (JobdLegacyServer *server, int fd)
{
  Conn *conn = g_new0 (Conn, 1);
  int one = 1;

  /* Answers are whole frames in one call: no reason to hold them back. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  struct sockaddr_storage address;
  socklen_t address_len = sizeof address;

  if (getpeername (fd, (struct sockaddr *) &address, &address_len) == 0)
    {
      const void *raw = address.ss_family == AF_INET6
                        ? (const void *) &((struct sockaddr_in6 *) &address)->sin6_addr
                        : (const void *) &((struct sockaddr_in *) &address)->sin_addr;

      if (inet_ntop (address.ss_family, raw, conn->peer, sizeof conn->peer) == NULL)
        conn->peer[0] = '\0';
    }
  conn->client.peer = conn->peer[0] != '\0' ? conn->peer : NULL;
  conn->refs = 1;   /* held by server->connections until conn_close */
  conn->server = server;
  conn->fd = fd;
  /* Once per connection: the socket's owner does not change. */
  conn->client.peer_uid = jobd_legacy_peer_uid (fd);
  conn->in = g_byte_array_sized_new (READ_CHUNK);
  conn->out = g_byte_array_new ();
  conn->link.data = conn;
  g_queue_push_tail_link (&server->connections, &conn->link);

  conn->source = (ConnSource *) g_source_new (&conn_source_funcs, sizeof (ConnSource));
  conn->source->conn = conn;
  conn->events = G_IO_IN;
  conn->source->fd_tag = g_source_add_unix_fd (&conn->source->source, fd, conn->events);
  g_source_set_static_name (&conn->source->source, "jobd legacy connection");
  set_no_blocking (&conn->source->source);
  conn_arm_deadline (conn);   /* before attaching: no need to wake the context */
  g_source_attach (&conn->source->source, NULL);
}

/* Make room by dropping the oldest connection that is not mid-request. */
static gboolean
evict_oldest_idle (JobdLegacyServer *server)
{
  for (GList *l = server->connections.head; l != NULL; l = l->next)
    {
      Conn *conn = l->data;

      if (!conn->busy && !conn->waiting && conn->out->len == 0 && conn->stream == NULL)
        {
          log_problem (server, PROBLEM_FULL, NULL);
          conn_close (conn);
          return TRUE;
        }
    }
  return FALSE;
}

static void
incoming (JobdLegacyServer *server, int fd)
{
  if (g_queue_get_length (&server->connections) >= server->legacy->conf.max_connections
      && !evict_oldest_idle (server))
    {
      log_problem (server, PROBLEM_FULL, "every connection is busy, new one refused");
      close (fd);
      return;
    }
  conn_new (server, fd);
}

static void watch_listener (JobdLegacyServer *server);

static gboolean
accept_resume_cb (gpointer user_data)
{
  JobdLegacyServer *server = user_data;

  g_clear_pointer (&server->accept_source, g_source_unref);
  watch_listener (server);
  return G_SOURCE_REMOVE;
}

/* Out of descriptors or memory: the listening socket stays readable, so
 * stop watching it for a moment instead of spinning. */
static void
pause_accepting (JobdLegacyServer *server, int error_code)
{
  log_problem (server, PROBLEM_ACCEPT, g_strerror (error_code));
  g_source_destroy (server->accept_source);
  g_source_unref (server->accept_source);
  server->accept_source = g_timeout_source_new (ACCEPT_PAUSE_MSEC);
  g_source_set_callback (server->accept_source, accept_resume_cb, server, NULL);
  g_source_attach (server->accept_source, NULL);
}

static gboolean
accept_cb (int listen_fd, GIOCondition condition, gpointer user_data)
{
  JobdLegacyServer *server = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd >= 0)
        {
          incoming (server, fd);
          continue;
        }
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        pause_accepting (server, errno);
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        log_problem (server, PROBLEM_ACCEPT, g_strerror (errno));
      break;
    }
  return G_SOURCE_CONTINUE;
}

static void
watch_listener (JobdLegacyServer *server)
{
  server->accept_source = g_unix_fd_source_new (g_socket_get_fd (server->listener), G_IO_IN);
  g_source_set_callback (server->accept_source, G_SOURCE_FUNC (accept_cb), server, NULL);
  g_source_set_static_name (server->accept_source, "jobd legacy listener");
  set_no_blocking (server->accept_source);
  g_source_attach (server->accept_source, NULL);
}

/* ReloadConfig / SIGHUP: the limits and the interpreter apply at once; a
 * changed key that is fixed at start-up keeps its old value and is named
 * in restart_keys. A wrong value changes nothing. */
static gboolean
reload_hook (GKeyFile *keyfile, GPtrArray *restart_keys, gpointer user_data, GError **error)
{
  JobdLegacyServer *server = user_data;
  JobdLegacyConfig *conf = &server->legacy->conf;
  g_auto(JobdLegacyConfig) fresh = { 0 };
  g_autoptr(GPtrArray) keys = NULL;

  if (!jobd_legacy_config_read (keyfile, &fresh, error))
    return FALSE;
  keys = jobd_legacy_config_restart_keys (conf, &fresh);
  for (guint i = 0; i < keys->len; i++)
    g_ptr_array_add (restart_keys, g_strdup_printf ("[" JOBD_LEGACY_GROUP "] %s",
                                                    (const char *) keys->pdata[i]));
  jobd_legacy_config_apply_live (conf, &fresh);
  jobd_legacy_config_note (conf);
  return TRUE;
}

JobdLegacyServer *
jobd_legacy_server_new (JobdManager *manager, JobdConfig *config, GError **error)
{
  g_autoptr(JobdLegacyServer) server = g_new0 (JobdLegacyServer, 1);

  g_queue_init (&server->connections);
  g_queue_init (&server->waiting);
  server->legacy = jobd_legacy_new (manager, config, error);
  if (server->legacy == NULL)
    return NULL;
  server->config = config;
  jobd_config_set_reload_hook (config, reload_hook, server);
  return g_steal_pointer (&server);
}

void
jobd_legacy_server_stop (JobdLegacyServer *server)
{
  if (server->accept_source != NULL)
    {
      g_source_destroy (server->accept_source);
      g_clear_pointer (&server->accept_source, g_source_unref);
    }
  if (server->listener != NULL)
    {
      g_socket_close (server->listener, NULL);
      g_clear_object (&server->listener);
    }
  while (server->connections.head != NULL)
    conn_close (server->connections.head->data);
  if (server->resume_source != NULL)
    {
      g_source_destroy (server->resume_source);
      g_clear_pointer (&server->resume_source, g_source_unref);
    }
}

void
jobd_legacy_server_free (JobdLegacyServer *server)
{
  if (server == NULL)
    return;
  jobd_legacy_server_stop (server);
  if (server->config != NULL)
    jobd_config_set_reload_hook (server->config, NULL, NULL);
  g_clear_pointer (&server->legacy, jobd_legacy_free);
  g_free (server);
}



int
jobd_listen_fd_by_name (const char *name, GError **error)
{
  int fd = jobd_fdstore_take (name);

  if (fd >= 0 && sd_is_socket (fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the descriptor systemd passed as %s is not a listening stream socket", name);
      close (fd);
      return -1;
    }
  return fd;
}

/* Numeric addresses only: no DNS lookup on the main loop. */
static GSocket *
listen_configured (JobdLegacyServer *server, GError **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketAddressEnumerator) enumerator = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;

  connectable = g_network_address_parse (server->legacy->conf.listen, 13123, error);
  if (connectable == NULL)
    return NULL;
  enumerator = g_socket_connectable_enumerate (connectable);
  address = g_socket_address_enumerator_next (enumerator, NULL, error);
  if (address == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                     "[Legacy] Listen=%s: no address", server->legacy->conf.listen);
      return NULL;
    }
  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  /* GLib's default backlog of 10 refuses bursts of clients. */
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    {
      g_prefix_error (error, "legacy listener on %s: ", server->legacy->conf.listen);
      return NULL;
    }
  g_message ("legacy protocol listening on %s", server->legacy->conf.listen);
  return g_steal_pointer (&socket);
}

static GSocket *
listen_activated (int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }
  g_message ("legacy protocol listening on the socket from systemd (%s)",
             JOBD_LEGACY_SOCKET_NAME);
  return g_steal_pointer (&socket);
}

gboolean
jobd_legacy_server_start (JobdLegacyServer *server, GError **error)
{
  int fd;

  g_return_val_if_fail (server->listener == NULL, FALSE);

  /* Schedules fire and logs expire even with the listener disabled. */
  if (!jobd_legacy_start_plugins (server->legacy, error))
    return FALSE;

  fd = jobd_listen_fd_by_name (JOBD_LEGACY_SOCKET_NAME, error);
  if (fd < 0 && error != NULL && *error != NULL)
    return FALSE;
  if (!server->legacy->conf.enable)
    {
      /* Off means off, even when jobd-legacy.socket is still enabled. */
      if (fd >= 0)
        {
          g_message ("legacy protocol disabled ([Legacy] Enable=false): not serving "
                     "the socket systemd passed (%s); disable jobd-legacy.socket",
                     JOBD_LEGACY_SOCKET_NAME);
          close (fd);
        }
      else
        g_debug ("legacy protocol disabled ([Legacy] Enable=false)");
      return TRUE;
    }

  server->listener = fd >= 0 ? listen_activated (fd, error) : listen_configured (server, error);
  if (server->listener == NULL)
    return FALSE;
  /* accept() is called until it would block: it must not block. */
  if (!g_unix_set_fd_nonblocking (g_socket_get_fd (server->listener), TRUE, error))
    {
      g_clear_object (&server->listener);
      return FALSE;
    }
  watch_listener (server);
  return TRUE;
}
