/* SPDX-License-Identifier: MIT */
/* jobd-legacy-condition.c — parsing, matching and next-fire computation of
 * the legacy scheduler's conditions (see jobd-legacy-condition.h).
 *
 * The search for the next firing walks calendar days (cheap GDate
 * arithmetic, no time zone) and only builds local times on days whose date
 * fields match, so even a yearly condition costs a few thousand integer
 * checks, never a walk over minutes.
 */
#include "jobd-legacy-condition.h"

#include <string.h>

#include "jobd-error.h"

#define HAS(c, f) (((c)->present & (1u << JOBD_COND_##f)) != 0)
#define BIT(f) (1u << JOBD_COND_##f)

#define MINUTE 60
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
/* U is bounded by the period of the finest other field; months and years
 * use their longest length, so U = 31 days is fine with only "m" given. */
#define MONTH_MAX (31 * DAY)
#define YEAR_MAX (366 * DAY)
/* Longest gap between two matching days of a satisfiable condition without
 * Y: 29 February around a non-leap century year is 8 years apart. */
#define SEARCH_DAYS (9 * 366)

static const char field_letters[JOBD_COND_N_FIELDS] = {
  'Y', 'm', 'd', 'H', 'i', 'N', 'W', 'z', 'U',
};

static const struct {
  gint64 min, max;
} field_range[JOBD_COND_N_FIELDS] = {
  [JOBD_COND_Y] = { 1970, 9999 },
  [JOBD_COND_m] = { 1, 12 },
  [JOBD_COND_d] = { 1, 31 },
  [JOBD_COND_H] = { 0, 23 },
  [JOBD_COND_i] = { 0, 59 },
  [JOBD_COND_N] = { 1, 7 },
  [JOBD_COND_W] = { 1, 53 },
  [JOBD_COND_z] = { 0, 365 },
  [JOBD_COND_U] = { MINUTE, YEAR_MAX },
};

/* The allowed combinations: a condition's fields are a subset of one. */
static const guint allowed_sets[] = {
  BIT (Y) | BIT (m) | BIT (d) | BIT (H) | BIT (i) | BIT (U),
  BIT (Y) | BIT (W) | BIT (N) | BIT (H) | BIT (i) | BIT (U),
  BIT (Y) | BIT (z) | BIT (H) | BIT (i) | BIT (U),
};

/* Fields from finest to coarsest (U is not a period field). */
static const JobdCondField finest_order[] = {
  JOBD_COND_i, JOBD_COND_H, JOBD_COND_d, JOBD_COND_N, JOBD_COND_z,
  JOBD_COND_W, JOBD_COND_m, JOBD_COND_Y,
};

/* The finest given field other than U, or JOBD_COND_N_FIELDS for none. */
static JobdCondField
finest_field (const JobdLegacyCondition *c)
{
  for (guint i = 0; i < G_N_ELEMENTS (finest_order); i++)
    if (c->present & (1u << finest_order[i]))
      return finest_order[i];
  return JOBD_COND_N_FIELDS;
}

static gint64
field_period (JobdCondField field)
{
  switch (field)
    {
    case JOBD_COND_i: return MINUTE;
    case JOBD_COND_H: return HOUR;
    case JOBD_COND_d:
    case JOBD_COND_N:
    case JOBD_COND_z: return DAY;
    case JOBD_COND_W: return 7 * DAY;
    case JOBD_COND_m: return MONTH_MAX;
    default: return YEAR_MAX;
    }
}

static int
field_from_name (const char *name)
{
  if (strlen (name) != 1)
    return -1;
  for (int f = 0; f < JOBD_COND_N_FIELDS; f++)
    if (field_letters[f] == name[0])
      return f;
  return -1;
}

static gboolean
parse_value (JobdCondField field, JsonNode *node, gint64 *value, GError **error)
{
  char letter = field_letters[field];
  guint64 parsed;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *value = json_node_get_int (node);
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);

      if (field == JOBD_COND_d && g_str_equal (text, "@t"))
        {
          *value = JOBD_COND_LAST_DAY;
          return TRUE;
        }
      /* Digits only: no sign, no spaces, nothing PHP would not print. */
      if (*text == '\0' || strlen (text) > 10 || strspn (text, "0123456789") != strlen (text)
          || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &parsed, NULL)
          || (field == JOBD_COND_Y && strlen (text) != 4))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "condition %c: \"%s\" is not a valid value", letter, text);
          return FALSE;
        }
      *value = (gint64) parsed;
    }
  else
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "condition %c: must be a string or an integer", letter);
      return FALSE;
    }

  if (*value < field_range[field].min || *value > field_range[field].max)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "condition %c: %" G_GINT64_FORMAT " is out of range %" G_GINT64_FORMAT
                   "..%" G_GINT64_FORMAT, letter, *value,
                   field_range[field].min, field_range[field].max);
      return FALSE;
    }
  return TRUE;
}

