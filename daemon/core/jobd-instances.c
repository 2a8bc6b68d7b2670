/* SPDX-License-Identifier: MIT */
/* jobd-instances.c — the instances of a job (see the header). */
#include "config.h"

#include "jobd-instances.h"

#include "jobd-error.h"
#include "jobd-launch.h"
#include "jobd-log.h"
#include "jobd-spawner.h"

struct _JobdInstances {
  JobdJob *parent;           /* not a reference: the parent owns the set */
  JobdJobContext context;    /* the parent's, without history and journal */
  GPtrArray *jobs;           /* JobdJob* of instance i + 1 */
  GPtrArray *leaving;        /* scaled away, held until they are down */
  guint drop_idle;           /* drops the instances that have left */
};

/* What an instance's object carries for the set. */
typedef struct {
  JobdInstances *set;
  guint instance;
  gboolean leaving;
} Tag;

#define TAG_KEY "jobd-instance-tag"

static Tag *
tag_of (JobdJob *job)
{
  return g_object_get_data (G_OBJECT (job), TAG_KEY);
}

static gboolean
state_is_active (JobdState state)
{
  return state == JOBD_STATE_STARTING || state == JOBD_STATE_UP ||
         state == JOBD_STATE_STOPPING;
}

/* ---- one instance ---- */

static JobdSettings *
instance_settings (const JobdSettings *settings, guint instance)
{
  JobdSettings *copy = jobd_settings_copy (settings);

  copy->instances = 1;
  /* The job's output keeps the lines, its log files and its history: the
   * instance's own ring holds one line, and writes no log file. */
  copy->buffer_size = 1;
  copy->write_log = FALSE;
  g_hash_table_replace (copy->environment, g_strdup ("JOBD_INSTANCE"),
                        g_strdup_printf ("%u", instance));
  return copy;
}

/* Each line of instance I into the job's output, as "[I] text". */
static void
forward_line (const char *job_name, const JobdLine *line, gpointer user_data)
{
  Tag *tag = user_data;
  g_autofree char *text = g_strdup_printf ("[%u] %s", tag->instance, line->text);

  jobd_output_append (jobd_job_get_output (tag->set->parent), line->stream, text);
}

static gboolean drop_left (gpointer user_data);

static void
on_instance_state_changed (JobdJob *job, int old, int state, GVariant *details,
                           gpointer user_data)
{
  Tag *tag = tag_of (job);

  if (tag->leaving)
    {
      /* Gone from the job's figures already; only its end matters (the
       * job is not down while one still runs). Dropped outside the signal. */
      if (!state_is_active (state) && tag->set->drop_idle == 0)
        tag->set->drop_idle = g_idle_add (drop_left, tag->set);
    }
  jobd_job_instance_changed (tag->set->parent, tag->instance, details);
}

static JobdJob *
instance_new (JobdInstances *set, guint instance)
{
  const char *name = jobd_job_get_name (set->parent);
  g_autofree char *own = g_strdup_printf ("%s@%u", name, instance);
  g_autofree char *io = g_strdup_printf ("%s#%u", name, instance);
  JobdJob *job = jobd_job_new (own, instance_settings (jobd_job_get_settings (set->parent), instance),
                               jobd_job_get_owner_uid (set->parent), &set->context);
  Tag *tag = g_new0 (Tag, 1);

  tag->set = set;
  tag->instance = instance;
  g_object_set_data_full (G_OBJECT (job), TAG_KEY, tag, g_free);
  jobd_job_set_instance (job, instance, io);
  jobd_output_set_line_sink (jobd_job_get_output (job), forward_line, tag);
  g_signal_connect (job, "state-changed", G_CALLBACK (on_instance_state_changed), NULL);
  return job;
}

/* An instance that no longer runs leaves the set. */
static void
instance_drop (JobdJob *job)
{
  g_signal_handlers_disconnect_by_func (job, on_instance_state_changed, NULL);
  jobd_output_set_line_sink (jobd_job_get_output (job), NULL, NULL);
  g_object_run_dispose (G_OBJECT (job));
  g_object_unref (job);
}

