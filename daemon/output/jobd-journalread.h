/* SPDX-License-Identifier: MIT */
/* jobd-journalread.h — read a job's output lines back from the journal.
 *
 * jobd sends every output line with JOBD_JOB=, JOBD_STREAM= and JOBD_LINE=
 * (the line's number in this jobd, jobd-output.h) fields (jobd-journal.c).
 * A history read is bounded by (jobd's pid, line number): it ends before
 * the first line this jobd numbered `end` or later, waiting a little for
 * lines sent before but not yet stored by journald. Safe in a worker
 * thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *next;           /* sd-journal cursor of the next entry; NULL: locate */
  guint64 end;          /* the first line number of this jobd not in it */
} JobdJournalCursor;

/* id: jobd_output_get_history_id() of the job's output.
 * Sets cursor->next (NULL when there is nothing to read). */
gboolean jobd_journal_read_locate (const char *job_name,
                                   const char *id,
                                   JobdJournalCursor *cursor,
                                   gint64 since_usec,
                                   guint64 lines,
                                   GError **error);
/* Like jobd_log_read_page(); entries after until_usec end it too. */
gboolean jobd_journal_read_page (const char *job_name,
                                 const char *id,
                                 JobdJournalCursor *cursor,
                                 gint64 until_usec,
                                 guint max_lines,
                                 gsize max_bytes,
                                 GPtrArray *lines,
                                 gboolean *done,
                                 GError **error);

G_END_DECLS
