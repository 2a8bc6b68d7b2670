/* SPDX-License-Identifier: MIT */
/* jobd-health.h — the liveness probe of a running job (the `health`
 * setting): while the job is up, a jobd-probe.h probe every
 * health-interval-ms, each given health-timeout-ms; after health-failures
 * failures in a row the job is restarted gracefully, reason "health"
 * (jobd_job_restart_for()). A success resets the count.
 *
 * Only while the job is up: a starting job is readiness's business (its
 * own probe, its ready-timeout), and a stopping one is going anyway. The
 * first probe comes one interval after the job is up, the next one
 * interval after the last one ended, so at most one probe of a job is ever
 * under way however slow it is. Leaving "up" (a stop, an exit, the
 * restart itself) cancels the probe under way and kills an exec probe.
 * A change of the health settings while the job is up applies at once
 * (with a new count), as runtime-max-ms and the limits do.
 */
#pragma once

#include <glib.h>

#include "jobd-job.h"

G_BEGIN_DECLS

/* Watch job's health from now on (the manager calls it for every job it
 * creates); the watcher goes when the job is disposed. */
void jobd_health_attach (JobdJob *job);

/* The health-* runtime keys (GetRuntime): health-status (unknown, passing,
 * failing), health-failures-in-row, health-last-result, health-last-at (µs
 * since the epoch, 0 = never). Nothing for a job without a health probe. */
void jobd_health_add_runtime (JobdJob *job, GVariantDict *runtime);

G_END_DECLS
