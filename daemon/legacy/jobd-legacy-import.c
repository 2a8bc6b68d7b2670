/* SPDX-License-Identifier: MIT */
/* jobd-legacy-import.c — import an old server's data/ folder (see
 * jobd-legacy-import.h). Jobs go through jobd_legacy_settings_merge(), the
 * mapping the legacy ADD command uses, so an imported job is exactly what
 * the old client would have created over TCP.
 */
#include "jobd-legacy-import.h"

#include <stdlib.h>

#include "jobd-error.h"
#include "jobd-legacy-auth.h"
#include "jobd-legacy-dispatch.h"
#include "jobd-legacy-scheduler.h"

typedef struct {
  JsonParser *jobs;
  JsonParser *auth;
  JsonParser *scheduler;
} OldData;

static void
old_data_clear (OldData *old)
{
  g_clear_object (&old->jobs);
  g_clear_object (&old->auth);
  g_clear_object (&old->scheduler);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (OldData, old_data_clear)

/* Parse data_dir/relative into *parser (left NULL when the file is absent). */
static gboolean
parse_object_file (const char *data_dir, const char *relative, JsonParser **parser,
                   GString *report, GError **error)
{
  g_autofree char *path = g_build_filename (data_dir, relative, NULL);
  g_autoptr(JsonParser) p = NULL;
  JsonNode *root;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_string_append_printf (report, "%s: not found, nothing to import from it\n", relative);
      return TRUE;
    }
  p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: not a JSON object", path);
      return FALSE;
    }
  *parser = g_steal_pointer (&p);
  return TRUE;
}

static JsonObject *
root_object (JsonParser *parser)
{
  return json_node_get_object (json_parser_get_root (parser));
}

static void
import_job (JobdLegacy *legacy, const char *name, JsonNode *node, gboolean force,
            GString *report)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  gboolean exists;

  if (!jobd_name_validate (name, &error)
      || !JSON_NODE_HOLDS_OBJECT (node)
      || !jobd_legacy_settings_merge (legacy, settings, json_node_get_object (node), &error))
    {
      g_string_append_printf (report, "job %s: skipped: %s\n", name,
                              error != NULL ? error->message : "not an object");
      return;
    }
  exists = jobd_manager_lookup_job (legacy->manager, name, NULL) != NULL;
  if (exists && !force)
    {
      g_string_append_printf (report, "job %s: skipped: a job of that name exists "
                              "(--force replaces its settings)\n", name);
      return;
    }
  if (exists
      ? !jobd_manager_update_job (legacy->manager, name, g_steal_pointer (&settings), &error)
      : jobd_manager_add_job (legacy->manager, name, g_steal_pointer (&settings),
                              legacy->owner_uid, &error) == NULL)
    {
      g_string_append_printf (report, "job %s: skipped: %s\n", name, error->message);
      return;
    }
  g_string_append_printf (report, "job %s: %s\n", name, exists ? "replaced" : "imported");
}

static void
import_jobs (JobdLegacy *legacy, JsonObject *jobs, gboolean force, GString *report)
{
  g_autoptr(GList) names = json_object_get_members (jobs);

  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    import_job (legacy, l->data, json_object_get_member (jobs, l->data), force, report);
}

/* The plugins' stores, loaded even when the plugin is switched off, so the
 * data is there when it is switched on. */
static gboolean
import_auth (JobdLegacy *legacy, JsonObject *old, gboolean force, GString *report,
             GError **error)
{
  g_autoptr(JobdLegacyAuth) own = NULL;
  JobdLegacyAuth *auth = legacy->auth;
  JobdConfig *config = jobd_manager_get_config (legacy->manager);

  if (auth == NULL)
    {
      own = jobd_legacy_auth_new (config->state_dir, error);
      if (own == NULL)
        return FALSE;
      auth = own;
    }
  return jobd_legacy_auth_import (auth, old, force, report, error);
}

static gboolean
import_schedules (JobdLegacy *legacy, const char *data_dir, JsonObject *old,
                  gboolean force, GString *report, GError **error)
{
  g_autoptr(JobdLegacyScheduler) own = NULL;
  g_autoptr(GTimeZone) tz = NULL;
  g_autofree char *log_dir = g_build_filename (data_dir, "plugins", "scheduler", "log", NULL);
  JobdLegacyScheduler *scheduler = legacy->scheduler;
  JobdConfig *config = jobd_manager_get_config (legacy->manager);

  if (scheduler == NULL)
    {
      tz = jobd_legacy_time_zone_new (config->time_zone, error);
      if (tz == NULL)
        return FALSE;
      own = jobd_legacy_scheduler_new (legacy->manager, config->state_dir, tz, error);
      if (own == NULL)
        return FALSE;
      scheduler = own;
    }
  return jobd_legacy_scheduler_import (scheduler, old, log_dir, force, report, error);
}

gboolean
jobd_legacy_import (JobdManager *manager,
                    const char *data_dir,
                    gboolean force,
                    GString *report,
                    GError **error)
{
  g_auto(OldData) old = { NULL };
  g_autoptr(JobdLegacy) legacy = NULL;

  if (!g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: not a directory (expected the old server's data/ folder)", data_dir);
      return FALSE;
    }
  /* Parse everything first: a corrupt file must not leave half an import. */
  if (!parse_object_file (data_dir, "config.json", &old.jobs, report, error)
      || !parse_object_file (data_dir, "plugins/auth/config.json", &old.auth, report, error)
      || !parse_object_file (data_dir, "plugins/scheduler/config.json", &old.scheduler,
                             report, error))
    return FALSE;
  if (old.jobs == NULL && old.auth == NULL && old.scheduler == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: no config.json and no plugin data: not an old server's data folder",
                   data_dir);
      return FALSE;
    }

  legacy = jobd_legacy_new (manager, jobd_manager_get_config (manager), error);
  if (legacy == NULL)
    return FALSE;

  /* Jobs first: schedules are only imported for jobs that exist. */
  if (old.jobs != NULL)
    import_jobs (legacy, root_object (old.jobs), force, report);
  if (old.auth != NULL && !import_auth (legacy, root_object (old.auth), force, report, error))
    return FALSE;
  if (old.scheduler != NULL
      && !import_schedules (legacy, data_dir, root_object (old.scheduler), force, report,
                            error))
    return FALSE;
  return jobd_manager_save (manager, error);
}

int
jobd_legacy_import_main (JobdConfig *config,
                         JobdManager *manager,
                         const char *data_dir,
                         gboolean force)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_legacy_import (manager, data_dir, force, report, &error);

  g_print ("%s", report->str);
  if (!ok)
    {
      g_printerr ("jobd: import from %s failed: %s\n", data_dir, error->message);
      return EXIT_FAILURE;
    }
  g_print ("import from %s done (state in %s)\n", data_dir, config->state_dir);
  return EXIT_SUCCESS;
}
