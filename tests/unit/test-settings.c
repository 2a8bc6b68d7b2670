/* SPDX-License-Identifier: MIT */
/* test-settings.c — unit tests of JobdSettings: defaults, a{sv} and JSON
 * merging with their validation messages, round trips, argv building, job
 * names and signal names. */
#include <signal.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-settings.h"

/* ---- helpers ------------------------------------------------------------ */

static GVariant *
parse_asv (const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *asv = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return g_variant_ref_sink (asv);
}

static gboolean
merge_text (JobdSettings *settings, const char *text, JobdSettingsFlags flags, GError **error)
{
  g_autoptr(GVariant) asv = parse_asv (text);

  return jobd_settings_merge_variant (settings, asv, flags, error);
}

static gboolean
merge_json_text (JobdSettings *settings, const char *text, JobdSettingsFlags flags,
                 GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) node = json_from_string (text, &local);

  g_assert_no_error (local);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return jobd_settings_merge_json (settings, json_node_get_object (node), flags, error);
}

static char *
settings_print (const JobdSettings *settings)
{
  g_autoptr(GVariant) asv = g_variant_ref_sink (jobd_settings_to_variant (settings));

  return g_variant_print (asv, TRUE);
}

static char *
settings_json (const JobdSettings *settings)
{
  g_autoptr(JsonNode) node = jobd_settings_to_json (settings);

  return json_to_string (node, FALSE);
}

/* Every field away from its default. */
static const char full_settings[] =
  "{'command': <'/usr/bin/worker'>, 'args': <['--fast', 'two words']>,"
  " 'params': <'-x 1'>, 'working-directory': <'/srv/work'>,"
  " 'environment': <{'LANG': 'C', 'MODE': 'prod'}>, 'buffer-size': <uint32 500>,"
  " 'write-log': <true>, 'autostart': <true>, 'restart': <'on-failure'>,"
  " 'restart-delay-ms': <uint32 250>, 'restart-delay-max-ms': <uint32 9000>,"
  " 'restart-reset-ms': <uint32 1234>, 'start-limit-burst': <uint32 7>,"
  " 'start-limit-interval-ms': <uint32 4321>, 'stop-signal': <'SIGINT'>,"
  " 'stop-timeout-ms': <uint32 2500>, 'reload-signal': <'USR1'>,"
  " 'user': <'www-data'>, 'group': <'adm'>, 'interpreter': <'/usr/bin/php'>,"
  " 'memory-max': <uint64 1048576>, 'cpu-quota': <uint32 150>,"
  " 'tasks-max': <uint64 64>,"
  " 'schedules': <[{'id': <'0f8fad5b-d9cb-469f-a165-70867728950e'>, 'spec': <'every 5min'>,"
  " 'enabled': <false>}]>, 'overlap': <'queue'>, 'persistent': <true>,"
  " 'randomized-delay': <uint32 3000>,"
  " 'runtime-max-ms': <uint32 90000>, 'history-size': <uint32 7>,"
  " 'ready': <'log:^listening on \\\\d+$'>,"
  " 'ready-timeout-ms': <uint32 5000>, 'watchdog-ms': <uint32 2000>,"
  " 'health': <'http://127.0.0.1:8080/healthz'>, 'health-interval-ms': <uint32 1500>,"
  " 'health-timeout-ms': <uint32 700>, 'health-failures': <uint32 4>,"
  " 'memory-restart': <uint64 524288>,"
  " 'instances': <uint32 3>,"
  " 'requires': <['db', 'migrate:succeeded']>, 'after': <['cache:started']>,"
  " 'watch': <['/srv/app', 'src']>, 'watch-glob': <['*.php']>, 'watch-exclude': <['vendor']>,"
  " 'watch-action': <'reload'>, 'watch-debounce-ms': <uint32 250>,"
  " 'extra': <{'legacy-id': <'abc'>, 'count': <int64 3>, 'nested': <{'on': <true>}>}>}";

static JobdSettings *
full_new (void)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (merge_text (settings, full_settings, JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&settings);
}

/* ---- defaults and round trips ------------------------------------------- */

