/* SPDX-License-Identifier: MIT */
/* jobd-calendar.c — systemd.time(7) calendar expressions (see jobd-calendar.h).
 *
 * The grammar, the normalization and the search for the next elapse follow
 * systemd's calendarspec.c (v252, the version on the hosts jobd targets), so
 * an expression fires when the same OnCalendar= would. The search works on
 * broken-down local time like systemd's, which goes through mktime(3); the
 * tiny mktime below reproduces glibc's choices where local time is not
 * one-to-one: a time in a skipped hour moves forward by the gap, and a time
 * in a repeated hour takes the UTC offset glibc would take (the one of the
 * time last converted, which is the earlier occurrence when the search comes
 * from before).
 */
#include "config.h"

#include "jobd-calendar.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jobd-error.h"

#define USEC_PER_SEC 1000000
#define BITS_WEEKDAYS 127
#define MIN_YEAR 1970
#define MAX_YEAR 2199
/* Like systemd: a bound on the values of one field and on the search. */
#define COMPONENTS_MAX 240
#define MAX_ITERATIONS 1000

typedef struct {
  int start;
  int stop;   /* -1: no range */
  int repeat; /* 0: no repetition */
  int pos;    /* where the value is written in the text, for messages */
  int len;
} Component;

/* n == 0 is "*" (any value), except for seconds where "*" is 0/1. */
typedef struct {
  Component *items;
  int n;
} Chain;

enum { F_YEAR, F_MONTH, F_DAY, F_HOUR, F_MINUTE, F_USEC, N_FIELDS };

struct _JobdCalendar {
  int weekdays_bits; /* bit 0 = Monday; -1 = any day */
  gboolean end_of_month;
  gboolean utc;
  char *timezone;    /* IANA name, NULL for the local zone or UTC */
  GTimeZone *zone;   /* loaded `timezone` */
  Chain field[N_FIELDS];
};

static const char *const field_names[N_FIELDS] = {
  "year", "month", "day", "hour", "minute", "second",
};

