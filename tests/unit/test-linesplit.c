/* SPDX-License-Identifier: MIT */
/* test-linesplit.c — the line splitter: chunking, limits, UTF-8 safety. */
#include <string.h>

#include "jobd-linesplit.h"
#include "jobd-output.h"

typedef struct {
  GPtrArray *lines;   /* char *, as delivered */
  JobdLineSplitter *splitter;
  gsize max_pending;
} Fixture;

static void
on_line (const char *line, gsize len, gpointer user_data)
{
  Fixture *fx = user_data;

  /* The contract: len matches a NUL-terminated, safe string. */
  g_assert_cmpuint (strlen (line), ==, len);
  g_assert_true (g_utf8_validate (line, len, NULL));
  g_ptr_array_add (fx->lines, g_strndup (line, len));
}

static void
fixture_init (Fixture *fx, gsize max_line)
{
  fx->lines = g_ptr_array_new_with_free_func (g_free);
  fx->splitter = jobd_line_splitter_new (max_line, on_line, fx);
  fx->max_pending = 0;
}

static void
fixture_clear (Fixture *fx)
{
  g_clear_pointer (&fx->splitter, jobd_line_splitter_free);
  g_clear_pointer (&fx->lines, g_ptr_array_unref);
}

/* Feed data in pieces of step bytes, recording the largest pending size. */
static void
feed_in_steps (Fixture *fx, const char *data, gsize len, gsize step)
{
  for (gsize off = 0; off < len; off += step)
    {
      jobd_line_splitter_feed (fx->splitter, data + off, MIN (step, len - off));
      fx->max_pending = MAX (fx->max_pending,
                             jobd_line_splitter_pending (fx->splitter));
    }
}

static void
assert_lines (Fixture *fx, const char *const *expected)
{
  g_assert_cmpuint (fx->lines->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < fx->lines->len; i++)
    g_assert_cmpstr (g_ptr_array_index (fx->lines, i), ==, expected[i]);
}

static void
test_chunks (void)
{
  const char *text = "hello\nworld\n\nlast line\r\nsecond\r\r\n";
  const char *const expected[] = { "hello", "world", "", "last line\r", "second\r\r", NULL };
  gsize steps[] = { 1, 2, 3, 5, 7, strlen (text) };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      Fixture fx;

      fixture_init (&fx, JOBD_LINE_MAX);
      feed_in_steps (&fx, text, strlen (text), steps[i]);
      assert_lines (&fx, expected);
      g_assert_cmpuint (jobd_line_splitter_pending (fx.splitter), ==, 0);
      fixture_clear (&fx);
    }
}

static void
test_empty_lines (void)
{
  const char *const expected[] = { "", "", "x", "", NULL };
  Fixture fx;

  fixture_init (&fx, 16);
  jobd_line_splitter_feed (fx.splitter, "\n\nx\n\n", 5);
  assert_lines (&fx, expected);
  fixture_clear (&fx);
}

static void
test_flush_partial (void)
{
  const char *const expected[] = { "done", "partial", NULL };
  Fixture fx;

  fixture_init (&fx, JOBD_LINE_MAX);
  jobd_line_splitter_feed (fx.splitter, "done\npart", 9);
  g_assert_cmpuint (fx.lines->len, ==, 1);
  g_assert_cmpuint (jobd_line_splitter_pending (fx.splitter), ==, 4);
  jobd_line_splitter_feed (fx.splitter, "ial", 3);
  g_assert_cmpuint (fx.lines->len, ==, 1);
  jobd_line_splitter_flush (fx.splitter);
  assert_lines (&fx, expected);
  g_assert_cmpuint (jobd_line_splitter_pending (fx.splitter), ==, 0);
  /* Nothing pending: a second flush adds no empty line. */
  jobd_line_splitter_flush (fx.splitter);
  g_assert_cmpuint (fx.lines->len, ==, 2);
  /* Still usable after a flush. */
  jobd_line_splitter_feed (fx.splitter, "more\n", 5);
  g_assert_cmpuint (fx.lines->len, >=, 3);
  g_assert_cmpuint (fx.lines->len, <=, 4);
  g_assert_cmpstr (g_ptr_array_index (fx.lines, 2), ==, "more");
  fixture_clear (&fx);
}

static char *
make_repeated (char c, gsize n)
{
  char *s = g_malloc (n + 1);

  memset (s, c, n);
  s[n] = '\0';
  return s;
}

/* A line of exactly max_line is one line; longer lines come in pieces of
 * exactly max_line, and the pending buffer never holds more. */
