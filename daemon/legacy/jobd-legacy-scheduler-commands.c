/* SPDX-License-Identifier: MIT */
/* jobd-legacy-scheduler-commands.c — the SCHEDULER.* commands: parameter
 * checks and answers over the scheduler's operations
 * (jobd-legacy-scheduler.h). Every failure answers FAILED.
 */
#include "jobd-legacy-scheduler.h"

#define SCHEDULER(legacy) ((legacy)->scheduler)

static const char *
jobname_of (JsonObject *params)
{
  /* Checked by the dispatcher (needs_jobname). */
  return json_object_get_string_member (params, "jobname");
}

static void
answer (GTask *task, const char *command, JsonNode *data, const GError *error)
{
  if (error != NULL)
    jobd_legacy_fail (task, command, error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, data);
}

static void
cmd_add (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = NULL;
  JsonObject *condition = NULL;
  gboolean enable = TRUE;

  if (jobd_legacy_param_bool (params, "enable", FALSE, &enable, &error)
      && jobd_legacy_param_object (params, "condition", TRUE, &condition, &error))
    uuid = jobd_legacy_scheduler_add (SCHEDULER (legacy), jobname_of (params), NULL,
                                      enable, condition, &error);
  answer (task, "SCHEDULER.ADD",
          uuid != NULL ? json_node_init_string (json_node_alloc (), uuid) : NULL, error);
}

static gboolean
get_uuid (JsonObject *params, const char **uuid, GError **error)
{
  return jobd_legacy_param_string (params, "uuid", TRUE, uuid, error);
}

static void
cmd_delete (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *uuid = NULL;

  if (get_uuid (params, &uuid, &error))
    jobd_legacy_scheduler_delete (SCHEDULER (legacy), jobname_of (params), uuid, &error);
  answer (task, "SCHEDULER.DELETE", NULL, error);
}

static void
cmd_update (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *uuid = NULL;
  JsonObject *condition = NULL;
  gboolean enable = FALSE;
  gboolean has_enable = json_object_has_member (params, "enable");

  if (get_uuid (params, &uuid, &error)
      && jobd_legacy_param_bool (params, "enable", FALSE, &enable, &error)
      && jobd_legacy_param_object (params, "condition", FALSE, &condition, &error))
    jobd_legacy_scheduler_update (SCHEDULER (legacy), jobname_of (params), uuid,
                                  has_enable ? &enable : NULL, condition, &error);
  answer (task, "SCHEDULER.UPDATE", NULL, error);
}

static void
cmd_get (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *uuid = NULL;
  JsonNode *data = NULL;

  if (get_uuid (params, &uuid, &error))
    data = jobd_legacy_scheduler_get (SCHEDULER (legacy), jobname_of (params), uuid, &error);
  answer (task, "SCHEDULER.GET", data, error);
}

static void
cmd_getall (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  answer (task, "SCHEDULER.GETALL", jobd_legacy_scheduler_get_all (SCHEDULER (legacy)), NULL);
}

static void
cmd_getlog (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *uuid = NULL;
  JsonNode *data = NULL;

  if (get_uuid (params, &uuid, &error))
    data = jobd_legacy_scheduler_get_log (SCHEDULER (legacy), jobname_of (params), uuid,
                                          &error);
  answer (task, "SCHEDULER.GETLOG", data, error);
}

static const JobdLegacyCommand scheduler_commands[] = {
  { "SCHEDULER.ADD", cmd_add, TRUE, .changes_job = TRUE },
  { "SCHEDULER.DELETE", cmd_delete, TRUE, .changes_job = TRUE },
  { "SCHEDULER.UPDATE", cmd_update, TRUE, .changes_job = TRUE },
  { "SCHEDULER.GET", cmd_get, TRUE },
  { "SCHEDULER.GETALL", cmd_getall, FALSE },
  { "SCHEDULER.GETLOG", cmd_getlog, TRUE },
  { NULL },
};

const JobdLegacyCommand *
jobd_legacy_scheduler_commands (void)
{
  return scheduler_commands;
}
