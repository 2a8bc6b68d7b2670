/* SPDX-License-Identifier: MIT */
/* jobd-history.c — run records per job, kept in memory and in a JSON-lines
 * file per job (see jobd-history.h for the rules). */
#include "config.h"

#include "jobd-history.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-json.h"
#include "jobd-log.h"

typedef struct {
  GQueue runs;            /* JobdRunRecord*, oldest first */
  guint64 last_run;       /* the highest run number seen */
  guint file_lines;       /* lines in the file (compaction) */
  gboolean rewrite;       /* a write failed: the next write rewrites the file */
} JobHistory;

struct _JobdHistory {
  char *dir;              /* STATE_DIR/history */
  GHashTable *jobs;       /* name → JobHistory* (read once needed) */
  GHashTable *sizes;      /* name → history-size other than the default */
  gboolean failing;       /* the last write failed (logged once) */
  JobdHistoryRunningFunc running;
  gpointer running_data;
  gint64 back_usec;       /* when the running func was set: jobd was back */
  guint errors_logged;
};

void
jobd_run_record_free (JobdRunRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->reason);
  g_free (record->trigger);
  g_free (record->result);
  g_free (record->stop_cause);
  g_free (record->error);
  g_free (record->peak_memory_source);
  g_free (record);
}

static JobdRunRecord *
run_record_copy (const JobdRunRecord *r)
{
  JobdRunRecord *copy = g_memdup2 (r, sizeof *r);

  copy->reason = g_strdup (r->reason);
  copy->trigger = g_strdup (r->trigger);
  copy->result = g_strdup (r->result);
  copy->stop_cause = g_strdup (r->stop_cause);
  copy->error = g_strdup (r->error);
  copy->peak_memory_source = g_strdup (r->peak_memory_source);
  return copy;
}

static JobdRunRecord *
run_record_new (guint64 run)
{
  JobdRunRecord *r = g_new0 (JobdRunRecord, 1);

  r->run = run;
  r->uid = JOBD_UID_NONE;
  r->exit_code = -1;
  return r;
}

GVariant *
jobd_run_record_to_variant (const JobdRunRecord *r)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "run", g_variant_new_uint64 (r->run));
  g_variant_builder_add (&b, "{sv}", "start", g_variant_new_int64 (r->start_usec));
  g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (r->reason ? r->reason : ""));
  if (r->uid != JOBD_UID_NONE)
    g_variant_builder_add (&b, "{sv}", "caller-uid", g_variant_new_uint32 (r->uid));
  if (r->trigger != NULL)
    g_variant_builder_add (&b, "{sv}", "trigger", g_variant_new_string (r->trigger));
  g_variant_builder_add (&b, "{sv}", "end", g_variant_new_int64 (r->end_usec));
  g_variant_builder_add (&b, "{sv}", "result", g_variant_new_string (r->result ? r->result : ""));
  g_variant_builder_add (&b, "{sv}", "exit-code", g_variant_new_int32 (r->exit_code));
  g_variant_builder_add (&b, "{sv}", "exit-signal", g_variant_new_int32 (r->exit_signal));
  if (r->stop_cause != NULL)
    g_variant_builder_add (&b, "{sv}", "stop-cause", g_variant_new_string (r->stop_cause));
  g_variant_builder_add (&b, "{sv}", "killed", g_variant_new_boolean (r->killed));
  if (r->error != NULL)
    g_variant_builder_add (&b, "{sv}", "error", g_variant_new_string (r->error));
  g_variant_builder_add (&b, "{sv}", "peak-memory", g_variant_new_uint64 (r->peak_memory));
  if (r->peak_memory_source != NULL)
    g_variant_builder_add (&b, "{sv}", "peak-memory-source",
                           g_variant_new_string (r->peak_memory_source));
  g_variant_builder_add (&b, "{sv}", "stdout-lines", g_variant_new_uint64 (r->stdout_lines));
  g_variant_builder_add (&b, "{sv}", "stderr-lines", g_variant_new_uint64 (r->stderr_lines));
  return g_variant_builder_end (&b);
}

/* ---- one line of the file ---- */

