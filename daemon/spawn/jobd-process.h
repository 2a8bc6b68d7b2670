/* SPDX-License-Identifier: MIT */
/* jobd-process.h — one running instance of a job, whatever started it.
 *
 * A JobdProcess is what a spawner hands back: the main PID, watched through
 * a pidfd (no polling), the read ends of its output, and the backend's way to
 * signal every process of the job and to measure its memory. Subclasses:
 * JobdDirectProcess (process group, /proc), the systemd scope process (scope
 * unit, cgroup).
 *
 * "exited" is emitted once, from the main loop, when the main process ends:
 * with the exit code or the terminating signal (both -1 when unknown, as
 * for a re-adopted process that is not jobd's child).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define JOBD_TYPE_PROCESS (jobd_process_get_type ())
G_DECLARE_DERIVABLE_TYPE (JobdProcess, jobd_process, JOBD, PROCESS, GObject)

typedef struct _JobdMemorySnapshot JobdMemorySnapshot;

/* The resource limits of a job (0 = none), as a backend enforces them. */
typedef struct {
  guint64 memory_max;   /* bytes */
  guint cpu_quota;      /* percent of one CPU */
  guint64 tasks_max;
  /* memory.high: above it the kernel reclaims and throttles the job, and
   * tells jobd (jobd_process_watch_memory_high()); the job's memory-restart. */
  guint64 memory_high;  /* bytes */
} JobdLimits;

struct _JobdProcessClass {
  GObjectClass parent_class;

