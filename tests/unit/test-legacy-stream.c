/* SPDX-License-Identifier: MIT */
/* test-legacy-stream.c — LOGEXPLORER.GET's streamed answer: produced slice
 * by slice, it is byte for byte the answer built in memory from the whole
 * file (invalid UTF-8 replaced per byte, NUL as a space, JSON escapes), for
 * files whose multi-byte characters and invalid sequences straddle slice
 * boundaries; each piece is bounded; a file rewritten while it is sent
 * stops the stream instead of sending something that does not fit the
 * length already announced.
 */
#include <string.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-legacy-codec.h"
#include "jobd-legacy-logexplorer.h"
#include "test-fs-util.h"

static char *
make_tree (void)
{
  char *dir = g_dir_make_tmp ("jobd-stream-XXXXXX", NULL);
  g_autofree char *day = g_build_filename (dir, "jobs", "web", "20260101", NULL);

  g_assert_cmpint (g_mkdir_with_parents (day, 0755), ==, 0);
  return dir;
}

static void
write_log (const char *dir, const guint8 *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, "jobs", "web", "20260101", "x.log", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (const char *) data, len, &error);
  g_assert_no_error (error);
}

static const char *const components[] = { "jobs", "web", "20260101", "x.log", NULL };

/* The answer the old code built: the whole file in memory. */
static char *
answer_in_memory (const char *dir, gsize *len)
{
  g_autofree char *text = jobd_legacy_log_read (dir, components, NULL);
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (text);
  node = json_node_init_string (json_node_alloc (), text);
  return jobd_legacy_response_build (JOBD_LEGACY_CODE_OK, node, len);
}

static void
check_same (const char *dir)
{
  g_autoptr(JobdLegacyStream) stream = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  gsize expected_len = 0;

  expected = answer_in_memory (dir, &expected_len);
  stream = jobd_legacy_log_stream_open (dir, components, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jobd_legacy_stream_size (stream), ==, expected_len);
  while (!jobd_legacy_stream_done (stream))
    {
      gsize before = out->len;

      g_assert_true (jobd_legacy_stream_next (stream, out, &error));
      g_assert_no_error (error);
      /* A piece is one slice of 16 KiB, escaped: at most 6 bytes each. */
      g_assert_cmpuint (out->len - before, <=, 6 * 16 * 1024);
    }
  g_assert_cmpuint (out->len, ==, expected_len);
  g_assert_true (memcmp (out->data, expected, expected_len) == 0);
}

static void
test_same_as_in_memory (void)
{
  g_autofree char *dir = make_tree ();
  /* json-glib writes 0x1f unescaped (invalid JSON); the stream escapes it,
   * so it is left out of the byte-for-byte comparison. */
  static const char *const pieces[] = {
    "plain ", "\"quoted\" ", "back\\slash ", "\t\r\n", "\x01\x02\x7f", "\xc3\xa9", "\xe4\xb8\xad",
    "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f\x98", "\x80\x80", "\0",
    "\xed\xa0\x80", "\xc0\xaf", "[26-01-01 00:00:01] line\n",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);

  for (guint round = 0; round < 12; round++)
    {
      g_autoptr(GByteArray) data = g_byte_array_new ();
      gsize target = round == 0 ? 0 : round == 1 ? 1 : g_rand_int_range (rand, 1, 200000);

      while (data->len < target)
        {
          const char *p = pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))];
          gsize len = p[0] == '\0' ? 1 : strlen (p);

          g_byte_array_append (data, (const guint8 *) p, len);
        }
      write_log (dir, data->data, data->len);
      check_same (dir);
    }
  test_remove_tree (dir);
}

/* A character cut by each possible slice boundary. */
static void
test_boundaries (void)
{
  g_autofree char *dir = make_tree ();

  for (guint shift = 0; shift < 5; shift++)
    {
      g_autoptr(GByteArray) data = g_byte_array_new ();

      for (guint i = 0; i < 16 * 1024 - shift; i++)
        g_byte_array_append (data, (const guint8 *) "a", 1);
      for (guint i = 0; i < 3; i++)
        g_byte_array_append (data, (const guint8 *) "\xf0\x9f\x98\x80\xe4\xb8\xad\xf0\x9f", 9);
      write_log (dir, data->data, data->len);
      check_same (dir);
    }
  test_remove_tree (dir);
}

static void
test_control_escaped (void)
{
  g_autofree char *dir = make_tree ();
  g_autoptr(JobdLegacyStream) stream = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len = 0;

  write_log (dir, (const guint8 *) "a\x1f" "b", 3);
  stream = jobd_legacy_log_stream_open (dir, components, NULL);
  text = jobd_legacy_stream_read_all (stream, &len, NULL);
  g_assert_cmpstr (text, ==, "{\"code\":\"OK\",\"data\":\"a\\u001fb\"}");
  g_assert_true (json_parser_load_from_data (parser, text, len, NULL));
  test_remove_tree (dir);
}

/* Rewritten (not appended to) after it was measured: the stream fails. */
static void
test_rewritten (void)
{
  g_autofree char *dir = make_tree ();
  g_autofree char *path = g_build_filename (dir, "jobs", "web", "20260101", "x.log", NULL);
  g_autoptr(JobdLegacyStream) stream = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strnfill (40000, 'a');
  gboolean ok = TRUE;
  FILE *f;

  write_log (dir, (const guint8 *) text, 40000);
  stream = jobd_legacy_log_stream_open (dir, components, &error);
  g_assert_no_error (error);
  /* Same inode, other bytes: quotes take two bytes each once escaped. */
  f = fopen (path, "r+");
  g_assert_nonnull (f);
  memset (text, '"', 40000);
  g_assert_cmpuint (fwrite (text, 1, 40000, f), ==, 40000);
  fclose (f);
  while (ok && !jobd_legacy_stream_done (stream))
    ok = jobd_legacy_stream_next (stream, out, &error);
  g_assert_false (ok);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_FAILED);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/legacy-stream/same-as-in-memory", test_same_as_in_memory);
  g_test_add_func ("/legacy-stream/boundaries", test_boundaries);
  g_test_add_func ("/legacy-stream/control-escaped", test_control_escaped);
  g_test_add_func ("/legacy-stream/rewritten", test_rewritten);
  return g_test_run ();
}