static char *
record_to_line (const JobdRunRecord *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
#define INT(key, value) (json_builder_set_member_name (b, key), json_builder_add_int_value (b, value))
#define STR(key, value) \
  do { if ((value) != NULL) { json_builder_set_member_name (b, key); json_builder_add_string_value (b, value); } } while (0)
  INT ("run", (gint64) r->run);
  INT ("start", r->start_usec);
  STR ("reason", r->reason);
  if (r->uid != JOBD_UID_NONE)
    INT ("uid", r->uid);
  STR ("trigger", r->trigger);
  if (r->end_usec != 0)
    {
      INT ("end", r->end_usec);
      STR ("result", r->result);
      INT ("exit-code", r->exit_code);
      INT ("exit-signal", r->exit_signal);
      STR ("stop-cause", r->stop_cause);
      if (r->killed)
        {
          json_builder_set_member_name (b, "killed");
          json_builder_add_boolean_value (b, TRUE);
        }
      STR ("error", r->error);
      INT ("peak-memory", (gint64) MIN (r->peak_memory, (guint64) G_MAXINT64));
      STR ("peak-memory-source", r->peak_memory_source);
      INT ("stdout-lines", (gint64) MIN (r->stdout_lines, (guint64) G_MAXINT64));
      INT ("stderr-lines", (gint64) MIN (r->stderr_lines, (guint64) G_MAXINT64));
    }
#undef INT
#undef STR
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = jobd_json_to_string (root, FALSE);
  return g_strconcat (text, "\n", NULL);
}

static const char *
member_string (JsonObject *o, const char *key)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
member_int (JsonObject *o, const char *key, gint64 fallback)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (node);
}

/* NULL when the line is not a run record. */
static JobdRunRecord *
record_from_line (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *o;
  JobdRunRecord *r;
  gint64 run, uid;

  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  o = json_node_get_object (root);
  run = member_int (o, "run", 0);
  if (run <= 0 || member_string (o, "reason") == NULL)
    return NULL;
  r = run_record_new ((guint64) run);
  r->start_usec = member_int (o, "start", 0);
  r->reason = g_strdup (member_string (o, "reason"));
  uid = member_int (o, "uid", -1);
  r->uid = uid >= 0 && uid < G_MAXUINT ? (guint) uid : JOBD_UID_NONE;
  r->trigger = g_strdup (member_string (o, "trigger"));
  r->end_usec = member_int (o, "end", 0);
  if (r->end_usec != 0)
    {
      r->result = g_strdup (member_string (o, "result") ? member_string (o, "result")
                                                        : JOBD_RUN_RESULT_UNKNOWN);
      r->exit_code = (int) CLAMP (member_int (o, "exit-code", -1), -1, 255);
      r->exit_signal = (int) CLAMP (member_int (o, "exit-signal", 0), 0, 128);
      r->stop_cause = g_strdup (member_string (o, "stop-cause"));
      r->killed = json_object_get_boolean_member_with_default (o, "killed", FALSE);
      r->error = g_strdup (member_string (o, "error"));
      r->peak_memory = (guint64) MAX (member_int (o, "peak-memory", 0), 0);
      r->peak_memory_source = g_strdup (member_string (o, "peak-memory-source"));
      r->stdout_lines = (guint64) MAX (member_int (o, "stdout-lines", 0), 0);
      r->stderr_lines = (guint64) MAX (member_int (o, "stderr-lines", 0), 0);
    }
  return r;
}

/* ---- files ---- */

static char *
job_path (JobdHistory *self, const char *job, const char *suffix)
{
  g_autofree char *base = g_strconcat (job, ".jsonl", suffix, NULL);
  return g_build_filename (self->dir, base, NULL);
}

static void
write_failed (JobdHistory *self, JobHistory *jh, const char *job, const char *what, int saved_errno)
{
  jh->rewrite = TRUE;
  if (self->failing)
    return;
  self->failing = TRUE;
  self->errors_logged++;
  jobd_job_warning (job, "run history: cannot write %s: %s (history is not saved until "
                    "a write succeeds again; said once)", what, g_strerror (saved_errno));
}

static void
write_succeeded (JobdHistory *self)
{
  if (!self->failing)
    return;
  self->failing = FALSE;
  g_message ("run history: writing works again");
}

static gboolean
ensure_dir (JobdHistory *self, int *saved_errno)
{
  if (g_mkdir_with_parents (self->dir, 0700) == 0)
    return TRUE;
  *saved_errno = errno;
  return FALSE;
}

