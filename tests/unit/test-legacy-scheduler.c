/* SPDX-License-Identifier: MIT */
/* test-legacy-scheduler.c — the legacy scheduler: condition parsing and
 * validation, matching, next-fire computation (every field, combinations,
 * @t, leap years, ISO week 53, U intervals, DST, once per period), and the
 * plugin with an injected clock and firing action (firing, fire log,
 * persistence, duplicates, migration).
 *
 * Expected times are built independently with GDateTime from civil dates.
 */
#include <glib/gstdio.h>

#include "jobd-error.h"
#include "jobd-legacy-condition.h"
#include "jobd-legacy-scheduler.h"
#include "test-fs-util.h"

static GTimeZone *utc;

static JsonObject *
object_from (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static JobdLegacyCondition
cond (const char *json)
{
  g_autoptr(JsonObject) object = object_from (json);
  g_autoptr(GError) error = NULL;
  JobdLegacyCondition c;

  g_assert_true (jobd_legacy_condition_parse (object, &c, &error));
  g_assert_no_error (error);
  return c;
}

static gint64
at (GTimeZone *tz, int y, int m, int d, int hh, int mm, int ss)
{
  g_autoptr(GDateTime) dt = g_date_time_new (tz, y, m, d, hh, mm, ss);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt);
}

#define UTC(y, m, d, hh, mm) at (utc, y, m, d, hh, mm, 0)

static gint64
next_utc (const char *json, gint64 after, gint64 last)
{
  JobdLegacyCondition c = cond (json);

  return jobd_legacy_condition_next_fire (&c, utc, after, last);
}

static void
test_parse_valid (void)
{
  const char *valid[] = {
    "{\"H\":\"03\",\"i\":\"00\"}", "{\"d\":\"@t\"}", "{\"d\":\"@t\",\"m\":\"02\"}",
    "{\"Y\":\"2026\",\"W\":\"53\",\"N\":\"4\"}", "{\"z\":\"0\"}", "{\"U\":\"600\"}",
    "{\"H\":3,\"i\":0}", "{\"Y\":\"2024\",\"z\":\"365\"}", "{\"m\":\"02\",\"d\":\"29\"}",
    "{\"Y\":\"2021\",\"W\":\"53\"}", "{\"H\":\"03\",\"U\":\"3600\"}", "{\"i\":\"5\",\"U\":\"60\"}",
    "{\"W\":\"10\",\"U\":\"604800\"}", "{\"Y\":\"2030\",\"m\":\"1\",\"d\":\"1\",\"H\":\"0\",\"i\":\"0\",\"U\":\"60\"}",
    NULL,
  };

  for (guint i = 0; valid[i] != NULL; i++)
    {
      g_autoptr(JsonObject) object = object_from (valid[i]);
      g_autoptr(GError) error = NULL;
      JobdLegacyCondition c;

      if (!jobd_legacy_condition_parse (object, &c, &error))
        g_error ("%s rejected: %s", valid[i], error->message);
    }
}