/* ---- the set ---- */

JobdInstances *
jobd_instances_new (JobdJob *parent, const JobdJobContext *context)
{
  JobdInstances *set = g_new0 (JobdInstances, 1);

  set->parent = parent;
  set->context = *context;
  set->context.history = NULL;
  set->context.journal = FALSE;
  set->jobs = g_ptr_array_new ();
  set->leaving = g_ptr_array_new ();
  return set;
}

void
jobd_instances_free (JobdInstances *set)
{
  /* (jobd exiting: as for a job of one, the processes run on, and the
   * next jobd takes them back.) */
  g_clear_handle_id (&set->drop_idle, g_source_remove);
  for (guint i = 0; i < set->jobs->len; i++)
    instance_drop (set->jobs->pdata[i]);
  for (guint i = 0; i < set->leaving->len; i++)
    instance_drop (set->leaving->pdata[i]);
  g_ptr_array_unref (set->jobs);
  g_ptr_array_unref (set->leaving);
  g_free (set);
}

static void
on_instance_start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  /* Failures show as the instance's (and so the job's) state. */
  if (!jobd_job_start_finish (JOBD_JOB (source), result, &error))
    jobd_job_debug (jobd_job_get_name (JOBD_JOB (source)), "%s", error->message);
}

static void
start_instance (JobdJob *job, const JobdRunCause *cause)
{
  jobd_job_start_async (job, cause, NULL, on_instance_start_done, NULL);
}

/* Scaled away: stopped gracefully, dropped once down. */
static void
instance_leave (JobdInstances *set, JobdJob *job)
{
  if (!jobd_job_is_active (job) || !jobd_job_stop (job, NULL))
    {
      instance_drop (job);
      return;
    }
  tag_of (job)->leaving = TRUE;
  g_ptr_array_add (set->leaving, job);
}

static gboolean
drop_left (gpointer user_data)
{
  JobdInstances *set = user_data;

  set->drop_idle = 0;
  for (guint i = set->leaving->len; i > 0; i--)
    {
      JobdJob *job = set->leaving->pdata[i - 1];
      if (!jobd_job_is_active (job))
        instance_drop (g_ptr_array_steal_index (set->leaving, i - 1));
    }
  return G_SOURCE_REMOVE;
}

static void
resize (JobdInstances *set, guint n, const JobdRunCause *start_cause)
{
  while (set->jobs->len > n)
    instance_leave (set, g_ptr_array_steal_index (set->jobs, set->jobs->len - 1));
  while (set->jobs->len < n)
    {
      JobdJob *job = instance_new (set, set->jobs->len + 1);
      g_ptr_array_add (set->jobs, job);
      if (start_cause != NULL)
        start_instance (job, start_cause);
    }
}

void
jobd_instances_start (JobdInstances *set, guint n, const JobdRunCause *cause)
{
  resize (set, n, NULL);
  for (guint i = 0; i < set->jobs->len; i++)
    start_instance (set->jobs->pdata[i], cause);
}

gboolean
jobd_instances_stop (JobdInstances *set)
{
  gboolean any = FALSE;

  for (guint i = 0; i < set->jobs->len; i++)
    any |= jobd_job_stop (set->jobs->pdata[i], NULL);
  for (guint i = 0; i < set->leaving->len; i++)
    any |= jobd_job_stop (set->leaving->pdata[i], NULL);
  return any;
}

void
jobd_instances_apply_settings (JobdInstances *set, const JobdSettings *settings, gboolean running)
{
  for (guint i = 0; i < set->jobs->len; i++)
    jobd_job_set_settings (set->jobs->pdata[i], instance_settings (settings, i + 1));
  if (running && settings->instances != set->jobs->len)
    {
      jobd_job_message (jobd_job_get_name (set->parent), "job %s: scaled from %u to %u instances",
                        jobd_job_get_name (set->parent), set->jobs->len, settings->instances);
      resize (set, settings->instances, &JOBD_RUN_CAUSE (JOBD_REASON_SCALE));
    }
}

