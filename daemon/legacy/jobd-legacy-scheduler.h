/* SPDX-License-Identifier: MIT */
/* jobd-legacy-scheduler.h — the legacy "scheduler" plugin.
 *
 * Schedules start jobs at times given by conditions (jobd-legacy-condition.h).
 * Each job may have several, each named by a UUID; they and their fire logs
 * (the last 50 firing times, newest first) live in
 * STATE_DIR/plugins/scheduler.json, written atomically on every change:
 *   {"job": {"uuid": {"enable": b, "condition": {...}, "log": [t, ...]}}}
 *
 * Event-driven: the next firing time of every enabled schedule is computed
 * in advance and one timerfd is armed for the earliest, on CLOCK_REALTIME
 * with TFD_TIMER_CANCEL_ON_SET so a wall-clock change wakes it up to
 * recompute. With nothing scheduled it never wakes. Local time is
 * [Daemon] TimeZone= (default: the system's).
 *
 * The clock and the firing action can be replaced, so the unit tests drive
 * it with fixed times and no manager.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jobd-legacy-condition.h"
#include "jobd-legacy-context.h"
#include "jobd-manager.h"

G_BEGIN_DECLS

#define JOBD_LEGACY_SCHEDULER_LOG_MAX 50


/* The current time in Unix seconds. */
typedef gint64 (*JobdLegacyClockFunc) (gpointer user_data);
/* Start the job (the default starts it through the manager). */
typedef void (*JobdLegacyFireFunc) (const char *jobname,
                                    const char *uuid,
                                    gpointer user_data);

/* manager may be NULL (tests: then nothing checks that jobs exist and a
 * fire func must be set). tz NULL means the system's local time zone. */
JobdLegacyScheduler *jobd_legacy_scheduler_new (JobdManager *manager,
                                                const char *state_dir,
                                                GTimeZone *tz,
                                                GError **error);
void jobd_legacy_scheduler_free (JobdLegacyScheduler *scheduler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyScheduler, jobd_legacy_scheduler_free)

/* The time zone for [Daemon] TimeZone= (NULL or "" = local). */
GTimeZone *jobd_legacy_time_zone_new (const char *identifier, GError **error);

void jobd_legacy_scheduler_set_clock (JobdLegacyScheduler *scheduler,
                                      JobdLegacyClockFunc clock,
                                      gpointer user_data);
void jobd_legacy_scheduler_set_fire_func (JobdLegacyScheduler *scheduler,
                                          JobdLegacyFireFunc fire,
                                          gpointer user_data);

/* Arm the timer in the main loop (jobd itself; tests call run_due). */
gboolean jobd_legacy_scheduler_start (JobdLegacyScheduler *scheduler, GError **error);
/* Fire every schedule due at the clock's now; returns how many fired. A
 * firing more than a minute late (suspend) is skipped, as cron would. */
guint jobd_legacy_scheduler_run_due (JobdLegacyScheduler *scheduler);
/* Recompute every next firing time from the clock's now (clock change). */
void jobd_legacy_scheduler_recompute (JobdLegacyScheduler *scheduler);
/* The earliest next firing of an enabled schedule, -1 for none. */
gint64 jobd_legacy_scheduler_get_next_wakeup (JobdLegacyScheduler *scheduler);

/* The plugin's operations (JOBD_ERROR_* on failure). add returns the new
 * UUID; uuid may be given (migration) or NULL for a random one. */
char *jobd_legacy_scheduler_add (JobdLegacyScheduler *scheduler,
                                 const char *jobname,
                                 const char *uuid,
                                 gboolean enable,
                                 JsonObject *condition,
                                 GError **error);
/* enable NULL and/or condition NULL leave that part alone. */
gboolean jobd_legacy_scheduler_update (JobdLegacyScheduler *scheduler,
                                       const char *jobname,
                                       const char *uuid,
                                       const gboolean *enable,
                                       JsonObject *condition,
                                       GError **error);
gboolean jobd_legacy_scheduler_delete (JobdLegacyScheduler *scheduler,
                                       const char *jobname,
                                       const char *uuid,
                                       GError **error);
/* {"enable": b, "condition": {...}} */
JsonNode *jobd_legacy_scheduler_get (JobdLegacyScheduler *scheduler,
                                     const char *jobname,
                                     const char *uuid,
                                     GError **error);
/* jobname → uuid → schedule */
JsonNode *jobd_legacy_scheduler_get_all (JobdLegacyScheduler *scheduler);
/* Firing times, newest first. */
JsonNode *jobd_legacy_scheduler_get_log (JobdLegacyScheduler *scheduler,
                                         const char *jobname,
                                         const char *uuid,
                                         GError **error);

/* Migration: an old data/plugins/scheduler/config.json object (jobname →
 * uuid → schedule, UUIDs kept) and its log folder (<jobname>/<uuid>.log,
 * JSON arrays of times; may be NULL). Existing UUIDs are replaced only when
 * force. Reports every schedule imported or skipped. */
gboolean jobd_legacy_scheduler_import (JobdLegacyScheduler *scheduler,
                                       JsonObject *old_config,
                                       const char *old_log_dir,
                                       gboolean force,
                                       GString *report,
                                       GError **error);

const JobdLegacyCommand *jobd_legacy_scheduler_commands (void);

G_END_DECLS
