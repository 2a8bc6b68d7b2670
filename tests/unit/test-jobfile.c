/* SPDX-License-Identifier: MIT */
/* test-jobfile.c — job files (common/jobd-jobfile.c): systemd's quoting of
 * Command= and Environment=, booleans, errors with FILE:LINE: Key, unknown
 * keys, the writer reading back to the same settings, and the diff that
 * decides whether a running job restarts. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-jobfile.h"
#include "jobd-settings.h"

static JobdJobFile *
parse (const char *text, GError **error)
{
  return jobd_job_file_parse ("/srv/jobs/web.job", text, strlen (text), error);
}

static void
assert_words (const char *line, const char * const *expected)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) words = jobd_job_file_split (line, &error);

  g_assert_no_error (error);
  g_assert_cmpstrv (words, expected);
}

static void
test_split_quoting (void)
{
  assert_words ("/bin/echo a  b", (const char *[]) { "/bin/echo", "a", "b", NULL });
  assert_words ("sh -c \"echo 'x y'\"", (const char *[]) { "sh", "-c", "echo 'x y'", NULL });
  assert_words ("a 'b \"c\" d' e", (const char *[]) { "a", "b \"c\" d", "e", NULL });
  assert_words ("mid\"dle quo\"ted", (const char *[]) { "middle quoted", NULL });
  assert_words ("\"\" x", (const char *[]) { "", "x", NULL });
  assert_words ("a\\ b \\\"c\\\\", (const char *[]) { "a b", "\"c\\", NULL });
  assert_words ("\"t\\tn\\nx\\x41s\\s\" \\101 \\u00e9", (const char *[]) { "t\tn\nxAs ", "A", "é", NULL });
  assert_words ("  ", (const char *[]) { NULL });
}

static void
test_split_errors (void)
{
  const char *bad[] = { "echo \"open", "echo 'open", "echo \\q", "echo \\x4", "trailing\\",
                        "nul\\x00" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) words = jobd_job_file_split (bad[i], &error);

      g_assert_null (words);
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
    }
}

static void
test_join_round_trips (void)
{
  const char *words[] = { "/bin/prog", "", "two words", "quote\"s", "it's", "back\\slash",
                          "new\nline", "tab\there", "\x01" "ctl", "ünïcode", "$HOME", NULL };
  g_autofree char *line = jobd_job_file_join (words);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) back = jobd_job_file_split (line, &error);

  g_assert_no_error (error);
  g_assert_cmpstrv (back, words);
  g_assert_null (strchr (line, '\n'));
}

static void
test_parse_settings (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = parse (
      "# a comment\n"
      "[Job]\n"
      "Command=/usr/bin/php artisan \"queue:work\" --tries=3\n"
      "Environment=\"A=one two\" B=2\n"
      "Environment=C=\\\"q\\\"\n"
      "RestartDelay=250ms\n"
      "StopTimeout=90\n"
      "RestartDelayMax=1h 1min\n"
      "MemoryMax=64M\nCPUQuota=50%\nTasksMax=infinity\n"
      "StopSignal=INT\nRestart=on-failure\nX-team=ops\n", &error);
  g_autoptr(GVariant) env = NULL;
  g_autofree const char **args = NULL;
  const char *text = NULL;
  guint32 u = 0;
  guint64 t = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (file->name, ==, "web");
  g_assert_true (g_variant_lookup (file->settings, "command", "&s", &text));
  g_assert_cmpstr (text, ==, "/usr/bin/php");
  g_assert_true (g_variant_lookup (file->settings, "args", "^a&s", &args));
  g_assert_cmpstrv (args, ((const char *[]) { "artisan", "queue:work", "--tries=3", NULL }));
  env = g_variant_lookup_value (file->settings, "environment", G_VARIANT_TYPE ("a{ss}"));
  g_assert_nonnull (env);
  g_assert_true (g_variant_lookup (env, "A", "&s", &text));
  g_assert_cmpstr (text, ==, "one two");
  g_assert_true (g_variant_lookup (env, "C", "&s", &text));
  g_assert_cmpstr (text, ==, "\"q\"");
  g_assert_cmpuint (g_variant_n_children (env), ==, 3);
  g_assert_true (g_variant_lookup (file->settings, "restart-delay-ms", "u", &u));
  g_assert_cmpuint (u, ==, 250);
  g_assert_true (g_variant_lookup (file->settings, "stop-timeout-ms", "u", &u));
  g_assert_cmpuint (u, ==, 90000);  /* plain numbers are seconds, as in systemd */
  g_assert_true (g_variant_lookup (file->settings, "restart-delay-max-ms", "u", &u));
  g_assert_cmpuint (u, ==, 3660000);
  g_assert_true (g_variant_lookup (file->settings, "memory-max", "t", &t));
  g_assert_cmpuint (t, ==, 64 << 20);
  g_assert_true (g_variant_lookup (file->settings, "cpu-quota", "u", &u));
  g_assert_cmpuint (u, ==, 50);
  g_assert_true (g_variant_lookup (file->settings, "tasks-max", "t", &t));
  g_assert_cmpuint (t, ==, 0);
  g_assert_true (g_variant_lookup (file->settings, "stop-signal", "&s", &text));
  g_assert_cmpstr (text, ==, "SIGINT");
  g_assert_true (g_variant_lookup (file->settings, JOBD_SETTING_SOURCE_FILE, "&s", &text));
  g_assert_cmpstr (text, ==, "/srv/jobs/web.job");
  g_assert_cmpuint (file->warnings->len, ==, 0);
}

