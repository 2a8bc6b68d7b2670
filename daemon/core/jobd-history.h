/* SPDX-License-Identifier: MIT */
/* jobd-history.h — the record of every run of every job.
 *
 * A run starts when the job's process runs (state up) and ends with the
 * process; a start that could not spawn is a run too (result
 * "spawn-error"). A job re-adopted after a jobd restart keeps its open run;
 * one recorded as started and found gone when jobd comes back ends as
 * "unknown" (ended while jobd was down).
 *
 * On disk: STATE_DIR/history/<job>.jsonl, one JSON object per line,
 * appended with one write() (no fsync: history is best effort, the
 * registry's durability rules do not apply). A run writes a line when it
 * starts and a full line when it ends; the last line of a run number wins.
 * The file is rewritten with the kept runs (a temporary file renamed over
 * it) once it holds more than twice the kept runs' lines. A file that
 * cannot be read whole is moved aside as <job>.jsonl.corrupt after what
 * could be read is taken; it never stops jobd from starting (files are read
 * the first time a job's history is needed, not at start-up). A failing
 * write (a full disk) is logged once until a write succeeds again; the
 * next write after a failure rewrites the whole file.
 *
 * The history of a job is kept in memory once read: at most history-size
 * runs (JOBD_HISTORY_SIZE_DEFAULT).
 */
#pragma once

#include <glib.h>

#include "jobd-job.h"

G_BEGIN_DECLS

/* JOBD_HISTORY_SIZE_DEFAULT, _MAX: jobd-settings.h (history-size). */

/* How a run ended (JobdRunRecord.result). */
#define JOBD_RUN_RESULT_EXIT_CODE "exit-code"
#define JOBD_RUN_RESULT_SIGNAL "signal"
#define JOBD_RUN_RESULT_UNKNOWN "unknown"          /* ended while jobd was down */
#define JOBD_RUN_RESULT_SPAWN_ERROR "spawn-error"  /* never ran */

/* Why jobd stopped it (JobdRunRecord.stop_cause); NULL: it ended by itself
 * (or by a signal someone sent with Kill). */
#define JOBD_STOP_CAUSE_REQUEST "stop-request"
#define JOBD_STOP_CAUSE_RUNTIME_MAX "runtime-max"

/* Where peak_memory comes from (JobdRunRecord.peak_memory_source):
 * JOBD_PEAK_SOURCE_* in jobd-process.h. */

typedef struct _JobdHistory JobdHistory;

typedef struct {
  guint64 run;            /* run number, 1.. per job */
  gint64 start_usec;      /* wall clock, µs since the epoch */
  char *reason;           /* JOBD_REASON_* */
  guint uid;              /* JOBD_UID_NONE when none */
  char *trigger;          /* a schedule id, a path, ...; NULL = none */
  gint64 end_usec;        /* 0 while running; for "unknown": when jobd was back */
  char *result;           /* JOBD_RUN_RESULT_*; NULL while running */
  int exit_code;          /* -1 when none */
  int exit_signal;        /* 0 when none */
  char *stop_cause;       /* JOBD_STOP_CAUSE_*; NULL = not stopped by jobd */
  gboolean killed;        /* the stop timeout ran out: SIGKILL */
  char *error;            /* spawn-error: why; else NULL */
  guint64 peak_memory;    /* bytes; 0 = unknown */
  char *peak_memory_source; /* JOBD_PEAK_SOURCE_*; NULL when unknown */
  guint64 stdout_lines;
  guint64 stderr_lines;
} JobdRunRecord;

void jobd_run_record_free (JobdRunRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdRunRecord, jobd_run_record_free)
/* a{sv} as GetHistory returns it (floating). */
GVariant *jobd_run_record_to_variant (const JobdRunRecord *record);

/* How a run ended, as the job reports it. */
typedef struct {
  gint64 end_usec;
  const char *result;     /* JOBD_RUN_RESULT_* */
  int exit_code;
  int exit_signal;
  const char *stop_cause;
  gboolean killed;
  const char *error;
  guint64 peak_memory;
  const char *peak_memory_source;
  guint64 stdout_lines;
  guint64 stderr_lines;
} JobdRunEnd;

JobdHistory *jobd_history_new (const char *state_dir);
void jobd_history_free (JobdHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdHistory, jobd_history_free)

/* A run starts; runs that are still open are ended "unknown" first. keep
 * is the job's history-size. Returns the run number. */
guint64 jobd_history_run_started (JobdHistory *history,
                                  const char *job,
                                  guint keep,
                                  const JobdRunCause *cause,
                                  gint64 start_usec);
/* The open run ends (nothing when none is open). */
void jobd_history_run_ended (JobdHistory *history,
                             const char *job,
                             guint keep,
                             const JobdRunEnd *end);
/* A start that never ran: a run that starts and ends at once. */
void jobd_history_run_failed (JobdHistory *history,
                              const char *job,
                              guint keep,
                              const JobdRunCause *cause,
                              const char *error);
/* The job has no process: an open run ended while jobd was down. */
void jobd_history_runs_lost (JobdHistory *history, const char *job, guint keep);
/* The job's history-size (its settings changed): what is answered and
 * kept from now on. The file follows at its next write. */
void jobd_history_set_size (JobdHistory *history, const char *job, guint keep);
/* Whether a job's process runs now. Once set (the manager does, when it
 * has taken back what still runs), a history file read later whose last
 * run is still open while its job has no process ends that run "unknown":
 * a run the registry never heard of (jobd killed between the two writes). */
typedef gboolean (*JobdHistoryRunningFunc) (const char *job, gpointer user_data);
void jobd_history_set_running_func (JobdHistory *history,
                                    JobdHistoryRunningFunc func,
                                    gpointer user_data);
/* Forget the job: memory and files. */
void jobd_history_remove_job (JobdHistory *history, const char *job);

/* Newest first, at most max (0 = all kept); element free func set. */
GPtrArray *jobd_history_list (JobdHistory *history, const char *job, guint max);

/* For tests: write failures logged since start. */
guint jobd_history_get_write_errors_logged (JobdHistory *history);

G_END_DECLS
