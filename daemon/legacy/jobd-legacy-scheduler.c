/* jobd-legacy-scheduler.c — the legacy "scheduler" plugin: schedules, their
 * store, the timer that fires them, and migration of old schedules. The
 * SCHEDULER.* commands are in jobd-legacy-scheduler-commands.c.
 */
#include "jobd-legacy-datafile.h"
#include "jobd-legacy-scheduler.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "jobd-error.h"
#include "jobd-log.h"

#define SCHEDULER_FILE "scheduler.json"
#define UUID_MAX 64
/* Bounds memory and the cost of recomputing every schedule. */
#define SCHEDULES_MAX 10000
/* A firing this late (suspend, clock jumped forward) is skipped. */
#define FIRE_GRACE 60

typedef struct {
  char *jobname;
  char *uuid;
  gboolean enable;
  JsonObject *condition_json;      /* as the client sent it, returned by GET */
  JobdLegacyCondition condition;
  GArray *log;                     /* gint64 firing times, newest first */
  gint64 next;                     /* next firing, -1 for none */
} Schedule;

struct _JobdLegacyScheduler {
  JobdManager *manager;            /* owned reference, may be NULL */
  gulong job_removed_id;
  char *path;
  GTimeZone *tz;
  GHashTable *jobs;                /* jobname → (uuid → Schedule*) */
  JobdLegacyClockFunc clock;
  gpointer clock_data;
  JobdLegacyFireFunc fire;
  gpointer fire_data;
  int timer_fd;                    /* -1 until started */
  guint timer_source;
  gint64 armed_for;                /* -1 when disarmed */
};

static void
schedule_free (gpointer data)
{
  Schedule *s = data;

  g_free (s->jobname);
  g_free (s->uuid);
  g_clear_pointer (&s->condition_json, json_object_unref);
  g_array_unref (s->log);
  g_free (s);
}

static gint64
last_fire (Schedule *s)
{
  return s->log->len > 0 ? g_array_index (s->log, gint64, 0) : -1;
}

static gint64
now (JobdLegacyScheduler *scheduler)
{
  if (scheduler->clock != NULL)
    return scheduler->clock (scheduler->clock_data);
  return g_get_real_time () / G_USEC_PER_SEC;
}

GTimeZone *
jobd_legacy_time_zone_new (const char *identifier, GError **error)
{
  GTimeZone *tz;

  if (identifier == NULL || *identifier == '\0')
    return g_time_zone_new_local ();
  tz = g_time_zone_new_identifier (identifier);
  if (tz == NULL)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                 "[Daemon] TimeZone=%s: unknown time zone", identifier);
  return tz;
}

/* ---- the table of schedules ---- */

static GHashTable *
job_table (JobdLegacyScheduler *scheduler, const char *jobname, gboolean create)
{
  GHashTable *table = g_hash_table_lookup (scheduler->jobs, jobname);

  if (table == NULL && create)
    {
      table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, schedule_free);
      g_hash_table_insert (scheduler->jobs, g_strdup (jobname), table);
    }
  return table;
}

static Schedule *
lookup (JobdLegacyScheduler *scheduler, const char *jobname, const char *uuid,
        GError **error)
{
  GHashTable *table = job_table (scheduler, jobname, FALSE);
  Schedule *s = table != NULL ? g_hash_table_lookup (table, uuid) : NULL;

  if (s == NULL)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                 "job %s has no schedule %s", jobname, uuid);
  return s;
}

/* Another schedule of the job (not `except`) with an equal condition? */
static gboolean
has_duplicate (JobdLegacyScheduler *scheduler, const char *jobname,
               const JobdLegacyCondition *condition, Schedule *except)
{
  GHashTable *table = job_table (scheduler, jobname, FALSE);
  GHashTableIter iter;
  gpointer value;

  if (table == NULL)
    return FALSE;
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (value != except
        && jobd_legacy_condition_equal (&((Schedule *) value)->condition, condition))
      return TRUE;
  return FALSE;
}

static void
compute_next (JobdLegacyScheduler *scheduler, Schedule *s, gint64 after)
{
  s->next = s->enable
    ? jobd_legacy_condition_next_fire (&s->condition, scheduler->tz, after, last_fire (s))
    : -1;
}