/* Do the date fields (all but H, i, U) match this calendar day? */
static gboolean
day_matches (const JobdLegacyCondition *c, const GDate *date)
{
  GDateYear year = g_date_get_year (date);
  GDateMonth month = g_date_get_month (date);

  if (HAS (c, Y) && year != c->value[JOBD_COND_Y])
    return FALSE;
  if (HAS (c, m) && month != c->value[JOBD_COND_m])
    return FALSE;
  if (HAS (c, d))
    {
      gint64 want = c->value[JOBD_COND_d] == JOBD_COND_LAST_DAY
        ? g_date_get_days_in_month (month, year) : c->value[JOBD_COND_d];

      if (g_date_get_day (date) != want)
        return FALSE;
    }
  if (HAS (c, N) && (gint64) g_date_get_weekday (date) != c->value[JOBD_COND_N])
    return FALSE;
  if (HAS (c, W) && g_date_get_iso8601_week_of_year (date) != c->value[JOBD_COND_W])
    return FALSE;
  if (HAS (c, z) && g_date_get_day_of_year (date) - 1 != c->value[JOBD_COND_z])
    return FALSE;
  return TRUE;
}

/* Is there any day the date fields match? With Y, within that year; else
 * within 28 years (the calendar's weekday pattern repeats after them). */
static gboolean
date_is_possible (const JobdLegacyCondition *c)
{
  GDate date;
  guint days;

  g_date_clear (&date, 1);
  if (HAS (c, Y))
    {
      g_date_set_dmy (&date, 1, G_DATE_JANUARY, (GDateYear) c->value[JOBD_COND_Y]);
      days = g_date_is_leap_year ((GDateYear) c->value[JOBD_COND_Y]) ? 366 : 365;
    }
  else
    {
      g_date_set_dmy (&date, 1, G_DATE_JANUARY, 2001);
      days = 28 * 366;
    }
  for (guint n = 0; n < days; n++, g_date_add_days (&date, 1))
    if (day_matches (c, &date))
      return TRUE;
  return FALSE;
}

static gboolean
check_combination (const JobdLegacyCondition *c, GError **error)
{
  JobdCondField finest;

  if (c->present == 0)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                           "condition: no field given");
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (allowed_sets); i++)
    if ((c->present & ~allowed_sets[i]) == 0)
      goto allowed;
  g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "condition: fields must come from {Y,m,d,H,i,U}, {Y,W,N,H,i,U} "
                       "or {Y,z,H,i,U}");
  return FALSE;

allowed:
  finest = finest_field (c);
  if (HAS (c, U)
      && (c->value[JOBD_COND_U] % MINUTE != 0
          || c->value[JOBD_COND_U] > field_period (finest)))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "condition U: %" G_GINT64_FORMAT " must be a multiple of 60 and at "
                   "most %" G_GINT64_FORMAT, c->value[JOBD_COND_U], field_period (finest));
      return FALSE;
    }
  if (!date_is_possible (c))
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                           "condition: no such date");
      return FALSE;
    }
  return TRUE;
}

gboolean
jobd_legacy_condition_parse (JsonObject *object,
                             JobdLegacyCondition *condition,
                             GError **error)
{
  JobdLegacyCondition c = { 0 };
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      int field = field_from_name (l->data);

      if (field < 0)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "condition: unknown field \"%s\"", (const char *) l->data);
          return FALSE;
        }
      if (!parse_value (field, json_object_get_member (object, l->data),
                        &c.value[field], error))
        return FALSE;
      c.present |= 1u << field;
    }
  if (!check_combination (&c, error))
    return FALSE;
  *condition = c;
  return TRUE;
}

gboolean
jobd_legacy_condition_equal (const JobdLegacyCondition *a,
                             const JobdLegacyCondition *b)
{
  if (a->present != b->present)
    return FALSE;
  for (int f = 0; f < JOBD_COND_N_FIELDS; f++)
    if ((a->present & (1u << f)) && a->value[f] != b->value[f])
      return FALSE;
  return TRUE;
}

static GDateTime *
local_time (GTimeZone *tz, gint64 unix_time)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_time);

  return utc != NULL ? g_date_time_to_timezone (utc, tz) : NULL;
}

