/* SPDX-License-Identifier: MIT */
/* jobd-manager.c — the job registry: add/remove/update, persistence, events. */
#include "config.h"

#include "jobd-manager.h"

#include "jobd-deps.h"
#include "jobd-deps-run.h"
#include "jobd-auth.h"
#include "jobd-error.h"
#include "jobd-health.h"
#include "jobd-history.h"
#include "jobd-journal.h"
#include "jobd-launch.h"
#include "jobd-log.h"
#include "jobd-scheduled-start.h"
#include "jobd-memory-restart.h"
#include "jobd-store.h"
#include "jobd-watch.h"

struct _JobdManager {
  GObject parent_instance;

  JobdConfig *config;
  JobdSpawner *spawner;
  JobdJobContext context;
  JobdStore *store;
  GHashTable *jobs;            /* name → JobdJob* (owned) */
  GHashTable *settings_sizes;  /* name → serialized size of its settings (owner budgets) */
  gboolean loading;            /* no saves while reading the registry */
  gboolean frozen;             /* no saves while shutting down */
  gboolean stopping_jobs;      /* shutdown stops the jobs (StopJobsOnExit) */
  GHashTable *records;         /* name → JsonObject*, runtime records read at load */
  GHashTable *dirty;           /* names of jobs whose state awaits the journal */
  GPtrArray *sorted;           /* jobs by name (refs), NULL after an add/remove */
  guint save_idle;
  guint retry_timer;           /* runtime records that could not be written */
  guint retry_delay_s;
  JobdTimers *timers;          /* every job's schedules */
  JobdScheduledStart *scheduled;
  JobdMemoryRestart *memory_restart;
  GFileMonitor *localtime;     /* /etc/localtime: the system's zone changed */
  GHashTable *pending_stops;   /* name → PendingStop*: stopped once what requires it is down */
  GPtrArray *restore_queue;    /* RestoreStart*: started once every job is taken back */
};

G_DEFINE_FINAL_TYPE (JobdManager, jobd_manager, G_TYPE_OBJECT)

enum {
  SIGNAL_JOB_ADDED,
  SIGNAL_JOB_REMOVED,
  SIGNAL_JOB_STATE_CHANGED,
  SIGNAL_JOB_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* [Daemon] TimeZone= (NULL: the system's), for schedules too. */
static GTimeZone *
config_time_zone (JobdConfig *config)
{
  GTimeZone *tz;

  if (config->time_zone == NULL || *config->time_zone == '\0')
    return NULL;
  tz = g_time_zone_new_identifier (config->time_zone);
  if (tz == NULL)
    g_warning ("[Daemon] TimeZone=%s: unknown time zone; schedules use the system's",
               config->time_zone);
  return tz;
}

static void
on_localtime_changed (GFileMonitor *monitor, GFile *file, GFile *other,
                      GFileMonitorEvent event, gpointer user_data)
{
  JobdManager *self = user_data;

  if (event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_CREATED
      && event != G_FILE_MONITOR_EVENT_DELETED && event != G_FILE_MONITOR_EVENT_RENAMED
      && event != G_FILE_MONITOR_EVENT_MOVED_IN)
    return;
  g_message ("/etc/localtime changed: schedules recomputed");
  jobd_manager_time_zone_changed (self);
}

static void
timers_init (JobdManager *self)
{
  g_autofree char *path = g_build_filename (self->config->state_dir, "timers.json", NULL);
  g_autoptr(GTimeZone) tz = config_time_zone (self->config);
  g_autoptr(GFile) localtime = g_file_new_for_path ("/etc/localtime");
  g_autoptr(GError) error = NULL;

  self->timers = jobd_timers_new (path, tz);
  self->scheduled = jobd_scheduled_start_new (self, self->timers);
  if (!jobd_timers_start (self->timers, &error))
    g_warning ("schedules will not fire: %s", error->message);
  /* One inotify watch (GLib's worker thread filters /etc's events). */
  self->localtime = g_file_monitor_file (localtime, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
  if (self->localtime != NULL)
    g_signal_connect (self->localtime, "changed", G_CALLBACK (on_localtime_changed), self);
}

JobdTimers *
jobd_manager_get_timers (JobdManager *self)
{
  return self->timers;
}

void
jobd_manager_time_zone_changed (JobdManager *self)
{
  g_autoptr(GTimeZone) tz = config_time_zone (self->config);

  jobd_timers_set_time_zone (self->timers, tz);
}

JobdManager *
jobd_manager_new (JobdConfig *config, JobdSpawner *spawner)
{
  JobdManager *self = g_object_new (JOBD_TYPE_MANAGER, NULL);

  self->config = config;
  self->spawner = g_object_ref (spawner);
  self->context.spawner = spawner;
  self->context.runtime_dir = g_strdup (config->runtime_dir);
  self->context.log_dir = g_strdup (config->log_dir);
  self->context.journal = jobd_journal_available ();
  self->store = jobd_store_new (config->state_dir);
  timers_init (self);
  self->memory_restart = jobd_memory_restart_new (self);
  self->context.history = jobd_history_new (config->state_dir);
  return self;
}

JobdHistory *
jobd_manager_get_history (JobdManager *self)
{
  return self->context.history;
}

JobdConfig *
jobd_manager_get_config (JobdManager *self)
{
  return self->config;
}


const char *
jobd_manager_get_backend_name (JobdManager *self)
{
  return jobd_spawner_get_name (self->spawner);
}

/* ---- persistence ---- */

static const char *
current_boot_id (void)
{
  static char *boot_id;

  if (g_once_init_enter (&boot_id))
    {
      char *id = NULL;
      if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &id, NULL, NULL))
        id = g_strdup ("unknown");
      g_once_init_leave (&boot_id, g_strstrip (id));
    }
  return boot_id;
}

static JobdStoredJob *
stored_job_from (JobdManager *self, JobdJob *job)
{
  JobdStoredJob *stored = g_new0 (JobdStoredJob, 1);
  JsonObject *unrestored = g_hash_table_lookup (self->records, jobd_job_get_name (job));

  stored->name = g_strdup (jobd_job_get_name (job));
  stored->settings = jobd_settings_copy (jobd_job_get_settings (job));
  stored->owner_uid = jobd_job_get_owner_uid (job);
  stored->wanted_up = jobd_job_get_wanted_up (job);
  if (unrestored != NULL)
    {
      /* Not taken back yet (restore under way, or an import that never
       * restores): the record read at load is still the truth about the
       * job's process; dropping it would orphan a running job. */
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;

      stored->wanted_up = json_object_get_boolean_member_with_default (unrestored, "wanted-up", FALSE);
      json_object_iter_init (&iter, unrestored);
      while (json_object_iter_next (&iter, &key, &value))
        {
          if (g_str_equal (key, "wanted-up"))
            continue;
          if (stored->runtime == NULL)
            stored->runtime = json_object_new ();
          json_object_set_member (stored->runtime, key, json_node_copy (value));
        }
      return stored;
    }
  stored->runtime = jobd_job_save_record (job);
  if (stored->runtime != NULL)
    {
      json_object_set_string_member (stored->runtime, "boot-id", current_boot_id ());
      /* jobd is about to stop it: the next jobd should start it again. */
      if (self->stopping_jobs)
        json_object_set_boolean_member (stored->runtime, "stopped-by-jobd", TRUE);
    }
  return stored;
}

static gboolean flush_dirty (JobdManager *self, GError **error);

/* The reason a change could not be made, for the caller. */
static gboolean
persist_error (GError **error, GError *local)
{
  g_warning ("change refused: %s", local->message);
  if (local->domain == JOBD_ERROR)
    g_propagate_error (error, local);
  else
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot save the job registry, nothing changed: %s", local->message);
      g_error_free (local);
    }
  return FALSE;
}

