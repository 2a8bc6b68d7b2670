/* SPDX-License-Identifier: MIT */
/* jobd-legacy-stream.h — an answer produced piece by piece.
 *
 * Most legacy answers are built whole in memory; a few (a log file's
 * contents, LOGEXPLORER.READ) can be tens of megabytes and are sent slice by
 * slice as the client reads them. The server, the dispatcher and the
 * context handle such an answer only through this interface, so none of
 * them depends on the plugin that produces it (the log explorer implements
 * it; see jobd-legacy-logexplorer.c).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JobdLegacyStream JobdLegacyStream;

typedef struct {
  /* Bytes of the whole payload, known before the first piece. */
  gsize (*size) (JobdLegacyStream *stream);
  /* Append the next piece to out; FALSE when it cannot be finished. */
  gboolean (*next) (JobdLegacyStream *stream, GByteArray *out, GError **error);
  gboolean (*done) (JobdLegacyStream *stream);
  void (*free) (JobdLegacyStream *stream);
} JobdLegacyStreamFuncs;

/* The first member of every implementation. */
struct _JobdLegacyStream {
  const JobdLegacyStreamFuncs *funcs;
};

gsize jobd_legacy_stream_size (JobdLegacyStream *stream);
gboolean jobd_legacy_stream_next (JobdLegacyStream *stream, GByteArray *out, GError **error);
gboolean jobd_legacy_stream_done (JobdLegacyStream *stream);
/* All of what is left, in memory (the fuzz target, tests); NUL-terminated. */
char *jobd_legacy_stream_read_all (JobdLegacyStream *stream, gsize *len, GError **error);
void jobd_legacy_stream_free (JobdLegacyStream *stream);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyStream, jobd_legacy_stream_free)

G_END_DECLS
