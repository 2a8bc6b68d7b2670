/* SPDX-License-Identifier: MIT */
/* test-jobctl-util.c — unit tests of jobctl's parsing and formatting
 * helpers (common/jobd-parse.c): what users type (durations, sizes,
 * percentages, signals, KEY=VALUE) and what they read (sizes, durations,
 * uptimes, display widths).
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "jobd-parse.h"

typedef struct {
  const char *text;
  guint64 expected;
} Case;

/* Every number parser seen through one signature, so one table-driven
 * check serves them all. The adapters pass the old value through, so a
 * parser that writes its output on failure is caught. */
typedef gboolean (*Parser) (const char *text, guint64 *out, GError **error);

static gboolean
parse_duration (const char *text, guint64 *out, GError **error)
{
  guint32 value = (guint32) *out;
  gboolean ok = jobd_parse_duration_ms (text, &value, error);

  *out = value;
  return ok;
}

static gboolean
parse_percent (const char *text, guint64 *out, GError **error)
{
  guint32 value = (guint32) *out;
  gboolean ok = jobd_parse_percent (text, &value, error);

  *out = value;
  return ok;
}

static void
assert_parses (Parser parse, const Case *cases, gsize n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 value = 1;

      g_test_message ("“%s”", cases[i].text);
      g_assert_true (parse (cases[i].text, &value, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (value, ==, cases[i].expected);
    }
}

static void
assert_rejects (Parser parse, const char *const *texts, gsize n_texts)
{
  for (gsize i = 0; i < n_texts; i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 value = 7;

      g_test_message ("“%s”", texts[i]);
      g_assert_false (parse (texts[i], &value, &error));
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      /* The message names what was typed. */
      g_assert_nonnull (strstr (error->message, texts[i]));
      g_assert_cmpuint (value, ==, 7);
    }
}

static void
test_duration_valid (void)
{
  static const Case cases[] = {
    { "0", 0 }, { "250", 250 }, { "500ms", 500 }, { "2s", 2000 },
    { "2sec", 2000 }, { "1m", 60000 }, { "1min", 60000 }, { "1h", 3600000 },
    { "1d", 86400000 }, { "1m 30s", 90000 }, { "1m30s", 90000 },
    { "1s 500ms", 1500 }, { "4294967295", G_MAXUINT32 }, { "2S", 2000 },
  };

  assert_parses (parse_duration, cases, G_N_ELEMENTS (cases));
}

static void
test_duration_invalid (void)
{
  /* 50d and 4294967296 do not fit the API's u. */
  static const char *const cases[] = {
    "", " ", "abc", "5x", "-1", "1.5s", "s", "4294967296", "50d", "2s x", "1 s",
  };

  assert_rejects (parse_duration, cases, G_N_ELEMENTS (cases));
}

static void
test_duration_round_trip (void)
{
  static const guint32 values[] = {
    0, 1, 999, 1000, 1500, 59000, 90000, 3600000, 5400000, 86400000, 273600000,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *text = jobd_format_duration_ms (values[i]);
      guint32 parsed = 1;

      g_test_message ("%u → %s", values[i], text);
      g_assert_true (jobd_parse_duration_ms (text, &parsed, NULL));
      g_assert_cmpuint (parsed, ==, values[i]);
    }
}

static void
test_duration_format (void)
{
  static const struct { guint64 ms; const char *expected; } cases[] = {
    { 0, "0" }, { 500, "500ms" }, { 1000, "1s" }, { 1500, "1s 500ms" },
    { 90000, "1m 30s" }, { 3600000, "1h" },
    /* Only the two most significant units. */
    { 3 * 86400000ULL + 4 * 3600000 + 5 * 60000, "3d 4h" },
    { 3600000 + 1000, "1h" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = jobd_format_duration_ms (cases[i].ms);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_size_valid (void)
{
  static const Case cases[] = {
    { "0", 0 }, { "none", 0 }, { "NONE", 0 }, { "100", 100 }, { "100B", 100 },
    { "512K", 512 * 1024 }, { "64M", 64 * 1024 * 1024 }, { "64MiB", 64 * 1024 * 1024 },
    { "64mb", 64 * 1024 * 1024 }, { "1G", G_GUINT64_CONSTANT (1) << 30 },
    { "2T", G_GUINT64_CONSTANT (2) << 40 },
  };

  assert_parses (jobd_parse_size, cases, G_N_ELEMENTS (cases));
}

static void
test_size_invalid (void)
{
  static const char *const cases[] = {
    "", "M", "12Q", "-5", "1.5G", "64 M", "99999999999T", "18446744073709551616",
  };

  assert_rejects (jobd_parse_size, cases, G_N_ELEMENTS (cases));
}

static void
test_percent (void)
{
  static const Case valid[] = { { "50%", 50 }, { "50", 50 }, { "200%", 200 }, { "none", 0 } };
  static const char *const invalid[] = { "", "%", "50%%", "x", "-5%", "5000000000%" };

  assert_parses (parse_percent, valid, G_N_ELEMENTS (valid));
  assert_rejects (parse_percent, invalid, G_N_ELEMENTS (invalid));
}

static void
test_uint (void)
{
  g_autoptr(GError) error = NULL;
  guint64 value = 0;

  g_assert_true (jobd_parse_uint ("42", 100, FALSE, &value, NULL));
  g_assert_cmpuint (value, ==, 42);
  g_assert_true (jobd_parse_uint ("100", 100, FALSE, &value, NULL));
  g_assert_cmpuint (value, ==, 100);
  g_assert_true (jobd_parse_uint ("none", 100, TRUE, &value, NULL));
  g_assert_cmpuint (value, ==, 0);

  g_assert_false (jobd_parse_uint ("101", 100, FALSE, &value, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (jobd_parse_uint ("none", 100, FALSE, &value, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (jobd_parse_uint ("4x", 100, FALSE, &value, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
}

static void
test_bool (void)
{
  static const char *const yes[] = { "yes", "TRUE", "on", "1" };
  static const char *const no[] = { "no", "false", "OFF", "0" };
  g_autoptr(GError) error = NULL;
  gboolean value;

  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      value = FALSE;
      g_assert_true (jobd_parse_bool (yes[i], &value, NULL));
      g_assert_true (value);
      g_assert_true (jobd_parse_bool (no[i], &value, NULL));
      g_assert_false (value);
    }
  g_assert_false (jobd_parse_bool ("maybe", &value, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
}

static void
test_key_value (void)
{
  static const struct { const char *text, *key, *value; } valid[] = {
    { "A=b", "A", "b" }, { "A=", "A", "" }, { "A=b=c", "A", "b=c" },
    { "PATH=/usr/bin:/bin", "PATH", "/usr/bin:/bin" },
  };
  static const char *const invalid[] = { "=x", "A", "" };

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;

      g_assert_true (jobd_parse_key_value (valid[i].text, &key, &value, NULL));
      g_assert_cmpstr (key, ==, valid[i].key);
      g_assert_cmpstr (value, ==, valid[i].value);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      char *key = NULL;
      char *value = NULL;

      g_assert_false (jobd_parse_key_value (invalid[i], &key, &value, &error));
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      g_assert_null (key);
      g_assert_null (value);
    }
}

static void
test_signal (void)
{
  static const struct { const char *text; int signo; } valid[] = {
    { "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "term", SIGTERM },
    { "sigkill", SIGKILL }, { "9", 9 }, { "HUP", SIGHUP }, { "USR2", SIGUSR2 },
    { "34", 34 },
  };
  static const char *const invalid[] = { "", "0", "FOO", "SIG", "65", "-9", "TERM2" };

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      int signo = 0;

      g_assert_true (jobd_parse_signal (valid[i].text, &signo, NULL));
      g_assert_cmpint (signo, ==, valid[i].signo);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      int signo = 0;

      g_test_message ("“%s”", invalid[i]);
      g_assert_false (jobd_parse_signal (invalid[i], &signo, &error));
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    }

  g_assert_cmpstr (jobd_signal_to_string (SIGTERM), ==, "SIGTERM");
  g_assert_cmpstr (jobd_signal_to_string (SIGKILL), ==, "SIGKILL");
  g_assert_null (jobd_signal_to_string (SIGRTMIN));
  g_assert_null (jobd_signal_to_string (0));
}

static void
test_format_size (void)
{
  static const struct { guint64 bytes; const char *expected; } cases[] = {
    { 0, "0B" }, { 1023, "1023B" }, { 1024, "1.0K" }, { 1536, "1.5K" },
    { 9646899, "9.2M" }, { 64 * 1024 * 1024, "64.0M" },
    /* 1023.999K would print as "1024.0K": moves up a unit instead. */
    { 1048575, "1.0M" },
    { G_GUINT64_CONSTANT (1) << 30, "1.0G" }, { G_GUINT64_CONSTANT (3) << 40, "3.0T" },
    { G_MAXUINT64, "16.0E" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = jobd_format_size (cases[i].bytes);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_format_uptime (void)
{
  gint64 now = G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC;
  static const struct { gint64 ago_usec; const char *expected; } cases[] = {
    { 500 * 1000, "0s" }, { 42 * G_USEC_PER_SEC, "42s" },
    { 312 * G_USEC_PER_SEC + 999999, "5m 12s" },
    { G_GINT64_CONSTANT (3 * 86400 + 4 * 3600 + 59) * G_USEC_PER_SEC, "3d 4h" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = jobd_format_uptime ((guint64) (now - cases[i].ago_usec), now);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }

  {
    g_autofree char *never = jobd_format_uptime (0, now);
    g_autofree char *future = jobd_format_uptime ((guint64) now + G_USEC_PER_SEC, now);

    g_assert_cmpstr (never, ==, "-");
    g_assert_cmpstr (future, ==, "-");
  }
}

static void
test_display_width (void)
{
  g_assert_cmpuint (jobd_display_width (""), ==, 0);
  g_assert_cmpuint (jobd_display_width ("NAME"), ==, 4);
  /* Wide CJK characters take two columns. */
  g_assert_cmpuint (jobd_display_width ("名称"), ==, 4);
  g_assert_cmpuint (jobd_display_width ("état"), ==, 4);
  /* Not UTF-8: one column a byte rather than a crash. */
  g_assert_cmpuint (jobd_display_width ("\xff\xfe"), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/jobctl-util/duration/valid", test_duration_valid);
  g_test_add_func ("/jobctl-util/duration/invalid", test_duration_invalid);
  g_test_add_func ("/jobctl-util/duration/round-trip", test_duration_round_trip);
  g_test_add_func ("/jobctl-util/duration/format", test_duration_format);
  g_test_add_func ("/jobctl-util/size/valid", test_size_valid);
  g_test_add_func ("/jobctl-util/size/invalid", test_size_invalid);
  g_test_add_func ("/jobctl-util/size/format", test_format_size);
  g_test_add_func ("/jobctl-util/percent", test_percent);
  g_test_add_func ("/jobctl-util/uint", test_uint);
  g_test_add_func ("/jobctl-util/bool", test_bool);
  g_test_add_func ("/jobctl-util/key-value", test_key_value);
  g_test_add_func ("/jobctl-util/signal", test_signal);
  g_test_add_func ("/jobctl-util/uptime", test_format_uptime);
  g_test_add_func ("/jobctl-util/display-width", test_display_width);

  return g_test_run ();
}
