/* SPDX-License-Identifier: MIT */
/* jobd-legacy-context.c — the reply helpers every handler uses, and who
 * legacy jobs run as. */
#include "jobd-legacy-context.h"

#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include "jobd-error.h"

#define LEGACY_DEFAULT_USER "jobd-legacy"

void
jobd_legacy_reply_free (gpointer data)
{
  JobdLegacyReply *reply = data;

  g_clear_pointer (&reply->data, json_node_unref);
  g_clear_pointer (&reply->stream, jobd_legacy_stream_free);
  g_free (reply);
}

void
jobd_legacy_return (GTask *task, JobdLegacyCode code, JsonNode *data)
{
  JobdLegacyReply *reply = g_new0 (JobdLegacyReply, 1);

  reply->code = code;
  reply->data = data;
  g_task_return_pointer (task, reply, jobd_legacy_reply_free);
}

void
jobd_legacy_return_stream (GTask *task, JobdLegacyStream *stream)
{
  JobdLegacyReply *reply = g_new0 (JobdLegacyReply, 1);

  reply->code = JOBD_LEGACY_CODE_OK;
  reply->stream = stream;
  g_task_return_pointer (task, reply, jobd_legacy_reply_free);
}

void
jobd_legacy_return_string (GTask *task, JobdLegacyCode code, const char *data)
{
  jobd_legacy_return (task, code, json_node_init_string (json_node_alloc (), data));
}

JobdLegacyCode
jobd_legacy_failed (const char *command, const GError *error)
{
  g_debug ("legacy %s: FAILED: %s", command, error != NULL ? error->message : "");
  return JOBD_LEGACY_CODE_FAILED;
}

void
jobd_legacy_fail (GTask *task, const char *command, const GError *error)
{
  jobd_legacy_return (task, jobd_legacy_failed (command, error), NULL);
}

gboolean
jobd_legacy_resolve_user (const char *configured,
                          char **user,
                          guint *owner_uid,
                          GError **error)
{
  const char *name = configured;
  struct passwd *pw;

  *user = NULL;
  *owner_uid = getuid ();

  if (name == NULL || *name == '\0')
    {
      /* Not root: jobs can only run as ourselves anyway. */
      if (geteuid () != 0)
        return TRUE;
      name = LEGACY_DEFAULT_USER;
      errno = 0;
      if (getpwnam (name) == NULL)
        {
          g_warning ("Legacy: user \"%s\" does not exist (install the sysusers.d "
                     "snippet); legacy jobs run as \"nobody\"", name);
          name = "nobody";
        }
    }

  errno = 0;
  pw = getpwnam (name);
  if (pw == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Legacy] User=%s: no such user", name);
      return FALSE;
    }
  if (pw->pw_uid == 0 && configured == NULL)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                           "refusing to run legacy jobs as root by default");
      return FALSE;
    }
  *user = g_strdup (pw->pw_name);
  *owner_uid = pw->pw_uid;
  return TRUE;
}