/* Every schedule, sorted by job then UUID (stable output and firing order). */
static GPtrArray *
all_schedules (JobdLegacyScheduler *scheduler)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new ();
  GHashTableIter jobs, uuids;
  gpointer table, value;

  g_hash_table_iter_init (&jobs, scheduler->jobs);
  while (g_hash_table_iter_next (&jobs, NULL, &table))
    {
      g_hash_table_iter_init (&uuids, table);
      while (g_hash_table_iter_next (&uuids, NULL, &value))
        g_ptr_array_add (out, value);
    }
  return g_steal_pointer (&out);
}

static gint
compare_schedules (gconstpointer a, gconstpointer b)
{
  const Schedule *x = *(Schedule *const *) a, *y = *(Schedule *const *) b;
  int c = strcmp (x->jobname, y->jobname);

  return c != 0 ? c : strcmp (x->uuid, y->uuid);
}

static GPtrArray *
sorted_schedules (JobdLegacyScheduler *scheduler)
{
  GPtrArray *list = all_schedules (scheduler);

  g_ptr_array_sort (list, compare_schedules);
  return list;
}

/* ---- persistence ---- */

static JsonNode *
schedule_public (Schedule *s)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_boolean_member (object, "enable", s->enable);
  json_object_set_object_member (object, "condition", json_object_ref (s->condition_json));
  return json_node_init_object (json_node_alloc (), object);
}

static JsonNode *
log_node (Schedule *s)
{
  g_autoptr(JsonArray) array = json_array_sized_new (s->log->len);

  for (guint i = 0; i < s->log->len; i++)
    json_array_add_int_element (array, g_array_index (s->log, gint64, i));
  return json_node_init_array (json_node_alloc (), array);
}

/* jobname → uuid → schedule (with the log when with_log). */
static JsonNode *
build_tree (JobdLegacyScheduler *scheduler, gboolean with_log)
{
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(GPtrArray) list = sorted_schedules (scheduler);

  for (guint i = 0; i < list->len; i++)
    {
      Schedule *s = list->pdata[i];
      JsonObject *job = json_object_has_member (root, s->jobname)
        ? json_object_get_object_member (root, s->jobname) : NULL;
      JsonNode *node = schedule_public (s);

      if (job == NULL)
        {
          job = json_object_new ();
          json_object_set_object_member (root, s->jobname, job);
        }
      if (with_log)
        json_object_set_member (json_node_get_object (node), "log", log_node (s));
      json_object_set_member (job, s->uuid, node);
    }
  return json_node_init_object (json_node_alloc (), root);
}

static gboolean
save (JobdLegacyScheduler *scheduler, GError **error)
{
  g_autoptr(JsonNode) root = build_tree (scheduler, TRUE);

  return jobd_legacy_datafile_save (scheduler->path, root, error);
}

static gint
compare_desc (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

/* Times from a JSON array (non-integers skipped), newest first, at most 50. */
static GArray *
log_from_json (JsonArray *array)
{
  GArray *log = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint n = array != NULL ? json_array_get_length (array) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      gint64 t;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        continue;
      t = json_node_get_int (node);
      if (t > 0)
        g_array_append_val (log, t);
    }
  g_array_sort (log, compare_desc);
  if (log->len > JOBD_LEGACY_SCHEDULER_LOG_MAX)
    g_array_set_size (log, JOBD_LEGACY_SCHEDULER_LOG_MAX);
  return log;
}

static gboolean
uuid_is_safe (const char *uuid)
{
  gsize len = strlen (uuid);

  /* Old UUIDs are kept as they were; they only need to be sane names. */
  return len > 0 && len <= UUID_MAX
    && strspn (uuid, "0123456789abcdefABCDEF-") == len;
}

/* A Schedule from a stored or imported record, validated. */
static Schedule *
schedule_from_record (const char *jobname, const char *uuid, JsonNode *node,
                      GError **error)
{
  JsonObject *record, *condition = NULL;
  JsonArray *log = NULL;
  gboolean enable = TRUE;
  Schedule *s;
  JobdLegacyCondition parsed;

  if (!jobd_name_validate (jobname, error))
    return NULL;
  if (!uuid_is_safe (uuid))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "bad UUID \"%s\"", uuid);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "not an object");
      return NULL;
    }
  record = json_node_get_object (node);
  if (!jobd_legacy_param_bool (record, "enable", FALSE, &enable, error)
      || !jobd_legacy_param_object (record, "condition", TRUE, &condition, error)
      || !jobd_legacy_condition_parse (condition, &parsed, error))
    return NULL;
  if (json_object_has_member (record, "log")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (record, "log")))
    log = json_object_get_array_member (record, "log");

  s = g_new0 (Schedule, 1);
  s->jobname = g_strdup (jobname);
  s->uuid = g_strdup (uuid);
  s->enable = enable;
  s->condition_json = json_object_ref (condition);
  s->condition = parsed;
  s->log = log_from_json (log);
  s->next = -1;
  return s;
}

