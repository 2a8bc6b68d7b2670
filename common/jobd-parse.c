/* SPDX-License-Identifier: MIT */
/* jobd-parse.c — parsing what users type and formatting what they read.
 *
 * Pure functions only (see jobd-parse.h): no D-Bus, no output, so the
 * unit tests in tests/cli cover every branch. jobctl is the user today;
 * the daemon links it too (common/).
 */
#include "config.h"

#include "jobd-parse.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>

#include "jobd-signal.h"

typedef struct {
  const char *suffix;
  guint64 factor;
} Unit;

/* Longest suffixes first where one is a prefix of another ("ms" vs "m"). */
static const Unit duration_units[] = {
  { "ms", 1 }, { "msec", 1 },
  { "s", 1000 }, { "sec", 1000 },
  { "m", 60 * 1000 }, { "min", 60 * 1000 },
  { "h", 60 * 60 * 1000 },
  { "d", 24 * 60 * 60 * 1000 },
};

static const Unit size_units[] = {
  { "", 1 }, { "B", 1 },
  { "K", G_GUINT64_CONSTANT (1) << 10 }, { "KB", G_GUINT64_CONSTANT (1) << 10 },
  { "KiB", G_GUINT64_CONSTANT (1) << 10 },
  { "M", G_GUINT64_CONSTANT (1) << 20 }, { "MB", G_GUINT64_CONSTANT (1) << 20 },
  { "MiB", G_GUINT64_CONSTANT (1) << 20 },
  { "G", G_GUINT64_CONSTANT (1) << 30 }, { "GB", G_GUINT64_CONSTANT (1) << 30 },
  { "GiB", G_GUINT64_CONSTANT (1) << 30 },
  { "T", G_GUINT64_CONSTANT (1) << 40 }, { "TB", G_GUINT64_CONSTANT (1) << 40 },
  { "TiB", G_GUINT64_CONSTANT (1) << 40 },
};

static gboolean
bad_value (GError **error, const char *text, const char *expected)
{
  /* TRANSLATORS: the first %s is what the user typed, the second what
   * was expected instead, e.g. “a duration like 500ms, 2s or 1m”. */
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("“%s” is not %s"), text, expected);
  return FALSE;
}

static const Unit *
find_unit (const Unit *units, gsize n_units, const char *suffix, gsize len)
{
  for (gsize i = 0; i < n_units; i++)
    if (strlen (units[i].suffix) == len
        && g_ascii_strncasecmp (units[i].suffix, suffix, len) == 0)
      return &units[i];
  return NULL;
}

