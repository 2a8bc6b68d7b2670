/* SPDX-License-Identifier: MIT */
/* jobd-outputlog.c — a job's output history: cursors and the worker pool.
 *
 * Cursors are strings the client hands back unchanged; they are parsed
 * strictly (a forged one can only name positions in this job's own files:
 * hour keys are ten digits, the folder is the job's):
 *   files-start:SINCE:UNTIL:LINES:K0:O0:K1:O1      (end fixed, start to find)
 *   files:K0:O0:K1:O1:E0:EO0:E1:EO1               (next and end per stream)
 *   journal-start:SINCE:UNTIL:LINES:END
 *   journal:UNTIL:END:SDCURSOR
 *   ring:NEXT:END
 */
#include "jobd-outputlog.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-journal.h"
#include "jobd-journalread.h"
#include "jobd-logread.h"

/* ---- cursors ---------------------------------------------------------- */

static gboolean
parse_u64 (const char *text, guint64 *out)
{
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, NULL);
}

static gboolean
parse_s64 (const char *text, gint64 *out)
{
  return g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static gboolean
parse_key (const char *text, char key[JOBD_LOG_KEY_LEN + 1])
{
  gsize len = strlen (text);

  if (len != 0 && len != JOBD_LOG_KEY_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  memcpy (key, text, len + 1);
  return TRUE;
}

static gboolean
parse_pos (char **fields, JobdLogPos *pos)
{
  return parse_key (fields[0], pos->key) && parse_u64 (fields[1], &pos->offset);
}

static char *
files_cursor (const JobdLogCursor *c)
{
  return g_strdup_printf ("files:%s:%" G_GUINT64_FORMAT ":%s:%" G_GUINT64_FORMAT
                          ":%s:%" G_GUINT64_FORMAT ":%s:%" G_GUINT64_FORMAT,
                          c->next[0].key, c->next[0].offset, c->next[1].key, c->next[1].offset,
                          c->end[0].key, c->end[0].offset, c->end[1].key, c->end[1].offset);
}

typedef enum { SOURCE_FILES, SOURCE_JOURNAL, SOURCE_RING } Source;

static const char *const source_names[] = { "files", "journal", "ring" };

typedef struct {
  Source source;
  gboolean start;         /* still to locate */
  JobdHistoryQuery query;
  JobdLogCursor files;
  char *journal_next;
  guint64 next, end;      /* ring; journal: end */
  char *dir;              /* files */
  char *job_name;         /* journal */
  char *id;               /* journal */
} Cursor;

static void
cursor_free (Cursor *c)
{
  g_free (c->journal_next);
  g_free (c->dir);
  g_free (c->job_name);
  g_free (c->id);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cursor, cursor_free)

static gboolean
parse_query (char **f, JobdHistoryQuery *q)
{
  return parse_s64 (f[0], &q->since_usec) && parse_s64 (f[1], &q->until_usec)
         && parse_u64 (f[2], &q->lines);
}

static Cursor *
cursor_parse (const char *text, GError **error)
{
  g_autoptr(Cursor) c = g_new0 (Cursor, 1);
  g_auto(GStrv) f = g_strsplit (text, ":", 4);   /* the journal's may hold ':' */
  g_auto(GStrv) all = g_strsplit (text, ":", -1);
  guint n = g_strv_length (all);
  gboolean ok = FALSE;

  if (g_strv_length (f) < 2)
    ;
  else if (strcmp (all[0], "files-start") == 0 && n == 8)
    {
      c->source = SOURCE_FILES;
      c->start = TRUE;
      ok = parse_query (all + 1, &c->query) && parse_pos (all + 4, &c->files.end[0])
           && parse_pos (all + 6, &c->files.end[1]);
    }
  else if (strcmp (all[0], "files") == 0 && n == 9)
    {
      c->source = SOURCE_FILES;
      ok = parse_pos (all + 1, &c->files.next[0]) && parse_pos (all + 3, &c->files.next[1])
           && parse_pos (all + 5, &c->files.end[0]) && parse_pos (all + 7, &c->files.end[1]);
    }
  else if (strcmp (all[0], "journal-start") == 0 && n == 5)
    {
      c->source = SOURCE_JOURNAL;
      c->start = TRUE;
      ok = parse_query (all + 1, &c->query) && parse_u64 (all[4], &c->end);
    }
  else if (strcmp (f[0], "journal") == 0 && g_strv_length (f) == 4)
    {
      c->source = SOURCE_JOURNAL;
      c->query.since_usec = G_MININT64;
      ok = parse_s64 (f[1], &c->query.until_usec) && parse_u64 (f[2], &c->end)
           && f[3][0] != '\0';
      c->journal_next = g_strdup (f[3]);
    }
  else if (strcmp (all[0], "ring") == 0 && n == 3)
    {
      c->source = SOURCE_RING;
      ok = parse_u64 (all[1], &c->next) && parse_u64 (all[2], &c->end) && c->next <= c->end;
    }
  if (!ok)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "Not a history cursor of jobd: “%s”", text);
      return NULL;
    }
  return g_steal_pointer (&c);
}

