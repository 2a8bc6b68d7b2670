/* SPDX-License-Identifier: MIT */
/* jobd-manager.h — the registry of jobs, and the only door to them.
 *
 * Every front end (D-Bus service, legacy TCP server, scheduler, autostart)
 * calls the manager; none of them touches processes or files. The manager
 * persists the registry after every change and re-emits job events:
 *   "job-added"          (JobdJob*)
 *   "job-removed"        (JobdJob*)
 *   "job-state-changed"  (JobdJob*, old_state:int, new_state:int, details:GVariant a{sv})
 *   "job-changed"        (JobdJob*)   settings or runtime properties changed
 */
#pragma once

#include <gio/gio.h>

#include "jobd-config.h"
#include "jobd-job.h"
#include "jobd-spawner.h"
#include "jobd-timers.h"

G_BEGIN_DECLS

#define JOBD_TYPE_MANAGER (jobd_manager_get_type ())
G_DECLARE_FINAL_TYPE (JobdManager, jobd_manager, JOBD, MANAGER, GObject)

JobdManager *jobd_manager_new (JobdConfig *config, JobdSpawner *spawner);

JobdConfig *jobd_manager_get_config (JobdManager *manager);
/* The timer engine of every job's schedules (jobd-timers.h). */
JobdTimers *jobd_manager_get_timers (JobdManager *manager);
/* [Daemon] TimeZone= or /etc/localtime changed: recompute every next fire. */
void jobd_manager_time_zone_changed (JobdManager *manager);
const char *jobd_manager_get_backend_name (JobdManager *manager);
/* Every job's run history (jobd-history.h). */
JobdHistory *jobd_manager_get_history (JobdManager *manager);

/* Read the registry from the state directory; problems are logged loudly. */
gboolean jobd_manager_load (JobdManager *manager, GError **error);
/* After load: take back jobs whose processes still run (same boot, same
 * PID and start time), start again those that were running when jobd or
 * the host went down ([Daemon] RestoreJobs=), and apply the restart policy
 * to those that exited while jobd was away. Completes when all settled. */
void jobd_manager_restore_async (JobdManager *manager,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean jobd_manager_restore_finish (JobdManager *manager, GAsyncResult *result, GError **error);
/* Start every autostart job. */
void jobd_manager_start_autostart_jobs (JobdManager *manager);

/* Takes ownership of settings (validated by the caller's merge, checked again). */
JobdJob *jobd_manager_add_job (JobdManager *manager,
                               const char *name,
                               JobdSettings *settings,
                               guint owner_uid,
                               GError **error);
/* Refused (BUSY, naming them) while other jobs require it. */
gboolean jobd_manager_remove_job (JobdManager *manager, const char *name, GError **error);
/* force: removed even if others require it (their start then fails,
 * naming the missing job, until they are changed). */
gboolean jobd_manager_remove_job_full (JobdManager *manager,
                                       const char *name,
                                       gboolean force,
                                       GError **error);
/* Replace the settings (takes ownership); persisted at once. */
gboolean jobd_manager_update_job (JobdManager *manager,
                                  const char *name,
                                  JobdSettings *settings,
                                  GError **error);
/* Set instances (1..MaxInstances=) and persist it; a running job scales
 * at once (jobd-instances.h). */
gboolean jobd_manager_scale_job (JobdManager *manager,
                                 const char *name,
                                 guint instances,
                                 GError **error);
/* NO_SUCH_JOB error when absent (a borrowed reference). */
JobdJob *jobd_manager_lookup_job (JobdManager *manager, const char *name, GError **error);
/* Jobs sorted by name: a reference to a shared array (unref it; do not
 * modify it), holding a reference to each job. */
GPtrArray *jobd_manager_list_jobs (JobdManager *manager);

/* cause NULL: a manual start by an unknown caller. */
void jobd_manager_start_job_async (JobdManager *manager,
                                   const char *name,
                                   const JobdRunCause *cause,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean jobd_manager_start_job_finish (JobdManager *manager, GAsyncResult *result, GError **error);
gboolean jobd_manager_stop_job (JobdManager *manager, const char *name, GError **error);
/* Stop (if running), wait for the exit, start. */
void jobd_manager_restart_job_async (JobdManager *manager,
                                     const char *name,
                                     const JobdRunCause *cause,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean jobd_manager_restart_job_finish (JobdManager *manager, GAsyncResult *result, GError **error);
gboolean jobd_manager_reload_job (JobdManager *manager, const char *name, GError **error);
gboolean jobd_manager_kill_job (JobdManager *manager, const char *name, int signo, GError **error);

/* Dependencies (jobd-deps.h). The jobs whose `requires` (key "requires")
 * or `after` ("after") name `name`, by name (new strings). */
GPtrArray *jobd_manager_get_dependents (JobdManager *manager, const char *name, const char *key);
/* Whether caller_uid may name every job of settings' requires and after:
 * only who may start and stop a job (MODIFY) may make another job start
 * or wait for it. Called by the front ends at add/update. */
gboolean jobd_manager_check_dependency_access (JobdManager *manager,
                                               const JobdSettings *settings,
                                               guint caller_uid,
                                               GError **error);
/* Whether caller_uid may stop every running job that requires name (they
 * are stopped first by jobd_manager_stop_job()). */
gboolean jobd_manager_check_stop_access (JobdManager *manager,
                                         const char *name,
                                         guint caller_uid,
                                         GError **error);

/* Persist now (normally automatic). */
gboolean jobd_manager_save (JobdManager *manager, GError **error);

/* Stop every running job and complete once all are down (shutdown). */
void jobd_manager_shutdown_async (JobdManager *manager,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean jobd_manager_shutdown_finish (JobdManager *manager, GAsyncResult *result, GError **error);

G_END_DECLS
