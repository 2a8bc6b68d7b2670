/* SPDX-License-Identifier: MIT */
/* test-jobctl-cli.c — the built jobctl against a stand-in for jobd.
 *
 * A GDBusServer in this process exports the generated org.jobd1.Manager
 * skeleton on a private socket; jobctl runs as a child with --address
 * pointing at it. The stand-in records what jobctl sent, so the tests check
 * the contract with the daemon (keys and D-Bus types of the settings a{sv},
 * signal numbers) and what users see (output, one-line errors, exit codes).
 * The real daemon is driven by tests/integration.
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "jobd-dbus-generated.h"
#include "jobd-error.h"

#define DEADLINE_SECONDS 20

typedef struct {
  char *tmpdir;
  char *address;
  GDBusServer *server;
  JobdDBusManager *manager;
  GPtrArray *connections;
  /* What jobctl sent. */
  GVariant *settings;
  char *name;
  int signo;
  guint calls;
} Fixture;

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static gboolean
handle_add (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
            const char *name, GVariant *settings, Fixture *fixture)
{
  g_autofree char *path = g_strconcat ("/org/jobd1/job/", name, NULL);

  fixture->calls++;
  g_clear_pointer (&fixture->settings, g_variant_unref);
  fixture->settings = g_variant_ref (settings);
  g_free (fixture->name);
  fixture->name = g_strdup (name);
  jobd_dbus_manager_complete_add (manager, invocation, path);
  return TRUE;
}

static gboolean
handle_update (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
               const char *name, GVariant *settings, Fixture *fixture)
{
  fixture->calls++;
  g_clear_pointer (&fixture->settings, g_variant_unref);
  fixture->settings = g_variant_ref (settings);
  jobd_dbus_manager_complete_update (manager, invocation);
  return TRUE;
}

static gboolean
handle_status (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
               const char *name, Fixture *fixture)
{
  fixture->calls++;
  if (g_str_equal (name, "nope"))
    g_dbus_method_invocation_return_error (invocation, JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB,
                                           "no such job '%s'", name);
  else
    jobd_dbus_manager_complete_status (manager, invocation,
                                       g_str_equal (name, "web") ? "up" : "down");
  return TRUE;
}

static gboolean
handle_kill (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
             const char *name, int signo, Fixture *fixture)
{
  fixture->calls++;
  fixture->signo = signo;
  jobd_dbus_manager_complete_kill (manager, invocation);
  return TRUE;
}

static gboolean
handle_list (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
             Fixture *fixture)
{
  const char *const names[] = { "db", "web", NULL };
  const char *const states[] = { "down", "up", NULL };
  const guint32 pids[] = { 0, 4242 }, restarts[] = { 0, 2 };
  const guint64 memory[] = { 0, 9646899 };
  const guint64 started_at[] = { 0, g_get_real_time () - 312 * G_USEC_PER_SEC };

  fixture->calls++;
  jobd_dbus_manager_complete_list (manager, invocation, names, states,
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, pids, 2, sizeof (guint32)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, memory, 2, sizeof (guint64)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, started_at, 2, sizeof (guint64)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, restarts, 2, sizeof (guint32)));
  return TRUE;
}

/* Only the running job is asked about: list asks for no stopped one. */
static gboolean
handle_get_usage (JobdDBusManager *manager, GDBusMethodInvocation *invocation,
                  const char *const *names, Fixture *fixture)
{
  fixture->calls++;
  g_assert_cmpstrv (names, ((const char *const[]) { "web", NULL }));
  jobd_dbus_manager_complete_get_usage (manager, invocation,
    g_variant_new_parsed ("[('web', uint64 1234567, uint64 9646899)]"));
  return TRUE;
}