/* ---- beginning a read -------------------------------------------------- */

static Source
current_source (JobdOutput *output)
{
  if (jobd_output_get_log_files_dir (output) != NULL)
    return SOURCE_FILES;
  if (jobd_output_has_line_sink (output, jobd_journal_line_sink))
    return SOURCE_JOURNAL;
  return SOURCE_RING;
}

char *
jobd_output_history_begin (JobdOutput *output,
                           const JobdHistoryQuery *query,
                           guint reader_uid,
                           int *follow_fd,
                           GError **error)
{
  char keys[2][11];
  guint64 offsets[2];
  guint64 total = jobd_output_get_lines_total (output);
  const JobdHistoryQuery *q = query;

  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  /* The follower and the end are taken in the same main-loop turn: every
   * later line goes to the follower and not into the history read. */
  if (follow_fd != NULL)
    {
      *follow_fd = jobd_output_follow (output, reader_uid, error);
      if (*follow_fd < 0)
        return NULL;
    }
  switch (current_source (output))
    {
    case SOURCE_FILES:
      jobd_output_log_end (output, keys, offsets);
      return g_strdup_printf ("files-start:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%"
                              G_GUINT64_FORMAT ":%s:%" G_GUINT64_FORMAT ":%s:%" G_GUINT64_FORMAT,
                              q->since_usec, q->until_usec, q->lines,
                              keys[0], offsets[0], keys[1], offsets[1]);
    case SOURCE_JOURNAL:
      return g_strdup_printf ("journal-start:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%"
                              G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                              q->since_usec, q->until_usec, q->lines, total);
    case SOURCE_RING:
    default:
      {
        /* In memory: located at once. */
        guint64 first = jobd_output_ring_first (output), next = first, end = total;
        const JobdLine *line;

        while (next < end && (line = jobd_output_ring_line (output, next)) != NULL
               && line->time_usec < q->since_usec)
          next++;
        for (guint64 i = next; i < end; i++)
          if (jobd_output_ring_line (output, i)->time_usec > q->until_usec)
            {
              end = i;
              break;
            }
        if (q->lines > 0 && end - next > q->lines)
          next = end - q->lines;
        return g_strdup_printf ("ring:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, next, end);
      }
    }
}

/* ---- reading a page ------------------------------------------------------ */

typedef struct {
  GPtrArray *lines;
  char *next_cursor;
  Source source;
} Page;

static void
page_free (Page *page)
{
  g_clear_pointer (&page->lines, g_ptr_array_unref);
  g_free (page->next_cursor);
  g_free (page);
}

static Page *
page_new (Source source)
{
  Page *page = g_new0 (Page, 1);

  page->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_line_free);
  page->source = source;
  return page;
}

static Page *
read_files (Cursor *c)
{
  Page *page = page_new (SOURCE_FILES);

  if (c->start)
    jobd_log_read_locate (c->dir, &c->files, c->query.since_usec, c->query.until_usec,
                          c->query.lines);
  if (!jobd_log_read_page (c->dir, &c->files, JOBD_HISTORY_PAGE_LINES,
                           JOBD_HISTORY_PAGE_BYTES, page->lines))
    page->next_cursor = files_cursor (&c->files);
  return page;
}