static void
test_parse_invalid (void)
{
  const char *invalid[] = {
    "{}", "{\"x\":\"1\"}", "{\"YY\":\"2026\"}", "{\"m\":\"13\"}", "{\"m\":\"0\"}",
    "{\"d\":\"0\"}", "{\"d\":\"32\"}", "{\"H\":\"24\"}", "{\"i\":\"60\"}", "{\"N\":\"0\"}",
    "{\"N\":\"8\"}", "{\"W\":\"0\"}", "{\"W\":\"54\"}", "{\"z\":\"366\"}", "{\"U\":\"90\"}",
    "{\"U\":\"0\"}", "{\"U\":\"-60\"}", "{\"H\":\"03\",\"U\":\"7200\"}", "{\"i\":\"5\",\"U\":\"120\"}",
    "{\"N\":\"1\",\"U\":\"172800\"}", "{\"m\":\"01\",\"W\":\"1\"}", "{\"d\":\"1\",\"N\":\"1\"}",
    "{\"z\":\"1\",\"m\":\"1\"}", "{\"z\":\"1\",\"W\":\"1\"}", "{\"Y\":\"26\"}", "{\"Y\":\"1969\"}",
    "{\"H\":\"-1\"}", "{\"H\":\" 3\"}", "{\"H\":\"3 \"}", "{\"H\":\"0x3\"}", "{\"H\":\"\"}",
    "{\"H\":true}", "{\"H\":1.5}", "{\"H\":null}", "{\"H\":[3]}", "{\"H\":\"@t\"}",
    "{\"m\":\"02\",\"d\":\"30\"}", "{\"m\":\"04\",\"d\":\"31\"}", "{\"Y\":\"2025\",\"W\":\"53\"}",
    "{\"Y\":\"2023\",\"z\":\"365\"}", "{\"Y\":\"2023\",\"m\":\"02\",\"d\":\"29\"}",
    "{\"H\":\"99999999999999999999\"}",
    /* Y is the calendar year: that Sunday of week 53 is 3 January 2027. */
    "{\"Y\":\"2026\",\"W\":\"53\",\"N\":\"7\"}", "{\"U\":\"31708800\"}",
    NULL,
  };

  for (guint i = 0; invalid[i] != NULL; i++)
    {
      g_autoptr(JsonObject) object = object_from (invalid[i]);
      g_autoptr(GError) error = NULL;
      JobdLegacyCondition c;

      if (jobd_legacy_condition_parse (object, &c, &error))
        g_error ("%s accepted", invalid[i]);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
    }
}

static void
test_equal (void)
{
  JobdLegacyCondition a = cond ("{\"H\":\"03\",\"i\":\"00\"}");
  JobdLegacyCondition b = cond ("{\"i\":0,\"H\":\"3\"}");
  JobdLegacyCondition c = cond ("{\"H\":\"03\"}");
  JobdLegacyCondition d = cond ("{\"H\":\"03\",\"i\":\"01\"}");

  g_assert_true (jobd_legacy_condition_equal (&a, &b));
  g_assert_false (jobd_legacy_condition_equal (&a, &c));
  g_assert_false (jobd_legacy_condition_equal (&a, &d));
}

static void
test_matches (void)
{
  JobdLegacyCondition c = cond ("{\"Y\":\"2026\",\"W\":\"47\",\"N\":\"7\",\"H\":\"23\",\"i\":\"59\"}");
  JobdLegacyCondition last = cond ("{\"d\":\"@t\"}");
  JobdLegacyCondition z = cond ("{\"z\":\"59\"}");

  /* Sunday 22 November 2026 is in ISO week 47. */
  g_assert_true (jobd_legacy_condition_matches (&c, utc, UTC (2026, 11, 22, 23, 59) + 30));
  g_assert_false (jobd_legacy_condition_matches (&c, utc, UTC (2026, 11, 22, 23, 58)));
  g_assert_false (jobd_legacy_condition_matches (&c, utc, UTC (2026, 11, 23, 23, 59)));
  g_assert_true (jobd_legacy_condition_matches (&last, utc, UTC (2024, 2, 29, 12, 0)));
  g_assert_false (jobd_legacy_condition_matches (&last, utc, UTC (2024, 2, 28, 12, 0)));
  g_assert_true (jobd_legacy_condition_matches (&last, utc, UTC (2023, 2, 28, 12, 0)));
  /* z counts from 0 like PHP: day 59 is 29 Feb in a leap year, 1 Mar otherwise. */
  g_assert_true (jobd_legacy_condition_matches (&z, utc, UTC (2024, 2, 29, 0, 0)));
  g_assert_true (jobd_legacy_condition_matches (&z, utc, UTC (2023, 3, 1, 0, 0)));
  g_assert_false (jobd_legacy_condition_matches (&z, utc, UTC (2023, 2, 28, 0, 0)));
}