/* Write all of data with one write(); a short write is cut off again so
 * the file never keeps half a line. */
static gboolean
append_data (int fd, const char *data, gsize len, int *saved_errno)
{
  struct stat st;
  gssize n;

  if (fstat (fd, &st) < 0)
    {
      *saved_errno = errno;
      return FALSE;
    }
  do
    n = write (fd, data, len);
  while (n < 0 && errno == EINTR);
  if (n == (gssize) len)
    return TRUE;
  *saved_errno = n < 0 ? errno : ENOSPC;
  if (n > 0 && ftruncate (fd, st.st_size) < 0)
    g_debug ("run history: cannot cut back a short write: %s", g_strerror (errno));
  return FALSE;
}

/* The whole history as the file's new contents (temporary file, rename). */
static void
rewrite_file (JobdHistory *self, JobHistory *jh, const char *job)
{
  g_autofree char *path = job_path (self, job, NULL);
  g_autofree char *tmp = job_path (self, job, ".tmp");
  g_autoptr(GString) data = g_string_new (NULL);
  int saved_errno = 0;
  int fd;

  for (GList *l = jh->runs.head; l != NULL; l = l->next)
    {
      g_autofree char *line = record_to_line (l->data);
      g_string_append (data, line);
    }
  if (!ensure_dir (self, &saved_errno))
    {
      write_failed (self, jh, job, self->dir, saved_errno);
      return;
    }
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      write_failed (self, jh, job, tmp, errno);
      return;
    }
  if (!append_data (fd, data->str, data->len, &saved_errno))
    {
      close (fd);
      g_unlink (tmp);
      write_failed (self, jh, job, tmp, saved_errno);
      return;
    }
  close (fd);
  if (g_rename (tmp, path) < 0)
    {
      saved_errno = errno;
      g_unlink (tmp);
      write_failed (self, jh, job, path, saved_errno);
      return;
    }
  jh->file_lines = g_queue_get_length (&jh->runs);
  jh->rewrite = FALSE;
  write_succeeded (self);
}

static void
trim (JobHistory *jh, guint keep)
{
  while (g_queue_get_length (&jh->runs) > keep)
    jobd_run_record_free (g_queue_pop_head (&jh->runs));
}

/* Save a new or changed record: one line appended, or the whole file when
 * it grew past twice the kept runs or the last write failed. */
static void
save_record (JobdHistory *self, JobHistory *jh, const char *job, guint keep,
             const JobdRunRecord *r)
{
  g_autofree char *path = NULL;
  g_autofree char *line = NULL;
  int saved_errno = 0;
  int fd;

  trim (jh, keep);
  if (keep == 0)
    {
      /* Nothing kept: a file left from a larger history-size goes empty. */
      if (jh->file_lines > 0 || jh->rewrite)
        rewrite_file (self, jh, job);
      return;
    }
  if (jh->rewrite || jh->file_lines + 1 > 2 * MAX (keep, 8u))
    {
      rewrite_file (self, jh, job);
      return;
    }
  path = job_path (self, job, NULL);
  line = record_to_line (r);
  if (!ensure_dir (self, &saved_errno))
    {
      write_failed (self, jh, job, self->dir, saved_errno);
      return;
    }
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      write_failed (self, jh, job, path, errno);
      return;
    }
  if (!append_data (fd, line, strlen (line), &saved_errno))
    {
      close (fd);
      write_failed (self, jh, job, path, saved_errno);
      return;
    }
  close (fd);
  jh->file_lines++;
  write_succeeded (self);
}

/* ---- reading ---- */

static JobdRunRecord *
find_run (JobHistory *jh, guint64 run)
{
  for (GList *l = jh->runs.tail; l != NULL; l = l->prev)
    {
      JobdRunRecord *r = l->data;
      if (r->run == run)
        return r;
      if (r->run < run)
        break;
    }
  return NULL;
}

/* A later line of the same run replaces the earlier one; runs stay in
 * the order of their numbers. */
static void
take_record (JobHistory *jh, JobdRunRecord *r)
{
  GList *l;

  jh->last_run = MAX (jh->last_run, r->run);
  for (l = jh->runs.tail; l != NULL; l = l->prev)
    {
      JobdRunRecord *other = l->data;
      if (other->run == r->run)
        {
          jobd_run_record_free (other);
          l->data = r;
          return;
        }
      if (other->run < r->run)
        break;
    }
  if (l == NULL)
    g_queue_push_head (&jh->runs, r);
  else
    g_queue_insert_after (&jh->runs, l, r);
}