/* ---- the job as a whole ---- */

JobdState
jobd_instances_get_state (JobdInstances *set)
{
  guint starting = 0, up = 0, stopping = 0, failed = 0, leaving = 0;

  for (guint i = 0; i < set->jobs->len; i++)
    switch (jobd_job_get_state (set->jobs->pdata[i]))
      {
      case JOBD_STATE_STARTING: starting++; break;
      case JOBD_STATE_UP: up++; break;
      case JOBD_STATE_STOPPING: stopping++; break;
      case JOBD_STATE_FAILED: failed++; break;
      case JOBD_STATE_DOWN:
      default: break;
      }
  for (guint i = 0; i < set->leaving->len; i++)
    leaving += jobd_job_is_active (set->leaving->pdata[i]) ? 1 : 0;

  if (starting > 0)
    return JOBD_STATE_STARTING;
  if (up > 0)
    return stopping > 0 && !jobd_job_get_wanted_up (set->parent) ? JOBD_STATE_STOPPING
                                                                  : JOBD_STATE_UP;
  if (stopping > 0 || leaving > 0)
    return JOBD_STATE_STOPPING;
  return failed > 0 ? JOBD_STATE_FAILED : JOBD_STATE_DOWN;
}

gboolean
jobd_instances_any_starting (JobdInstances *set)
{
  for (guint i = 0; i < set->jobs->len; i++)
    if (jobd_job_get_state (set->jobs->pdata[i]) == JOBD_STATE_STARTING)
      return TRUE;
  return FALSE;
}

guint
jobd_instances_count (JobdInstances *set)
{
  return set->jobs->len;
}

guint
jobd_instances_count_up (JobdInstances *set)
{
  guint up = 0;

  for (guint i = 0; i < set->jobs->len; i++)
    up += jobd_job_get_state (set->jobs->pdata[i]) == JOBD_STATE_UP ? 1 : 0;
  return up;
}

JobdJob *
jobd_instances_first_running (JobdInstances *set)
{
  for (guint i = 0; i < set->jobs->len; i++)
    if (jobd_job_get_process (set->jobs->pdata[i]) != NULL)
      return set->jobs->pdata[i];
  return NULL;
}

const char *
jobd_instances_last_error (JobdInstances *set)
{
  for (guint i = 0; i < set->jobs->len; i++)
    if (jobd_job_get_last_error (set->jobs->pdata[i]) != NULL)
      return jobd_job_get_last_error (set->jobs->pdata[i]);
  return NULL;
}

guint
jobd_instances_get_restarts (JobdInstances *set)
{
  guint sum = 0;

  for (guint i = 0; i < set->jobs->len; i++)
    sum += jobd_job_get_restarts (set->jobs->pdata[i]);
  return sum;
}

gboolean
jobd_instances_restart_for (JobdInstances *set, const char *reason, const char *trigger,
                            const char *message)
{
  gboolean any = FALSE;

  for (guint i = 0; i < set->jobs->len; i++)
    any |= jobd_job_restart_for (set->jobs->pdata[i], reason, trigger, message, NULL);
  return any;
}

gboolean
jobd_instances_reload (JobdInstances *set, GError **error)
{
  for (guint i = 0; i < set->jobs->len; i++)
    if (jobd_job_get_process (set->jobs->pdata[i]) != NULL &&
        !jobd_job_reload (set->jobs->pdata[i], error))
      return FALSE;
  return TRUE;
}

gboolean
jobd_instances_kill (JobdInstances *set, int signo, GError **error)
{
  gboolean any = FALSE;

  for (guint i = 0; i < set->jobs->len; i++)
    if (jobd_job_get_process (set->jobs->pdata[i]) != NULL)
      {
        if (!jobd_job_kill (set->jobs->pdata[i], signo, error))
          return FALSE;
        any = TRUE;
      }
  if (!any)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING, "job '%s' is not running",
                 jobd_job_get_name (set->parent));
  return any;
}

