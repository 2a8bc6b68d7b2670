/* SPDX-License-Identifier: MIT */
/* jobd-memory-restart.h — restart a job whose memory passes its
 * memory-restart setting (reason "memory").
 *
 * Follows every job: while one with memory-restart runs (starting or up,
 * with a process), it is watched, and let go when it stops.
 *
 * Event-driven where the kernel allows it: the job's limits carry
 * memory-restart as memory.high (MemoryHigh= of a scope; the direct
 * backend's own v2 cgroup), and the process reports the cgroup's growing
 * memory.events "high" count (jobd_process_watch_memory_high()); no timer.
 * Elsewhere (no cgroup of the job's own, cgroup v1) the jobs that set it,
 * and only those, are measured together on one timer every
 * MemoryRestartInterval= (jobd.conf), one /proc scan for all of them.
 *
 * memory.high also makes the kernel reclaim and throttle the job above
 * SIZE: between the event and the end of its stop the job runs slowly,
 * which is the point (it does not grow to memory-max meanwhile).
 */
#pragma once

#include "jobd-manager.h"

G_BEGIN_DECLS

typedef struct _JobdMemoryRestart JobdMemoryRestart;

/* manager is not owned; free before it. */
JobdMemoryRestart *jobd_memory_restart_new (JobdManager *manager);
void jobd_memory_restart_free (JobdMemoryRestart *self);
/* Jobs measured on the timer now (for tests and the bench's figures). */
guint jobd_memory_restart_sampled_jobs (JobdMemoryRestart *self);

G_END_DECLS
