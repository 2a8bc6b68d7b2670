/* SPDX-License-Identifier: MIT */
/* test-schedule.c — schedule specs (jobd-schedule.c) and the `schedules`
 * setting: what parses, what is refused and with which part named, when
 * "every" and legacy specs fire, ids given and kept, JSON round trip. */
#include <glib.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-schedule.h"
#include "jobd-settings.h"

#define S G_GINT64_CONSTANT (1000000)
/* 2026-05-10 12:00:00 UTC */
#define NOW (G_GINT64_CONSTANT (1778414400) * S)

static void
test_refused (void)
{
  static const struct { const char *spec, *part; } bad[] = {
    { "every 0s", "0s" }, { "every soon", "soon" }, { "every 500ms", "500ms" },
    { "legacy:{\"H\":\"25\"}", "H" }, { "legacy:[1]", "[1]" }, { "legacy:", "legacy" },
    { "legacy:{\"Y\":\"2020\"}", "never" }, { "", "empty" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdSpec) spec = jobd_spec_parse (bad[i].spec, NOW, &error);

      g_assert_null (spec);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_test_message ("%s → %s", bad[i].spec, error->message);
      g_assert_nonnull (strstr (error->message, bad[i].part));
    }
}

static void
test_every (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSpec) spec = jobd_spec_parse ("every 5min", NOW, &error);

  g_assert_no_error (error);
  g_assert_cmpint (spec->kind, ==, JOBD_SPEC_EVERY);
  /* From the last fire; never fired: from now. */
  g_assert_cmpint (jobd_spec_next (spec, NOW, -1, NULL), ==, NOW + 300 * S);
  g_assert_cmpint (jobd_spec_next (spec, NOW, NOW - 100 * S, NULL), ==, NOW + 200 * S);
  /* Late by more than an interval: one interval from now, not a burst. */
  g_assert_cmpint (jobd_spec_next (spec, NOW, NOW - 1000 * S, NULL), ==, NOW + 300 * S);
}

static void
test_legacy (void)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSpec) spec = jobd_spec_parse ("legacy:{\"H\":\"03\",\"i\":\"00\"}", NOW, &error);

  g_assert_no_error (error);
  g_assert_cmpint (spec->kind, ==, JOBD_SPEC_LEGACY);
  /* 2026-05-11 03:00 UTC, then (fired) a day later. */
  g_assert_cmpint (jobd_spec_next (spec, NOW, -1, utc), ==, G_GINT64_CONSTANT (1778468400) * S);
  g_assert_cmpint (jobd_spec_next (spec, G_GINT64_CONSTANT (1778468400) * S,
                                   G_GINT64_CONSTANT (1778468400) * S, utc),
                   ==, G_GINT64_CONSTANT (1778554800) * S);
}

static GVariant *
entries (const char *text)
{
  return g_variant_ref_sink (g_variant_new_parsed (text));
}

static void
test_setting_ids (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) first = entries ("{'schedules': <[{'spec': <'every 1h'>}]>}");
  g_autoptr(GVariant) second = entries ("{'schedules': <[{'spec': <'every 2h'>},"
                                        " {'spec': <'every 1h'>, 'enabled': <false>}]>}");
  g_autoptr(GVariant) dup = entries ("{'schedules': <[{'id': <'ab'>, 'spec': <'every 1h'>},"
                                     " {'id': <'ab'>, 'spec': <'every 2h'>}]>}");
  g_autoptr(GVariant) unknown = entries ("{'schedules': <[{'spec': <'every 1h'>, 'x': <1>}]>}");
  g_autofree char *id = NULL;
  JobdScheduleEntry *e;

  g_assert_true (jobd_settings_merge_variant (s, first, 0, &error));
  g_assert_no_error (error);
  e = s->schedules->pdata[0];
  g_assert_true (g_uuid_string_is_valid (e->id));
  g_assert_true (e->enabled);
  id = g_strdup (e->id);
  /* Sent again without ids: the unchanged spec keeps its id. */
  g_assert_true (jobd_settings_merge_variant (s, second, 0, &error));
  g_assert_cmpuint (s->schedules->len, ==, 2);
  g_assert_cmpstr (((JobdScheduleEntry *) s->schedules->pdata[1])->id, ==, id);
  g_assert_false (((JobdScheduleEntry *) s->schedules->pdata[1])->enabled);
  g_assert_cmpstr (((JobdScheduleEntry *) s->schedules->pdata[0])->id, !=, id);
  g_assert_false (jobd_settings_merge_variant (s, dup, 0, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "schedules[1]"));
  g_clear_error (&error);
  g_assert_false (jobd_settings_merge_variant (s, unknown, 0, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_cmpuint (s->schedules->len, ==, 2);
}

static void
test_setting_json_round_trip (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) in = entries ("{'schedules': <[{'spec': <'legacy:{\"N\":\"1\"}'>}]>,"
                                    " 'overlap': <'restart'>, 'persistent': <true>,"
                                    " 'randomized-delay': <uint32 1500>}");
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autoptr(JsonNode) json_back = NULL;

  g_assert_true (jobd_settings_merge_variant (s, in, 0, &error));
  g_assert_no_error (error);
  json = jobd_settings_to_json (s);
  g_assert_true (jobd_settings_merge_json (back, json_node_get_object (json),
                                           JOBD_SETTINGS_FLAGS_STORED, &error));
  g_assert_no_error (error);
  json_back = jobd_settings_to_json (back);
  a = json_to_string (json, FALSE);
  b = json_to_string (json_back, FALSE);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpint (back->overlap, ==, JOBD_OVERLAP_RESTART);
  g_assert_true (back->persistent);
  g_assert_cmpuint (back->randomized_delay_ms, ==, 1500);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schedule/refused", test_refused);
  g_test_add_func ("/schedule/every", test_every);
  g_test_add_func ("/schedule/legacy", test_legacy);
  g_test_add_func ("/schedule/setting/ids", test_setting_ids);
  g_test_add_func ("/schedule/setting/json-round-trip", test_setting_json_round_trip);
  return g_test_run ();
}