static void
test_next_fields (void)
{
  gint64 t;

  /* H + i: daily. */
  t = next_utc ("{\"H\":\"03\",\"i\":\"00\"}", UTC (2026, 5, 10, 12, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 5, 11, 3, 0));
  g_assert_cmpint (next_utc ("{\"H\":\"03\",\"i\":\"00\"}", t, t), ==, UTC (2026, 5, 12, 3, 0));
  /* The exact time is "after - 1" inclusive. */
  g_assert_cmpint (next_utc ("{\"H\":\"03\",\"i\":\"00\"}", UTC (2026, 5, 11, 3, 0) - 1, -1),
                   ==, UTC (2026, 5, 11, 3, 0));
  /* i alone: hourly. */
  g_assert_cmpint (next_utc ("{\"i\":\"30\"}", UTC (2026, 5, 10, 12, 31), -1),
                   ==, UTC (2026, 5, 10, 13, 30));
  /* H alone: once in that hour, at its start, not every minute of it. */
  t = next_utc ("{\"H\":\"05\"}", UTC (2026, 5, 10, 4, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 5, 10, 5, 0));
  g_assert_cmpint (next_utc ("{\"H\":\"05\"}", t, t), ==, UTC (2026, 5, 11, 5, 0));
  g_assert_cmpint (next_utc ("{\"H\":\"05\"}", UTC (2026, 5, 10, 5, 1), -1),
                   ==, UTC (2026, 5, 11, 5, 0));
  /* d. */
  g_assert_cmpint (next_utc ("{\"d\":\"15\"}", UTC (2026, 5, 15, 0, 1), -1),
                   ==, UTC (2026, 6, 15, 0, 0));
  /* d = 31 skips short months. */
  g_assert_cmpint (next_utc ("{\"d\":\"31\"}", UTC (2026, 4, 1, 0, 0), -1),
                   ==, UTC (2026, 5, 31, 0, 0));
  /* m: once a month-period, on its first day. */
  t = next_utc ("{\"m\":\"03\"}", UTC (2026, 1, 1, 0, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 3, 1, 0, 0));
  g_assert_cmpint (next_utc ("{\"m\":\"03\"}", t, t), ==, UTC (2027, 3, 1, 0, 0));
  g_assert_cmpint (next_utc ("{\"m\":\"03\"}", UTC (2026, 3, 2, 0, 0), -1),
                   ==, UTC (2027, 3, 1, 0, 0));
  /* N: Monday 00:00 (18 Nov 2026 is a Wednesday). */
  g_assert_cmpint (next_utc ("{\"N\":\"1\"}", UTC (2026, 11, 18, 10, 0), -1),
                   ==, UTC (2026, 11, 23, 0, 0));
  /* W: the Monday that starts the week. */
  g_assert_cmpint (next_utc ("{\"W\":\"10\"}", UTC (2026, 1, 1, 0, 0), -1),
                   ==, UTC (2026, 3, 2, 0, 0));
  /* z. */
  g_assert_cmpint (next_utc ("{\"z\":\"0\"}", UTC (2026, 1, 1, 0, 0), -1),
                   ==, UTC (2027, 1, 1, 0, 0));
  /* Y: once, at the start of the year; a past year never again. */
  g_assert_cmpint (next_utc ("{\"Y\":\"2030\"}", UTC (2026, 6, 1, 0, 0), -1),
                   ==, UTC (2030, 1, 1, 0, 0));
  g_assert_cmpint (next_utc ("{\"Y\":\"2030\"}", UTC (2030, 1, 1, 0, 0), UTC (2030, 1, 1, 0, 0)),
                   ==, -1);
  g_assert_cmpint (next_utc ("{\"Y\":\"2020\",\"m\":\"01\"}", UTC (2026, 1, 1, 0, 0), -1), ==, -1);
}

