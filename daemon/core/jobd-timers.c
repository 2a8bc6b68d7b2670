/* SPDX-License-Identifier: MIT */
/* jobd-timers.c — the timer engine (see jobd-timers.h). */
#include "jobd-timers.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "jobd-error.h"
#include "jobd-log.h"

typedef struct {
  char *job;
  char *id;
  char *spec_text;
  JobdSpec *spec;
  gboolean enabled;
  gint64 last;            /* due time of the last fire, -1: never */
  gint64 next;            /* due time of the next fire, -1: none */
  gint64 fire_at;         /* next + the random delay drawn for it */
  GSequenceIter *iter;    /* in timers->queue while fire_at >= 0 */
} Timer;

typedef struct {
  gboolean persistent;
  guint delay_ms;
  GHashTable *timers;     /* id → Timer* (owned) */
} JobTimers;

struct _JobdTimers {
  char *path;
  GTimeZone *tz;
  gboolean tz_is_system;
  GHashTable *jobs;       /* job → JobTimers* */
  GHashTable *logs;       /* "job\nid" → GArray of gint64 µs, newest first */
  GSequence *queue;       /* Timer* by fire_at, job, id */
  JobdTimersClock clock;
  gpointer clock_data;
  JobdTimersFire fire;
  gpointer fire_data;
  int timer_fd;
  guint timer_source;
  gint64 armed_for;
  guint save_idle;
};

void
jobd_timer_info_free (JobdTimerInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->job);
  g_free (info->id);
  g_free (info->spec);
  g_free (info);
}

static gint64
now (JobdTimers *timers)
{
  return timers->clock != NULL ? timers->clock (timers->clock_data) : g_get_real_time ();
}

static char *
log_key (const char *job, const char *id)
{
  return g_strconcat (job, "\n", id, NULL);
}

static GArray *
log_lookup (JobdTimers *timers, const char *job, const char *id, gboolean create)
{
  g_autofree char *key = log_key (job, id);
  GArray *log = g_hash_table_lookup (timers->logs, key);

  if (log == NULL && create)
    {
      log = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (timers->logs, g_steal_pointer (&key), log);
    }
  return log;
}

/* ---- the queue ---- */

static gint
compare_timers (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Timer *x = a, *y = b;
  int c;

  if (x->fire_at != y->fire_at)
    return x->fire_at < y->fire_at ? -1 : 1;
  c = strcmp (x->job, y->job);
  return c != 0 ? c : strcmp (x->id, y->id);
}

static void
dequeue (JobdTimers *timers, Timer *t)
{
  if (t->iter != NULL)
    g_sequence_remove (t->iter);
  t->iter = NULL;
}

static void
enqueue (JobdTimers *timers, Timer *t)
{
  dequeue (timers, t);
  if (t->fire_at >= 0)
    t->iter = g_sequence_insert_sorted (timers->queue, t, compare_timers, NULL);
}

static void
timer_free (gpointer data)
{
  Timer *t = data;

  /* Removed from the queue by the caller (the queue has no free func). */
  g_free (t->job);
  g_free (t->id);
  g_free (t->spec_text);
  jobd_spec_free (t->spec);
  g_free (t);
}

static void
job_timers_free (gpointer data)
{
  JobTimers *jt = data;

  g_hash_table_unref (jt->timers);
  g_free (jt);
}

/* Set the next due time and draw its random delay. */
static void
set_next (JobdTimers *timers, Timer *t, JobTimers *jt, gint64 next)
{
  t->next = t->enabled ? next : -1;
  t->fire_at = t->next;
  if (t->next >= 0 && jt->delay_ms > 0)
    t->fire_at += (gint64) g_random_int_range (0, (gint32) MIN (jt->delay_ms, (guint) G_MAXINT32 - 1) + 1)
                  * 1000;
  enqueue (timers, t);
}

/* The next fire from `from` on, never at or before the last fire (a clock
 * set back over a fire must not repeat it). */
static gint64
compute_next (JobdTimers *timers, Timer *t, gint64 from)
{
  gint64 after = t->spec->kind == JOBD_SPEC_LEGACY ? from - 1 : MAX (from, t->last);

  return jobd_spec_next (t->spec, after, t->last, timers->tz);
}

/* ---- the timerfd ---- */

gint64
jobd_timers_get_next_wakeup (JobdTimers *timers)
{
  GSequenceIter *first = g_sequence_get_begin_iter (timers->queue);

  return g_sequence_iter_is_end (first) ? -1 : ((Timer *) g_sequence_get (first))->fire_at;
}