static Page *
read_journal (Cursor *c, GError **error)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_line_free);
  JobdJournalCursor jc = { c->journal_next, c->end };
  gboolean done = FALSE;
  Page *page;

  c->journal_next = NULL;
  if (c->start && !jobd_journal_read_locate (c->job_name, c->id, &jc, c->query.since_usec,
                                             c->query.lines, error))
    {
      g_free (jc.next);
      return NULL;
    }
  if (jc.next != NULL
      && !jobd_journal_read_page (c->job_name, c->id, &jc, c->query.until_usec,
                                  JOBD_HISTORY_PAGE_LINES, JOBD_HISTORY_PAGE_BYTES,
                                  lines, &done, error))
    {
      g_free (jc.next);
      return NULL;
    }
  page = page_new (SOURCE_JOURNAL);
  g_ptr_array_extend_and_steal (page->lines, g_steal_pointer (&lines));
  if (!done && jc.next != NULL)
    page->next_cursor = g_strdup_printf ("journal:%" G_GINT64_FORMAT ":%" G_GUINT64_FORMAT ":%s",
                                         c->query.until_usec, jc.end, jc.next);
  g_free (jc.next);
  return page;
}

static Page *
read_ring (JobdOutput *output, Cursor *c)
{
  Page *page = page_new (SOURCE_RING);
  gsize bytes = 0;
  guint64 next = MAX (c->next, jobd_output_ring_first (output));   /* gone: skipped */
  guint64 end = MIN (c->end, jobd_output_get_lines_total (output));
  const JobdLine *line;

  while (next < end && (line = jobd_output_ring_line (output, next)) != NULL)
    {
      gsize len = strlen (line->text);

      if (page->lines->len > 0
          && (page->lines->len >= JOBD_HISTORY_PAGE_LINES || bytes + len > JOBD_HISTORY_PAGE_BYTES))
        break;
      g_ptr_array_add (page->lines, jobd_line_new (line->time_usec, line->stream, line->text, len));
      bytes += len;
      next++;
    }
  if (next < end)
    page->next_cursor = g_strdup_printf ("ring:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                         next, end);
  return page;
}

static void
worker (gpointer data, gpointer user_data)
{
  g_autoptr(GTask) task = data;
  Cursor *c = g_task_get_task_data (task);
  GError *error = NULL;
  Page *page;
  static __thread gboolean niced;

  /* Scanning a big file must not take the CPU the main loop needs (on a
   * small machine the workers would otherwise keep every core busy). */
  if (!niced)
    {
      niced = TRUE;
      if (setpriority (PRIO_PROCESS, (id_t) gettid (), 10) < 0)
        g_debug ("history worker: setpriority: %s", g_strerror (errno));
    }
  page = c->source == SOURCE_FILES ? read_files (c) : read_journal (c, &error);

  if (page == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, page, (GDestroyNotify) page_free);
}

static GThreadPool *
worker_pool (void)
{
  static GThreadPool *pool;   /* made and used in the main thread only */

  if (pool == NULL)
    pool = g_thread_pool_new (worker, NULL, JOBD_HISTORY_THREADS, FALSE, NULL);
  return pool;
}

void
jobd_output_history_read_async (JobdOutput *output,
                                const char *cursor,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (output, NULL, callback, user_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(Cursor) c = cursor_parse (cursor, &error);
  const char *dir;

  if (c == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (c->source == SOURCE_RING)
    {
      g_task_return_pointer (task, read_ring (output, c), (GDestroyNotify) page_free);
      return;
    }
  if (c->source == SOURCE_FILES)
    {
      dir = jobd_output_get_log_files_dir (output);
      if (dir == NULL)
        {
          g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_FAILED,
                                   "The job's log files were turned off meanwhile");
          return;
        }
      c->dir = g_strdup (dir);
    }
  c->job_name = g_strdup (jobd_output_get_job_name (output));
  c->id = g_strdup (jobd_output_get_history_id (output));
  g_task_set_task_data (task, g_steal_pointer (&c), (GDestroyNotify) cursor_free);
  g_thread_pool_push (worker_pool (), g_steal_pointer (&task), NULL);
}

GPtrArray *
jobd_output_history_read_finish (JobdOutput *output,
                                 GAsyncResult *result,
                                 char **next_cursor,
                                 char **source,
                                 GError **error)
{
  Page *page;
  GPtrArray *lines;

  g_return_val_if_fail (g_task_is_valid (result, output), NULL);

  page = g_task_propagate_pointer (G_TASK (result), error);
  if (page == NULL)
    return NULL;
  lines = g_steal_pointer (&page->lines);
  *next_cursor = g_steal_pointer (&page->next_cursor);
  *source = g_strdup (source_names[page->source]);
  page_free (page);
  return lines;
}
