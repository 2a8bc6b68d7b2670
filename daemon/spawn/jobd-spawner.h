/* SPDX-License-Identifier: MIT */
/* jobd-spawner.h — how a job's process gets started.
 *
 * Two implementations, chosen once at start-up (Backend= / --backend):
 *   - direct (jobd-spawner-direct.c): fork/exec into a new session;
 *   - systemd (jobd-spawner-scope.c): the same child, but held on a pipe until
 *     systemd has put it in a transient scope, then released to exec.
 * Both fork through jobd-child.c, so argv/env/cwd/credentials/error reporting
 * behave the same; only where the child ends up differs.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "jobd-child.h"
#include "jobd-process.h"

G_BEGIN_DECLS

/* A launch request: everything a spawn needs, already decided. The core
 * turns a job's settings into one (core/jobd-launch.c: PATH, users and
 * groups, environment, working directory); the spawner only carries it
 * out. */
typedef struct {
  const char *job_name;
  const char *runtime_dir;
  /* One of a job's instances (1..N), 0 for a job of one. job_name is then
   * the instance's own name, "NAME#I" ('#' is no job name's: no clash with
   * another job), which names its FIFOs and containment; a scope is
   * jobd-NAME@I.scope. */
  guint instance;
  const JobdChildSpec *child;  /* what to exec, and as whom; NULL to adopt */
  JobdLimits limits;
} JobdSpawnRequest;

#define JOBD_TYPE_SPAWNER (jobd_spawner_get_type ())
G_DECLARE_INTERFACE (JobdSpawner, jobd_spawner, JOBD, SPAWNER, GObject)

struct _JobdSpawnerInterface {
  GTypeInterface parent_iface;

  const char *(*get_name) (JobdSpawner *spawner);
  void (*spawn_async) (JobdSpawner *spawner,
                       const JobdSpawnRequest *request,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data);
  JobdProcess *(*spawn_finish) (JobdSpawner *spawner,
                                GAsyncResult *result,
                                GError **error);

  /* Take back a job that ran before jobd restarted (optional). The record
   * is what jobd_process_save_record() wrote: pid, start-ticks, unit.
   * Fails (NOT_RUNNING) when that process is gone or is another one now.
   * The process comes back with its output fds reopened. */
  void (*adopt_async) (JobdSpawner *spawner,
                       const JobdSpawnRequest *request,
                       JsonObject *record,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data);
  JobdProcess *(*adopt_finish) (JobdSpawner *spawner,
                                GAsyncResult *result,
                                GError **error);

  /* Names of the limits set in limits that this backend does not
   * enforce (optional; NULL = it enforces them all). */
  char **(*unenforced_limits) (JobdSpawner *spawner, const JobdLimits *limits);
};

const char *jobd_spawner_get_name (JobdSpawner *spawner);
/* Never NULL; an empty vector when every limit set is enforced. */
char **jobd_spawner_unenforced_limits (JobdSpawner *spawner, const JobdLimits *limits);
/* The request is copied as needed; it need not outlive the call. */
void jobd_spawner_spawn_async (JobdSpawner *spawner,
                               const JobdSpawnRequest *request,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
JobdProcess *jobd_spawner_spawn_finish (JobdSpawner *spawner,
                                        GAsyncResult *result,
                                        GError **error);
void jobd_spawner_adopt_async (JobdSpawner *spawner,
                               const JobdSpawnRequest *request,
                               JsonObject *record,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
JobdProcess *jobd_spawner_adopt_finish (JobdSpawner *spawner,
                                        GAsyncResult *result,
                                        GError **error);

G_END_DECLS
