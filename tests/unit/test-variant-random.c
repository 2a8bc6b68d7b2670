/* SPDX-License-Identifier: MIT */
/* test-variant-random.c — the hand-written reply serializer (jobd-variant.c)
 * against GLib's own GVariant, for random string arrays and dictionaries.
 *
 * The serializer's hard part is the framing offsets, whose width (1, 2 or 4
 * bytes) depends on the size of the container they end: string lengths are
 * drawn mostly just around the 255 and 65 535 byte boundaries, give or take
 * what the rest of a container adds, so entries and arrays land on both sides of each.
 * The seeds are fixed, so a failure comes back on every run; the failing
 * seed and round are printed. */
#include <string.h>

#include "jobd-variant.h"

#define ROUNDS 300

/* A length near one of the offset boundaries, or a short one. */
static gsize
random_length (GRand *rand)
{
  static const gsize boundaries[] = { 255, 65535 };

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      return (gsize) g_rand_int_range (rand, 0, 12);
    case 1:
      return (gsize) g_rand_int_range (rand, 0, 600);
    default:
      {
        gsize boundary = boundaries[g_rand_int_range (rand, 0, 2)];
        /* Up to 80 bytes short of or past it: the other fields of a row and
         * the offsets themselves move the total by that much. */
        return boundary - 80 + (gsize) g_rand_int_range (rand, 0, 96);
      }
    }
}

/* Valid UTF-8 of exactly len bytes: ASCII with some 2- and 3-byte characters. */
static char *
random_string (GRand *rand, gsize len)
{
  GString *s = g_string_sized_new (len + 1);

  while (s->len < len)
    {
      gsize left = len - s->len;
      int kind = g_rand_int_range (rand, 0, 10);

      if (kind == 0 && left >= 3)
        g_string_append (s, "状");
      else if (kind == 1 && left >= 2)
        g_string_append (s, "é");
      else
        g_string_append_c (s, (char) g_rand_int_range (rand, 'a', 'z' + 1));
    }
  return g_string_free (s, FALSE);
}

/* How many containers (arrays and their children) of each offset width
 * (1, 2, 4 bytes) the rounds produced: each must occur, or the draw above
 * no longer reaches the boundaries it is meant to test. */
static guint widths_seen[3];

static void
count_width (GVariant *container)
{
  gsize size = g_variant_get_size (container);

  widths_seen[size <= G_MAXUINT8 ? 0 : size <= G_MAXUINT16 ? 1 : 2]++;
}

static void
assert_widths_seen (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (widths_seen); i++)
    g_assert_cmpuint (widths_seen[i], >, 0);
  memset (widths_seen, 0, sizeof widths_seen);
}

static void
assert_same (GVariant *ours, GVariant *theirs, guint32 seed, guint round)
{
  gsize n = g_variant_n_children (theirs);

  /* An empty array has no data at all (NULL, which memcmp must not see). */
  if (g_variant_get_size (ours) != g_variant_get_size (theirs) ||
      (g_variant_get_size (ours) > 0 && memcmp (g_variant_get_data (ours), g_variant_get_data (theirs),
              g_variant_get_size (ours)) != 0))
    g_error ("seed %u round %u: %" G_GSIZE_FORMAT " bytes from jobd, %" G_GSIZE_FORMAT
             " from GLib, or different bytes", seed, round,
             g_variant_get_size (ours), g_variant_get_size (theirs));
  g_assert_true (g_variant_is_normal_form (ours));
  g_assert_true (g_variant_equal (ours, theirs));
  count_width (theirs);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (theirs, i);
      count_width (child);
    }
}

static void
check_random_strv (GRand *rand, guint32 seed, guint round)
{
  gsize n = (gsize) g_rand_int_range (rand, 0, g_rand_boolean (rand) ? 4 : 40);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GVariant) ours = NULL, theirs = NULL;

  for (gsize i = 0; i < n; i++)
    {
      /* Most strings short, so an array of many stays cheap; some long. */
      gboolean long_one = g_rand_int_range (rand, 0, 4) == 0;

      g_ptr_array_add (strings, random_string (rand, long_one ? random_length (rand) : i % 9));
    }
  g_ptr_array_add (strings, NULL);
  theirs = g_variant_ref_sink (g_variant_new_strv ((const char * const *) strings->pdata, n));
  ours = g_variant_ref_sink (jobd_variant_new_strv ((const char * const *) strings->pdata, n));
  assert_same (ours, theirs, seed, round);
}

static void
check_random_dict (GRand *rand, guint32 seed, guint round)
{
  gsize n = (gsize) g_rand_int_range (rand, 0, g_rand_boolean (rand) ? 4 : 40);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  GVariantBuilder builder;
  g_autoptr(GVariant) ours = NULL, theirs = NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (gsize i = 0; i < n; i++)
    {
      gboolean long_entry = g_rand_int_range (rand, 0, 4) == 0;
      char *key = random_string (rand, long_entry ? random_length (rand) : i % 7);
      char *value = random_string (rand, long_entry ? random_length (rand) : i % 5);

      g_ptr_array_add (keys, key);
      g_ptr_array_add (values, value);
      g_variant_builder_add (&builder, "{ss}", key, value);
    }
  theirs = g_variant_ref_sink (g_variant_builder_end (&builder));
  ours = g_variant_ref_sink (jobd_variant_new_string_dict (
      (const char * const *) keys->pdata, (const char * const *) values->pdata, n));
  assert_same (ours, theirs, seed, round);
}

static const guint32 seeds[] = { 1, 20261205, 0xdeadbeef };

static void
test_random_strv (void)
{
  for (gsize s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (seeds[s]);

      for (guint round = 0; round < ROUNDS; round++)
        check_random_strv (rand, seeds[s], round);
    }
  assert_widths_seen ();
}

static void
test_random_dicts (void)
{
  for (gsize s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (seeds[s]);

      for (guint round = 0; round < ROUNDS; round++)
        check_random_dict (rand, seeds[s], round);
    }
  assert_widths_seen ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/variant-random/strv", test_random_strv);
  g_test_add_func ("/variant-random/string-dict", test_random_dicts);
  return g_test_run ();
}
