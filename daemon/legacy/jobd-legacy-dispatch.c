/* SPDX-License-Identifier: MIT */
/* jobd-legacy-dispatch.c — parse, check, run a legacy command, answer.
 *
 * Order matters for compatibility: unparseable parameters answer FAILED
 * before anything else (the old server never got further), then the auth
 * plugin may answer DENIED for any command word (known or not, as the old
 * plugin ran first), then the command runs or answers UNKNOWN.
 */
#include "jobd-legacy-dispatch.h"

#include "jobd-error.h"
#include "jobd-legacy-auth.h"
#include "jobd-legacy-logcleaner.h"
#include "jobd-legacy-logexplorer.h"
#include "jobd-legacy-peer.h"
#include "jobd-legacy-scheduler.h"

static gboolean
load_scheduler (JobdLegacy *legacy, JobdConfig *config, GError **error)
{
  g_autoptr(GTimeZone) tz = jobd_legacy_time_zone_new (config->time_zone, error);

  if (tz == NULL)
    return FALSE;
  legacy->scheduler = jobd_legacy_scheduler_new (legacy->manager, config->state_dir, tz, error);
  if (legacy->scheduler == NULL)
    return FALSE;
  jobd_legacy_register (legacy, jobd_legacy_scheduler_commands ());
  return TRUE;
}

JobdLegacy *
jobd_legacy_new (JobdManager *manager, JobdConfig *config, GError **error)
{
  g_autoptr(JobdLegacy) legacy = g_new0 (JobdLegacy, 1);
  JobdLegacyPlugins plugins;

  legacy->manager = g_object_ref (manager);
  legacy->config = config;
  legacy->log_dir = g_strdup (config->log_dir);
  legacy->commands = g_hash_table_new (g_str_hash, g_str_equal);

  if (!jobd_legacy_config_read (config->keyfile, &legacy->conf, error))
    return NULL;
  jobd_legacy_config_note (&legacy->conf);
  if (!jobd_legacy_resolve_user (legacy->conf.user, &legacy->user, &legacy->owner_uid, error))
    return NULL;

  jobd_legacy_register (legacy, jobd_legacy_core_commands ());

  plugins = legacy->conf.plugins;
  if (plugins & JOBD_LEGACY_PLUGIN_AUTH)
    {
      legacy->auth = jobd_legacy_auth_new (config->state_dir, error);
      if (legacy->auth == NULL)
        return NULL;
      jobd_legacy_register (legacy, jobd_legacy_auth_commands ());
    }
  if (plugins & JOBD_LEGACY_PLUGIN_LOGEXPLORER)
    jobd_legacy_register (legacy, jobd_legacy_logexplorer_commands ());
  if ((plugins & JOBD_LEGACY_PLUGIN_SCHEDULER) && !load_scheduler (legacy, config, error))
    return NULL;
  if (plugins & JOBD_LEGACY_PLUGIN_LOGCLEANER)
    legacy->logcleaner = jobd_legacy_logcleaner_new (config->log_dir,
                                                     legacy->conf.log_expire_days,
                                                     legacy->conf.log_clean_interval_sec);

  return g_steal_pointer (&legacy);
}

void
jobd_legacy_free (JobdLegacy *legacy)
{
  if (legacy == NULL)
    return;
  g_clear_pointer (&legacy->auth, jobd_legacy_auth_free);
  g_clear_pointer (&legacy->scheduler, jobd_legacy_scheduler_free);
  g_clear_pointer (&legacy->logcleaner, jobd_legacy_logcleaner_free);
  g_clear_pointer (&legacy->commands, g_hash_table_unref);
  g_clear_object (&legacy->manager);
  g_free (legacy->user);
  jobd_legacy_config_clear (&legacy->conf);
  g_free (legacy->log_dir);
  g_free (legacy);
}

gboolean
jobd_legacy_start_plugins (JobdLegacy *legacy, GError **error)
{
  if (legacy->scheduler != NULL && !jobd_legacy_scheduler_start (legacy->scheduler, error))
    return FALSE;
  if (legacy->logcleaner != NULL)
    jobd_legacy_logcleaner_start (legacy->logcleaner);
  return TRUE;
}

void
jobd_legacy_register (JobdLegacy *legacy, const JobdLegacyCommand *commands)
{
  for (const JobdLegacyCommand *c = commands; c->word != NULL; c++)
    g_hash_table_replace (legacy->commands, (gpointer) c->word, (gpointer) c);
}

gboolean
jobd_legacy_unregister (JobdLegacy *legacy, const char *word)
{
  return g_hash_table_remove (legacy->commands, word);
}

/* The command of an authorised request, or NULL with the code of the
 * answer (unknown command, bad job name). */