static void
test_long_lines (void)
{
  const gsize max = JOBD_LINE_MAX;
  const gsize long_len = 3 * max + 5;
  g_autofree char *exact = make_repeated ('a', max);
  g_autofree char *longer = make_repeated ('b', long_len);
  g_autoptr(GString) input = g_string_new (NULL);
  Fixture fx;

  g_string_append (input, exact);
  g_string_append_c (input, '\n');
  g_string_append (input, longer);
  g_string_append (input, "\nend\n");

  fixture_init (&fx, max);
  feed_in_steps (&fx, input->str, input->len, 4000);
  g_assert_cmpuint (fx.max_pending, <=, max);
  g_assert_cmpuint (fx.lines->len, ==, 6);
  g_assert_cmpstr (g_ptr_array_index (fx.lines, 0), ==, exact);
  for (guint i = 1; i <= 3; i++)
    g_assert_cmpuint (strlen (g_ptr_array_index (fx.lines, i)), ==, max);
  g_assert_cmpstr (g_ptr_array_index (fx.lines, 4), ==, "bbbbb");
  g_assert_cmpstr (g_ptr_array_index (fx.lines, 5), ==, "end");
  fixture_clear (&fx);

  /* All at once, without newline: pieces come out before any flush. */
  fixture_init (&fx, max);
  feed_in_steps (&fx, longer, long_len, long_len);
  g_assert_cmpuint (fx.lines->len, >=, 3);
  g_assert_cmpuint (fx.lines->len, <=, 4);
  g_assert_cmpuint (jobd_line_splitter_pending (fx.splitter), ==, 5);
  jobd_line_splitter_flush (fx.splitter);
  g_assert_cmpuint (fx.lines->len, ==, 4);
  fixture_clear (&fx);
}

/* A cut at the limit does not break a valid multibyte character. */
static void
test_cut_keeps_characters (void)
{
  /* 7 ASCII bytes, then "é" (2 bytes) straddling the 8-byte limit, then
   * "€" (3 bytes) straddling the next one. */
  const char *text = "abcdefg\xC3\xA9" "12345\xE2\x82\xAC" "z\n";
  const char *const expected[] = { "abcdefg", "\xC3\xA9" "12345", "\xE2\x82\xAC" "z", NULL };
  Fixture fx;

  fixture_init (&fx, 8);
  feed_in_steps (&fx, text, strlen (text), 1);
  assert_lines (&fx, expected);
  g_assert_cmpuint (fx.max_pending, <=, 8);
  fixture_clear (&fx);
}

static void
test_binary (void)
{
  /* NUL, stray continuation, invalid lead, truncated sequence. */
  const char data[] = "a\0b\x80" "c\xFF" "d\xE2\x82\n" "ok \xC3\xA9\n";
  const char *const expected[] = {
    "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD" "d\xEF\xBF\xBD\xEF\xBF\xBD",
    "ok \xC3\xA9",
    NULL
  };
  Fixture fx;

  fixture_init (&fx, JOBD_LINE_MAX);
  jobd_line_splitter_feed (fx.splitter, data, sizeof data - 1);
  assert_lines (&fx, expected);
  fixture_clear (&fx);
}

static void
test_make_safe (void)
{
  g_autofree char *valid = jobd_utf8_make_safe ("gr\xC3\xBC\xC3\x9F", 6);
  g_autofree char *nul = jobd_utf8_make_safe ("a\0", 2);
  g_autofree char *empty = jobd_utf8_make_safe ("", 0);

  g_assert_cmpstr (valid, ==, "gr\xC3\xBC\xC3\x9F");
  g_assert_cmpstr (nul, ==, "a\xEF\xBF\xBD");
  g_assert_cmpstr (empty, ==, "");
}

/* A line of max_line invalid bytes becomes 3× as long with U+FFFD: it is
 * delivered in pieces no longer than max_line, each whole characters, and
 * nothing is lost. */
static void
test_bounded_after_repair (void)
{
  const gsize max = JOBD_LINE_MAX;
  g_autofree char *data = g_malloc (max + 1);
  gsize total = 0;
  Fixture fx;

  memset (data, 0xFF, max);
  data[max] = '\n';
  fixture_init (&fx, max);
  jobd_line_splitter_feed (fx.splitter, data, max + 1);
  g_assert_cmpuint (fx.lines->len, >=, 3);
  g_assert_cmpuint (fx.lines->len, <=, 4);
  for (guint i = 0; i < fx.lines->len; i++)
    {
      const char *line = g_ptr_array_index (fx.lines, i);

      g_assert_cmpuint (strlen (line), <=, max);
      g_assert_cmpuint (strlen (line) % 3, ==, 0);
      total += strlen (line);
    }
  g_assert_cmpuint (total, ==, 3 * max);
  fixture_clear (&fx);
}

static void
test_cut_length (void)
{
  g_assert_cmpuint (jobd_utf8_cut_length ("abcd", 4), ==, 4);
  g_assert_cmpuint (jobd_utf8_cut_length ("abc\xE2\x82", 5), ==, 3);
  g_assert_cmpuint (jobd_utf8_cut_length ("abc\xE2\x82\xAC", 6), ==, 6);
  g_assert_cmpuint (jobd_utf8_cut_length ("abcd\xF0", 5), ==, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/linesplit/chunks", test_chunks);
  g_test_add_func ("/linesplit/empty-lines", test_empty_lines);
  g_test_add_func ("/linesplit/flush-partial", test_flush_partial);
  g_test_add_func ("/linesplit/long-lines", test_long_lines);
  g_test_add_func ("/linesplit/cut-keeps-characters", test_cut_keeps_characters);
  g_test_add_func ("/linesplit/binary", test_binary);
  g_test_add_func ("/linesplit/make-safe", test_make_safe);
  g_test_add_func ("/linesplit/bounded-after-repair", test_bounded_after_repair);
  g_test_add_func ("/linesplit/cut-length", test_cut_length);

  return g_test_run ();
}
