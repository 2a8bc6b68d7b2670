/* SPDX-License-Identifier: MIT */
/* jobd-containment.h — what a direct-backend job is, so that stop, kill,
 * mem and "what is left when the main process exits" mean the same set of
 * processes, even for a job whose children call setsid().
 *
 * Two ways, chosen once at start-up:
 *   "cgroup"    each job gets a cgroup of its own on the cgroup v2 hierarchy
 *               (pure v2 at /sys/fs/cgroup, or the unified tree of a hybrid
 *               host), below jobd's own cgroup; no controller is needed:
 *               cgroup.procs lists the job, cgroup.kill ends it. A job with
 *               memory-max also gets a memory cgroup (v2 memory.max where the
 *               controller is delegated, else the v1 memory controller).
 *               Needs write access there: root, or a delegated subtree.
 *   "subreaper" jobd is a child subreaper (orphans of a job become jobd's
 *               children, and jobd reaps them) and every job process carries
 *               JOBD_JOB_TAG in its environment (set last, so a job's own
 *               settings cannot change it). The job is its main process, its
 *               session while the main process lives, every process with
 *               the tag, and their descendants. A process that clears its
 *               environment, leaves the session and is orphaned escapes.
 * "auto" takes cgroup when it works, else subreaper. The environment
 * variable JOBD_DIRECT_CONTAINMENT=auto|cgroup|subreaper forces one (for
 * testing; documented in README).
 *
 * A JobdContainment is one job's: created for a spawn (or from the record
 * of a job taken back after a jobd restart), saved into that record.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobd-memory.h"
#include "jobd-process.h"

G_BEGIN_DECLS

typedef enum {
  JOBD_CONTAIN_CGROUP,
  JOBD_CONTAIN_SUBREAPER,
} JobdContainMode;

/* Probe once (and for subreaper: become one, reap orphans). */
JobdContainMode jobd_containment_setup (void);
const char *jobd_containment_mode_name (JobdContainMode mode);

/* Names of the limits set in limits that a direct job would not get
 * enforced (NULL-terminated, possibly empty). */
char **jobd_containment_unenforced_limits (const JobdLimits *limits);

typedef struct _JobdContainment JobdContainment;

JobdContainment *jobd_containment_new (const char *job_name,
                                       const char *runtime_dir,
                                       const JobdLimits *limits,
                                       GError **error);
/* From a saved record; NULL when the record has no containment (a job
 * started by an older jobd: the process group rule applies). */
JobdContainment *jobd_containment_from_record (JsonObject *record);
void jobd_containment_free (JobdContainment *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdContainment, jobd_containment_free)

/* For the spawn: the tag to put in the environment (NULL in cgroup mode)
 * and the cgroup.procs descriptors the child writes itself into. */
const char *jobd_containment_get_tag (JobdContainment *c);
void jobd_containment_child_fds (JobdContainment *c, int fds[2]);
/* The spawn is over: close those descriptors. */
void jobd_containment_spawned (JobdContainment *c);

void jobd_containment_save_record (JobdContainment *c, JsonObject *record);

/* main_pid: the job's main process; main_alive: it has not exited (its
 * session and descendants count then). */
GArray *jobd_containment_pids (JobdContainment *c, GPid main_pid, gboolean main_alive);
gboolean jobd_containment_kill (JobdContainment *c,
                                GPid main_pid,
                                gboolean main_alive,
                                int signo,
                                GError **error);
/* Change the memory limit of a running job (0 = none): its v2 cgroup's
 * memory.max, or its v1 memory cgroup. NOT_SUPPORTED (JOBD_ERROR_INVALID_ARGS)
 * when the job has no memory cgroup of its own (it then applies from the
 * next start). */
gboolean jobd_containment_set_memory_max (JobdContainment *c, guint64 bytes, GError **error);
/* memory.high of its v2 cgroup (0 = max) where v2 has the memory
 * controller; nothing (TRUE) elsewhere. */
gboolean jobd_containment_set_memory_high (JobdContainment *c, guint64 bytes, GError **error);
/* The memory.events file of the job's cgroup when memory.high applies to
 * it, else NULL. */
char *jobd_containment_memory_events (JobdContainment *c);
/* snapshot (may be NULL): several jobs measured at once read /proc once. */
gboolean jobd_containment_memory (JobdContainment *c,
                                  GPid main_pid,
                                  gboolean main_alive,
                                  JobdMemorySnapshot *snapshot,
                                  guint64 *bytes,
                                  const char **source,
                                  GError **error);
/* CPU time of the job in µs (jobd-cpu.h): its cgroup's cpu.stat, else the
 * processes the job is made of (snapshot shares the process table). */
gboolean jobd_containment_cpu_usage (JobdContainment *c,
                                     GPid main_pid,
                                     gboolean main_alive,
                                     JobdMemorySnapshot *snapshot,
                                     guint64 *usec,
                                     const char **source);
/* The peak memory of the job's own cgroup (memory.peak, or the v1
 * memory cgroup's max usage) when it has one; FALSE otherwise. */
gboolean jobd_containment_peak_memory (JobdContainment *c,
                                       guint64 *bytes,
                                       const char **source);

G_END_DECLS