static void
test_next_calendar (void)
{
  gint64 t;

  /* @t: 29 February in a leap year, 28 otherwise, 30 in April. */
  g_assert_cmpint (next_utc ("{\"d\":\"@t\"}", UTC (2024, 2, 10, 0, 0), -1),
                   ==, UTC (2024, 2, 29, 0, 0));
  g_assert_cmpint (next_utc ("{\"d\":\"@t\"}", UTC (2023, 2, 10, 0, 0), -1),
                   ==, UTC (2023, 2, 28, 0, 0));
  g_assert_cmpint (next_utc ("{\"d\":\"@t\",\"H\":\"23\",\"i\":\"30\"}", UTC (2026, 4, 15, 0, 0), -1),
                   ==, UTC (2026, 4, 30, 23, 30));
  /* Leap day: the next leap year, across the non-leap 2100 too. */
  g_assert_cmpint (next_utc ("{\"m\":\"02\",\"d\":\"29\"}", UTC (2025, 3, 1, 0, 0), -1),
                   ==, UTC (2028, 2, 29, 0, 0));
  g_assert_cmpint (next_utc ("{\"m\":\"02\",\"d\":\"29\"}", UTC (2096, 3, 1, 0, 0), -1),
                   ==, UTC (2104, 2, 29, 0, 0));
  g_assert_cmpint (next_utc ("{\"z\":\"365\"}", UTC (2025, 1, 1, 0, 0), -1),
                   ==, UTC (2028, 12, 31, 0, 0));
  /* ISO week 53: 2026 has one (from Monday 28 December), the next is 2032. */
  t = next_utc ("{\"W\":\"53\"}", UTC (2026, 1, 10, 0, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 12, 28, 0, 0));
  g_assert_cmpint (next_utc ("{\"W\":\"53\"}", t, t), ==, UTC (2032, 12, 27, 0, 0));
  /* The same week seen from calendar year 2027: its first day. */
  g_assert_cmpint (next_utc ("{\"Y\":\"2027\",\"W\":\"53\"}", UTC (2026, 6, 1, 0, 0), -1),
                   ==, UTC (2027, 1, 1, 0, 0));
  /* Week 53, Sunday, noon: 3 January 2027. */
  g_assert_cmpint (next_utc ("{\"W\":\"53\",\"N\":\"7\",\"H\":\"12\",\"i\":\"00\"}",
                             UTC (2026, 6, 1, 0, 0), -1), ==, UTC (2027, 1, 3, 12, 0));
  /* Full date and time. */
  g_assert_cmpint (next_utc ("{\"Y\":\"2027\",\"m\":\"07\",\"d\":\"04\",\"H\":\"09\",\"i\":\"15\"}",
                             UTC (2026, 6, 1, 0, 0), -1), ==, UTC (2027, 7, 4, 9, 15));
  g_assert_cmpint (next_utc ("{\"Y\":\"2026\",\"z\":\"100\",\"H\":\"08\"}",
                             UTC (2026, 1, 1, 0, 0), -1), ==, UTC (2026, 4, 11, 8, 0));
}

