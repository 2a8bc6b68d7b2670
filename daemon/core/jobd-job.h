/* SPDX-License-Identifier: MIT */
/* jobd-job.h — one job: settings, runtime state and its state machine.
 *
 *   down → starting → up → stopping → down
 *                  ↘ failed (spawn error, start limit hit)
 *
 * A job starts through the spawner it was given, watches its JobdProcess,
 * feeds its JobdOutput, and applies its restart policy (exponential backoff,
 * start limit) to exits that were not asked for through the API. While an
 * automatic restart is pending the job is "starting" with next-start-at set.
 *
 * Every state change is emitted as "state-changed" (old, new, details a{sv})
 * and every change worth persisting as "changed"; the manager listens.
 * Process state changes are handled in jobd-job.c and nowhere else.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-output.h"
#include "jobd-process.h"
#include "jobd-settings.h"
#include "jobd-spawner.h"

G_BEGIN_DECLS

typedef enum {
  JOBD_STATE_DOWN,
  JOBD_STATE_STARTING,
  JOBD_STATE_UP,
  JOBD_STATE_STOPPING,
  JOBD_STATE_FAILED,
} JobdState;

const char *jobd_state_to_string (JobdState state);

/* Why a job (re)started or stopped; recorded as last-restart-reason, sent
 * as "reason" with JobStateChanged, logged as JOBD_REASON=. Every reason a
 * job can carry is one of these (listed in README.md, "Logging"). */
#define JOBD_REASON_MANUAL "manual"
#define JOBD_REASON_POLICY "policy"
#define JOBD_REASON_AUTOSTART "autostart"
#define JOBD_REASON_EXIT_CODE "exit-code"
#define JOBD_REASON_SIGNAL "signal"
#define JOBD_REASON_SPAWN_ERROR "spawn-error"
#define JOBD_REASON_START_LIMIT "start-limit"
/* jobd started again and restores what the last one left. */
#define JOBD_REASON_RESTORE "restore"
/* jobd started again and took back a job that was still running. */
#define JOBD_REASON_ADOPTED "adopted"
/* A schedule fired (the run's trigger names which). */
#define JOBD_REASON_SCHEDULE "schedule"
/* Its job file changed a setting that needs a restart (trigger: the file). */
#define JOBD_REASON_JOB_FILE "job-file"
/* The run lasted longer than its runtime-max-ms and was stopped. */
#define JOBD_REASON_RUNTIME_MAX "runtime-max"

#define JOBD_UID_NONE G_MAXUINT

/* Why a run starts, as the run's history keeps it: the reason, who asked
 * (for "manual": the caller's uid, JOBD_UID_NONE when unknown) and what
 * fired (a schedule's id; NULL for none). The strings are copied. */
typedef struct {
  const char *reason;
  guint uid;
  const char *trigger;
} JobdRunCause;

#define JOBD_RUN_CAUSE(reason) ((JobdRunCause) { (reason), JOBD_UID_NONE, NULL })

typedef struct _JobdHistory JobdHistory;
/* Not ready within its ready-timeout-ms: stopped, a failed start. */
#define JOBD_REASON_READY_TIMEOUT "ready-timeout"
/* No WATCHDOG=1 within its watchdog-ms (or WATCHDOG=trigger): restarted. */
#define JOBD_REASON_WATCHDOG "watchdog"
/* jobd restarted a running job by itself (jobd_job_restart_for()): its
 * liveness probe failed (health), it grew past memory-restart (memory), a
 * watched file changed (file-change; the trigger is the first path). */
#define JOBD_REASON_HEALTH "health"
#define JOBD_REASON_MEMORY "memory"
#define JOBD_REASON_FILE_CHANGE "file-change"
/* Started because a job that requires it was started (trigger: that job),
 * or stopped because a job it requires stopped or failed. */
#define JOBD_REASON_DEPENDENCY "dependency"

/* `jobctl scale` (or an update of instances) while it runs: a job of one
 * becoming several starts again as instance 1..N; new instances start. */
#define JOBD_REASON_SCALE "scale"

/* Shared by every job of a manager. */
typedef struct {
  JobdSpawner *spawner;
  JobdHistory *history;   /* every run is recorded here; NULL = not recorded */
  char *runtime_dir;
  char *log_dir;
  gboolean journal;       /* also send output lines to journald */
} JobdJobContext;

#define JOBD_TYPE_JOB (jobd_job_get_type ())
G_DECLARE_FINAL_TYPE (JobdJob, jobd_job, JOBD, JOB, GObject)

/* Takes ownership of settings. context must outlive the job. */
JobdJob *jobd_job_new (const char *name,
                       JobdSettings *settings,
                       guint owner_uid,
                       const JobdJobContext *context);

