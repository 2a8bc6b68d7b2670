/* SPDX-License-Identifier: MIT */
/* jobd-calendar.h — calendar expressions in the syntax of systemd.time(7)
 * OnCalendar=, parsed, normalized and stepped through time.
 *
 * Users write the expressions they know from systemd timers, so the engine
 * follows systemd's own semantics, down to what happens in skipped and
 * repeated hours at DST changes (tests/unit/calendar-oracle.py checks it
 * against `systemd-analyze calendar`). Pure code: no main loop; the only
 * files read are time zone files, through GTimeZone.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JobdCalendar JobdCalendar;

/* NULL + JOBD_ERROR_INVALID_ARGS whose message quotes the bad part. */
JobdCalendar *jobd_calendar_parse (const char *text, GError **error);
void jobd_calendar_free (JobdCalendar *calendar);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdCalendar, jobd_calendar_free)

/* First elapse strictly after `after_usec` (µs since the epoch). Local time is the
 * expression's own zone when it names one, else `tz` (NULL = the system's).
 * -1 when it never elapses again. */
gint64 jobd_calendar_next (const JobdCalendar *calendar, gint64 after_usec, GTimeZone *tz);

/* The normalized form, as `systemd-analyze calendar` prints it. */
char *jobd_calendar_to_string (const JobdCalendar *calendar);

G_END_DECLS