static void
insert (JobdLegacyScheduler *scheduler, Schedule *s)
{
  g_hash_table_replace (job_table (scheduler, s->jobname, TRUE), s->uuid, s);
}

static gboolean
load (JobdLegacyScheduler *scheduler, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GList) jobs = NULL;
  JsonObject *object;

  if (!jobd_legacy_datafile_load (scheduler->path, parser, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  jobs = json_object_get_members (object);
  for (GList *j = jobs; j != NULL; j = j->next)
    {
      JsonNode *job = json_object_get_member (object, j->data);
      g_autoptr(GList) uuids = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (job))
        continue;
      uuids = json_object_get_members (json_node_get_object (job));
      for (GList *u = uuids; u != NULL; u = u->next)
        {
          g_autoptr(GError) bad = NULL;
          Schedule *s = schedule_from_record (j->data, u->data,
                                              json_object_get_member (json_node_get_object (job),
                                                                      u->data),
                                              &bad);

          /* One bad record must not cost the others. */
          if (s == NULL)
            jobd_job_warning ((const char *) j->data,
                              "%s: dropping schedule %s of %s: %s", scheduler->path,
                              (const char *) u->data, (const char *) j->data, bad->message);
          else
            insert (scheduler, s);
        }
    }
  return TRUE;
}

/* ---- the timer ---- */

gint64
jobd_legacy_scheduler_get_next_wakeup (JobdLegacyScheduler *scheduler)
{
  g_autoptr(GPtrArray) list = all_schedules (scheduler);
  gint64 earliest = -1;

  for (guint i = 0; i < list->len; i++)
    {
      Schedule *s = list->pdata[i];

      if (s->enable && s->next >= 0 && (earliest < 0 || s->next < earliest))
        earliest = s->next;
    }
  return earliest;
}

static void
rearm (JobdLegacyScheduler *scheduler)
{
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };
  gint64 next;

  if (scheduler->timer_fd < 0)
    return;
  next = jobd_legacy_scheduler_get_next_wakeup (scheduler);
  if (next == scheduler->armed_for)
    return;
  /* it_value 0 disarms: nothing scheduled, no wakeups. */
  spec.it_value.tv_sec = next >= 0 ? MAX (next, 1) : 0;
  if (timerfd_settime (scheduler->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                       &spec, NULL) < 0)
    {
      g_warning ("scheduler: cannot arm the timer: %s", g_strerror (errno));
      return;
    }
  scheduler->armed_for = next;
}

void
jobd_legacy_scheduler_recompute (JobdLegacyScheduler *scheduler)
{
  g_autoptr(GPtrArray) list = all_schedules (scheduler);
  gint64 t = now (scheduler);

  for (guint i = 0; i < list->len; i++)
    compute_next (scheduler, list->pdata[i], t - 1);
  rearm (scheduler);
}

static void
fire_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *jobname = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_job_message (jobname, "scheduler: job %s not started: %s", jobname, error->message);
  else
    jobd_job_message (jobname, "scheduler: started job %s", jobname);
}

static void
fire (JobdLegacyScheduler *scheduler, Schedule *s)
{
  if (scheduler->fire != NULL)
    scheduler->fire (s->jobname, s->uuid, scheduler->fire_data);
  else if (scheduler->manager != NULL)
    {
      JobdRunCause cause = { JOBD_REASON_SCHEDULE, JOBD_UID_NONE, s->uuid };

      jobd_manager_start_job_async (scheduler->manager, s->jobname, &cause, NULL, fire_done,
                                    g_strdup (s->jobname));
    }
}

static void
record_fire (Schedule *s, gint64 t)
{
  g_array_prepend_val (s->log, t);
  if (s->log->len > JOBD_LEGACY_SCHEDULER_LOG_MAX)
    g_array_set_size (s->log, JOBD_LEGACY_SCHEDULER_LOG_MAX);
}