static void
test_environment_reset_and_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-jobfile-XXXXXX", NULL);
  g_autofree char *envfile = g_build_filename (dir, "web.env", NULL);
  g_autofree char *jobpath = g_build_filename (dir, "web.job", NULL);
  const char *text = "[Job]\nCommand=/bin/true\nEnvironment=GONE=1\nEnvironment=\n"
                     "Environment=KEEP=file-loses B=1\nEnvironmentFile=web.env\n"
                     "EnvironmentFile=-missing.env\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = NULL;
  g_autoptr(GVariant) env = NULL;
  const char *value = NULL;

  g_assert_true (g_file_set_contents (envfile, "# comment\n; other\nKEEP=\"from file\"\n"
                                      "S='single $x'\n  PLAIN = bare value  \n", -1, NULL));
  file = jobd_job_file_parse (jobpath, text, strlen (text), &error);
  g_assert_no_error (error);
  env = g_variant_lookup_value (file->settings, "environment", G_VARIANT_TYPE ("a{ss}"));
  g_assert_false (g_variant_lookup (env, "GONE", "&s", &value));
  g_assert_true (g_variant_lookup (env, "KEEP", "&s", &value));
  g_assert_cmpstr (value, ==, "from file");
  g_assert_true (g_variant_lookup (env, "S", "&s", &value));
  g_assert_cmpstr (value, ==, "single $x");
  g_assert_true (g_variant_lookup (env, "PLAIN", "&s", &value));
  g_assert_cmpstr (value, ==, "bare value");
  g_assert_true (g_variant_lookup (env, "B", "&s", &value));

  /* Without the '-', a missing file is an error naming it. */
  {
    const char *strict = "[Job]\nCommand=/bin/true\nEnvironmentFile=missing.env\n";
    g_autoptr(GError) missing = NULL;
    g_autoptr(JobdJobFile) none = jobd_job_file_parse (jobpath, strict, strlen (strict), &missing);

    g_assert_null (none);
    g_assert_nonnull (strstr (missing->message, "missing.env"));
  }
  g_unlink (envfile);
  g_rmdir (dir);
}