static void
load_file (JobdHistory *self, JobHistory *jh, const char *job)
{
  g_autofree char *path = job_path (self, job, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  guint bad = 0;
  char *line, *next;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        jobd_job_warning (job, "run history of %s: %s", job, error->message);
      return;
    }
  for (line = contents; line < contents + len; line = next)
    {
      char *end = memchr (line, '\n', (gsize) (contents + len - line));
      JobdRunRecord *r;

      if (end == NULL)
        {
          /* A last line without its newline: a write cut short. */
          bad++;
          break;
        }
      *end = '\0';
      next = end + 1;
      jh->file_lines++;
      r = strlen (line) == (gsize) (end - line) ? record_from_line (line) : NULL;
      if (r == NULL)
        bad++;
      else
        take_record (jh, r);
    }
  if (bad > 0)
    {
      g_autofree char *aside = job_path (self, job, ".corrupt");

      jobd_job_warning (job, "run history of %s: %u unreadable line(s) in %s; kept %u run(s), "
                        "the file is moved to %s", job, bad, path,
                        g_queue_get_length (&jh->runs), aside);
      if (g_rename (path, aside) < 0)
        jobd_job_warning (job, "run history of %s: cannot move %s aside: %s", job, path,
                          g_strerror (errno));
      jh->rewrite = TRUE;
    }
}

static void
job_history_free (gpointer data)
{
  JobHistory *jh = data;

  g_queue_clear_full (&jh->runs, (GDestroyNotify) jobd_run_record_free);
  g_free (jh);
}

static void close_open_runs (JobdHistory *self, JobHistory *jh, const char *job, guint keep);

static guint
job_size (JobdHistory *self, const char *job)
{
  gpointer size;

  if (g_hash_table_lookup_extended (self->sizes, job, NULL, &size))
    return GPOINTER_TO_UINT (size);
  return JOBD_HISTORY_SIZE_DEFAULT;
}

static JobHistory *
get_job (JobdHistory *self, const char *job)
{
  JobHistory *jh = g_hash_table_lookup (self->jobs, job);

  if (jh != NULL)
    return jh;
  jh = g_new0 (JobHistory, 1);
  g_queue_init (&jh->runs);
  load_file (self, jh, job);
  /* The file may hold more than the job keeps (up to twice as many lines,
   * or a larger history-size before): only the kept runs are answered. */
  trim (jh, job_size (self, job));
  g_hash_table_insert (self->jobs, g_strdup (job), jh);
  if (self->running != NULL && !self->running (job, self->running_data))
    close_open_runs (self, jh, job, job_size (self, job));
  return jh;
}

/* ---- the API ---- */

JobdHistory *
jobd_history_new (const char *state_dir)
{
  JobdHistory *self = g_new0 (JobdHistory, 1);

  self->dir = g_build_filename (state_dir, "history", NULL);
  self->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, job_history_free);
  self->sizes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
jobd_history_free (JobdHistory *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->jobs);
  g_hash_table_unref (self->sizes);
  g_free (self->dir);
  g_free (self);
}

/* Open runs (no end) become "unknown"; each is saved. */
static void
close_open_runs (JobdHistory *self, JobHistory *jh, const char *job, guint keep)
{
  for (GList *l = jh->runs.head; l != NULL; l = l->next)
    {
      JobdRunRecord *r = l->data;

      if (r->end_usec != 0)
        continue;
      /* Not known: at the latest when this jobd was back. */
      r->end_usec = MAX (self->back_usec != 0 ? self->back_usec : g_get_real_time (),
                         r->start_usec + 1);
      r->result = g_strdup (JOBD_RUN_RESULT_UNKNOWN);
      jobd_job_message (job, "job %s: run %" G_GUINT64_FORMAT " ended while jobd was down",
                        job, r->run);
      save_record (self, jh, job, keep, r);
    }
}