gboolean
jobd_manager_save (JobdManager *self, GError **error)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self);
  g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);

  /* Runtime records still waiting for the journal go there first: the
   * previous generation plus the journals must describe the same jobs as
   * the new snapshot, in case the new one is ever unreadable. */
  if (!self->loading && !self->frozen && !flush_dirty (self, error))
    return FALSE;
  g_clear_handle_id (&self->save_idle, g_source_remove);
  for (guint i = 0; i < jobs->len; i++)
    g_ptr_array_add (stored, stored_job_from (self, jobs->pdata[i]));
  if (!jobd_store_save (self->store, stored, error))
    return FALSE;
  g_hash_table_remove_all (self->dirty);
  g_clear_handle_id (&self->retry_timer, g_source_remove);
  return TRUE;
}

static void
save_or_warn (JobdManager *self)
{
  g_autoptr(GError) error = NULL;

  if (self->loading || self->frozen)
    return;
  if (!jobd_manager_save (self, &error))
    g_warning ("cannot save the job registry: %s", error->message);
}

/* The journal makes a change cost one appended line; now and then the
 * registry is rewritten whole to fold it in. */
static void
compact_if_due (JobdManager *self)
{
  if (jobd_store_wants_compaction (self->store))
    save_or_warn (self);
}

/* Record jobs' current state (one journal write for all); sync: durable
 * before returning, for changes a caller is about to be told are done. */
static gboolean
persist_jobs (JobdManager *self, GPtrArray *jobs, gboolean sync, GError **error)
{
  g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);

  if (self->loading || self->frozen)
    return TRUE;
  for (guint i = 0; i < jobs->len; i++)
    g_ptr_array_add (stored, stored_job_from (self, jobs->pdata[i]));
  if (!jobd_store_put (self->store, stored, sync, error))
    return FALSE;
  compact_if_due (self);
  return TRUE;
}

/* A registry change (add, update) as it will be once made: written and
 * synced first, so that what a caller is told is done is on disk, and what
 * could not be written is not done at all. */
static gboolean
persist_entry (JobdManager *self, JobdStoredJob *entry, GError **error)
{
  g_autoptr(GPtrArray) stored = g_ptr_array_new ();
  g_autoptr(GError) local = NULL;

  if (self->loading)
    return TRUE;
  if (self->frozen)
    return persist_error (error, g_error_new (JOBD_ERROR, JOBD_ERROR_BUSY, "jobd is shutting down"));
  g_ptr_array_add (stored, entry);
  /* No compaction here: the snapshot is written from memory, which does
   * not hold this change yet (the caller compacts once it does). */
  return jobd_store_put (self->store, stored, TRUE, &local) ||
         persist_error (error, g_steal_pointer (&local));
}

static gboolean
persist_removal (JobdManager *self, const char *name, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (self->loading)
    return TRUE;
  if (self->frozen)
    return persist_error (error, g_error_new (JOBD_ERROR, JOBD_ERROR_BUSY, "jobd is shutting down"));
  return jobd_store_remove (self->store, name, &local) ||
         persist_error (error, g_steal_pointer (&local));
}

static gboolean on_save_idle (gpointer user_data);

static gboolean
on_retry_timer (gpointer user_data)
{
  JobdManager *self = user_data;

  self->retry_timer = 0;
  on_save_idle (self);
  return G_SOURCE_REMOVE;
}

/* Write the runtime records of the jobs whose state changed (no
 * compaction: jobd_manager_save() calls this too). */
static gboolean
flush_dirty (JobdManager *self, GError **error)
{
  g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      JobdJob *job = g_hash_table_lookup (self->jobs, name);
      if (job != NULL)
        g_ptr_array_add (stored, stored_job_from (self, job));
    }
  /* Runtime records (PIDs, states) change with every start and exit: no
   * fsync on the main loop for them. They survive jobd being killed; after
   * a power loss the processes they describe are gone anyway. */
  if (!jobd_store_put (self->store, stored, FALSE, error))
    return FALSE;
  g_hash_table_remove_all (self->dirty);
  return TRUE;
}

static gboolean
on_save_idle (gpointer user_data)
{
  JobdManager *self = user_data;
  g_autoptr(GError) error = NULL;
  guint n = g_hash_table_size (self->dirty);

  self->save_idle = 0;
  if (self->loading || self->frozen)
    return G_SOURCE_REMOVE;
  if (!flush_dirty (self, &error))
    {
      /* Keep them dirty and try again, less and less often, until the
       * disk takes them: a runtime record is how the next jobd finds the
       * job's process. */
      self->retry_delay_s = CLAMP (self->retry_delay_s * 2, 1, 60);
      g_warning ("cannot record the state of %u jobs (trying again in %u s): %s",
                 n, self->retry_delay_s, error->message);
      if (self->retry_timer == 0)
        self->retry_timer = g_timeout_add_seconds (self->retry_delay_s, on_retry_timer, self);
      return G_SOURCE_REMOVE;
    }
  self->retry_delay_s = 0;
  g_clear_handle_id (&self->retry_timer, g_source_remove);
  compact_if_due (self);
  return G_SOURCE_REMOVE;
}

/* Runtime changes (state, PIDs, wanted state) come in bursts; coalesce them
 * into one journal write per main-loop turn. Registry changes (add, update,
 * remove) are written before their caller is answered. */
