/* SPDX-License-Identifier: MIT */
/* jobd-probe.c — tcp, http and exec probes, each run once with a timeout. */
#include "config.h"

#include "jobd-probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "jobd-cgroup.h"
#include "jobd-error.h"
#include "jobd-fdwatch.h"
#include "jobd-process.h"

#define PROBE_ERROR(...) \
  (g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, __VA_ARGS__), FALSE)

/* ---- the health setting ---- */

gboolean
jobd_probe_port_parse (const char *setting, const char *text, guint16 *port, GError **error)
{
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &value, NULL))
    return PROBE_ERROR ("%s: bad port '%s': use tcp:PORT with PORT 1..65535", setting, text);
  *port = (guint16) value;
  return TRUE;
}

/* http://HOST[:PORT][/PATH[?QUERY]] with HOST 127.0.0.1 or localhost. */
static gboolean
parse_http (const char *url, JobdProbeSpec *spec, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, &local);
  const char *host;
  const char *path;
  int port;

  if (uri == NULL)
    return PROBE_ERROR ("health: '%s' is not a URL: %s", url, local->message);
  if (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0)
    return PROBE_ERROR ("health: '%s': only http:// is probed (no TLS on loopback)", url);
  host = g_uri_get_host (uri);
  if (host == NULL || (g_ascii_strcasecmp (host, "127.0.0.1") != 0 &&
                       g_ascii_strcasecmp (host, "localhost") != 0))
    return PROBE_ERROR ("health: '%s': the host must be 127.0.0.1 (jobd probes its own "
                        "jobs on the loopback address, never another host)", url);
  if (g_uri_get_userinfo (uri) != NULL)
    return PROBE_ERROR ("health: '%s': no user:password@ in a probe URL", url);
  port = g_uri_get_port (uri);
  if (port == 0 || port > 65535)
    return PROBE_ERROR ("health: '%s': bad port", url);
  path = g_uri_get_path (uri);
  spec->kind = JOBD_PROBE_HTTP;
  spec->port = port < 0 ? 80 : (guint16) port;
  spec->path = g_strconcat (*path == '\0' ? "/" : path,
                            g_uri_get_query (uri) != NULL ? "?" : "",
                            g_uri_get_query (uri) != NULL ? g_uri_get_query (uri) : "", NULL);
  if (strpbrk (spec->path, " \r\n") != NULL)
    {
      g_clear_pointer (&spec->path, g_free);
      return PROBE_ERROR ("health: '%s': a space or line break in the path", url);
    }
  return TRUE;
}

gboolean
jobd_probe_spec_parse (const char *text, JobdProbeSpec *spec, GError **error)
{
  JobdProbeSpec parsed = { JOBD_PROBE_TCP, 0, NULL, NULL };

  if (text == NULL || *text == '\0')
    return PROBE_ERROR ("health: empty: use exec:COMMAND, tcp:PORT or "
                        "http://127.0.0.1:PORT/PATH");
  if (g_str_has_prefix (text, "tcp:"))
    {
      if (!jobd_probe_port_parse ("health", text + 4, &parsed.port, error))
        return FALSE;
    }
  else if (g_str_has_prefix (text, "exec:"))
    {
      if (text[5] == '\0')
        return PROBE_ERROR ("health: exec:COMMAND needs a command");
      parsed.kind = JOBD_PROBE_EXEC;
      parsed.command = g_strdup (text + 5);
    }
  else if (g_str_has_prefix (text, "http:"))
    {
      /* http://... is the URL itself; http:URL (the spelling) wraps it. */
      const char *url = g_str_has_prefix (text, "http:http") ? text + 5 : text;
      if (!parse_http (url, &parsed, error))
        return FALSE;
    }
  else if (g_str_has_prefix (text, "https:"))
    return PROBE_ERROR ("health: '%s': only http:// is probed (no TLS on loopback)", text);
  else
    return PROBE_ERROR ("health: unknown probe '%s': use exec:COMMAND, tcp:PORT or "
                        "http://127.0.0.1:PORT/PATH", text);

  if (spec != NULL)
    *spec = parsed;
  else
    jobd_probe_spec_clear (&parsed);
  return TRUE;
}

