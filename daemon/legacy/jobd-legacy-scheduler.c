/* SPDX-License-Identifier: MIT */
/* jobd-legacy-scheduler.c — the legacy "scheduler" plugin, a thin layer over
 * the job setting `schedules` and the core timer engine (jobd-timers.h).
 *
 * A legacy schedule is an entry {"id": UUID, "spec": "legacy:" + the
 * condition as sent, "enabled": b} of its job's schedules; SCHEDULER.ADD,
 * UPDATE and DELETE change that setting through the manager (so the change
 * is persisted with the job and seen by D-Bus and jobctl), GET/GETALL read
 * it, and the fire log is the engine's. Entries that are not legacy
 * conditions (calendar expressions, "every") show to the old client as
 * {"enable": b, "condition": {"spec": "EXPR"}}.
 *
 * STATE_DIR/plugins/scheduler.json of an older jobd is migrated once at
 * start (UUIDs and fire logs kept) and renamed scheduler.json.migrated.
 * Without a manager (unit tests) the plugin keeps the schedules itself, in
 * that same file, and drives an engine of its own.
 */
#include "jobd-legacy-datafile.h"
#include "jobd-legacy-scheduler.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "jobd-error.h"
#include "jobd-history.h"
#include "jobd-log.h"
#include "jobd-timers.h"

#define SCHEDULER_FILE "scheduler.json"
#define MIGRATED_SUFFIX ".migrated"
/* Bounds memory and the cost of recomputing every schedule. */
#define SCHEDULES_MAX 10000

struct _JobdLegacyScheduler {
  JobdManager *manager;            /* owned reference, may be NULL */
  JobdTimers *timers;              /* the manager's, or own_timers */
  JobdTimers *own_timers;          /* without a manager */
  GHashTable *standalone;          /* without a manager: job → GPtrArray of entries */
  char *path;
  JobdLegacyClockFunc clock;
  gpointer clock_data;
  JobdLegacyFireFunc fire;
  gpointer fire_data;
};

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

/* ---- the entries of a job ---- */

static gboolean
check_job (JobdLegacyScheduler *scheduler, const char *jobname, GError **error)
{
  if (!jobd_name_validate (jobname, error))
    return FALSE;
  return scheduler->manager == NULL
    || jobd_manager_lookup_job (scheduler->manager, jobname, error) != NULL;
}

/* The job's schedules (borrowed; NULL: none). */
static const GPtrArray *
entries_of (JobdLegacyScheduler *scheduler, const char *jobname)
{
  JobdJob *job;

  if (scheduler->manager == NULL)
    return g_hash_table_lookup (scheduler->standalone, jobname);
  job = jobd_manager_lookup_job (scheduler->manager, jobname, NULL);
  return job != NULL ? jobd_job_get_settings (job)->schedules : NULL;
}

static gboolean save_standalone (JobdLegacyScheduler *scheduler, GError **error);

/* Make `entries` the job's schedules (persisted with the job). */
static gboolean
store (JobdLegacyScheduler *scheduler, const char *jobname, GPtrArray *entries, GError **error)
{
  g_autoptr(JobdSettings) settings = NULL;
  JobdJob *job;

  if (scheduler->manager == NULL)
    {
      g_autoptr(GPtrArray) old = NULL;
      g_autofree char *old_key = NULL;

      g_hash_table_steal_extended (scheduler->standalone, jobname, (gpointer *) &old_key,
                                   (gpointer *) &old);
      if (entries->len > 0)
        g_hash_table_insert (scheduler->standalone, g_strdup (jobname),
                             jobd_schedule_entries_copy (entries));
      if (!save_standalone (scheduler, error))
        {
          g_hash_table_remove (scheduler->standalone, jobname);
          if (old != NULL)
            g_hash_table_insert (scheduler->standalone, g_strdup (jobname), g_steal_pointer (&old));
          return FALSE;
        }
      jobd_timers_set_job (scheduler->timers, jobname, entries, FALSE, 0);
      return TRUE;
    }
  job = jobd_manager_lookup_job (scheduler->manager, jobname, error);
  if (job == NULL)
    return FALSE;
  settings = jobd_settings_copy (jobd_job_get_settings (job));
  g_clear_pointer (&settings->schedules, g_ptr_array_unref);
  if (entries->len > 0)
    settings->schedules = jobd_schedule_entries_copy (entries);
  return jobd_manager_update_job (scheduler->manager, jobname, g_steal_pointer (&settings), error);
}

