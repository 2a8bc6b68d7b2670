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
 *   (ssuttuo) the members in order, each at its alignment (u 4, t 8) counted
 *            from the row's start, then the framing offsets of the two
 *            strings that are not last, in reverse order (the first string's
 *            end last).
 *   a(ssuttuo) the rows, each starting at a multiple of 8, then one framing
 *            offset per row: where it ends.
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

static gsize
align (gsize offset, gsize alignment)
{
  return (offset + alignment - 1) & ~(alignment - 1);
}

/* Where a row's members end, relative to its start. */
typedef struct {
  gsize name_end, state_end, body, size;
  guint offset_size;
} RowLayout;

static void
row_layout (const JobdListRow *row, RowLayout *layout)
{
  gsize pos;

  layout->name_end = strlen (row->name) + 1;
  layout->state_end = layout->name_end + strlen (row->state) + 1;
  pos = align (layout->state_end, 4) + 4;             /* pid */
  pos = align (pos, 8) + 8 + 8;                       /* memory, started_at */
  pos += 4;                                           /* restarts */
  layout->body = pos + strlen (row->path) + 1;
  layout->size = container_size (layout->body, 2, &layout->offset_size);
}

/* Writes the row at out (zeroed, 8-aligned relative to the array). */
static void
put_row (guint8 *out, const JobdListRow *row, const RowLayout *layout)
{
  gsize pos;

  memcpy (out, row->name, layout->name_end);
  memcpy (out + layout->name_end, row->state, layout->state_end - layout->name_end);
  pos = align (layout->state_end, 4);
  memcpy (out + pos, &row->pid, 4);
  pos = align (pos + 4, 8);
  memcpy (out + pos, &row->memory, 8);
  memcpy (out + pos + 8, &row->started_at, 8);
  memcpy (out + pos + 16, &row->restarts, 4);
  pos += 20;
  memcpy (out + pos, row->path, layout->body - pos);
  put_offset (out + layout->size - layout->offset_size, layout->name_end, layout->offset_size);
  put_offset (out + layout->size - 2 * layout->offset_size, layout->state_end,
              layout->offset_size);
}

GVariant *
jobd_variant_new_list_rows (const JobdListRow *rows, gsize n)
{
  g_autofree RowLayout *layouts = g_new (RowLayout, n + 1);
  gsize body_size = 0, total;
  guint offset_size;
  guint8 *data, *offsets;
  GBytes *bytes;
  GVariant *list;

  for (gsize i = 0; i < n; i++)
    {
      row_layout (&rows[i], &layouts[i]);
      body_size = align (body_size, 8) + layouts[i].size;
    }
  total = container_size (body_size, n, &offset_size);

  data = g_malloc0 (MAX (total, 1));    /* zeros: the padding */
  offsets = data + body_size;
  body_size = 0;
  for (gsize i = 0; i < n; i++)
    {
      body_size = align (body_size, 8);
      put_row (data + body_size, &rows[i], &layouts[i]);
      body_size += layouts[i].size;
      offsets = put_offset (offsets, body_size, offset_size);
    }
  g_assert (offsets == data + total);

  bytes = g_bytes_new_take (data, total);
  list = g_variant_new_from_bytes (G_VARIANT_TYPE ("a(ssuttuo)"), bytes, TRUE);
  g_bytes_unref (bytes);
  return list;
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
