/* SPDX-License-Identifier: MIT */
/* fuzz-calendar.c — libFuzzer target for the calendar expression parser and
 * its next-elapse search (daemon/core/jobd-calendar.c).
 *
 * The input is the text of an expression. Text that does not parse must be
 * refused with JOBD_ERROR_INVALID_ARGS and a message. What parses must:
 * - have a normalized form that parses again, to the same normalized form;
 * - from a few instants and zones (with DST changes, one of 30 minutes),
 *   give elapses that strictly increase over a few steps, the same for the
 *   expression and for its normalized form, each found fast.
 * Anything else aborts.
 *
 * Seed corpus: tests/fuzz/corpus-calendar/ (made by tests/fuzz/make-seeds.py
 * from tests/unit/calendar-corpus.txt).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd-calendar.h"
#include "jobd-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* One search is bounded by 1000 steps; even under ASan it takes well under
 * this. */
#define SLOW_USEC (5 * G_USEC_PER_SEC)

G_GNUC_NORETURN static void
die (const char *what, const char *text, const char *detail)
{
  fprintf (stderr, "calendar: %s\n  input: %s\n  %s\n", what, text, detail ? detail : "");
  abort ();
}

static gint64
timed_next (const JobdCalendar *c, gint64 after, GTimeZone *tz, const char *text)
{
  gint64 start = g_get_monotonic_time ();
  gint64 t = jobd_calendar_next (c, after, tz);

  if (g_get_monotonic_time () - start > SLOW_USEC)
    die ("next elapse took too long", text, NULL);
  return t;
}

static void
check_elapses (const JobdCalendar *c, const JobdCalendar *again, GTimeZone *tz,
               gint64 after, const char *text)
{
  gint64 t = after;

  for (int i = 0; i < 4; i++)
    {
      gint64 next = timed_next (c, t, tz, text);
      gint64 next_again = timed_next (again, t, tz, text);
      g_autofree char *where = g_strdup_printf ("tz %s, after %" G_GINT64_FORMAT
                                                ": %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                                                g_time_zone_get_identifier (tz), t,
                                                next, next_again);

      if (next != next_again)
        die ("the normalized form elapses at other times", text, where);
      if (next == -1)
        return;
      if (next <= t)
        die ("next elapse is not after the instant", text, where);
      t = next;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static GTimeZone *zones[3];
  static const gint64 instants[] = {
    0,                        /* the epoch */
    1774746000 - 5400,        /* 2026-03-29: Berlin springs forward an hour later */
    1792889999,               /* 2026-10-25 00:59:59 UTC: Berlin falls back */
    1798761599,               /* 2026-12-31 23:59:59 UTC: a year end */
    7258118400 - 86400 * 40,  /* 2199-11-22: near the last year searched */
  };
  g_autofree char *text = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *normalized_again = NULL;
  g_autoptr(JobdCalendar) c = NULL;
  g_autoptr(JobdCalendar) again = NULL;
  g_autoptr(GError) error = NULL;

  if (zones[0] == NULL)
    {
      zones[0] = g_time_zone_new_utc ();
      zones[1] = g_time_zone_new_identifier ("Europe/Berlin");
      zones[2] = g_time_zone_new_identifier ("Australia/Lord_Howe");   /* 30-minute DST */
      for (guint i = 1; i < G_N_ELEMENTS (zones); i++)
        if (zones[i] == NULL)
          zones[i] = g_time_zone_new_utc ();
    }

  /* Expressions come as D-Bus strings and settings: no NUL, bounded. */
  if (size > 1024 || memchr (data, '\0', size) != NULL)
    return 0;
  text = g_strndup ((const char *) data, size);

  c = jobd_calendar_parse (text, &error);
  if (c == NULL)
    {
      if (!g_error_matches (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS)
          || error->message == NULL || *error->message == '\0')
        die ("refused without an INVALID_ARGS message", text, error ? error->message : NULL);
      return 0;
    }
  normalized = jobd_calendar_to_string (c);
  again = jobd_calendar_parse (normalized, &error);
  if (again == NULL)
    die ("normalized form refused", text, error->message);
  normalized_again = jobd_calendar_to_string (again);
  if (strcmp (normalized, normalized_again) != 0)
    die ("normalized form normalizes differently", text, normalized_again);

  for (guint z = 0; z < G_N_ELEMENTS (zones); z++)
    for (guint i = 0; i < G_N_ELEMENTS (instants); i++)
      check_elapses (c, again, zones[z], instants[i] * G_USEC_PER_SEC, text);
  return 0;
}