guint
jobd_legacy_scheduler_run_due (JobdLegacyScheduler *scheduler)
{
  g_autoptr(GPtrArray) list = sorted_schedules (scheduler);
  g_autoptr(GError) error = NULL;
  gint64 t = now (scheduler);
  guint fired = 0;

  for (guint i = 0; i < list->len; i++)
    {
      Schedule *s = list->pdata[i];
      gint64 slot = s->next;

      if (!s->enable || slot < 0 || slot > t)
        continue;
      if (t - slot < FIRE_GRACE)
        {
          /* The log holds the scheduled time, so periods stay aligned. */
          record_fire (s, slot);
          fire (scheduler, s);
          fired++;
        }
      else
        jobd_job_message (s->jobname, "scheduler: job %s missed its %" G_GINT64_FORMAT " firing (%"
                          G_GINT64_FORMAT " s late)", s->jobname, slot, t - slot);
      compute_next (scheduler, s, MAX (t, slot));
    }
  if (fired > 0 && !save (scheduler, &error))
    g_warning ("scheduler: cannot save the fire log: %s", error->message);
  rearm (scheduler);
  return fired;
}

static gboolean
timer_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  JobdLegacyScheduler *scheduler = user_data;
  guint64 expirations;
  ssize_t n = read (fd, &expirations, sizeof expirations);

  scheduler->armed_for = -1;
  if (n < 0 && errno == ECANCELED)
    {
      /* The wall clock was set: every next time may have moved. */
      g_debug ("scheduler: clock changed, recomputing");
      jobd_legacy_scheduler_recompute (scheduler);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    g_warning ("scheduler: timer: %s", g_strerror (errno));
  jobd_legacy_scheduler_run_due (scheduler);
  return G_SOURCE_CONTINUE;
}

gboolean
jobd_legacy_scheduler_start (JobdLegacyScheduler *scheduler, GError **error)
{
  if (scheduler->timer_fd >= 0)
    return TRUE;
  scheduler->timer_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (scheduler->timer_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "scheduler: timerfd_create: %s", g_strerror (saved));
      return FALSE;
    }
  scheduler->timer_source = g_unix_fd_add (scheduler->timer_fd, G_IO_IN, timer_cb, scheduler);
  scheduler->armed_for = -1;
  jobd_legacy_scheduler_recompute (scheduler);
  return TRUE;
}

/* ---- life cycle ---- */

static void
on_job_removed (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  JobdLegacyScheduler *scheduler = user_data;
  g_autoptr(GError) error = NULL;

  /* A job added again under the name must not inherit old schedules. */
  if (!g_hash_table_remove (scheduler->jobs, jobd_job_get_name (job)))
    return;
  if (!save (scheduler, &error))
    g_warning ("scheduler: cannot save: %s", error->message);
  rearm (scheduler);
}

JobdLegacyScheduler *
jobd_legacy_scheduler_new (JobdManager *manager,
                           const char *state_dir,
                           GTimeZone *tz,
                           GError **error)
{
  g_autoptr(JobdLegacyScheduler) scheduler = g_new0 (JobdLegacyScheduler, 1);

  scheduler->timer_fd = -1;
  scheduler->armed_for = -1;
  scheduler->path = g_build_filename (state_dir, "plugins", SCHEDULER_FILE, NULL);
  scheduler->tz = tz != NULL ? g_time_zone_ref (tz) : g_time_zone_new_local ();
  scheduler->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_hash_table_unref);
  if (!load (scheduler, error))
    return NULL;
  if (manager != NULL)
    {
      scheduler->manager = g_object_ref (manager);
      scheduler->job_removed_id = g_signal_connect (manager, "job-removed",
                                                    G_CALLBACK (on_job_removed), scheduler);
    }
  jobd_legacy_scheduler_recompute (scheduler);
  return g_steal_pointer (&scheduler);
}

void
jobd_legacy_scheduler_free (JobdLegacyScheduler *scheduler)
{
  if (scheduler == NULL)
    return;
  if (scheduler->manager != NULL)
    {
      g_clear_signal_handler (&scheduler->job_removed_id, scheduler->manager);
      g_clear_object (&scheduler->manager);
    }
  g_clear_handle_id (&scheduler->timer_source, g_source_remove);
  if (scheduler->timer_fd >= 0)
    close (scheduler->timer_fd);
  g_clear_pointer (&scheduler->jobs, g_hash_table_unref);
  g_clear_pointer (&scheduler->tz, g_time_zone_unref);
  g_free (scheduler->path);
  g_free (scheduler);
}

