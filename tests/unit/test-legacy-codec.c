/* SPDX-License-Identifier: MIT */
/* test-legacy-codec.c — the legacy frame codec, request parser, response
 * builder and parameter validators (daemon/legacy/jobd-legacy-codec.c). */
#include <string.h>

#include "jobd-json.h"
#include "jobd-legacy-codec.h"

/* Header and payload in one buffer, as a client sends them. */
static GBytes *
frame_encode (const char *payload, gsize len)
{
  guint8 *frame = g_malloc (JOBD_LEGACY_FRAME_HEADER + len);

  jobd_legacy_frame_header (frame, len);
  memcpy (frame + JOBD_LEGACY_FRAME_HEADER, payload, len);
  return g_bytes_new_take (frame, JOBD_LEGACY_FRAME_HEADER + len);
}

static void
test_frame_roundtrip (void)
{
  g_autoptr(GBytes) frame = frame_encode ("STATUSALL", 9);
  gsize size, payload_len;
  const guint8 *data = g_bytes_get_data (frame, &size);

  g_assert_cmpuint (size, ==, 13);
  /* little-endian length */
  g_assert_cmpuint (data[0], ==, 9);
  g_assert_cmpuint (data[1], ==, 0);
  g_assert_cmpuint (data[2], ==, 0);
  g_assert_cmpuint (data[3], ==, 0);
  g_assert_cmpmem (data + 4, 9, "STATUSALL", 9);

  g_assert_cmpint (jobd_legacy_frame_check (data, size, 100, &payload_len), ==,
                   JOBD_LEGACY_FRAME_COMPLETE);
  g_assert_cmpuint (payload_len, ==, 9);
}

static void
test_frame_little_endian (void)
{
  const guint8 header[] = { 0x01, 0x02, 0x03, 0x00 };
  gsize payload_len;

  g_assert_cmpint (jobd_legacy_frame_check (header, 4, G_MAXUINT32, &payload_len), ==,
                   JOBD_LEGACY_FRAME_INCOMPLETE);
  g_assert_cmpuint (payload_len, ==, 0x030201);
}

static void
test_frame_incomplete (void)
{
  g_autoptr(GBytes) frame = frame_encode ("ADD {}", 6);
  gsize size, payload_len;
  const guint8 *data = g_bytes_get_data (frame, &size);

  for (gsize cut = 0; cut < size; cut++)
    g_assert_cmpint (jobd_legacy_frame_check (data, cut, 100, &payload_len), ==,
                     JOBD_LEGACY_FRAME_INCOMPLETE);
  /* Extra bytes after the frame (a second frame) do not matter. */
  g_assert_cmpint (jobd_legacy_frame_check (data, size, 100, &payload_len), ==,
                   JOBD_LEGACY_FRAME_COMPLETE);
}

static void
test_frame_zero_length (void)
{
  const guint8 header[] = { 0, 0, 0, 0 };
  gsize payload_len = 99;

  g_assert_cmpint (jobd_legacy_frame_check (header, 4, 100, &payload_len), ==,
                   JOBD_LEGACY_FRAME_COMPLETE);
  g_assert_cmpuint (payload_len, ==, 0);
}

static void
test_frame_too_large (void)
{
  const guint8 huge[] = { 0xff, 0xff, 0xff, 0xff };
  const guint8 just_over[] = { 0x01, 0x00, 0x10, 0x00 };   /* 1 MiB + 1 */
  const guint8 at_max[] = { 0x00, 0x00, 0x10, 0x00 };      /* 1 MiB */
  gsize payload_len;

  g_assert_cmpint (jobd_legacy_frame_check (huge, 4, JOBD_LEGACY_FRAME_MAX_DEFAULT, &payload_len), ==,
                   JOBD_LEGACY_FRAME_TOO_LARGE);
  g_assert_cmpuint (payload_len, ==, G_MAXUINT32);
  g_assert_cmpint (jobd_legacy_frame_check (just_over, 4, JOBD_LEGACY_FRAME_MAX_DEFAULT, &payload_len), ==,
                   JOBD_LEGACY_FRAME_TOO_LARGE);
  g_assert_cmpint (jobd_legacy_frame_check (at_max, 4, JOBD_LEGACY_FRAME_MAX_DEFAULT, &payload_len), ==,
                   JOBD_LEGACY_FRAME_INCOMPLETE);
}

