/* SPDX-License-Identifier: MIT */
/* jobd-schedule.c — schedule entries and specs (see jobd-schedule.h). */
#include "jobd-schedule.h"

#include <string.h>

#include "jobd-error.h"
#include "jobd-parse.h"

#define ID_MAX 64

JobdScheduleEntry *
jobd_schedule_entry_new (const char *id, const char *spec, gboolean enabled)
{
  JobdScheduleEntry *entry = g_new0 (JobdScheduleEntry, 1);

  entry->id = g_strdup (id);
  entry->spec = g_strdup (spec);
  entry->enabled = enabled;
  return entry;
}

JobdScheduleEntry *
jobd_schedule_entry_copy (const JobdScheduleEntry *entry)
{
  return jobd_schedule_entry_new (entry->id, entry->spec, entry->enabled);
}

void
jobd_schedule_entry_free (JobdScheduleEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_free (entry->spec);
  g_free (entry);
}

GPtrArray *
jobd_schedule_entries_copy (const GPtrArray *entries)
{
  GPtrArray *copy;

  if (entries == NULL)
    return NULL;
  copy = g_ptr_array_new_full (entries->len, (GDestroyNotify) jobd_schedule_entry_free);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (copy, jobd_schedule_entry_copy (entries->pdata[i]));
  return copy;
}

gboolean
jobd_schedule_id_is_valid (const char *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  return len > 0 && len <= ID_MAX && strspn (id, "0123456789abcdefABCDEF-") == len;
}

void
jobd_spec_free (JobdSpec *spec)
{
  if (spec == NULL)
    return;
  g_clear_pointer (&spec->calendar, jobd_calendar_free);
  g_clear_pointer (&spec->condition_json, json_object_unref);
  g_free (spec);
}

static gboolean
parse_every (JobdSpec *spec, const char *text, GError **error)
{
  const char *duration = text + strlen (JOBD_SCHEDULE_EVERY_PREFIX);
  g_autoptr(GError) local = NULL;
  guint32 ms;

  while (g_ascii_isspace (*duration))
    duration++;
  if (!jobd_parse_duration_ms (duration, &ms, &local))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "\"%s\": bad interval \"%s\": %s", text, duration, local->message);
      return FALSE;
    }
  if (ms < 1000)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "\"%s\": interval \"%s\" is shorter than 1s", text, duration);
      return FALSE;
    }
  spec->kind = JOBD_SPEC_EVERY;
  spec->interval_usec = (gint64) ms * 1000;
  return TRUE;
}

static gboolean
parse_legacy (JobdSpec *spec, const char *text, GError **error)
{
  const char *json = text + strlen (JOBD_SCHEDULE_LEGACY_PREFIX);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, json, -1, &local)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "\"%s\": the legacy condition \"%s\" is not a JSON object%s%s", text, json,
                   local != NULL ? ": " : "", local != NULL ? local->message : "");
      return FALSE;
    }
  if (!jobd_legacy_condition_parse (json_node_get_object (root), &spec->condition, &local))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "\"%s\": legacy condition: %s", text, local->message);
      return FALSE;
    }
  spec->kind = JOBD_SPEC_LEGACY;
  spec->condition_json = json_object_ref (json_node_get_object (root));
  return TRUE;
}

JobdSpec *
jobd_spec_parse (const char *text, gint64 now_usec, GError **error)
{
  g_autoptr(JobdSpec) spec = g_new0 (JobdSpec, 1);
  gboolean ok;

  if (text == NULL || *text == '\0')
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "empty schedule");
      return NULL;
    }
  if (g_str_has_prefix (text, JOBD_SCHEDULE_LEGACY_PREFIX))
    ok = parse_legacy (spec, text, error);
  else if (g_str_has_prefix (text, JOBD_SCHEDULE_EVERY_PREFIX))
    ok = parse_every (spec, text, error);
  else
    {
      spec->kind = JOBD_SPEC_CALENDAR;
      spec->calendar = jobd_calendar_parse (text, error);
      ok = spec->calendar != NULL;
    }
  if (!ok)
    return NULL;
  if (jobd_spec_next (spec, now_usec, -1, NULL) < 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "\"%s\": never fires (every time it names is in the past)", text);
      return NULL;
    }
  return g_steal_pointer (&spec);
}

gint64
jobd_spec_next (const JobdSpec *spec, gint64 after_usec, gint64 last_usec, GTimeZone *tz)
{
  g_autoptr(GTimeZone) local = NULL;
  gint64 next;

  switch (spec->kind)
    {
    case JOBD_SPEC_EVERY:
      if (last_usec < 0)
        return after_usec + spec->interval_usec;
      next = last_usec + spec->interval_usec;
      /* Late (jobd down, clock stepped forward): one interval from now,
       * not a fire for every interval missed. */
      return next > after_usec ? next : after_usec + spec->interval_usec;
    case JOBD_SPEC_LEGACY:
      if (tz == NULL)
        tz = local = g_time_zone_new_local ();
      next = jobd_legacy_condition_next_fire (&spec->condition, tz,
                                              after_usec / G_USEC_PER_SEC
                                              - (after_usec % G_USEC_PER_SEC < 0),
                                              last_usec < 0 ? -1 : last_usec / G_USEC_PER_SEC);
      return next < 0 ? -1 : next * G_USEC_PER_SEC;
    case JOBD_SPEC_CALENDAR:
    default:
      return jobd_calendar_next (spec->calendar, after_usec, tz);
    }
}

char *
jobd_spec_from_legacy_condition (JsonObject *condition)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), condition);
  g_autofree char *json = json_to_string (node, FALSE);

  return g_strconcat (JOBD_SCHEDULE_LEGACY_PREFIX, json, NULL);
}