void
jobd_legacy_scheduler_set_clock (JobdLegacyScheduler *scheduler,
                                 JobdLegacyClockFunc clock,
                                 gpointer user_data)
{
  scheduler->clock = clock;
  scheduler->clock_data = user_data;
  jobd_legacy_scheduler_recompute (scheduler);
}

void
jobd_legacy_scheduler_set_fire_func (JobdLegacyScheduler *scheduler,
                                     JobdLegacyFireFunc fire_func,
                                     gpointer user_data)
{
  scheduler->fire = fire_func;
  scheduler->fire_data = user_data;
}

/* ---- operations ---- */

static gboolean
check_job (JobdLegacyScheduler *scheduler, const char *jobname, GError **error)
{
  if (!jobd_name_validate (jobname, error))
    return FALSE;
  return scheduler->manager == NULL
    || jobd_manager_lookup_job (scheduler->manager, jobname, error) != NULL;
}

static guint
count_schedules (JobdLegacyScheduler *scheduler)
{
  GHashTableIter iter;
  gpointer table;
  guint n = 0;

  g_hash_table_iter_init (&iter, scheduler->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &table))
    n += g_hash_table_size (table);
  return n;
}

/* Persist a change and re-arm the timer for it. */
static gboolean
commit (JobdLegacyScheduler *scheduler, GError **error)
{
  if (!save (scheduler, error))
    return FALSE;
  rearm (scheduler);
  return TRUE;
}

char *
jobd_legacy_scheduler_add (JobdLegacyScheduler *scheduler,
                           const char *jobname,
                           const char *uuid,
                           gboolean enable,
                           JsonObject *condition,
                           GError **error)
{
  g_autoptr(JsonObject) record = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *id = uuid != NULL ? g_strdup (uuid) : g_uuid_string_random ();
  Schedule *s;

  if (!check_job (scheduler, jobname, error))
    return NULL;
  if (count_schedules (scheduler) >= SCHEDULES_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "at most %d schedules", SCHEDULES_MAX);
      return NULL;
    }
  json_object_set_boolean_member (record, "enable", enable);
  json_object_set_object_member (record, "condition", json_object_ref (condition));
  node = json_node_init_object (json_node_alloc (), record);
  s = schedule_from_record (jobname, id, node, error);
  if (s == NULL)
    return NULL;
  if (has_duplicate (scheduler, jobname, &s->condition, NULL)
      || lookup (scheduler, jobname, id, NULL) != NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "job %s already has this schedule", jobname);
      schedule_free (s);
      return NULL;
    }
  compute_next (scheduler, s, now (scheduler) - 1);
  insert (scheduler, s);
  if (!commit (scheduler, error))
    {
      g_hash_table_remove (job_table (scheduler, jobname, FALSE), id);
      return NULL;
    }
  return g_steal_pointer (&id);
}

gboolean
jobd_legacy_scheduler_update (JobdLegacyScheduler *scheduler,
                              const char *jobname,
                              const char *uuid,
                              const gboolean *enable,
                              JsonObject *condition,
                              GError **error)
{
  Schedule *s = lookup (scheduler, jobname, uuid, error);
  Schedule old;
  JobdLegacyCondition parsed;

  if (s == NULL)
    return FALSE;
  if (condition != NULL)
    {
      if (!jobd_legacy_condition_parse (condition, &parsed, error))
        return FALSE;
      if (has_duplicate (scheduler, jobname, &parsed, s))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "job %s already has this schedule", jobname);
          return FALSE;
        }
    }
  old = *s;
  old.condition_json = json_object_ref (s->condition_json);
  if (enable != NULL)
    s->enable = *enable;
  if (condition != NULL)
    {
      json_object_unref (s->condition_json);
      s->condition_json = json_object_ref (condition);
      s->condition = parsed;
    }
  compute_next (scheduler, s, now (scheduler) - 1);
  if (!commit (scheduler, error))
    {
      json_object_unref (s->condition_json);
      s->condition_json = old.condition_json;
      s->enable = old.enable;
      s->condition = old.condition;
      s->next = old.next;
      return FALSE;
    }
  json_object_unref (old.condition_json);
  return TRUE;
}