void
jobd_calendar_free (JobdCalendar *calendar)
{
  if (calendar == NULL)
    return;
  for (int f = 0; f < N_FIELDS; f++)
    g_free (calendar->field[f].items);
  g_free (calendar->timezone);
  if (calendar->zone != NULL)
    g_time_zone_unref (calendar->zone);
  g_free (calendar);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

typedef struct {
  const char *text;  /* the whole expression, as given */
  const char *p;     /* the part being parsed (a copy without the zone) */
  const char *base;  /* start of that copy: p - base is an offset in text */
  GError **error;
} Parser;

static char *
quote (const char *s, gsize len)
{
  g_autofree char *part = g_strndup (s, len);
  g_autofree char *escaped = g_strescape (part, NULL);

  return g_strdup_printf ("\"%s\"", escaped);
}

static gsize
token_length (const char *at)
{
  gsize n = strcspn (at, " ");

  return n > 0 ? n : strlen (at);
}

/* Fails with a message that ends quoting the whole expression. */
G_GNUC_PRINTF (2, 3) static gboolean
fail (Parser *parser, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;
  g_autofree char *whole = quote (parser->text, strlen (parser->text));

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (parser->error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "%s in %s", what, whole);
  return FALSE;
}

/* Fails quoting the text from `at` to the next space. */
static gboolean
fail_at (Parser *parser, const char *at, const char *what)
{
  g_autofree char *token = NULL;

  if (*at == '\0')
    return fail (parser, "%s at the end", what);
  token = quote (at, token_length (at));
  return fail (parser, "%s at %s", what, token);
}

static gboolean
fail_component (Parser *parser, int field, const Component *c, const char *what)
{
  g_autofree char *token = quote (parser->base + c->pos, c->len);

  return fail (parser, "%s %s %s", field_names[field], token, what);
}

static void
chain_add (Chain *chain, Component c)
{
  chain->items = g_renew (Component, chain->items, chain->n + 1);
  chain->items[chain->n++] = c;
}

static void
chain_const (Chain *chain, int value)
{
  chain_add (chain, (Component) { .start = value, .stop = -1, .repeat = 0 });
}

static int
starts_with_no_case (const char *s, const char *prefix)
{
  return g_ascii_strncasecmp (s, prefix, strlen (prefix)) == 0;
}

/* "Mon", "Monday", lists and ranges; like systemd, nothing when the text does
 * not start with a weekday. */
static gboolean
parse_weekdays (Parser *parser, JobdCalendar *c)
{
  static const struct { const char *name; int nr; } days[] = {
    { "Monday", 0 }, { "Mon", 0 }, { "Tuesday", 1 }, { "Tue", 1 },
    { "Wednesday", 2 }, { "Wed", 2 }, { "Thursday", 3 }, { "Thu", 3 },
    { "Friday", 4 }, { "Fri", 4 }, { "Saturday", 5 }, { "Sat", 5 },
    { "Sunday", 6 }, { "Sun", 6 },
  };
  int from = -1;
  gboolean first = TRUE;

  for (;;)
    {
      const char *at = parser->p;
      gsize i, skip = 0;

      for (i = 0; i < G_N_ELEMENTS (days); i++)
        {
          if (!starts_with_no_case (at, days[i].name))
            continue;
          skip = strlen (days[i].name);
          if (strchr ("-., ", at[skip]) == NULL) /* also matches '\0' */
            return fail_at (parser, at, "unknown weekday");
          c->weekdays_bits |= 1 << days[i].nr;
          if (from >= 0)
            {
              if (from > days[i].nr)
                return fail_at (parser, at, "weekday range goes backwards");
              for (int j = from + 1; j < days[i].nr; j++)
                c->weekdays_bits |= 1 << j;
            }
          parser->p += skip;
          break;
        }
      if (i >= G_N_ELEMENTS (days))
        {
          if (first)
            return TRUE;
          return fail_at (parser, at, g_ascii_isalpha (*at) ? "unknown weekday"
                                                            : "expected a weekday");
        }
      if (*parser->p == '\0')
        return TRUE;
      if (*parser->p == ' ')
        {
          parser->p += strspn (parser->p, " ");
          return TRUE;
        }
      if (*parser->p == '.')
        {
          if (from >= 0 || parser->p[1] != '.')
            return fail_at (parser, at, "bad weekday range");
          from = days[i].nr;
          parser->p += 2;
        }
      else if (*parser->p == '-')
        {
          if (from >= 0)
            return fail_at (parser, at, "bad weekday range");
          from = days[i].nr;
          parser->p += 1;
        }
      else if (*parser->p == ',')
        {
          from = -1;
          parser->p += 1;
        }
      if (*parser->p == '\0' || *parser->p == ' ')
        {
          parser->p += strspn (parser->p, " ");
          if (from >= 0)
            return fail_at (parser, at, "open weekday range");
          return TRUE;
        }
      first = FALSE;
    }
}

/* A decimal number; for seconds, with an optional fraction (µs). */
static gboolean
parse_decimal (Parser *parser, const char **p, gboolean usec, int *ret)
{
  const char *s = *p;
  guint64 value = 0;

  if (!g_ascii_isdigit (*s))
    return fail_at (parser, s, g_ascii_isalpha (*s) ? "unknown word" : "expected a number");
  for (; g_ascii_isdigit (*s); s++)
    {
      value = value * 10 + (guint64) (*s - '0');
      if (value > INT_MAX)
        return fail_at (parser, *p, "number too large");
    }
  if (usec)
    {
      value *= USEC_PER_SEC;
      /* One "." is a decimal point, but ".." is a range. */
      if (s[0] == '.' && s[1] != '.')
        {
          guint64 add = 0;
          int digits = 0;

          s++;
          if (!g_ascii_isdigit (*s))
            return fail_at (parser, *p, "expected digits after the decimal point");
          /* Microseconds, rounded on the 7th digit, like systemd. */
          for (; digits < 6 && g_ascii_isdigit (*s); s++, digits++)
            add = add * 10 + (guint64) (*s - '0');
          for (; digits < 6; digits++)
            add *= 10;
          if (*s >= '5' && *s <= '9')
            add++;
          s += strspn (s, "0123456789");
          value += add;
        }
      if (value > INT_MAX)
        return fail_at (parser, *p, "number too large");
    }
  *ret = (int) value;
  *p = s;
  return TRUE;
}

/* VALUE[..STOP][/REPEAT][,...] or "*". */
static gboolean
parse_chain (Parser *parser, gboolean usec, Chain *chain)
{
  const char *s = parser->p;

  if (*s == '*')
    {
      if (usec)
        chain_add (chain, (Component) { .start = 0, .stop = -1, .repeat = USEC_PER_SEC });
      parser->p = s + 1;
      return TRUE;
    }
  for (;;)
    {
      Component c = { .stop = -1, .pos = s - parser->base };

      if (chain->n >= COMPONENTS_MAX)
        return fail_at (parser, s, "too many values");
      if (!parse_decimal (parser, &s, usec, &c.start))
        return FALSE;
      if (s[0] == '.' && s[1] == '.')
        {
          s += 2;
          if (!parse_decimal (parser, &s, usec, &c.stop))
            return FALSE;
          c.repeat = usec ? USEC_PER_SEC : 1;
        }
      if (*s == '/')
        {
          const char *r = ++s;

          if (!parse_decimal (parser, &s, usec, &c.repeat))
            return FALSE;
          if (c.repeat == 0)
            return fail_at (parser, r, "repetition 0");
        }
      else if (usec && c.stop >= 0 && c.start + c.repeat > c.stop)
        /* Without a repetition, a range of seconds steps by 1 s: refuse
         * one shorter than that, as systemd does. */
        return fail_at (parser, parser->base + c.pos, "range of seconds shorter than 1 s");
      if (strchr (" ,-~:", *s) == NULL)
        return fail_at (parser, s, "unexpected text");
      c.len = s - parser->base - c.pos;
      chain_add (chain, c);
      if (*s != ',')
        break;
      s++;
    }
  parser->p = s;
  return TRUE;
}

static gboolean
parse_at_timestamp (Parser *parser, JobdCalendar *c)
{
  const char *s = parser->p + 1;
  guint64 value = 0;
  g_autoptr(GDateTime) dt = NULL;

  if (!g_ascii_isdigit (*s))
    return fail_at (parser, parser->p, "expected seconds since the epoch");
  for (; g_ascii_isdigit (*s); s++)
    {
      value = value * 10 + (guint64) (*s - '0');
      if (value > G_MAXINT64 / 10)
        return fail_at (parser, parser->p, "number too large");
    }
  dt = g_date_time_new_from_unix_utc ((gint64) value);
  if (dt == NULL)
    return fail_at (parser, parser->p, "time out of range");
  {
    int values[N_FIELDS] = {
      g_date_time_get_year (dt), g_date_time_get_month (dt),
      g_date_time_get_day_of_month (dt), g_date_time_get_hour (dt),
      g_date_time_get_minute (dt), g_date_time_get_second (dt) * USEC_PER_SEC,
    };

    /* Each field points at the whole "@..." for messages. */
    for (int f = 0; f < N_FIELDS; f++)
      chain_add (&c->field[f], (Component) { .start = values[f], .stop = -1,
                                             .pos = parser->p - parser->base,
                                             .len = s - parser->p });
  }
  c->utc = TRUE;
  parser->p = s;
  return TRUE;
}

/* [[YEAR-]MONTH-DAY] or [[YEAR-]MONTH~DAY]. *done when the date was an
 * @timestamp, which has its time of day. */
static gboolean
parse_date (Parser *parser, JobdCalendar *c, gboolean *done)
{
  Chain first = { 0 }, second = { 0 }, third = { 0 };
  const char *saved = parser->p;

  *done = FALSE;
  if (*parser->p == '\0')
    return TRUE;
  if (*parser->p == '@')
    {
      *done = TRUE;
      return parse_at_timestamp (parser, c);
    }
  if (!parse_chain (parser, FALSE, &first))
    goto fail;
  /* The end, or a ':': that was a time, not a date. */
  if (*parser->p == '\0' || *parser->p == ':')
    {
      g_free (first.items);
      parser->p = saved;
      return TRUE;
    }
  if (*parser->p == '~')
    c->end_of_month = TRUE;
  else if (*parser->p != '-')
    {
      fail_at (parser, parser->p, "expected \"-\" in the date");
      goto fail;
    }
  parser->p++;
  if (!parse_chain (parser, FALSE, &second))
    goto fail;
  if (*parser->p == '\0' || *parser->p == ' ')
    {
      parser->p += strspn (parser->p, " ");
      c->field[F_MONTH] = first;
      c->field[F_DAY] = second;
      return TRUE;
    }
  if (c->end_of_month)
    {
      fail_at (parser, parser->p, "\"~\" must be between month and day");
      goto fail;
    }
  if (*parser->p == '~')
    c->end_of_month = TRUE;
  else if (*parser->p != '-')
    {
      fail_at (parser, parser->p, "expected \"-\" in the date");
      goto fail;
    }
  parser->p++;
  if (!parse_chain (parser, FALSE, &third))
    goto fail;
  if (*parser->p != '\0' && *parser->p != ' ')
    {
      fail_at (parser, parser->p, "unexpected text after the date");
      goto fail;
    }
  parser->p += strspn (parser->p, " ");
  c->field[F_YEAR] = first;
  c->field[F_MONTH] = second;
  c->field[F_DAY] = third;
  return TRUE;

fail:
  g_free (first.items);
  g_free (second.items);
  g_free (third.items);
  return FALSE;
}

/* HOUR:MINUTE[:SECOND]; nothing at all is 00:00:00. */
static gboolean
parse_time (Parser *parser, JobdCalendar *c)
{
  if (*parser->p == '\0')
    {
      chain_const (&c->field[F_HOUR], 0);
      chain_const (&c->field[F_MINUTE], 0);
      chain_const (&c->field[F_USEC], 0);
      return TRUE;
    }
  if (!parse_chain (parser, FALSE, &c->field[F_HOUR]))
    return FALSE;
  if (*parser->p != ':')
    return fail_at (parser, parser->p, "expected \":\" in the time");
  parser->p++;
  if (!parse_chain (parser, FALSE, &c->field[F_MINUTE]))
    return FALSE;
  if (*parser->p == '\0')
    {
      chain_const (&c->field[F_USEC], 0);
      return TRUE;
    }
  if (*parser->p != ':')
    return fail_at (parser, parser->p, "expected \":\" in the time");
  parser->p++;
  if (!parse_chain (parser, TRUE, &c->field[F_USEC]))
    return FALSE;
  if (*parser->p != '\0')
    return fail_at (parser, parser->p, "unexpected text after the time");
  return TRUE;
}

static gboolean
parse_shorthand (const char *p, JobdCalendar *c)
{
  static const struct { const char *name; const char *months; int day; int hour; int minute; int weekly; } words[] = {
    { "minutely", NULL, -1, -1, -1, 0 },
    { "hourly", NULL, -1, -1, 0, 0 },
    { "daily", NULL, -1, 0, 0, 0 },
    { "weekly", NULL, -1, 0, 0, 1 },
    { "monthly", NULL, 1, 0, 0, 0 },
    { "annually", "\1", 1, 0, 0, 0 },
    { "yearly", "\1", 1, 0, 0, 0 },
    { "anually", "\1", 1, 0, 0, 0 },
    { "quarterly", "\1\4\7\12", 1, 0, 0, 0 },
    { "biannually", "\1\7", 1, 0, 0, 0 },
    { "bi-annually", "\1\7", 1, 0, 0, 0 },
    { "semiannually", "\1\7", 1, 0, 0, 0 },
    { "semi-annually", "\1\7", 1, 0, 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    {
      if (g_ascii_strcasecmp (p, words[i].name) != 0)
        continue;
      for (const char *m = words[i].months; m != NULL && *m != '\0'; m++)
        chain_const (&c->field[F_MONTH], *m);
      if (words[i].day >= 0)
        chain_const (&c->field[F_DAY], words[i].day);
      if (words[i].hour >= 0)
        chain_const (&c->field[F_HOUR], words[i].hour);
      if (words[i].minute >= 0)
        chain_const (&c->field[F_MINUTE], words[i].minute);
      chain_const (&c->field[F_USEC], 0);
      if (words[i].weekly)
        c->weekdays_bits = 1;
      return TRUE;
    }
  return FALSE;
}

/* A time zone name as systemd's timezone_is_valid() takes it: a zone file
 * under the zoneinfo folder, not a POSIX TZ rule (GTimeZone would take
 * "ABC5" as one). */
static GTimeZone *
zone_from_name (const char *name)
{
  const char *dir = g_getenv ("TZDIR");
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  if (*name == '\0' || *name == '/' || strstr (name, "..") != NULL)
    return NULL;
  for (const char *s = name; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && strchr ("/_+-", *s) == NULL)
      return NULL;
  if (strlen (name) > 255)
    return NULL;
  path = g_build_filename (dir != NULL && *dir != '\0' ? dir : "/usr/share/zoneinfo", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (path, &data, &len, NULL)
      || len < 4 || memcmp (data, "TZif", 4) != 0)
    return NULL;
  return g_time_zone_new_identifier (name);
}

static void
normalize_chain (Chain *chain)
{
  int kept = 0;

  for (int i = 0; i < chain->n; i++)
    {
      Component *c = &chain->items[i];

      /* The length of a range becomes a multiple of its repetition. */
      if (c->stop > c->start && c->repeat > 0)
        c->stop -= (c->stop - c->start) % c->repeat;
      /* A repetition that never triggers, or a range of one value, is
       * the plain value. */
      if ((c->stop > c->start && c->repeat > 0 && c->start + c->repeat > c->stop)
          || c->start == c->stop)
        {
          c->repeat = 0;
          c->stop = -1;
        }
    }
  /* Sorted by (start, stop, repeat), duplicates dropped (insertion sort:
   * chains are short and this keeps the first position for messages). */
  for (int i = 1; i < chain->n; i++)
    for (int j = i; j > 0; j--)
      {
        Component *a = &chain->items[j - 1], *b = &chain->items[j];
        int cmp = a->start != b->start ? (a->start > b->start) - (a->start < b->start)
                  : a->stop != b->stop ? (a->stop > b->stop) - (a->stop < b->stop)
                  : (a->repeat > b->repeat) - (a->repeat < b->repeat);
        Component tmp;

        if (cmp <= 0)
          break;
        tmp = *a;
        *a = *b;
        *b = tmp;
      }
  for (int i = 0; i < chain->n; i++)
    if (kept == 0
        || chain->items[kept - 1].start != chain->items[i].start
        || chain->items[kept - 1].stop != chain->items[i].stop
        || chain->items[kept - 1].repeat != chain->items[i].repeat)
      chain->items[kept++] = chain->items[i];
  chain->n = kept;
}

static gboolean
check_chain (Parser *parser, int field, const Chain *chain, int from, int to,
             gboolean end_of_month)
{
  for (int i = 0; i < chain->n; i++)
    {
      const Component *c = &chain->items[i];
      g_autofree char *range = NULL;

      /* No day more than 28 days from the end of the month. systemd takes
       * the 3 days off again for each further value of the list (~25,26
       * is refused), and so do we: what systemd refuses, jobd refuses. */
      if (end_of_month)
        to -= 3;
      range = g_strdup_printf (end_of_month ? "out of range (%d..%d from the end of the month)"
                                            : "out of range (%d..%d)",
                               from, field == F_USEC ? 59 : to);

      if (c->start < from || c->start > to)
        return fail_component (parser, field, c, range);
      if (c->repeat > to - from)
        return fail_component (parser, field, c, "repeats too rarely");
      if (c->stop >= 0)
        {
          if (c->stop < from || c->stop > to)
            return fail_component (parser, field, c, range);
          if (c->start + c->repeat > c->stop)
            return fail_component (parser, field, c, "is an empty range");
        }
      else if (end_of_month ? c->start - c->repeat < from : c->start + c->repeat > to)
        {
          if (c->repeat > 0)
            return fail_component (parser, field, c, "never repeats");
        }
    }
  return TRUE;
}

/* 12 → 2012, 89 → 1989. */
static void
fix_year (Chain *chain)
{
  for (int i = 0; i < chain->n; i++)
    {
      Component *c = &chain->items[i];

      if (c->start >= 0 && c->start < 70)
        c->start += 2000;
      else if (c->start >= 70 && c->start < 100)
        c->start += 1900;
      if (c->stop >= 0 && c->stop < 70)
        c->stop += 2000;
      else if (c->stop >= 70 && c->stop < 100)
        c->stop += 1900;
    }
}

static gboolean
normalize_and_check (Parser *parser, JobdCalendar *c)
{
  static const int bounds[N_FIELDS][2] = {
    { MIN_YEAR, MAX_YEAR }, { 1, 12 }, { 1, 31 }, { 0, 23 }, { 0, 59 },
    { 0, 60 * USEC_PER_SEC - 1 },
  };

  if (c->weekdays_bits <= 0 || c->weekdays_bits >= BITS_WEEKDAYS)
    c->weekdays_bits = -1;
  if (c->end_of_month && c->field[F_DAY].n == 0)
    c->end_of_month = FALSE;
  fix_year (&c->field[F_YEAR]);
  for (int f = 0; f < N_FIELDS; f++)
    {
      normalize_chain (&c->field[f]);
      if (!check_chain (parser, f, &c->field[f], bounds[f][0], bounds[f][1],
                        f == F_DAY && c->end_of_month))
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_body (Parser *parser, JobdCalendar *c)
{
  gboolean done;

  if (*parser->p == '\0')
    return fail (parser, "empty expression");
  if (parse_shorthand (parser->p, c))
    return TRUE;
  if (!parse_weekdays (parser, c) || !parse_date (parser, c, &done))
    return FALSE;
  if (!done && !parse_time (parser, c))
    return FALSE;
  if (*parser->p != '\0')
    return fail_at (parser, parser->p, "unexpected text");
  return TRUE;
}

/* The trailing " UTC" or zone name, split off like systemd does. Returns the
 * part before it. */
static char *
split_zone (const char *text, JobdCalendar *c)
{
  gsize len = strlen (text);
  const char *space = strrchr (text, ' ');

  if (len >= 4 && g_ascii_strcasecmp (text + len - 4, " UTC") == 0)
    {
      c->utc = TRUE;
      return g_strndup (text, len - 4);
    }
  if (space != NULL)
    {
      GTimeZone *zone = zone_from_name (space + 1);

      if (zone != NULL)
        {
          if (strcmp (space + 1, "UTC") == 0)
            {
              g_time_zone_unref (zone);
              c->utc = TRUE;
            }
          else
            {
              c->timezone = g_strdup (space + 1);
              c->zone = zone;
            }
          return g_strndup (text, space - text);
        }
    }
  return g_strdup (text);
}

/* "Area/City", or a capitalized word ("Japan", "EST"), but not a weekday
 * or a keyword put in the wrong place. */
static gboolean
looks_like_zone (const char *word)
{
  static const char *const not_zones[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

  if (!g_ascii_isalpha (*word))
    return FALSE;
  if (strchr (word, '/') == NULL)
    {
      g_autoptr(JobdCalendar) keyword = g_new0 (JobdCalendar, 1);

      if (!g_ascii_isupper (*word) || parse_shorthand (word, keyword))
        return FALSE;
      for (gsize i = 0; i < G_N_ELEMENTS (not_zones); i++)
        if (starts_with_no_case (word, not_zones[i]))
          return FALSE;
    }
  for (const char *s = word; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && strchr ("/_+-", *s) == NULL)
      return FALSE;
  return TRUE;
}

/* A last word that is no zone but looks like one, after something that
 * parses alone, is a zone the system does not know: say so rather than
 * pointing at the word as bad syntax. */
static gboolean
unknown_zone (const char *text, GError **error)
{
  const char *space = strrchr (text, ' ');
  g_autofree char *before = NULL;
  g_autoptr(JobdCalendar) c = NULL;
  Parser parser = { 0 };

  if (space == NULL || !looks_like_zone (space + 1))
    return FALSE;
  before = g_strndup (text, space - text);
  c = g_new0 (JobdCalendar, 1);
  parser = (Parser) { .text = text, .p = before, .base = before, .error = NULL };
  if (!parse_body (&parser, c))
    return FALSE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "unknown time zone \"%s\" in \"%s\"", space + 1, text);
  return TRUE;
}

JobdCalendar *
jobd_calendar_parse (const char *text, GError **error)
{
  g_autoptr(JobdCalendar) c = g_new0 (JobdCalendar, 1);
  g_autofree char *body = NULL;
  g_autoptr(GError) local = NULL;
  Parser parser;

  g_return_val_if_fail (text != NULL, NULL);

  body = split_zone (text, c);
  parser = (Parser) { .text = text, .p = body, .base = body, .error = &local };
  if (!parse_body (&parser, c) || !normalize_and_check (&parser, c))
    {
      if (c->timezone == NULL && !c->utc && unknown_zone (text, error))
        return NULL;
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return g_steal_pointer (&c);
}

/* ------------------------------------------------------------------------ */
/* The normalized form                                                      */

static void
format_weekdays (GString *out, int bits)
{
  static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  gboolean comma = FALSE;
  int x, l;

  for (x = 0, l = -1; x < 7; x++)
    {
      if (bits & (1 << x))
        {
          if (l < 0)
            {
              if (comma)
                g_string_append_c (out, ',');
              comma = TRUE;
              g_string_append (out, days[x]);
              l = x;
            }
        }
      else if (l >= 0)
        {
          if (x > l + 1)
            g_string_append_printf (out, "%s%s", x > l + 2 ? ".." : ",", days[x - 1]);
          l = -1;
        }
    }
  if (l >= 0 && x > l + 1)
    g_string_append_printf (out, "%s%s", x > l + 2 ? ".." : ",", days[x - 1]);
}

static void
format_chain (GString *out, int width, const Chain *chain, gboolean usec)
{
  int d = usec ? USEC_PER_SEC : 1;

  if (chain->n == 0)
    {
      g_string_append_c (out, '*');
      return;
    }
  if (usec && chain->n == 1 && chain->items[0].start == 0 && chain->items[0].stop < 0
      && chain->items[0].repeat == USEC_PER_SEC)
    {
      g_string_append_c (out, '*');
      return;
    }
  for (int i = 0; i < chain->n; i++)
    {
      const Component *c = &chain->items[i];

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append_printf (out, "%0*d", width, c->start / d);
      if (c->start % d > 0)
        g_string_append_printf (out, ".%06d", c->start % d);
      if (c->stop > 0)
        g_string_append_printf (out, "..%0*d", width, c->stop / d);
      if (c->stop % d > 0)
        g_string_append_printf (out, ".%06d", c->stop % d);
      if (c->repeat > 0 && !(c->stop > 0 && c->repeat == d))
        g_string_append_printf (out, "/%d", c->repeat / d);
      if (c->repeat % d > 0)
        g_string_append_printf (out, ".%06d", c->repeat % d);
    }
}

char *
jobd_calendar_to_string (const JobdCalendar *c)
{
  GString *out = g_string_new (NULL);

  if (c->weekdays_bits > 0 && c->weekdays_bits <= BITS_WEEKDAYS)
    {
      format_weekdays (out, c->weekdays_bits);
      g_string_append_c (out, ' ');
    }
  format_chain (out, 4, &c->field[F_YEAR], FALSE);
  g_string_append_c (out, '-');
  format_chain (out, 2, &c->field[F_MONTH], FALSE);
  g_string_append_c (out, c->end_of_month ? '~' : '-');
  format_chain (out, 2, &c->field[F_DAY], FALSE);
  g_string_append_c (out, ' ');
  format_chain (out, 2, &c->field[F_HOUR], FALSE);
  g_string_append_c (out, ':');
  format_chain (out, 2, &c->field[F_MINUTE], FALSE);
  g_string_append_c (out, ':');
  format_chain (out, 2, &c->field[F_USEC], TRUE);
  if (c->utc)
    g_string_append (out, " UTC");
  else if (c->timezone != NULL)
    g_string_append_printf (out, " %s", c->timezone);
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Local time                                                               */

/* Broken-down local time like struct tm, with the full year and fields that
 * may be out of range until normalized. */
typedef struct {
  int year, mon, mday, hour, min, sec; /* mon 0..11 */
  int isdst;                           /* -1: let the conversion choose */
} Tm;

typedef struct {
  GTimeZone *zone;  /* NULL: UTC */
  gint64 hint;      /* UTC offset of the last conversion, like glibc's */
} Clock;

static gint64
floor_div (gint64 a, gint64 b)
{
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static gint64
days_from_civil (gint64 y, int m, int d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = floor_div (y, 400);
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64 z, gint64 *y, int *m, int *d)
{
  gint64 era, doe, yoe, doy, mp;

  z += 719468;
  era = floor_div (z, 146097);
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int) (doy - (153 * mp + 2) / 5 + 1);
  *m = (int) (mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* The fields as if they were UTC, normalized (seconds since the epoch). */
static gint64
tm_to_linear (const Tm *tm)
{
  gint64 year = tm->year + floor_div (tm->mon, 12);
  int mon = (int) (tm->mon - floor_div (tm->mon, 12) * 12);
  gint64 days = days_from_civil (year, mon + 1, 1) + tm->mday - 1;

  return days * 86400 + (gint64) tm->hour * 3600 + (gint64) tm->min * 60 + tm->sec;
}

static gint64
offset_at (const Clock *clock, gint64 t, gboolean *dst)
{
  int interval;

  if (dst != NULL)
    *dst = FALSE;
  if (clock->zone == NULL)
    return 0;
  interval = g_time_zone_find_interval (clock->zone, G_TIME_TYPE_UNIVERSAL, t);
  if (dst != NULL)
    *dst = g_time_zone_is_dst (clock->zone, interval);
  return g_time_zone_get_offset (clock->zone, interval);
}

/* glibc's mktime(3) when the caller asks for DST on or off and the time has
 * the other: it takes the UTC offset of the nearest time (probing in steps of
 * a week either way) that has what was asked. systemd's search hands such
 * times over after resetting a month field (January with the DST flag of
 * May), and relies on where this lands, so it is reproduced. */
static gint64
match_dst (const Clock *clock, gint64 linear, gint64 t, gboolean want_dst)
{
  const gint64 stride = 601200, bound = 457243200 / 2 + 601200;
  gboolean dst;

  offset_at (clock, t, &dst);
  if (dst == want_dst)
    return t;
  for (gint64 delta = stride; delta < bound; delta += stride)
    for (int direction = -1; direction <= 1; direction += 2)
      {
        gint64 offset = offset_at (clock, t + delta * direction, &dst);

        if (dst == want_dst)
          return linear - offset;
      }
  /* None nearby: glibc assumes a one-hour DST. */
  return t + (want_dst ? -3600 : 3600);
}

/* mktime(3): normalizes *tm and returns the instant. Where local time is
 * ambiguous or missing, it chooses as glibc does; see the top of the file. */
static gint64
clock_mktime (Clock *clock, Tm *tm)
{
  gint64 linear = tm_to_linear (tm);
  gint64 candidates[2], t, local, year;
  gboolean dst[2];
  int n = 0;

  /* The offsets a day before and after cover every transition but two in
   * one day, which no zone has. */
  candidates[0] = offset_at (clock, linear - 86400, NULL);
  candidates[1] = offset_at (clock, linear + 86400, NULL);
  for (int i = 0; i < 2; i++)
    {
      gint64 o = candidates[i];

      if (offset_at (clock, linear - o, &dst[n]) == o && (n == 0 || candidates[0] != o))
        candidates[n++] = o;
    }
  if (n == 0)
    /* In a skipped hour: the time moves forward by the gap, as if read
     * with the offset from before. */
    t = linear - offset_at (clock, linear - 86400, NULL);
  else if (n == 1)
    t = linear - candidates[0];
  else if (tm->isdst >= 0 && dst[0] != dst[1])
    t = linear - candidates[dst[0] == (tm->isdst > 0) ? 0 : 1];
  else if (clock->hint == candidates[1])
    t = linear - candidates[1];
  else
    t = linear - candidates[0];
  if (n > 0 && tm->isdst >= 0)
    t = match_dst (clock, linear, t, tm->isdst > 0);

  clock->hint = linear - t;
  {
    gboolean is_dst;
    gint64 offset = offset_at (clock, t, &is_dst);
    gint64 days;
    int m, d;

    local = t + offset;
    days = floor_div (local, 86400);
    civil_from_days (days, &year, &m, &d);
    tm->year = (int) year;
    tm->mon = m - 1;
    tm->mday = d;
    local -= days * 86400;
    tm->hour = (int) (local / 3600);
    tm->min = (int) (local / 60 % 60);
    tm->sec = (int) (local % 60);
    tm->isdst = is_dst;
  }
  return t;
}

static int
tm_wday_monday0 (const Tm *tm)
{
  gint64 days = floor_div (tm_to_linear (tm), 86400);

  /* 1970-01-01 was a Thursday (3 counted from Monday). */
  return (int) ((days % 7 + 7 + 3) % 7);
}

/* ------------------------------------------------------------------------ */
/* The next elapse (systemd's find_next)                                     */

static int
end_of_month_day (Clock *clock, const Tm *tm, int day)
{
  Tm t = *tm;

  t.mon++;
  t.mday = 1 - day;
  clock_mktime (clock, &t);
  if (t.mon != tm->mon)
    return -1;
  return t.mday;
}

/* The smallest value of the chain >= *val: 1 when *val changed, 0 when it
 * already matched, -1 when there is none. */
static int
find_matching (const JobdCalendar *spec, Clock *clock, int field, const Tm *tm, int *val)
{
  const Chain *chain = &spec->field[field];
  gboolean found = FALSE;
  int d = -1;

  if (chain->n == 0)
    return 0;
  for (int i = 0; i < chain->n; i++)
    {
      const Component *c = &chain->items[i];
      int start = c->start, stop = c->stop;

      if (spec->end_of_month && field == F_DAY)
        {
          start = end_of_month_day (clock, tm, start);
          stop = end_of_month_day (clock, tm, stop);
          if (stop > 0)
            {
              int tmp = start;
              start = stop;
              stop = tmp;
            }
        }
      if (start >= *val)
        {
          if (!found || start < d)
            {
              d = start;
              found = TRUE;
            }
        }
      else if (c->repeat > 0)
        {
          gint64 k = start + (gint64) c->repeat * ((*val - start + c->repeat - 1) / c->repeat);

          if ((!found || k < d) && (stop < 0 || k <= stop))
            {
              d = (int) k;
              found = TRUE;
            }
        }
    }
  if (!found)
    return -1;
  if (*val == d)
    return 0;
  *val = d;
  return 1;
}

static int
compare (int a, int b)
{
  return (a > b) - (a < b);
}

/* 1 when *tm is a valid time, 0 when normalizing moved it forward (*tm is
 * then the normalized time), -1 past MAX_YEAR or when it would go back. */
static int
within_bounds (Clock *clock, Tm *tm)
{
  Tm t = *tm;
  int cmp;

  if (tm->year > MAX_YEAR)
    return -1;
  clock_mktime (clock, &t);
  /* Normalizing 3-33 gives 4-2, which would skip 4-1: reset the smaller
   * units when a larger one moved. */
  if ((cmp = compare (t.year, tm->year)) != 0)
    t.mon = 0;
  else if ((cmp = compare (t.mon, tm->mon)) != 0)
    t.mday = 1;
  else if ((cmp = compare (t.mday, tm->mday)) != 0)
    t.hour = 0;
  else if ((cmp = compare (t.hour, tm->hour)) != 0)
    t.min = 0;
  else if ((cmp = compare (t.min, tm->min)) != 0)
    t.sec = 0;
  else
    cmp = compare (t.sec, tm->sec);
  if (cmp < 0)
    return -1;
  if (cmp > 0)
    *tm = t;
  return cmp == 0;
}

static gboolean
matches_weekday (const JobdCalendar *spec, Clock *clock, const Tm *tm)
{
  Tm t = *tm;

  if (spec->weekdays_bits < 0 || spec->weekdays_bits >= BITS_WEEKDAYS)
    return TRUE;
  clock_mktime (clock, &t);
  return (spec->weekdays_bits & (1 << tm_wday_monday0 (&t))) != 0;
}

static void
reset_below (Tm *c, int field, int *usec)
{
  switch (field)
    {
    case F_YEAR:
      c->mon = 0;
      G_GNUC_FALLTHROUGH;
    case F_MONTH:
      c->mday = 1;
      G_GNUC_FALLTHROUGH;
    case F_DAY:
      c->hour = 0;
      G_GNUC_FALLTHROUGH;
    case F_HOUR:
      c->min = 0;
      G_GNUC_FALLTHROUGH;
    default:
      c->sec = 0;
      *usec = 0;
    }
}

/* One field: match it, then check the result exists. 1: go on to the next
 * field; 0: start over from the normalized time; -1: this value of the
 * field above has no match, step the field above. */
static int
step_field (const JobdCalendar *spec, Clock *clock, int field, Tm *c, int *usec)
{
  int *val[] = { &c->year, &c->mon, &c->mday, &c->hour, &c->min };
  int r;

  if (field == F_MONTH)
    {
      c->mon++;
      r = find_matching (spec, clock, field, c, &c->mon);
      c->mon--;
    }
  else if (field == F_USEC)
    {
      int v = c->sec * USEC_PER_SEC + *usec;

      r = find_matching (spec, clock, field, c, &v);
      *usec = v % USEC_PER_SEC;
      c->sec = v / USEC_PER_SEC;
    }
  else
    r = find_matching (spec, clock, field, c, val[field]);
  if (r > 0 && field != F_USEC)
    reset_below (c, field, usec);
  if (r < 0)
    return -1;
  return within_bounds (clock, c);
}

static int
find_next (const JobdCalendar *spec, Clock *clock, Tm *tm, int *usec)
{
  Tm c = *tm;
  int c_usec = *usec;

  for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++)
    {
      int r;

      clock_mktime (clock, &c);
      c.isdst = -1;

      r = find_matching (spec, clock, F_YEAR, &c, &c.year);
      if (r > 0)
        reset_below (&c, F_YEAR, &c_usec);
      if (r < 0 || within_bounds (clock, &c) <= 0)
        return -1;

      r = step_field (spec, clock, F_MONTH, &c, &c_usec);
      if (r < 0)
        {
          c.year++;
          reset_below (&c, F_YEAR, &c_usec);
          continue;
        }
      if (r == 0)
        continue;

      r = step_field (spec, clock, F_DAY, &c, &c_usec);
      if (r < 0)
        {
          c.mon++;
          reset_below (&c, F_MONTH, &c_usec);
          continue;
        }
      if (r == 0)
        continue;

      if (!matches_weekday (spec, clock, &c))
        {
          c.mday++;
          reset_below (&c, F_DAY, &c_usec);
          continue;
        }

      r = step_field (spec, clock, F_HOUR, &c, &c_usec);
      if (r < 0)
        {
          c.mday++;
          reset_below (&c, F_DAY, &c_usec);
          continue;
        }
      if (r == 0)
        continue;

      r = step_field (spec, clock, F_MINUTE, &c, &c_usec);
      if (r < 0)
        {
          c.hour++;
          reset_below (&c, F_HOUR, &c_usec);
          continue;
        }
      if (r == 0)
        continue;

      r = step_field (spec, clock, F_USEC, &c, &c_usec);
      if (r < 0)
        {
          c.min++;
          reset_below (&c, F_MINUTE, &c_usec);
          continue;
        }
      if (r == 0)
        continue;

      *tm = c;
      *usec = c_usec;
      return 0;
    }
  return -1;
}

gint64
jobd_calendar_next (const JobdCalendar *calendar, gint64 after_usec, GTimeZone *tz)
{
  g_autoptr(GTimeZone) local = NULL;
  Clock clock = { 0 };
  gint64 usec = after_usec + 1, t, days, secs;
  gint64 year;
  Tm tm;
  int m, d, tm_usec;

  g_return_val_if_fail (calendar != NULL, -1);

  /* Past 9999-12-31, like systemd's formattable maximum. */
  if (after_usec < 0 || after_usec >= G_GINT64_CONSTANT (253402300799) * USEC_PER_SEC)
    return -1;
  if (calendar->utc)
    clock.zone = NULL;
  else if (calendar->zone != NULL)
    clock.zone = calendar->zone;
  else if (tz != NULL)
    clock.zone = tz;
  else
    clock.zone = local = g_time_zone_new_local ();

  /* localtime(3) of the instant after `after_usec`. */
  t = usec / USEC_PER_SEC;
  tm_usec = (int) (usec % USEC_PER_SEC);
  {
    gboolean dst;
    gint64 offset = offset_at (&clock, t, &dst);
    gint64 local_secs = t + offset;

    days = floor_div (local_secs, 86400);
    civil_from_days (days, &year, &m, &d);
    secs = local_secs - days * 86400;
    tm = (Tm) { .year = (int) year, .mon = m - 1, .mday = d, .hour = (int) (secs / 3600),
                .min = (int) (secs / 60 % 60), .sec = (int) (secs % 60), .isdst = dst };
    clock.hint = offset;
  }
  if (find_next (calendar, &clock, &tm, &tm_usec) < 0)
    return -1;
  t = clock_mktime (&clock, &tm);
  return t * USEC_PER_SEC + tm_usec;
}
