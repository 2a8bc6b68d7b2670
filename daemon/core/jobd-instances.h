/* SPDX-License-Identifier: MIT */
/* jobd-instances.h — the N copies of a job whose `instances` is above 1.
 *
 * Each instance I (1..N) is an internal JobdJob of its own, "NAME@I" in
 * the log, with its own process (spawned as "NAME#I": its FIFOs, its
 * containment, its scope jobd-NAME@I.scope), its own restart counter and
 * backoff, JOBD_INSTANCE=I in its environment, and no run history of its
 * own. Its output lines go to the job's output with a "[I] " prefix.
 *
 * The job that owns the set (jobd-job.c) stays the one job every API sees:
 * its state is the set's (up when all are up, starting while any starts,
 * stopping, down or failed once none runs), its verbs act on every
 * instance. A job of one instance never has a set: today's code path.
 */
#pragma once

#include "jobd-job.h"

G_BEGIN_DECLS

typedef struct _JobdInstances JobdInstances;

/* parent owns the set; context is the parent's (must outlive the set). */
JobdInstances *jobd_instances_new (JobdJob *parent, const JobdJobContext *context);
void jobd_instances_free (JobdInstances *set);

/* Start n instances (creating or dropping idle ones to make n). */
void jobd_instances_start (JobdInstances *set, guint n, const JobdRunCause *cause);
/* Stop signal to every instance; FALSE when none was running. */
gboolean jobd_instances_stop (JobdInstances *set);
/* New settings for every instance; running: scale to settings->instances
 * now (new instances start, the highest ones stop gracefully). */
void jobd_instances_apply_settings (JobdInstances *set,
                                    const JobdSettings *settings,
                                    gboolean running);

JobdState jobd_instances_get_state (JobdInstances *set);
/* TRUE while an instance is starting (a start is not settled yet). */
gboolean jobd_instances_any_starting (JobdInstances *set);
guint jobd_instances_count (JobdInstances *set);
guint jobd_instances_count_up (JobdInstances *set);
/* The lowest instance with a process, NULL when none runs. */
JobdJob *jobd_instances_first_running (JobdInstances *set);
/* The first instance's last error (a failed start says why). */
const char *jobd_instances_last_error (JobdInstances *set);
guint jobd_instances_get_restarts (JobdInstances *set);

gboolean jobd_instances_restart_for (JobdInstances *set, const char *reason,
                                     const char *trigger, const char *message);
gboolean jobd_instances_reload (JobdInstances *set, GError **error);
gboolean jobd_instances_kill (JobdInstances *set, int signo, GError **error);
/* The sum over the instances that run; FALSE when none does. */
/* CPU time of every instance's current run, summed (µs). */
guint64 jobd_instances_get_cpu_usage (JobdInstances *set, JobdMemorySnapshot *snapshot);
gboolean jobd_instances_get_memory (JobdInstances *set, JobdMemorySnapshot *snapshot,
                                    guint64 *bytes, const char **source);

/* "instances-up" (u) and "instances" (aa{sv}: instance, state, pid, memory,
 * restarts, unit) for the runtime a{sv}. */
void jobd_instances_add_runtime (JobdInstances *set, GVariantBuilder *builder);

/* {"instances": [instance records]}, NULL when no instance has one. */
JsonObject *jobd_instances_save_record (JobdInstances *set);
/* Take back the recorded instances that still run (after a jobd restart);
 * done (set, adopted, user_data) tells how many were. Instances of a
 * wanted-up job that are gone are started again. */
typedef void (*JobdInstancesAdopted) (JobdJob *parent, guint adopted, gpointer user_data);
void jobd_instances_adopt (JobdInstances *set, JsonObject *record, gboolean wanted_up,
                           JobdInstancesAdopted done, gpointer user_data);

/* Implemented by jobd-job.c, for the set only. */
void jobd_job_instance_changed (JobdJob *parent, guint instance, GVariant *details);
void jobd_job_set_instance (JobdJob *job, guint instance, const char *io_name);

G_END_DECLS
