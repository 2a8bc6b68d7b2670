/* SPDX-License-Identifier: MIT */
/* jobd-dbus-methods.c — what each org.jobd1.Manager method does.
 *
 * Each function here runs only after jobd-dbus-access.c found the caller
 * and checked the access of the method's row; a method that takes a job
 * gets it looked up. The arguments are read from the invocation; every
 * reply goes through jobd_dbus_client_return_*() so a peer that does not
 * read cannot make jobd queue without bound.
 */
#include "config.h"

#include "jobd-dbus-methods.h"

#include <gio/gunixfdlist.h>
#include <unistd.h>

#include "jobd-dbus-client.h"
#include "jobd-dbus-jobs.h"
#include "jobd-jobs-dir.h"
#include "jobd-dbus-service-private.h"
#include "jobd-error.h"
#include "jobd-health.h"
#include "jobd-history.h"
#include "jobd-memory.h"
#include "jobd-outputlog.h"
#include "jobd-serverlog.h"
#include "jobd-variant.h"

/* ---- replies ---- */

void
jobd_dbus_return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  g_autoptr(GError) failed = NULL;

  if (error->domain != JOBD_ERROR)
    error = failed = g_error_new_literal (JOBD_ERROR, JOBD_ERROR_FAILED, error->message);
  jobd_dbus_client_return_gerror (invocation, error);
}

void
jobd_dbus_return_ok_or_error (GDBusMethodInvocation *invocation, gboolean ok, const GError *error)
{
  if (ok)
    jobd_dbus_client_return_value (invocation, NULL, NULL);
  else
    jobd_dbus_return_error (invocation, error);
}

/* ---- the methods, in the order of the access table ---- */

static JobdSettingsFlags
settings_flags_for (guint caller_uid)
{
  return caller_uid == 0 ? JOBD_SETTINGS_FLAGS_PRIVILEGED : JOBD_SETTINGS_FLAGS_NONE;
}

void
jobd_dbus_method_add (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  const char *name = NULL;
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s@a{sv})", &name, &asv);
  if (!jobd_name_validate (name, &error) ||
      !jobd_settings_merge_variant (settings, asv, settings_flags_for (uid), &error) ||
      !jobd_manager_check_dependency_access (self->manager, settings, uid, &error) ||
      jobd_manager_add_job (self->manager, name, g_steal_pointer (&settings), uid, &error) == NULL)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  path = jobd_dbus_job_path (name);
  jobd_dbus_client_return_value (invocation, g_variant_new ("(o)", path), NULL);
}

void
jobd_dbus_method_remove (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_remove_job (self->manager, jobd_job_get_name (job), &error);

  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_remove_with_options (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                      guint uid, JobdJob *job)
{
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GError) error = NULL;
  gboolean force = FALSE;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "@a{sv}", &options);
  g_variant_lookup (options, "force", "b", &force);
  ok = jobd_manager_remove_job_full (self->manager, jobd_job_get_name (job), force, &error);
  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_update (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_copy (jobd_job_get_settings (job));
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "@a{sv}", &asv);
  ok = jobd_settings_merge_variant (settings, asv, settings_flags_for (uid), &error) &&
       jobd_manager_check_dependency_access (self->manager, settings, uid, &error) &&
       jobd_manager_update_job (self->manager, jobd_job_get_name (job),
                                g_steal_pointer (&settings), &error);
  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_get_job (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autofree char *path = jobd_dbus_job_path (jobd_job_get_name (job));

  jobd_dbus_client_return_value (invocation, g_variant_new ("(o)", path), NULL);
}

void
jobd_dbus_method_get_settings (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  GVariant *settings = jobd_dbus_settings_variant (job, jobd_dbus_may_read_secrets (self, uid, job));

  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&settings, 1), NULL);
}

/* The reverse edges of the dependency graph (requires → required-by,
 * after → before). */
static void
insert_dependents (JobdDBusService *self, GVariantDict *dict, const char *key,
                   const char *name, const char *edge)
{
  g_autoptr(GPtrArray) names = jobd_manager_get_dependents (self->manager, name, edge);

  g_ptr_array_add (names, NULL);
  g_variant_dict_insert_value (dict, key, g_variant_new_strv ((const char * const *) names->pdata, -1));
}

void
jobd_dbus_method_get_runtime (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GVariant) fields = g_variant_ref_sink (jobd_job_get_runtime_variant (job));
  gint64 next = jobd_timers_get_job_next (jobd_manager_get_timers (self->manager),
                                          jobd_job_get_name (job));
  GVariantDict dict;
  GVariant *runtime;

  g_variant_dict_init (&dict, fields);
  g_variant_dict_insert (&dict, "next-fire", "t", (guint64) MAX (next, 0));
  g_variant_dict_insert (&dict, "cpu-usage-usec", "t", jobd_job_get_cpu_usage (job, NULL));
  jobd_health_add_runtime (job, &dict);
  insert_dependents (self, &dict, "required-by", jobd_job_get_name (job), "requires");
  insert_dependents (self, &dict, "before", jobd_job_get_name (job), "after");
  runtime = g_variant_dict_end (&dict);

  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&runtime, 1), NULL);
}

