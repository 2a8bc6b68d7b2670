/* SPDX-License-Identifier: MIT */
/* jobd-readiness.c — log, tcp and exec-probe readiness. */
#include "config.h"

#include "jobd-readiness.h"

#include <signal.h>

#include "jobd-log.h"
#include "jobd-process.h"

struct _JobdReadiness {
  char *job_name;
  JobdReadyMode mode;
  JobdReadinessFunc func;
  gpointer user_data;

  /* log */
  JobdOutput *output;
  GRegex *regex;

  /* tcp, exec-probe */
  guint16 port;
  JobdChildSpec probe_child;
  guint interval_ms;
  guint retry_timer;
  GCancellable *cancellable;   /* the TCP connect under way */
  JobdProcess *probe;          /* the exec probe under way */
  gulong probe_exited;
  guint probe_timer;
};

static void probe_now (JobdReadiness *self);

static void
report_ready (JobdReadiness *self)
{
  /* Last: func may free self. */
  self->func (self->user_data);
}

static gboolean
on_retry_timer (gpointer user_data)
{
  JobdReadiness *self = user_data;

  self->retry_timer = 0;
  probe_now (self);
  return G_SOURCE_REMOVE;
}

static void
retry_later (JobdReadiness *self)
{
  self->retry_timer = g_timeout_add (self->interval_ms, on_retry_timer, self);
  self->interval_ms = MIN (self->interval_ms * 2, JOBD_READINESS_INTERVAL_MAX_MS);
}

/* ---- log:REGEX ---- */

static void
on_line (const char *job_name, const JobdLine *line, gpointer user_data)
{
  JobdReadiness *self = user_data;

  if (!g_regex_match (self->regex, line->text, 0, NULL))
    return;
  jobd_output_set_line_watcher (self->output, NULL, NULL);
  jobd_job_debug (job_name, "job %s: ready: output line matched", job_name);
  report_ready (self);
}

/* ---- tcp:PORT ---- */

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  JobdReadiness *self;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* freed: user_data is gone */
  self = user_data;
  g_clear_object (&self->cancellable);
  if (connection == NULL)
    {
      retry_later (self);
      return;
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  jobd_job_debug (self->job_name, "job %s: ready: 127.0.0.1:%u answers", self->job_name,
                  (guint) self->port);
  report_ready (self);
}

static void
probe_tcp (JobdReadiness *self)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->port);

  /* Loopback answers or refuses at once; the timeout only guards a full
   * listen backlog. */
  g_socket_client_set_timeout (client, 1);
  self->cancellable = g_cancellable_new ();
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), self->cancellable,
                                 on_connected, self);
}

/* ---- exec-probe:COMMAND ---- */

static void
probe_forget (JobdReadiness *self)
{
  JobdProcess *probe = g_steal_pointer (&self->probe);

  g_clear_handle_id (&self->probe_timer, g_source_remove);
  if (probe == NULL)
    return;
  g_clear_signal_handler (&self->probe_exited, probe);
  if (jobd_process_has_exited (probe))
    {
      g_object_unref (probe);
      return;
    }
  /* Killed, and kept until its exit is reaped (through its pidfd), so no
   * zombie is left: the reference goes with the exit. */
  jobd_process_kill_main (probe, SIGKILL, NULL);
  kill (-jobd_process_get_pid (probe), SIGKILL);   /* its own session and group */
  g_signal_connect (probe, "exited", G_CALLBACK (g_object_unref), NULL);
}

static void
on_probe_exited (JobdProcess *probe, int code, int signo, gpointer user_data)
{
  JobdReadiness *self = user_data;

  g_clear_handle_id (&self->probe_timer, g_source_remove);
  g_clear_signal_handler (&self->probe_exited, probe);
  g_clear_object (&self->probe);
  if (code != 0 || signo > 0)
    {
      retry_later (self);
      return;
    }
  jobd_job_debug (self->job_name, "job %s: ready: the exec probe exited 0", self->job_name);
  report_ready (self);
}