gboolean
jobd_legacy_scheduler_delete (JobdLegacyScheduler *scheduler,
                              const char *jobname,
                              const char *uuid,
                              GError **error)
{
  GHashTable *table = job_table (scheduler, jobname, FALSE);
  Schedule *s = lookup (scheduler, jobname, uuid, error);

  if (s == NULL)
    return FALSE;
  g_hash_table_steal (table, uuid);
  if (!commit (scheduler, error))
    {
      /* Not deleted on disk: not in memory either. */
      insert (scheduler, s);
      return FALSE;
    }
  schedule_free (s);
  if (g_hash_table_size (table) == 0)
    g_hash_table_remove (scheduler->jobs, jobname);
  return TRUE;
}

JsonNode *
jobd_legacy_scheduler_get (JobdLegacyScheduler *scheduler,
                           const char *jobname,
                           const char *uuid,
                           GError **error)
{
  Schedule *s = lookup (scheduler, jobname, uuid, error);

  return s != NULL ? schedule_public (s) : NULL;
}

JsonNode *
jobd_legacy_scheduler_get_all (JobdLegacyScheduler *scheduler)
{
  return build_tree (scheduler, FALSE);
}

JsonNode *
jobd_legacy_scheduler_get_log (JobdLegacyScheduler *scheduler,
                               const char *jobname,
                               const char *uuid,
                               GError **error)
{
  Schedule *s = lookup (scheduler, jobname, uuid, error);

  return s != NULL ? log_node (s) : NULL;
}

/* ---- migration ---- */

/* The old <log_dir>/<job>/<uuid>.log (a JSON array), or NULL. */
static JsonArray *
read_old_log (const char *log_dir, const char *jobname, const char *uuid,
              JsonParser *parser, GString *report)
{
  g_autofree char *file = g_strconcat (uuid, ".log", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (log_dir == NULL)
    return NULL;
  path = g_build_filename (log_dir, jobname, file, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  if (!json_parser_load_from_file (parser, path, &error))
    {
      g_string_append_printf (report, "scheduler: fire log %s not read: %s\n",
                              path, error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_string_append_printf (report, "scheduler: fire log %s is not a JSON array\n", path);
      return NULL;
    }
  return json_node_get_array (root);
}

static void
import_one (JobdLegacyScheduler *scheduler, const char *jobname, const char *uuid,
            JsonNode *node, const char *log_dir, gboolean force, GString *report)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  Schedule *s, *existing;
  JsonArray *log;

  if (!check_job (scheduler, jobname, &error)
      || (s = schedule_from_record (jobname, uuid, node, &error)) == NULL)
    {
      g_string_append_printf (report, "scheduler: skipped %s of job %s: %s\n",
                              uuid, jobname, error->message);
      return;
    }
  existing = lookup (scheduler, jobname, uuid, NULL);
  if ((existing != NULL && !force)
      || has_duplicate (scheduler, jobname, &s->condition, existing))
    {
      g_string_append_printf (report, "scheduler: skipped %s of job %s: %s\n", uuid, jobname,
                              existing != NULL ? "exists" : "same condition as another");
      schedule_free (s);
      return;
    }
  log = read_old_log (log_dir, jobname, uuid, parser, report);
  if (log != NULL)
    {
      g_array_unref (s->log);
      s->log = log_from_json (log);
    }
  compute_next (scheduler, s, now (scheduler) - 1);
  insert (scheduler, s);
  g_string_append_printf (report, "scheduler: imported %s of job %s (%u fire times)\n",
                          uuid, jobname, s->log->len);
}

gboolean
jobd_legacy_scheduler_import (JobdLegacyScheduler *scheduler,
                              JsonObject *old_config,
                              const char *old_log_dir,
                              gboolean force,
                              GString *report,
                              GError **error)
{
  g_autoptr(GList) jobs = json_object_get_members (old_config);

  for (GList *j = jobs; j != NULL; j = j->next)
    {
      JsonNode *job = json_object_get_member (old_config, j->data);
      g_autoptr(GList) uuids = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (job))
        {
          g_string_append_printf (report, "scheduler: skipped job %s: not an object\n",
                                  (const char *) j->data);
          continue;
        }
      uuids = json_object_get_members (json_node_get_object (job));
      for (GList *u = uuids; u != NULL; u = u->next)
        import_one (scheduler, j->data, u->data,
                    json_object_get_member (json_node_get_object (job), u->data),
                    old_log_dir, force, report);
    }
  return commit (scheduler, error);
}
