/* SPDX-License-Identifier: MIT */
/* jobd-journalread.c — a job's output lines from the journal (sd-journal). */
#include "config.h"

#include "jobd-journalread.h"

#include <string.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "jobd-error.h"
#include "jobd-journal.h"
#include "jobd-linesplit.h"
#include "jobd-output.h"

/* How long a read waits for lines jobd sent before the history's end that
 * journald has not stored yet (or dropped: it rate-limits). */
#define ARRIVAL_WAIT_USEC (2 * G_USEC_PER_SEC)
#define WAIT_STEP_USEC (100 * 1000)

typedef struct {
  sd_journal *j;
  char *id;          /* JOBD_LINE's prefix of this job in this jobd */
} Journal;

static void
journal_close (Journal *jr)
{
  if (jr->j != NULL)
    sd_journal_close (jr->j);
  g_free (jr->id);
}

static gboolean
fail (int r, const char *what, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "Reading the journal: %s: %s",
               what, g_strerror (-r));
  return FALSE;
}

static gboolean
journal_open (Journal *jr, const char *job_name, const char *id, GError **error)
{
  g_autofree char *job = g_strconcat ("JOBD_JOB=", job_name, NULL);
  int r;

  jr->id = g_strdup (id);
  r = sd_journal_open (&jr->j, SD_JOURNAL_LOCAL_ONLY);
  if (r < 0)
    return fail (r, "open", error);
  sd_journal_set_data_threshold (jr->j, JOBD_LINE_MAX + 64);
  /* jobd's own messages about the job carry JOBD_JOB= too: output lines
   * are the ones with a stream. */
  if ((r = sd_journal_add_match (jr->j, job, 0)) < 0
      || (r = sd_journal_add_match (jr->j, "JOBD_STREAM=stdout", 0)) < 0
      || (r = sd_journal_add_match (jr->j, "JOBD_STREAM=stderr", 0)) < 0)
    return fail (r, "match", error);
  return TRUE;
}

/* A field's value of the current entry, NUL-terminated; NULL when absent. */
static char *
field (sd_journal *j, const char *name)
{
  const void *data;
  size_t len, name_len = strlen (name);

  if (sd_journal_get_data (j, name, &data, &len) < 0 || len <= name_len)
    return NULL;
  return jobd_utf8_make_safe ((const char *) data + name_len + 1, len - name_len - 1);
}

/* The entry's line number when this jobd's output of this job sent it. */
static gboolean
entry_number (Journal *jr, guint64 *number)
{
  g_autofree char *line = field (jr->j, "JOBD_LINE");
  const char *dash = line != NULL ? strrchr (line, '-') : NULL;

  if (dash == NULL || strncmp (line, jr->id, dash - line) != 0 || strlen (jr->id) != (gsize) (dash - line))
    return FALSE;
  return g_ascii_string_to_unsigned (dash + 1, 10, 0, G_MAXUINT64, number, NULL);
}

static gboolean
entry_after_end (Journal *jr, guint64 end, gboolean *is_last)
{
  guint64 number;

  if (!entry_number (jr, &number))
    return FALSE;
  if (is_last != NULL && end > 0 && number == end - 1)
    *is_last = TRUE;
  return number >= end;
}

static char *
entry_cursor (sd_journal *j)
{
  char *c = NULL, *copy;

  if (sd_journal_get_cursor (j, &c) < 0)
    return NULL;
  copy = g_strdup (c);
  free (c);
  return copy;
}

gboolean
jobd_journal_read_locate (const char *job_name,
                          const char *id,
                          JobdJournalCursor *cursor,
                          gint64 since_usec,
                          guint64 lines,
                          GError **error)
{
  Journal jr = { 0 };
  gboolean ok = journal_open (&jr, job_name, id, error);
  guint64 counted = 0;
  uint64_t when;

  g_clear_pointer (&cursor->next, g_free);
  if (!ok)
    goto out;
  if (lines == 0)
    {
      if (since_usec != G_MININT64 && since_usec > 0)
        sd_journal_seek_realtime_usec (jr.j, since_usec);
      else
        sd_journal_seek_head (jr.j);
      while (sd_journal_next (jr.j) > 0)
        if (!entry_after_end (&jr, cursor->end, NULL))
          {
            cursor->next = entry_cursor (jr.j);
            break;
          }
      goto out;
    }
  /* Backwards from the tail: the last `lines` before the end. */
  sd_journal_seek_tail (jr.j);
  while (counted < lines && sd_journal_previous (jr.j) > 0)
    {
      if (entry_after_end (&jr, cursor->end, NULL))
        continue;
      if (since_usec != G_MININT64 && sd_journal_get_realtime_usec (jr.j, &when) >= 0
          && (gint64) when < since_usec)
        break;
      g_free (cursor->next);
      cursor->next = entry_cursor (jr.j);
      counted++;
    }
out:
  journal_close (&jr);
  return ok;
}

static void
add_line (sd_journal *j, GPtrArray *lines, gsize *bytes)
{
  g_autofree char *text = field (j, "MESSAGE");
  g_autofree char *stream = field (j, "JOBD_STREAM");
  uint64_t when = 0;

  sd_journal_get_realtime_usec (j, &when);
  if (text == NULL)
    text = g_strdup ("");
  *bytes += strlen (text);
  g_ptr_array_add (lines, jobd_line_new ((gint64) when,
                                         g_strcmp0 (stream, "stderr") == 0
                                         ? JOBD_STREAM_STDERR : JOBD_STREAM_STDOUT,
                                         text, strlen (text)));
}

gboolean
jobd_journal_read_page (const char *job_name,
                        const char *id,
                        JobdJournalCursor *cursor,
                        gint64 until_usec,
                        guint max_lines,
                        gsize max_bytes,
                        GPtrArray *lines,
                        gboolean *done,
                        GError **error)
{
  Journal jr = { 0 };
  gboolean ok = journal_open (&jr, job_name, id, error);
  gboolean seen_last = cursor->end == 0;
  gint64 waited = 0;
  gsize bytes = 0;
  uint64_t when;
  int r;

  *done = TRUE;
  if (!ok)
    goto out;
  if ((r = sd_journal_seek_cursor (jr.j, cursor->next)) < 0)
    {
      ok = fail (r, "cursor", error);
      goto out;
    }
  g_clear_pointer (&cursor->next, g_free);
  for (;;)
    {
      r = sd_journal_next (jr.j);
      if (r == 0)
        {
          /* The tail: lines sent before the end may still be on their way. */
          if (seen_last || until_usec != G_MAXINT64 || waited >= ARRIVAL_WAIT_USEC)
            break;
          sd_journal_wait (jr.j, WAIT_STEP_USEC);
          waited += WAIT_STEP_USEC;
          continue;
        }
      if (r < 0)
        {
          ok = fail (r, "next", error);
          break;
        }
      if (entry_after_end (&jr, cursor->end, &seen_last))
        break;
      if (sd_journal_get_realtime_usec (jr.j, &when) >= 0 && (gint64) when > until_usec)
        break;
      if (lines->len > 0 && (lines->len >= max_lines || bytes >= max_bytes))
        {
          cursor->next = entry_cursor (jr.j);
          *done = cursor->next == NULL;
          break;
        }
      add_line (jr.j, lines, &bytes);
    }
out:
  journal_close (&jr);
  return ok;
}
