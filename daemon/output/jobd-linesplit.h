/* SPDX-License-Identifier: MIT */
/* jobd-linesplit.h — bytes in, bounded lines out.
 *
 * Feeds arbitrary chunks; calls back once per complete line (without the
 * newline). A line longer than max_line bytes is delivered in pieces of
 * max_line bytes. Text handed to the callback is valid UTF-8 with no NUL
 * (invalid sequences and NULs become U+FFFD); a line that replacement makes
 * longer than max_line is delivered in pieces of at most max_line bytes
 * too, so the bound holds after repair as well as before. A trailing "\r" is kept as is
 * (valid text). flush() delivers a pending partial line.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*JobdLineFunc) (const char *line, gsize len, gpointer user_data);

typedef struct _JobdLineSplitter JobdLineSplitter;

JobdLineSplitter *jobd_line_splitter_new (gsize max_line,
                                          JobdLineFunc func,
                                          gpointer user_data);
void jobd_line_splitter_free (JobdLineSplitter *splitter);
void jobd_line_splitter_feed (JobdLineSplitter *splitter,
                              const char *data,
                              gsize len);
void jobd_line_splitter_flush (JobdLineSplitter *splitter);
/* Bytes held for an incomplete line. */
gsize jobd_line_splitter_pending (JobdLineSplitter *splitter);

/* Where to cut a piece of buf[0..len) of an over-long line so that no
 * character is cut in half: len minus the start of an incomplete
 * multibyte character at its end. */
gsize jobd_utf8_cut_length (const char *buf, gsize len);

/* Make len bytes valid UTF-8 without NUL; returns a new string. */
char *jobd_utf8_make_safe (const char *data, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLineSplitter, jobd_line_splitter_free)

G_END_DECLS