static void
rearm (JobdTimers *timers)
{
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };
  gint64 next;

  if (timers->timer_fd < 0)
    return;
  next = jobd_timers_get_next_wakeup (timers);
  if (next == timers->armed_for)
    return;
  /* it_value 0 disarms: nothing scheduled, no wakeups. */
  if (next >= 0)
    {
      next = MAX (next, 1);
      spec.it_value.tv_sec = next / G_USEC_PER_SEC;
      spec.it_value.tv_nsec = (next % G_USEC_PER_SEC) * 1000;
    }
  if (timerfd_settime (timers->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                       &spec, NULL) < 0)
    {
      g_warning ("timers: cannot arm the timer: %s", g_strerror (errno));
      return;
    }
  timers->armed_for = next;
}

static gboolean
timer_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  JobdTimers *timers = user_data;
  guint64 expirations;
  ssize_t n = read (fd, &expirations, sizeof expirations);

  timers->armed_for = -1;
  if (n < 0 && errno == ECANCELED)
    {
      g_debug ("timers: the clock was set, recomputing");
      jobd_timers_recompute (timers);
    }
  else if (n < 0 && errno != EAGAIN && errno != EINTR)
    g_warning ("timers: %s", g_strerror (errno));
  jobd_timers_run_due (timers);
  return G_SOURCE_CONTINUE;
}

gboolean
jobd_timers_start (JobdTimers *timers, GError **error)
{
  if (timers->timer_fd >= 0)
    return TRUE;
  timers->timer_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timers->timer_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "timers: timerfd_create: %s", g_strerror (saved));
      return FALSE;
    }
  timers->timer_source = g_unix_fd_add (timers->timer_fd, G_IO_IN, timer_cb, timers);
  timers->armed_for = -1;
  rearm (timers);
  return TRUE;
}

/* ---- persistence of the fire logs ---- */

gboolean
jobd_timers_save (JobdTimers *timers, GError **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_clear_handle_id (&timers->save_idle, g_source_remove);
  if (timers->path == NULL)
    return TRUE;
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, timers->logs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GArray *log = value;

      if (log->len == 0)
        continue;
      json_builder_set_member_name (builder, key);
      json_builder_begin_array (builder);
      for (guint i = 0; i < log->len; i++)
        json_builder_add_int_value (builder, g_array_index (log, gint64, i));
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  dir = g_path_get_dirname (timers->path);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents_full (timers->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

static gboolean
on_save_idle (gpointer user_data)
{
  JobdTimers *timers = user_data;
  g_autoptr(GError) error = NULL;

  timers->save_idle = 0;
  if (!jobd_timers_save (timers, &error))
    g_warning ("timers: cannot save the fire logs: %s", error->message);
  return G_SOURCE_REMOVE;
}

static void
save_later (JobdTimers *timers)
{
  if (timers->path != NULL && timers->save_idle == 0)
    timers->save_idle = g_idle_add (on_save_idle, timers);
}

static gint
compare_desc (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

static void
load (JobdTimers *timers)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  JsonNode *root;

  if (timers->path == NULL || !g_file_test (timers->path, G_FILE_TEST_EXISTS))
    return;
  if (!json_parser_load_from_file (parser, timers->path, &error)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      /* Only the fire logs are lost: schedules are in the job settings. */
      g_warning ("timers: %s not read, fire logs start empty: %s", timers->path,
                 error != NULL ? error->message : "not a JSON object");
      return;
    }
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &key, &node))
    {
      GArray *log;
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node) || strchr (key, '\n') == NULL)
        continue;
      array = json_node_get_array (node);
      log = g_array_new (FALSE, FALSE, sizeof (gint64));
      for (guint i = 0; i < json_array_get_length (array) && log->len < JOBD_TIMERS_LOG_MAX; i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          gint64 t;

          if (!JSON_NODE_HOLDS_VALUE (element)
              || json_node_get_value_type (element) != G_TYPE_INT64)
            continue;
          t = json_node_get_int (element);
          if (t > 0)
            g_array_append_val (log, t);
        }
      g_array_sort (log, compare_desc);
      g_hash_table_insert (timers->logs, g_strdup (key), log);
    }
}

/* ---- life cycle ---- */

static GTimeZone *
system_zone (void)
{
  /* Not g_time_zone_new_local (): that one is cached for the process. */
  GTimeZone *tz = g_time_zone_new_identifier (NULL);

  return tz != NULL ? tz : g_time_zone_new_utc ();
}

