/* SPDX-License-Identifier: MIT */
/* jobd-deps-run.h — what the manager does with the graph (jobd-deps.h):
 * starting a job after what it requires, stopping what requires a job.
 * Private to the manager. */
#pragma once

#include "jobd-manager.h"

G_BEGIN_DECLS

/* The edges of a job of the manager (a JobdDepsGetFunc; user_data the manager). */
gboolean jobd_deps_run_get (const char *name,
                            const char * const **requires,
                            const char * const **after,
                            gpointer manager);

/* Start target: first, in order, what it requires (transitively) and is
 * not running, each with reason dependency and the job that requires it as
 * trigger, waiting for each edge's condition; jobs it is ordered after that
 * are starting are waited for. Every job it would start must be one the
 * caller (cause's uid, or the target's owner when jobd decides) may
 * start. Completes with the target's jobd_job_start_finish(). */
void jobd_deps_run_start_async (JobdManager *manager,
                                JobdJob *target,
                                const JobdRunCause *cause,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean jobd_deps_run_start_finish (GAsyncResult *result, GError **error);

/* The jobs to stop before name (those that require it, transitively,
 * furthest first), active ones only. */
GPtrArray *jobd_deps_run_active_dependents (JobdManager *manager, const char *name);

G_END_DECLS