static void
schedule_save (JobdManager *self, JobdJob *job)
{
  if (self->loading || self->frozen)
    return;
  g_hash_table_add (self->dirty, g_strdup (jobd_job_get_name (job)));
  if (self->save_idle == 0)
    self->save_idle = g_idle_add (on_save_idle, self);
}

/* ---- job events ---- */

/* A job that others require went down or failed: they go too, what
 * requires them first. Not while jobd shuts down (every job stops, and the
 * next jobd must start them again), not for a restart jobd makes itself
 * (restart policy, health, memory, file change: the job goes from stopping
 * or up to starting, never down), and not for requires with condition
 * succeeded (a one-shot's ending is what they waited for). */
static void
stop_dependents (JobdManager *self, JobdJob *job)
{
  g_autoptr(GPtrArray) dependents = NULL;

  if (self->stopping_jobs || self->frozen || self->loading)
    return;
  dependents = jobd_deps_run_active_dependents (self, jobd_job_get_name (job));
  for (guint i = 0; i < dependents->len; i++)
    {
      JobdJob *dependent = dependents->pdata[i];
      const char *name = jobd_job_get_name (dependent);

      jobd_job_message (name, "job %s: stopping it, it requires %s, which is %s", name,
                        jobd_job_get_name (job), jobd_state_to_string (jobd_job_get_state (job)));
      jobd_job_stop_for (dependent, JOBD_REASON_DEPENDENCY, NULL);
    }
}

static void
on_job_state_changed (JobdJob *job, int old_state, int new_state, GVariant *details,
                      gpointer user_data)
{
  JobdManager *self = user_data;

  g_signal_emit (self, signals[SIGNAL_JOB_STATE_CHANGED], 0, job, old_state, new_state, details);
  schedule_save (self, job);
  if ((new_state == JOBD_STATE_DOWN || new_state == JOBD_STATE_FAILED) &&
      old_state != JOBD_STATE_DOWN && old_state != JOBD_STATE_FAILED)
    stop_dependents (self, job);
}

static void
on_job_changed (JobdJob *job, gboolean settings_changed, gpointer user_data)
{
  JobdManager *self = user_data;

  g_signal_emit (self, signals[SIGNAL_JOB_CHANGED], 0, job, settings_changed);
}

/* What a job's settings weigh: their D-Bus serialization. */
static gsize
settings_size (const JobdSettings *settings)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (jobd_settings_to_variant (settings));

  return g_variant_get_size (v);
}

static void
note_settings_size (JobdManager *self, const char *name, const JobdSettings *settings)
{
  g_hash_table_insert (self->settings_sizes, g_strdup (name),
                       GSIZE_TO_POINTER (settings_size (settings)));
}

static JobdJob *
insert_job (JobdManager *self, const char *name, JobdSettings *settings, guint owner_uid)
{
  JobdJob *job;

  note_settings_size (self, name, settings);
  job = jobd_job_new (name, settings, owner_uid, &self->context);

  g_signal_connect_object (job, "state-changed", G_CALLBACK (on_job_state_changed), self, 0);
  g_signal_connect_object (job, "changed", G_CALLBACK (on_job_changed), self, 0);
  jobd_health_attach (job);
  jobd_watch_attach (job, self->config);
  g_hash_table_insert (self->jobs, g_strdup (name), job);
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
  g_signal_emit (self, signals[SIGNAL_JOB_ADDED], 0, job);
  return job;
}

gboolean
jobd_manager_load (JobdManager *self, GError **error)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) stored = NULL;

  stored = jobd_store_load (self->store, warnings, error);
  if (stored == NULL)
    return FALSE;
  for (guint i = 0; i < warnings->len; i++)
    g_warning ("job registry %s: %s", jobd_store_get_path (self->store),
               (const char *) warnings->pdata[i]);

  self->loading = TRUE;
  for (guint i = 0; i < stored->len; i++)
    {
      JobdStoredJob *entry = stored->pdata[i];
      if (g_hash_table_contains (self->jobs, entry->name))
        {
          jobd_job_warning (entry->name, "job registry: duplicate job '%s' skipped", entry->name);
          continue;
        }
      insert_job (self, entry->name, g_steal_pointer (&entry->settings), entry->owner_uid);
      /* Restoring needs the record and what the user wanted last. */
      if (entry->runtime == NULL)
        entry->runtime = json_object_new ();
      json_object_set_boolean_member (entry->runtime, "wanted-up", entry->wanted_up);
      g_hash_table_insert (self->records, g_strdup (entry->name), json_object_ref (entry->runtime));
    }
  self->loading = FALSE;
  g_message ("loaded %u jobs from %s", g_hash_table_size (self->jobs),
             jobd_store_get_path (self->store));
  /* Fold what the last jobd journaled into the registry file, and make
   * sure there is one (a fresh state folder, a corrupt file moved aside). */
  if (jobd_store_has_journal (self->store) ||
      !g_file_test (jobd_store_get_path (self->store), G_FILE_TEST_EXISTS))
    save_or_warn (self);
  return TRUE;
}

/* ---- restoring after a jobd restart or a reboot ---- */

typedef struct {
  JobdManager *manager;
  JobdJob *job;
  JsonObject *record;
  GTask *task;
} RestoreData;

static void
restore_data_free (RestoreData *data)
{
  g_object_unref (data->job);
  json_object_unref (data->record);
  g_object_unref (data->task);
  g_free (data);
}

/* A task that finishes once several steps have: its data counts the steps
 * still under way, starting at one held by the function that fans out. */
static GTask *
fan_out_task_new (JobdManager *self, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  guint *pending = g_new (guint, 1);

  *pending = 1;
  g_task_set_task_data (task, pending, g_free);
  return task;
}

static void
fan_out_add (GTask *task)
{
  (*(guint *) g_task_get_task_data (task))++;
}

static void
fan_out_step_done (GTask *task)
{
  guint *pending = g_task_get_task_data (task);

  if (--(*pending) == 0)
    g_task_return_boolean (task, TRUE);
}

static void
on_restore_start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* Already running: a job restored earlier required it and started it. */
  if (!jobd_deps_run_start_finish (result, &error) &&
      !g_error_matches (error, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING))
    {
      const char *name = jobd_job_get_name (JOBD_JOB (source));
      jobd_job_warning (name, "job %s: cannot start it again: %s", name, error->message);
    }
  fan_out_step_done (task);
}

typedef struct {
  JobdJob *job;
  const char *reason;   /* a JOBD_REASON_* */
} RestoreStart;

static void
restore_start_free (RestoreStart *start)
{
  g_object_unref (start->job);
  g_free (start);
}

/* Queued until every job still running is taken back: a job started now
 * could start what it requires while that one's process is being adopted. */