void
jobd_probe_spec_clear (JobdProbeSpec *spec)
{
  g_clear_pointer (&spec->path, g_free);
  g_clear_pointer (&spec->command, g_free);
}

/* ---- a probe under way ---- */

struct _JobdProbe {
  guint refs;                 /* the owner, and each asynchronous call under way */
  JobdProbeKind kind;
  JobdProbeFunc func;         /* NULL once reported or cancelled */
  gpointer user_data;
  guint timeout_ms;
  guint timer;                /* the timeout, or a failure to start (idle) */
  char *timer_text;           /* what its firing reports */

  /* tcp, http */
  guint16 port;
  GCancellable *cancellable;
  GSocketConnection *connection;
  char *request;
  char status[JOBD_PROBE_STATUS_LINE_MAX];
  gsize status_len;

  /* exec */
  JobdProcess *process;
  gulong exited;
  int output_fd;
  JobdFdWatch *output_watch;
  GString *output;
};

static JobdProbe *
probe_ref (JobdProbe *self)
{
  self->refs++;
  return self;
}

static void
probe_unref (JobdProbe *self)
{
  if (--self->refs > 0)
    return;
  g_free (self->timer_text);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->connection);
  g_free (self->request);
  if (self->output != NULL)
    g_string_free (self->output, TRUE);
  g_free (self);
}

static void
close_output (JobdProbe *self)
{
  g_clear_pointer (&self->output_watch, jobd_fd_watch_remove);
  if (self->output_fd >= 0)
    close (self->output_fd);
  self->output_fd = -1;
}

/* Killed with its process group, and kept until its exit is reaped
 * (through its pidfd), so no zombie is left: the reference goes with the
 * exit. */
static void
forget_process (JobdProbe *self)
{
  JobdProcess *process = g_steal_pointer (&self->process);

  if (process == NULL)
    return;
  g_clear_signal_handler (&self->exited, process);
  if (jobd_process_has_exited (process))
    {
      g_object_unref (process);
      return;
    }
  jobd_process_kill_main (process, SIGKILL, NULL);
  kill (-jobd_process_get_pid (process), SIGKILL);   /* its own session and group */
  g_signal_connect (process, "exited", G_CALLBACK (g_object_unref), NULL);
}

/* Whatever is still under way ends; no callback will come. */
static void
probe_halt (JobdProbe *self)
{
  self->func = NULL;
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  close_output (self);
  forget_process (self);
}

static void G_GNUC_PRINTF (3, 4)
report (JobdProbe *self, gboolean ok, const char *format, ...)
{
  JobdProbeFunc func = self->func;
  g_autofree char *text = NULL;
  va_list args;

  if (func == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  probe_halt (self);
  /* Last: func may free the probe. */
  func (ok, text, self->user_data);
}

static gboolean
on_timer (gpointer user_data)
{
  JobdProbe *self = user_data;

  self->timer = 0;
  report (self, FALSE, "%s", self->timer_text);
  return G_SOURCE_REMOVE;
}

/* The probe could not start: a failure, from the main loop all the same. */
static void
fail_later (JobdProbe *self, const char *text)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  g_free (self->timer_text);
  self->timer_text = g_strdup (text);
  self->timer = g_idle_add (on_timer, self);
}

/* ---- tcp and http ---- */

static void http_read_more (JobdProbe *self);

static void
connect_loopback (JobdProbe *self, GAsyncReadyCallback callback)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->port);

  self->cancellable = g_cancellable_new ();
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), self->cancellable,
                                 callback, probe_ref (self));
}

static void
on_tcp_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JobdProbe *self = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      report (self, TRUE, "127.0.0.1:%u accepts", (guint) self->port);
    }
  else
    report (self, FALSE, "127.0.0.1:%u: %s", (guint) self->port, error->message);
  probe_unref (self);
}