static void
date_of (GDateTime *dt, GDate *date)
{
  g_date_clear (date, 1);
  g_date_set_dmy (date, g_date_time_get_day_of_month (dt),
                  g_date_time_get_month (dt), g_date_time_get_year (dt));
}

/* Unix time of the local wall-clock time on that day; a time in a DST gap
 * moves forward, as GLib adjusts it. */
static gint64
local_unix (GTimeZone *tz, const GDate *date, int hour, int minute)
{
  g_autoptr(GDateTime) dt = g_date_time_new (tz, g_date_get_year (date),
                                             g_date_get_month (date),
                                             g_date_get_day (date), hour, minute, 0);

  return dt != NULL ? g_date_time_to_unix (dt) : -1;
}

gboolean
jobd_legacy_condition_matches (const JobdLegacyCondition *c,
                               GTimeZone *tz,
                               gint64 unix_time)
{
  g_autoptr(GDateTime) dt = local_time (tz, unix_time);
  GDate date;

  if (dt == NULL)
    return FALSE;
  date_of (dt, &date);
  return day_matches (c, &date)
    && (!HAS (c, H) || g_date_time_get_hour (dt) == c->value[JOBD_COND_H])
    && (!HAS (c, i) || g_date_time_get_minute (dt) == c->value[JOBD_COND_i]);
}

/* Names the period of the finest field a local day/hour/minute is in, so
 * two times are in the same period exactly when their keys are equal. */
static gint64
period_key (JobdCondField finest, const GDate *date, int hour, int minute)
{
  gint64 year = g_date_get_year (date);
  gint64 month = g_date_get_month (date);
  gint64 day_key = (gint64) g_date_get_julian (date);
  guint week;

  switch (finest)
    {
    case JOBD_COND_i: return (day_key * 24 + hour) * 60 + minute;
    case JOBD_COND_H: return day_key * 24 + hour;
    case JOBD_COND_d:
    case JOBD_COND_N:
    case JOBD_COND_z: return day_key;
    case JOBD_COND_W:
      /* Week numbers belong to the ISO week-numbering year. */
      week = g_date_get_iso8601_week_of_year (date);
      if (month == 1 && week >= 52)
        year--;
      else if (month == 12 && week == 1)
        year++;
      return year * 54 + week;
    case JOBD_COND_m: return year * 13 + month;
    default: return year;
    }
}

static gint64
time_period_key (JobdCondField finest, GTimeZone *tz, gint64 unix_time)
{
  g_autoptr(GDateTime) dt = local_time (tz, unix_time);
  GDate date;

  if (dt == NULL)
    return G_MININT64;
  date_of (dt, &date);
  return period_key (finest, &date, g_date_time_get_hour (dt), g_date_time_get_minute (dt));
}

/* Without U: the first matching minute of a period, candidate by
 * candidate, on a day whose date fields match. */
static gint64
plain_fire_in_day (const JobdLegacyCondition *c, GTimeZone *tz, const GDate *day,
                   gint64 after, gint64 last_fire)
{
  JobdCondField finest = finest_field (c);
  gint64 last_key = last_fire >= 0 ? time_period_key (finest, tz, last_fire) : G_MININT64;
  int first_hour = HAS (c, H) ? (int) c->value[JOBD_COND_H] : 0;
  int last_hour = HAS (c, H) ? first_hour : (HAS (c, i) ? 23 : 0);

  if (!HAS (c, H) && !HAS (c, i))
    {
      GDate prev = *day;

      /* A period longer than a day began on an earlier matching day. */
      g_date_subtract_days (&prev, 1);
      if (day_matches (c, &prev)
          && period_key (finest, &prev, 0, 0) == period_key (finest, day, 0, 0))
        return -1;
    }

  for (int hour = first_hour; hour <= last_hour; hour++)
    {
      int minute = HAS (c, i) ? (int) c->value[JOBD_COND_i] : 0;
      gint64 t = local_unix (tz, day, hour, minute);
      g_autoptr(GDateTime) dt = local_time (tz, t);
      GDate got;

      if (t <= after || dt == NULL)
        continue;
      date_of (dt, &got);
      /* A wall-clock time skipped by DST does not exist that day; a day
       * that starts late (DST at midnight) still has its first minute. */
      if (g_date_compare (&got, day) != 0
          || ((HAS (c, H) || HAS (c, i))
              && (g_date_time_get_hour (dt) != hour || g_date_time_get_minute (dt) != minute))
          || !jobd_legacy_condition_matches (c, tz, t))
        continue;
      if (period_key (finest, &got, g_date_time_get_hour (dt),
                      g_date_time_get_minute (dt)) == last_key)
        continue;
      return t;
    }
  return -1;
}

