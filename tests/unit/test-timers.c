/* SPDX-License-Identifier: MIT */
/* test-timers.c — the timer engine (jobd-timers.c) with an injected clock:
 * fires on time and once, clock steps forward and back, DST and a time
 * zone change (fixed zones), persistent catch-up across a restart, a
 * removed job, and 10 000 schedules whose next wakeup is the earliest. */
#include <glib.h>
#include <glib/gstdio.h>

#include "jobd-timers.h"
#include "test-fs-util.h"

#define S G_GINT64_CONSTANT (1000000)

typedef struct {
  char *dir;
  char *path;
  gint64 now;
  GPtrArray *fired;   /* "job id" */
  JobdTimers *timers;
} Fixture;

static gint64
fake_clock (gpointer user_data)
{
  return ((Fixture *) user_data)->now;
}

static void
fake_fire (const char *job, const char *id, gint64 due, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->fired, g_strdup_printf ("%s %s", job, id));
}

static JobdTimers *
open_timers (Fixture *f, GTimeZone *tz)
{
  JobdTimers *t = jobd_timers_new (f->path, tz);

  jobd_timers_set_clock (t, fake_clock, f);
  jobd_timers_set_fire_func (t, fake_fire, f);
  return t;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();

  f->dir = g_dir_make_tmp ("jobd-timers-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "timers.json", NULL);
  /* 2026-05-10 12:00:00 UTC */
  f->now = G_GINT64_CONSTANT (1778414400) * S;
  f->fired = g_ptr_array_new_with_free_func (g_free);
  f->timers = open_timers (f, utc);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->timers, jobd_timers_free);
  g_ptr_array_unref (f->fired);
  test_remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
set (Fixture *f, const char *job, const char *id, const char *spec, gboolean persistent)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_schedule_entry_free);

  g_ptr_array_add (entries, jobd_schedule_entry_new (id, spec, TRUE));
  jobd_timers_set_job (f->timers, job, entries, persistent, 0);
}

static void
test_fires_once_on_time (Fixture *f, gconstpointer data)
{
  gint64 start = f->now;

  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, -1);
  set (f, "tick", "a", "*:*:0/5", FALSE);
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, start + 5 * S);
  f->now = start + 5 * S - 1;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  f->now = start + 5 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  g_assert_cmpstr (f->fired->pdata[0], ==, "tick a");
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, start + 10 * S);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "tick"), ==, start + 10 * S);
}

static void
test_clock_step_forward_fires_once (Fixture *f, gconstpointer data)
{
  gint64 start = f->now;

  set (f, "c", "a", "*:*:0/5", FALSE);
  set (f, "e", "b", "every 10s", FALSE);
  /* An hour later in one step: each fires once, not once per slot. */
  f->now = start + 3600 * S + 2 * S;
  jobd_timers_recompute (f->timers);
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 2);
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "c"), ==, start + 3605 * S);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "e"), ==, f->now + 10 * S);
}

static void
test_clock_step_back_does_not_repeat (Fixture *f, gconstpointer data)
{
  gint64 start = f->now;

  set (f, "c", "a", "*:*:0/5", FALSE);
  set (f, "e", "b", "every 10s", FALSE);
  f->now = start + 5 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  f->now = start + 10 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 2);
  /* Set back 7 s, over both fires: neither fires again. */
  f->now = start + 3 * S;
  jobd_timers_recompute (f->timers);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "c"), ==, start + 15 * S);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "e"), ==, start + 20 * S);
  for (f->now = start + 3 * S; f->now < start + 15 * S; f->now += S)
    g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  g_assert_cmpuint (f->fired->len, ==, 3);
}