JobdTimers *
jobd_timers_new (const char *state_path, GTimeZone *tz)
{
  JobdTimers *timers = g_new0 (JobdTimers, 1);

  timers->path = g_strdup (state_path);
  timers->tz_is_system = tz == NULL;
  timers->tz = tz != NULL ? g_time_zone_ref (tz) : system_zone ();
  timers->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, job_timers_free);
  timers->logs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_array_unref);
  timers->queue = g_sequence_new (NULL);
  timers->timer_fd = -1;
  timers->armed_for = -1;
  load (timers);
  return timers;
}

void
jobd_timers_free (JobdTimers *timers)
{
  g_autoptr(GError) error = NULL;

  if (timers == NULL)
    return;
  if (timers->save_idle != 0 && !jobd_timers_save (timers, &error))
    g_warning ("timers: cannot save the fire logs: %s", error->message);
  g_clear_handle_id (&timers->timer_source, g_source_remove);
  if (timers->timer_fd >= 0)
    close (timers->timer_fd);
  g_sequence_free (timers->queue);
  g_hash_table_unref (timers->jobs);
  g_hash_table_unref (timers->logs);
  g_time_zone_unref (timers->tz);
  g_free (timers->path);
  g_free (timers);
}

void
jobd_timers_set_clock (JobdTimers *timers, JobdTimersClock clock, gpointer user_data)
{
  timers->clock = clock;
  timers->clock_data = user_data;
  jobd_timers_recompute (timers);
}

void
jobd_timers_set_fire_func (JobdTimers *timers, JobdTimersFire fire, gpointer user_data)
{
  timers->fire = fire;
  timers->fire_data = user_data;
}

void
jobd_timers_set_time_zone (JobdTimers *timers, GTimeZone *tz)
{
  g_time_zone_unref (timers->tz);
  timers->tz_is_system = tz == NULL;
  timers->tz = tz != NULL ? g_time_zone_ref (tz) : system_zone ();
  jobd_timers_recompute (timers);
}

GTimeZone *
jobd_timers_get_time_zone (JobdTimers *timers)
{
  return timers->tz;
}

/* ---- registering ---- */

static void
drop_timer (JobdTimers *timers, JobTimers *jt, Timer *t, gboolean drop_log)
{
  g_autofree char *key = log_key (t->job, t->id);

  dequeue (timers, t);
  if (drop_log)
    g_hash_table_remove (timers->logs, key);
  g_hash_table_remove (jt->timers, t->id);
}

static gint64
log_last (JobdTimers *timers, const char *job, const char *id)
{
  GArray *log = log_lookup (timers, job, id, FALSE);

  return log != NULL && log->len > 0 ? g_array_index (log, gint64, 0) : -1;
}

/* A schedule jobd has not seen since it started (or a changed one). */
static void
add_timer (JobdTimers *timers, JobTimers *jt, const char *job, const JobdScheduleEntry *e,
           JobdSpec *spec, gboolean first_seen)
{
  Timer *t = g_new0 (Timer, 1);
  gint64 n = now (timers);
  gint64 next;

  t->job = g_strdup (job);
  t->id = g_strdup (e->id);
  t->spec_text = g_strdup (e->spec);
  t->spec = spec;
  t->enabled = e->enabled;
  t->last = log_last (timers, job, e->id);
  t->next = t->fire_at = -1;
  g_hash_table_insert (jt->timers, t->id, t);
  if (first_seen && jt->persistent && t->last >= 0)
    {
      /* Catch up: a fire that fell into jobd's downtime runs once now. */
      next = jobd_spec_next (spec, t->last, t->last, timers->tz);
      if (next >= 0 && next <= n)
        {
          set_next (timers, t, jt, n);
          return;
        }
    }
  else if (spec->kind == JOBD_SPEC_EVERY && first_seen)
    {
      /* Not persistent: the interval counts from now, not from the fire
       * before the downtime. */
      set_next (timers, t, jt, jobd_spec_next (spec, n, -1, timers->tz));
      return;
    }
  set_next (timers, t, jt, compute_next (timers, t, n));
}

