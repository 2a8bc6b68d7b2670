/* SPDX-License-Identifier: MIT */
/* jobd-timestamp.c — points in time as users type them. */
#include "config.h"

#include "jobd-timestamp.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-parse.h"

static gboolean
bad (const char *text, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               _("“%s” is not a time (like “2026-12-05 10:00”, “-1h”, “today”, “@1733392800”)"),
               text);
  return FALSE;
}

static gboolean
relative (const char *text, const char *duration, int sign, gint64 now_usec, gint64 *out,
          GError **error)
{
  guint32 ms;

  if (!jobd_parse_duration_ms (duration, &ms, NULL))
    return bad (text, error);
  *out = now_usec + sign * (gint64) ms * 1000;
  return TRUE;
}

/* Midnight of the local day days after now's. */
static gint64
local_midnight (gint64 now_usec, int days)
{
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_local (now_usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) day = g_date_time_new_local (g_date_time_get_year (now),
                                                    g_date_time_get_month (now),
                                                    g_date_time_get_day_of_month (now),
                                                    0, 0, 0);
  g_autoptr(GDateTime) then = g_date_time_add_days (day, days);

  return g_date_time_to_unix (then) * G_USEC_PER_SEC;
}

static gboolean
absolute (const char *text, gint64 now_usec, gint64 *out)
{
  int y, mo, d, h = 0, mi = 0, n = 0;
  double s = 0;
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_local (now_usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) t = NULL;

  if (sscanf (text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n > 0)
    {
      const char *rest = text + n;

      if (*rest == ' ' || *rest == 'T')
        {
          int m = 0;

          if (sscanf (rest + 1, "%2d:%2d%n", &h, &mi, &m) != 2)
            return FALSE;
          rest += 1 + m;
          if (*rest == ':')
            {
              if (sscanf (rest + 1, "%lf%n", &s, &m) != 1)
                return FALSE;
              rest += 1 + m;
            }
        }
      if (*rest != '\0')
        return FALSE;
    }
  else if (sscanf (text, "%2d:%2d%n", &h, &mi, &n) == 2)
    {
      const char *rest = text + n;
      int m = 0;

      if (*rest == ':' && sscanf (rest + 1, "%lf%n", &s, &m) == 1)
        rest += 1 + m;
      if (*rest != '\0')
        return FALSE;
      y = g_date_time_get_year (now);
      mo = g_date_time_get_month (now);
      d = g_date_time_get_day_of_month (now);
    }
  else
    return FALSE;
  if (s < 0 || s >= 61)
    return FALSE;
  t = g_date_time_new_local (y, mo, d, h, mi, s);
  if (t == NULL)
    return FALSE;
  *out = g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t);
  return TRUE;
}

gboolean
jobd_parse_timestamp (const char *text, gint64 now_usec, gint64 *out_usec, GError **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  gsize len = strlen (stripped);
  guint64 seconds;

  if (strcmp (stripped, "now") == 0)
    *out_usec = now_usec;
  else if (strcmp (stripped, "today") == 0)
    *out_usec = local_midnight (now_usec, 0);
  else if (strcmp (stripped, "yesterday") == 0)
    *out_usec = local_midnight (now_usec, -1);
  else if (strcmp (stripped, "tomorrow") == 0)
    *out_usec = local_midnight (now_usec, 1);
  else if (stripped[0] == '@')
    {
      if (!g_ascii_string_to_unsigned (stripped + 1, 10, 0, G_MAXINT64 / G_USEC_PER_SEC,
                                       &seconds, NULL))
        return bad (text, error);
      *out_usec = (gint64) seconds * G_USEC_PER_SEC;
    }
  else if (stripped[0] == '-' || stripped[0] == '+')
    return relative (text, stripped + 1, stripped[0] == '-' ? -1 : 1, now_usec, out_usec, error);
  else if (len > 4 && strcmp (stripped + len - 4, " ago") == 0)
    {
      stripped[len - 4] = '\0';
      return relative (text, stripped, -1, now_usec, out_usec, error);
    }
  else if (!absolute (stripped, now_usec, out_usec))
    return bad (text, error);
  return TRUE;
}
