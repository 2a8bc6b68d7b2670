/* SPDX-License-Identifier: MIT */
/* jobd-spawner-scope.h — the systemd backend: every job in its own scope.
 *
 * The child is forked held on a pipe; systemd is asked (StartTransientUnit,
 * mode "fail") for jobd-<escaped name>.scope in jobd.slice holding its PID,
 * with MemoryAccounting and the job's limits; once systemd reports the
 * unit's start job done, the child is released to exec. So the job's
 * program never runs outside its scope. Every call to systemd is
 * asynchronous with a timeout; systemd's errors become SPAWN_FAILED.
 *
 * Rule for lingering children: when a job's main process exits, whatever is
 * left in its scope is killed (SIGKILL to the unit), as the direct backend
 * does with the process group; a job's lifetime is its main process's.
 *
 * Memory comes from the scope's cgroup (jobd-cgroup.h). Works with the
 * system manager (system bus) and the user manager (session bus).
 */
#pragma once

#include "jobd-spawner.h"

G_BEGIN_DECLS

#define JOBD_SCOPE_SLICE "jobd.slice"

#define JOBD_TYPE_SPAWNER_SCOPE (jobd_spawner_scope_get_type ())
G_DECLARE_FINAL_TYPE (JobdSpawnerScope, jobd_spawner_scope, JOBD, SPAWNER_SCOPE, GObject)

/* bus: where the systemd manager to use answers (system bus for a system
 * jobd, session bus for --user). */
JobdSpawner *jobd_spawner_scope_new (GDBusConnection *bus);

/* Does a systemd manager answer on bus? (Backend=auto.) The async probe
 * never blocks; the sync one waits at most timeout_msec, for start-up
 * before the main loop runs. */
void jobd_spawner_scope_probe_async (GDBusConnection *bus,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean jobd_spawner_scope_probe_finish (GAsyncResult *result, GError **error);
gboolean jobd_spawner_scope_available (GDBusConnection *bus, int timeout_msec);

/* "jobd-" + the name escaped as systemd-escape does + ".scope";
 * INVALID_ARGS when the result is too long for a unit name. */
char *jobd_scope_unit_name (const char *job_name, GError **error);

/* The limit properties of a scope as a(sv) (floating). With for_update a
 * limit of 0 is sent as "infinity" so an update can lift it; without, only
 * limits that are set appear. */
GVariant *jobd_scope_limit_properties (const JobdLimits *limits, gboolean for_update);

#define JOBD_TYPE_SCOPE_PROCESS (jobd_scope_process_get_type ())
G_DECLARE_FINAL_TYPE (JobdScopeProcess, jobd_scope_process, JOBD, SCOPE_PROCESS, JobdProcess)

/* The scope's cgroup path as systemd's ControlGroup shows it. */
const char *jobd_scope_process_get_cgroup (JobdScopeProcess *process);

/* Apply limits to the running scope at once (SetUnitProperties,
 * runtime); the scope process's set_limits (jobd-process.h). INVALID_ARGS
 * when process is not a scope process; systemd's refusal as FAILED. */
void jobd_scope_process_set_limits_async (JobdProcess *process,
                                          const JobdLimits *limits,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean jobd_scope_process_set_limits_finish (JobdProcess *process,
                                               GAsyncResult *result,
                                               GError **error);

G_END_DECLS