void
jobd_timers_set_job (JobdTimers *timers, const char *job, const GPtrArray *entries,
                     gboolean persistent, guint randomized_delay_ms)
{
  JobTimers *jt = g_hash_table_lookup (timers->jobs, job);
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean delay_changed;
  GHashTableIter iter;
  gpointer value;

  if (entries == NULL || entries->len == 0)
    {
      jobd_timers_remove_job (timers, job);
      return;
    }
  if (jt == NULL)
    {
      jt = g_new0 (JobTimers, 1);
      jt->timers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, timer_free);
      g_hash_table_insert (timers->jobs, g_strdup (job), jt);
    }
  delay_changed = jt->delay_ms != randomized_delay_ms;
  jt->persistent = persistent;
  jt->delay_ms = randomized_delay_ms;
  for (guint i = 0; i < entries->len; i++)
    {
      const JobdScheduleEntry *e = entries->pdata[i];
      Timer *t = g_hash_table_lookup (jt->timers, e->id);
      g_autoptr(GError) error = NULL;
      JobdSpec *spec;

      g_hash_table_add (keep, e->id);
      if (t != NULL && g_str_equal (t->spec_text, e->spec) && t->enabled == e->enabled)
        {
          if (delay_changed)
            set_next (timers, t, jt, t->next);
          continue;
        }
      spec = jobd_spec_parse (e->spec, 0, &error);
      if (spec == NULL)
        {
          jobd_job_warning (job, "job %s: schedule %s ignored: %s", job, e->id, error->message);
          if (t != NULL)
            drop_timer (timers, jt, t, TRUE);
          continue;
        }
      if (t != NULL)
        drop_timer (timers, jt, t, FALSE);
      add_timer (timers, jt, job, e, spec, t == NULL);
    }
  g_hash_table_iter_init (&iter, jt->timers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Timer *t = value;
      g_autofree char *key = NULL;

      if (g_hash_table_contains (keep, t->id))
        continue;
      key = log_key (t->job, t->id);
      dequeue (timers, t);
      g_hash_table_remove (timers->logs, key);
      g_hash_table_iter_remove (&iter);
    }
  rearm (timers);
}

void
jobd_timers_remove_job (JobdTimers *timers, const char *job)
{
  JobTimers *jt = g_hash_table_lookup (timers->jobs, job);
  g_autofree char *prefix = g_strconcat (job, "\n", NULL);
  GHashTableIter iter;
  gpointer key, value;

  if (jt != NULL)
    {
      g_hash_table_iter_init (&iter, jt->timers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        dequeue (timers, value);
      g_hash_table_remove (timers->jobs, job);
    }
  /* A job added again under the name starts with no fire log. */
  g_hash_table_iter_init (&iter, timers->logs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, prefix))
      g_hash_table_iter_remove (&iter);
  save_later (timers);
  rearm (timers);
}

/* ---- firing ---- */

static Timer *
find (JobdTimers *timers, const char *job, const char *id)
{
  JobTimers *jt = g_hash_table_lookup (timers->jobs, job);

  return jt != NULL ? g_hash_table_lookup (jt->timers, id) : NULL;
}

static void
record_fire (JobdTimers *timers, Timer *t, gint64 due)
{
  GArray *log = log_lookup (timers, t->job, t->id, TRUE);

  g_array_prepend_val (log, due);
  if (log->len > JOBD_TIMERS_LOG_MAX)
    g_array_set_size (log, JOBD_TIMERS_LOG_MAX);
  t->last = due;
}