static gboolean
new_connection_cb (GDBusServer *server, GDBusConnection *connection, Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (fixture->connections, g_object_ref (connection));
  g_assert_true (g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (fixture->manager),
                                                   connection, "/org/jobd1", &error));
  g_assert_no_error (error);
  return TRUE;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autofree char *listen = NULL;

  fixture->tmpdir = g_dir_make_tmp ("jobctl-cli-XXXXXX", &error);
  g_assert_no_error (error);
  listen = g_strdup_printf ("unix:path=%s/bus", fixture->tmpdir);
  fixture->connections = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->manager = jobd_dbus_manager_skeleton_new ();
  g_signal_connect (fixture->manager, "handle-add", G_CALLBACK (handle_add), fixture);
  g_signal_connect (fixture->manager, "handle-update", G_CALLBACK (handle_update), fixture);
  g_signal_connect (fixture->manager, "handle-status", G_CALLBACK (handle_status), fixture);
  g_signal_connect (fixture->manager, "handle-kill", G_CALLBACK (handle_kill), fixture);
  g_signal_connect (fixture->manager, "handle-list", G_CALLBACK (handle_list), fixture);
  g_signal_connect (fixture->manager, "handle-get-usage", G_CALLBACK (handle_get_usage), fixture);

  fixture->server = g_dbus_server_new_sync (listen, G_DBUS_SERVER_FLAGS_NONE, guid,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (fixture->server, "new-connection", G_CALLBACK (new_connection_cb), fixture);
  g_dbus_server_start (fixture->server);
  fixture->address = g_strdup (g_dbus_server_get_client_address (fixture->server));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_autofree char *socket_path = g_build_filename (fixture->tmpdir, "bus", NULL);

  g_dbus_server_stop (fixture->server);
  g_clear_object (&fixture->server);
  if (fixture->connections->len > 0)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (fixture->manager));
  g_clear_object (&fixture->manager);
  g_ptr_array_unref (fixture->connections);
  g_clear_pointer (&fixture->settings, g_variant_unref);
  g_free (fixture->name);
  g_unlink (socket_path);
  g_rmdir (fixture->tmpdir);
  g_free (fixture->tmpdir);
  g_free (fixture->address);
}

typedef struct {
  GAsyncResult *result;
  gboolean timed_out;
} Wait;

static void
communicate_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  ((Wait *) data)->result = g_object_ref (result);
}

static gboolean
deadline_cb (gpointer data)
{
  ((Wait *) data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);

  return size > 0 ? g_strndup (data, size) : g_strdup ("");
}

/* Runs jobctl with the arguments (NULL-terminated), the main context
 * turning so the stand-in answers; fails the test past the deadline. */
static void
run_jobctl (Fixture *fixture, Run *run, ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  Wait wait = { NULL, FALSE };
  guint deadline;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer) g_getenv ("JOBCTL"));
  if (fixture != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--address");
      g_ptr_array_add (argv, fixture->address);
    }
  va_start (args, run);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "JOBD_ADDRESS");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  deadline = g_timeout_add_seconds (DEADLINE_SECONDS, deadline_cb, &wait);
  g_subprocess_communicate_async (process, NULL, NULL, communicate_cb, &wait);
  while (wait.result == NULL && !wait.timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (wait.timed_out)
    g_error ("jobctl did not finish within %d s", DEADLINE_SECONDS);
  g_source_remove (deadline);

  g_subprocess_communicate_finish (process, wait.result, &out, &err, &error);
  g_clear_object (&wait.result);
  g_assert_no_error (error);
  run->status = g_subprocess_get_exit_status (process);
  run->out = bytes_to_string (out);
  run->err = bytes_to_string (err);
  g_test_message ("exit %d, stdout “%s”, stderr “%s”", run->status, run->out, run->err);
}

static void
assert_setting (GVariant *settings, const char *key, const char *expected_text)
{
  g_autoptr(GVariant) expected = g_variant_parse (NULL, expected_text, NULL, NULL, NULL);
  g_autoptr(GVariant) value = g_variant_lookup_value (settings, key, NULL);

  g_assert_nonnull (expected);
  if (value == NULL)
    g_error ("setting %s missing", key);
  if (!g_variant_equal (value, expected))
    {
      g_autofree char *got = g_variant_print (value, TRUE);
      g_error ("setting %s: got %s, expected %s", key, got, expected_text);
    }
}

