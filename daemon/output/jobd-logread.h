/* SPDX-License-Identifier: MIT */
/* jobd-logread.h — read a job's history back from its log files.
 *
 * The files are the ones jobd-logfile.h writes, one per hour and stream:
 *   <dir>/<YYYYmmdd>/<YYYYmmddHH>.log and .error.log
 * A position in one stream is (hour key, byte offset); a cursor holds the
 * next position and the end position of both streams, so a history read in
 * pages reads exactly the lines that were in the files when its end was
 * taken (jobd_log_file_end()), across hour files and retention (a file
 * deleted meanwhile is skipped). The two streams are merged by the time in
 * each line's "[yy-mm-dd HH:MM:SS] " prefix (seconds; within one second
 * stdout comes first).
 *
 * Everything here is plain file reading with a bounded buffer, safe to run
 * in a worker thread; nothing touches a job or the main loop.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_LOG_KEY_LEN 10   /* YYYYmmddHH */

typedef struct {
  char key[JOBD_LOG_KEY_LEN + 1];   /* "" = before every file */
  guint64 offset;
} JobdLogPos;

typedef struct {
  JobdLogPos next[2];   /* per stream: 0 stdout, 1 stderr */
  JobdLogPos end[2];
} JobdLogCursor;

/* Where the reading of history for a query starts: next becomes the first
 * line at or after since_usec (G_MININT64: the beginning) and among the
 * last `lines` lines before end (0: no limit); end is lowered to the first
 * line after until_usec (G_MAXINT64: no limit). */
void jobd_log_read_locate (const char *dir,
                           JobdLogCursor *cursor,
                           gint64 since_usec,
                           gint64 until_usec,
                           guint64 lines);

/* Appends lines (JobdLine, jobd-output.h) from cursor->next on, in time
 * order, until end, max_lines or max_bytes of text (at least one line);
 * advances cursor->next. TRUE when the end was reached. */
gboolean jobd_log_read_page (const char *dir,
                             JobdLogCursor *cursor,
                             guint max_lines,
                             gsize max_bytes,
                             GPtrArray *lines);

/* The hour key of a file name or path ("…/2026120510.error.log" →
 * "2026120510"); FALSE when it is not one of ours. */
gboolean jobd_log_key_from_name (const char *name, char key[JOBD_LOG_KEY_LEN + 1]);

G_END_DECLS
