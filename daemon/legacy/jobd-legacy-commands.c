/* SPDX-License-Identifier: MIT */
/* jobd-legacy-commands.c — the core legacy commands over JobdManager.
 *
 * A thin translation: legacy keys to jobd settings and back, manager errors
 * to FAILED. Legacy jobs run as the configured legacy user; keys the
 * protocol does not define (including jobd's own setting names, so a TCP
 * client can never choose "user" or "interpreter") are kept as extras and
 * returned by GET unchanged.
 */
#include "jobd-legacy-context.h"

#include <string.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-log.h"
#include "jobd-memory.h"
#include "jobd-serverlog.h"

/* Keys with a meaning in the protocol; everything else is an extra. */
static const char *const legacy_keys[] = {
  "jobname", "command", "params", "buffersize", "writelog", "autostart", "guard", NULL,
};

static gboolean
is_legacy_key (const char *key)
{
  return g_strv_contains (legacy_keys, key);
}

static gboolean
copy_string (JsonObject *params, const char *from, JsonObject *to, const char *key,
             GError **error)
{
  const char *value = NULL;

  if (!jobd_legacy_param_string (params, from, FALSE, &value, error))
    return FALSE;
  if (value != NULL)
    json_object_set_string_member (to, key, value);
  return TRUE;
}

static gboolean
copy_bool (JsonObject *params, const char *from, JsonObject *to, const char *key,
           GError **error)
{
  gboolean value;

  if (!json_object_has_member (params, from))
    return TRUE;
  if (!jobd_legacy_param_bool (params, from, TRUE, &value, error))
    return FALSE;
  json_object_set_boolean_member (to, key, value);
  return TRUE;
}

/* The JSON settings object (jobd names) for the legacy keys in params. */
static JsonObject *
settings_json_from_params (JobdLegacy *legacy, JsonObject *params, GError **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonObject) extra = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (params);
  JsonNode *node;

  if (!copy_string (params, "command", out, "command", error)
      || !copy_string (params, "params", out, "params", error)
      || !copy_bool (params, "writelog", out, "write-log", error)
      || !copy_bool (params, "autostart", out, "autostart", error))
    return NULL;

  node = json_object_get_member (params, "buffersize");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (json_node_get_value_type (node) != G_TYPE_INT64
          || json_node_get_int (node) < 1
          || json_node_get_int (node) > JOBD_BUFFER_SIZE_MAX)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "buffersize must be an integer from 1 to %d", JOBD_BUFFER_SIZE_MAX);
          return NULL;
        }
      json_object_set_int_member (out, "buffer-size", json_node_get_int (node));
    }

  if (json_object_has_member (params, "guard"))
    {
      gboolean guard;

      /* guard = restart whenever the job exits without an API stop. */
      if (!jobd_legacy_param_bool (params, "guard", TRUE, &guard, error))
        return NULL;
      json_object_set_string_member (out, "restart", guard ? "always" : "no");
    }

  for (GList *l = members; l != NULL; l = l->next)
    if (!is_legacy_key (l->data))
      json_object_set_member (extra, l->data,
                              json_node_copy (json_object_get_member (params, l->data)));
  if (json_object_get_size (extra) > 0)
    json_object_set_object_member (out, "extra", g_steal_pointer (&extra));

  return g_steal_pointer (&out);
}

/* Scripts without the execute bit run through the interpreter, as the old
 * server ran everything through php; executables run directly. */
static void
apply_interpreter (JobdLegacy *legacy, JobdSettings *settings)
{
  gboolean script = settings->command != NULL
    && g_file_test (settings->command, G_FILE_TEST_IS_REGULAR)
    && !g_file_test (settings->command, G_FILE_TEST_IS_EXECUTABLE);

  g_clear_pointer (&settings->interpreter, g_free);
  if (script)
    settings->interpreter = g_strdup (legacy->conf.interpreter);
}

static gboolean
merge_params (JobdLegacy *legacy, JobdSettings *settings, JsonObject *params,
              GError **error)
{
  g_autoptr(JsonObject) json = settings_json_from_params (legacy, params, error);

  if (json == NULL)
    return FALSE;
  /* What runs is the legacy identity's own credential, never combined with
   * one a job had before: UPDATE of root's "group=root" job must not give
   * the new command gid 0. ("" unsets.) */
  if (legacy->user != NULL)
    json_object_set_string_member (json, "user", legacy->user);
  json_object_set_string_member (json, "group", "");
  if (!jobd_settings_merge_json (settings, json, JOBD_SETTINGS_FLAGS_PRIVILEGED, error))
    return FALSE;
  apply_interpreter (legacy, settings);
  return jobd_settings_validate (settings, error);
}

gboolean
jobd_legacy_settings_merge (JobdLegacy *legacy,
                            JobdSettings *settings,
                            JsonObject *record,
                            GError **error)
{
  return merge_params (legacy, settings, record, error);
}

static const char *
jobname_of (JsonObject *params)
{
  /* Checked by the dispatcher (needs_jobname). */
  return json_object_get_string_member (params, "jobname");
}