/* WorkingDirectory= relative to the job file's folder; absolute kept. */
static void
test_relative_working_directory (void)
{
  const char *cases[][2] = {
    { "WorkingDirectory=.\n", "/srv/app" },
    { "WorkingDirectory=web/../public\n", "/srv/app/public" },
    { "WorkingDirectory=/var/www\n", "/var/www" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat ("[Job]\nCommand=/bin/true\n", cases[i][0], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdJobFile) file = jobd_job_file_parse ("/srv/app/web.job", text,
                                                         strlen (text), &error);
      const char *dir = NULL;

      g_assert_no_error (error);
      g_assert_true (g_variant_lookup (file->settings, "working-directory", "&s", &dir));
      g_assert_cmpstr (dir, ==, cases[i][1]);
    }
}

static void
test_booleans (void)
{
  const char *yes[] = { "yes", "true", "1", "on", "YES", "True" };
  const char *no[] = { "no", "false", "0", "off", "No" };

  for (gsize i = 0; i < G_N_ELEMENTS (yes) + G_N_ELEMENTS (no); i++)
    {
      gboolean want = i < G_N_ELEMENTS (yes);
      const char *word = want ? yes[i] : no[i - G_N_ELEMENTS (yes)];
      g_autofree char *text = g_strdup_printf ("[Job]\nCommand=/bin/true\nWriteLog=%s\n", word);
      g_autoptr(GError) error = NULL;
      g_autoptr(JobdJobFile) file = parse (text, &error);
      gboolean value = !want;

      g_assert_no_error (error);
      g_assert_true (g_variant_lookup (file->settings, "write-log", "b", &value));
      g_assert_cmpint (value, ==, want);
    }
}

static void
assert_error (const char *text, const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = parse (text, &error);

  g_assert_null (file);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  if (!g_str_has_prefix (error->message, message))
    g_error ("expected '%s…', got '%s'", message, error->message);
}

static void
test_errors_say_file_line_key (void)
{
  assert_error ("[Job]\nCommand=/bin/true\nAutoStart=maybe\n", "/srv/jobs/web.job:3: AutoStart: ");
  assert_error ("[Job]\n\nCommand=/bin/true\nMemoryMax=12Q\n", "/srv/jobs/web.job:4: MemoryMax: ");
  assert_error ("[Job]\nCommand=/bin/echo 'open\n", "/srv/jobs/web.job:2: Command: unterminated");
  assert_error ("[Job]\nCommand=\n", "/srv/jobs/web.job:2: Command: the command line is empty");
  assert_error ("[Job]\nCommand=/bin/true\nEnvironment=NOEQUALS\n",
                "/srv/jobs/web.job:3: Environment: ");
  assert_error ("[Job]\nCommand=/bin/true\nEnvironment=1X=2\n", "/srv/jobs/web.job:3: Environment: ");
  assert_error ("[Job]\nCommand=/bin/true\nRestart=sometimes\n", "/srv/jobs/web.job:3: Restart: ");
  assert_error ("[Job]\nCommand=/bin/true\nStopSignal=SIGNOPE\n", "/srv/jobs/web.job:3: StopSignal: ");
  assert_error ("[Job]\nCommand=/bin/true\nStopTimeout=soon\n", "/srv/jobs/web.job:3: StopTimeout: ");
  assert_error ("[Job]\nCommand=/bin/true\nnot a key line\n", "/srv/jobs/web.job:3: ");
  assert_error ("[Job]\nRestart=always\n", "/srv/jobs/web.job: [Job] has no Command=");
  assert_error ("[Service]\nExecStart=/bin/true\n", "/srv/jobs/web.job: no [Job] section");
}

static void
test_unknown_keys_warn (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = parse ("[Job]\nCommand=/bin/true\nRestrat=always\n[Unit]\n"
                                       "Description=x\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (file->warnings->len, ==, 2);
  g_assert_cmpstr (file->warnings->pdata[0], ==,
                   "/srv/jobs/web.job:3: Unknown key name 'Restrat' in section 'Job', ignoring.");
  g_assert_cmpstr (file->warnings->pdata[1], ==,
                   "/srv/jobs/web.job:4: Unknown section 'Unit'. Ignoring.");
}

static void
test_name_from_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = jobd_job_file_parse ("web.conf", "[Job]\nCommand=/x\n", 17, &error);

  g_assert_null (file);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
}

/* Settings → file → settings: the same a{sv}, whatever the values hold. */
static void
test_write_reads_back (void)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) asv = g_variant_ref_sink (g_variant_new_parsed (
      "{'command': <'/opt/my prog'>, 'args': <['', 'a b', 'q\"uote', 'new\\nline', '\\\\']>,"
      " 'params': <'x y'>, 'working-directory': <'/srv/app'>,"
      " 'environment': <{'A': 'sp ace', 'B': '', 'C': \"it's \\\"q\\\"\"}>,"
      " 'buffer-size': <uint32 7>, 'write-log': <true>, 'autostart': <true>,"
      " 'restart': <'always'>, 'restart-delay-ms': <uint32 1500>,"
      " 'restart-delay-max-ms': <uint32 3723004>, 'restart-reset-ms': <uint32 0>,"
      " 'start-limit-burst': <uint32 9>, 'start-limit-interval-ms': <uint32 0>,"
      " 'stop-signal': <'SIGINT'>, 'stop-timeout-ms': <uint32 1>, 'reload-signal': <'40'>,"
      " 'user': <'nobody'>, 'group': <'nogroup'>, 'interpreter': <'/usr/bin/php'>,"
      " 'memory-max': <uint64 1000>, 'cpu-quota': <uint32 150>, 'tasks-max': <uint64 12>,"
      " 'extra': <{'team': <'ops'>}>}"));
  g_autoptr(GVariant) want = NULL;
  g_autoptr(GVariant) got = NULL;
  g_autoptr(GPtrArray) unwritable = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  g_autoptr(JobdJobFile) file = NULL;

  g_assert_true (jobd_settings_merge_variant (settings, asv, JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  want = g_variant_ref_sink (jobd_settings_to_variant (settings));
  text = jobd_job_file_write ("web", want, unwritable);
  g_assert_cmpuint (unwritable->len, ==, 0);
  file = parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file->warnings->len, ==, 0);
  g_assert_true (jobd_settings_merge_variant (back, file->settings, JOBD_SETTINGS_FLAGS_PRIVILEGED,
                                              &error));
  g_clear_pointer (&back->source_file, g_free);
  got = g_variant_ref_sink (jobd_settings_to_variant (back));
  if (!g_variant_equal (want, got))
    {
      g_autofree char *a = g_variant_print (want, TRUE);
      g_autofree char *b = g_variant_print (got, TRUE);
      g_error ("wrote:\n%s\nwant %s\ngot  %s", text, a, b);
    }
  /* Against the job it came from, only the source file differs. */
  {
    g_autoptr(GVariant) diff = jobd_job_file_diff (file->settings, want, NULL, NULL);

    g_assert_nonnull (diff);
    g_assert_cmpuint (g_variant_n_children (diff), ==, 1);
    g_assert_true (g_variant_lookup (diff, JOBD_SETTING_SOURCE_FILE, "&s", NULL));
  }
}

