/* SPDX-License-Identifier: MIT */
/* strict-json.c — a recursive-descent RFC 8259 checker (see strict-json.h). */
#include "strict-json.h"

#include <math.h>
#include <string.h>

typedef struct {
  const char *p;
  const char *end;
  const char *start;
  const char *problem;
} Reader;

static gboolean value (Reader *r, guint depth);

static gboolean
fail (Reader *r, const char *problem)
{
  if (r->problem == NULL)
    r->problem = problem;
  return FALSE;
}

static void
skip_ws (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static gboolean
literal (Reader *r, const char *word)
{
  gsize n = strlen (word);

  if ((gsize) (r->end - r->p) < n || memcmp (r->p, word, n) != 0)
    return fail (r, "unknown literal");
  r->p += n;
  return TRUE;
}

static int
hex4 (Reader *r)
{
  int v = 0;

  if (r->end - r->p < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (r->p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  r->p += 4;
  return v;
}

/* After "\u": one code point, a surrogate pair counting as one. */
static gboolean
unicode_escape (Reader *r)
{
  int hi = hex4 (r), lo;

  if (hi < 0)
    return fail (r, "bad \\u escape");
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    return fail (r, "lone low surrogate");
  if (hi < 0xD800 || hi > 0xDBFF)
    return TRUE;
  if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
    return fail (r, "lone high surrogate");
  r->p += 2;
  lo = hex4 (r);
  if (lo < 0xDC00 || lo > 0xDFFF)
    return fail (r, "high surrogate not followed by a low one");
  return TRUE;
}

/* A string; when out is not NULL, its raw bytes between the quotes. */
static gboolean
string (Reader *r, const char **raw, gsize *raw_len)
{
  const char *begin;

  if (r->p >= r->end || *r->p != '"')
    return fail (r, "expected a string");
  begin = ++r->p;
  while (r->p < r->end && *r->p != '"')
    {
      guchar c = (guchar) *r->p;

      if (c < 0x20)
        return fail (r, "control character in a string");
      if (c == '\\')
        {
          r->p++;
          if (r->p >= r->end)
            return fail (r, "unterminated escape");
          if (*r->p == 'u')
            {
              r->p++;
              if (!unicode_escape (r))
                return FALSE;
              continue;
            }
          if (strchr ("\"\\/bfnrt", *r->p) == NULL || *r->p == '\0')
            return fail (r, "bad escape");
          r->p++;
        }
      else if (c < 0x80)
        r->p++;
      else
        {
          gunichar u = g_utf8_get_char_validated (r->p, r->end - r->p);
          if (u == (gunichar) -1 || u == (gunichar) -2)
            return fail (r, "invalid UTF-8 in a string");
          r->p = g_utf8_next_char (r->p);
        }
    }
  if (r->p >= r->end)
    return fail (r, "unterminated string");
  if (raw != NULL)
    {
      *raw = begin;
      *raw_len = r->p - begin;
    }
  r->p++;
  return TRUE;
}

static gboolean
digits (Reader *r)
{
  const char *s = r->p;

  while (r->p < r->end && g_ascii_isdigit (*r->p))
    r->p++;
  return r->p > s;
}

static gboolean
number (Reader *r)
{
  const char *s = r->p;
  g_autofree char *copy = NULL;
  double d;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    r->p++;
  else if (r->p >= r->end || *r->p < '1' || *r->p > '9' || !digits (r))
    return fail (r, "bad number");
  if (r->p < r->end && *r->p == '.')
    {
      r->p++;
      if (!digits (r))
        return fail (r, "bad fraction");
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (!digits (r))
        return fail (r, "bad exponent");
    }
  copy = g_strndup (s, r->p - s);
  d = g_ascii_strtod (copy, NULL);
  if (!isfinite (d))
    return fail (r, "number is not a finite double");
  return TRUE;
}

static gboolean
object (Reader *r, guint depth)
{
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  r->p++;   /* '{' */
  skip_ws (r);
  if (r->p < r->end && *r->p == '}')
    {
      r->p++;
      return TRUE;
    }
  for (;;)
    {
      const char *raw = NULL;
      gsize raw_len = 0;
      char *key;

      skip_ws (r);
      if (!string (r, &raw, &raw_len))
        return FALSE;
      /* Raw text: two spellings of one key (an escape) are not caught;
       * jobd's writer escapes one way only. */
      key = g_strndup (raw, raw_len);
      if (!g_hash_table_add (keys, key))
        return fail (r, "duplicate key in an object");
      skip_ws (r);
      if (r->p >= r->end || *r->p != ':')
        return fail (r, "expected ':'");
      r->p++;
      if (!value (r, depth + 1))
        return FALSE;
      skip_ws (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          return TRUE;
        }
      return fail (r, "expected ',' or '}'");
    }
}

static gboolean
array (Reader *r, guint depth)
{
  r->p++;   /* '[' */
  skip_ws (r);
  if (r->p < r->end && *r->p == ']')
    {
      r->p++;
      return TRUE;
    }
  for (;;)
    {
      if (!value (r, depth + 1))
        return FALSE;
      skip_ws (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == ']')
        {
          r->p++;
          return TRUE;
        }
      return fail (r, "expected ',' or ']'");
    }
}

static gboolean
value (Reader *r, guint depth)
{
  if (depth > STRICT_JSON_MAX_DEPTH)
    return fail (r, "nested too deep");
  skip_ws (r);
  if (r->p >= r->end)
    return fail (r, "expected a value");
  switch (*r->p)
    {
    case '{': return object (r, depth);
    case '[': return array (r, depth);
    case '"': return string (r, NULL, NULL);
    case 't': return literal (r, "true");
    case 'f': return literal (r, "false");
    case 'n': return literal (r, "null");
    default:  return number (r);
    }
}

gboolean
strict_json_check (const char *text, gsize len, const char **problem, gsize *offset)
{
  Reader r = { text, text + len, text, NULL };

  if (value (&r, 0))
    {
      skip_ws (&r);
      if (r.p == r.end)
        return TRUE;
      fail (&r, "text after the value");
    }
  *problem = r.problem;
  *offset = r.p - r.start;
  return FALSE;
}
