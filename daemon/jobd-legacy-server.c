/* jobd-legacy-server.c — the legacy TCP listener.
 *
 * One Conn per client: read into a bounded buffer, cut frames, hand each
 * payload to the dispatcher, write the answer, repeat. While a request is
 * being dispatched the connection does not read, so a pipelining client
 * cannot grow jobd's memory. Every connection has a deadline by which the
 * next whole frame must have arrived (slow or silent clients are dropped),
 * and the number of connections is capped (the oldest idle one makes room).
 * Problems are logged once per kind per minute, not per client.
 */
#include "jobd-legacy-datafile.h"
#include "jobd-legacy-server.h"

#include "jobd-fdstore.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "jobd-error.h"

#define READ_CHUNK 16384
#define LOG_INTERVAL_USEC (60 * G_USEC_PER_SEC)

typedef enum {
  PROBLEM_TOO_LARGE,
  PROBLEM_TIMEOUT,
  PROBLEM_TRUNCATED,
  PROBLEM_FULL,
  PROBLEM_IO,
  N_PROBLEMS,
} Problem;

static const char *const problem_text[N_PROBLEMS] = {
  "frame larger than MaxFrameSize, connection dropped",
  "request not complete within ReadTimeoutSec, connection dropped",
  "connection closed in the middle of a frame",
  "MaxConnections reached, oldest idle connection dropped",
  "connection error",
};

typedef struct {
  gint64 last_usec;
  guint suppressed;
} RateLimit;

typedef struct _Conn Conn;

struct _JobdLegacyServer {
  JobdLegacy *legacy;
  gboolean enable;
  char *listen;
  gsize max_frame;
  guint read_timeout_sec;
  guint max_connections;
  GSocketService *service;
  GQueue connections;          /* Conn*, oldest first */
  RateLimit limits[N_PROBLEMS];
};

struct _Conn {
  JobdLegacyServer *server;    /* NULL once closed */
  GSocketConnection *stream;
  GByteArray *in;
  guint8 chunk[READ_CHUNK];
  GCancellable *cancellable;
  GSource *deadline;
  gboolean busy;               /* a request is being dispatched or answered */
  GList link;
  gint refs;
};

static void conn_read_more (Conn *conn);
static void conn_process (Conn *conn);

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
  g_clear_object (&conn->stream);
  g_clear_object (&conn->cancellable);
  g_byte_array_unref (conn->in);
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
  if (conn->deadline != NULL)
    {
      g_source_destroy (conn->deadline);
      g_clear_pointer (&conn->deadline, g_source_unref);
    }
  g_cancellable_cancel (conn->cancellable);
  /* Closing a socket does not block. */
  g_io_stream_close (G_IO_STREAM (conn->stream), NULL, NULL);
  conn_unref (conn);
}

static gboolean
conn_deadline_cb (gpointer user_data)
{
  Conn *conn = user_data;

  g_clear_pointer (&conn->deadline, g_source_unref);
  if (conn->server != NULL)
    log_problem (conn->server, PROBLEM_TIMEOUT, NULL);
  conn_close (conn);
  return G_SOURCE_REMOVE;
}

/* The next whole frame must arrive within the read timeout. */
static void
conn_arm_deadline (Conn *conn)
{
  if (conn->deadline != NULL)
    {
      g_source_destroy (conn->deadline);
      g_source_unref (conn->deadline);
    }
  conn->deadline = g_timeout_source_new_seconds (conn->server->read_timeout_sec);
  g_source_set_callback (conn->deadline, conn_deadline_cb, conn, NULL);
  g_source_attach (conn->deadline, NULL);
}

static void
conn_disarm_deadline (Conn *conn)
{
  if (conn->deadline == NULL)
    return;
  g_source_destroy (conn->deadline);
  g_clear_pointer (&conn->deadline, g_source_unref);
}

static void
write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (conn->server != NULL)
        {
          g_debug ("legacy: write failed: %s", error->message);
          conn_close (conn);
        }
      conn_unref (conn);
      return;
    }
  if (conn->server != NULL)
    {
      conn->busy = FALSE;
      conn_arm_deadline (conn);
      conn_process (conn);
    }
  conn_unref (conn);
}

