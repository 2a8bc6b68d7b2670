/* SPDX-License-Identifier: MIT */
/* jobd-legacy-stream.c — dispatch to a streamed answer's implementation. */
#include "config.h"

#include "jobd-legacy-stream.h"

gsize
jobd_legacy_stream_size (JobdLegacyStream *stream)
{
  return stream->funcs->size (stream);
}

gboolean
jobd_legacy_stream_next (JobdLegacyStream *stream, GByteArray *out, GError **error)
{
  return stream->funcs->next (stream, out, error);
}

gboolean
jobd_legacy_stream_done (JobdLegacyStream *stream)
{
  return stream->funcs->done (stream);
}

char *
jobd_legacy_stream_read_all (JobdLegacyStream *stream, gsize *len, GError **error)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (jobd_legacy_stream_size (stream) + 1);

  while (!jobd_legacy_stream_done (stream))
    if (!jobd_legacy_stream_next (stream, out, error))
      return NULL;
  *len = out->len;
  g_byte_array_append (out, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&out), FALSE);
}

void
jobd_legacy_stream_free (JobdLegacyStream *stream)
{
  if (stream != NULL)
    stream->funcs->free (stream);
}