gboolean
jobd_instances_get_memory (JobdInstances *set, JobdMemorySnapshot *snapshot,
                           guint64 *bytes, const char **source)
{
  gboolean any = FALSE;

  *bytes = 0;
  for (guint i = 0; i < set->jobs->len; i++)
    {
      guint64 one = 0;
      const char *one_source = NULL;

      if (jobd_job_get_process (set->jobs->pdata[i]) == NULL ||
          !jobd_job_get_memory (set->jobs->pdata[i], snapshot, &one, &one_source, NULL))
        continue;
      if (!any)
        *source = one_source;
      *bytes += one;
      any = TRUE;
    }
  return any;
}

guint64
jobd_instances_get_cpu_usage (JobdInstances *set, JobdMemorySnapshot *snapshot)
{
  guint64 usec = 0;

  for (guint i = 0; i < set->jobs->len; i++)
    usec += jobd_job_get_cpu_usage (set->jobs->pdata[i], snapshot);
  return usec;
}

void
jobd_instances_add_runtime (JobdInstances *set, GVariantBuilder *b)
{
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < set->jobs->len; i++)
    {
      JobdJob *job = set->jobs->pdata[i];
      guint64 memory = 0;
      const char *source = NULL;

      if (jobd_job_get_process (job) != NULL)
        jobd_job_get_memory (job, NULL, &memory, &source, NULL);
      g_variant_builder_open (&list, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&list, "{sv}", "instance", g_variant_new_uint32 (i + 1));
      g_variant_builder_add (&list, "{sv}", "state",
                             g_variant_new_string (jobd_state_to_string (jobd_job_get_state (job))));
      g_variant_builder_add (&list, "{sv}", "pid", g_variant_new_uint32 (jobd_job_get_pid (job)));
      g_variant_builder_add (&list, "{sv}", "memory", g_variant_new_uint64 (memory));
      g_variant_builder_add (&list, "{sv}", "restarts",
                             g_variant_new_uint32 (jobd_job_get_restarts (job)));
      g_variant_builder_add (&list, "{sv}", "unit",
                             g_variant_new_string (jobd_job_get_process (job) != NULL &&
                                                   jobd_process_get_unit (jobd_job_get_process (job)) != NULL
                                                   ? jobd_process_get_unit (jobd_job_get_process (job)) : ""));
      g_variant_builder_close (&list);
    }
  g_variant_builder_add (b, "{sv}", "instances-up",
                         g_variant_new_uint32 (jobd_instances_count_up (set)));
  g_variant_builder_add (b, "{sv}", "instances", g_variant_builder_end (&list));
}

/* ---- surviving a jobd restart ---- */

JsonObject *
jobd_instances_save_record (JobdInstances *set)
{
  JsonArray *list = json_array_new ();
  JsonObject *record;

  for (guint i = 0; i < set->jobs->len; i++)
    {
      JobdJob *job = set->jobs->pdata[i];
      JsonObject *one = jobd_job_save_record (job);

      if (one == NULL)
        continue;
      json_object_set_int_member (one, "instance", i + 1);
      json_object_set_boolean_member (one, "wanted-up", jobd_job_get_wanted_up (job));
      json_array_add_object_element (list, one);
    }
  /* Scaled away, still stopping: the next jobd finishes the stop. */
  for (guint i = 0; i < set->leaving->len; i++)
    {
      JobdJob *job = set->leaving->pdata[i];
      JsonObject *one = jobd_job_save_record (job);

      if (one == NULL)
        continue;
      json_object_set_int_member (one, "instance", tag_of (job)->instance);
      json_object_set_boolean_member (one, "wanted-up", FALSE);
      json_array_add_object_element (list, one);
    }
  if (json_array_get_length (list) == 0)
    {
      json_array_unref (list);
      return NULL;
    }
  record = json_object_new ();
  json_object_set_array_member (record, "instances", list);
  return record;
}