const char *jobd_job_get_name (JobdJob *job);
const JobdSettings *jobd_job_get_settings (JobdJob *job);
/* Takes ownership; applies at the next start (buffer size and write-log at once). */
void jobd_job_set_settings (JobdJob *job, JobdSettings *settings);
guint jobd_job_get_owner_uid (JobdJob *job);
JobdState jobd_job_get_state (JobdJob *job);
gboolean jobd_job_is_active (JobdJob *job);   /* starting, up or stopping */
/* The state the user asked for last (start → TRUE, stop → FALSE). */
gboolean jobd_job_get_wanted_up (JobdJob *job);
JobdProcess *jobd_job_get_process (JobdJob *job);   /* NULL when down */
GPid jobd_job_get_pid (JobdJob *job);               /* 0 when none */
gint64 jobd_job_get_started_at (JobdJob *job);      /* µs since epoch or 0 */
gint64 jobd_job_get_next_start_at (JobdJob *job);
int jobd_job_get_exit_code (JobdJob *job);          /* -1 when none */
int jobd_job_get_exit_signal (JobdJob *job);        /* 0 when none */
guint jobd_job_get_restarts (JobdJob *job);
const char *jobd_job_get_last_restart_reason (JobdJob *job);
/* Why the current (or last) run started. */
const JobdRunCause *jobd_job_get_start_cause (JobdJob *job);
const char *jobd_job_get_last_error (JobdJob *job);
/* What the job last said with STATUS= (sd_notify), NULL when nothing. */
const char *jobd_job_get_status_text (JobdJob *job);
JobdOutput *jobd_job_get_output (JobdJob *job);

/* Runtime as a{sv} (see GetRuntime in the D-Bus XML), floating. */
GVariant *jobd_job_get_runtime_variant (JobdJob *job);

/* Start: fails with ALREADY_RUNNING when active (a pending automatic
 * restart is started at once instead), SPAWN_FAILED when the command cannot
 * run. Completes once the job is ready (state up: at exec for ready=exec,
 * else when its readiness says so) or the start failed. */
void jobd_job_start_async (JobdJob *job,
                           const JobdRunCause *cause,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean jobd_job_start_finish (JobdJob *job, GAsyncResult *result, GError **error);

/* Stop: stop signal to every process, SIGKILL after the stop timeout.
 * Returns once the signal was sent; NOT_RUNNING when down/failed (a pending
 * automatic restart is cancelled and the job goes down: that succeeds). */
gboolean jobd_job_stop (JobdJob *job, GError **error);
/* Completes when the job is down or failed (at once if it already is). */
void jobd_job_wait_down_async (JobdJob *job,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean jobd_job_wait_down_finish (JobdJob *job, GAsyncResult *result, GError **error);
/* A graceful restart jobd decides by itself: the stop signal, the stop
 * timeout (then SIGKILL), and at the exit a new run at once (no backoff)
 * whose cause is {reason, JOBD_UID_NONE, trigger}; counted in restarts and
 * last-restart-reason, the ending run's stop cause is reason; within the
 * start limit (past it the job is failed). reason is a JOBD_REASON_*,
 * message says why (logged, sent with "stopping"). NOT_RUNNING unless a
 * process runs and the job is wanted up and not already stopping. */
gboolean jobd_job_restart_for (JobdJob *job,
                               const char *reason,
                               const char *trigger,
                               const char *message,
                               GError **error);
gboolean jobd_job_reload (JobdJob *job, GError **error);
gboolean jobd_job_kill (JobdJob *job, int signo, GError **error);

/* After a jobd restart: the job's process still runs. Restores state up
 * with the recorded start time and restart count; when the record says it
 * is not wanted up (it was being stopped), stops it. */
void jobd_job_adopt (JobdJob *job, JobdProcess *process, JsonObject *record);
/* The runtime record persisted with the job (NULL when nothing runs):
 * the process record plus started-at, restarts, last-restart-reason. */
JsonObject *jobd_job_save_record (JobdJob *job);
/* Restore counters from a record whose process is gone. */
void jobd_job_restore_counters (JobdJob *job, JsonObject *record);
/* The record says the job was failed (start limit, spawn error) in this
 * boot: it is failed again, with its counters and error, and not started. */
void jobd_job_restore_failed (JobdJob *job, JsonObject *record);

/* A job of several instances (jobd-instances.h) that was running when jobd
 * restarted: takes back the instances of record["instances"] that still run;
 * done gets how many did (0: none, the caller decides as for a gone process). */
void jobd_job_adopt_instances (JobdJob *job,
                               JsonObject *record,
                               void (*done) (JobdJob *job, guint adopted, gpointer user_data),
                               gpointer user_data);
/* The record is one of a job of several instances. */
gboolean jobd_job_record_has_instances (JsonObject *record);

gboolean jobd_job_get_memory (JobdJob *job,
                              JobdMemorySnapshot *snapshot,
                              guint64 *bytes,
                              const char **source,
                              GError **error);
/* The job's memory as jobd last read it in this run (jobd_job_get_memory:
 * GetMemory, GetUsage, the memory-restart check), without reading it now;
 * 0 when not read yet in this run. What List shows: reading the memory of
 * every job costs a /proc scan or a cgroup file per job. */
guint64 jobd_job_get_memory_seen (JobdJob *job);
/* CPU time (user + system) of the whole job's current run, cumulative, in
 * µs; 0 when nothing runs (see jobd-cpu.h for the sources). */
guint64 jobd_job_get_cpu_usage (JobdJob *job, JobdMemorySnapshot *snapshot);

/* jobd_job_stop() for a reason of jobd's own (JOBD_REASON_DEPENDENCY):
 * the reason is sent with "stopping" and "down" and is the run's stop
 * cause. */
gboolean jobd_job_stop_for (JobdJob *job, const char *reason, GError **error);

/* What a monitor of the job (jobd-watch.c…) could not do, shown as its
 * last error (cleared at the next start). */
void jobd_job_set_last_error (JobdJob *job, const char *message);

G_END_DECLS
