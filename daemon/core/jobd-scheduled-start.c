/* SPDX-License-Identifier: MIT */
/* jobd-scheduled-start.c — schedules → the timer engine → starts (see .h). */
#include "jobd-scheduled-start.h"

#include "jobd-log.h"

struct _JobdScheduledStart {
  JobdManager *manager;
  JobdTimers *timers;
  GHashTable *queued;   /* job → schedule id whose fire waits for the run to end */
  GHashTable *ending;   /* jobs whose run ended with a fire queued */
  guint queued_idle;
  gulong added_id, removed_id, changed_id, state_id;
};

static void
sync_job (JobdScheduledStart *self, JobdJob *job)
{
  const JobdSettings *s = jobd_job_get_settings (job);

  jobd_timers_set_job (self->timers, jobd_job_get_name (job), s->schedules, s->persistent,
                       s->randomized_delay_ms);
}

static void
on_job_added (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  sync_job (user_data, job);
}

static void
on_job_changed (JobdManager *manager, JobdJob *job, gboolean settings_changed,
                gpointer user_data)
{
  if (settings_changed)
    sync_job (user_data, job);
}

static void
on_job_removed (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  JobdScheduledStart *self = user_data;

  g_hash_table_remove (self->queued, jobd_job_get_name (job));
  jobd_timers_remove_job (self->timers, jobd_job_get_name (job));
}

static void
start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_job_message (name, "schedule: job %s not started: %s", name, error->message);
}

static void
restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_restart_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_job_message (name, "schedule: job %s not restarted: %s", name, error->message);
}

static void
start (JobdScheduledStart *self, const char *name, const char *id)
{
  JobdRunCause cause = { JOBD_REASON_SCHEDULE, JOBD_UID_NONE, id };

  jobd_manager_start_job_async (self->manager, name, &cause, NULL, start_done, g_strdup (name));
}

static void
on_fire (const char *name, const char *id, gint64 due_usec, gpointer user_data)
{
  JobdScheduledStart *self = user_data;
  JobdJob *job = jobd_manager_lookup_job (self->manager, name, NULL);
  JobdRunCause cause = { JOBD_REASON_SCHEDULE, JOBD_UID_NONE, id };

  if (job == NULL)
    return;
  if (!jobd_job_is_active (job))
    {
      jobd_job_message (name, "schedule %s: starting job %s", id, name);
      start (self, name, id);
      return;
    }
  switch (jobd_job_get_settings (job)->overlap)
    {
    case JOBD_OVERLAP_RESTART:
      jobd_job_message (name, "schedule %s: job %s still runs, restarting it", id, name);
      jobd_manager_restart_job_async (self->manager, name, &cause, NULL, restart_done,
                                      g_strdup (name));
      break;
    case JOBD_OVERLAP_QUEUE:
      jobd_job_message (name, "schedule %s: job %s still runs, starting it when it ends",
                        id, name);
      g_hash_table_replace (self->queued, g_strdup (name), g_strdup (id));
      break;
    case JOBD_OVERLAP_SKIP:
    default:
      jobd_job_message (name, "schedule %s: job %s still runs, fire skipped", id, name);
      break;
    }
}

/* Started from an idle: inside the state change, the new start would be
 * announced before the "down" that ends the run. */
static gboolean
start_queued (gpointer user_data)
{
  JobdScheduledStart *self = user_data;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  self->queued_idle = 0;
  g_hash_table_iter_init (&iter, self->ending);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_hash_table_remove_all (self->ending);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      JobdJob *job = jobd_manager_lookup_job (self->manager, name, NULL);
      g_autofree char *id = NULL;

      if (job == NULL || jobd_job_is_active (job) || !g_hash_table_contains (self->queued, name))
        continue;
      value = g_hash_table_lookup (self->queued, name);
      id = g_strdup (value);
      g_hash_table_remove (self->queued, name);
      start (self, name, id);
    }
  return G_SOURCE_REMOVE;
}

static void
on_job_state_changed (JobdManager *manager, JobdJob *job, int old_state, int new_state,
                      GVariant *details, gpointer user_data)
{
  JobdScheduledStart *self = user_data;
  const char *name = jobd_job_get_name (job);

  if (jobd_job_is_active (job) || !g_hash_table_contains (self->queued, name))
    return;
  /* The run ended: the queued fire starts the next one. */
  g_hash_table_add (self->ending, g_strdup (name));
  if (self->queued_idle == 0)
    self->queued_idle = g_idle_add (start_queued, self);
}

JobdScheduledStart *
jobd_scheduled_start_new (JobdManager *manager, JobdTimers *timers)
{
  JobdScheduledStart *self = g_new0 (JobdScheduledStart, 1);

  self->manager = manager;
  self->timers = timers;
  self->queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->ending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->added_id = g_signal_connect (manager, "job-added", G_CALLBACK (on_job_added), self);
  self->removed_id = g_signal_connect (manager, "job-removed", G_CALLBACK (on_job_removed), self);
  self->changed_id = g_signal_connect (manager, "job-changed", G_CALLBACK (on_job_changed), self);
  self->state_id = g_signal_connect (manager, "job-state-changed",
                                     G_CALLBACK (on_job_state_changed), self);
  jobd_timers_set_fire_func (timers, on_fire, self);
  return self;
}

void
jobd_scheduled_start_free (JobdScheduledStart *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->added_id, self->manager);
  g_clear_signal_handler (&self->removed_id, self->manager);
  g_clear_signal_handler (&self->changed_id, self->manager);
  g_clear_signal_handler (&self->state_id, self->manager);
  jobd_timers_set_fire_func (self->timers, NULL, NULL);
  g_clear_handle_id (&self->queued_idle, g_source_remove);
  g_hash_table_unref (self->queued);
  g_hash_table_unref (self->ending);
  g_free (self);
}