void
jobd_dbus_method_get_timers (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) list = jobd_timers_list (jobd_manager_get_timers (self->manager), NULL);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sssbtt)"));
  for (guint i = 0; i < list->len; i++)
    {
      JobdTimerInfo *t = list->pdata[i];

      g_variant_builder_add (&builder, "(sssbtt)", t->job, t->id, t->spec, t->enabled,
                             (guint64) MAX (t->next_usec, 0), (guint64) MAX (t->last_usec, 0));
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a(sssbtt))", &builder), NULL);
}

void
jobd_dbus_method_get_history (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GPtrArray) runs = NULL;
  GVariantBuilder b;
  guint32 max = 0;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&su)", NULL, &max);
  runs = jobd_history_list (jobd_manager_get_history (self->manager), jobd_job_get_name (job), max);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < runs->len; i++)
    g_variant_builder_add_value (&b, jobd_run_record_to_variant (runs->pdata[i]));
  jobd_dbus_client_return_value (invocation, g_variant_new ("(aa{sv})", &b), NULL);
}

/* List: columns, not one (ssuttuo) row per job: GDBus writes and parses
 * an array of numbers as one block, but walks an array of structs field by
 * field on both sides, which cost most of a List of 10 000 jobs. The
 * memory is the figure last read (jobd_job_get_memory_seen): reading it
 * here cost a /proc scan or a cgroup file per running job, 0.14 s with
 * 10 000 jobs, on every List; GetUsage and GetMemory read it now. */
void
jobd_dbus_method_list (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  guint n = jobs->len;
  g_autofree const char **names = g_new (const char *, n + 1);
  g_autofree const char **states = g_new (const char *, n + 1);
  g_autofree guint32 *pids = g_new (guint32, n + 1);
  g_autofree guint32 *restarts = g_new (guint32, n + 1);
  g_autofree guint64 *memory = g_new (guint64, n + 1);
  g_autofree guint64 *started_at = g_new (guint64, n + 1);

  for (guint i = 0; i < n; i++)
    {
      JobdJob *job = jobs->pdata[i];

      names[i] = jobd_job_get_name (job);
      states[i] = jobd_state_to_string (jobd_job_get_state (job));
      pids[i] = (guint32) jobd_job_get_pid (job);
      memory[i] = jobd_job_get_process (job) != NULL ? jobd_job_get_memory_seen (job) : 0;
      started_at[i] = (guint64) jobd_job_get_started_at (job);
      restarts[i] = jobd_job_get_restarts (job);
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(@as@as@au@at@at@au)",
      jobd_variant_new_strv (names, n), jobd_variant_new_strv (states, n),
      g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, pids, n, sizeof (guint32)),
      g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, memory, n, sizeof (guint64)),
      g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, started_at, n, sizeof (guint64)),
      g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, restarts, n, sizeof (guint32))),
      NULL);
}

void
jobd_dbus_method_status (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  jobd_dbus_client_return_value (invocation,
      g_variant_new ("(s)", jobd_state_to_string (jobd_job_get_state (job))), NULL);
}

void
jobd_dbus_method_get_status_texts (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                   guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  GVariantBuilder texts;

  g_variant_builder_init (&texts, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; i < jobs->len; i++)
    {
      const char *text = jobd_job_get_status_text (jobs->pdata[i]);

      if (text != NULL && *text != '\0')
        g_variant_builder_add (&texts, "{ss}", jobd_job_get_name (jobs->pdata[i]), text);
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a{ss})", &texts), NULL);
}

void
jobd_dbus_method_status_all (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  g_autofree const char **names = g_new (const char *, jobs->len + 1);
  g_autofree const char **states = g_new (const char *, jobs->len + 1);
  GVariant *dict;

  /* Serialized in one piece rather than as a GVariant per string: this is
   * the call that must stay cheap with thousands of jobs (job names are
   * ASCII: jobd_name_validate() admits no other name). */
  for (guint i = 0; i < jobs->len; i++)
    {
      names[i] = jobd_job_get_name (jobs->pdata[i]);
      states[i] = jobd_state_to_string (jobd_job_get_state (jobs->pdata[i]));
    }
  dict = jobd_variant_new_string_dict (names, states, jobs->len);
  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&dict, 1), NULL);
}