static void
test_dst_and_zone_change (Fixture *f, gconstpointer data)
{
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  gint64 sat_3_cet = G_GINT64_CONSTANT (1774663200) * S;   /* 2026-03-28 02:00 UTC */
  gint64 sun_3_cest = G_GINT64_CONSTANT (1774746000) * S;  /* 2026-03-29 01:00 UTC */

  g_assert_nonnull (berlin);
  jobd_timers_set_time_zone (f->timers, berlin);
  f->now = sat_3_cet - 3600 * S;
  set (f, "daily", "a", "legacy:{\"H\":\"03\",\"i\":\"00\"}", FALSE);
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, sat_3_cet);
  f->now = sat_3_cet;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  /* Over the spring-forward night: 23 hours later, 03:00 local. */
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, sun_3_cest);
  /* The zone changes to UTC: 03:00 UTC, an hour from now. */
  jobd_timers_set_time_zone (f->timers, utc);
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, sat_3_cet + 3600 * S);
}

static void
test_calendar_over_dst (Fixture *f, gconstpointer data)
{
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  gint64 sun_0_cet = G_GINT64_CONSTANT (1774738800) * S;   /* 2026-03-28 23:00 UTC */
  gint64 mon_0_cest = G_GINT64_CONSTANT (1774821600) * S;  /* 2026-03-29 22:00 UTC */

  jobd_timers_set_time_zone (f->timers, berlin);
  f->now = sun_0_cet - 3600 * S;
  set (f, "daily", "a", "daily", FALSE);
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, sun_0_cet);
  f->now = sun_0_cet;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  /* The spring-forward day has 23 hours. */
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, mon_0_cest);
}

static void
test_persistent_catch_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  gint64 start = f->now;

  set (f, "p", "a", "every 10s", TRUE);
  set (f, "n", "b", "every 10s", FALSE);
  f->now = start + 10 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 2);
  g_clear_pointer (&f->timers, jobd_timers_free);     /* jobd stops */
  f->now = start + 65 * S;                             /* down over 5 fires */
  f->timers = open_timers (f, utc);
  set (f, "p", "a", "every 10s", TRUE);
  set (f, "n", "b", "every 10s", FALSE);
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  g_assert_cmpstr (f->fired->pdata[2], ==, "p a");
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  g_assert_cmpint (jobd_timers_get_job_next (f->timers, "n"), ==, f->now + 10 * S);
}

static void
test_removed_job_does_not_fire (Fixture *f, gconstpointer data)
{
  set (f, "gone", "a", "every 10s", FALSE);
  set (f, "stay", "b", "every 20s", FALSE);
  jobd_timers_remove_job (f->timers, "gone");
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, f->now + 20 * S);
  f->now += 10 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 0);
  g_assert_null (jobd_timers_get_log (f->timers, "gone", "a"));
}

static void
test_ten_thousand (Fixture *f, gconstpointer data)
{
  gint64 start = f->now;

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *job = g_strdup_printf ("job%05u", i);
      g_autofree char *spec = g_strdup_printf ("every %us", i == 7777 ? 5 : 3600 + i);

      set (f, job, "a", spec, FALSE);
    }
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, start + 5 * S);
  f->now = start + 5 * S;
  g_assert_cmpuint (jobd_timers_run_due (f->timers), ==, 1);
  g_assert_cmpstr (f->fired->pdata[0], ==, "job07777 a");
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, start + 10 * S);
  jobd_timers_remove_job (f->timers, "job07777");
  g_assert_cmpint (jobd_timers_get_next_wakeup (f->timers), ==, start + 3600 * S);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/timers/fires-once-on-time", test_fires_once_on_time);
  ADD ("/timers/clock-step-forward", test_clock_step_forward_fires_once);
  ADD ("/timers/clock-step-back", test_clock_step_back_does_not_repeat);
  ADD ("/timers/dst-and-zone-change", test_dst_and_zone_change);
  ADD ("/timers/calendar-over-dst", test_calendar_over_dst);
  ADD ("/timers/persistent", test_persistent_catch_up);
  ADD ("/timers/removed-job", test_removed_job_does_not_fire);
  ADD ("/timers/ten-thousand", test_ten_thousand);
  return g_test_run ();
}