static GPtrArray *
entries_copy (JobdLegacyScheduler *scheduler, const char *jobname)
{
  const GPtrArray *entries = entries_of (scheduler, jobname);

  return entries != NULL ? jobd_schedule_entries_copy (entries)
                         : g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_schedule_entry_free);
}

static gint
find_entry (const GPtrArray *entries, const char *uuid)
{
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    if (g_str_equal (((JobdScheduleEntry *) entries->pdata[i])->id, uuid))
      return (gint) i;
  return -1;
}

static JobdScheduleEntry *
lookup (JobdLegacyScheduler *scheduler, const char *jobname, const char *uuid, GError **error)
{
  const GPtrArray *entries = entries_of (scheduler, jobname);
  gint i = find_entry (entries, uuid);

  if (i < 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "job %s has no schedule %s", jobname, uuid);
      return NULL;
    }
  return entries->pdata[i];
}

/* The condition of a legacy entry (new reference), or NULL. */
static JsonObject *
entry_condition (const JobdScheduleEntry *entry)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!g_str_has_prefix (entry->spec, JOBD_SCHEDULE_LEGACY_PREFIX)
      || !json_parser_load_from_data (parser, entry->spec + strlen (JOBD_SCHEDULE_LEGACY_PREFIX),
                                      -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

/* Another legacy entry of the list (not index `except`) with an equal condition? */
static gboolean
has_duplicate (const GPtrArray *entries, const JobdLegacyCondition *condition, gint except)
{
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      g_autoptr(JsonObject) other = NULL;
      JobdLegacyCondition parsed;

      if ((gint) i == except || (other = entry_condition (entries->pdata[i])) == NULL)
        continue;
      if (jobd_legacy_condition_parse (other, &parsed, NULL)
          && jobd_legacy_condition_equal (&parsed, condition))
        return TRUE;
    }
  return FALSE;
}

static guint
count_schedules (JobdLegacyScheduler *scheduler)
{
  g_autoptr(GPtrArray) all = jobd_timers_list (scheduler->timers, NULL);

  return all->len;
}

/* ---- answers ---- */

/* {"enable": b, "condition": {...}}; a spec that is no legacy condition
 * shows as {"spec": "EXPR"}. */
static JsonNode *
entry_public (const JobdScheduleEntry *entry)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonObject *condition = entry_condition (entry);

  if (condition == NULL)
    {
      condition = json_object_new ();
      json_object_set_string_member (condition, "spec", entry->spec);
    }
  json_object_set_boolean_member (object, "enable", entry->enabled);
  json_object_set_object_member (object, "condition", condition);
  return json_node_init_object (json_node_alloc (), object);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(JobdScheduleEntry *const *) a)->id, (*(JobdScheduleEntry *const *) b)->id);
}

static GPtrArray *
job_names (JobdLegacyScheduler *scheduler)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  if (scheduler->manager != NULL)
    {
      g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (scheduler->manager);
      for (guint i = 0; i < jobs->len; i++)
        g_ptr_array_add (names, g_strdup (jobd_job_get_name (jobs->pdata[i])));
    }
  else
    {
      GHashTableIter iter;
      gpointer key;
      g_hash_table_iter_init (&iter, scheduler->standalone);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (names, g_strdup (key));
    }
  return names;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* jobname → uuid → schedule (with the fire log when with_log), sorted. */
static JsonNode *
build_tree (JobdLegacyScheduler *scheduler, gboolean with_log)
{
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(GPtrArray) names = job_names (scheduler);

  g_ptr_array_sort (names, compare_names);
  for (guint j = 0; j < names->len; j++)
    {
      g_autoptr(GPtrArray) entries = entries_copy (scheduler, names->pdata[j]);
      JsonObject *job;

      if (entries->len == 0)
        continue;
      g_ptr_array_sort (entries, compare_entries);
      job = json_object_new ();
      for (guint i = 0; i < entries->len; i++)
        {
          JobdScheduleEntry *e = entries->pdata[i];
          JsonNode *node = entry_public (e);

          if (with_log)
            {
              g_autoptr(GError) error = NULL;
              JsonNode *log = jobd_legacy_scheduler_get_log (scheduler, names->pdata[j], e->id,
                                                             &error);
              json_object_set_member (json_node_get_object (node), "log",
                                      log != NULL ? log : json_node_init_array (json_node_alloc (),
                                                                                json_array_new ()));
            }
          json_object_set_member (job, e->id, node);
        }
      json_object_set_object_member (root, names->pdata[j], job);
    }
  return json_node_init_object (json_node_alloc (), root);
}

