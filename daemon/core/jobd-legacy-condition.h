/* SPDX-License-Identifier: MIT */
/* jobd-legacy-condition.h — the legacy scheduler's time conditions.
 *
 * A condition maps PHP date() letters to values: Y (year), m (month),
 * d (day of month, or "@t" for the last day), H (hour), i (minute),
 * N (ISO weekday, 1 = Monday), W (ISO week), z (day of the year from 0, as
 * PHP's date('z')) and U (an interval in seconds, a multiple of 60). Each
 * letter is compared with the local time as date() would print it, so
 * {"Y": "2027", "W": "53"} means calendar year 2027 during ISO week 53.
 *
 * Firing rule: without U a condition fires at the first matching minute of
 * each period of its finest field (minute, hour, day, week, month, year),
 * so {"H": "03", "i": "00"} fires daily at 03:00 and {"N": "1"} on Mondays
 * at 00:00. With U it fires every U seconds, counted from the start of the
 * period of the finest other field (from the Unix epoch when U is alone),
 * while the other fields match. Never twice in one period (without U) or
 * within U seconds (with U) of the previous firing, whatever the clock does.
 *
 * Pure functions of their arguments (time zone and "now" are parameters),
 * so everything here is unit-tested with fixed times.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  JOBD_COND_Y,
  JOBD_COND_m,
  JOBD_COND_d,
  JOBD_COND_H,
  JOBD_COND_i,
  JOBD_COND_N,
  JOBD_COND_W,
  JOBD_COND_z,
  JOBD_COND_U,
  JOBD_COND_N_FIELDS,
} JobdCondField;

/* d's value for "@t" (last day of the month). */
#define JOBD_COND_LAST_DAY (-1)

typedef struct {
  guint present;                  /* bit (1 << field) per given field */
  gint64 value[JOBD_COND_N_FIELDS];
} JobdLegacyCondition;

/* Parse and validate a condition object: known letters only, values as
 * strings of digits (or "@t" for d) or JSON integers, in range, an allowed
 * combination, U a multiple of 60 within the period of the finest other
 * field, and a date that exists (no 30 February, week 53 of a year that
 * has none). FALSE with JOBD_ERROR_INVALID_ARGS naming the problem. */
gboolean jobd_legacy_condition_parse (JsonObject *object,
                                      JobdLegacyCondition *condition,
                                      GError **error);

/* Same fields, same values ("03", "3" and 3 are one value). */
gboolean jobd_legacy_condition_equal (const JobdLegacyCondition *a,
                                      const JobdLegacyCondition *b);

/* Does every given field except U match the local time of unix_time? */
gboolean jobd_legacy_condition_matches (const JobdLegacyCondition *condition,
                                        GTimeZone *tz,
                                        gint64 unix_time);

/* The first time (Unix seconds) strictly after `after` at which the
 * condition fires, given that it last fired at last_fire (-1: never);
 * -1 when it never fires again. */
gint64 jobd_legacy_condition_next_fire (const JobdLegacyCondition *condition,
                                        GTimeZone *tz,
                                        gint64 after,
                                        gint64 last_fire);

G_END_DECLS