guint
jobd_timers_run_due (JobdTimers *timers)
{
  g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  gint64 n = now (timers);
  guint fired = 0;
  GSequenceIter *it;

  /* Collect first: a fire may change or remove any job's schedules. */
  for (it = g_sequence_get_begin_iter (timers->queue); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    {
      Timer *t = g_sequence_get (it);

      if (t->fire_at > n)
        break;
      g_ptr_array_add (due, log_key (t->job, t->id));
    }
  for (guint i = 0; i < due->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (due->pdata[i], "\n", 2);
      Timer *t = find (timers, parts[0], parts[1]);
      JobTimers *jt = g_hash_table_lookup (timers->jobs, parts[0]);
      gint64 slot;

      if (t == NULL || t->fire_at < 0 || t->fire_at > n)
        continue;  /* removed or changed by an earlier fire */
      slot = t->next;
      if (t->spec->kind == JOBD_SPEC_LEGACY && n - slot >= JOBD_TIMERS_LEGACY_GRACE_USEC)
        {
          jobd_job_message (t->job, "scheduler: job %s missed its %" G_GINT64_FORMAT
                            " firing (%" G_GINT64_FORMAT " s late)", t->job,
                            slot / G_USEC_PER_SEC, (n - slot) / G_USEC_PER_SEC);
          set_next (timers, t, jt, jobd_spec_next (t->spec, MAX (n, slot), t->last, timers->tz));
          continue;
        }
      record_fire (timers, t, slot);
      set_next (timers, t, jt, t->spec->kind == JOBD_SPEC_LEGACY
                ? jobd_spec_next (t->spec, MAX (n, slot), t->last, timers->tz)
                : compute_next (timers, t, MAX (n, slot)));
      fired++;
      if (timers->fire != NULL)
        timers->fire (parts[0], parts[1], slot, timers->fire_data);
    }
  if (fired > 0)
    save_later (timers);
  rearm (timers);
  return fired;
}

void
jobd_timers_recompute (JobdTimers *timers)
{
  gint64 n = now (timers);
  GHashTableIter jobs, ids;
  gpointer value, tv;

  g_hash_table_iter_init (&jobs, timers->jobs);
  while (g_hash_table_iter_next (&jobs, NULL, &value))
    {
      JobTimers *jt = value;

      g_hash_table_iter_init (&ids, jt->timers);
      while (g_hash_table_iter_next (&ids, NULL, &tv))
        {
          Timer *t = tv;

          /* Already due (the clock stepped over it): it fires once. */
          if (t->spec->kind != JOBD_SPEC_LEGACY && t->next >= 0 && t->next <= n)
            continue;
          set_next (timers, t, jt, compute_next (timers, t, n));
        }
    }
  rearm (timers);
}

/* ---- looking ---- */

gint64
jobd_timers_get_job_next (JobdTimers *timers, const char *job)
{
  JobTimers *jt = g_hash_table_lookup (timers->jobs, job);
  GHashTableIter iter;
  gpointer value;
  gint64 earliest = -1;

  if (jt == NULL)
    return -1;
  g_hash_table_iter_init (&iter, jt->timers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Timer *t = value;
      if (t->fire_at >= 0 && (earliest < 0 || t->fire_at < earliest))
        earliest = t->fire_at;
    }
  return earliest;
}

static gint
compare_infos (gconstpointer a, gconstpointer b)
{
  const JobdTimerInfo *x = *(JobdTimerInfo *const *) a, *y = *(JobdTimerInfo *const *) b;
  int c = strcmp (x->job, y->job);

  return c != 0 ? c : strcmp (x->id, y->id);
}

static void
list_job (JobTimers *jt, GPtrArray *out)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, jt->timers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Timer *t = value;
      JobdTimerInfo *info = g_new0 (JobdTimerInfo, 1);

      info->job = g_strdup (t->job);
      info->id = g_strdup (t->id);
      info->spec = g_strdup (t->spec_text);
      info->enabled = t->enabled;
      info->next_usec = t->fire_at;
      info->last_usec = t->last;
      g_ptr_array_add (out, info);
    }
}

GPtrArray *
jobd_timers_list (JobdTimers *timers, const char *job)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_timer_info_free);
  GHashTableIter iter;
  gpointer value;

  if (job != NULL)
    {
      JobTimers *jt = g_hash_table_lookup (timers->jobs, job);
      if (jt != NULL)
        list_job (jt, out);
    }
  else
    {
      g_hash_table_iter_init (&iter, timers->jobs);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        list_job (value, out);
    }
  g_ptr_array_sort (out, compare_infos);
  return out;
}

GArray *
jobd_timers_get_log (JobdTimers *timers, const char *job, const char *id)
{
  GArray *log;

  if (find (timers, job, id) == NULL)
    return NULL;
  log = log_lookup (timers, job, id, FALSE);
  return log != NULL ? g_array_copy (log) : g_array_new (FALSE, FALSE, sizeof (gint64));
}

void
jobd_timers_set_log (JobdTimers *timers, const char *job, const char *id, GArray *times_usec)
{
  GArray *log = log_lookup (timers, job, id, TRUE);
  Timer *t = find (timers, job, id);

  g_array_set_size (log, 0);
  g_array_append_vals (log, times_usec->data, times_usec->len);
  g_array_sort (log, compare_desc);
  if (log->len > JOBD_TIMERS_LOG_MAX)
    g_array_set_size (log, JOBD_TIMERS_LOG_MAX);
  if (t != NULL)
    {
      JobTimers *jt = g_hash_table_lookup (timers->jobs, job);

      t->last = log->len > 0 ? g_array_index (log, gint64, 0) : -1;
      set_next (timers, t, jt, compute_next (timers, t, now (timers)));
      rearm (timers);
    }
  save_later (timers);
}
