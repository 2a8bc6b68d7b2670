/* SPDX-License-Identifier: MIT */
/* jobd-timers.h — the one timer engine behind every schedule.
 *
 * Each job's enabled schedules (jobd-schedule.h) sit in one sequence ordered
 * by their next fire; one timerfd on CLOCK_REALTIME with
 * TFD_TIMER_CANCEL_ON_SET is armed for the earliest. Nothing due: no
 * wakeup, however many schedules. A clock step wakes the timer to
 * recompute: a fire skipped over by a step forward fires once; a step back
 * over a fire that happened does not fire it again (the next fire is never
 * before the last). A change of time zone recomputes every next fire.
 *
 * Every schedule keeps the due times of its last fires (newest first, at
 * most JOBD_TIMERS_LOG_MAX) in STATE_DIR/timers.json, written after fires
 * on an idle and when the engine is freed: `persistent` schedules use the
 * last one to catch up after downtime, the legacy protocol shows them.
 *
 * The clock and the action are replaceable, so unit tests drive the
 * engine with fixed times and no manager or main loop.
 */
#pragma once

#include <glib.h>

#include "jobd-schedule.h"

G_BEGIN_DECLS

#define JOBD_TIMERS_LOG_MAX 50
/* A legacy condition's fire this late (suspend) is skipped, as cron would. */
#define JOBD_TIMERS_LEGACY_GRACE_USEC (60 * G_USEC_PER_SEC)

typedef struct _JobdTimers JobdTimers;

/* The wall clock in µs since the epoch. */
typedef gint64 (*JobdTimersClock) (gpointer user_data);
/* A schedule fired (due_usec: the time it was due, before any random delay). */
typedef void (*JobdTimersFire) (const char *job, const char *id, gint64 due_usec,
                                gpointer user_data);

typedef struct {
  char *job;
  char *id;
  char *spec;
  gboolean enabled;
  gint64 next_usec;    /* with the random delay drawn for it; -1: none */
  gint64 last_usec;    /* due time of the last fire; -1: never */
} JobdTimerInfo;

void jobd_timer_info_free (JobdTimerInfo *info);

/* state_path NULL: nothing persisted. tz NULL: the system's, re-read on
 * jobd_timers_set_time_zone (NULL). */
JobdTimers *jobd_timers_new (const char *state_path, GTimeZone *tz);
void jobd_timers_free (JobdTimers *timers);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdTimers, jobd_timers_free)

void jobd_timers_set_clock (JobdTimers *timers, JobdTimersClock clock, gpointer user_data);
void jobd_timers_set_fire_func (JobdTimers *timers, JobdTimersFire fire, gpointer user_data);
/* NULL: the system's zone, read again now (/etc/localtime changed). */
void jobd_timers_set_time_zone (JobdTimers *timers, GTimeZone *tz);
GTimeZone *jobd_timers_get_time_zone (JobdTimers *timers);

/* Arm the timerfd in the main loop (jobd; unit tests call run_due). */
gboolean jobd_timers_start (JobdTimers *timers, GError **error);

/* The job's schedules are now `entries` (NULL: none). Unchanged entries
 * (same id, spec and enabled) keep their next fire; a schedule seen for the
 * first time since jobd started picks up its persisted fire log, and when
 * persistent and a fire fell into the downtime, fires once now. */
void jobd_timers_set_job (JobdTimers *timers, const char *job, const GPtrArray *entries,
                          gboolean persistent, guint randomized_delay_ms);
/* A pending fire of a removed job does nothing. */
void jobd_timers_remove_job (JobdTimers *timers, const char *job);

/* Fire every schedule due at the clock's now; returns how many fired. */
guint jobd_timers_run_due (JobdTimers *timers);
/* Recompute every next fire from the clock's now (clock or zone change). */
void jobd_timers_recompute (JobdTimers *timers);
/* The earliest next fire, -1 for none (what the timerfd is armed for). */
gint64 jobd_timers_get_next_wakeup (JobdTimers *timers);
/* The job's earliest next fire, -1 for none. */
gint64 jobd_timers_get_job_next (JobdTimers *timers, const char *job);
/* Every schedule (job NULL) or the job's, sorted by job then id. */
GPtrArray *jobd_timers_list (JobdTimers *timers, const char *job);
/* Due times of the last fires, newest first (µs); NULL: no such schedule. */
GArray *jobd_timers_get_log (JobdTimers *timers, const char *job, const char *id);
/* Replace a schedule's log (migration of an old fire log); kept for an id
 * not registered yet. */
void jobd_timers_set_log (JobdTimers *timers, const char *job, const char *id,
                          GArray *times_usec);
/* Write the fire logs now (also done on an idle after fires). */
gboolean jobd_timers_save (JobdTimers *timers, GError **error);

G_END_DECLS