static const JobdLegacyCommand *
find_command (JobdLegacy *legacy, JobdLegacyRequest *request, guint peer_uid,
              JobdLegacyCode *code)
{
  g_autoptr(GError) error = NULL;
  const JobdLegacyCommand *command;
  JobdJob *job;

  /* Credentials are never stored as job or user settings. */
  json_object_remove_member (request->params, "auth");

  command = g_hash_table_lookup (legacy->commands, request->command);
  if (command == NULL)
    {
      *code = JOBD_LEGACY_CODE_UNKNOWN;
      return NULL;
    }
  if (command->needs_jobname)
    {
      const char *jobname = NULL;

      if (!jobd_legacy_param_string (request->params, "jobname", TRUE, &jobname, &error)
          || !jobd_name_validate (jobname, &error))
        {
          *code = jobd_legacy_failed (command->word, error);
          return NULL;
        }
      /* An unknown job is the handler's FAILED, as before. */
      if (command->changes_job
          && (job = jobd_manager_lookup_job (legacy->manager, jobname, NULL)) != NULL
          && !jobd_legacy_peer_may_change (legacy, peer_uid, job, &error))
        {
          g_debug ("legacy %s: DENIED: %s", command->word, error->message);
          *code = JOBD_LEGACY_CODE_DENIED;
          return NULL;
        }
    }
  return command;
}

/* Run an authorised request: a query or a refusal is answered in *code and
 * *data and the result is NULL; a handler gets the task, made from
 * task_args unless *task is set, and it is returned. */
typedef struct {
  GCancellable *cancellable;
  GAsyncReadyCallback callback;
  gpointer user_data;
} TaskArgs;

static const JobdLegacyCommand *
run_command (JobdLegacy *legacy, JobdLegacyRequest *request, guint peer_uid, GTask *task,
             const TaskArgs *task_args, JobdLegacyCode *code, JsonNode **data)
{
  const JobdLegacyCommand *command = find_command (legacy, request, peer_uid, code);

  if (command != NULL && command->query != NULL)
    {
      *code = command->query (legacy, request->params, data);
      return NULL;
    }
  if (command != NULL)
    {
      if (task == NULL)
        {
          task = g_task_new (NULL, task_args->cancellable, task_args->callback,
                             task_args->user_data);
          g_task_set_source_tag (task, jobd_legacy_dispatch);
        }
      else
        g_object_ref (task);
      command->handler (legacy, request->params, task);
      g_object_unref (task);
    }
  return command;
}

/* The password check ran off the main loop; the request goes on. */
typedef struct {
  JobdLegacy *legacy;
  JobdLegacyRequest *request;
  guint peer_uid;
  GTask *task;
} AuthHop;

static void
auth_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AuthHop *hop = user_data;
  JobdLegacy *legacy = hop->legacy;
  g_autoptr(JobdLegacyRequest) request = hop->request;
  g_autoptr(GTask) task = hop->task;
  JobdLegacyCode code = JOBD_LEGACY_CODE_DENIED;
  JsonNode *data = NULL;
  guint hop_peer_uid = hop->peer_uid;

  g_free (hop);
  /* Only allowed while the plugin (and so legacy) is alive. */
  if (!jobd_legacy_auth_check_finish (result)
      || run_command (legacy, request, hop_peer_uid, task, NULL, &code, &data) == NULL)
    jobd_legacy_return (task, code, data);
}

static char *
dispatch (JobdLegacy *legacy,
          JobdLegacyClient *client,
          guint peer_uid,
          const void *payload,
          gsize len,
          gsize *response_len,
          GCancellable *cancellable,
          GAsyncReadyCallback callback,
          gpointer user_data)
{
  g_autoptr(JobdLegacyRequest) request = NULL;
  g_autoptr(JsonNode) data = NULL;
  g_autoptr(GError) error = NULL;
  JobdLegacyCode code = JOBD_LEGACY_CODE_FAILED;
  JobdLegacyAuthVerdict verdict = JOBD_LEGACY_AUTH_ALLOW;
  const TaskArgs task_args = { cancellable, callback, user_data };

  /* Unparseable parameters answer before the auth plugin looks. */
  request = jobd_legacy_request_parse (payload, len, &error);
  if (request == NULL)
    {
      g_debug ("legacy request rejected: %s", error->message);
      code = g_error_matches (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND)
             ? JOBD_LEGACY_CODE_UNKNOWN : JOBD_LEGACY_CODE_FAILED;
      return jobd_legacy_response_build (code, NULL, response_len);
    }

  if (legacy->auth != NULL)
    {
      AuthHop *hop = g_new0 (AuthHop, 1);

      hop->legacy = legacy;
      hop->request = request;
      hop->peer_uid = peer_uid;
      verdict = jobd_legacy_auth_check_async (legacy->auth,
                                              client != NULL ? &client->auth : NULL,
                                              client != NULL ? client->peer : NULL,
                                              peer_uid,
                                              request->command, request->params,
                                              auth_checked, hop);
      if (verdict == JOBD_LEGACY_AUTH_PENDING)
        {
          /* auth_checked runs from the main loop, never before this. */
          hop->task = g_task_new (NULL, cancellable, callback, user_data);
          g_task_set_source_tag (hop->task, jobd_legacy_dispatch);
          request = NULL;
          return NULL;
        }
      g_free (hop);
    }
  if (verdict == JOBD_LEGACY_AUTH_DENY)
    code = JOBD_LEGACY_CODE_DENIED;
  else if (run_command (legacy, request, peer_uid, NULL, &task_args, &code, &data) != NULL)
    return NULL;
  return jobd_legacy_response_build (code, data, response_len);
}