static void
test_defaults (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autofree char *printed = settings_print (s);

  g_assert_null (s->command);
  g_assert_null (s->args);
  g_assert_null (s->params);
  g_assert_null (s->working_directory);
  g_assert_nonnull (s->environment);
  g_assert_cmpuint (g_hash_table_size (s->environment), ==, 0);
  g_assert_cmpuint (s->buffer_size, ==, 20);
  g_assert_false (s->write_log);
  g_assert_false (s->autostart);
  g_assert_cmpint (s->restart, ==, JOBD_RESTART_NO);
  g_assert_cmpuint (s->restart_delay_ms, ==, 1000);
  g_assert_cmpuint (s->restart_delay_max_ms, ==, 60000);
  g_assert_cmpuint (s->restart_reset_ms, ==, 30000);
  g_assert_cmpuint (s->start_limit_burst, ==, 5);
  g_assert_cmpuint (s->start_limit_interval_ms, ==, 60000);
  g_assert_cmpint (s->stop_signal, ==, SIGTERM);
  g_assert_cmpuint (s->stop_timeout_ms, ==, 10000);
  g_assert_cmpint (s->reload_signal, ==, SIGHUP);
  g_assert_null (s->user);
  g_assert_null (s->group);
  g_assert_null (s->interpreter);
  g_assert_cmpuint (s->memory_max, ==, 0);
  g_assert_cmpuint (s->cpu_quota, ==, 0);
  g_assert_cmpuint (s->tasks_max, ==, 0);
  g_assert_nonnull (s->extra);
  g_assert_cmpstr (g_variant_get_type_string (s->extra), ==, "a{sv}");
  g_assert_cmpuint (g_variant_n_children (s->extra), ==, 0);

  /* Defaults are listed too; unset strings are not. */
  g_assert_cmpstr (printed, ==,
                   "{'args': <@as []>, 'environment': <@a{ss} {}>, 'buffer-size': <uint32 20>, "
                   "'write-log': <false>, 'autostart': <false>, 'restart': <'no'>, "
                   "'restart-delay-ms': <uint32 1000>, 'restart-delay-max-ms': <uint32 60000>, "
                   "'restart-reset-ms': <uint32 30000>, 'start-limit-burst': <uint32 5>, "
                   "'start-limit-interval-ms': <uint32 60000>, 'stop-signal': <'SIGTERM'>, "
                   "'stop-timeout-ms': <uint32 10000>, 'reload-signal': <'SIGHUP'>, "
                   "'memory-max': <uint64 0>, 'cpu-quota': <uint32 0>, 'tasks-max': <uint64 0>, "
                   "'schedules': <@aa{sv} []>, 'overlap': <'skip'>, 'persistent': <false>, "
                   "'randomized-delay': <uint32 0>, "
                   "'runtime-max-ms': <uint32 0>, 'history-size': <uint32 100>, "
                   "'ready': <'exec'>, 'ready-timeout-ms': <uint32 90000>, 'watchdog-ms': <uint32 0>, "
                   "'health-interval-ms': <uint32 10000>, 'health-timeout-ms': <uint32 5000>, "
                   "'health-failures': <uint32 3>, "
                   "'memory-restart': <uint64 0>, "
    "'instances': <uint32 1>, "
                   "'requires': <@as []>, 'after': <@as []>, "
                   "'watch': <@as []>, 'watch-glob': <@as []>, 'watch-exclude': <@as []>, "
                   "'watch-action': <'restart'>, 'watch-debounce-ms': <uint32 500>, "
                   "'extra': <@a{sv} {}>}");
}

static void
test_merge_all_fields (void)
{
  g_autoptr(JobdSettings) s = full_new ();
  const char * const args[] = { "--fast", "two words", NULL };

  g_assert_cmpstr (s->command, ==, "/usr/bin/worker");
  g_assert_cmpstrv (s->args, args);
  g_assert_cmpstr (s->params, ==, "-x 1");
  g_assert_cmpstr (s->working_directory, ==, "/srv/work");
  g_assert_cmpuint (g_hash_table_size (s->environment), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (s->environment, "MODE"), ==, "prod");
  g_assert_cmpuint (s->buffer_size, ==, 500);
  g_assert_true (s->write_log);
  g_assert_true (s->autostart);
  g_assert_cmpint (s->restart, ==, JOBD_RESTART_ON_FAILURE);
  g_assert_cmpuint (s->restart_delay_ms, ==, 250);
  g_assert_cmpuint (s->restart_delay_max_ms, ==, 9000);
  g_assert_cmpuint (s->restart_reset_ms, ==, 1234);
  g_assert_cmpuint (s->start_limit_burst, ==, 7);
  g_assert_cmpuint (s->start_limit_interval_ms, ==, 4321);
  g_assert_cmpint (s->stop_signal, ==, SIGINT);
  g_assert_cmpuint (s->stop_timeout_ms, ==, 2500);
  g_assert_cmpint (s->reload_signal, ==, SIGUSR1);
  g_assert_cmpstr (s->user, ==, "www-data");
  g_assert_cmpstr (s->group, ==, "adm");
  g_assert_cmpstr (s->interpreter, ==, "/usr/bin/php");
  g_assert_cmpuint (s->memory_max, ==, 1048576);
  g_assert_cmpuint (s->cpu_quota, ==, 150);
  g_assert_cmpuint (s->tasks_max, ==, 64);
  g_assert_cmpstr (s->ready, ==, "log:^listening on \\d+$");
  g_assert_cmpuint (s->ready_timeout_ms, ==, 5000);
  g_assert_cmpuint (s->watchdog_ms, ==, 2000);
  g_assert_cmpstr (s->health, ==, "http://127.0.0.1:8080/healthz");
  g_assert_cmpuint (s->health_interval_ms, ==, 1500);
  g_assert_cmpuint (s->health_timeout_ms, ==, 700);
  g_assert_cmpuint (s->health_failures, ==, 4);
  g_assert_cmpuint (s->instances, ==, 3);
  g_assert_true (g_variant_lookup (s->extra, "nested", "a{sv}", NULL));
  g_assert_true (g_variant_lookup (s->extra, "legacy-id", "&s", NULL));
  g_assert_false (g_variant_lookup (s->extra, "missing", "&s", NULL));
  g_assert_true (g_variant_lookup (s->extra, "count", "x", NULL));
}