/* The status line "HTTP/1.x NNN reason": 2xx and 3xx pass. */
static void
http_judge (JobdProbe *self)
{
  char *end = memchr (self->status, '\n', self->status_len);
  g_autofree char *line = g_strndup (self->status, end ? (gsize) (end - self->status)
                                                       : self->status_len);
  unsigned major = 0, minor = 0, code = 0;

  g_strchomp (line);
  if (sscanf (line, "HTTP/%u.%u %3u", &major, &minor, &code) != 3 || code < 100 || code > 999)
    {
      report (self, FALSE, "127.0.0.1:%u: not an HTTP answer", (guint) self->port);
      return;
    }
  report (self, code >= 200 && code < 400, "HTTP %u", code);
}

static void
on_http_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JobdProbe *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (self->func == NULL)
    ;   /* cancelled, or the timeout came first */
  else if (n < 0)
    report (self, FALSE, "127.0.0.1:%u: %s", (guint) self->port, error->message);
  else
    {
      self->status_len += (gsize) n;
      /* Only the status line is read: a body, endless or not, never is. */
      if (n == 0 || memchr (self->status, '\n', self->status_len) != NULL ||
          self->status_len == sizeof self->status)
        http_judge (self);
      else
        http_read_more (self);
    }
  probe_unref (self);
}

static void
http_read_more (JobdProbe *self)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (self->connection));

  g_input_stream_read_async (in, self->status + self->status_len,
                             sizeof self->status - self->status_len, G_PRIORITY_DEFAULT,
                             self->cancellable, on_http_read, probe_ref (self));
}

static void
on_http_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JobdProbe *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    report (self, FALSE, "127.0.0.1:%u: %s", (guint) self->port, error->message);
  else if (self->func != NULL)
    http_read_more (self);
  probe_unref (self);
}

static void
on_http_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JobdProbe *self = user_data;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;

  self->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (self->connection == NULL)
    report (self, FALSE, "127.0.0.1:%u: %s", (guint) self->port, error->message);
  else if (self->func == NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  else
    {
      out = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
      g_output_stream_write_all_async (out, self->request, strlen (self->request),
                                       G_PRIORITY_DEFAULT, self->cancellable,
                                       on_http_written, probe_ref (self));
    }
  probe_unref (self);
}

/* ---- exec ---- */

static void
output_keep (JobdProbe *self, const char *data, gsize len)
{
  gsize room = JOBD_PROBE_OUTPUT_MAX - MIN (self->output->len, JOBD_PROBE_OUTPUT_MAX);

  g_string_append_len (self->output, data, MIN (len, room));
}

