/* SPDX-License-Identifier: MIT */
/* test-json.c — what jobd writes as JSON escapes every control character
 * (json-glib 1.6 writes U+001F raw; strict readers refuse the text). */
#include <string.h>

#include "jobd-json.h"

static JsonNode *
object_with_all_controls (char **expected)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GString *s = g_string_new ("a");

  for (int c = 1; c < 0x20; c++)
    g_string_append_c (s, (char) c);
  g_string_append (s, "\x7f é");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, s->str);   /* keys too */
  json_builder_add_string_value (builder, s->str);
  json_builder_end_object (builder);
  *expected = g_string_free (s, FALSE);
  return json_builder_get_root (builder);
}

static void
assert_escaped_and_equal (const char *text, gsize len, const char *expected)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  g_assert_cmpuint (strlen (text), ==, len);
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 && text[i] != '\n' && text[i] != ' ')
      g_error ("raw control character 0x%02x at byte %zu of %s", text[i], i, text);
  json_parser_load_from_data (parser, text, len, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, expected), ==, expected);
}

static void
test_to_string (void)
{
  g_autofree char *expected = NULL;
  g_autoptr(JsonNode) node = object_with_all_controls (&expected);

  for (int pretty = 0; pretty <= 1; pretty++)
    {
      g_autofree char *text = jobd_json_to_string (node, pretty);
      assert_escaped_and_equal (text, strlen (text), expected);
      g_assert_nonnull (strstr (text, "\\u001f"));
    }
}

static void
test_generator (void)
{
  g_autofree char *expected = NULL;
  g_autoptr(JsonNode) node = object_with_all_controls (&expected);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  gsize len = 0;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = jobd_json_generator_to_data (generator, &len);
  assert_escaped_and_equal (text, len, expected);
}

static void
test_plain_unchanged (void)
{
  g_autoptr(JsonNode) node = json_from_string ("{\"a\":[1,\"b\\n\"]}", NULL);
  g_autofree char *ours = jobd_json_to_string (node, FALSE);
  g_autofree char *theirs = json_to_string (node, FALSE);

  g_assert_cmpstr (ours, ==, theirs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/to-string", test_to_string);
  g_test_add_func ("/json/generator", test_generator);
  g_test_add_func ("/json/plain-unchanged", test_plain_unchanged);
  return g_test_run ();
}
