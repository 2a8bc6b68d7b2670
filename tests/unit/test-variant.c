/* SPDX-License-Identifier: MIT */
/* test-variant.c — hand-serialized GVariants are byte-for-byte GLib's own. */
#include <string.h>

#include "jobd-variant.h"

/* What GLib builds for the same entries, in normal form. */
static GVariant *
glib_string_dict (const char * const *keys, const char * const *values, gsize n)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (gsize i = 0; i < n; i++)
    g_variant_builder_add (&builder, "{ss}", keys[i], values[i]);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* n entries whose keys are key_len bytes long (a counter, padded with 'k'). */
static void
check_dict (gsize n, gsize key_len, const char *value)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autofree const char **values = g_new (const char *, n + 1);
  g_autoptr(GVariant) ours = NULL, theirs = NULL;

  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *number = g_strdup_printf ("%" G_GSIZE_FORMAT, i);
      GString *key = g_string_new (number);

      while (key->len < key_len)
        g_string_append_c (key, 'k');
      g_ptr_array_add (keys, g_string_free (key, FALSE));
      values[i] = value;
    }
  ours = g_variant_ref_sink (jobd_variant_new_string_dict (
      (const char * const *) keys->pdata, values, n));
  theirs = glib_string_dict ((const char * const *) keys->pdata, values, n);

  g_assert_true (g_variant_is_of_type (ours, G_VARIANT_TYPE ("a{ss}")));
  g_assert_true (g_variant_is_normal_form (ours));
  g_assert_cmpuint (g_variant_get_size (ours), ==, g_variant_get_size (theirs));
  g_assert_cmpmem (g_variant_get_data (ours), g_variant_get_size (ours),
                   g_variant_get_data (theirs), g_variant_get_size (theirs));
  /* And it reads back as the same entries. */
  g_assert_cmpuint (g_variant_n_children (ours), ==, n);
  if (n > 0)
    {
      const char *k, *v;

      g_variant_get_child (ours, n - 1, "{&s&s}", &k, &v);
      g_assert_cmpstr (k, ==, keys->pdata[n - 1]);
      g_assert_cmpstr (v, ==, value);
    }
}

static void
test_empty (void)
{
  check_dict (0, 0, "up");
}

/* Each framing offset size (1, 2, 4 bytes) in the array, and entries whose
 * own offset needs 1, 2 or 4 bytes, with the sizes just around each limit. */
static void
test_offset_sizes (void)
{
  static const gsize counts[] = { 1, 2, 40, 50, 60, 200, 4000, 8000, 20000 };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    check_dict (counts[i], 1, "down");
  for (gsize key_len = 240; key_len < 260; key_len++)
    check_dict (1, key_len, "up");
  for (gsize key_len = 65520; key_len < 65540; key_len += 3)
    check_dict (2, key_len, "stopping");
  check_dict (3, 70000, "");
}

static void
test_utf8_and_empty_strings (void)
{
  const char *keys[] = { "", "名前", "job-1" };
  const char *values[] = { "", "状態", "" };
  g_autoptr(GVariant) ours = g_variant_ref_sink (jobd_variant_new_string_dict (keys, values, 3));
  g_autoptr(GVariant) theirs = glib_string_dict (keys, values, 3);

  g_assert_true (g_variant_equal (ours, theirs));
  g_assert_cmpmem (g_variant_get_data (ours), g_variant_get_size (ours),
                   g_variant_get_data (theirs), g_variant_get_size (theirs));
}

/* n rows whose names are name_len bytes long, varying every field. */
static void
check_rows (gsize n, gsize name_len)
{
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autofree JobdListRow *rows = g_new0 (JobdListRow, n + 1);
  static const char *states[] = { "up", "down", "starting", "stopping", "failed" };
  GVariantBuilder builder;
  g_autoptr(GVariant) ours = NULL, theirs = NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssuttuo)"));
  for (gsize i = 0; i < n; i++)
    {
      GString *name = g_string_new (NULL);
      char *path;

      g_string_printf (name, "j%" G_GSIZE_FORMAT, i);
      while (name->len < name_len)
        g_string_append_c (name, 'n');
      path = g_strdup_printf ("/org/jobd1/job/j%" G_GSIZE_FORMAT, i);
      rows[i] = (JobdListRow) { name->str, states[i % G_N_ELEMENTS (states)],
                                (guint32) (i * 7919), G_GUINT64_CONSTANT (1) << (i % 64),
                                (guint64) i * 1000003, (guint32) i, path };
      g_ptr_array_add (strings, g_string_free (name, FALSE));
      g_ptr_array_add (strings, path);
      g_variant_builder_add (&builder, "(ssuttuo)", rows[i].name, rows[i].state, rows[i].pid,
                             rows[i].memory, rows[i].started_at, rows[i].restarts,
                             rows[i].path);
    }
  theirs = g_variant_ref_sink (g_variant_builder_end (&builder));
  ours = g_variant_ref_sink (jobd_variant_new_list_rows (rows, n));

  g_assert_true (g_variant_is_normal_form (ours));
  g_assert_cmpmem (g_variant_get_data (ours), g_variant_get_size (ours),
                   g_variant_get_data (theirs), g_variant_get_size (theirs));
  g_assert_true (g_variant_equal (ours, theirs));
}

/* Row offsets of 1 and 2 bytes (rows longer than 255 bytes), array offsets
 * of 1, 2 and 4 bytes, every alignment of the strings' ends. */
static void
test_list_rows (void)
{
  static const gsize counts[] = { 0, 1, 2, 3, 5, 8, 100, 3000 };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    for (gsize name_len = 1; name_len <= 9; name_len++)
      check_rows (counts[i], name_len);
  for (gsize name_len = 200; name_len < 280; name_len += 7)
    check_rows (3, name_len);
  check_rows (300, 300);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/variant/empty", test_empty);
  g_test_add_func ("/variant/offset-sizes", test_offset_sizes);
  g_test_add_func ("/variant/utf8-and-empty-strings", test_utf8_and_empty_strings);
  g_test_add_func ("/variant/list-rows", test_list_rows);
  return g_test_run ();
}