/* Answer and continue (or close afterwards: close_after). */
static void
conn_send (Conn *conn, const char *payload, gsize len)
{
  g_autoptr(GBytes) frame = jobd_legacy_frame_encode (payload, len);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn->stream));
  gsize size;
  const guint8 *data = g_bytes_get_data (frame, &size);

  /* write_all_async copies nothing: keep the bytes alive with the task. */
  g_object_set_data_full (G_OBJECT (conn->stream), "jobd-legacy-out",
                          g_bytes_ref (frame), (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (out, data, size, G_PRIORITY_DEFAULT,
                                   conn->cancellable, write_done, conn_ref (conn));
}

static void
dispatch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;
  gsize len = 0;
  g_autofree char *payload = NULL;

  payload = jobd_legacy_dispatch_finish (conn->server != NULL ? conn->server->legacy : NULL,
                                         result, &len);
  if (conn->server != NULL)
    conn_send (conn, payload, len);
  conn_unref (conn);
}

static void
too_large_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  conn_close (conn);
  conn_unref (conn);
}

/* Answer FAILED, then drop: the rest of the stream cannot be resynchronised. */
static void
conn_reject_too_large (Conn *conn, gsize announced)
{
  g_autofree char *detail = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes announced", announced);
  gsize len;
  g_autofree char *payload = jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, &len);
  g_autoptr(GBytes) frame = jobd_legacy_frame_encode (payload, len);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn->stream));
  gsize size;
  const guint8 *data = g_bytes_get_data (frame, &size);

  log_problem (conn->server, PROBLEM_TOO_LARGE, detail);
  conn->busy = TRUE;
  conn_disarm_deadline (conn);
  g_object_set_data_full (G_OBJECT (conn->stream), "jobd-legacy-out",
                          g_bytes_ref (frame), (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (out, data, size, G_PRIORITY_DEFAULT,
                                   conn->cancellable, too_large_sent, conn_ref (conn));
}

/* Handle the frame at the start of the buffer, if complete. */
static void
conn_process (Conn *conn)
{
  gsize payload_len = 0;
  JobdLegacyFrameStatus status;
  g_autofree guint8 *payload = NULL;

  if (conn->busy || conn->server == NULL)
    return;

  status = jobd_legacy_frame_check (conn->in->data, conn->in->len,
                                    conn->server->max_frame, &payload_len);
  switch (status)
    {
    case JOBD_LEGACY_FRAME_TOO_LARGE:
      conn_reject_too_large (conn, payload_len);
      return;
    case JOBD_LEGACY_FRAME_INCOMPLETE:
      conn_read_more (conn);
      return;
    case JOBD_LEGACY_FRAME_COMPLETE:
    default:
      break;
    }

  payload = g_memdup2 (conn->in->data + JOBD_LEGACY_FRAME_HEADER, payload_len);
  g_byte_array_remove_range (conn->in, 0, JOBD_LEGACY_FRAME_HEADER + payload_len);
  conn->busy = TRUE;
  conn_disarm_deadline (conn);
  jobd_legacy_dispatch_async (conn->server->legacy, payload, payload_len, NULL,
                              dispatch_done, conn_ref (conn));
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (conn->server == NULL)
    {
      conn_unref (conn);
      return;
    }
  if (n < 0)
    {
      log_problem (conn->server, PROBLEM_IO, error->message);
      conn_close (conn);
    }
  else if (n == 0)
    {
      /* A client closing after its answer is the normal end. */
      if (conn->in->len > 0)
        log_problem (conn->server, PROBLEM_TRUNCATED, NULL);
      conn_close (conn);
    }
  else
    {
      g_byte_array_append (conn->in, conn->chunk, n);
      conn_process (conn);
    }
  conn_unref (conn);
}

static void
conn_read_more (Conn *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn->stream));

  g_input_stream_read_async (in, conn->chunk, sizeof conn->chunk, G_PRIORITY_DEFAULT,
                             conn->cancellable, read_done, conn_ref (conn));
}