guint64
jobd_history_run_started (JobdHistory *self,
                          const char *job,
                          guint keep,
                          const JobdRunCause *cause,
                          gint64 start_usec)
{
  JobHistory *jh = get_job (self, job);
  JobdRunRecord *r;

  close_open_runs (self, jh, job, keep);
  r = run_record_new (jh->last_run + 1);
  jh->last_run = r->run;
  r->start_usec = start_usec;
  r->reason = g_strdup (cause != NULL && cause->reason != NULL ? cause->reason : JOBD_REASON_MANUAL);
  r->uid = cause != NULL ? cause->uid : JOBD_UID_NONE;
  r->trigger = g_strdup (cause != NULL ? cause->trigger : NULL);
  g_queue_push_tail (&jh->runs, r);
  if (keep == 0)
    {
      /* Nothing kept: the run number still counts on. */
      trim (jh, 0);
      return jh->last_run;
    }
  save_record (self, jh, job, keep, r);
  return jh->last_run;
}

static void
apply_end (JobdRunRecord *r, const JobdRunEnd *end)
{
  r->end_usec = MAX (end->end_usec, r->start_usec + 1);
  g_free (r->result);
  r->result = g_strdup (end->result);
  r->exit_code = end->exit_code;
  r->exit_signal = end->exit_signal;
  r->stop_cause = g_strdup (end->stop_cause);
  r->killed = end->killed;
  r->error = g_strdup (end->error);
  r->peak_memory = end->peak_memory;
  r->peak_memory_source = g_strdup (end->peak_memory_source);
  r->stdout_lines = end->stdout_lines;
  r->stderr_lines = end->stderr_lines;
}

void
jobd_history_run_ended (JobdHistory *self,
                        const char *job,
                        guint keep,
                        const JobdRunEnd *end)
{
  JobHistory *jh = get_job (self, job);
  JobdRunRecord *r = find_run (jh, jh->last_run);

  if (r == NULL || r->end_usec != 0)
    return;
  apply_end (r, end);
  save_record (self, jh, job, keep, r);
}

void
jobd_history_run_failed (JobdHistory *self,
                         const char *job,
                         guint keep,
                         const JobdRunCause *cause,
                         const char *error)
{
  gint64 now = g_get_real_time ();
  JobdRunEnd end = {
    .end_usec = now,
    .result = JOBD_RUN_RESULT_SPAWN_ERROR,
    .exit_code = -1,
    .error = error,
  };

  jobd_history_run_started (self, job, keep, cause, now);
  jobd_history_run_ended (self, job, keep, &end);
}

void
jobd_history_runs_lost (JobdHistory *self, const char *job, guint keep)
{
  close_open_runs (self, get_job (self, job), job, keep);
}

void
jobd_history_set_running_func (JobdHistory *self, JobdHistoryRunningFunc func, gpointer user_data)
{
  self->running = func;
  self->running_data = user_data;
  self->back_usec = g_get_real_time ();
}

void
jobd_history_set_size (JobdHistory *self, const char *job, guint keep)
{
  JobHistory *jh = g_hash_table_lookup (self->jobs, job);

  /* Only sizes other than the default take memory (10 000 jobs, most
   * with the default). */
  if (keep == JOBD_HISTORY_SIZE_DEFAULT)
    g_hash_table_remove (self->sizes, job);
  else
    g_hash_table_insert (self->sizes, g_strdup (job), GUINT_TO_POINTER (keep));
  if (jh != NULL)
    trim (jh, keep);
}

void
jobd_history_remove_job (JobdHistory *self, const char *job)
{
  static const char *const suffixes[] = { NULL, ".tmp", ".corrupt" };

  g_hash_table_remove (self->jobs, job);
  g_hash_table_remove (self->sizes, job);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = job_path (self, job, suffixes[i]);
      if (g_unlink (path) < 0 && errno != ENOENT)
        jobd_job_warning (job, "run history: cannot remove %s: %s", path, g_strerror (errno));
    }
}

GPtrArray *
jobd_history_list (JobdHistory *self, const char *job, guint max)
{
  JobHistory *jh = get_job (self, job);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_run_record_free);

  for (GList *l = jh->runs.tail; l != NULL; l = l->prev)
    {
      if (max != 0 && list->len >= max)
        break;
      g_ptr_array_add (list, run_record_copy (l->data));
    }
  return list;
}

guint
jobd_history_get_write_errors_logged (JobdHistory *self)
{
  return self->errors_logged;
}
