/* jobd-spawner.c — the spawner interface. */
#include "config.h"

#include "jobd-spawner.h"

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