static void
test_next_interval (void)
{
  gint64 t;

  /* U alone: from the epoch. */
  t = next_utc ("{\"U\":\"600\"}", UTC (2026, 5, 10, 12, 3), -1);
  g_assert_cmpint (t, ==, UTC (2026, 5, 10, 12, 10));
  g_assert_cmpint (next_utc ("{\"U\":\"600\"}", t, t), ==, UTC (2026, 5, 10, 12, 20));
  /* Within hour 03, every 20 minutes from its start. */
  t = next_utc ("{\"H\":\"03\",\"U\":\"1200\"}", UTC (2026, 5, 10, 12, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 5, 11, 3, 0));
  t = next_utc ("{\"H\":\"03\",\"U\":\"1200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 5, 11, 3, 20));
  t = next_utc ("{\"H\":\"03\",\"U\":\"1200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 5, 11, 3, 40));
  t = next_utc ("{\"H\":\"03\",\"U\":\"1200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 5, 12, 3, 0));
  /* i with U = 60: once in that minute. */
  g_assert_cmpint (next_utc ("{\"i\":\"15\",\"U\":\"60\"}", UTC (2026, 5, 10, 12, 15), -1),
                   ==, UTC (2026, 5, 10, 13, 15));
  /* Monday, twice. */
  t = next_utc ("{\"N\":\"1\",\"U\":\"43200\"}", UTC (2026, 11, 18, 0, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 11, 23, 0, 0));
  t = next_utc ("{\"N\":\"1\",\"U\":\"43200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 11, 23, 12, 0));
  g_assert_cmpint (next_utc ("{\"N\":\"1\",\"U\":\"43200\"}", t, t), ==, UTC (2026, 11, 30, 0, 0));
  /* Week 10 every three days from its Monday: Mon, Thu, Sun. */
  t = next_utc ("{\"W\":\"10\",\"U\":\"259200\"}", UTC (2026, 1, 1, 0, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 3, 2, 0, 0));
  t = next_utc ("{\"W\":\"10\",\"U\":\"259200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 3, 5, 0, 0));
  t = next_utc ("{\"W\":\"10\",\"U\":\"259200\"}", t, t);
  g_assert_cmpint (t, ==, UTC (2026, 3, 8, 0, 0));
  g_assert_cmpint (next_utc ("{\"W\":\"10\",\"U\":\"259200\"}", t, t), ==, UTC (2027, 3, 8, 0, 0));
}

static void
test_once_per_period (void)
{
  gint64 fired = UTC (2026, 5, 11, 3, 0);

  /* The clock went back an hour after 03:00 fired: not again that day. */
  g_assert_cmpint (next_utc ("{\"H\":\"03\",\"i\":\"00\"}", UTC (2026, 5, 11, 2, 0), fired),
                   ==, UTC (2026, 5, 12, 3, 0));
  g_assert_cmpint (next_utc ("{\"H\":\"03\"}", UTC (2026, 5, 11, 2, 0), fired),
                   ==, UTC (2026, 5, 12, 3, 0));
  /* A monthly one fired on 1 March; clock back to 28 February: not in March again. */
  g_assert_cmpint (next_utc ("{\"m\":\"03\"}", UTC (2026, 2, 28, 0, 0), UTC (2026, 3, 1, 0, 0)),
                   ==, UTC (2027, 3, 1, 0, 0));
  /* With U: not within U of the last firing, whatever the clock says. */
  g_assert_cmpint (next_utc ("{\"U\":\"600\"}", UTC (2026, 5, 10, 11, 0), UTC (2026, 5, 10, 12, 10)),
                   ==, UTC (2026, 5, 10, 12, 20));
}

static void
test_time_zones (void)
{
  g_autoptr(GTimeZone) shanghai = g_time_zone_new_identifier ("+08:00");
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  JobdLegacyCondition c = cond ("{\"H\":\"03\",\"i\":\"00\"}");
  JobdLegacyCondition night = cond ("{\"H\":\"02\",\"i\":\"30\"}");
  JobdLegacyCondition day = cond ("{\"N\":\"7\"}");
  gint64 t;

  g_assert_nonnull (shanghai);
  g_assert_cmpint (jobd_legacy_condition_next_fire (&c, shanghai, UTC (2026, 5, 10, 12, 0), -1),
                   ==, UTC (2026, 5, 10, 19, 0));

  if (berlin == NULL)
    {
      g_test_skip ("no tzdata for Europe/Berlin: DST cases not run");
      return;
    }
  /* 29 March 2026: 02:30 does not exist in Berlin, so no firing that day. */
  g_assert_cmpint (jobd_legacy_condition_next_fire (&night, berlin, UTC (2026, 3, 28, 12, 0), -1),
                   ==, at (berlin, 2026, 3, 30, 2, 30, 0));
  /* 25 October 2026: 02:30 happens twice; it fires once. */
  t = jobd_legacy_condition_next_fire (&night, berlin, UTC (2026, 10, 24, 12, 0), -1);
  g_assert_true (t == UTC (2026, 10, 25, 0, 30) || t == UTC (2026, 10, 25, 1, 30));
  g_assert_cmpint (jobd_legacy_condition_next_fire (&night, berlin, t, t),
                   ==, at (berlin, 2026, 10, 26, 2, 30, 0));
  g_assert_cmpint (jobd_legacy_condition_next_fire (&night, berlin, UTC (2026, 10, 25, 0, 30),
                                                    UTC (2026, 10, 25, 0, 30)),
                   ==, at (berlin, 2026, 10, 26, 2, 30, 0));
  /* A 25-hour Sunday still fires once, at its local midnight. */
  t = jobd_legacy_condition_next_fire (&day, berlin, UTC (2026, 10, 20, 0, 0), -1);
  g_assert_cmpint (t, ==, UTC (2026, 10, 24, 22, 0));
  g_assert_cmpint (jobd_legacy_condition_next_fire (&day, berlin, t, t),
                   ==, at (berlin, 2026, 11, 1, 0, 0, 0));
}

/* ---- the plugin, with an injected clock ---- */

typedef struct {
  char *dir;
  gint64 now;
  GPtrArray *fired;       /* "job uuid" */
  JobdLegacyScheduler *scheduler;
} Fixture;

static gint64
fake_clock (gpointer user_data)
{
  return ((Fixture *) user_data)->now;
}

static void
fake_fire (const char *jobname, const char *uuid, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->fired, g_strdup_printf ("%s %s", jobname, uuid));
}

static JobdLegacyScheduler *
open_scheduler (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  JobdLegacyScheduler *s = jobd_legacy_scheduler_new (NULL, f->dir, utc, &error);

  g_assert_no_error (error);
  jobd_legacy_scheduler_set_clock (s, fake_clock, f);
  jobd_legacy_scheduler_set_fire_func (s, fake_fire, f);
  return s;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("jobd-sched-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->now = UTC (2026, 5, 10, 12, 0);
  f->fired = g_ptr_array_new_with_free_func (g_free);
  f->scheduler = open_scheduler (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->scheduler, jobd_legacy_scheduler_free);
  g_ptr_array_unref (f->fired);
  test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
add (Fixture *f, const char *job, gboolean enable, const char *json, GError **error)
{
  g_autoptr(JsonObject) condition = object_from (json);

  return jobd_legacy_scheduler_add (f->scheduler, job, NULL, enable, condition, error);
}

static char *
to_json (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static void
test_plugin_fires (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *log = NULL;
  g_autoptr(JsonNode) log_node = NULL;
  gint64 slot = UTC (2026, 5, 11, 3, 0);

  /* Nothing scheduled: no wakeup at all. */
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, -1);

  uuid = add (f, "backup", TRUE, "{\"H\":\"03\",\"i\":\"00\"}", &error);
  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (uuid));
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, slot);

  /* Before the time: nothing. */
  f->now = slot - 1;
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 0);
  g_assert_cmpuint (f->fired->len, ==, 0);

  f->now = slot;
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 1);
  expected = g_strdup_printf ("backup %s", uuid);
  g_assert_cmpuint (f->fired->len, ==, 1);
  g_assert_cmpstr (f->fired->pdata[0], ==, expected);
  /* Once per period: the same minute again fires nothing. */
  f->now = slot + 30;
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 0);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, slot + 86400);

  log_node = jobd_legacy_scheduler_get_log (f->scheduler, "backup", uuid, &error);
  g_assert_no_error (error);
  log = to_json (log_node);
  g_free (expected);
  expected = g_strdup_printf ("[%" G_GINT64_FORMAT "]", slot);
  g_assert_cmpstr (log, ==, expected);

  /* After a restart the log still prevents a second firing at that time,
   * and the clock set back to the slot does not fire it again. */
  g_clear_pointer (&f->scheduler, jobd_legacy_scheduler_free);
  f->now = slot - 10;
  f->scheduler = open_scheduler (f);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, slot + 86400);
  f->now = slot;
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 0);
  g_assert_cmpuint (f->fired->len, ==, 1);
}

