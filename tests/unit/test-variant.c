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

/* n strings of len bytes (a counter, padded with 's'), against GLib's
 * g_variant_new_strv(). */
static void
check_strv (gsize n, gsize len)
{
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GVariant) ours = NULL, theirs = NULL;

  for (gsize i = 0; i < n; i++)
    {
      GString *s = g_string_new (NULL);

      g_string_printf (s, "%" G_GSIZE_FORMAT, i);
      while (s->len < len)
        g_string_append_c (s, 's');
      g_ptr_array_add (strings, g_string_free (s, FALSE));
    }
  g_ptr_array_add (strings, NULL);
  theirs = g_variant_ref_sink (g_variant_new_strv ((const char * const *) strings->pdata, n));
  ours = g_variant_ref_sink (jobd_variant_new_strv ((const char * const *) strings->pdata, n));

  g_assert_true (g_variant_is_normal_form (ours));
  g_assert_cmpmem (g_variant_get_data (ours), g_variant_get_size (ours),
                   g_variant_get_data (theirs), g_variant_get_size (theirs));
  g_assert_true (g_variant_equal (ours, theirs));
}

/* List's name and state columns: array offsets of 1, 2 and 4 bytes, up to
 * 10 000 strings. */
static void
test_strv (void)
{
  static const gsize counts[] = { 0, 1, 2, 3, 5, 8, 100, 3000, 10000 };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    for (gsize len = 1; len <= 9; len++)
      check_strv (counts[i], len);
  for (gsize len = 200; len < 280; len += 7)
    check_strv (3, len);
  check_strv (300, 300);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/variant/empty", test_empty);
  g_test_add_func ("/variant/offset-sizes", test_offset_sizes);
  g_test_add_func ("/variant/utf8-and-empty-strings", test_utf8_and_empty_strings);
  g_test_add_func ("/variant/strv", test_strv);
  return g_test_run ();
}
