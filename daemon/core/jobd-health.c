/* SPDX-License-Identifier: MIT */
/* jobd-health.c — a job's liveness probe and the restart it decides. */
#include "config.h"

#include "jobd-health.h"

#include "jobd-launch.h"
#include "jobd-log.h"
#include "jobd-probe.h"

typedef struct {
  JobdJob *job;               /* not owned: the watcher goes with the job */
  gulong state_handler;
  gulong changed_handler;

  /* Taken when the job goes up or its health settings change */
  gboolean armed;
  char *armed_text;           /* the health setting in force */
  JobdProbeSpec spec;
  JobdChildSpec child;        /* exec: how the job runs */
  guint interval_ms;
  guint timeout_ms;
  guint threshold;

  guint timer;
  JobdProbe *probe;           /* at most one under way */

  /* What GetRuntime shows */
  const char *status;         /* unknown, passing, failing */
  guint failures;             /* in a row */
  char *last_result;
  gint64 last_at;             /* µs since the epoch, 0 = never */
} JobdHealth;

static GQuark
health_quark (void)
{
  return g_quark_from_static_string ("jobd-health");
}

static void
disarm (JobdHealth *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_pointer (&self->probe, jobd_probe_free);   /* an exec probe is killed */
  jobd_probe_spec_clear (&self->spec);
  jobd_child_spec_clear (&self->child);
  g_clear_pointer (&self->armed_text, g_free);
  self->armed = FALSE;
}

static gboolean on_timer (gpointer user_data);

static void
schedule (JobdHealth *self)
{
  self->timer = g_timeout_add (self->interval_ms, on_timer, self);
}

static gboolean
restart_job (JobdHealth *self)
{
  const char *name = jobd_job_get_name (self->job);
  g_autofree char *message = g_strdup_printf ("the health probe failed %u times in a row (%s)",
                                              self->failures, self->last_result);
  g_autoptr(GError) error = NULL;

  /* The job leaves "up" at once: disarm() runs from its state change. */
  if (jobd_job_restart_for (self->job, JOBD_REASON_HEALTH, NULL, message, &error))
    return TRUE;
  jobd_job_debug (name, "job %s: no health restart: %s", name, error->message);
  return FALSE;
}

static void
on_probe_done (gboolean ok, const char *result, gpointer user_data)
{
  JobdHealth *self = user_data;
  const char *name = jobd_job_get_name (self->job);

  g_clear_pointer (&self->probe, jobd_probe_free);
  g_free (self->last_result);
  self->last_result = g_strdup (result);
  self->last_at = g_get_real_time ();
  if (ok)
    {
      if (self->failures > 0)
        jobd_job_message (name, "job %s: the health probe passes again: %s", name, result);
      self->failures = 0;
      self->status = "passing";
    }
  else
    {
      self->failures++;
      self->status = "failing";
      jobd_job_message (name, "job %s: the health probe failed (%u of %u): %s", name,
                        self->failures, self->threshold, result);
    }
  if (self->failures < self->threshold || !restart_job (self))
    schedule (self);
}

static gboolean
on_timer (gpointer user_data)
{
  JobdHealth *self = user_data;

  self->timer = 0;
  self->probe = jobd_probe_run (&self->spec, &self->child, jobd_job_get_pid (self->job),
                                self->timeout_ms, on_probe_done, self);
  return G_SOURCE_REMOVE;
}

/* The job is up: probe it with the settings of this run. */
static void
arm (JobdHealth *self)
{
  const JobdSettings *settings = jobd_job_get_settings (self->job);
  const char *name = jobd_job_get_name (self->job);
  g_autoptr(GError) error = NULL;

  self->failures = 0;
  if (settings->health == NULL)
    return;
  self->status = "unknown";
  if (!jobd_probe_spec_parse (settings->health, &self->spec, &error))
    {
      /* Validated with the settings: only a registry edited by hand. */
      jobd_job_warning (name, "job %s: no health probe: %s", name, error->message);
      return;
    }
  if (self->spec.kind == JOBD_PROBE_EXEC &&
      !jobd_launch_child_spec_init (&self->child, name, settings,
                                    jobd_job_get_owner_uid (self->job), &error))
    {
      jobd_job_warning (name, "job %s: cannot run the health probe: %s", name, error->message);
      jobd_probe_spec_clear (&self->spec);
      return;
    }
  self->interval_ms = settings->health_interval_ms;
  self->timeout_ms = settings->health_timeout_ms;
  self->threshold = MAX (settings->health_failures, 1);
  self->armed_text = g_strdup (settings->health);
  self->armed = TRUE;
  schedule (self);
}

static void
on_state_changed (JobdJob *job, int old_state, int new_state, GVariant *details,
                  gpointer user_data)
{
  JobdHealth *self = user_data;

  if (new_state == JOBD_STATE_UP && old_state != JOBD_STATE_UP)
    {
      disarm (self);
      arm (self);
    }
  else if (new_state != JOBD_STATE_UP)
    disarm (self);
}

/* Updated while up: a changed probe applies at once (as runtime-max-ms
 * and the limits do), with a new count. */
static void
on_changed (JobdJob *job, gboolean settings_changed, gpointer user_data)
{
  JobdHealth *self = user_data;
  const JobdSettings *settings = jobd_job_get_settings (job);

  if (!settings_changed || jobd_job_get_state (job) != JOBD_STATE_UP)
    return;
  if (g_strcmp0 (settings->health, self->armed_text) == 0 &&
      (!self->armed || (settings->health_interval_ms == self->interval_ms &&
                        settings->health_timeout_ms == self->timeout_ms &&
                        settings->health_failures == self->threshold)))
    return;
  disarm (self);
  arm (self);
}

static void
health_free (JobdHealth *self)
{
  disarm (self);
  g_free (self->last_result);
  g_free (self);
}

/* Disposed (removed, or jobd exiting): nothing may run after this. */
static void
on_job_disposed (gpointer user_data, GObject *where_the_job_was)
{
  JobdHealth *self = user_data;

  g_object_set_qdata (where_the_job_was, health_quark (), NULL);
  health_free (self);
}

void
jobd_health_attach (JobdJob *job)
{
  JobdHealth *self = g_new0 (JobdHealth, 1);

  self->job = job;
  self->status = "unknown";
  self->child.stdout_fd = self->child.stderr_fd = -1;
  self->child.cgroup_fds[0] = self->child.cgroup_fds[1] = -1;
  self->state_handler = g_signal_connect (job, "state-changed",
                                          G_CALLBACK (on_state_changed), self);
  self->changed_handler = g_signal_connect (job, "changed", G_CALLBACK (on_changed), self);
  g_object_set_qdata (G_OBJECT (job), health_quark (), self);
  g_object_weak_ref (G_OBJECT (job), on_job_disposed, self);
  if (jobd_job_get_state (job) == JOBD_STATE_UP)
    arm (self);
}

void
jobd_health_add_runtime (JobdJob *job, GVariantDict *runtime)
{
  JobdHealth *self = g_object_get_qdata (G_OBJECT (job), health_quark ());

  if (self == NULL || jobd_job_get_settings (job)->health == NULL)
    return;
  g_variant_dict_insert (runtime, "health-status", "s", self->status);
  g_variant_dict_insert (runtime, "health-failures-in-row", "u", self->failures);
  g_variant_dict_insert (runtime, "health-last-result", "s",
                         self->last_result != NULL ? self->last_result : "");
  g_variant_dict_insert (runtime, "health-last-at", "t", (guint64) MAX (self->last_at, 0));
}