static void
test_defaults_are_left_out (void)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GVariant) asv = NULL;
  g_autofree char *text = NULL;

  settings->command = g_strdup ("/bin/true");
  asv = g_variant_ref_sink (jobd_settings_to_variant (settings));
  text = jobd_job_file_write ("t", asv, NULL);
  g_assert_cmpstr (text, ==, "# t.job\n[Job]\nCommand=/bin/true\n");
}

static GVariant *
settings_of (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = parse (text, &error);
  g_autoptr(JobdSettings) settings = jobd_settings_new ();

  g_assert_no_error (error);
  g_assert_true (jobd_settings_merge_variant (settings, file->settings,
                                              JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  return g_variant_ref_sink (jobd_settings_to_variant (settings));
}

static void
assert_diff (const char *old_text, const char *new_text, const char *keys, gboolean restart)
{
  g_autoptr(GVariant) have = settings_of (old_text);
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdJobFile) file = parse (new_text, &error);
  g_autoptr(GPtrArray) changed = g_ptr_array_new ();
  g_autoptr(GVariant) diff = NULL;
  g_autofree char *joined = NULL;
  gboolean needs = !restart;

  diff = jobd_job_file_diff (file->settings, have, changed, &needs);
  g_ptr_array_add (changed, NULL);
  joined = g_strjoinv (",", (char **) changed->pdata);
  g_assert_cmpstr (joined, ==, keys);
  g_assert_cmpint (needs, ==, restart);
  g_assert_true ((diff != NULL) == (*keys != '\0'));
}

static void
test_diff_and_restart (void)
{
  const char *base = "[Job]\nCommand=/bin/sleep 1\nRestart=always\nEnvironment=A=1\n";

  assert_diff (base, base, "", FALSE);
  assert_diff (base, "[Job]\nCommand=/bin/sleep 2\nRestart=always\nEnvironment=A=1\n",
               "Command", TRUE);
  assert_diff (base, "[Job]\nCommand=/bin/sleep 1\nRestart=no\nEnvironment=A=1\n",
               "Restart", FALSE);
  /* A key left out goes back to its default. */
  assert_diff (base, "[Job]\nCommand=/bin/sleep 1\nEnvironment=A=1\n", "Restart", FALSE);
  assert_diff (base, "[Job]\nCommand=/bin/sleep 1\nRestart=always\n", "Environment", TRUE);
  assert_diff (base, "[Job]\nCommand=/bin/sleep 1\nRestart=always\nEnvironment=A=1\n"
               "MemoryMax=1G\nStopSignal=INT\n", "StopSignal,MemoryMax", FALSE);
  assert_diff (base, "[Job]\nCommand=/bin/sleep 1\nRestart=always\nEnvironment=A=1\n"
               "WorkingDirectory=/tmp\n", "WorkingDirectory", TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jobfile/split/quoting", test_split_quoting);
  g_test_add_func ("/jobfile/split/errors", test_split_errors);
  g_test_add_func ("/jobfile/split/join-round-trips", test_join_round_trips);
  g_test_add_func ("/jobfile/parse/settings", test_parse_settings);
  g_test_add_func ("/jobfile/parse/environment", test_environment_reset_and_file);
  g_test_add_func ("/jobfile/parse/booleans", test_booleans);
  g_test_add_func ("/jobfile/parse/relative-working-directory", test_relative_working_directory);
  g_test_add_func ("/jobfile/parse/errors", test_errors_say_file_line_key);
  g_test_add_func ("/jobfile/parse/unknown-keys", test_unknown_keys_warn);
  g_test_add_func ("/jobfile/parse/name", test_name_from_file);
  g_test_add_func ("/jobfile/write/reads-back", test_write_reads_back);
  g_test_add_func ("/jobfile/write/defaults-left-out", test_defaults_are_left_out);
  g_test_add_func ("/jobfile/diff", test_diff_and_restart);
  return g_test_run ();
}
