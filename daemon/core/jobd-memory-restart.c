/* SPDX-License-Identifier: MIT */
/* jobd-memory-restart.c — memory-restart: events or one shared timer (see .h). */
#include "config.h"

#include "jobd-memory-restart.h"

#include "jobd-log.h"
#include "jobd-memory.h"

/* A timer faster than this would be jobd spinning on /proc. */
#define MIN_INTERVAL_MS 100

/* One running job with memory-restart. */
typedef struct {
  JobdMemoryRestart *owner;
  JobdJob *job;             /* not owned: the watch goes before the job */
  JobdProcess *process;     /* owned */
  guint64 limit;            /* the memory-restart it was set up for */
  gulong high_id;
  gboolean sampled;         /* on the timer (no kernel events) */
} Watch;

struct _JobdMemoryRestart {
  JobdManager *manager;
  GHashTable *watches;      /* JobdJob* → Watch* */
  GHashTable *sampled;      /* set of Watch* measured on the timer */
  guint timer_id;
  guint timer_ms;
  gulong added_id, removed_id, changed_id, state_id;
};

static void sync_job (JobdMemoryRestart *self, JobdJob *job);

static guint
interval_ms (JobdMemoryRestart *self)
{
  guint64 ms = jobd_manager_get_config (self->manager)->memory_restart_interval_ms;

  return (guint) CLAMP (ms, MIN_INTERVAL_MS, G_MAXUINT32 / 2);
}

/* ---- restarting ---- */

/* how: what told jobd (the kernel's event, or its own measurement). */
static void
restart (JobdJob *job, guint64 bytes, const char *source, guint64 limit, const char *how)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *trigger = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
  g_autofree char *message = NULL;

  message = g_strdup_printf ("memory %" G_GUINT64_FORMAT " bytes (%s) passed memory-restart %"
                             G_GUINT64_FORMAT " (%s)", bytes, source, limit, how);
  if (!jobd_job_restart_for (job, JOBD_REASON_MEMORY, trigger, message, &error))
    g_debug ("job %s: no memory restart: %s", jobd_job_get_name (job), error->message);
}

/* The job's figure now; FALSE when it cannot be had (logged). */
static gboolean
measure (JobdJob *job, JobdMemorySnapshot *snapshot, guint64 *bytes, const char **source)
{
  g_autoptr(GError) error = NULL;

  if (jobd_job_get_memory (job, snapshot, bytes, source, &error))
    return TRUE;
  g_debug ("job %s: cannot measure its memory: %s", jobd_job_get_name (job), error->message);
  return FALSE;
}

/* ---- the timer, for jobs the kernel cannot watch ---- */