static void
cmd_add (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  const char *command = NULL;

  if (!jobd_legacy_param_string (params, "command", TRUE, &command, &error)
      || !merge_params (legacy, settings, params, &error)
      || jobd_manager_add_job (legacy->manager, jobname_of (params),
                               g_steal_pointer (&settings), legacy->owner_uid,
                               &error) == NULL)
    {
      jobd_legacy_fail (task, "ADD", error);
      return;
    }
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

static void
cmd_delete (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_remove_job (legacy->manager, jobname_of (params), &error))
    jobd_legacy_fail (task, "DELETE", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

static void
cmd_update (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSettings) settings = NULL;
  JobdJob *job;

  job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);
  if (job == NULL)
    {
      jobd_legacy_fail (task, "UPDATE", error);
      return;
    }
  settings = jobd_settings_copy (jobd_job_get_settings (job));
  if (!merge_params (legacy, settings, params, &error)
      || !jobd_manager_update_job (legacy->manager, jobname_of (params),
                                   g_steal_pointer (&settings), &error))
    {
      jobd_legacy_fail (task, "UPDATE", error);
      return;
    }
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

/* The record as the old server stored it: its keys, its JSON types. */
static JsonNode *
legacy_view (JobdJob *job)
{
  const JobdSettings *s = jobd_job_get_settings (job);
  g_autoptr(JsonObject) object = json_object_new ();
  GVariantIter iter;
  const char *key;
  GVariant *value;

  /* Extras first, so the protocol's own keys always win. */
  g_variant_iter_init (&iter, s->extra);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    json_object_set_member (object, key, json_gvariant_serialize (value));

  json_object_set_string_member (object, "command", s->command != NULL ? s->command : "");
  json_object_set_string_member (object, "params", s->params != NULL ? s->params : "");
  json_object_set_int_member (object, "buffersize", s->buffer_size);
  json_object_set_boolean_member (object, "writelog", s->write_log);
  json_object_set_boolean_member (object, "autostart", s->autostart);
  json_object_set_boolean_member (object, "guard", s->restart == JOBD_RESTART_ALWAYS);

  return json_node_init_object (json_node_alloc (), object);
}

static void
cmd_get (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  JobdJob *job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);

  if (job == NULL)
    jobd_legacy_fail (task, "GET", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, legacy_view (job));
}

/* An object jobname → value(job) over every job. */
static JsonNode *
map_jobs (JobdLegacy *legacy, JsonNode *(*value) (JobdJob *, gpointer), gpointer data)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (legacy->manager);
  g_autoptr(JsonObject) object = json_object_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      JsonNode *node = value (jobs->pdata[i], data);

      if (node != NULL)
        json_object_set_member (object, jobd_job_get_name (jobs->pdata[i]), node);
    }
  return json_node_init_object (json_node_alloc (), object);
}

static JsonNode *
view_of (JobdJob *job, gpointer data)
{
  return legacy_view (job);
}

static void
cmd_getall (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, map_jobs (legacy, view_of, NULL));
}

/* The old server answered UP while the job's process existed. */
static const char *
legacy_status (JobdJob *job)
{
  JobdState state = jobd_job_get_state (job);

  if (state == JOBD_STATE_UP || state == JOBD_STATE_STOPPING
      || (state == JOBD_STATE_STARTING && jobd_job_get_pid (job) != 0))
    return "UP";
  return "DOWN";
}

static JsonNode *
status_of (JobdJob *job, gpointer data)
{
  return json_node_init_string (json_node_alloc (), legacy_status (job));
}

/* A query: the commonest request answers without a main-loop turn. */
static JobdLegacyCode
query_status (JobdLegacy *legacy, JsonObject *params, JsonNode **data)
{
  g_autoptr(GError) error = NULL;
  JobdJob *job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);

  if (job == NULL)
    return jobd_legacy_failed ("STATUS", error);
  *data = json_node_init_string (json_node_alloc (), legacy_status (job));
  return JOBD_LEGACY_CODE_OK;
}

static void
cmd_statusall (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, map_jobs (legacy, status_of, NULL));
}

static void
start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_legacy_fail (task, "START", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

/* The old server refused to start a command whose path does not exist. */
static gboolean
command_exists (const char *command)
{
  g_autofree char *found = NULL;

  if (command == NULL)
    return FALSE;
  if (strchr (command, '/') != NULL)
    return g_file_test (command, G_FILE_TEST_EXISTS);
  found = g_find_program_in_path (command);
  return found != NULL;
}

static void
cmd_start (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const JobdSettings *current;
  g_autoptr(JobdSettings) settings = NULL;
  JobdJob *job;

  job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);
  if (job == NULL)
    {
      jobd_legacy_fail (task, "START", error);
      return;
    }
  current = jobd_job_get_settings (job);
  if (!command_exists (current->command))
    {
      jobd_job_message (jobd_job_get_name (job),
                        "legacy START %s: command path \"%s\" does not exist",
                        jobd_job_get_name (job), current->command);
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }

  /* The execute bit may have changed since ADD. */
  settings = jobd_settings_copy (current);
  apply_interpreter (legacy, settings);
  if (g_strcmp0 (settings->interpreter, current->interpreter) != 0
      && !jobd_manager_update_job (legacy->manager, jobd_job_get_name (job),
                                   g_steal_pointer (&settings), &error))
    {
      jobd_legacy_fail (task, "START", error);
      return;
    }

  jobd_manager_start_job_async (legacy->manager, jobname_of (params), NULL,
                                g_task_get_cancellable (task),
                                start_done, g_object_ref (task));
}