static void
restore_start (JobdManager *self, JobdJob *job, const char *reason, GTask *task)
{
  RestoreStart *start = g_new0 (RestoreStart, 1);

  start->job = g_object_ref (job);
  start->reason = reason;
  g_ptr_array_add (self->restore_queue, start);
  fan_out_step_done (task);
}

/* Every process is taken back: start the queued jobs, each after what it
 * requires (jobd-deps-run.c). */
static void
on_restore_adopted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JobdManager *self = JOBD_MANAGER (source);
  g_autoptr(GTask) outer = user_data;
  g_autoptr(GPtrArray) queue = g_steal_pointer (&self->restore_queue);

  self->restore_queue = g_ptr_array_new_with_free_func ((GDestroyNotify) restore_start_free);
  for (guint i = 0; i < queue->len; i++)
    {
      RestoreStart *start = queue->pdata[i];
      const char *name = jobd_job_get_name (start->job);

      jobd_job_message (name, "job %s: starting it again (%s)", name, start->reason);
      fan_out_add (outer);
      jobd_deps_run_start_async (self, start->job, &JOBD_RUN_CAUSE (start->reason), NULL,
                                 on_restore_start_done, g_object_ref (outer));
    }
  fan_out_step_done (outer);
}

/* The process is gone: decide whether to start the job again. */
static void
restore_without_process (RestoreData *data, gboolean had_process)
{
  JobdManager *self = data->manager;
  JsonObject *record = data->record;
  gboolean wanted = json_object_get_boolean_member_with_default (record, "wanted-up", FALSE);
  gboolean same_boot = g_strcmp0 (json_object_get_string_member_with_default (record, "boot-id", NULL),
                                  current_boot_id ()) == 0;
  gboolean stopped_by_jobd = json_object_get_boolean_member_with_default (record, "stopped-by-jobd", FALSE);

  g_hash_table_remove (self->records, jobd_job_get_name (data->job));
  /* (A run the history holds as running ended while jobd was down: the
   * history says so when it reads the job's file, see restore_finish; not
   * read here, so start-up does not read a file per job.) */
  jobd_job_restore_counters (data->job, record);
  if (same_boot && json_object_get_boolean_member_with_default (record, "failed", FALSE))
    {
      /* It hit its start limit (or could not start) in this boot: a jobd
       * restart is not a reason to try again. */
      jobd_job_restore_failed (data->job, record);
      fan_out_step_done (data->task);
    }
  else if (!wanted)
    fan_out_step_done (data->task);
  else if (had_process && same_boot && !stopped_by_jobd)
    {
      /* It exited while jobd was away; its exit status is lost with it. */
      const char *name = jobd_job_get_name (data->job);
      jobd_job_warning (name, "job %s exited while jobd was not running", name);
      if (jobd_job_get_settings (data->job)->restart != JOBD_RESTART_NO)
        restore_start (self, data->job, JOBD_REASON_POLICY, data->task);
      else
        fan_out_step_done (data->task);
    }
  else if (self->config->restore_jobs)
    restore_start (self, data->job, JOBD_REASON_RESTORE, data->task);
  else
    fan_out_step_done (data->task);
}

static void
on_adopted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RestoreData *data = user_data;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = jobd_spawner_adopt_finish (JOBD_SPAWNER (source), result, &error);
  if (process != NULL)
    {
      const char *name = jobd_job_get_name (data->job);
      jobd_job_message (name, "job %s: still running as PID %d, taken back", name,
                        (int) jobd_process_get_pid (process));
      g_hash_table_remove (data->manager->records, jobd_job_get_name (data->job));
      jobd_job_adopt (data->job, process, data->record);
      fan_out_step_done (data->task);
    }
  else
    {
      const char *name = jobd_job_get_name (data->job);
      jobd_job_debug (name, "job %s: %s", name, error->message);
      restore_without_process (data, TRUE);
    }
  restore_data_free (data);
}

/* A job of several instances: done once each recorded one is taken back
 * or found gone; none left is a job whose process is gone. */
static void
on_instances_adopted (JobdJob *job, guint adopted, gpointer user_data)
{
  RestoreData *data = user_data;

  if (adopted > 0)
    {
      g_hash_table_remove (data->manager->records, jobd_job_get_name (job));
      fan_out_step_done (data->task);
    }
  else
    restore_without_process (data, TRUE);
  restore_data_free (data);
}

void
jobd_manager_restore_async (JobdManager *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *outer = fan_out_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) task = fan_out_task_new (self, NULL, on_restore_adopted, outer);
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self);

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdJob *job = jobs->pdata[i];
      JsonObject *record = g_hash_table_lookup (self->records, jobd_job_get_name (job));
      RestoreData *data;
      GPid pid;
      guint64 ticks;
      const char *unit;

      if (record == NULL)
        continue;
      fan_out_add (task);
      data = g_new0 (RestoreData, 1);
      data->manager = self;
      data->job = g_object_ref (job);
      data->record = json_object_ref (record);
      data->task = g_object_ref (task);
      if (jobd_job_record_has_instances (record) &&
          g_strcmp0 (json_object_get_string_member_with_default (record, "boot-id", NULL),
                     current_boot_id ()) == 0)
        jobd_job_adopt_instances (job, record, on_instances_adopted, data);
      else if (jobd_process_record_get (record, &pid, &ticks, &unit) &&
          g_strcmp0 (json_object_get_string_member_with_default (record, "boot-id", NULL),
                     current_boot_id ()) == 0)
        {
          JobdSpawnRequest request = {
            .job_name = jobd_job_get_name (job),
            .runtime_dir = self->context.runtime_dir,
            .limits = jobd_launch_limits (jobd_job_get_settings (job)),
          };
          jobd_spawner_adopt_async (self->spawner, &request, record, NULL, on_adopted, data);
        }
      else
        {
          restore_without_process (data, FALSE);
          restore_data_free (data);
        }
    }
  /* Each record is dropped once its job is settled: until then it is what
   * a save writes for the job. */
  fan_out_step_done (task);
}

static gboolean
job_has_process (const char *name, gpointer user_data)
{
  JobdManager *self = user_data;
  JobdJob *job = g_hash_table_lookup (self->jobs, name);

  return job != NULL && jobd_job_get_process (job) != NULL;
}

gboolean
jobd_manager_restore_finish (JobdManager *self, GAsyncResult *result, GError **error)
{
  /* Everything still running is taken back: an open run found from now on
   * whose job has no process ended while jobd was down. */
  jobd_history_set_running_func (self->context.history, job_has_process, self);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_autostart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  /* Failures are already logged and visible as the job's failed state. */
  if (!jobd_deps_run_start_finish (result, &error))
    {
      const char *name = jobd_job_get_name (JOBD_JOB (source));
      jobd_job_debug (name, "autostart of %s failed: %s", name, error->message);
    }
}