/* One bounded slice per call; what does not fit is read and dropped. */
static gboolean
read_output (JobdProbe *self)
{
  char buffer[4096];
  gssize n = read (self->output_fd, buffer, sizeof buffer);

  if (n > 0)
    {
      output_keep (self, buffer, (gsize) n);
      return TRUE;
    }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static gboolean
on_output (int fd, GIOCondition condition, gpointer user_data)
{
  JobdProbe *self = user_data;

  if (read_output (self))
    return G_SOURCE_CONTINUE;
  close_output (self);   /* the watch is removed before its fd is closed */
  return G_SOURCE_REMOVE;
}

/* The output as one line of text: control characters become spaces. */
static char *
output_text (JobdProbe *self)
{
  g_autofree char *valid = g_utf8_make_valid (self->output->str, (gssize) self->output->len);

  for (char *p = valid; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return g_strdup (g_strstrip (valid));
}

static void
on_exec_exited (JobdProcess *process, int code, int signo, gpointer user_data)
{
  JobdProbe *self = user_data;
  g_autofree char *text = NULL;

  /* What it wrote before it ended; a child it left may hold the pipe open,
   * so no waiting for the end of the stream, and a bounded number of reads. */
  for (int i = 0; i < 16 && self->output_fd >= 0 && read_output (self); i++)
    ;
  text = output_text (self);
  if (signo > 0)
    report (self, FALSE, "killed by signal %d%s%s", signo, *text ? ": " : "", text);
  else
    report (self, code == 0, "exit code %d%s%s", code, *text ? ": " : "", text);
}

/* The cgroup.procs of the job's cgroup when it has one of its own (its
 * scope, or the direct backend's job-NAME): the probe is part of the job,
 * as systemd runs ExecStartPost= in the service's cgroup, so what it
 * leaves behind is stopped with the job and its memory counts there.
 * -1 when the job shares jobd's cgroup or it cannot be opened. */
static int
open_job_cgroup (GPid job_pid)
{
  g_autofree char *path = NULL;
  g_autofree char *own = NULL;

  if (job_pid <= 0 || (path = jobd_cgroup_path_of_pid (job_pid, NULL)) == NULL
      || (own = jobd_cgroup_path_of_pid (getpid (), NULL)) == NULL || g_str_equal (path, own))
    return -1;
  return jobd_cgroup_open_procs (JOBD_CGROUP_ROOT, path);
}

static void
start_exec (JobdProbe *self, const JobdChildSpec *job_child, GPid job_pid,
            const char *command)
{
  const char *argv[] = { "/bin/sh", "-c", command, NULL };
  g_auto(JobdChildSpec) child = { 0 };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;
  int pidfd = -1;
  int fds[2];
  gboolean spawned;

  self->output = g_string_new (NULL);
  if (!g_unix_open_pipe (fds, FD_CLOEXEC, &error))
    {
      fail_later (self, error->message);
      return;
    }
  jobd_child_spec_copy (&child, job_child);
  g_strfreev (child.argv);
  child.argv = g_strdupv ((char **) argv);
  child.stdout_fd = child.stderr_fd = fds[1];
  child.cgroup_fds[0] = open_job_cgroup (job_pid);
  child.cgroup_fds[1] = -1;
  spawned = jobd_child_spawn (&child, &pid, &pidfd, &error);
  if (child.cgroup_fds[0] >= 0)
    close (child.cgroup_fds[0]);
  if (!spawned)
    {
      close (fds[0]);
      close (fds[1]);
      fail_later (self, error->message);
      return;
    }
  close (fds[1]);
  self->output_fd = fds[0];
  g_unix_set_fd_nonblocking (self->output_fd, TRUE, NULL);
  self->output_watch = jobd_fd_watch_add (NULL, self->output_fd, G_IO_IN, on_output, self, NULL);
  self->process = g_object_new (JOBD_TYPE_PROCESS, NULL);
  jobd_process_setup (self->process, pid, pidfd, TRUE);
  self->exited = g_signal_connect (self->process, "exited", G_CALLBACK (on_exec_exited), self);
}

/* ---- running one ---- */

JobdProbe *
jobd_probe_run (const JobdProbeSpec *spec,
                const JobdChildSpec *job_child,
                GPid job_pid,
                guint timeout_ms,
                JobdProbeFunc func,
                gpointer user_data)
{
  JobdProbe *self = g_new0 (JobdProbe, 1);

  self->refs = 1;
  self->kind = spec->kind;
  self->func = func;
  self->user_data = user_data;
  self->timeout_ms = MAX (timeout_ms, 1);
  self->port = spec->port;
  self->output_fd = -1;
  self->timer_text = g_strdup_printf ("timed out after %u ms", self->timeout_ms);
  self->timer = g_timeout_add (self->timeout_ms, on_timer, self);
  switch (spec->kind)
    {
    case JOBD_PROBE_TCP:
      connect_loopback (self, on_tcp_connected);
      break;
    case JOBD_PROBE_HTTP:
      self->request = g_strdup_printf ("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n"
                                       "User-Agent: jobd-probe\r\nConnection: close\r\n\r\n",
                                       spec->path, (guint) spec->port);
      connect_loopback (self, on_http_connected);
      break;
    case JOBD_PROBE_EXEC:
    default:
      start_exec (self, job_child, job_pid, spec->command);
      break;
    }
  return self;
}

void
jobd_probe_free (JobdProbe *self)
{
  if (self == NULL)
    return;
  probe_halt (self);
  probe_unref (self);
}
