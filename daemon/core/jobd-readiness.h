/* SPDX-License-Identifier: MIT */
/* jobd-readiness.h — waiting for a started job to be ready, for the
 * readinesses jobd has to look for itself: log:REGEX (a line of its
 * output), tcp:PORT (127.0.0.1:PORT accepts) and exec-probe:COMMAND (the
 * command exits 0). (notify is the job telling jobd: see jobd-notify.h;
 * exec needs no waiting.)
 *
 * Probes are retried with a backoff (JOBD_READINESS_INTERVAL_MIN_MS
 * doubling up to JOBD_READINESS_INTERVAL_MAX_MS), one at a time, each a
 * one-shot jobd-probe.h probe; an exec probe that runs longer than
 * JOBD_READINESS_PROBE_TIMEOUT_MS is killed and counts as a "not yet". The waiter only reports: what readiness means for the job's
 * state (and giving up: ready-timeout-ms) is the job's decision.
 */
#pragma once

#include <glib.h>

#include "jobd-child.h"
#include "jobd-output.h"
#include "jobd-ready.h"

G_BEGIN_DECLS

#define JOBD_READINESS_INTERVAL_MIN_MS 100u
#define JOBD_READINESS_INTERVAL_MAX_MS 1000u
#define JOBD_READINESS_PROBE_TIMEOUT_MS 10000u
#define JOBD_READINESS_TCP_TIMEOUT_MS 1000u

typedef struct _JobdReadiness JobdReadiness;

/* Called once, when the job is ready; it may free the waiter. */
typedef void (*JobdReadinessFunc) (gpointer user_data);

/* spec: log, tcp or exec-probe. output: the job's (log). probe_child: how
 * the job itself was started (user, groups, environment, directory), which
 * an exec probe copies, with its own argv and no output; job_pid: the
 * job's main process (an exec probe runs in its cgroup). */
JobdReadiness *jobd_readiness_new (const char *job_name,
                                   const JobdReadySpec *spec,
                                   JobdOutput *output,
                                   const JobdChildSpec *probe_child,
                                   GPid job_pid,
                                   JobdReadinessFunc func,
                                   gpointer user_data);
/* Stops watching; a probe still running is killed. */
void jobd_readiness_free (JobdReadiness *readiness);

G_END_DECLS