void
jobd_manager_start_autostart_jobs (JobdManager *self)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self);

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdJob *job = jobs->pdata[i];
      /* What it requires starts first (a job both requires and autostarts
       * is started once: the second start sees it active and waits). */
      if (jobd_job_get_settings (job)->autostart && !jobd_job_is_active (job))
        jobd_deps_run_start_async (self, job, &JOBD_RUN_CAUSE (JOBD_REASON_AUTOSTART), NULL,
                                   on_autostart_done, NULL);
    }
}

/* ---- registry verbs ---- */

/* requires/after of a job as it is about to be: not itself, no cycle, and
 * what it requires exists. */
static gboolean
check_graph (JobdManager *self, const char *name, const JobdSettings *settings, GError **error)
{
  return jobd_deps_check (name, (const char * const *) settings->requires,
                          (const char * const *) settings->after,
                          jobd_deps_run_get, self, TRUE, error);
}

gboolean
jobd_manager_check_dependency_access (JobdManager *self,
                                      const JobdSettings *settings,
                                      guint caller_uid,
                                      GError **error)
{
  char * const *lists[2] = { settings->requires, settings->after };

  for (guint l = 0; l < 2; l++)
    for (guint i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
      {
        g_autofree char *name = NULL;
        g_autoptr(GError) local = NULL;
        JobdJob *other;

        if (!jobd_dep_parse (l == 0 ? "requires" : "after", lists[l][i], &name, NULL, error))
          return FALSE;
        other = g_hash_table_lookup (self->jobs, name);
        if (other != NULL &&
            !jobd_auth_check (JOBD_ACCESS_MODIFY, caller_uid, self->config->admin_group, other, &local))
          {
            g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                         "%s: %s (only who may start and stop '%s' may depend on it)",
                         l == 0 ? "requires" : "after", local->message, name);
            return FALSE;
          }
      }
  return TRUE;
}

JobdJob *
jobd_manager_lookup_job (JobdManager *self, const char *name, GError **error)
{
  JobdJob *job = g_hash_table_lookup (self->jobs, name);

  if (job == NULL)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB, "no job named '%s'", name);
  return job;
}

/* instances within MaxInstances= (the settings bound it by JOBD_INSTANCES_MAX). */
static gboolean
check_instances (JobdManager *self, const JobdSettings *settings, GError **error)
{
  if (settings->instances <= self->config->max_instances)
    return TRUE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "instances: %u is more than this jobd allows (MaxInstances=%" G_GUINT64_FORMAT
               " in jobd.conf)", settings->instances, self->config->max_instances);
  return FALSE;
}

/* A job's weight in its owner's budget: each instance is a process. */
static guint64
job_weight (const JobdSettings *settings)
{
  return MAX (settings->instances, 1u);
}

/* MaxJobsPerUser=: any local user may add jobs (CREATE is open), and each
 * costs jobd memory, a state-file entry and processes; one user must not
 * grow jobd without bound. Root, jobd's own user and AdminGroup are trusted
 * with more. `replacing` is the job an update changes (its old weight is
 * not counted), NULL for an add. */
static gboolean
check_owner_budget (JobdManager *self, guint owner_uid, JobdJob *replacing,
                    const JobdSettings *settings, GError **error)
{
  guint64 max_jobs = self->config->max_jobs_per_user;
  guint64 max_bytes = self->config->max_settings_per_user;
  guint64 jobs = job_weight (settings);
  guint64 bytes;
  GHashTableIter iter;
  gpointer name, job;

  if ((max_jobs == 0 && max_bytes == 0) || owner_uid == 0 || owner_uid == geteuid () ||
      jobd_auth_uid_in_group (owner_uid, self->config->admin_group))
    return TRUE;
  bytes = settings_size (settings);
  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, &name, &job))
    if (job != replacing && jobd_job_get_owner_uid (job) == owner_uid)
      {
        jobs += job_weight (jobd_job_get_settings (job));
        bytes += GPOINTER_TO_SIZE (g_hash_table_lookup (self->settings_sizes, name));
      }
  if (max_jobs != 0 && jobs > max_jobs)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "user %u would own %" G_GUINT64_FORMAT " jobs (instances counted), more "
                   "than this jobd allows (MaxJobsPerUser=%" G_GUINT64_FORMAT " in jobd.conf)",
                   owner_uid, jobs, max_jobs);
      return FALSE;
    }
  if (max_bytes != 0 && bytes > max_bytes)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "the settings of user %u's jobs would take %" G_GUINT64_FORMAT " bytes, more "
                   "than this jobd allows (MaxSettingsPerUser=%" G_GUINT64_FORMAT " in jobd.conf)",
                   owner_uid, bytes, max_bytes);
      return FALSE;
    }
  return TRUE;
}

JobdJob *
jobd_manager_add_job (JobdManager *self,
                      const char *name,
                      JobdSettings *settings,
                      guint owner_uid,
                      GError **error)
{
  g_autoptr(JobdSettings) owned = settings;
  g_autoptr(JobdStoredJob) entry = NULL;
  JobdJob *job;

  if (!jobd_name_validate (name, error) || !jobd_settings_validate (owned, error) ||
      !check_instances (self, owned, error) ||
      !jobd_watch_check_settings (owned, owner_uid, error))
    return NULL;
  if (g_hash_table_contains (self->jobs, name))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_JOB_EXISTS, "job '%s' already exists", name);
      return NULL;
    }
  if (!check_graph (self, name, owned, error) ||
      !check_owner_budget (self, owner_uid, NULL, owned, error))
    return NULL;
  entry = g_new0 (JobdStoredJob, 1);
  entry->name = g_strdup (name);
  entry->settings = jobd_settings_copy (owned);
  entry->owner_uid = owner_uid;
  if (!persist_entry (self, entry, error))
    return NULL;
  job = insert_job (self, name, g_steal_pointer (&owned), owner_uid);
  jobd_job_message (name, "job %s added", name);
  compact_if_due (self);
  return job;
}

/* The names of the jobs whose requires name `name`, "a, b"; NULL for none. */
static char *
required_by (JobdManager *self, const char *name)
{
  g_autoptr(GPtrArray) users = jobd_manager_get_dependents (self, name, "requires");
  g_autoptr(GString) text = NULL;

  for (guint i = 0; i < users->len; i++)
    {
      if (text == NULL)
        text = g_string_new (NULL);
      else
        g_string_append (text, ", ");
      g_string_append (text, users->pdata[i]);
    }
  return text != NULL ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

GPtrArray *
jobd_manager_get_dependents (JobdManager *self, const char *name, const char *key)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self);
  g_autofree const char **names = g_new0 (const char *, jobs->len + 1);

  for (guint i = 0; i < jobs->len; i++)
    names[i] = jobd_job_get_name (jobs->pdata[i]);
  return jobd_deps_reverse (name, key, FALSE, names, jobd_deps_run_get, self);
}