/* Reads the leading decimal digits of *p into *out, advancing *p. */
static gboolean
read_number (const char **p, guint64 *out)
{
  const char *start = *p;
  guint64 value = 0;

  while (g_ascii_isdigit (**p))
    {
      guint digit = (guint) (**p - '0');

      if (value > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
      (*p)++;
    }
  *out = value;
  return *p != start;
}

static gboolean
is_none (const char *text)
{
  return g_ascii_strcasecmp (text, "none") == 0;
}

gboolean
jobd_parse_duration_ms (const char *text, guint32 *out_ms, GError **error)
{
  const char *expected = _("a duration like 500ms, 2s, 1m or 1h");
  const char *p = text;
  guint64 total = 0;
  guint64 number;

  g_return_val_if_fail (text != NULL, FALSE);

  /* A plain number is milliseconds, as the API takes them. */
  if (read_number (&p, &number) && *p == '\0')
    {
      if (number > G_MAXUINT32)
        return bad_value (error, text, expected);
      *out_ms = (guint32) number;
      return TRUE;
    }

  p = text;
  while (*p != '\0')
    {
      const char *suffix;
      const Unit *unit;

      while (g_ascii_isspace (*p))
        p++;
      if (!read_number (&p, &number))
        return bad_value (error, text, expected);
      suffix = p;
      while (g_ascii_isalpha (*p))
        p++;
      unit = find_unit (duration_units, G_N_ELEMENTS (duration_units),
                        suffix, (gsize) (p - suffix));
      if (unit == NULL || number > G_MAXUINT32 / unit->factor)
        return bad_value (error, text, expected);
      total += number * unit->factor;
      if (total > G_MAXUINT32)
        return bad_value (error, text, expected);
      while (g_ascii_isspace (*p))
        p++;
    }

  if (p == text)
    return bad_value (error, text, expected);
  *out_ms = (guint32) total;
  return TRUE;
}

gboolean
jobd_parse_size (const char *text, guint64 *out_bytes, GError **error)
{
  const char *expected = _("a size like 512K, 64M or 2G");
  const char *p = text;
  const Unit *unit;
  guint64 number;

  g_return_val_if_fail (text != NULL, FALSE);

  if (is_none (text))
    {
      *out_bytes = 0;
      return TRUE;
    }
  if (!read_number (&p, &number))
    return bad_value (error, text, expected);
  unit = find_unit (size_units, G_N_ELEMENTS (size_units), p, strlen (p));
  if (unit == NULL || number > G_MAXUINT64 / unit->factor)
    return bad_value (error, text, expected);
  *out_bytes = number * unit->factor;
  return TRUE;
}

gboolean
jobd_parse_percent (const char *text, guint32 *out_percent, GError **error)
{
  /* xgettext:no-c-format */
  const char *expected = _("a percentage like 50%");
  const char *p = text;
  guint64 number;

  g_return_val_if_fail (text != NULL, FALSE);

  if (is_none (text))
    {
      *out_percent = 0;
      return TRUE;
    }
  if (!read_number (&p, &number) || number > G_MAXUINT32)
    return bad_value (error, text, expected);
  if (*p == '%')
    p++;
  if (*p != '\0')
    return bad_value (error, text, expected);
  *out_percent = (guint32) number;
  return TRUE;
}

gboolean
jobd_parse_uint (const char *text, guint64 max, gboolean allow_none,
                   guint64 *out_value, GError **error)
{
  g_autofree char *max_text = g_strdup_printf ("%" G_GUINT64_FORMAT, max);
  g_autofree char *expected = g_strdup_printf (_("a number from 0 to %s"), max_text);
  const char *p = text;
  guint64 number;

  g_return_val_if_fail (text != NULL, FALSE);

  if (allow_none && is_none (text))
    {
      *out_value = 0;
      return TRUE;
    }
  if (!read_number (&p, &number) || *p != '\0' || number > max)
    return bad_value (error, text, expected);
  *out_value = number;
  return TRUE;
}

gboolean
jobd_parse_bool (const char *text, gboolean *out_value, GError **error)
{
  static const char *const yes[] = { "yes", "true", "on", "1" };
  static const char *const no[] = { "no", "false", "off", "0" };

  g_return_val_if_fail (text != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        {
          *out_value = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        {
          *out_value = FALSE;
          return TRUE;
        }
    }
  return bad_value (error, text, _("yes or no"));
}

gboolean
jobd_parse_key_value (const char *text, char **out_key, char **out_value,
                        GError **error)
{
  const char *equals;

  g_return_val_if_fail (text != NULL, FALSE);

  equals = strchr (text, '=');
  if (equals == NULL || equals == text)
    return bad_value (error, text, _("of the form KEY=VALUE"));
  *out_key = g_strndup (text, (gsize) (equals - text));
  *out_value = g_strdup (equals + 1);
  return TRUE;
}

gboolean
jobd_parse_signal (const char *text, int *out_signo, GError **error)
{
  const char *expected = _("a signal like TERM, SIGKILL or 9");
  const char *p = text;
  guint64 number;
  int signo;

  g_return_val_if_fail (text != NULL, FALSE);

  if (read_number (&p, &number) && *p == '\0')
    {
      if (number < 1 || number > (guint64) SIGRTMAX)
        return bad_value (error, text, expected);
      *out_signo = (int) number;
      return TRUE;
    }

  /* Names come from the table the daemon uses (common/jobd-signal.c). */
  signo = jobd_signal_from_string (text, NULL);
  if (signo < 0)
    return bad_value (error, text, expected);
  *out_signo = signo;
  return TRUE;
}

char *
jobd_format_size (guint64 bytes)
{
  static const char units[] = "KMGTPE";
  double value = (double) bytes;
  gsize i = 0;

  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "B", bytes);

  value /= 1024.0;
  /* Move up a unit before "%.1f" would round to 1024.0. */
  while (value >= 1023.95 && i + 1 < sizeof units - 1)
    {
      value /= 1024.0;
      i++;
    }
  return g_strdup_printf ("%.1f%c", value, units[i]);
}

char *
jobd_format_duration_ms (guint64 ms)
{
  static const Unit units[] = {
    { "d", 24 * 60 * 60 * 1000 }, { "h", 60 * 60 * 1000 },
    { "m", 60 * 1000 }, { "s", 1000 }, { "ms", 1 },
  };
  gsize i = 0;
  guint64 first, rest;

  if (ms == 0)
    return g_strdup ("0");

  while (ms < units[i].factor)
    i++;
  first = ms / units[i].factor;
  rest = ms % units[i].factor;
  if (i + 1 < G_N_ELEMENTS (units) && rest / units[i + 1].factor > 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "%s %" G_GUINT64_FORMAT "%s",
                            first, units[i].suffix,
                            rest / units[i + 1].factor, units[i + 1].suffix);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", first, units[i].suffix);
}

char *
jobd_format_uptime (guint64 started_at_usec, gint64 now_usec)
{
  guint64 seconds;

  if (started_at_usec == 0 || now_usec < 0 || started_at_usec > (guint64) now_usec)
    return g_strdup ("-");
  seconds = ((guint64) now_usec - started_at_usec) / G_USEC_PER_SEC;
  if (seconds == 0)
    return g_strdup ("0s");
  return jobd_format_duration_ms (seconds * 1000);
}

gsize
jobd_display_width (const char *text)
{
  gsize width = 0;

  g_return_val_if_fail (text != NULL, 0);

  if (!g_utf8_validate (text, -1, NULL))
    return strlen (text);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}
