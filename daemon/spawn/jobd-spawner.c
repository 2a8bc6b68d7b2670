/* SPDX-License-Identifier: MIT */
/* jobd-spawner.c — the spawner interface. */
#include "config.h"

#include "jobd-spawner.h"

#include "jobd-error.h"

G_DEFINE_INTERFACE (JobdSpawner, jobd_spawner, G_TYPE_OBJECT)

static void
jobd_spawner_default_init (JobdSpawnerInterface *iface)
{
}

const char *
jobd_spawner_get_name (JobdSpawner *spawner)
{
  return JOBD_SPAWNER_GET_IFACE (spawner)->get_name (spawner);
}

char **
jobd_spawner_unenforced_limits (JobdSpawner *spawner, const JobdLimits *limits)
{
  JobdSpawnerInterface *iface = JOBD_SPAWNER_GET_IFACE (spawner);
  char **names = NULL;

  if (iface->unenforced_limits != NULL)
    names = iface->unenforced_limits (spawner, limits);
  return names != NULL ? names : g_new0 (char *, 1);
}

void
jobd_spawner_spawn_async (JobdSpawner *spawner,
                          const JobdSpawnRequest *request,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  JOBD_SPAWNER_GET_IFACE (spawner)->spawn_async (spawner, request, cancellable,
                                                 callback, user_data);
}

JobdProcess *
jobd_spawner_spawn_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  return JOBD_SPAWNER_GET_IFACE (spawner)->spawn_finish (spawner, result, error);
}

void
jobd_spawner_adopt_async (JobdSpawner *spawner,
                          const JobdSpawnRequest *request,
                          JsonObject *record,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  JobdSpawnerInterface *iface = JOBD_SPAWNER_GET_IFACE (spawner);

  if (iface->adopt_async == NULL)
    {
      g_task_report_new_error (spawner, callback, user_data, jobd_spawner_adopt_async,
                               JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                               "the %s backend cannot take back running jobs",
                               jobd_spawner_get_name (spawner));
      return;
    }
  iface->adopt_async (spawner, request, record, cancellable, callback, user_data);
}

JobdProcess *
jobd_spawner_adopt_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  JobdSpawnerInterface *iface = JOBD_SPAWNER_GET_IFACE (spawner);

  if (g_async_result_is_tagged (result, jobd_spawner_adopt_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return iface->adopt_finish (spawner, result, error);
}