gboolean
jobd_manager_remove_job (JobdManager *self, const char *name, GError **error)
{
  return jobd_manager_remove_job_full (self, name, FALSE, error);
}

gboolean
jobd_manager_remove_job_full (JobdManager *self, const char *name, gboolean force, GError **error)
{
  g_autoptr(JobdJob) job = NULL;
  g_autofree char *users = NULL;

  if (jobd_manager_lookup_job (self, name, error) == NULL)
    return FALSE;
  users = required_by (self, name);
  if (users != NULL && !force)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "job '%s' is required by %s; remove it with force to leave them "
                   "a requirement that does not exist", name, users);
      return FALSE;
    }
  job = g_object_ref (g_hash_table_lookup (self->jobs, name));
  if (jobd_job_is_active (job))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING,
                   "job '%s' is %s; stop it first", name,
                   jobd_state_to_string (jobd_job_get_state (job)));
      return FALSE;
    }
  if (!persist_removal (self, name, error))
    return FALSE;
  g_hash_table_remove (self->settings_sizes, name);
  g_hash_table_remove (self->jobs, name);
  g_hash_table_remove (self->records, name);
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
  g_signal_emit (self, signals[SIGNAL_JOB_REMOVED], 0, job);
  jobd_job_message (name, "job %s removed", name);
  jobd_history_remove_job (self->context.history, name);
  g_hash_table_remove (self->dirty, name);
  g_object_run_dispose (G_OBJECT (job));
  compact_if_due (self);
  return TRUE;
}

gboolean
jobd_manager_update_job (JobdManager *self,
                         const char *name,
                         JobdSettings *settings,
                         GError **error)
{
  g_autoptr(JobdSettings) owned = settings;
  g_autoptr(JobdStoredJob) entry = NULL;
  JobdJob *job = jobd_manager_lookup_job (self, name, error);

  if (job == NULL || !jobd_settings_validate (owned, error) ||
      !check_instances (self, owned, error) || !check_graph (self, name, owned, error) ||
      !jobd_watch_check_settings_changed (jobd_job_get_settings (job), owned,
                                          jobd_job_get_owner_uid (job), error) ||
      !check_owner_budget (self, jobd_job_get_owner_uid (job), job, owned, error))
    return FALSE;
  entry = stored_job_from (self, job);
  jobd_settings_free (entry->settings);
  entry->settings = jobd_settings_copy (owned);
  if (!persist_entry (self, entry, error))
    return FALSE;
  note_settings_size (self, name, owned);
  jobd_job_set_settings (job, g_steal_pointer (&owned));
  jobd_job_message (name, "job %s updated", name);
  compact_if_due (self);
  return TRUE;
}

gboolean
jobd_manager_scale_job (JobdManager *self, const char *name, guint instances, GError **error)
{
  JobdJob *job = jobd_manager_lookup_job (self, name, error);
  g_autoptr(JobdSettings) settings = NULL;

  if (job == NULL)
    return FALSE;
  if (instances == 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "cannot scale job '%s' to 0 instances: at least 1 (stop the job to run none)",
                   name);
      return FALSE;
    }
  settings = jobd_settings_copy (jobd_job_get_settings (job));
  settings->instances = instances;
  return jobd_manager_update_job (self, name, g_steal_pointer (&settings), error);
}

static int
compare_jobs_by_name (gconstpointer a, gconstpointer b)
{
  JobdJob *ja = *(JobdJob **) a;
  JobdJob *jb = *(JobdJob **) b;

  return strcmp (jobd_job_get_name (ja), jobd_job_get_name (jb));
}

static GPtrArray *
all_jobs (JobdManager *self)
{
  GPtrArray *jobs = g_ptr_array_sized_new (g_hash_table_size (self->jobs));
  GHashTableIter iter;
  gpointer job;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    g_ptr_array_add (jobs, job);
  return jobs;
}

GPtrArray *
jobd_manager_list_jobs (JobdManager *self)
{
  /* Listing is what clients do most (status of all, list); sorting
   * thousands of names each time is not needed between adds and removes. */
  if (self->sorted == NULL)
    {
      self->sorted = all_jobs (self);
      g_ptr_array_set_free_func (self->sorted, g_object_unref);
      for (guint i = 0; i < self->sorted->len; i++)
        g_object_ref (self->sorted->pdata[i]);
      g_ptr_array_sort (self->sorted, compare_jobs_by_name);
    }
  return g_ptr_array_ref (self->sorted);
}


/* ---- process verbs ---- */

/* A started job's process is recorded before the caller hears "started":
 * unrecorded, a jobd killed now would leave it running, unknown to the next
 * one. If it cannot be recorded, the start is undone and reported. */
/* One job's runtime record, synced now rather than at the next idle save:
 * it also says whether the job is wanted up, and after a crash (or power
 * loss) the next jobd must not lose what the caller is about to be told. */
static gboolean
persist_job_synced (JobdManager *self, JobdJob *job, GError **error)
{
  g_autoptr(GPtrArray) jobs = g_ptr_array_new ();

  g_ptr_array_add (jobs, job);
  if (!persist_jobs (self, jobs, TRUE, error))
    return FALSE;
  g_hash_table_remove (self->dirty, jobd_job_get_name (job));
  return TRUE;
}

static gboolean
record_started (JobdManager *self, JobdJob *job, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (persist_job_synced (self, job, &local))
    return TRUE;
  jobd_job_stop (job, NULL);
  return persist_error (error, g_steal_pointer (&local));
}