static gboolean
save_standalone (JobdLegacyScheduler *scheduler, GError **error)
{
  g_autoptr(JsonNode) root = build_tree (scheduler, FALSE);

  return jobd_legacy_datafile_save (scheduler->path, root, error);
}

/* ---- the clock and the fire action (unit tests) ---- */

static gint64
clock_usec (gpointer user_data)
{
  JobdLegacyScheduler *scheduler = user_data;

  return scheduler->clock (scheduler->clock_data) * G_USEC_PER_SEC;
}

static void
fire_wrapper (const char *job, const char *id, gint64 due_usec, gpointer user_data)
{
  JobdLegacyScheduler *scheduler = user_data;

  if (scheduler->fire != NULL)
    scheduler->fire (job, id, scheduler->fire_data);
}

void
jobd_legacy_scheduler_set_clock (JobdLegacyScheduler *scheduler,
                                 JobdLegacyClockFunc clock,
                                 gpointer user_data)
{
  scheduler->clock = clock;
  scheduler->clock_data = user_data;
  jobd_timers_set_clock (scheduler->timers, clock != NULL ? clock_usec : NULL, scheduler);
}

void
jobd_legacy_scheduler_set_fire_func (JobdLegacyScheduler *scheduler,
                                     JobdLegacyFireFunc fire_func,
                                     gpointer user_data)
{
  /* With a manager, fires start jobs through the core (jobd-scheduled-start.c). */
  g_return_if_fail (scheduler->own_timers != NULL);
  scheduler->fire = fire_func;
  scheduler->fire_data = user_data;
  jobd_timers_set_fire_func (scheduler->timers, fire_wrapper, scheduler);
}

gboolean
jobd_legacy_scheduler_start (JobdLegacyScheduler *scheduler, GError **error)
{
  return scheduler->own_timers == NULL || jobd_timers_start (scheduler->own_timers, error);
}

guint
jobd_legacy_scheduler_run_due (JobdLegacyScheduler *scheduler)
{
  return jobd_timers_run_due (scheduler->timers);
}

void
jobd_legacy_scheduler_recompute (JobdLegacyScheduler *scheduler)
{
  jobd_timers_recompute (scheduler->timers);
}

gint64
jobd_legacy_scheduler_get_next_wakeup (JobdLegacyScheduler *scheduler)
{
  gint64 next = jobd_timers_get_next_wakeup (scheduler->timers);

  return next < 0 ? -1 : next / G_USEC_PER_SEC;
}

/* ---- operations ---- */

char *
jobd_legacy_scheduler_add (JobdLegacyScheduler *scheduler,
                           const char *jobname,
                           const char *uuid,
                           gboolean enable,
                           JsonObject *condition,
                           GError **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *id = uuid != NULL ? g_strdup (uuid) : g_uuid_string_random ();
  g_autofree char *spec = NULL;
  JobdLegacyCondition parsed;

  if (!check_job (scheduler, jobname, error))
    return NULL;
  if (!jobd_schedule_id_is_valid (id))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "bad UUID \"%s\"", id);
      return NULL;
    }
  if (count_schedules (scheduler) >= SCHEDULES_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY, "at most %d schedules", SCHEDULES_MAX);
      return NULL;
    }
  if (!jobd_legacy_condition_parse (condition, &parsed, error))
    return NULL;
  entries = entries_copy (scheduler, jobname);
  if (has_duplicate (entries, &parsed, -1) || find_entry (entries, id) >= 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "job %s already has this schedule", jobname);
      return NULL;
    }
  spec = jobd_spec_from_legacy_condition (condition);
  g_ptr_array_add (entries, jobd_schedule_entry_new (id, spec, enable));
  if (!store (scheduler, jobname, entries, error))
    return NULL;
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
  g_autoptr(GPtrArray) entries = NULL;
  JobdScheduleEntry *e;
  JobdLegacyCondition parsed;
  gint i;

  if (lookup (scheduler, jobname, uuid, error) == NULL)
    return FALSE;
  entries = entries_copy (scheduler, jobname);
  i = find_entry (entries, uuid);
  e = entries->pdata[i];
  if (condition != NULL)
    {
      if (!jobd_legacy_condition_parse (condition, &parsed, error))
        return FALSE;
      if (has_duplicate (entries, &parsed, i))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "job %s already has this schedule", jobname);
          return FALSE;
        }
      g_free (e->spec);
      e->spec = jobd_spec_from_legacy_condition (condition);
    }
  if (enable != NULL)
    e->enabled = *enable;
  return store (scheduler, jobname, entries, error);
}