static void
test_command_words (void)
{
  const char *good[] = { "ADD", "STATUSALL", "AUTH.ADD", "LOGEXPLORER.SERVERLISTFILE", "A_B", "X1" };
  const char *bad[] = { "", "add", "Add", "AUTH.", ".ADD", "AUTH..ADD", "A-B", "ADD{}", "ÄDD", "A B" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (jobd_legacy_command_is_valid (good[i], strlen (good[i])));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (jobd_legacy_command_is_valid (bad[i], strlen (bad[i])));

  g_assert_false (jobd_legacy_command_is_valid ("AD\0D", 4));
  {
    g_autofree char *longword = g_strnfill (JOBD_LEGACY_COMMAND_MAX + 1, 'A');
    g_assert_false (jobd_legacy_command_is_valid (longword, strlen (longword)));
    g_assert_true (jobd_legacy_command_is_valid (longword, JOBD_LEGACY_COMMAND_MAX));
  }
}

static void
test_request_bare (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdLegacyRequest) request = jobd_legacy_request_parse ("GETALL", 6, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (request->command, ==, "GETALL");
  g_assert_nonnull (request->params);
  g_assert_cmpuint (json_object_get_size (request->params), ==, 0);
}

static void
test_request_params (void)
{
  const char *text = "ADD {\"jobname\":\"a\",\"command\":\"/bin/true\",\"buffersize\":5,\"x\":[1]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdLegacyRequest) request = jobd_legacy_request_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (request->command, ==, "ADD");
  g_assert_cmpstr (json_object_get_string_member (request->params, "jobname"), ==, "a");
  g_assert_cmpint (json_object_get_int_member (request->params, "buffersize"), ==, 5);
  g_assert_cmpuint (json_object_get_size (request->params), ==, 4);
}

static void
test_request_trimmed (void)
{
  const char *text = "  STATUS   {\"jobname\":\"a\"}\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdLegacyRequest) request = jobd_legacy_request_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (request->command, ==, "STATUS");
  g_assert_cmpstr (json_object_get_string_member (request->params, "jobname"), ==, "a");
}

static void
assert_parse_fails (const char *text, gsize len, JobdLegacyCodecError code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdLegacyRequest) request = jobd_legacy_request_parse (text, len, &error);

  g_assert_null (request);
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, (gint) code);
}

