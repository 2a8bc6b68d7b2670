/* SPDX-License-Identifier: MIT */
/* test-strict-json.c — the fuzz targets' JSON check takes RFC 8259 JSON and
 * nothing json-glib's lenient parser would also take. */
#include <string.h>

#include "strict-json.h"

static gboolean
check (const char *text)
{
  const char *problem = NULL;
  gsize offset = 0;

  return strict_json_check (text, strlen (text), &problem, &offset);
}

static void
test_accepts (void)
{
  const char *good[] = {
    "{\"code\":\"OK\"}", " {\"code\" : \"OK\", \"data\": [1, -0.5e+3, 0, true, false, null]} ",
    "\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"é😀\"", "[]", "{}", "[[[]]]",
    "-0", "1E5", "12.25",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_test_message ("good: %s", good[i]);
      g_assert_true (check (good[i]));
    }
}

static void
test_refuses (void)
{
  const char *bad[] = {
    "{'code':'OK'}", "{code:\"OK\"}", "{\"a\":1,}", "[1,]", "[1 2]", "", " ", "01", "1.",
    ".5", "+1", "1e", "-", "0x10", "NaN", "Infinity", "-inf", "inf.0", "1e400", "-1e400",
    "\"\\x41\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"",
    "\"\xff\"", "\"\xc3\"", "\"abc", "tru", "nul", "{\"a\":1}{}", "/* c */ 1", "{\"a\":1,\"a\":2}",
    "{\"a\" 1}", "[\"a\":1]", "True",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *shown = g_strescape (bad[i], NULL);

      g_test_message ("bad: %s", shown);
      g_assert_false (check (bad[i]));
    }
  /* An embedded NUL is not whitespace. */
  {
    const char *problem;
    gsize offset;
    g_assert_false (strict_json_check ("1\0", 2, &problem, &offset));
  }
}

static void
test_depth (void)
{
  g_autoptr(GString) deep = g_string_new (NULL);

  for (guint i = 0; i < STRICT_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < STRICT_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, ']');
  g_assert_true (check (deep->str));
  g_string_prepend_c (deep, '[');
  g_string_append_c (deep, ']');
  g_string_prepend_c (deep, '[');
  g_string_append_c (deep, ']');
  g_assert_false (check (deep->str));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/strict-json/accepts", test_accepts);
  g_test_add_func ("/strict-json/refuses", test_refuses);
  g_test_add_func ("/strict-json/depth", test_depth);
  return g_test_run ();
}
