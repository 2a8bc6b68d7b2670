/* SPDX-License-Identifier: MIT */
/* jobd-readiness.c — log, tcp and exec-probe readiness. */
#include "config.h"

#include "jobd-readiness.h"

#include "jobd-log.h"
#include "jobd-probe.h"

struct _JobdReadiness {
  char *job_name;
  JobdReadyMode mode;
  JobdReadinessFunc func;
  gpointer user_data;

  /* log */
  JobdOutput *output;
  GRegex *regex;

  /* tcp, exec-probe */
  JobdProbeSpec probe_spec;
  JobdChildSpec probe_child;
  GPid job_pid;
  guint interval_ms;
  guint retry_timer;
  JobdProbe *probe;            /* the probe under way */
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

/* ---- tcp:PORT, exec-probe:COMMAND (jobd-probe.h) ---- */

static void
on_probe_done (gboolean ok, const char *result, gpointer user_data)
{
  JobdReadiness *self = user_data;

  g_clear_pointer (&self->probe, jobd_probe_free);
  if (!ok)
    {
      jobd_job_debug (self->job_name, "job %s: not ready yet: %s", self->job_name, result);
      retry_later (self);
      return;
    }
  jobd_job_debug (self->job_name, "job %s: ready: %s", self->job_name, result);
  report_ready (self);
}

static void
probe_now (JobdReadiness *self)
{
  /* Loopback answers or refuses at once: a short timeout only guards a
   * full listen backlog. */
  guint timeout_ms = self->probe_spec.kind == JOBD_PROBE_TCP ? JOBD_READINESS_TCP_TIMEOUT_MS
                                                             : JOBD_READINESS_PROBE_TIMEOUT_MS;

  self->probe = jobd_probe_run (&self->probe_spec, &self->probe_child, self->job_pid, timeout_ms,
                                on_probe_done, self);
}

/* ---- life cycle ---- */

JobdReadiness *
jobd_readiness_new (const char *job_name,
                    const JobdReadySpec *spec,
                    JobdOutput *output,
                    const JobdChildSpec *probe_child,
                    GPid job_pid,
                    JobdReadinessFunc func,
                    gpointer user_data)
{
  JobdReadiness *self = g_new0 (JobdReadiness, 1);

  self->job_name = g_strdup (job_name);
  self->mode = spec->mode;
  self->func = func;
  self->user_data = user_data;
  self->job_pid = job_pid;
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
      self->probe_spec.kind = JOBD_PROBE_TCP;
      self->probe_spec.port = spec->port;
      probe_now (self);
      break;
    case JOBD_READY_EXEC_PROBE:
      self->probe_spec.kind = JOBD_PROBE_EXEC;
      self->probe_spec.command = g_strdup (spec->argument);
      jobd_child_spec_copy (&self->probe_child, probe_child);
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
  g_clear_pointer (&self->probe, jobd_probe_free);
  jobd_probe_spec_clear (&self->probe_spec);
  jobd_child_spec_clear (&self->probe_child);
  g_free (self->job_name);
  g_free (self);
}