/* Make room by dropping the oldest connection that is not mid-request. */
static gboolean
evict_oldest_idle (JobdLegacyServer *server)
{
  for (GList *l = server->connections.head; l != NULL; l = l->next)
    {
      Conn *conn = l->data;

      if (!conn->busy)
        {
          log_problem (server, PROBLEM_FULL, NULL);
          conn_close (conn);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
incoming_cb (GSocketService *service,
             GSocketConnection *stream,
             GObject *source_object,
             gpointer user_data)
{
  JobdLegacyServer *server = user_data;
  Conn *conn;

  if (g_queue_get_length (&server->connections) >= server->max_connections
      && !evict_oldest_idle (server))
    {
      log_problem (server, PROBLEM_FULL, "every connection is busy, new one refused");
      g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
      return TRUE;
    }

  conn = g_new0 (Conn, 1);
  conn->refs = 1;   /* held by server->connections until conn_close */
  conn->server = server;
  conn->stream = g_object_ref (stream);
  conn->in = g_byte_array_new ();
  conn->cancellable = g_cancellable_new ();
  conn->link.data = conn;
  g_queue_push_tail_link (&server->connections, &conn->link);

  conn_arm_deadline (conn);
  conn_read_more (conn);
  return TRUE;
}

JobdLegacyServer *
jobd_legacy_server_new (JobdManager *manager, JobdConfig *config, GError **error)
{
  g_autoptr(JobdLegacyServer) server = g_new0 (JobdLegacyServer, 1);
  GKeyFile *keyfile = config->keyfile;
  guint64 max_frame = JOBD_LEGACY_FRAME_MAX_DEFAULT, timeout = 10, max_conn = 512;
  g_autoptr(GError) local = NULL;

  g_queue_init (&server->connections);
  server->enable = g_key_file_get_boolean (keyfile, JOBD_LEGACY_GROUP, "Enable", &local);
  if (local != NULL)
    {
      if (!g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
          && !g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "[Legacy] Enable: %s", local->message);
          return NULL;
        }
      server->enable = TRUE;
    }
  server->listen = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, "Listen", NULL);
  if (server->listen == NULL)
    server->listen = g_strdup (JOBD_LEGACY_LISTEN_DEFAULT);
  if (!jobd_legacy_config_uint (keyfile, "MaxFrameSize", 64, G_MAXUINT32, &max_frame, error)
      || !jobd_legacy_config_uint (keyfile, "ReadTimeoutSec", 1, 3600, &timeout, error)
      || !jobd_legacy_config_uint (keyfile, "MaxConnections", 1, 65536, &max_conn, error))
    return NULL;
  server->max_frame = max_frame;
  server->read_timeout_sec = timeout;
  server->max_connections = max_conn;

  server->legacy = jobd_legacy_new (manager, config, error);
  if (server->legacy == NULL)
    return NULL;
  return g_steal_pointer (&server);
}

void
jobd_legacy_server_stop (JobdLegacyServer *server)
{
  if (server->service != NULL)
    {
      g_socket_service_stop (server->service);
      g_socket_listener_close (G_SOCKET_LISTENER (server->service));
      g_signal_handlers_disconnect_by_data (server->service, server);
      g_clear_object (&server->service);
    }
  while (server->connections.head != NULL)
    conn_close (server->connections.head->data);
}

void
jobd_legacy_server_free (JobdLegacyServer *server)
{
  if (server == NULL)
    return;
  jobd_legacy_server_stop (server);
  g_clear_pointer (&server->legacy, jobd_legacy_free);
  g_free (server->listen);
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

static gboolean
add_configured_address (JobdLegacyServer *server, GError **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketAddressEnumerator) enumerator = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;

  /* Numeric addresses only: no DNS lookup on the main loop. */
  connectable = g_network_address_parse (server->listen, 13123, error);
  if (connectable == NULL)
    return FALSE;
  enumerator = g_socket_connectable_enumerate (connectable);
  address = g_socket_address_enumerator_next (enumerator, NULL, error);
  if (address == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                     "[Legacy] Listen=%s: no address", server->listen);
      return FALSE;
    }
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    {
      g_prefix_error (error, "legacy listener on %s: ", server->listen);
      return FALSE;
    }
  g_message ("legacy protocol listening on %s", server->listen);
  return TRUE;
}

static gboolean
add_activated_socket (JobdLegacyServer *server, int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    return FALSE;
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (server->service), socket,
                                     NULL, error))
    return FALSE;
  g_message ("legacy protocol listening on the socket from systemd (%s)",
             JOBD_LEGACY_SOCKET_NAME);
  return TRUE;
}

gboolean
jobd_legacy_server_start (JobdLegacyServer *server, GError **error)
{
  int fd;

  g_return_val_if_fail (server->service == NULL, FALSE);

  /* Schedules fire and logs expire even with the listener disabled. */
  if (!jobd_legacy_start_plugins (server->legacy, error))
    return FALSE;

  fd = jobd_listen_fd_by_name (JOBD_LEGACY_SOCKET_NAME, error);
  if (fd < 0 && error != NULL && *error != NULL)
    return FALSE;
  if (fd < 0 && !server->enable)
    {
      g_debug ("legacy protocol disabled ([Legacy] Enable=false)");
      return TRUE;
    }

  server->service = g_socket_service_new ();
  /* GLib's default backlog of 10 refuses bursts of clients. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (server->service), SOMAXCONN);
  g_signal_connect (server->service, "incoming", G_CALLBACK (incoming_cb), server);
  if (!(fd >= 0 ? add_activated_socket (server, fd, error)
                : add_configured_address (server, error)))
    {
      g_clear_object (&server->service);
      return FALSE;
    }
  g_socket_service_start (server->service);
  return TRUE;
}
