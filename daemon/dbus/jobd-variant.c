/* SPDX-License-Identifier: MIT */
/* jobd-variant.c — GVariants written straight into their serialized form.
 *
 * The GVariant serialization format (the "GVariant Serialisation" paper in
 * GLib's docs) for the types here:
 *
 *   string   the bytes and a terminating NUL; alignment 1.
 *   {ss}     key string, value string, then one framing offset: where the
 *            key ends (the last child needs none).
 *   a{ss}    the entries back to back (alignment 1: no padding), then one
 *            framing offset per entry: where it ends.
 *   as       the strings back to back (alignment 1), then one framing
 *            offset per string: where it ends.
 *
 * Framing offsets are little-endian and all of one size per container: the
 * smallest of 1, 2, 4 or 8 bytes that can address the whole container,
 * offsets included.
 */
#include "jobd-variant.h"

#include <string.h>

/* Size of a container of body_size bytes plus n_offsets framing offsets,
 * with the offset size that container needs. */
static gsize
container_size (gsize body_size, gsize n_offsets, guint *offset_size)
{
  if (n_offsets == 0)
    *offset_size = 0;
  else if (body_size + n_offsets <= G_MAXUINT8)
    *offset_size = 1;
  else if (body_size + 2 * n_offsets <= G_MAXUINT16)
    *offset_size = 2;
  else if (body_size + 4 * n_offsets <= G_MAXUINT32)
    *offset_size = 4;
  else
    *offset_size = 8;
  return body_size + *offset_size * n_offsets;
}

static guint8 *
put_offset (guint8 *out, gsize value, guint offset_size)
{
  for (guint i = 0; i < offset_size; i++)
    out[i] = (guint8) (value >> (8 * i));
  return out + offset_size;
}

static guint8 *
put_string (guint8 *out, const char *s, gsize len)
{
  memcpy (out, s, len + 1);
  return out + len + 1;
}

GVariant *
jobd_variant_new_strv (const char * const *strv, gsize n)
{
  g_autofree gsize *len = g_new (gsize, n + 1);
  gsize body_size = 0, total;
  guint offset_size;
  guint8 *data, *out, *offsets;
  GBytes *bytes;
  GVariant *array;

  for (gsize i = 0; i < n; i++)
    {
      len[i] = strlen (strv[i]);
      body_size += len[i] + 1;
    }
  total = container_size (body_size, n, &offset_size);

  data = g_malloc (MAX (total, 1));
  out = data;
  offsets = data + body_size;
  for (gsize i = 0; i < n; i++)
    {
      out = put_string (out, strv[i], len[i]);
      offsets = put_offset (offsets, (gsize) (out - data), offset_size);
    }
  g_assert (out == data + body_size && offsets == data + total);

  bytes = g_bytes_new_take (data, total);
  array = g_variant_new_from_bytes (G_VARIANT_TYPE_STRING_ARRAY, bytes, TRUE);
  g_bytes_unref (bytes);
  return array;
}

GVariant *
jobd_variant_new_string_dict (const char * const *keys,
                              const char * const *values,
                              gsize n)
{
  g_autofree gsize *key_len = g_new (gsize, 2 * n + 1);
  gsize *value_len = key_len + n;
  gsize body_size = 0, total;
  guint array_offset_size, entry_offset_size;
  guint8 *data, *out, *offsets;
  GBytes *bytes;
  GVariant *dict;

  /* First pass: the size of every entry, so the array's offset size is
   * known before anything is written. */
  for (gsize i = 0; i < n; i++)
    {
      key_len[i] = strlen (keys[i]);
      value_len[i] = strlen (values[i]);
      body_size += container_size (key_len[i] + 1 + value_len[i] + 1, 1, &entry_offset_size);
    }
  total = container_size (body_size, n, &array_offset_size);

  data = g_malloc (MAX (total, 1));
  out = data;
  offsets = data + body_size;
  for (gsize i = 0; i < n; i++)
    {
      gsize key_end = key_len[i] + 1;

      container_size (key_end + value_len[i] + 1, 1, &entry_offset_size);
      out = put_string (out, keys[i], key_len[i]);
      out = put_string (out, values[i], value_len[i]);
      out = put_offset (out, key_end, entry_offset_size);
      offsets = put_offset (offsets, (gsize) (out - data), array_offset_size);
    }
  g_assert (out == data + body_size && offsets == data + total);

  bytes = g_bytes_new_take (data, total);
  dict = g_variant_new_from_bytes (G_VARIANT_TYPE ("a{ss}"), bytes, TRUE);
  g_bytes_unref (bytes);
  return dict;
}
