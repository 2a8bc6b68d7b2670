/* SPDX-License-Identifier: MIT */
/* jobd-schedule.h — one schedule of a job: its entry in the settings and
 * what its spec means.
 *
 * A spec is one of:
 *   - a calendar expression (systemd.time(7) OnCalendar=, jobd-calendar.h);
 *   - "every DURATION": every DURATION from the previous fire (1s at least);
 *   - "legacy:" + the legacy scheduler's condition as JSON
 *     (jobd-legacy-condition.h), which keeps its field and firing rules.
 * Pure functions: the time zone and the times are parameters.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobd-calendar.h"
#include "jobd-legacy-condition.h"

G_BEGIN_DECLS

#define JOBD_SCHEDULE_LEGACY_PREFIX "legacy:"
#define JOBD_SCHEDULE_EVERY_PREFIX "every "
/* A job's schedules, and all of them in one jobd. */
#define JOBD_SCHEDULES_PER_JOB_MAX 64

/* The entry in a job's settings ("schedules", aa{sv}). */
typedef struct {
  char *id;        /* a UUID (legacy UUIDs kept as they were) */
  char *spec;
  gboolean enabled;
} JobdScheduleEntry;

JobdScheduleEntry *jobd_schedule_entry_new (const char *id, const char *spec, gboolean enabled);
JobdScheduleEntry *jobd_schedule_entry_copy (const JobdScheduleEntry *entry);
void jobd_schedule_entry_free (JobdScheduleEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdScheduleEntry, jobd_schedule_entry_free)
/* Copies an array of entries (NULL stays NULL). */
GPtrArray *jobd_schedule_entries_copy (const GPtrArray *entries);
/* An id jobd accepts: 1..64 hex digits and dashes (UUIDs, old legacy ids). */
gboolean jobd_schedule_id_is_valid (const char *id);

typedef enum {
  JOBD_SPEC_CALENDAR,
  JOBD_SPEC_EVERY,
  JOBD_SPEC_LEGACY,
} JobdSpecKind;

typedef struct {
  JobdSpecKind kind;
  JobdCalendar *calendar;           /* CALENDAR */
  gint64 interval_usec;             /* EVERY */
  JobdLegacyCondition condition;    /* LEGACY */
  JsonObject *condition_json;       /* LEGACY, as written */
} JobdSpec;

/* JOBD_ERROR_INVALID_ARGS naming the bad part; a spec that can never fire
 * (after `now_usec`) is an error too. */
JobdSpec *jobd_spec_parse (const char *text, gint64 now_usec, GError **error);
void jobd_spec_free (JobdSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdSpec, jobd_spec_free)

/* The first fire strictly after after_usec; last_usec is the previous fire
 * (-1: none; "every" counts from it, legacy conditions fire once per
 * period). -1 when it never fires again. */
gint64 jobd_spec_next (const JobdSpec *spec, gint64 after_usec, gint64 last_usec,
                       GTimeZone *tz);

/* "legacy:" + the condition's JSON. */
char *jobd_spec_from_legacy_condition (JsonObject *condition);

G_END_DECLS
