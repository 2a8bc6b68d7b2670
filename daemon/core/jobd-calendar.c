/* jobd-calendar.c — STAND-IN until T-calendar's parser is merged: only
 * minutely, hourly, daily and "*:*:S" / "*:*:S/N" (seconds), evaluated in
 * UTC-aligned seconds. Replaced wholesale by the real parser. */
#include "jobd-calendar.h"

#include <string.h>

#include "jobd-error.h"

struct _JobdCalendar {
  char *text;
  gint64 period_s;   /* fires when (t - offset_s) % period_s == 0 */
  gint64 offset_s;
};

JobdCalendar *
jobd_calendar_parse (const char *text, GError **error)
{
  JobdCalendar *c;
  guint64 start = 0, step = 60;
  const char *sec;
  char *end;

  if (text == NULL)
    text = "";
  c = g_new0 (JobdCalendar, 1);
  c->text = g_strdup (text);
  if (g_str_equal (text, "minutely"))
    c->period_s = 60;
  else if (g_str_equal (text, "hourly"))
    c->period_s = 3600;
  else if (g_str_equal (text, "daily"))
    c->period_s = 86400;
  else if (g_str_has_prefix (text, "*:*:"))
    {
      sec = text + 4;
      start = g_ascii_strtoull (sec, &end, 10);
      if (end == sec || start > 59)
        goto bad;
      if (*end == '/')
        {
          sec = end + 1;
          step = g_ascii_strtoull (sec, &end, 10);
          if (end == sec || step == 0 || step > 60)
            goto bad;
        }
      if (*end != '\0')
        goto bad;
      c->period_s = step;
      c->offset_s = (gint64) start;
    }
  else
    goto bad;
  return c;

bad:
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "calendar expression \"%s\": cannot parse \"%s\"", text, text);
  jobd_calendar_free (c);
  return NULL;
}

void
jobd_calendar_free (JobdCalendar *calendar)
{
  if (calendar == NULL)
    return;
  g_free (calendar->text);
  g_free (calendar);
}

gint64
jobd_calendar_next (const JobdCalendar *calendar, gint64 after_usec, GTimeZone *tz)
{
  gint64 t = after_usec / G_USEC_PER_SEC + 1;
  gint64 r = ((t - calendar->offset_s) % calendar->period_s + calendar->period_s)
             % calendar->period_s;

  if (r != 0)
    t += calendar->period_s - r;
  return t * G_USEC_PER_SEC;
}

char *
jobd_calendar_to_string (const JobdCalendar *calendar)
{
  return g_strdup (calendar->text);
}
