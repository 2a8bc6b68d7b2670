/* SPDX-License-Identifier: MIT */
/* fuzz-condition.c — libFuzzer target for the legacy scheduler's condition
 * parser and its firing rule (jobd-legacy-condition.c).
 *
 * The input is the JSON text of a condition, as SCHEDULER.ADD carries it.
 * It is read strictly: inputs that are not strict JSON objects are skipped
 * (the legacy codec refuses them before the scheduler sees them). What the
 * parser accepts must:
 * - read back equal when written with string values and with integer ones;
 * - from a few fixed instants and time zones (with DST changes), give a next
 *   firing time after the instant, at which the condition matches, and not
 *   fire again at the same second.
 * Anything else aborts.
 *
 * Seed corpus: tests/fuzz/corpus-condition/ (made by tests/fuzz/make-seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jobd-legacy-condition.h"
#include "strict-json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char field_letters[JOBD_COND_N_FIELDS] = "YmdHiNWzU";

G_GNUC_NORETURN static void
die (const char *what, const uint8_t *data, size_t size, const char *detail)
{
  fprintf (stderr, "condition: %s\n  input: %.*s\n  %s\n", what, (int) MIN (size, 4000),
           (const char *) data, detail ? detail : "");
  abort ();
}

/* The condition written back as JSON, values as strings or as integers. */
static JsonObject *
condition_to_json (const JobdLegacyCondition *c, gboolean as_strings)
{
  JsonObject *object = json_object_new ();

  for (int f = 0; f < JOBD_COND_N_FIELDS; f++)
    {
      char key[2] = { field_letters[f], '\0' };

      if (!(c->present & (1u << f)))
        continue;
      if (f == JOBD_COND_d && c->value[f] == JOBD_COND_LAST_DAY)
        json_object_set_string_member (object, key, "@t");
      else if (as_strings)
        {
          g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, c->value[f]);
          json_object_set_string_member (object, key, text);
        }
      else
        json_object_set_int_member (object, key, c->value[f]);
    }
  return object;
}

static void
check_round_trip (const JobdLegacyCondition *c, gboolean as_strings,
                  const uint8_t *data, size_t size)
{
  g_autoptr(JsonObject) object = condition_to_json (c, as_strings);
  JobdLegacyCondition back = { 0 };
  g_autoptr(GError) error = NULL;

  if (!jobd_legacy_condition_parse (object, &back, &error))
    die (as_strings ? "written with strings, refused" : "written with integers, refused",
         data, size, error->message);
  if (!jobd_legacy_condition_equal (c, &back) || !jobd_legacy_condition_equal (&back, c))
    die ("read back different", data, size, NULL);
}

static void
check_firing (const JobdLegacyCondition *c, GTimeZone *tz, gint64 after,
              const uint8_t *data, size_t size)
{
  gint64 t = jobd_legacy_condition_next_fire (c, tz, after, -1);
  gint64 t2;
  g_autofree char *where = NULL;

  if (t == -1)
    return;
  where = g_strdup_printf ("tz %s, after %" G_GINT64_FORMAT ", fires %" G_GINT64_FORMAT,
                           g_time_zone_get_identifier (tz), after, t);
  if (t <= after)
    die ("next firing is not after the instant", data, size, where);
  if (!jobd_legacy_condition_matches (c, tz, t))
    die ("fires at a time it does not match", data, size, where);
  t2 = jobd_legacy_condition_next_fire (c, tz, t - 1, t);
  if (t2 != -1 && t2 <= t)
    die ("fires twice at the same time", data, size, where);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static GTimeZone *zones[3];
  static const gint64 instants[] = {
    0,             /* the epoch */
    1711846799,    /* 2024-03-31 00:59:59 UTC: Berlin springs forward */
    1729990799,    /* 2024-10-27 00:59:59 UTC: Berlin falls back */
    1798761599,    /* 2026-12-31 23:59:59 UTC: end of a year with ISO week 53 */
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JobdLegacyCondition condition = { 0 };
  const char *problem;
  gsize offset;

  if (zones[0] == NULL)
    {
      zones[0] = g_time_zone_new_utc ();
      zones[1] = g_time_zone_new_identifier ("Europe/Berlin");
      zones[2] = g_time_zone_new_identifier ("Australia/Lord_Howe");   /* 30-minute DST */
      for (guint i = 1; i < G_N_ELEMENTS (zones); i++)
        if (zones[i] == NULL)
          zones[i] = g_time_zone_new_utc ();
    }

  if (!strict_json_check ((const char *) data, size, &problem, &offset)
      || !json_parser_load_from_data (parser, (const char *) data, size, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return 0;
  if (!jobd_legacy_condition_parse (json_node_get_object (json_parser_get_root (parser)),
                                    &condition, NULL))
    return 0;

  check_round_trip (&condition, TRUE, data, size);
  check_round_trip (&condition, FALSE, data, size);
  for (guint z = 0; z < G_N_ELEMENTS (zones); z++)
    for (guint i = 0; i < G_N_ELEMENTS (instants); i++)
      check_firing (&condition, zones[z], instants[i], data, size);
  return 0;
}