static gboolean
on_probe_timeout (gpointer user_data)
{
  JobdReadiness *self = user_data;

  self->probe_timer = 0;
  jobd_job_message (self->job_name, "job %s: the readiness probe ran longer than %u ms, killed",
                    self->job_name, JOBD_READINESS_PROBE_TIMEOUT_MS);
  probe_forget (self);
  retry_later (self);
  return G_SOURCE_REMOVE;
}

static void
probe_exec (JobdReadiness *self)
{
  g_autoptr(GError) error = NULL;
  GPid pid = 0;
  int pidfd = -1;

  if (!jobd_child_spawn (&self->probe_child, &pid, &pidfd, &error))
    {
      jobd_job_warning (self->job_name, "job %s: cannot run the readiness probe: %s",
                        self->job_name, error->message);
      retry_later (self);
      return;
    }
  self->probe = g_object_new (JOBD_TYPE_PROCESS, NULL);
  jobd_process_setup (self->probe, pid, pidfd, TRUE);
  self->probe_exited = g_signal_connect (self->probe, "exited",
                                         G_CALLBACK (on_probe_exited), self);
  self->probe_timer = g_timeout_add (JOBD_READINESS_PROBE_TIMEOUT_MS, on_probe_timeout, self);
}

static void
probe_now (JobdReadiness *self)
{
  if (self->mode == JOBD_READY_TCP)
    probe_tcp (self);
  else
    probe_exec (self);
}

/* ---- life cycle ---- */

static void
probe_child_init (JobdChildSpec *probe, const JobdChildSpec *job, const char *command)
{
  const char *argv[] = { "/bin/sh", "-c", command, NULL };

  jobd_child_spec_copy (probe, job);
  g_strfreev (probe->argv);
  probe->argv = g_strdupv ((char **) argv);
  probe->stdout_fd = -1;
  probe->stderr_fd = -1;
  probe->cgroup_fds[0] = probe->cgroup_fds[1] = -1;
}

JobdReadiness *
jobd_readiness_new (const char *job_name,
                    const JobdReadySpec *spec,
                    JobdOutput *output,
                    const JobdChildSpec *probe_child,
                    JobdReadinessFunc func,
                    gpointer user_data)
{
  JobdReadiness *self = g_new0 (JobdReadiness, 1);

  self->job_name = g_strdup (job_name);
  self->mode = spec->mode;
  self->func = func;
  self->user_data = user_data;
  self->interval_ms = JOBD_READINESS_INTERVAL_MIN_MS;
  self->probe_child.stdout_fd = self->probe_child.stderr_fd = -1;
  self->probe_child.cgroup_fds[0] = self->probe_child.cgroup_fds[1] = -1;

  switch (spec->mode)
    {
    case JOBD_READY_LOG:
      /* Validated with the settings. */
      self->regex = g_regex_new (spec->argument, G_REGEX_OPTIMIZE, 0, NULL);
      g_return_val_if_fail (self->regex != NULL, self);
      self->output = g_object_ref (output);
      jobd_output_set_line_watcher (output, on_line, self);
      break;
    case JOBD_READY_TCP:
      self->port = spec->port;
      probe_now (self);
      break;
    case JOBD_READY_EXEC_PROBE:
      probe_child_init (&self->probe_child, probe_child, spec->argument);
      probe_now (self);
      break;
    case JOBD_READY_EXEC:
    case JOBD_READY_NOTIFY:
    default:
      break;
    }
  return self;
}

void
jobd_readiness_free (JobdReadiness *self)
{
  if (self == NULL)
    return;
  if (self->output != NULL)
    {
      jobd_output_set_line_watcher (self->output, NULL, NULL);
      g_object_unref (self->output);
    }
  g_clear_pointer (&self->regex, g_regex_unref);
  g_clear_handle_id (&self->retry_timer, g_source_remove);
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_object_unref (self->cancellable);
    }
  probe_forget (self);
  jobd_child_spec_clear (&self->probe_child);
  g_free (self->job_name);
  g_free (self);
}