static void
test_plugin_missed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid G_GNUC_UNUSED = add (f, "job", TRUE, "{\"i\":\"30\"}", &error);
  gint64 slot = UTC (2026, 5, 10, 12, 30);

  g_assert_no_error (error);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, slot);
  /* Woken two minutes late (suspend): skipped, next hour planned. */
  f->now = slot + 120;
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 0);
  g_assert_cmpuint (f->fired->len, ==, 0);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, slot + 3600);
  /* The clock jumped: recompute from the new now. */
  f->now = UTC (2026, 5, 10, 20, 31);
  jobd_legacy_scheduler_recompute (f->scheduler);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==,
                   UTC (2026, 5, 10, 21, 30));
}

static void
test_plugin_log_max (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = add (f, "tick", TRUE, "{\"U\":\"60\"}", &error);
  g_autoptr(JsonNode) log = NULL;
  JsonArray *array;
  gint64 last = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < 60; i++)
    {
      f->now = jobd_legacy_scheduler_get_next_wakeup (f->scheduler);
      g_assert_cmpint (f->now, >, last);
      g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 1);
      last = f->now;
    }
  g_assert_cmpuint (f->fired->len, ==, 60);
  log = jobd_legacy_scheduler_get_log (f->scheduler, "tick", uuid, &error);
  g_assert_no_error (error);
  array = json_node_get_array (log);
  g_assert_cmpuint (json_array_get_length (array), ==, JOBD_LEGACY_SCHEDULER_LOG_MAX);
  g_assert_cmpint (json_array_get_int_element (array, 0), ==, last);
  for (guint i = 1; i < json_array_get_length (array); i++)
    g_assert_cmpint (json_array_get_int_element (array, i), ==,
                     json_array_get_int_element (array, i - 1) - 60);
}

