/* SPDX-License-Identifier: MIT */
/* jobd-scheduled-start.h — what a schedule's fire does to its job.
 *
 * Keeps the timer engine in step with the jobs' settings (added, changed,
 * removed) and, when a schedule fires: starts the job when it is down;
 * when it still runs, applies the job's overlap policy (skip; restart;
 * queue: start it once the current run ends). Every such start carries
 * the cause {schedule, no uid, the schedule's id}.
 */
#pragma once

#include "jobd-manager.h"
#include "jobd-timers.h"

G_BEGIN_DECLS

typedef struct _JobdScheduledStart JobdScheduledStart;

/* Neither is owned; free before the manager. */
JobdScheduledStart *jobd_scheduled_start_new (JobdManager *manager, JobdTimers *timers);
void jobd_scheduled_start_free (JobdScheduledStart *self);

G_END_DECLS