static void
add_usage (GVariantBuilder *rows, JobdJob *job, JobdMemorySnapshot **snapshot)
{
  guint64 memory = 0, cpu = 0;
  const char *source;

  if (jobd_job_get_process (job) != NULL)
    {
      /* One /proc scan for the whole call, made only if something runs. */
      if (*snapshot == NULL)
        *snapshot = jobd_memory_snapshot_new (NULL);
      jobd_job_get_memory (job, *snapshot, &memory, &source, NULL);
      cpu = jobd_job_get_cpu_usage (job, *snapshot);
    }
  g_variant_builder_add (rows, "(stt)", jobd_job_get_name (job), cpu, memory);
}

/* GetUsage: CPU time and memory of the jobs named (all when none), in one
 * call: what `jobctl top` polls for the rows it shows. Names that are not
 * (or no longer) jobs are left out rather than failing the whole call. */
void
jobd_dbus_method_get_usage (JobdDBusService *self, GDBusMethodInvocation *invocation,
                            guint uid, JobdJob *unused)
{
  g_autoptr(JobdMemorySnapshot) snapshot = NULL;
  g_autofree const char **names = NULL;
  GVariantBuilder rows;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(^a&s)", &names);
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(stt)"));
  if (names[0] == NULL)
    {
      g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);

      for (guint i = 0; i < jobs->len; i++)
        add_usage (&rows, jobs->pdata[i], &snapshot);
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      JobdJob *job = jobd_manager_lookup_job (self->manager, names[i], NULL);

      if (job != NULL)
        add_usage (&rows, job, &snapshot);
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a(stt))", &rows), NULL);
}

static void
on_start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error);

  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_start (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  JobdRunCause cause = { JOBD_REASON_MANUAL, uid, NULL };

  jobd_manager_start_job_async (self->manager, jobd_job_get_name (job), &cause, NULL,
                                on_start_done, g_object_ref (invocation));
}

void
jobd_dbus_method_stop (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_check_stop_access (self->manager, jobd_job_get_name (job), uid, &error) &&
                jobd_manager_stop_job (self->manager, jobd_job_get_name (job), &error);

  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

static void
on_restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_restart_job_finish (JOBD_MANAGER (source), result, &error);

  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_restart (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  JobdRunCause cause = { JOBD_REASON_MANUAL, uid, NULL };

  jobd_manager_restart_job_async (self->manager, jobd_job_get_name (job), &cause, NULL,
                                  on_restart_done, g_object_ref (invocation));
}

void
jobd_dbus_method_reload (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_reload_job (self->manager, jobd_job_get_name (job), &error);

  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_kill (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gint32 signo = 0;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "i", &signo);
  ok = jobd_manager_kill_job (self->manager, jobd_job_get_name (job), signo, &error);
  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_scale (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  guint32 instances = 0;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "u", &instances);
  ok = jobd_manager_scale_job (self->manager, jobd_job_get_name (job), instances, &error);
  jobd_dbus_return_ok_or_error (invocation, ok, error);
}

void
jobd_dbus_method_read_output (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GPtrArray) lines = NULL;
  GVariantBuilder builder;
  guint32 max_lines = 0;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "u", &max_lines);
  lines = jobd_output_read (jobd_job_get_output (job), max_lines);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tss)"));
  for (guint i = 0; i < lines->len; i++)
    {
      JobdLine *line = lines->pdata[i];
      g_variant_builder_add (&builder, "(tss)", (guint64) line->time_usec,
                             jobd_stream_to_string (line->stream), line->text);
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a(tss))", &builder), NULL);
}

void
jobd_dbus_method_follow_output (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fd_list = NULL;
  int fd = jobd_output_follow (jobd_job_get_output (job), uid, &error);
  int index;

  if (fd < 0)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  fd_list = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fd_list, fd, &error);
  close (fd);
  if (index < 0)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(h)", index), fd_list);
}

/* ReadLog/FollowLog's options; unknown keys are an error (a typo would
 * otherwise read everything). */
static gboolean
history_query_from_options (GVariant *options, JobdHistoryQuery *query, const char **cursor,
                            GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  *query = (JobdHistoryQuery) { 0, G_MININT64, G_MAXINT64 };
  *cursor = NULL;
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;

      if (g_str_equal (key, "lines") && g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
        query->lines = g_variant_get_uint64 (v);
      else if (g_str_equal (key, "lines") && g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
        query->lines = g_variant_get_uint32 (v);
      else if (g_str_equal (key, "since") && g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
        query->since_usec = g_variant_get_int64 (v);
      else if (g_str_equal (key, "until") && g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
        query->until_usec = g_variant_get_int64 (v);
      else if (g_str_equal (key, "cursor") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        *cursor = g_variant_get_string (v, NULL);
      else
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "Unknown option “%s” of type %s", key, g_variant_get_type_string (v));
          return FALSE;
        }
    }
  return TRUE;
}

/* ReadLog is open to every local user and its reads queue for a couple of
 * worker threads: a user with many calls in flight would make everyone
 * else's `jobctl logs` wait behind them. jobctl has one in flight. */
#define LOG_READS_PER_USER 8

typedef struct {
  JobdDBusService *service;            /* owned */
  GDBusMethodInvocation *invocation;   /* owned */
  guint uid;
} LogRead;

static gboolean
log_read_begin (JobdDBusService *self, guint uid, GError **error)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->log_reads, GUINT_TO_POINTER (uid)));

  if (n >= LOG_READS_PER_USER)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "too many log reads in flight for this user (at most %u): "
                   "wait for their answers", LOG_READS_PER_USER);
      return FALSE;
    }
  g_hash_table_insert (self->log_reads, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n + 1));
  return TRUE;
}