static void
on_job_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!jobd_job_start_finish (JOBD_JOB (source), result, &error) ||
      !record_started (g_task_get_source_object (task), JOBD_JOB (source), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_deps_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!jobd_deps_run_start_finish (result, &error) ||
      !record_started (g_task_get_source_object (task), JOBD_JOB (source), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The GTask of a verb on a named job; NULL (the error already reported to
 * callback) when there is no such job. */
static GTask *
job_task_new (JobdManager *self,
              const char *name,
              GCancellable *cancellable,
              GAsyncReadyCallback callback,
              gpointer user_data,
              gpointer source_tag,
              JobdJob **job)
{
  GError *error = NULL;

  *job = jobd_manager_lookup_job (self, name, &error);
  if (*job == NULL)
    {
      g_task_report_error (self, callback, user_data, source_tag, error);
      return NULL;
    }
  return g_task_new (self, cancellable, callback, user_data);
}

void
jobd_manager_start_job_async (JobdManager *self,
                              const char *name,
                              const JobdRunCause *cause,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  JobdJob *job;
  GTask *task = job_task_new (self, name, cancellable, callback, user_data,
                              jobd_manager_start_job_async, &job);

  if (task == NULL)
    return;
  /* Started again before what required it was down: it stays. */
  g_hash_table_remove (self->pending_stops, name);
  jobd_deps_run_start_async (self, job, cause, cancellable, on_deps_started, task);
}

gboolean
jobd_manager_start_job_finish (JobdManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}


/* A stopped job's wanted state is synced before the caller hears "stopped":
 * left to the next idle save, a jobd killed right after the answer would be
 * followed by one that starts the job again (restart policy, or restore). */
static gboolean
record_stopped (JobdManager *self, JobdJob *job, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (persist_job_synced (self, job, &local))
    return TRUE;
  /* The stop cannot be taken back (the signal is sent): say so, and leave
   * the record to the idle save, which keeps trying. */
  schedule_save (self, job);
  jobd_job_warning (jobd_job_get_name (job),
                    "job %s: stopping, but its wanted state cannot be saved: %s",
                    jobd_job_get_name (job), local->message);
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
               "job '%s' is being stopped, but that it should stay down could not be saved "
               "(a jobd restart may start it again): %s",
               jobd_job_get_name (job), local->message);
  return FALSE;
}

/* A stop that waits for the jobs that require it to be down first. */
typedef struct {
  JobdManager *manager;
  char *name;
  guint pending;
  GCancellable *self_ref;   /* each wait holds it; cancelled = given up */
} PendingStop;

static void
pending_stop_free (PendingStop *stop)
{
  g_cancellable_cancel (stop->self_ref);
  g_object_set_data (G_OBJECT (stop->self_ref), "pending-stop", NULL);
  g_object_unref (stop->self_ref);
  g_free (stop->name);
  g_free (stop);
}

static void
on_dependent_down (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GCancellable) ref = user_data;
  PendingStop *stop = g_object_get_data (G_OBJECT (ref), "pending-stop");
  g_autofree char *name = NULL;
  JobdManager *self;
  JobdJob *job;
  g_autoptr(GError) error = NULL;

  jobd_job_wait_down_finish (JOBD_JOB (source), result, NULL);
  /* Given up (the job was started again, or jobd is going away). */
  if (g_cancellable_is_cancelled (ref) || stop == NULL || --stop->pending > 0)
    return;
  self = stop->manager;
  name = g_strdup (stop->name);
  g_hash_table_remove (self->pending_stops, name);
  job = g_hash_table_lookup (self->jobs, name);
  if (job == NULL || !jobd_job_is_active (job))
    return;
  if (!jobd_job_stop (job, &error) || !record_stopped (self, job, &error))
    jobd_job_warning (name, "job %s: %s", name, error->message);
}

gboolean
jobd_manager_stop_job (JobdManager *self, const char *name, GError **error)
{
  JobdJob *job = jobd_manager_lookup_job (self, name, error);
  g_autoptr(GPtrArray) dependents = NULL;
  PendingStop *stop;

  if (job == NULL)
    return FALSE;
  dependents = jobd_job_is_active (job) ? jobd_deps_run_active_dependents (self, name) : NULL;
  if (dependents == NULL || dependents->len == 0)
    return jobd_job_stop (job, error) && record_stopped (self, job, error);
  /* What requires it stops first (furthest first); it follows once they
   * are all down (on_dependent_down). */
  stop = g_new0 (PendingStop, 1);
  stop->manager = self;
  stop->name = g_strdup (name);
  stop->pending = dependents->len;
  stop->self_ref = g_cancellable_new ();
  g_object_set_data (G_OBJECT (stop->self_ref), "pending-stop", stop);
  g_hash_table_replace (self->pending_stops, g_strdup (name), stop);
  for (guint i = 0; i < dependents->len; i++)
    {
      JobdJob *dependent = dependents->pdata[i];
      const char *dname = jobd_job_get_name (dependent);

      jobd_job_message (dname, "job %s: stopping it first, it requires %s", dname, name);
      jobd_job_stop_for (dependent, JOBD_REASON_DEPENDENCY, NULL);
      jobd_job_wait_down_async (dependent, NULL, on_dependent_down, g_object_ref (stop->self_ref));
    }
  return TRUE;
}

gboolean
jobd_manager_check_stop_access (JobdManager *self, const char *name, guint caller_uid, GError **error)
{
  g_autoptr(GPtrArray) dependents = jobd_deps_run_active_dependents (self, name);

  for (guint i = 0; i < dependents->len; i++)
    {
      g_autoptr(GError) local = NULL;

      if (!jobd_auth_check (JOBD_ACCESS_MODIFY, caller_uid, self->config->admin_group,
                            dependents->pdata[i], &local))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                       "cannot stop '%s': '%s' requires it and %s", name,
                       jobd_job_get_name (dependents->pdata[i]), local->message);
          return FALSE;
        }
    }
  return TRUE;
}

/* A restart's cause outlives the caller's stack: the start comes after the
 * stop, in a later main-loop iteration. */
typedef struct {
  char *reason;
  guint uid;
  char *trigger;
} RestartCause;

static RestartCause *
restart_cause_new (const JobdRunCause *cause)
{
  RestartCause *copy = g_new0 (RestartCause, 1);

  copy->reason = g_strdup (cause != NULL ? cause->reason : JOBD_REASON_MANUAL);
  copy->uid = cause != NULL ? cause->uid : JOBD_UID_NONE;
  copy->trigger = g_strdup (cause != NULL ? cause->trigger : NULL);
  return copy;
}

static void
restart_cause_free (RestartCause *copy)
{
  g_free (copy->reason);
  g_free (copy->trigger);
  g_free (copy);
}