static void
test_variant_round_trip (void)
{
  g_autoptr(JobdSettings) s = full_new ();
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(GVariant) asv = g_variant_ref_sink (jobd_settings_to_variant (s));
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *got = NULL;

  g_assert_true (jobd_settings_merge_variant (back, asv, JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  expected = settings_print (s);
  got = settings_print (back);
  g_assert_cmpstr (got, ==, expected);
  /* The output is what went in, key for key (full_settings lists them all). */
  g_assert_cmpuint (g_variant_n_children (asv), ==, 46);
}

static void
test_json_round_trip (void)
{
  g_autoptr(JobdSettings) s = full_new ();
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(JsonNode) node = jobd_settings_to_json (s);
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL, *json_back = NULL, *asv = NULL, *asv_back = NULL;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  /* Signals as names, nested extra, environment as an object. */
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "stop-signal"),
                   ==, "SIGINT");
  g_assert_true (json_object_has_member (json_object_get_object_member (json_node_get_object (node),
                                                                        "extra"), "legacy-id"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
                     json_node_get_object (node), "environment"), "LANG"), ==, "C");

  g_assert_true (jobd_settings_merge_json (back, json_node_get_object (node),
                                           JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  json = settings_json (s);
  json_back = settings_json (back);
  g_assert_cmpstr (json_back, ==, json);
  asv = settings_print (s);
  asv_back = settings_print (back);
  g_assert_cmpstr (asv_back, ==, asv);
}

static void
test_copy (void)
{
  g_autoptr(JobdSettings) s = full_new ();
  g_autoptr(JobdSettings) copy = jobd_settings_copy (s);
  g_autofree char *before = settings_print (s);
  g_autofree char *copied = settings_print (copy);
  g_autofree char *after = NULL;

  g_assert_cmpstr (copied, ==, before);
  g_hash_table_insert (copy->environment, g_strdup ("NEW"), g_strdup ("1"));
  g_free (copy->args[0]);
  copy->args[0] = g_strdup ("changed");
  after = settings_print (s);
  g_assert_cmpstr (after, ==, before);
}

/* ---- validation --------------------------------------------------------- */

typedef struct {
  const char *asv;
  int code;
  const char *message;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "{'command': <''>}", JOBD_ERROR_INVALID_ARGS, "command: must not be empty" },
  { "{'command': <int32 5>}", JOBD_ERROR_INVALID_ARGS,
    "command: expected a string (got a value of type 'i')" },
  { "{'args': <'one string'>}", JOBD_ERROR_INVALID_ARGS,
    "args: expected an array of strings (got a value of type 's')" },
  { "{'environment': <{'A=B': 'x'}>}", JOBD_ERROR_INVALID_ARGS,
    "environment: invalid variable name 'A=B': use letters, digits and _, not starting with a digit" },
  { "{'environment': <{'': 'x'}>}", JOBD_ERROR_INVALID_ARGS,
    "environment: invalid variable name '': use letters, digits and _, not starting with a digit" },
  { "{'environment': <{'1X': 'x'}>}", JOBD_ERROR_INVALID_ARGS,
    "environment: invalid variable name '1X': use letters, digits and _, not starting with a digit" },
  { "{'environment': <['A']>}", JOBD_ERROR_INVALID_ARGS,
    "environment: expected a dictionary of strings (got a value of type 'as')" },
  { "{'buffer-size': <uint32 0>}", JOBD_ERROR_INVALID_ARGS,
    "buffer-size: must be between 1 and 100000 (got 0)" },
  { "{'buffer-size': <int32 -3>}", JOBD_ERROR_INVALID_ARGS,
    "buffer-size: must be between 1 and 100000 (got -3)" },
  { "{'buffer-size': <uint64 100001>}", JOBD_ERROR_INVALID_ARGS,
    "buffer-size: must be between 1 and 100000 (got 100001)" },
  { "{'buffer-size': <'20'>}", JOBD_ERROR_INVALID_ARGS,
    "buffer-size: expected an unsigned integer (got a value of type 's')" },
  { "{'write-log': <uint32 1>}", JOBD_ERROR_INVALID_ARGS,
    "write-log: expected a boolean (got a value of type 'u')" },
  { "{'restart': <'sometimes'>}", JOBD_ERROR_INVALID_ARGS,
    "restart: unknown restart policy 'sometimes': use no, on-failure or always" },
  { "{'stop-timeout-ms': <uint32 86400001>}", JOBD_ERROR_INVALID_ARGS,
    "stop-timeout-ms: must be between 0 and 86400000 (got 86400001)" },
  { "{'start-limit-burst': <uint32 0>}", JOBD_ERROR_INVALID_ARGS,
    "start-limit-burst: must be between 1 and 2147483647 (got 0)" },
  { "{'stop-signal': <'FOO'>}", JOBD_ERROR_INVALID_ARGS,
    "stop-signal: unknown signal 'FOO': use a name like TERM or a number from 1 to 64" },
  { "{'reload-signal': <int32 65>}", JOBD_ERROR_INVALID_ARGS,
    "reload-signal: must be between 1 and 64 (got 65)" },
  { "{'stop-signal': <int32 0>}", JOBD_ERROR_INVALID_ARGS,
    "stop-signal: must be between 1 and 64 (got 0)" },
  { "{'memory-max': <'64X'>}", JOBD_ERROR_INVALID_ARGS,
    "memory-max: expected a size in bytes, optionally with a K, M, G or T suffix (got '64X')" },
  { "{'memory-max': <'-1M'>}", JOBD_ERROR_INVALID_ARGS,
    "memory-max: must be between 0 and 9223372036854775807 (got -1M)" },
  { "{'memory-max': <'99999999999T'>}", JOBD_ERROR_INVALID_ARGS,
    "memory-max: must be between 0 and 9223372036854775807 (got 99999999999T)" },
  { "{'tasks-max': <uint64 18446744073709551615>}", JOBD_ERROR_INVALID_ARGS,
    "tasks-max: must be between 0 and 9223372036854775807 (got 18446744073709551615)" },
  { "{'ready': <'tcp:0'>}", JOBD_ERROR_INVALID_ARGS,
    "ready: bad port '0': use tcp:PORT with PORT 1..65535" },
  { "{'ready': <'tcp:65536'>}", JOBD_ERROR_INVALID_ARGS,
    "ready: bad port '65536': use tcp:PORT with PORT 1..65535" },
  { "{'ready': <'exec-probe:'>}", JOBD_ERROR_INVALID_ARGS,
    "ready: exec-probe:COMMAND needs a command" },
  { "{'ready': <'Notify'>}", JOBD_ERROR_INVALID_ARGS,
    "ready: unknown readiness 'Notify': use exec, notify, log:REGEX, tcp:PORT or "
    "exec-probe:COMMAND" },
  { "{'ready': <''>}", JOBD_ERROR_INVALID_ARGS, "ready: must not be empty" },
  { "{'health': <'http://192.168.1.1:80/'>}", JOBD_ERROR_INVALID_ARGS,
    "health: 'http://192.168.1.1:80/': the host must be 127.0.0.1 (jobd probes its own jobs "
    "on the loopback address, never another host)" },
  { "{'health': <'tcp:0'>}", JOBD_ERROR_INVALID_ARGS,
    "health: bad port '0': use tcp:PORT with PORT 1..65535" },
  { "{'health': <'exec:'>}", JOBD_ERROR_INVALID_ARGS, "health: exec:COMMAND needs a command" },
  { "{'health-failures': <uint32 0>}", JOBD_ERROR_INVALID_ARGS,
    "health-failures: must be between 1 and 1000 (got 0)" },
  { "{'instances': <uint32 0>}", JOBD_ERROR_INVALID_ARGS,
    "instances: must be between 1 and 10000 (got 0)" },
  { "{'instances': <uint32 100000>}", JOBD_ERROR_INVALID_ARGS,
    "instances: must be between 1 and 10000 (got 100000)" },
  { "{'watchdog-ms': <uint32 5>}", JOBD_ERROR_INVALID_ARGS,
    "watchdog-ms: must be 0 (no limit) or between 10 and 86400000 (got 5)" },
  { "{'cpu-quota': <uint32 100001>}", JOBD_ERROR_INVALID_ARGS,
    "cpu-quota: must be 0 (no limit) or between 1 and 100000 (got 100001)" },
  { "{'user': <'www-data'>}", JOBD_ERROR_ACCESS_DENIED,
    "user: only root may choose the user a job runs as" },
  { "{'group': <'adm'>}", JOBD_ERROR_ACCESS_DENIED,
    "group: only root may choose the group a job runs as" },
  { "{'extra': <'x'>}", JOBD_ERROR_INVALID_ARGS,
    "extra: expected a dictionary (got a value of type 's')" },
  { "{'foo': <1>}", JOBD_ERROR_INVALID_ARGS, "unknown setting 'foo'" },
  /* All or nothing: the good first key must not be applied either. */
  { "{'buffer-size': <uint32 7>, 'autostart': <true>, 'restart': <'maybe'>}",
    JOBD_ERROR_INVALID_ARGS,
    "restart: unknown restart policy 'maybe': use no, on-failure or always" },
};