char *
jobd_legacy_dispatch_client (JobdLegacy *legacy,
                             JobdLegacyClient *client,
                             const void *payload,
                             gsize len,
                             gsize *response_len,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  return dispatch (legacy, client, client->peer_uid, payload, len, response_len,
                   cancellable, callback, user_data);
}

char *
jobd_legacy_dispatch (JobdLegacy *legacy,
                      guint peer_uid,
                      const void *payload,
                      gsize len,
                      gsize *response_len,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  return dispatch (legacy, NULL, peer_uid, payload, len, response_len,
                   cancellable, callback, user_data);
}

char *
jobd_legacy_dispatch_finish_stream (JobdLegacy *legacy,
                                    GAsyncResult *result,
                                    gsize *len,
                                    JobdLegacyStream **stream)
{
  g_autoptr(GError) error = NULL;
  JobdLegacyReply *reply;
  char *text;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  *stream = NULL;
  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      /* Only cancellation (shutdown) gets here. */
      return jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, len);
    }
  if (reply->stream != NULL)
    {
      *stream = g_steal_pointer (&reply->stream);
      *len = jobd_legacy_stream_size (*stream);
      jobd_legacy_reply_free (reply);
      return NULL;
    }
  text = jobd_legacy_response_build (reply->code, reply->data, len);
  jobd_legacy_reply_free (reply);
  return text;
}

typedef struct {
  char *text;
  gsize len;
  JobdLegacyStream *stream;
} Built;

static void
built_free (gpointer data)
{
  Built *built = data;

  g_free (built->text);
  g_clear_pointer (&built->stream, jobd_legacy_stream_free);
  g_free (built);
}

/* The reply's tree is the handler's own (the records are copies), so it
 * can be written out on another thread. */
static void
build_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  JobdLegacyReply *reply = task_data;
  Built *built = g_new0 (Built, 1);

  built->text = jobd_legacy_response_build (reply->code, reply->data, &built->len);
  g_task_return_pointer (task, built, built_free);
}

void
jobd_legacy_dispatch_finish_async (GAsyncResult *result,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr(GError) error = NULL;
  JobdLegacyReply *reply = g_task_propagate_pointer (G_TASK (result), &error);
  Built *built;

  g_task_set_source_tag (task, jobd_legacy_dispatch_finish_async);
  if (reply != NULL && reply->stream == NULL && reply->data != NULL)
    {
      g_task_set_task_data (task, reply, jobd_legacy_reply_free);
      g_task_run_in_thread (task, build_thread);
      return;
    }
  built = g_new0 (Built, 1);
  if (reply == NULL)
    built->text = jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, &built->len);
  else if (reply->stream != NULL)
    {
      built->stream = g_steal_pointer (&reply->stream);
      built->len = jobd_legacy_stream_size (built->stream);
    }
  else
    built->text = jobd_legacy_response_build (reply->code, NULL, &built->len);
  g_clear_pointer (&reply, jobd_legacy_reply_free);
  g_task_return_pointer (task, built, built_free);
}

char *
jobd_legacy_dispatch_finish_built (GAsyncResult *result,
                                   gsize *len,
                                   JobdLegacyStream **stream)
{
  Built *built = g_task_propagate_pointer (G_TASK (result), NULL);
  char *text;

  g_assert (built != NULL);
  *len = built->len;
  *stream = g_steal_pointer (&built->stream);
  text = g_steal_pointer (&built->text);
  built_free (built);
  return text;
}

char *
jobd_legacy_dispatch_finish (JobdLegacy *legacy,
                             GAsyncResult *result,
                             gsize *len)
{
  g_autoptr(JobdLegacyStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  char *text = jobd_legacy_dispatch_finish_stream (legacy, result, len, &stream);

  if (text != NULL)
    return text;
  text = jobd_legacy_stream_read_all (stream, len, &error);
  if (text == NULL)
    {
      g_debug ("legacy: %s", error->message);
      text = jobd_legacy_response_build (JOBD_LEGACY_CODE_FAILED, NULL, len);
    }
  return text;
}