static void
test_plugin_operations (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add (f, "job", TRUE, "{\"H\":\"03\",\"i\":\"00\"}", &error);
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *dup = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) cond_b = object_from ("{\"H\":\"03\",\"i\":\"00\"}");
  gboolean off = FALSE;

  g_assert_no_error (error);
  /* The same condition for the same job, written differently: refused. */
  dup = add (f, "job", TRUE, "{\"H\":3,\"i\":\"0\"}", &error);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_null (dup);
  g_clear_error (&error);
  /* Another job may have it; bad conditions and names are refused. */
  c = add (f, "other", TRUE, "{\"H\":\"03\",\"i\":\"00\"}", &error);
  g_assert_no_error (error);
  g_assert_null (add (f, "job", TRUE, "{\"H\":\"25\"}", &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_null (add (f, "../x", TRUE, "{\"H\":\"2\"}", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  b = add (f, "job", FALSE, "{\"d\":\"@t\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a, !=, b);

  /* GET keeps the condition exactly as sent. */
  node = jobd_legacy_scheduler_get (f->scheduler, "job", b, &error);
  g_assert_no_error (error);
  text = to_json (node);
  g_assert_cmpstr (text, ==, "{\"enable\":false,\"condition\":{\"d\":\"@t\"}}");
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&text, g_free);

  /* UPDATE to a condition another schedule has: refused, unchanged. */
  g_assert_false (jobd_legacy_scheduler_update (f->scheduler, "job", b, NULL, cond_b, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  /* Disabling the only enabled schedules leaves nothing to wake for. */
  g_assert_true (jobd_legacy_scheduler_update (f->scheduler, "job", a, &off, NULL, &error));
  g_assert_true (jobd_legacy_scheduler_update (f->scheduler, "other", c, &off, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (jobd_legacy_scheduler_get_next_wakeup (f->scheduler), ==, -1);
  f->now = UTC (2026, 5, 11, 3, 0);
  g_assert_cmpuint (jobd_legacy_scheduler_run_due (f->scheduler), ==, 0);

  node = jobd_legacy_scheduler_get_all (f->scheduler);
  text = to_json (node);
  {
    /* Sorted by UUID within a job. */
    g_autofree char *entry_a = g_strdup_printf ("\"%s\":{\"enable\":false,\"condition\":"
                                                "{\"H\":\"03\",\"i\":\"00\"}}", a);
    g_autofree char *entry_b = g_strdup_printf ("\"%s\":{\"enable\":false,\"condition\":"
                                                "{\"d\":\"@t\"}}", b);

    expected = g_strdup_printf ("{\"job\":{%s,%s},\"other\":{\"%s\":{\"enable\":false,"
                                "\"condition\":{\"H\":\"03\",\"i\":\"00\"}}}}",
                                strcmp (a, b) < 0 ? entry_a : entry_b,
                                strcmp (a, b) < 0 ? entry_b : entry_a, c);
  }
  g_assert_cmpstr (text, ==, expected);

  g_assert_true (jobd_legacy_scheduler_delete (f->scheduler, "job", a, &error));
  g_assert_no_error (error);
  g_assert_false (jobd_legacy_scheduler_delete (f->scheduler, "job", a, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (jobd_legacy_scheduler_get (f->scheduler, "job", a, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (jobd_legacy_scheduler_get_log (f->scheduler, "nojob", b, &error));
  g_assert_nonnull (error);
}

static void
write_file (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
test_plugin_import (Fixture *f, gconstpointer data)
{
  const char *u1 = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const char *u2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  g_autofree char *old = g_strdup_printf ("{\"job\":{\"%s\":{\"enable\":true,\"condition\":{\"H\":\"03\",\"i\":\"00\"}},"
                                          "\"%s\":{\"enable\":true,\"condition\":{\"H\":\"99\"}},"
                                          "\"../evil\":{\"enable\":true,\"condition\":{\"i\":\"1\"}}}}",
                                          u1, u2);
  g_autoptr(JsonObject) config = object_from (old);
  g_autofree char *log_dir = g_build_filename (f->dir, "old-log", NULL);
  g_autofree char *log_file = g_strdup_printf ("%s/job/%s.log", log_dir, u1);
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) log = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) got = NULL;

  write_file (log_file, "[1700000000, 1800000000, 1750000000, \"x\"]");
  g_assert_true (jobd_legacy_scheduler_import (f->scheduler, config, log_dir, FALSE, report,
                                               &error));
  g_assert_no_error (error);
  g_test_message ("%s", report->str);
  g_assert_nonnull (strstr (report->str, "imported"));
  g_assert_nonnull (strstr (report->str, u2));
  g_assert_nonnull (strstr (report->str, "../evil"));

  /* The UUID is kept; the log is sorted newest first. */
  got = jobd_legacy_scheduler_get (f->scheduler, "job", u1, &error);
  g_assert_no_error (error);
  log = jobd_legacy_scheduler_get_log (f->scheduler, "job", u1, &error);
  g_assert_no_error (error);
  text = to_json (log);
  g_assert_cmpstr (text, ==, "[1800000000,1750000000,1700000000]");
  g_assert_null (jobd_legacy_scheduler_get (f->scheduler, "job", u2, NULL));

  /* Again: exists, skipped; with force: replaced. */
  g_string_truncate (report, 0);
  g_assert_true (jobd_legacy_scheduler_import (f->scheduler, config, NULL, FALSE, report, &error));
  g_assert_nonnull (strstr (report->str, "exists"));
  g_string_truncate (report, 0);
  g_assert_true (jobd_legacy_scheduler_import (f->scheduler, config, NULL, TRUE, report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report->str, "imported"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  utc = g_time_zone_new_utc ();

  g_test_add_func ("/legacy-scheduler/parse/valid", test_parse_valid);
  g_test_add_func ("/legacy-scheduler/parse/invalid", test_parse_invalid);
  g_test_add_func ("/legacy-scheduler/parse/equal", test_equal);
  g_test_add_func ("/legacy-scheduler/matches", test_matches);
  g_test_add_func ("/legacy-scheduler/next/fields", test_next_fields);
  g_test_add_func ("/legacy-scheduler/next/calendar", test_next_calendar);
  g_test_add_func ("/legacy-scheduler/next/interval", test_next_interval);
  g_test_add_func ("/legacy-scheduler/next/once-per-period", test_once_per_period);
  g_test_add_func ("/legacy-scheduler/next/time-zones", test_time_zones);
  g_test_add ("/legacy-scheduler/plugin/fires", Fixture, NULL,
              fixture_setup, test_plugin_fires, fixture_teardown);
  g_test_add ("/legacy-scheduler/plugin/missed", Fixture, NULL,
              fixture_setup, test_plugin_missed, fixture_teardown);
  g_test_add ("/legacy-scheduler/plugin/log-max", Fixture, NULL,
              fixture_setup, test_plugin_log_max, fixture_teardown);
  g_test_add ("/legacy-scheduler/plugin/operations", Fixture, NULL,
              fixture_setup, test_plugin_operations, fixture_teardown);
  g_test_add ("/legacy-scheduler/plugin/import", Fixture, NULL,
              fixture_setup, test_plugin_import, fixture_teardown);

  return g_test_run ();
}