static gboolean
on_tick (gpointer user_data)
{
  JobdMemoryRestart *self = user_data;
  g_autoptr(JobdMemorySnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) over = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) figures = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GHashTableIter iter;
  Watch *w;
  guint my_id = self->timer_id;

  /* One /proc scan for every job measured (the direct backend's jobs
   * without a cgroup are sums over it). */
  snapshot = jobd_memory_snapshot_new (NULL);
  g_hash_table_iter_init (&iter, self->sampled);
  while (g_hash_table_iter_next (&iter, (gpointer *) &w, NULL))
    {
      guint64 bytes = 0;
      const char *source = NULL;

      if (measure (w->job, snapshot, &bytes, &source) && bytes >= w->limit)
        {
          g_ptr_array_add (over, g_object_ref (w->job));
          g_array_append_val (figures, bytes);
          g_ptr_array_add (sources, (gpointer) source);
        }
    }
  /* Restarting changes states, which changes the set: after the walk. */
  for (guint i = 0; i < over->len; i++)
    restart (over->pdata[i], g_array_index (figures, guint64, i), sources->pdata[i],
             jobd_job_get_settings (over->pdata[i])->memory_restart, "measured");
  if (self->timer_id != my_id)
    return G_SOURCE_REMOVE;   /* the set emptied meanwhile: already removed */
  if (self->timer_ms != interval_ms (self))
    {
      /* MemoryRestartInterval= changed on reload. */
      self->timer_ms = interval_ms (self);
      self->timer_id = g_timeout_add (self->timer_ms, on_tick, self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
update_timer (JobdMemoryRestart *self)
{
  if (g_hash_table_size (self->sampled) == 0)
    g_clear_handle_id (&self->timer_id, g_source_remove);
  else if (self->timer_id == 0)
    {
      self->timer_ms = interval_ms (self);
      self->timer_id = g_timeout_add (self->timer_ms, on_tick, self);
    }
}

/* ---- one job ---- */

static void
on_memory_high (JobdProcess *process, guint64 count, gboolean lost, gpointer user_data)
{
  Watch *w = user_data;
  JobdMemoryRestart *self = w->owner;
  guint64 bytes = 0;
  const char *source = "memory.events";
  g_autofree char *how = NULL;

  if (lost)
    {
      /* The cgroup went (removed under the job, or the job is ending):
       * measure it from now on while it runs. */
      jobd_job_message (jobd_job_get_name (w->job),
                        "job %s: its memory.events went away; measuring its memory every %u ms",
                        jobd_job_get_name (w->job), interval_ms (self));
      w->sampled = TRUE;
      g_hash_table_add (self->sampled, w);
      update_timer (self);
      return;
    }
  /* The kernel says the cgroup passed memory.high = memory-restart: that
   * is the decision; the figure is for the message. */
  if (!measure (w->job, NULL, &bytes, &source))
    bytes = w->limit;
  how = g_strdup_printf ("memory.events: high %" G_GUINT64_FORMAT, count);
  restart (w->job, bytes, source, w->limit, how);
}

static void
watch_free (Watch *w)
{
  if (w->sampled)
    g_hash_table_remove (w->owner->sampled, w);
  g_clear_signal_handler (&w->high_id, w->process);
  jobd_process_unwatch_memory_high (w->process);
  g_object_unref (w->process);
  g_free (w);
}

static void
attach (JobdMemoryRestart *self, JobdJob *job, JobdProcess *process, guint64 limit)
{
  Watch *w = g_new0 (Watch, 1);
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;
  const char *source = NULL;

  w->owner = self;
  w->job = job;
  w->process = g_object_ref (process);
  w->limit = limit;
  w->high_id = g_signal_connect (process, "memory-high", G_CALLBACK (on_memory_high), w);
  g_hash_table_insert (self->watches, job, w);
  if (!jobd_process_watch_memory_high (process, &error))
    {
      g_debug ("job %s: memory-restart measured every %u ms (%s)", jobd_job_get_name (job),
               interval_ms (self), error->message);
      w->sampled = TRUE;
      g_hash_table_add (self->sampled, w);
      update_timer (self);
      return;
    }
  /* Already over (a limit lowered on a running job, a job adopted after
   * jobd was down): the kernel's past "high" events were not seen. */
  if (measure (job, NULL, &bytes, &source) && bytes >= limit)
    restart (job, bytes, source, limit, "measured at the start of the watch");
}

static void
detach (JobdMemoryRestart *self, JobdJob *job)
{
  g_hash_table_remove (self->watches, job);
  update_timer (self);
}

static void
sync_job (JobdMemoryRestart *self, JobdJob *job)
{
  Watch *w = g_hash_table_lookup (self->watches, job);
  JobdState state = jobd_job_get_state (job);
  JobdProcess *process = jobd_job_get_process (job);
  guint64 limit = jobd_job_get_settings (job)->memory_restart;
  gboolean wanted = limit > 0 && process != NULL &&
                    (state == JOBD_STATE_STARTING || state == JOBD_STATE_UP);

  if (w != NULL && wanted && w->process == process && w->limit == limit)
    return;
  if (w != NULL)
    detach (self, job);
  if (wanted)
    attach (self, job, process, limit);
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
  sync_job (user_data, job);
}

static void
on_job_state_changed (JobdManager *manager, JobdJob *job, int old_state, int new_state,
                      GVariant *details, gpointer user_data)
{
  sync_job (user_data, job);
}

static void
on_job_removed (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  detach (user_data, job);
}

JobdMemoryRestart *
jobd_memory_restart_new (JobdManager *manager)
{
  JobdMemoryRestart *self = g_new0 (JobdMemoryRestart, 1);

  self->manager = manager;
  self->watches = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) watch_free);
  self->sampled = g_hash_table_new (NULL, NULL);
  self->added_id = g_signal_connect (manager, "job-added", G_CALLBACK (on_job_added), self);
  self->removed_id = g_signal_connect (manager, "job-removed", G_CALLBACK (on_job_removed), self);
  self->changed_id = g_signal_connect (manager, "job-changed", G_CALLBACK (on_job_changed), self);
  self->state_id = g_signal_connect (manager, "job-state-changed",
                                     G_CALLBACK (on_job_state_changed), self);
  return self;
}

void
jobd_memory_restart_free (JobdMemoryRestart *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->added_id, self->manager);
  g_clear_signal_handler (&self->removed_id, self->manager);
  g_clear_signal_handler (&self->changed_id, self->manager);
  g_clear_signal_handler (&self->state_id, self->manager);
  g_hash_table_unref (self->watches);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_hash_table_unref (self->sampled);
  g_free (self);
}

guint
jobd_memory_restart_sampled_jobs (JobdMemoryRestart *self)
{
  return g_hash_table_size (self->sampled);
}
