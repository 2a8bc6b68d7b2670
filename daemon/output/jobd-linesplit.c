/* SPDX-License-Identifier: MIT */
/* jobd-linesplit.c — turn a stream of bytes into bounded, safe lines.
 *
 * The only memory a splitter holds is the pending (incomplete) line, which
 * never exceeds max_line bytes: when it is full and more bytes of the same
 * line arrive, the full piece is delivered first. The buffer grows on demand
 * and is released when a flush leaves it empty, so an idle stream costs
 * almost nothing.
 */
#include "jobd-linesplit.h"

#include <string.h>

#define PENDING_MIN_ALLOC 256

struct _JobdLineSplitter {
  gsize max_line;
  JobdLineFunc func;
  gpointer user_data;
  char *buf;          /* pending bytes, room for max_line + 1 (the NUL) */
  gsize len;
  gsize alloc;
};

JobdLineSplitter *
jobd_line_splitter_new (gsize max_line,
                        JobdLineFunc func,
                        gpointer user_data)
{
  JobdLineSplitter *splitter;

  g_return_val_if_fail (max_line > 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  splitter = g_new0 (JobdLineSplitter, 1);
  splitter->max_line = max_line;
  splitter->func = func;
  splitter->user_data = user_data;
  return splitter;
}

void
jobd_line_splitter_free (JobdLineSplitter *splitter)
{
  if (splitter == NULL)
    return;
  g_free (splitter->buf);
  g_free (splitter);
}

char *
jobd_utf8_make_safe (const char *data, gsize len)
{
  GString *out = g_string_sized_new (len + 1);
  const char *p = data;
  gsize left = len;

  while (left > 0)
    {
      const char *end = NULL;
      gsize good;

      /* g_utf8_validate_len() stops at a NUL as well as at invalid bytes. */
      if (g_utf8_validate_len (p, left, &end))
        {
          g_string_append_len (out, p, left);
          break;
        }
      good = end - p;
      g_string_append_len (out, p, good);
      g_string_append (out, "\xEF\xBF\xBD");   /* U+FFFD */
      p += good + 1;
      left -= good + 1;
    }
  return g_string_free (out, FALSE);
}

/* Deliver valid text in pieces of at most max_line bytes, each cut on a
 * character boundary: what U+FFFD replacement made longer stays bounded. */
static void
splitter_emit_safe (JobdLineSplitter *splitter, const char *text, gsize len)
{
  while (len > splitter->max_line)
    {
      const char *cut = g_utf8_find_prev_char (text, text + splitter->max_line + 1);
      gsize piece = cut != NULL && cut > text ? (gsize) (cut - text) : splitter->max_line;
      g_autofree char *copy = g_strndup (text, piece);

      splitter->func (copy, piece, splitter->user_data);
      text += piece;
      len -= piece;
    }
  splitter->func (text, len, splitter->user_data);
}

/* Hand buf[0..len) to the callback as a NUL-terminated safe string. */
static void
splitter_emit (JobdLineSplitter *splitter, gsize len)
{
  g_autofree char *safe = NULL;

  if (splitter->buf == NULL)
    {
      splitter->func ("", 0, splitter->user_data);
      return;
    }
  splitter->buf[len] = '\0';
  if (g_utf8_validate_len (splitter->buf, len, NULL))
    {
      splitter->func (splitter->buf, len, splitter->user_data);
      return;
    }
  safe = jobd_utf8_make_safe (splitter->buf, len);
  splitter_emit_safe (splitter, safe, strlen (safe));
}

/* How many bytes at the end of buf[0..len) start a multibyte character
 * that is not complete yet (0 when the text ends on a boundary). */
static gsize
utf8_incomplete_tail (const char *buf, gsize len)
{
  for (gsize i = 1; i <= 3 && i <= len; i++)
    {
      guchar c = (guchar) buf[len - i];
      gsize need;

      if ((c & 0xC0) == 0x80)
        continue;               /* continuation byte: look further back */
      if (c < 0xC0)
        return 0;               /* ASCII */
      need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return need > i ? i : 0;
    }
  return 0;
}

gsize
jobd_utf8_cut_length (const char *buf, gsize len)
{
  if (len <= 3)
    return len;
  return len - utf8_incomplete_tail (buf, len);
}

/* The pending buffer is full and the line goes on: deliver the piece,
 * keeping a character cut in half for the next piece. */
static void
splitter_emit_piece (JobdLineSplitter *splitter)
{
  char tail[3];
  gsize keep = 0;

  if (splitter->max_line > sizeof tail)
    keep = utf8_incomplete_tail (splitter->buf, splitter->len);
  /* Saved first: emitting NUL-terminates the piece over the tail. */
  memcpy (tail, splitter->buf + splitter->len - keep, keep);
  splitter_emit (splitter, splitter->len - keep);
  memcpy (splitter->buf, tail, keep);
  splitter->len = keep;
}

static void
splitter_reserve (JobdLineSplitter *splitter, gsize extra)
{
  gsize want = MIN (splitter->len + extra, splitter->max_line) + 1;
  gsize alloc = MAX (splitter->alloc, PENDING_MIN_ALLOC);

  if (want <= splitter->alloc)
    return;
  while (alloc < want)
    alloc *= 2;
  alloc = MIN (alloc, splitter->max_line + 1);
  splitter->buf = g_realloc (splitter->buf, alloc);
  splitter->alloc = alloc;
}

/* Add bytes that belong to the current line, cutting it at max_line. */
static void
splitter_append (JobdLineSplitter *splitter, const char *data, gsize len)
{
  while (len > 0)
    {
      gsize take;

      /* Cut only once more bytes of the line exist, so that a line of
       * exactly max_line bytes stays one line. */
      if (splitter->len == splitter->max_line)
        splitter_emit_piece (splitter);
      splitter_reserve (splitter, len);
      take = MIN (len, splitter->max_line - splitter->len);
      memcpy (splitter->buf + splitter->len, data, take);
      splitter->len += take;
      data += take;
      len -= take;
    }
}

void
jobd_line_splitter_feed (JobdLineSplitter *splitter,
                         const char *data,
                         gsize len)
{
  g_return_if_fail (splitter != NULL);

  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      gsize part = nl != NULL ? (gsize) (nl - data) : len;

      splitter_append (splitter, data, part);
      if (nl == NULL)
        return;
      splitter_emit (splitter, splitter->len);
      splitter->len = 0;
      data += part + 1;
      len -= part + 1;
    }
}

void
jobd_line_splitter_flush (JobdLineSplitter *splitter)
{
  g_return_if_fail (splitter != NULL);

  if (splitter->len > 0)
    splitter_emit (splitter, splitter->len);
  splitter->len = 0;
  g_clear_pointer (&splitter->buf, g_free);
  splitter->alloc = 0;
}

gsize
jobd_line_splitter_pending (JobdLineSplitter *splitter)
{
  g_return_val_if_fail (splitter != NULL, 0);

  return splitter->len;
}
