/* SPDX-License-Identifier: MIT */
/* jobd-outputlog.h — a job's output history, from wherever it is kept.
 *
 * The source is the job's log files when write-log is on, else the journal
 * when jobd sends output there, else the ring. A read goes in pages: the
 * first call gives a cursor (jobd_output_history_begin) that fixes where
 * the history ends at that instant, every page continues from the cursor
 * the one before returned, until it returns none. With a follower opened
 * in the same call as the cursor, the follower's first line is the one
 * after the history's last: nothing is lost or shown twice.
 *
 * Bounds: a page holds at most JOBD_HISTORY_PAGE_LINES lines and
 * JOBD_HISTORY_PAGE_BYTES bytes of text (always at least one line); files
 * and the journal are read in a pool of JOBD_HISTORY_THREADS worker threads
 * through a fixed buffer (files) or sd-journal (journal), never in the
 * main loop; the ring is read in the main loop (it is in memory and
 * bounded already).
 */
#pragma once

#include <gio/gio.h>

#include "jobd-output.h"

G_BEGIN_DECLS

#define JOBD_HISTORY_PAGE_LINES 5000
/* Well under a D-Bus client's queue bound ([DBus] MaxQueuedBytes=, 8 MiB). */
#define JOBD_HISTORY_PAGE_BYTES (2 * 1024 * 1024)
#define JOBD_HISTORY_THREADS 2

typedef struct {
  guint64 lines;        /* the last N lines only; 0: all */
  gint64 since_usec;    /* G_MININT64: from the beginning */
  gint64 until_usec;    /* G_MAXINT64: to the end */
} JobdHistoryQuery;

/* The cursor of a read of the history as it is now. With follow_fd, also a
 * follower (jobd_output_follow) whose lines start where the history ends. */
char *jobd_output_history_begin (JobdOutput *output,
                                 const JobdHistoryQuery *query,
                                 guint reader_uid,
                                 int *follow_fd,
                                 GError **error);

/* One page from cursor. */
void jobd_output_history_read_async (JobdOutput *output,
                                     const char *cursor,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
/* The lines (JobdLine), *next_cursor (NULL at the end) and *source
 * ("files", "journal", "ring"). */
GPtrArray *jobd_output_history_read_finish (JobdOutput *output,
                                            GAsyncResult *result,
                                            char **next_cursor,
                                            char **source,
                                            GError **error);

G_END_DECLS