static void
log_read_end (JobdDBusService *self, guint uid)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->log_reads, GUINT_TO_POINTER (uid)));

  if (n <= 1)
    g_hash_table_remove (self->log_reads, GUINT_TO_POINTER (uid));
  else
    g_hash_table_insert (self->log_reads, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n - 1));
}

static void
log_read_free (LogRead *read)
{
  log_read_end (read->service, read->uid);
  g_object_unref (read->service);
  g_object_unref (read->invocation);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LogRead, log_read_free)

static void
on_log_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LogRead) read = user_data;
  GDBusMethodInvocation *invocation = read->invocation;
  g_autoptr(GError) error = NULL;
  g_autofree char *cursor = NULL;
  g_autofree char *from = NULL;
  g_autoptr(GPtrArray) lines = jobd_output_history_read_finish (JOBD_OUTPUT (source), result,
                                                                &cursor, &from, &error);
  GVariantBuilder array, info;

  if (lines == NULL)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  g_variant_builder_init (&array, G_VARIANT_TYPE ("a(tssa{sv})"));
  for (guint i = 0; i < lines->len; i++)
    {
      JobdLine *line = lines->pdata[i];

      g_variant_builder_add (&array, "(tss@a{sv})", (guint64) line->time_usec,
                             jobd_stream_to_string (line->stream), line->text,
                             g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
    }
  g_variant_builder_init (&info, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&info, "{sv}", "source", g_variant_new_string (from));
  if (cursor != NULL)
    g_variant_builder_add (&info, "{sv}", "cursor", g_variant_new_string (cursor));
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a(tssa{sv})a{sv})", &array, &info),
                                 NULL);
}

void
jobd_dbus_method_read_log (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autofree char *begun = NULL;
  JobdHistoryQuery query;
  const char *cursor;
  JobdOutput *output = jobd_job_get_output (job);
  LogRead *read;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "@a{sv}", &options);
  if (!history_query_from_options (options, &query, &cursor, &error))
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  if (!log_read_begin (self, uid, &error))
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  read = g_new0 (LogRead, 1);
  read->service = g_object_ref (self);
  read->invocation = g_object_ref (invocation);
  read->uid = uid;
  if (cursor == NULL)
    cursor = begun = jobd_output_history_begin (output, &query, uid, NULL, &error);
  jobd_output_history_read_async (output, cursor, on_log_read, read);
}

void
jobd_dbus_method_follow_log (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GUnixFDList) fd_list = NULL;
  g_autofree char *cursor = NULL;
  JobdHistoryQuery query;
  const char *given;
  int fd = -1, index;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "@a{sv}", &options);
  if (!history_query_from_options (options, &query, &given, &error)
      || (cursor = jobd_output_history_begin (jobd_job_get_output (job), &query, uid, &fd,
                                              &error)) == NULL)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  fd_list = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fd_list, fd, &error);
  close (fd);
  if (index < 0)
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(hs)", index, cursor), fd_list);
}

void
jobd_dbus_method_get_memory (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  if (!jobd_job_get_memory (job, NULL, &bytes, &source, &error))
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(ts)", bytes, source), NULL);
}

void
jobd_dbus_method_get_server_memory (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;

  if (!jobd_memory_process_rss (getpid (), &bytes, &error))
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(t)", bytes), NULL);
}

void
jobd_dbus_method_get_server_log (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_auto(GStrv) lines = NULL;
  guint32 max_lines = 0;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(u)", &max_lines);
  lines = jobd_server_log_get_lines (max_lines);
  jobd_dbus_client_return_value (invocation,
      g_variant_new ("(^as)", lines), NULL);
}

void
jobd_dbus_method_reload_config (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_config_reload (jobd_manager_get_config (self->manager), &error);

  /* [Daemon] TimeZone= may have changed (or /etc/localtime): recompute. */
  jobd_manager_time_zone_changed (self->manager);

  jobd_jobs_dir_apply (self->manager, TRUE);
  jobd_dbus_return_ok_or_error (invocation, ok, error);
}