static void
test_add_settings (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) run = { 0 };

  run_jobctl (fixture, &run, "add", "web",
              "--workdir", "/srv", "--env", "A=1", "--env", "B=x=y",
              "--buffer-size", "50", "--write-log", "--autostart=no",
              "--restart", "on-failure", "--restart-delay", "2s",
              "--restart-delay-max", "1m", "--restart-reset", "1500",
              "--start-limit-burst", "3", "--start-limit-interval", "1m 30s",
              "--stop-signal", "int", "--stop-timeout", "500ms",
              "--reload-signal", "10", "--memory-max", "64M",
              "--cpu-quota", "50%", "--tasks-max", "100", "--set", "owner=me",
              "--params", "-v", "--interpreter", "/bin/sh",
              "--", "/usr/bin/python3", "-m", "http.server", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpstr (fixture->name, ==, "web");

  assert_setting (fixture->settings, "command", "'/usr/bin/python3'");
  assert_setting (fixture->settings, "args", "['-m', 'http.server']");
  assert_setting (fixture->settings, "working-directory", "'/srv'");
  assert_setting (fixture->settings, "buffer-size", "uint32 50");
  assert_setting (fixture->settings, "write-log", "true");
  assert_setting (fixture->settings, "autostart", "false");
  assert_setting (fixture->settings, "restart", "'on-failure'");
  assert_setting (fixture->settings, "restart-delay-ms", "uint32 2000");
  assert_setting (fixture->settings, "restart-delay-max-ms", "uint32 60000");
  assert_setting (fixture->settings, "restart-reset-ms", "uint32 1500");
  assert_setting (fixture->settings, "start-limit-burst", "uint32 3");
  assert_setting (fixture->settings, "start-limit-interval-ms", "uint32 90000");
  assert_setting (fixture->settings, "stop-signal", "'SIGINT'");
  assert_setting (fixture->settings, "stop-timeout-ms", "uint32 500");
  assert_setting (fixture->settings, "reload-signal", "'SIGUSR1'");
  assert_setting (fixture->settings, "memory-max", "uint64 67108864");
  assert_setting (fixture->settings, "cpu-quota", "uint32 50");
  assert_setting (fixture->settings, "tasks-max", "uint64 100");
  assert_setting (fixture->settings, "extra", "{'owner': <'me'>}");
  assert_setting (fixture->settings, "params", "'-v'");
  assert_setting (fixture->settings, "interpreter", "'/bin/sh'");
  {
    g_autoptr(GVariant) environment = g_variant_lookup_value (fixture->settings, "environment",
                                                              G_VARIANT_TYPE ("a{ss}"));
    const char *value = NULL;

    g_assert_nonnull (environment);
    g_assert_cmpuint (g_variant_n_children (environment), ==, 2);
    g_assert_true (g_variant_lookup (environment, "B", "&s", &value));
    g_assert_cmpstr (value, ==, "x=y");
  }
}

static void
test_add_json (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) run = { 0 };

  run_jobctl (fixture, &run, "add", "db", "--json", "/bin/sleep", "100", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "\"object\" : \"/org/jobd1/job/db\""));
  /* Without "--", what follows NAME is the command; only what was given is
   * sent, plus the caller's directory as the working directory. */
  g_assert_cmpuint (g_variant_n_children (fixture->settings), ==, 3);
  assert_setting (fixture->settings, "command", "'/bin/sleep'");
  assert_setting (fixture->settings, "args", "['100']");
  {
    g_autofree char *here = g_get_current_dir ();
    g_autofree char *quoted = g_strdup_printf ("'%s'", here);

    assert_setting (fixture->settings, "working-directory", quoted);
  }
}

static void
test_update_only_given (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) run = { 0 };

  run_jobctl (fixture, &run, "update", "web", "--memory-max", "none", "--", "a", "b", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpuint (g_variant_n_children (fixture->settings), ==, 2);
  assert_setting (fixture->settings, "memory-max", "uint64 0");
  assert_setting (fixture->settings, "args", "['a', 'b']");
}

static void
test_invalid_value (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) run = { 0 };

  run_jobctl (fixture, &run, "add", "web", "--memory-max", "12Q", "--", "/bin/true", NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_true (g_str_has_prefix (run.err, "jobctl: --memory-max: "));
  g_assert_nonnull (strstr (run.err, "12Q"));
  /* One line, and nothing reached jobd. */
  g_assert_cmpstr (strchr (run.err, '\n'), ==, run.err + strlen (run.err) - 1);
  g_assert_cmpuint (fixture->calls, ==, 0);
}