/* GRegex's own words for why differ between PCRE versions: the start of
 * the message is jobd's. */
static void
test_invalid_ready_regex (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (merge_text (s, "{'ready': <'log:(['>}", JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_true (g_str_has_prefix (error->message, "ready: the regex '([' does not compile: "));
  g_assert_cmpstr (s->ready, ==, "exec");
}

static void
test_invalid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autoptr(JobdSettings) s = jobd_settings_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *before = settings_print (s);
      g_autofree char *after = NULL;

      g_test_message ("case %s", invalid_cases[i].asv);
      g_assert_false (merge_text (s, invalid_cases[i].asv, JOBD_SETTINGS_FLAGS_NONE, &error));
      g_assert_error (error, JOBD_ERROR, invalid_cases[i].code);
      g_assert_cmpstr (error->message, ==, invalid_cases[i].message);
      after = settings_print (s);
      g_assert_cmpstr (after, ==, before);
    }
}

static void
test_account_names (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (merge_text (s, "{'user': <'bad:name'>}", JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_cmpstr (error->message, ==, "user: invalid name 'bad:name'");
  g_assert_null (s->user);
}

static void
test_integer_types (void)
{
  static const char * const accepted[] = {
    "{'buffer-size': <byte 0x21>}", "{'buffer-size': <int16 33>}",
    "{'buffer-size': <uint16 33>}", "{'buffer-size': <int32 33>}",
    "{'buffer-size': <uint32 33>}", "{'buffer-size': <int64 33>}",
    "{'buffer-size': <uint64 33>}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(JobdSettings) s = jobd_settings_new ();
      g_autoptr(GError) error = NULL;

      g_assert_true (merge_text (s, accepted[i], JOBD_SETTINGS_FLAGS_NONE, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (s->buffer_size, ==, 33);
    }
}

static void
test_limits (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (merge_text (s, "{'memory-max': <'64M'>, 'cpu-quota': <uint32 100000>}", 0, &error));
  g_assert_cmpuint (s->memory_max, ==, 64 * 1024 * 1024);
  g_assert_cmpuint (s->cpu_quota, ==, 100000);
  g_assert_true (merge_text (s, "{'memory-max': <'2g'>, 'cpu-quota': <uint32 0>}", 0, &error));
  g_assert_cmpuint (s->memory_max, ==, G_GUINT64_CONSTANT (2) << 30);
  g_assert_cmpuint (s->cpu_quota, ==, 0);
  g_assert_true (merge_text (s, "{'memory-max': <'1T'>}", 0, &error));
  g_assert_cmpuint (s->memory_max, ==, G_GUINT64_CONSTANT (1) << 40);
  g_assert_true (merge_text (s, "{'memory-max': <'512K'>}", 0, &error));
  g_assert_cmpuint (s->memory_max, ==, 512 * 1024);
  g_assert_true (merge_text (s, "{'memory-max': <'4096'>}", 0, &error));
  g_assert_cmpuint (s->memory_max, ==, 4096);
  g_assert_true (merge_text (s, "{'memory-max': <uint64 0>, 'tasks-max': <uint64 100>,"
                                " 'stop-timeout-ms': <uint32 86400000>}", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s->memory_max, ==, 0);
  g_assert_cmpuint (s->tasks_max, ==, 100);
  g_assert_cmpuint (s->stop_timeout_ms, ==, 86400000);
}

static void
test_privileged (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (merge_text (s, "{'user': <'www-data'>, 'group': <'www-data'>}",
                             JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (s->user, ==, "www-data");
  g_assert_cmpstr (s->group, ==, "www-data");

  /* A non-root owner may send the settings back unchanged… */
  asv = g_variant_ref_sink (jobd_settings_to_variant (s));
  g_assert_true (jobd_settings_merge_variant (s, asv, JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_no_error (error);
  /* …but neither change nor clear the user. */
  g_assert_false (merge_text (s, "{'user': <''>}", JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED);
  g_clear_error (&error);
  g_assert_cmpstr (s->user, ==, "www-data");

  g_assert_true (merge_text (s, "{'user': <''>}", JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_null (s->user);
}

static void
test_empty_strings (void)
{
  g_autoptr(JobdSettings) s = full_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (merge_text (s, "{'working-directory': <''>, 'interpreter': <''>,"
                                " 'params': <''>, 'args': <@as []>, 'environment': <@a{ss} {}>}",
                             JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_no_error (error);
  g_assert_null (s->working_directory);
  g_assert_null (s->interpreter);
  g_assert_null (s->params);
  g_assert_null (s->args);
  g_assert_cmpuint (g_hash_table_size (s->environment), ==, 0);
}

static void
test_unknown_and_extra (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = NULL;

  g_assert_true (merge_text (s, "{'extra': <{'a': <'1'>, 'b': <int32 2>}>}",
                             JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_no_error (error);
  /* Later keys merge into extra; the ones not named stay. */
  g_assert_true (merge_text (s, "{'foo': <'bar'>, 'extra': <{'b': <'two'>}>}",
                             JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN, &error));
  g_assert_no_error (error);
  printed = g_variant_print (s->extra, TRUE);
  g_assert_cmpstr (printed, ==, "{'a': <'1'>, 'b': <'two'>, 'foo': <'bar'>}");
}

static void
test_validate (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (jobd_settings_validate (s, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_cmpstr (error->message, ==, "command: is required");
  g_clear_error (&error);

  g_assert_true (merge_text (s, "{'command': <'run'>, 'restart-delay-ms': <uint32 5000>,"
                                " 'restart-delay-max-ms': <uint32 4000>}", 0, &error));
  g_assert_false (jobd_settings_validate (s, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_cmpstr (error->message, ==,
                   "restart-delay-ms: must not exceed restart-delay-max-ms (5000 > 4000)");
  g_clear_error (&error);

  s->restart_delay_max_ms = 5000;
  g_assert_true (jobd_settings_validate (s, &error));
  g_assert_no_error (error);
}

/* ---- JSON leniency ------------------------------------------------------ */

static void
test_json_lenient (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (merge_json_text (s, "{\"buffer-size\": \"25\", \"write-log\": \"true\","
                                     " \"autostart\": 1, \"memory-max\": \"64M\","
                                     " \"stop-timeout-ms\": 2000.0, \"stop-signal\": 9,"
                                     " \"reload-signal\": \"10\"}", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s->buffer_size, ==, 25);
  g_assert_true (s->write_log);
  g_assert_true (s->autostart);
  g_assert_cmpuint (s->memory_max, ==, 64 * 1024 * 1024);
  g_assert_cmpuint (s->stop_timeout_ms, ==, 2000);
  g_assert_cmpint (s->stop_signal, ==, SIGKILL);
  g_assert_cmpint (s->reload_signal, ==, SIGUSR1);

  g_assert_true (merge_json_text (s, "{\"write-log\": \"0\", \"autostart\": \"FALSE\"}", 0, &error));
  g_assert_false (s->write_log);
  g_assert_false (s->autostart);
}

typedef struct {
  const char *json;
  const char *message;
} JsonCase;

static const JsonCase json_invalid_cases[] = {
  { "{\"buffer-size\": \"abc\"}", "buffer-size: expected an unsigned integer (got 'abc')" },
  { "{\"buffer-size\": \"-5\"}", "buffer-size: must be between 1 and 100000 (got -5)" },
  { "{\"buffer-size\": 1.5}", "buffer-size: must be a whole number (got 1.5)" },
  { "{\"buffer-size\": true}", "buffer-size: expected an unsigned integer (got a boolean)" },
  { "{\"write-log\": \"yes\"}", "write-log: expected a boolean (got 'yes')" },
  { "{\"write-log\": 2}", "write-log: expected a boolean (got a number)" },
  { "{\"args\": [\"a\", 1]}", "args: expected an array of strings (got an array)" },
  { "{\"environment\": {\"A\": 1}}",
    "environment: expected a dictionary of strings (got an object)" },
  { "{\"command\": null}", "command: expected a string (got null)" },
  { "{\"legacy\": 1}", "unknown setting 'legacy'" },
};

static void
test_json_invalid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (json_invalid_cases); i++)
    {
      g_autoptr(JobdSettings) s = jobd_settings_new ();
      g_autoptr(GError) error = NULL;

      g_test_message ("case %s", json_invalid_cases[i].json);
      g_assert_false (merge_json_text (s, json_invalid_cases[i].json, 0, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_cmpstr (error->message, ==, json_invalid_cases[i].message);
    }
}

static void
test_json_keep_unknown (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *json = NULL;

  g_assert_true (merge_json_text (s, "{\"command\": \"x\", \"legacy\": 1, \"list\": [\"a\"],"
                                     " \"extra\": {\"obj\": {\"k\": \"v\"}}}",
                                  JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN, &error));
  g_assert_no_error (error);
  printed = g_variant_print (s->extra, TRUE);
  g_assert_cmpstr (printed, ==,
                   "{'legacy': <int64 1>, 'list': <[<'a'>]>, 'obj': <{'k': <'v'>}>}");
  json = settings_json (s);
  g_assert_nonnull (strstr (json, "\"extra\":{\"legacy\":1,\"list\":[\"a\"],\"obj\":{\"k\":\"v\"}}"));
}

/* ---- running ------------------------------------------------------------ */

static void
assert_argv (const char *asv, const char * const *expected)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;

  g_assert_true (merge_text (s, asv, 0, &error));
  argv = jobd_settings_build_argv (s, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (argv, expected);
}

static void
test_argv (void)
{
  assert_argv ("{'command': <'/bin/echo'>}", (const char * const []) { "/bin/echo", NULL });
  assert_argv ("{'command': <'job.php'>, 'interpreter': <'php'>, 'args': <['-a', 'b c']>,"
               " 'params': <'ignored'>}",
               (const char * const []) { "php", "job.php", "-a", "b c", NULL });
  assert_argv ("{'command': <'tool'>, 'params': <'-v \\'two words\\' \"x y\" z\\\\ w'>}",
               (const char * const []) { "tool", "-v", "two words", "x y", "z w", NULL });
  assert_argv ("{'command': <'tool'>, 'params': <'   '>}",
               (const char * const []) { "tool", NULL });
}

static void
test_argv_errors (void)
{
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  char **argv;

  argv = jobd_settings_build_argv (s, &error);
  g_assert_null (argv);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  g_assert_true (merge_text (s, "{'command': <'tool'>, 'params': <'a \\'b'>}", 0, &error));
  argv = jobd_settings_build_argv (s, &error);
  g_assert_null (argv);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_assert_true (g_str_has_prefix (error->message, "params: "));
}

static void
test_working_directory (void)
{
  static const struct { const char *asv, *expected; } cases[] = {
    { "{'command': <'/usr/bin/tool'>}", "/usr/bin" },
    { "{'command': <'scripts/run.php'>}", "scripts" },
    { "{'command': <'tool'>}", NULL },
    { "{'command': <'/usr/bin/tool'>, 'working-directory': <'/srv'>}", "/srv" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JobdSettings) s = jobd_settings_new ();
      g_autofree char *dir = NULL;

      g_assert_true (merge_text (s, cases[i].asv, 0, NULL));
      dir = jobd_settings_get_working_directory (s);
      g_assert_cmpstr (dir, ==, cases[i].expected);
    }
}

/* ---- names and signals -------------------------------------------------- */

static void
test_names (void)
{
  static const char * const valid[] = { "a", "web-1", "my_job.v2", "user@host:80", "..a" };
  static const char * const invalid[] = { "", "x y", "a/b", "é", "tab\t", ".", "..", "a\nb" };
  char long_name[JOBD_NAME_MAX + 2];
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_assert_true (jobd_name_validate (valid[i], &error));
      g_assert_no_error (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_test_message ("name '%s'", invalid[i]);
      g_assert_false (jobd_name_validate (invalid[i], &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_clear_error (&error);
    }

  memset (long_name, 'n', JOBD_NAME_MAX);
  long_name[JOBD_NAME_MAX] = '\0';
  g_assert_true (jobd_name_validate (long_name, &error));
  long_name[JOBD_NAME_MAX] = 'n';
  long_name[JOBD_NAME_MAX + 1] = '\0';
  g_assert_false (jobd_name_validate (long_name, &error));
  g_clear_error (&error);

  g_assert_false (jobd_name_validate ("x y", &error));
  g_assert_cmpstr (error->message, ==,
                   "invalid job name 'x y': use letters, digits and - _ . : @ "
                   "(at most 128 bytes)");
  g_clear_error (&error);
  g_assert_false (jobd_name_validate ("..", &error));
  g_assert_cmpstr (error->message, ==, "invalid job name '..': . and .. are reserved");
  g_clear_error (&error);
  /* Bytes that are not UTF-8 still give a UTF-8 message (it may go over D-Bus). */
  g_assert_false (jobd_name_validate ("bad\xff", &error));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_signals (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSettings) s = jobd_settings_new ();
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  const char *name = NULL;

  g_assert_cmpint (jobd_signal_from_string ("TERM", &error), ==, SIGTERM);
  g_assert_cmpint (jobd_signal_from_string ("SIGTERM", &error), ==, SIGTERM);
  g_assert_cmpint (jobd_signal_from_string ("sigkill", &error), ==, SIGKILL);
  g_assert_cmpint (jobd_signal_from_string ("15", &error), ==, 15);
  g_assert_cmpint (jobd_signal_from_string ("64", &error), ==, 64);
  g_assert_cmpint (jobd_signal_from_string ("IOT", &error), ==, SIGABRT);
  g_assert_no_error (error);
  for (gsize i = 0; i < 4; i++)
    {
      const char *bad[] = { "0", "65", "FOO", "" };
      g_assert_cmpint (jobd_signal_from_string (bad[i], &error), ==, -1);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_clear_error (&error);
    }
  g_assert_cmpstr (jobd_signal_to_string (SIGTERM), ==, "SIGTERM");
  g_assert_cmpstr (jobd_signal_to_string (SIGABRT), ==, "SIGABRT");
  g_assert_null (jobd_signal_to_string (40));

  /* Numbers as int32/uint32 variants; unnamed signals read back as numbers. */
  g_assert_true (merge_text (s, "{'stop-signal': <int32 9>, 'reload-signal': <uint32 40>}", 0, &error));
  g_assert_cmpint (s->stop_signal, ==, SIGKILL);
  g_assert_cmpint (s->reload_signal, ==, 40);
  asv = g_variant_ref_sink (jobd_settings_to_variant (s));
  g_assert_true (g_variant_lookup (asv, "stop-signal", "&s", &name));
  g_assert_cmpstr (name, ==, "SIGKILL");
  g_assert_true (g_variant_lookup (asv, "reload-signal", "&s", &name));
  g_assert_cmpstr (name, ==, "40");
  g_assert_true (jobd_settings_merge_variant (back, asv, 0, &error));
  g_assert_cmpint (back->reload_signal, ==, 40);
}

static void
test_restart_policy (void)
{
  JobdRestartPolicy policy = JOBD_RESTART_NO;
  g_autoptr(GError) error = NULL;

  for (int p = JOBD_RESTART_NO; p <= JOBD_RESTART_ALWAYS; p++)
    {
      g_assert_true (jobd_restart_policy_from_string (jobd_restart_policy_to_string (p),
                                                      &policy, &error));
      g_assert_cmpint (policy, ==, p);
    }
  g_assert_cmpstr (jobd_restart_policy_to_string (JOBD_RESTART_ON_FAILURE), ==, "on-failure");
  g_assert_false (jobd_restart_policy_from_string ("On-Failure", &policy, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/settings/defaults", test_defaults);
  g_test_add_func ("/settings/merge-all-fields", test_merge_all_fields);
  g_test_add_func ("/settings/variant-round-trip", test_variant_round_trip);
  g_test_add_func ("/settings/json-round-trip", test_json_round_trip);
  g_test_add_func ("/settings/copy", test_copy);
  g_test_add_func ("/settings/invalid", test_invalid);
  g_test_add_func ("/settings/invalid-ready-regex", test_invalid_ready_regex);
  g_test_add_func ("/settings/account-names", test_account_names);
  g_test_add_func ("/settings/integer-types", test_integer_types);
  g_test_add_func ("/settings/limits", test_limits);
  g_test_add_func ("/settings/privileged", test_privileged);
  g_test_add_func ("/settings/empty-strings", test_empty_strings);
  g_test_add_func ("/settings/unknown-and-extra", test_unknown_and_extra);
  g_test_add_func ("/settings/validate", test_validate);
  g_test_add_func ("/settings/json-lenient", test_json_lenient);
  g_test_add_func ("/settings/json-invalid", test_json_invalid);
  g_test_add_func ("/settings/json-keep-unknown", test_json_keep_unknown);
  g_test_add_func ("/settings/argv", test_argv);
  g_test_add_func ("/settings/argv-errors", test_argv_errors);
  g_test_add_func ("/settings/working-directory", test_working_directory);
  g_test_add_func ("/names", test_names);
  g_test_add_func ("/signals", test_signals);
  g_test_add_func ("/restart-policy", test_restart_policy);

  return g_test_run ();
}