gboolean
jobd_legacy_scheduler_delete (JobdLegacyScheduler *scheduler,
                              const char *jobname,
                              const char *uuid,
                              GError **error)
{
  g_autoptr(GPtrArray) entries = NULL;

  if (lookup (scheduler, jobname, uuid, error) == NULL)
    return FALSE;
  entries = entries_copy (scheduler, jobname);
  g_ptr_array_remove_index (entries, (guint) find_entry (entries, uuid));
  return store (scheduler, jobname, entries, error);
}

JsonNode *
jobd_legacy_scheduler_get (JobdLegacyScheduler *scheduler,
                           const char *jobname,
                           const char *uuid,
                           GError **error)
{
  JobdScheduleEntry *e = lookup (scheduler, jobname, uuid, error);

  return e != NULL ? entry_public (e) : NULL;
}

JsonNode *
jobd_legacy_scheduler_get_all (JobdLegacyScheduler *scheduler)
{
  return build_tree (scheduler, FALSE);
}

/* The starts of the job's runs this schedule fired (Unix seconds, newest
 * first), from the run history. */
static GArray *
history_fires (JobdLegacyScheduler *scheduler, const char *jobname, const char *uuid)
{
  g_autoptr(GPtrArray) runs = jobd_history_list (jobd_manager_get_history (scheduler->manager),
                                                 jobname, 0);
  GArray *fires = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < runs->len && fires->len < JOBD_LEGACY_SCHEDULER_LOG_MAX; i++)
    {
      const JobdRunRecord *run = runs->pdata[i];
      gint64 t = run->start_usec / G_USEC_PER_SEC;

      if (g_strcmp0 (run->reason, JOBD_REASON_SCHEDULE) == 0
          && g_strcmp0 (run->trigger, uuid) == 0)
        g_array_append_val (fires, t);
    }
  return fires;
}

/* Fire times in Unix seconds, newest first, at most 50: the starts of the
 * runs the schedule started, from the run history. While the history holds
 * none (a schedule migrated from an older jobd that has not fired since;
 * without a manager, the unit tests), the engine's fire log. */
JsonNode *
jobd_legacy_scheduler_get_log (JobdLegacyScheduler *scheduler,
                               const char *jobname,
                               const char *uuid,
                               GError **error)
{
  g_autoptr(GArray) log = NULL;
  g_autoptr(GArray) fires = NULL;
  g_autoptr(JsonArray) array = NULL;

  if (lookup (scheduler, jobname, uuid, error) == NULL)
    return NULL;
  fires = scheduler->manager != NULL ? history_fires (scheduler, jobname, uuid)
                                     : g_array_new (FALSE, FALSE, sizeof (gint64));
  if (fires->len == 0)
    log = jobd_timers_get_log (scheduler->timers, jobname, uuid);
  for (guint i = 0; log != NULL && i < log->len && fires->len < JOBD_LEGACY_SCHEDULER_LOG_MAX; i++)
    {
      gint64 t = g_array_index (log, gint64, i) / G_USEC_PER_SEC;
      g_array_append_val (fires, t);
    }
  array = json_array_sized_new (fires->len);
  for (guint i = 0; i < fires->len; i++)
    json_array_add_int_element (array, g_array_index (fires, gint64, i));
  return json_node_init_array (json_node_alloc (), g_steal_pointer (&array));
}

/* ---- migration ---- */

/* Times (Unix seconds) from a JSON array, as µs; non-integers skipped. */
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
      if (t > 0 && t < G_MAXINT64 / G_USEC_PER_SEC)
        {
          t *= G_USEC_PER_SEC;
          g_array_append_val (log, t);
        }
    }
  return log;
}

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

/* One old record {"enable": b, "condition": {...}, "log": [...]}; its log
 * is the "log" member, or log_dir's file when log_dir is given. */
