/* SPDX-License-Identifier: MIT */
/* test-edge-values.c — values that could not be written back and read
 * again are refused where they enter: strict RFC 8259 JSON on the legacy
 * port (daemon/legacy/jobd-legacy-codec.c), finite numbers in job extras
 * (daemon/core/jobd-settings.c). */
#include <math.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-legacy-codec.h"
#include "jobd-settings.h"

static JobdLegacyRequest *
parse (const char *params, GError **error)
{
  g_autofree char *payload = g_strconcat ("ADD ", params, NULL);

  return jobd_legacy_request_parse (payload, strlen (payload), error);
}

static void
test_strict_refused (void)
{
  static const char *const texts[] = {
    "{'a':'b'}", "{\"a\":'b'}", "{\"a\":0x10}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":5.}",
    "{\"a\":+1}", "{\"a\":1e}", "{\"a\":-}", "{/* c */\"a\":1}", "{\"a\":1} // c",
    "{\"a\":1}#", "{\"a\":\"x\ty\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u00g1\"}",
    "{\"a\":tru}", "{\"a\":True}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":[1,]}",
    "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":1e400}",
    "{\"a\":-1e400}", "{\"a\":[[{\"b\":1E+999}]]}", "{\"a\":9223372036854775808}",
    "{\"a\":-9223372036854775809}", "{\"a\":99999999999999999999}", "{\"a\":\"\\u0000\"}",
    "{\"a\":1}{\"b\":2}", "{\"a\":\"b\"", "{\"a\":[1}", "[1]", "\"a\"", "{\"a\":\v1}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdLegacyRequest) request = parse (texts[i], &error);

      g_test_message ("%s", texts[i]);
      g_assert_null (request);
      g_assert_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS);
    }
}

static void
test_strict_accepted (void)
{
  static const struct { const char *text, *as; } cases[] = {
    { "{}", "{}" },
    { " {\t\"a\" :\r\n\"b\" } ", "{\"a\":\"b\"}" },
    { "{\"a\":[1,-0,0.5,-2.5e3,1E2,1e-400,true,false,null]}",
      "{\"a\":[1,0,0.5,-2500.0,100.0,0.0,true,false,null]}" },
    { "{\"a\":9223372036854775807,\"b\":-9223372036854775808}",
      "{\"a\":9223372036854775807,\"b\":-9223372036854775808}" },
    { "{\"a\":1.7976931348623157e308}", NULL },
    { "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", NULL },
    { "{\"a\":{\"b\":{\"c\":[[]]}}}", "{\"a\":{\"b\":{\"c\":[[]]}}}" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdLegacyRequest) request = parse (cases[i].text, &error);
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *written = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      g_assert_nonnull (request);
      node = json_node_init_object (json_node_alloc (), request->params);
      written = json_to_string (node, FALSE);
      if (cases[i].as != NULL)
        g_assert_cmpstr (written, ==, cases[i].as);
      /* Whatever was accepted is written back as JSON that reads again. */
      g_assert_true (json_parser_load_from_data (parser, written, -1, NULL));
    }
}

/* {"extra": {"x": value}} (all floating). */
static GVariant *
with_extra (GVariant *value)
{
  GVariantDict extra, top;

  g_variant_dict_init (&extra, NULL);
  g_variant_dict_insert_value (&extra, "x", value);
  g_variant_dict_init (&top, NULL);
  g_variant_dict_insert_value (&top, "extra", g_variant_dict_end (&extra));
  return g_variant_dict_end (&top);
}

static GVariant *
bad_value (guint i)
{
  GVariant *pair[2] = { g_variant_new_int32 (1), g_variant_new_double (INFINITY) };
  GVariantDict dict;

  switch (i)
    {
    case 0: return g_variant_new_double (NAN);
    case 1: return g_variant_new_double (INFINITY);
    case 2: return g_variant_new_double (-INFINITY);
    case 3:
      return g_variant_new_parsed ("[<1.0>, %v]", g_variant_new_variant (g_variant_new_double (NAN)));
    case 4:
      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert_value (&dict, "y", g_variant_new_tuple (pair, 2));
      return g_variant_dict_end (&dict);
    case 5: return g_variant_new_maybe (NULL, g_variant_new_double (INFINITY));
    case 6: return g_variant_new_uint64 (G_MAXUINT64);
    /* json-glib writes it as "1e+17.0", which it cannot read. */
    case 7: return g_variant_new_double (1e17);
    default: return NULL;
    }
}

static void
test_extra_variant_refused (void)
{
  for (guint i = 0; i < 8; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdSettings) settings = jobd_settings_new ();
      g_autoptr(GVariant) asv = NULL;
      g_autoptr(GVariant) before = g_variant_ref (settings->extra);
      g_autoptr(GVariant) value = g_variant_ref_sink (bad_value (i));
      GVariantDict top;

      g_autofree char *printed = g_variant_print (value, TRUE);

      g_test_message ("%s", printed);
      asv = g_variant_ref_sink (with_extra (value));
      g_assert_false (jobd_settings_merge_variant (settings, asv, JOBD_SETTINGS_FLAGS_NONE,
                                                   &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_true (g_variant_equal (before, settings->extra));
      /* An unknown top-level key kept as an extra is checked the same way. */
      g_clear_error (&error);
      g_clear_pointer (&asv, g_variant_unref);
      g_variant_dict_init (&top, NULL);
      g_variant_dict_insert_value (&top, "x", value);
      asv = g_variant_ref_sink (g_variant_dict_end (&top));
      g_assert_false (jobd_settings_merge_variant (settings, asv,
                                                   JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_true (g_variant_equal (before, settings->extra));
    }
}

static void
test_extra_variant_kept (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GVariant) asv = g_variant_ref_sink (g_variant_parse (
    G_VARIANT_TYPE_VARDICT,
    "{'extra': <{'x': <1.5>, 'y': <[<-0.0>, <1.5e308>, <1e16>, <1.5e-300>]>, 'z': <uint64 9223372036854775807>,"
    " 'm': <@mi nothing>, 'b': <[byte 0xff]>}>}", NULL, NULL, NULL));

  g_assert_nonnull (asv);
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (jobd_settings_merge_variant (settings, asv, JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_no_error (error);
  json = jobd_settings_to_json (settings);
  text = json_to_string (json, FALSE);
  g_test_message ("%s", text);
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
}

static void
test_extra_json_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonObject) extra = json_object_new ();

  /* json-glib reads 1e400 as infinity from a lenient source. */
  json_object_set_double_member (extra, "x", INFINITY);
  json_object_set_object_member (object, "extra", json_object_ref (extra));
  g_assert_false (jobd_settings_merge_json (settings, object, JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_cmpuint (g_variant_n_children (settings->extra), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/edge-values/legacy-json-refused", test_strict_refused);
  g_test_add_func ("/edge-values/legacy-json-accepted", test_strict_accepted);
  g_test_add_func ("/edge-values/extra-variant-refused", test_extra_variant_refused);
  g_test_add_func ("/edge-values/extra-variant-kept", test_extra_variant_kept);
  g_test_add_func ("/edge-values/extra-json-refused", test_extra_json_refused);
  return g_test_run ();
}