static void
test_status_exit_codes (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) up = { 0 };
  g_auto(Run) down = { 0 };
  g_auto(Run) missing = { 0 };

  run_jobctl (fixture, &up, "status", "web", NULL);
  g_assert_cmpint (up.status, ==, 0);
  g_assert_cmpstr (up.out, ==, "up\n");

  run_jobctl (fixture, &down, "status", "db", NULL);
  g_assert_cmpint (down.status, ==, 3);
  g_assert_cmpstr (down.out, ==, "down\n");

  /* The remote error arrives as JobdError and without its D-Bus prefix. */
  run_jobctl (fixture, &missing, "status", "nope", NULL);
  g_assert_cmpint (missing.status, ==, 4);
  g_assert_cmpstr (missing.err, ==, "jobctl: no such job 'nope'\n");
}

static void
test_kill_signal (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) named = { 0 };
  g_auto(Run) plain = { 0 };

  run_jobctl (fixture, &named, "kill", "-s", "KILL", "web", NULL);
  g_assert_cmpint (named.status, ==, 0);
  g_assert_cmpint (fixture->signo, ==, SIGKILL);

  run_jobctl (fixture, &plain, "kill", "web", NULL);
  g_assert_cmpint (plain.status, ==, 0);
  g_assert_cmpint (fixture->signo, ==, SIGTERM);
}

static void
test_list_table (Fixture *fixture, gconstpointer data)
{
  g_auto(Run) run = { 0 };
  g_auto(Run) bare = { 0 };
  g_auto(GStrv) lines = NULL;

  run_jobctl (fixture, &run, "list", NULL);
  g_assert_cmpint (run.status, ==, 0);
  lines = g_strsplit (run.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (lines[0], ==, "NAME  STATE   PID     CPU  MEMORY  UPTIME  RESTARTS");
  g_assert_cmpstr (lines[1], ==, "db    down      -       -       -  -              0");
  g_assert_cmpstr (lines[2], ==, "web   up     4242  1.234s    9.2M  5m 12s         2");

  run_jobctl (fixture, &bare, "list", "--no-legend", NULL);
  g_assert_true (g_str_has_prefix (bare.out, "db "));
}

static void
test_unreachable (void)
{
  g_auto(Run) run = { 0 };

  run_jobctl (NULL, &run, "--address", "unix:path=/nonexistent/jobd/bus", "list", NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, "jobctl: cannot reach jobd (tried unix:path=/nonexistent/jobd/bus"));
  g_assert_cmpstr (strchr (run.err, '\n'), ==, run.err + strlen (run.err) - 1);
}

static void
test_usage (void)
{
  g_auto(Run) unknown = { 0 };
  g_auto(Run) missing = { 0 };
  g_auto(Run) help = { 0 };

  run_jobctl (NULL, &unknown, "frobnicate", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_true (g_str_has_prefix (unknown.err, "jobctl: "));

  run_jobctl (NULL, &missing, "start", NULL);
  g_assert_cmpint (missing.status, ==, 2);

  run_jobctl (NULL, &help, "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  for (const char *const *verb = (const char *const[]) { "list", "status", "show", "add",
                                                          "update", "remove", "start", "stop",
                                                          "restart", "reload", "kill", "mem",
                                                          "read", "logs", "server", NULL };
       *verb != NULL; verb++)
    {
      g_autofree char *line = g_strdup_printf ("\n  %s ", *verb);

      g_assert_nonnull (strstr (help.out, line));
    }
  g_assert_nonnull (strstr (help.out, "Exit status:"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  jobd_error_quark ();
  g_assert_nonnull (g_getenv ("JOBCTL"));

#define ADD(path, func) \
  g_test_add ("/jobctl-cli/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("add/settings", test_add_settings);
  ADD ("add/json", test_add_json);
  ADD ("update/only-given", test_update_only_given);
  ADD ("add/invalid-value", test_invalid_value);
  ADD ("status/exit-codes", test_status_exit_codes);
  ADD ("kill/signal", test_kill_signal);
  ADD ("list/table", test_list_table);
#undef ADD
  g_test_add_func ("/jobctl-cli/unreachable", test_unreachable);
  g_test_add_func ("/jobctl-cli/usage", test_usage);

  return g_test_run ();
}