  /* Send signo to every process of the job (whole group / scope). */
  gboolean (*kill_all) (JobdProcess *process, int signo, GError **error);
  /* Resident memory of the job in bytes; *source names where it came from.
   * snapshot may be NULL (then the process measures on its own). */
  gboolean (*get_memory) (JobdProcess *process,
                          JobdMemorySnapshot *snapshot,
                          guint64 *bytes,
                          const char **source,
                          GError **error);
  /* Optional: the kernel's peak memory of the whole job (its cgroup's
   * memory.peak); FALSE when the backend has none. Read while the job
   * runs and once more when the main process has exited, before cleanup. */
  gboolean (*get_peak_memory) (JobdProcess *process,
                               guint64 *bytes,
                               const char **source);
  /* Called after the main process exited: remove what is left of the job
   * (e.g. SIGKILL the rest of the process group). */
  void (*cleanup) (JobdProcess *process);
  /* Add what the backend needs to take the job back to its record. */
  void (*save_record) (JobdProcess *process, JsonObject *record);
  /* Apply changed limits to the running job at once (optional: a backend
   * without it applies limits from the next start only). */
  void (*set_limits_async) (JobdProcess *process,
                            const JobdLimits *limits,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
  gboolean (*set_limits_finish) (JobdProcess *process,
                                 GAsyncResult *result,
                                 GError **error);
  /* pid is one of the job's processes by the backend's own rule (the
   * direct backend's containment); optional. */
  gboolean (*owns_pid) (JobdProcess *process, GPid pid);
  /* Optional: CPU time (user + system) the whole job used, cumulative, in
   * µs (jobd-cpu.h); *source names where it came from. snapshot as for
   * get_memory. Without it: the main process and its waited-for children. */
  gboolean (*get_cpu_usage) (JobdProcess *process,
                             JobdMemorySnapshot *snapshot,
                             guint64 *usec,
                             const char **source,
                             GError **error);
  /* Optional: the memory.events file of the job's v2 cgroup when it has
   * the memory controller (so memory.high applies and is notified); NULL
   * when the kernel cannot tell jobd. */
  char *(*memory_events_path) (JobdProcess *process);
};

/* pidfd: owned by the process from now on. is_child: jobd may waitid() it. */
void jobd_process_setup (JobdProcess *process, GPid pid, int pidfd, gboolean is_child);

GPid jobd_process_get_pid (JobdProcess *process);
const char *jobd_process_get_unit (JobdProcess *process);   /* NULL for direct */
/* The job it runs, for log lines (JOBD_JOB=); NULL until its output is set. */
const char *jobd_process_get_job_name (JobdProcess *process);
void jobd_process_set_unit (JobdProcess *process, const char *unit);
gboolean jobd_process_has_exited (JobdProcess *process);
/* jobd started it (it is jobd's child and jobd reaps it). */
gboolean jobd_process_is_child (JobdProcess *process);
/* pid is the main process of a JobdProcess that reaps it itself. */
gboolean jobd_process_is_watched_child (GPid pid);
/* The exit "exited" reported, for a caller that connected too late (the
 * spawner's result and the pidfd wake-up can arrive in one main-loop
 * iteration, the exit first); FALSE while the process runs. */
gboolean jobd_process_get_exit_status (JobdProcess *process, int *code, int *signo);

/* pid belongs to the job: its main process, a descendant of it, a process
 * of its scope's cgroup (a process with a unit), or one the backend counts
 * as the job's (owns_pid). Used to check who sent a notify message. */
gboolean jobd_process_owns_pid (JobdProcess *process, GPid pid);

/* Signal only the main process. */
gboolean jobd_process_kill_main (JobdProcess *process, int signo, GError **error);
gboolean jobd_process_kill_all (JobdProcess *process, int signo, GError **error);
gboolean jobd_process_get_memory (JobdProcess *process,
                                  JobdMemorySnapshot *snapshot,
                                  guint64 *bytes,
                                  const char **source,
                                  GError **error);
void jobd_process_cleanup (JobdProcess *process);
gboolean jobd_process_get_cpu_usage (JobdProcess *process,
                                     JobdMemorySnapshot *snapshot,
                                     guint64 *usec,
                                     const char **source,
                                     GError **error);

/* Where a peak memory figure comes from (see jobd-history.h). */
#define JOBD_PEAK_SOURCE_MEMORY_PEAK "memory.peak"               /* cgroup v2 */
#define JOBD_PEAK_SOURCE_MAX_USAGE "memory.max_usage_in_bytes"   /* cgroup v1 */
#define JOBD_PEAK_SOURCE_RUSAGE "rusage"     /* max RSS of the reaped main process */
#define JOBD_PEAK_SOURCE_SAMPLED "sampled"   /* highest reading jobd took */
/* The kernel's peak memory of the job: the backend's (the cgroup's
 * memory.peak) while it runs; after the exit the figure read at the exit,
 * or for jobd's own child the max RSS waitid() reported (the main process
 * and the children it reaped; not children that left it). FALSE when none. */
gboolean jobd_process_get_peak_memory (JobdProcess *process,
                                       guint64 *bytes,
                                       const char **source);

/* Output file descriptors handed over by the spawner (-1 when none); the
 * caller takes them with steal. Taking one also asks systemd to keep a
 * copy in jobd's fd store (under job_name's FIFO name, jobd-fifo.h), so a
 * jobd that dies, even by SIGKILL, gets it back; forget_output drops
 * those copies once the job's output is over (the process exited). */
void jobd_process_set_output_fds (JobdProcess *process,
                                  const char *job_name,
                                  int out_fd,
                                  int err_fd);
int jobd_process_steal_stdout (JobdProcess *process);
int jobd_process_steal_stderr (JobdProcess *process);
void jobd_process_forget_output (JobdProcess *process);

/* Whether this backend applies changed limits to a running job. */
gboolean jobd_process_can_set_limits (JobdProcess *process);
void jobd_process_set_limits_async (JobdProcess *process,
                                    const JobdLimits *limits,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean jobd_process_set_limits_finish (JobdProcess *process,
                                         GAsyncResult *result,
                                         GError **error);

/* Be told when the job's cgroup passes its memory.high (JobdLimits):
 * the signal "memory-high" (guint64 count, gboolean lost) comes with the
 * kernel's growing "high" count, or once with lost = TRUE when the cgroup
 * went away. FALSE when the backend cannot tell (no own v2 cgroup with
 * the memory controller): then the caller has to measure. */
gboolean jobd_process_watch_memory_high (JobdProcess *process, GError **error);
void jobd_process_unwatch_memory_high (JobdProcess *process);

/* What re-adopting this process after a jobd restart needs:
 * {"pid": N, "start-ticks": T, "unit": "…"}; and reading it back. */
void jobd_process_save_record (JobdProcess *process, JsonObject *record);
gboolean jobd_process_record_get (JsonObject *record,
                                  GPid *pid,
                                  guint64 *start_ticks,
                                  const char **unit);

/* pidfd_open(2), and the start time of a PID; helpers shared by backends. */
int jobd_pidfd_open (GPid pid, GError **error);
gboolean jobd_proc_start_ticks (GPid pid, guint64 *ticks, GError **error);
/* A pidfd for pid if it is still the process that started at start_ticks;
 * NOT_RUNNING error when it is gone or another process now. */
int jobd_pidfd_open_verified (GPid pid, guint64 start_ticks, GError **error);

G_END_DECLS