/* Where U counts from for a time on this day: the start of the finest
 * other field's period (the epoch when U is alone). */
static gint64
interval_origin (const JobdLegacyCondition *c, GTimeZone *tz, const GDate *day, int hour)
{
  GDate origin = *day;

  switch (finest_field (c))
    {
    case JOBD_COND_i: return local_unix (tz, day, hour, (int) c->value[JOBD_COND_i]);
    case JOBD_COND_H: return local_unix (tz, day, hour, 0);
    case JOBD_COND_d:
    case JOBD_COND_N:
    case JOBD_COND_z: break;
    case JOBD_COND_W:
      g_date_subtract_days (&origin, g_date_get_weekday (day) - 1);
      break;
    case JOBD_COND_m:
      g_date_set_day (&origin, 1);
      break;
    case JOBD_COND_Y:
      g_date_set_dmy (&origin, 1, G_DATE_JANUARY, g_date_get_year (day));
      break;
    default:
      return 0;
    }
  return local_unix (tz, &origin, 0, 0);
}

/* With U: origin + k·U within [lo, hi), matching, U after the last firing. */
static gint64
interval_fire_in_range (const JobdLegacyCondition *c, GTimeZone *tz, gint64 origin,
                        gint64 lo, gint64 hi, gint64 after, gint64 last_fire)
{
  gint64 u = c->value[JOBD_COND_U];
  gint64 t;

  lo = MAX (lo, after + 1);
  if (last_fire >= 0)
    lo = MAX (lo, last_fire + u);
  if (lo < origin)
    lo = origin;
  t = origin + ((lo - origin + u - 1) / u) * u;
  for (; t < hi; t += u)
    if (jobd_legacy_condition_matches (c, tz, t))
      return t;
  return -1;
}

static gint64
interval_fire_in_day (const JobdLegacyCondition *c, GTimeZone *tz, const GDate *day,
                      gint64 after, gint64 last_fire)
{
  GDate next = *day;
  gint64 day_start = local_unix (tz, day, 0, 0);
  gint64 day_end;
  int first_hour = 0, last_hour = 0;

  g_date_add_days (&next, 1);
  day_end = local_unix (tz, &next, 0, 0);

  /* Finest other field H or i: one range per matching hour or minute. */
  if (HAS (c, H) || HAS (c, i))
    {
      first_hour = HAS (c, H) ? (int) c->value[JOBD_COND_H] : 0;
      last_hour = HAS (c, H) ? first_hour : 23;
    }
  for (int hour = first_hour; hour <= last_hour; hour++)
    {
      gint64 origin = interval_origin (c, tz, day, hour);
      gint64 lo = day_start, hi = day_end, t;

      if (HAS (c, i))
        {
          lo = origin;
          hi = origin + MINUTE;
        }
      else if (HAS (c, H))
        {
          lo = origin;
          hi = MIN (origin + HOUR, day_end);
        }
      t = interval_fire_in_range (c, tz, origin, lo, hi, after, last_fire);
      if (t >= 0)
        return t;
    }
  return -1;
}

gint64
jobd_legacy_condition_next_fire (const JobdLegacyCondition *c,
                                 GTimeZone *tz,
                                 gint64 after,
                                 gint64 last_fire)
{
  g_autoptr(GDateTime) start = local_time (tz, after + 1);
  GDate day;

  if (start == NULL)
    return -1;
  date_of (start, &day);
  if (HAS (c, Y))
    {
      if (g_date_get_year (&day) > c->value[JOBD_COND_Y])
        return -1;
      if (g_date_get_year (&day) < c->value[JOBD_COND_Y])
        g_date_set_dmy (&day, 1, G_DATE_JANUARY, (GDateYear) c->value[JOBD_COND_Y]);
    }

  for (guint n = 0; n < SEARCH_DAYS; n++, g_date_add_days (&day, 1))
    {
      gint64 t;

      if (HAS (c, Y) && g_date_get_year (&day) > c->value[JOBD_COND_Y])
        return -1;
      if (!day_matches (c, &day))
        continue;
      t = HAS (c, U) ? interval_fire_in_day (c, tz, &day, after, last_fire)
                     : plain_fire_in_day (c, tz, &day, after, last_fire);
      if (t >= 0)
        return t;
    }
  return -1;
}