typedef struct {
  JobdInstances *set;
  JobdJob *parent;            /* a reference, while the adoption runs */
  JobdInstancesAdopted done;
  gpointer user_data;
  gboolean wanted_up;
  guint pending;
  guint adopted;
} Adoption;

typedef struct {
  Adoption *adoption;
  JobdJob *job;               /* a reference */
  JsonObject *record;
} AdoptOne;

static void
adoption_step_done (Adoption *a)
{
  if (--a->pending > 0)
    return;
  if (a->adopted > 0 && a->wanted_up)
    for (guint i = 0; i < a->set->jobs->len; i++)
      if (!jobd_job_is_active (a->set->jobs->pdata[i]))
        start_instance (a->set->jobs->pdata[i], &JOBD_RUN_CAUSE (JOBD_REASON_POLICY));
  g_clear_handle_id (&a->set->drop_idle, g_source_remove);
  drop_left (a->set);
  a->done (a->parent, a->adopted, a->user_data);
  g_object_unref (a->parent);
  g_free (a);
}

static void
on_instance_adopted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AdoptOne *one = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdProcess) process = jobd_spawner_adopt_finish (JOBD_SPAWNER (source), result, &error);
  const char *name = jobd_job_get_name (one->job);

  if (process != NULL && jobd_job_get_process (one->job) == NULL)
    {
      jobd_job_message (name, "job %s: still running as PID %d, taken back", name,
                        (int) jobd_process_get_pid (process));
      jobd_job_adopt (one->job, process, one->record);
      one->adoption->adopted++;
    }
  else if (process == NULL)
    jobd_job_debug (name, "job %s: %s", name, error->message);
  adoption_step_done (one->adoption);
  g_object_unref (one->job);
  json_object_unref (one->record);
  g_free (one);
}

void
jobd_instances_adopt (JobdInstances *set, JsonObject *record, gboolean wanted_up,
                      JobdInstancesAdopted done, gpointer user_data)
{
  JsonArray *list = json_object_get_array_member (record, "instances");
  guint n = jobd_job_get_settings (set->parent)->instances;
  Adoption *a = g_new0 (Adoption, 1);

  a->set = set;
  a->parent = g_object_ref (set->parent);
  a->done = done;
  a->user_data = user_data;
  a->wanted_up = wanted_up;
  a->pending = 1;
  resize (set, MAX (n, 1), NULL);
  for (guint k = 0; list != NULL && k < json_array_get_length (list); k++)
    {
      JsonObject *one = json_array_get_object_element (list, k);
      gint64 instance = one != NULL ? json_object_get_int_member_with_default (one, "instance", 0) : 0;
      g_autofree char *io = NULL;
      JobdJob *job;
      AdoptOne *step;
      GPid pid;
      guint64 ticks;
      const char *unit;

      if (instance < 1 || instance > JOBD_INSTANCES_MAX)
        continue;
      if ((guint) instance > set->jobs->len)
        {
          /* Recorded past the setting (scaled away, still stopping): taken
           * back to be stopped. */
          job = instance_new (set, (guint) instance);
          tag_of (job)->leaving = TRUE;
          g_ptr_array_add (set->leaving, job);
          json_object_set_boolean_member (one, "wanted-up", FALSE);
        }
      else
        job = set->jobs->pdata[instance - 1];
      jobd_job_restore_counters (job, one);
      if (!jobd_process_record_get (one, &pid, &ticks, &unit))
        continue;
      io = g_strdup_printf ("%s#%u", jobd_job_get_name (set->parent), (guint) instance);
      step = g_new0 (AdoptOne, 1);
      step->adoption = a;
      step->job = g_object_ref (job);
      step->record = json_object_ref (one);
      a->pending++;
      jobd_spawner_adopt_async (set->context.spawner,
                                &(JobdSpawnRequest) {
                                  .job_name = io,
                                  .runtime_dir = set->context.runtime_dir,
                                  .instance = (guint) instance,
                                  .limits = jobd_launch_limits (jobd_job_get_settings (job)),
                                },
                                one, NULL, on_instance_adopted, step);
    }
  adoption_step_done (a);
}
