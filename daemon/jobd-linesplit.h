/* jobd-linesplit.h — bytes in, bounded lines out.
 *
 * Feeds arbitrary chunks; calls back once per complete line (without the
 * newline). A line longer than max_line bytes is delivered in pieces of
 * max_line bytes. Text handed to the callback is valid UTF-8 with no NUL
 * (invalid sequences and NULs become U+FFFD). A trailing "\r" is kept as is
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

/* Make len bytes valid UTF-8 without NUL; returns a new string. */
char *jobd_utf8_make_safe (const char *data, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLineSplitter, jobd_line_splitter_free)

G_END_DECLS
