/* SPDX-License-Identifier: MIT */
/* test-calendar.c — calendar expressions (jobd-calendar.c): errors that point
 * at the bad part, normalized forms, and next elapses, across DST changes,
 * month ends and leap years. The expected times are what systemd-analyze
 * calendar (systemd 252) prints for the same expression and base time;
 * calendar-oracle.py compares with it over a whole corpus. */
#include <string.h>

#include "jobd-calendar.h"
#include "jobd-error.h"

static gint64
utc (const char *iso)
{
  g_autoptr(GTimeZone) z = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (iso, z);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

static char *
iso (gint64 usec)
{
  g_autoptr(GDateTime) dt = NULL;

  if (usec < 0)
    return g_strdup ("never");
  dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static void
test_errors (void)
{
  static const struct { const char *text; const char *message; } cases[] = {
    { "*-*-* 25:00", "hour \"25\" out of range (0..23) in \"*-*-* 25:00\"" },
    { "*-*-* 24:00", "hour \"24\" out of range" },
    { "*-13-01", "month \"13\" out of range (1..12)" },
    { "*-00-01", "month \"00\" out of range" },
    { "*-*-32 10:00", "day \"32\" out of range (1..31)" },
    { "*:60", "minute \"60\" out of range (0..59)" },
    { "*-*-* 00:00:60", "second \"60\" out of range (0..59)" },
    { "1969-01-01", "year \"1969\" out of range (1970..2199)" },
    { "2200-01-01", "year \"2200\" out of range" },
    { "*-*~29", "day \"29\" out of range (1..28 from the end of the month)" },
    { "*:50/20", "minute \"50/20\" never repeats" },
    { "*:0/0", "repetition 0 at \"0\"" },
    { "Mox 10:00", "unknown word at \"Mox\"" },
    { "Mondays", "unknown weekday at \"Mondays\"" },
    { "Fri..Mon", "weekday range goes backwards at \"Mon\"" },
    { "Mon..", "open weekday range" },
    { "*-*-* 10:00 Mars/Olympus", "unknown time zone \"Mars/Olympus\" in \"*-*-* 10:00 Mars/Olympus\"" },
    { "daily Nowhere", "unknown time zone \"Nowhere\"" },
    { "*-*-* 10:00:00:00", "unexpected text after the time at \":00\"" },
    { "*/2:00", "expected \"-\" in the date at \"/2:00\"" },
    { "10:00x", "unexpected text at \"x\"" },
    { "*:*:1.", "expected digits after the decimal point at \"1.\"" },
    { "*:*:15..15", "range of seconds shorter than 1 s at \"15..15\"" },
    { "99999999999:00", "number too large at \"99999999999:00\"" },
    { "", "empty expression" },
    { "hourly daily", "unknown word at \"hourly\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdCalendar) c = jobd_calendar_parse (cases[i].text, &error);

      g_test_message ("%s -> %s", cases[i].text, error ? error->message : "(parsed)");
      g_assert_null (c);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("\"%s\": message \"%s\" lacks \"%s\"", cases[i].text, error->message,
                 cases[i].message);
    }
}

static void
test_normalized (void)
{
  static const struct { const char *text; const char *normalized; } cases[] = {
    { "minutely", "*-*-* *:*:00" },
    { "hourly", "*-*-* *:00:00" },
    { "daily", "*-*-* 00:00:00" },
    { "weekly", "Mon *-*-* 00:00:00" },
    { "monthly", "*-*-01 00:00:00" },
    { "yearly", "*-01-01 00:00:00" },
    { "quarterly", "*-01,04,07,10-01 00:00:00" },
    { "semiannually", "*-01,07-01 00:00:00" },
    { "Sat,Sun 0/2:00", "Sat,Sun *-*-* 00/2:00:00" },
    { "mon..fri 9:00", "Mon..Fri *-*-* 09:00:00" },
    { "Mon,Tue,Wed,Fri", "Mon..Wed,Fri *-*-* 00:00:00" },
    { "*:*:0/5", "*-*-* *:*:00/5" },
    { "*:*:*", "*-*-* *:*:*" },
    { "*-*-* *:*:1.5", "*-*-* *:*:01.500000" },
    { "*:*:0.25/0.5", "*-*-* *:*:00.250000/0.500000" },
    { "3,1,2,2:00", "*-*-* 01,02,03:00:00" },
    { "*:58..58", "*-*-* *:58:00" },
    { "1..7/3:00", "*-*-* 01..07/3:00:00" },
    { "1..8/3:00", "*-*-* 01..07/3:00:00" },
    { "*-*~1", "*-*~01 00:00:00" },
    { "27-01-01", "2027-01-01 00:00:00" },
    { "daily Europe/Berlin", "*-*-* 00:00:00 Europe/Berlin" },
    { "daily utc", "*-*-* 00:00:00 UTC" },
    { "daily UTC", "*-*-* 00:00:00 UTC" },
    { "@1800000000", "2027-01-15 08:00:00 UTC" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdCalendar) c = jobd_calendar_parse (cases[i].text, &error);
      g_autofree char *text = NULL;
      g_autoptr(JobdCalendar) again = NULL;

      g_assert_no_error (error);
      text = jobd_calendar_to_string (c);
      g_assert_cmpstr (text, ==, cases[i].normalized);
      /* The normalized form reads back to itself. */
      again = jobd_calendar_parse (text, &error);
      g_assert_no_error (error);
      g_clear_pointer (&text, g_free);
      text = jobd_calendar_to_string (again);
      g_assert_cmpstr (text, ==, cases[i].normalized);
    }
}

typedef struct {
  const char *zone;
  const char *base;       /* UTC */
  const char *text;
  const char *next[3];    /* UTC; "never" */
} NextCase;

static void
check_next (const NextCase *cases, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdCalendar) c = jobd_calendar_parse (cases[i].text, &error);
      g_autoptr(GTimeZone) tz = g_time_zone_new_identifier (cases[i].zone);
      gint64 t = utc (cases[i].base);

      g_assert_no_error (error);
      g_assert_nonnull (tz);
      for (int k = 0; k < 3 && cases[i].next[k] != NULL; k++)
        {
          g_autofree char *got = NULL;

          t = jobd_calendar_next (c, t, tz);
          got = iso (t);
          if (g_strcmp0 (got, cases[i].next[k]) != 0)
            g_error ("\"%s\" in %s from %s, elapse %d: %s, expected %s", cases[i].text,
                     cases[i].zone, cases[i].base, k + 1, got, cases[i].next[k]);
          if (t < 0)
            break;
        }
    }
}

static void
test_next (void)
{
  static const NextCase cases[] = {
    { "UTC", "2026-12-05T00:00:00Z", "Mon..Fri 09:00",
      { "2026-12-07T09:00:00Z", "2026-12-08T09:00:00Z", "2026-12-09T09:00:00Z" } },
    { "UTC", "2026-12-05T00:00:00Z", "Sat,Sun 10:00",
      { "2026-12-05T10:00:00Z", "2026-12-06T10:00:00Z", "2026-12-12T10:00:00Z" } },
    { "UTC", "2026-12-05T00:00:02Z", "*:*:0/5",
      { "2026-12-05T00:00:05Z", "2026-12-05T00:00:10Z", "2026-12-05T00:00:15Z" } },
    /* strictly after: from an elapse, the next one */
    { "UTC", "2026-12-05T10:00:00Z", "10:00",
      { "2026-12-06T10:00:00Z", "2026-12-07T10:00:00Z", NULL } },
    /* the expression's zone wins over the one given */
    { "UTC", "2026-12-05T00:00:00Z", "daily Asia/Tokyo",
      { "2026-12-05T15:00:00Z", "2026-12-06T15:00:00Z", NULL } },
    { "Europe/Berlin", "2026-12-05T00:00:00Z", "12:00 UTC",
      { "2026-12-05T12:00:00Z", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "quarterly",
      { "2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z", "2027-07-01T00:00:00Z" } },
  };

  check_next (cases, G_N_ELEMENTS (cases));
}

/* Month ends, leap years, and what never elapses. */
static void
test_calendar_edges (void)
{
  static const NextCase cases[] = {
    { "UTC", "2027-04-01T00:00:00Z", "*-*-31",
      { "2027-05-31T00:00:00Z", "2027-07-31T00:00:00Z", "2027-08-31T00:00:00Z" } },
    { "UTC", "2028-02-01T00:00:00Z", "*-*~1",
      { "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z" } },
    { "UTC", "2027-02-01T00:00:00Z", "*-02~1",
      { "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z" } },
    { "UTC", "2026-03-01T00:00:00Z", "*-02-29 06:00",
      { "2028-02-29T06:00:00Z", "2032-02-29T06:00:00Z", "2036-02-29T06:00:00Z" } },
    /* 2100 is not a leap year */
    { "UTC", "2096-03-01T00:00:00Z", "*-02-29",
      { "2104-02-29T00:00:00Z", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "*-02-30", { "never", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "*-04-31", { "never", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "2020-01-01", { "never", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "2027-02-29", { "never", NULL, NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "2027-06-01 12:00",
      { "2027-06-01T12:00:00Z", "never", NULL } },
    /* systemd gives up here (its search goes round in circles between
     * December and January, as glibc's mktime() takes January with the DST
     * flag of May): so does jobd, so a schedule never fires where a
     * systemd timer would not */
    { "Europe/Berlin", "2026-11-25T04:14:00Z", "Thu *-05/6~06 05:14", { "never", NULL, NULL } },
    { "Europe/Berlin", "2026-09-21T00:00:00Z", "Wed..Sun *-05/6~06 05:14",
      { "2026-11-25T04:14:00Z", "never", NULL } },
    { "UTC", "2026-12-05T00:00:00Z", "Fri *-*-13 13:13",
      { "2027-08-13T13:13:00Z", "2028-10-13T13:13:00Z", "2029-04-13T13:13:00Z" } },
  };

  check_next (cases, G_N_ELEMENTS (cases));
}

/* DST: a time in the skipped hour is skipped, one in the repeated hour
 * elapses once (the first time when coming from before it), and an hourly
 * timer does not fire twice in the repeated hour. As systemd does. */
static void
test_dst (void)
{
  static const NextCase cases[] = {
    /* Berlin, spring forward 2027-03-28 02:00 CET -> 03:00 CEST */
    { "Europe/Berlin", "2027-03-28T00:00:00Z", "*-*-* 02:30",
      { "2027-03-29T00:30:00Z", "2027-03-30T00:30:00Z", NULL } },
    { "Europe/Berlin", "2027-03-28T00:30:00Z", "hourly",
      { "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z", NULL } },
    { "Europe/Berlin", "2027-03-27T12:00:00Z", "*-*-* 03:00",
      { "2027-03-28T01:00:00Z", "2027-03-29T01:00:00Z", NULL } },
    /* Berlin, fall back 2026-10-25 03:00 CEST -> 02:00 CET */
    { "Europe/Berlin", "2026-10-24T22:00:00Z", "*-*-* 02:30",
      { "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z" } },
    { "Europe/Berlin", "2026-10-24T23:30:00Z", "hourly",
      { "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z" } },
    { "Europe/Berlin", "2026-10-25T00:40:00Z", "*:0/30",
      { "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z", NULL } },
    /* from inside the second 02:xx, its own 02:30 */
    { "Europe/Berlin", "2026-10-25T01:10:00Z", "*-*-* 02:30",
      { "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z", NULL } },
    /* the zone named in the expression, whatever the one given */
    { "UTC", "2026-10-24T22:00:00Z", "*-*-* 02:30 Europe/Berlin",
      { "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", NULL } },
    /* New York, spring forward 2027-03-14 02:00 EST -> 03:00 EDT */
    { "America/New_York", "2027-03-14T05:00:00Z", "*-*-* 02:30",
      { "2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z", NULL } },
    /* New York, fall back 2026-11-01 02:00 EDT -> 01:00 EST */
    { "America/New_York", "2026-11-01T04:00:00Z", "*-*-* 01:30",
      { "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", NULL } },
  };

  check_next (cases, G_N_ELEMENTS (cases));
}

/* Fractional seconds keep their microseconds. */
static void
test_fraction (void)
{
  g_autoptr(JobdCalendar) c = jobd_calendar_parse ("*:*:1.5", NULL);
  g_autoptr(GTimeZone) tz = g_time_zone_new_utc ();
  gint64 base = utc ("2026-12-05T00:00:00Z");

  g_assert_nonnull (c);
  g_assert_cmpint (jobd_calendar_next (c, base, tz), ==, base + 1500000);
  g_assert_cmpint (jobd_calendar_next (c, base + 1500000, tz), ==, base + 61500000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/calendar/errors", test_errors);
  g_test_add_func ("/calendar/normalized", test_normalized);
  g_test_add_func ("/calendar/next", test_next);
  g_test_add_func ("/calendar/edges", test_calendar_edges);
  g_test_add_func ("/calendar/dst", test_dst);
  g_test_add_func ("/calendar/fraction", test_fraction);
  return g_test_run ();
}