static void
on_restart_down (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  JobdJob *job = JOBD_JOB (source);
  RestartCause *copy = g_task_get_task_data (task);
  JobdRunCause cause = { copy->reason, copy->uid, copy->trigger };
  GError *error = NULL;

  if (!jobd_job_wait_down_finish (job, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  jobd_job_start_async (job, &cause, g_task_get_cancellable (task),
                        on_job_started, g_object_ref (task));
}

void
jobd_manager_restart_job_async (JobdManager *self,
                                const char *name,
                                const JobdRunCause *cause,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  JobdJob *job;
  GTask *task = job_task_new (self, name, cancellable, callback, user_data,
                              jobd_manager_restart_job_async, &job);

  if (task == NULL)
    return;
  g_task_set_task_data (task, restart_cause_new (cause), (GDestroyNotify) restart_cause_free);
  if (jobd_job_get_state (job) == JOBD_STATE_UP ||
      jobd_job_get_state (job) == JOBD_STATE_STARTING)
    jobd_job_stop (job, NULL);
  jobd_job_wait_down_async (job, cancellable, on_restart_down, task);
}

gboolean
jobd_manager_restart_job_finish (JobdManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
jobd_manager_reload_job (JobdManager *self, const char *name, GError **error)
{
  JobdJob *job = jobd_manager_lookup_job (self, name, error);

  return job != NULL && jobd_job_reload (job, error);
}

gboolean
jobd_manager_kill_job (JobdManager *self, const char *name, int signo, GError **error)
{
  JobdJob *job = jobd_manager_lookup_job (self, name, error);

  if (job == NULL)
    return FALSE;
  if (signo < 1 || signo > 64)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "signal: %d is not a signal number", signo);
      return FALSE;
    }
  return jobd_job_kill (job, signo, error);
}

/* ---- shutdown ---- */

static void
on_shutdown_job_down (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;

  jobd_job_wait_down_finish (JOBD_JOB (source), result, NULL);
  fan_out_step_done (task);
}

/* A job stopped at shutdown once what requires it is down, as a Stop does
 * (dependents first, furthest first): a web front must not lose its
 * database while it still serves. Cycles are refused at add, so the waits
 * end; each job's own stop timeout bounds each step. */
typedef struct {
  GTask *task;        /* the shutdown's fan-out (owned) */
  JobdJob *job;       /* stopped when pending reaches 0 (owned) */
  guint pending;      /* its active dependents not down yet */
} ShutdownStep;

static void
shutdown_stop_now (GTask *task, JobdJob *job)
{
  jobd_job_stop (job, NULL);
  jobd_job_wait_down_async (job, NULL, on_shutdown_job_down, g_object_ref (task));
}

static void
on_shutdown_dependent_down (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ShutdownStep *step = user_data;

  jobd_job_wait_down_finish (JOBD_JOB (source), result, NULL);
  if (--step->pending > 0)
    return;
  shutdown_stop_now (step->task, step->job);
  g_object_unref (step->task);
  g_object_unref (step->job);
  g_free (step);
}

static void
shutdown_stop_job (JobdManager *self, GTask *task, JobdJob *job)
{
  g_autoptr(GPtrArray) dependents =
    jobd_deps_run_active_dependents (self, jobd_job_get_name (job));
  ShutdownStep *step;

  fan_out_add (task);
  if (dependents == NULL || dependents->len == 0)
    {
      shutdown_stop_now (task, job);
      return;
    }
  step = g_new0 (ShutdownStep, 1);
  step->task = g_object_ref (task);
  step->job = g_object_ref (job);
  step->pending = dependents->len;
  for (guint i = 0; i < dependents->len; i++)
    jobd_job_wait_down_async (dependents->pdata[i], NULL, on_shutdown_dependent_down, step);
}

void
jobd_manager_shutdown_async (JobdManager *self,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = fan_out_task_new (self, cancellable, callback, user_data);
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self);

  /* Record who wanted to run, then stop recording: jobd going away is not
   * the user stopping the jobs, and the next start should know. */
  self->stopping_jobs = TRUE;
  g_hash_table_remove_all (self->pending_stops);
  save_or_warn (self);
  self->frozen = TRUE;
  for (guint i = 0; i < jobs->len; i++)
    {
      JobdJob *job = jobs->pdata[i];

      if (jobd_job_is_active (job))
        shutdown_stop_job (self, task, job);
    }
  fan_out_step_done (task);
}

gboolean
jobd_manager_shutdown_finish (JobdManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- GObject ---- */

static void
jobd_manager_dispose (GObject *object)
{
  JobdManager *self = JOBD_MANAGER (object);

  g_clear_handle_id (&self->save_idle, g_source_remove);
  g_clear_handle_id (&self->retry_timer, g_source_remove);
  if (self->localtime != NULL)
    g_signal_handlers_disconnect_by_data (self->localtime, self);
  g_clear_object (&self->localtime);
  g_clear_pointer (&self->scheduled, jobd_scheduled_start_free);
  g_clear_pointer (&self->memory_restart, jobd_memory_restart_free);
  g_clear_pointer (&self->timers, jobd_timers_free);
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
  if (self->jobs != NULL)
    {
      g_autoptr(GPtrArray) jobs = all_jobs (self);
      for (guint i = 0; i < jobs->len; i++)
        g_object_run_dispose (jobs->pdata[i]);
      g_clear_pointer (&self->jobs, g_hash_table_unref);
      g_clear_pointer (&self->settings_sizes, g_hash_table_unref);
    }
  g_clear_object (&self->spawner);
  G_OBJECT_CLASS (jobd_manager_parent_class)->dispose (object);
}

static void
jobd_manager_finalize (GObject *object)
{
  JobdManager *self = JOBD_MANAGER (object);

  g_clear_pointer (&self->store, jobd_store_free);
  g_clear_pointer (&self->context.history, jobd_history_free);
  g_clear_pointer (&self->records, g_hash_table_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->pending_stops, g_hash_table_unref);
  g_clear_pointer (&self->restore_queue, g_ptr_array_unref);
  g_free (self->context.runtime_dir);
  g_free (self->context.log_dir);
  G_OBJECT_CLASS (jobd_manager_parent_class)->finalize (object);
}

static void
jobd_manager_class_init (JobdManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jobd_manager_dispose;
  object_class->finalize = jobd_manager_finalize;

  signals[SIGNAL_JOB_ADDED] =
    g_signal_new ("job-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, JOBD_TYPE_JOB);
  signals[SIGNAL_JOB_REMOVED] =
    g_signal_new ("job-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, JOBD_TYPE_JOB);
  signals[SIGNAL_JOB_STATE_CHANGED] =
    g_signal_new ("job-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                  JOBD_TYPE_JOB, G_TYPE_INT, G_TYPE_INT, G_TYPE_VARIANT);
  signals[SIGNAL_JOB_CHANGED] =
    g_signal_new ("job-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, JOBD_TYPE_JOB, G_TYPE_BOOLEAN);
}

static void
jobd_manager_init (JobdManager *self)
{
  self->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->settings_sizes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) json_object_unref);
  self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->restore_queue = g_ptr_array_new_with_free_func ((GDestroyNotify) restore_start_free);
  self->pending_stops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) pending_stop_free);
}