static void
test_request_bad_command (void)
{
  assert_parse_fails ("", 0, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
  assert_parse_fails ("   ", 3, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
  assert_parse_fails ("add {}", 6, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
  assert_parse_fails ("A\0DD {}", 7, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
  assert_parse_fails ("\xff\xfe\x01", 3, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
  assert_parse_fails ("{\"jobname\":\"a\"}", 15, JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND);
}

static void
test_request_bad_params (void)
{
  const char *not_json = "ADD {jobname:a}";
  const char *array = "ADD [1,2]";
  const char *string = "ADD \"x\"";
  const char *number = "ADD 42";
  const char *trailing = "ADD {} {}";
  const char nul[] = "ADD {\"a\":\"b\0c\"}";
  const char *bad_utf8 = "ADD {\"a\":\"\xc3\x28\"}";
  const char *nul_escape = "ADD {\"a\":\"x\\u0000/../y\"}";

  assert_parse_fails (not_json, strlen (not_json), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (array, strlen (array), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (string, strlen (string), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (number, strlen (number), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (trailing, strlen (trailing), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (nul, sizeof nul - 1, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (bad_utf8, strlen (bad_utf8), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  assert_parse_fails (nul_escape, strlen (nul_escape), JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
}

static void
test_request_deep_nesting (void)
{
  /* A parser that recursed on this would overflow its stack. */
  gsize depth = 200000;
  g_autoptr(GString) text = g_string_new ("ADD {\"a\":");

  for (gsize i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (gsize i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  g_string_append_c (text, '}');
  assert_parse_fails (text->str, text->len, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);

  /* Brackets inside strings do not count. */
  {
    g_autoptr(GString) in_string = g_string_new ("ADD {\"a\":\"");
    g_autoptr(GError) error = NULL;
    g_autoptr(JobdLegacyRequest) request = NULL;

    for (gsize i = 0; i < 1000; i++)
      g_string_append (in_string, "[{\\\"");
    g_string_append (in_string, "\"}");
    request = jobd_legacy_request_parse (in_string->str, in_string->len, &error);
    g_assert_no_error (error);
    g_assert_nonnull (request);
  }
}

/* Flat objects of plain strings are read without json-glib: whatever the
 * text, the result must be what json-glib makes of it. */
static void
test_request_params_as_json_glib (void)
{
  static const char *const texts[] = {
    "{}", "{ }", "{\"jobname\":\"x\"}", "{ \"a\" : \"b\" ,\n\"c\":\"\" }",
    "{\"a\":\"\u00e9 \u4e2d\"}", "{\"a\":\"b\",\"a\":\"c\"}", "{\"\":\"x\"}",
    "{\"a\":\"x\\\"y\"}", "{\"a\":\"x\\\\\"}", "{\"a\":\"\\u0041\"}",
    "{\"a\":\"x\ty\"}", "{\"a\":1,\"b\":\"c\"}", "{\"a\":\"b\",\"c\":true}",
    "{\"a\":null}", "{\"a\":{\"b\":\"c\"}}", "{\"a\":[\"b\"]}", "{\"a\":\"b\",}",
    "{\"a\" \"b\"}", "{\"a\":\"b\" \"c\":\"d\"}", "{,}", "{\"a\":\"b\"", "{\"a\":}",
    "{\"a\"}", "{a:\"b\"}", "{'a':'b'}", "{\"a\":\"b\"\v}", "{\"a\"\v:\"b\"}",
  };
  /* What json-glib reads but RFC 8259 does not have: refused. */
  static const char *const extensions[] = {
    "{\"a\":\"x\ty\"}", "{'a':'b'}", "{\"a\":\"b\"\v}", "{\"a\"\v:\"b\"}", NULL,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *payload = g_strconcat ("STATUS ", texts[i], NULL);
      g_autoptr(JobdLegacyRequest) request = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root = NULL;

      request = jobd_legacy_request_parse (payload, strlen (payload), NULL);
      if (json_parser_load_from_data (parser, texts[i], -1, NULL))
        root = json_parser_get_root (parser);
      g_test_message ("%s", texts[i]);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
          || g_strv_contains (extensions, texts[i]))
        {
          g_assert_null (request);
          continue;
        }
      g_assert_nonnull (request);
      g_assert_true (json_object_equal (request->params, json_node_get_object (root)));
    }
}

static void
assert_response (JobdLegacyCode code, JsonNode *data, const char *expected)
{
  gsize len = 0;
  g_autofree char *text = jobd_legacy_response_build (code, data, &len);

  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (len, ==, strlen (expected));
}

static void
test_response (void)
{
  g_autoptr(JsonNode) str = json_node_init_string (json_node_alloc (), "9464");
  g_autoptr(JsonNode) boolean = json_node_init_boolean (json_node_alloc (), TRUE);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) obj = json_node_init_object (json_node_alloc (), object);

  static const char *const strings[] = {
    "", "DOWN", "a \"quoted\" word", "back\\slash", "line\nbreak\ttab", "\x01\x1f\x7f",
    "\u00e9", "</script>",
  };

  json_object_set_string_member (object, "a", "UP");

  assert_response (JOBD_LEGACY_CODE_OK, NULL, "{\"code\":\"OK\"}");
  assert_response (JOBD_LEGACY_CODE_FAILED, NULL, "{\"code\":\"FAILED\"}");
  assert_response (JOBD_LEGACY_CODE_DENIED, NULL, "{\"code\":\"DENIED\"}");
  assert_response (JOBD_LEGACY_CODE_UNKNOWN, NULL, "{\"code\":\"UNKNOWN\"}");
  assert_response (JOBD_LEGACY_CODE_OK, str, "{\"code\":\"OK\",\"data\":\"9464\"}");
  assert_response (JOBD_LEGACY_CODE_OK, boolean, "{\"code\":\"OK\",\"data\":true}");
  assert_response (JOBD_LEGACY_CODE_OK, obj, "{\"code\":\"OK\",\"data\":{\"a\":\"UP\"}}");

  /* Every control character escaped: json-glib 1.6 writes U+001F raw. */
  {
    g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), "\x01\x1f\x7f");
    assert_response (JOBD_LEGACY_CODE_OK, node,
                     "{\"code\":\"OK\",\"data\":\"\\u0001\\u001f\\u007f\"}");
  }

  /* Strings are written by hand unless they need escaping: same bytes. */
  for (gsize i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), strings[i]);
      g_autofree char *json = jobd_json_to_string (node, FALSE);
      g_autofree char *expected = g_strdup_printf ("{\"code\":\"OK\",\"data\":%s}", json);

      assert_response (JOBD_LEGACY_CODE_OK, node, expected);
    }
}

static JsonObject *
object_from (const char *text)
{
  g_autoptr(JobdLegacyRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = g_strconcat ("X ", text, NULL);

  request = jobd_legacy_request_parse (payload, strlen (payload), &error);
  g_assert_no_error (error);
  return json_object_ref (request->params);
}

static void
test_params_string (void)
{
  g_autoptr(JsonObject) params = object_from ("{\"s\":\"v\",\"n\":1,\"z\":null,\"o\":{}}");
  const char *value = "unset";
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_legacy_param_string (params, "s", TRUE, &value, &error));
  g_assert_cmpstr (value, ==, "v");

  value = "unset";
  g_assert_true (jobd_legacy_param_string (params, "missing", FALSE, &value, &error));
  g_assert_true (jobd_legacy_param_string (params, "z", FALSE, &value, &error));
  g_assert_cmpstr (value, ==, "unset");
  g_assert_no_error (error);

  g_assert_false (jobd_legacy_param_string (params, "missing", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  g_clear_error (&error);
  g_assert_false (jobd_legacy_param_string (params, "n", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  g_clear_error (&error);
  g_assert_false (jobd_legacy_param_string (params, "o", FALSE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
}

static void
test_params_bool (void)
{
  g_autoptr(JsonObject) params =
    object_from ("{\"t\":true,\"f\":false,\"one\":1,\"zero\":0,\"s\":\"true\",\"a\":[]}");
  gboolean value = FALSE;
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_legacy_param_bool (params, "t", TRUE, &value, &error));
  g_assert_true (value);
  g_assert_true (jobd_legacy_param_bool (params, "f", TRUE, &value, &error));
  g_assert_false (value);
  g_assert_true (jobd_legacy_param_bool (params, "one", TRUE, &value, &error));
  g_assert_true (value);
  g_assert_true (jobd_legacy_param_bool (params, "zero", TRUE, &value, &error));
  g_assert_false (value);
  g_assert_no_error (error);

  g_assert_false (jobd_legacy_param_bool (params, "s", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  g_clear_error (&error);
  g_assert_false (jobd_legacy_param_bool (params, "a", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
  g_clear_error (&error);
  g_assert_false (jobd_legacy_param_bool (params, "missing", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
}

static void
test_params_object (void)
{
  g_autoptr(JsonObject) params = object_from ("{\"o\":{\"H\":\"03\"},\"s\":\"x\"}");
  JsonObject *value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_legacy_param_object (params, "o", TRUE, &value, &error));
  g_assert_nonnull (value);
  g_assert_cmpstr (json_object_get_string_member (value, "H"), ==, "03");
  g_assert_false (jobd_legacy_param_object (params, "s", TRUE, &value, &error));
  g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
}

/* Both readers give the same command and the same members, in the same
 * order, with equal values (json_node_equal compares types and values). */
static void
assert_paths_agree (const char *payload, gboolean fast_expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdLegacyRequest) fast =
    jobd_legacy_request_parse_path (payload, strlen (payload), JOBD_LEGACY_PARSE_FAST, &error);
  g_autoptr(JobdLegacyRequest) slow = NULL;
  g_autoptr(JsonNode) fast_node = NULL, slow_node = NULL;
  g_autofree char *fast_text = NULL, *slow_text = NULL;

  g_test_message ("payload: %s", payload);
  if (!fast_expected)
    {
      g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_NOT_PLAIN);
      return;
    }
  g_assert_no_error (error);
  slow = jobd_legacy_request_parse_path (payload, strlen (payload),
                                         JOBD_LEGACY_PARSE_JSON_GLIB, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fast->command, ==, slow->command);
  fast_node = json_node_init_object (json_node_alloc (), fast->params);
  slow_node = json_node_init_object (json_node_alloc (), slow->params);
  g_assert_true (json_node_equal (fast_node, slow_node));
  fast_text = json_to_string (fast_node, FALSE);
  slow_text = json_to_string (slow_node, FALSE);
  g_assert_cmpstr (fast_text, ==, slow_text);
}

/* The fast path's edges: what it must take (and read as json-glib does)
 * and what it must hand to json-glib. */
static void
test_request_fast_path_agrees (void)
{
  static const struct { const char *payload; gboolean fast; } cases[] = {
    { "STATUS {}", TRUE },
    { "STATUS { \t\r\n}", TRUE },
    { "STATUS {\"jobname\":\"x\"}", TRUE },
    { "STATUS \t{ \"jobname\" :\t\"x\" ,\n\"b\":\"\" }  \n", TRUE },
    { "ADD {\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", TRUE },
    { "ADD {\"b\":\"2\",\"a\":\"1\"}", TRUE },
    { "ADD {\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", TRUE },
    { "ADD {\"\xc3\xa9\":\"/\"}", TRUE },
    { "ADD {\"a\":\"x y\\/z\"}", FALSE },           /* an escape */
    { "ADD {\"a\":\"\\u00e9\"}", FALSE },
    { "ADD {\"a\\\"\":\"x\"}", FALSE },
    { "ADD {\"a\":\"1\",\"a\":\"2\"}", FALSE },      /* duplicate name */
    { "ADD {\"\":\"x\"}", FALSE },                  /* empty name */
    { "ADD {\"a\":{\"b\":\"c\"}}", FALSE },          /* nesting */
    { "ADD {\"a\":[\"b\"]}", FALSE },
    { "ADD {\"a\":1}", FALSE },
    { "ADD {\"a\":true}", FALSE },
    { "ADD {\"a\":null}", FALSE },
    { "ADD {\"a\":\"1\",\"b\":2}", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_paths_agree (cases[i].payload, cases[i].fast);
}

/* Payloads the strict check refuses never reach either reader: every mode
 * refuses them the same way. */
static void
test_request_paths_refuse_alike (void)
{
  static const char *const payloads[] = {
    "ADD {\"a\":\"1\",}", "ADD {\"a\":\"1\"} x", "ADD {\"a\":\"\x01\"}", "ADD [\"a\"]",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (payloads); i++)
    for (JobdLegacyParsePath path = JOBD_LEGACY_PARSE_AUTO; path <= JOBD_LEGACY_PARSE_JSON_GLIB; path++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(JobdLegacyRequest) request =
          jobd_legacy_request_parse_path (payloads[i], strlen (payloads[i]), path, &error);

        g_assert_null (request);
        g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
      }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/legacy-codec/frame/roundtrip", test_frame_roundtrip);
  g_test_add_func ("/legacy-codec/frame/little-endian", test_frame_little_endian);
  g_test_add_func ("/legacy-codec/frame/incomplete", test_frame_incomplete);
  g_test_add_func ("/legacy-codec/frame/zero-length", test_frame_zero_length);
  g_test_add_func ("/legacy-codec/frame/too-large", test_frame_too_large);
  g_test_add_func ("/legacy-codec/command-words", test_command_words);
  g_test_add_func ("/legacy-codec/request/bare", test_request_bare);
  g_test_add_func ("/legacy-codec/request/params", test_request_params);
  g_test_add_func ("/legacy-codec/request/trimmed", test_request_trimmed);
  g_test_add_func ("/legacy-codec/request/bad-command", test_request_bad_command);
  g_test_add_func ("/legacy-codec/request/bad-params", test_request_bad_params);
  g_test_add_func ("/legacy-codec/request/deep-nesting", test_request_deep_nesting);
  g_test_add_func ("/legacy-codec/request/params-as-json-glib", test_request_params_as_json_glib);
  g_test_add_func ("/legacy-codec/request/fast-path-agrees", test_request_fast_path_agrees);
  g_test_add_func ("/legacy-codec/request/paths-refuse-alike", test_request_paths_refuse_alike);
  g_test_add_func ("/legacy-codec/response", test_response);
  g_test_add_func ("/legacy-codec/params/string", test_params_string);
  g_test_add_func ("/legacy-codec/params/bool", test_params_bool);
  g_test_add_func ("/legacy-codec/params/object", test_params_object);

  return g_test_run ();
}