static void
cmd_stop (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_stop_job (legacy->manager, jobname_of (params), &error))
    jobd_legacy_fail (task, "STOP", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

static void
restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_restart_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_legacy_fail (task, "RESTART", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

static void
cmd_restart (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  JobdJob *job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);

  if (job == NULL)
    {
      jobd_legacy_fail (task, "RESTART", error);
      return;
    }
  /* Unlike the D-Bus Restart, the old RESTART failed on a stopped job. */
  if (g_str_equal (legacy_status (job), "DOWN"))
    {
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }
  jobd_manager_restart_job_async (legacy->manager, jobname_of (params), NULL,
                                  g_task_get_cancellable (task),
                                  restart_done, g_object_ref (task));
}

static void
cmd_read (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  JobdJob *job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);

  if (job == NULL)
    {
      jobd_legacy_fail (task, "READ", error);
      return;
    }
  lines = jobd_output_read (jobd_job_get_output (job),
                            jobd_job_get_settings (job)->buffer_size);
  for (guint i = 0; i < lines->len; i++)
    {
      const JobdLine *line = lines->pdata[i];

      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, line->text);
    }
  jobd_legacy_return_string (task, JOBD_LEGACY_CODE_OK, text->str);
}

static JsonNode *
kb_node (guint64 bytes)
{
  g_autofree char *kb = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes / 1024);

  return json_node_init_string (json_node_alloc (), kb);
}

static JsonNode *
mem_of (JobdJob *job, gpointer snapshot)
{
  guint64 bytes = 0;
  const char *source = NULL;
  g_autoptr(GError) error = NULL;

  if (!jobd_job_is_active (job) || jobd_job_get_pid (job) == 0)
    return NULL;
  if (!jobd_job_get_memory (job, snapshot, &bytes, &source, &error))
    {
      jobd_job_debug (jobd_job_get_name (job),
                      "legacy MEMALL %s: %s", jobd_job_get_name (job), error->message);
      return NULL;
    }
  return kb_node (bytes);
}

static void
cmd_mem (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  JobdJob *job = jobd_manager_lookup_job (legacy->manager, jobname_of (params), &error);
  guint64 bytes = 0;
  const char *source = NULL;

  if (job == NULL)
    {
      jobd_legacy_fail (task, "MEM", error);
      return;
    }
  if (jobd_job_get_pid (job) == 0)
    {
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }
  if (!jobd_job_get_memory (job, NULL, &bytes, &source, &error))
    jobd_legacy_fail (task, "MEM", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, kb_node (bytes));
}

static void
cmd_memall (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdMemorySnapshot) snapshot = jobd_memory_snapshot_new (&error);

  /* Without a snapshot each job measures on its own; slower, still right. */
  if (snapshot == NULL)
    g_debug ("legacy MEMALL: no snapshot: %s", error->message);
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, map_jobs (legacy, mem_of, snapshot));
}

static void
cmd_servermem (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;

  if (!jobd_memory_process_rss (getpid (), &bytes, &error))
    jobd_legacy_fail (task, "SERVERMEM", error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, kb_node (bytes));
}

static void
cmd_serverread (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_auto(GStrv) lines = jobd_server_log_get_lines (0);
  g_autofree char *text = g_strjoinv ("\n", lines);

  jobd_legacy_return_string (task, JOBD_LEGACY_CODE_OK, text);
}

static const JobdLegacyCommand core_commands[] = {
  { "ADD", cmd_add, TRUE },
  { "DELETE", cmd_delete, TRUE, .changes_job = TRUE },
  { "UPDATE", cmd_update, TRUE, .changes_job = TRUE },
  { "GET", cmd_get, TRUE },
  { "GETALL", cmd_getall, FALSE },
  { "START", cmd_start, TRUE, .changes_job = TRUE },
  { "STOP", cmd_stop, TRUE, .changes_job = TRUE },
  { "RESTART", cmd_restart, TRUE, .changes_job = TRUE },
  { "STATUS", NULL, TRUE, query_status },
  { "STATUSALL", cmd_statusall, FALSE },
  { "READ", cmd_read, TRUE },
  { "MEM", cmd_mem, TRUE },
  { "MEMALL", cmd_memall, FALSE },
  { "SERVERMEM", cmd_servermem, FALSE },
  { "SERVERREAD", cmd_serverread, FALSE },
  { NULL },
};

const JobdLegacyCommand *
jobd_legacy_core_commands (void)
{
  return core_commands;
}