static void
import_one (JobdLegacyScheduler *scheduler, const char *jobname, const char *uuid,
            JsonNode *node, const char *log_dir, gboolean force, GString *report)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) times = NULL;
  g_autofree char *added = NULL;
  JsonObject *record, *condition = NULL;
  JsonArray *log = NULL;
  gboolean enable = TRUE;
  JobdLegacyCondition parsed;

  if (!check_job (scheduler, jobname, &error))
    goto skipped;
  if (!jobd_schedule_id_is_valid (uuid))
    {
      g_set_error (&error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "bad UUID \"%s\"", uuid);
      goto skipped;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (&error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "not an object");
      goto skipped;
    }
  record = json_node_get_object (node);
  if (!jobd_legacy_param_bool (record, "enable", FALSE, &enable, &error)
      || !jobd_legacy_param_object (record, "condition", TRUE, &condition, &error)
      || !jobd_legacy_condition_parse (condition, &parsed, &error))
    goto skipped;
  if (lookup (scheduler, jobname, uuid, NULL) != NULL)
    {
      if (!force)
        {
          g_string_append_printf (report, "scheduler: skipped %s of job %s: exists\n",
                                  uuid, jobname);
          return;
        }
      if (!jobd_legacy_scheduler_delete (scheduler, jobname, uuid, &error))
        goto skipped;
    }
  added = jobd_legacy_scheduler_add (scheduler, jobname, uuid, enable, condition, &error);
  if (added == NULL)
    {
      if (g_error_matches (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS)
          && strstr (error->message, "already has") != NULL)
        {
          g_string_append_printf (report, "scheduler: skipped %s of job %s: "
                                  "same condition as another\n", uuid, jobname);
          return;
        }
      goto skipped;
    }
  if (log_dir != NULL)
    log = read_old_log (log_dir, jobname, uuid, parser, report);
  else if (json_object_has_member (record, "log")
           && JSON_NODE_HOLDS_ARRAY (json_object_get_member (record, "log")))
    log = json_object_get_array_member (record, "log");
  times = log_from_json (log);
  /* No log given: the engine's own (timers.json) stays. */
  if (log != NULL)
    jobd_timers_set_log (scheduler->timers, jobname, uuid, times);
  g_string_append_printf (report, "scheduler: imported %s of job %s (%u fire times)\n",
                          uuid, jobname, MIN (times->len, JOBD_TIMERS_LOG_MAX));
  return;

skipped:
  g_string_append_printf (report, "scheduler: skipped %s of job %s: %s\n",
                          uuid, jobname, error->message);
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
  return scheduler->manager != NULL || save_standalone (scheduler, error);
}

/* scheduler.json: an older jobd's schedules (once, then renamed), or the
 * standalone plugin's own. */
static gboolean
load (JobdLegacyScheduler *scheduler, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) report = g_string_new (NULL);
  g_autofree char *migrated = NULL;
  JsonObject *object;

  if (!jobd_legacy_datafile_load (scheduler->path, parser, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  /* While reading, nothing is written back to the file being read. */
  if (!jobd_legacy_scheduler_import (scheduler, object, NULL, FALSE, report,
                                     scheduler->manager != NULL ? error : NULL)
      && scheduler->manager != NULL)
    return FALSE;
  if (scheduler->manager == NULL)
    return TRUE;
  g_message ("scheduler: migrated %s into the jobs' schedules:\n%s", scheduler->path,
             report->str);
  migrated = g_strconcat (scheduler->path, MIGRATED_SUFFIX, NULL);
  if (g_rename (scheduler->path, migrated) < 0)
    g_warning ("scheduler: cannot rename %s: %s", scheduler->path, g_strerror (errno));
  return TRUE;
}

/* ---- life cycle ---- */

JobdLegacyScheduler *
jobd_legacy_scheduler_new (JobdManager *manager,
                           const char *state_dir,
                           GTimeZone *tz,
                           GError **error)
{
  g_autoptr(JobdLegacyScheduler) scheduler = g_new0 (JobdLegacyScheduler, 1);

  scheduler->path = g_build_filename (state_dir, "plugins", SCHEDULER_FILE, NULL);
  if (manager != NULL)
    {
      scheduler->manager = g_object_ref (manager);
      /* A removed job's schedules go with its settings: nothing to watch. */
      scheduler->timers = jobd_manager_get_timers (manager);
    }
  else
    {
      g_autofree char *timers_path = g_build_filename (state_dir, "plugins", "timers.json", NULL);
      g_autoptr(GTimeZone) local = tz == NULL ? g_time_zone_new_local () : NULL;

      scheduler->own_timers = jobd_timers_new (timers_path, tz != NULL ? tz : local);
      scheduler->timers = scheduler->own_timers;
      scheduler->standalone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                     (GDestroyNotify) g_ptr_array_unref);
    }
  if (!load (scheduler, error))
    return NULL;
  return g_steal_pointer (&scheduler);
}

void
jobd_legacy_scheduler_free (JobdLegacyScheduler *scheduler)
{
  if (scheduler == NULL)
    return;
  g_clear_object (&scheduler->manager);
  g_clear_pointer (&scheduler->own_timers, jobd_timers_free);
  g_clear_pointer (&scheduler->standalone, g_hash_table_unref);
  g_free (scheduler->path);
  g_free (scheduler);
}
