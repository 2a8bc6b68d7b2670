/* SPDX-License-Identifier: MIT */
/* test-scope.c — the systemd scope spawner against a fake systemd.
 *
 * A private bus (GTestDBus) carries an in-process fake of the systemd1
 * Manager: it records what jobd asks for, answers like systemd (job path,
 * then JobRemoved — or JobRemoved before the reply, or an error) and checks
 * that the child is still held (has not exec'd) while the scope is being
 * made. The real systemd is exercised by tests/system.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "test-fs-util.h"
#include "jobd-error.h"
#include "jobd-launch.h"
#include "jobd-spawner-scope.h"

#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

static const char fake_xml[] =
  "<node>"
  " <interface name='org.freedesktop.systemd1.Manager'>"
  "  <property name='Version' type='s' access='read'/>"
  "  <method name='Subscribe'/>"
  "  <method name='StartTransientUnit'>"
  "   <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "   <arg type='a(sv)' direction='in'/><arg type='a(sa(sv))' direction='in'/>"
  "   <arg type='o' direction='out'/>"
  "  </method>"
  "  <method name='KillUnit'>"
  "   <arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='i' direction='in'/>"
  "  </method>"
  "  <method name='SetUnitProperties'>"
  "   <arg type='s' direction='in'/><arg type='b' direction='in'/>"
  "   <arg type='a(sv)' direction='in'/>"
  "  </method>"
  " </interface>"
  " <interface name='org.freedesktop.systemd1.Scope'>"
  "  <property name='ControlGroup' type='s' access='read'/>"
  " </interface>"
  "</node>";

typedef enum {
  FAKE_SIGNAL_AFTER_REPLY,
  FAKE_SIGNAL_BEFORE_REPLY,
  FAKE_JOB_FAILS,
  FAKE_UNIT_EXISTS,
} FakeMode;

typedef struct {
  GTestDBus *bus;
  GDBusConnection *client;     /* jobd's side */
  GDBusConnection *service;    /* the fake systemd's side */
  GDBusNodeInfo *info;
  guint name_id, manager_id, unit_id;
  gboolean name_owned;
  FakeMode mode;
  guint job_counter;
  /* recorded */
  char *unit, *job_mode, *slice, *unit_path;
  GPid pid;
  gboolean child_was_held;
  guint64 memory_max, tasks_max, cpu_quota, memory_high;
  gboolean memory_accounting;
  char *killed_unit, *kill_who;
  int kill_signal;
  GVariant *set_props;
  gboolean set_runtime;
  guint subscribes;
} Fake;

static gboolean
pid_has_execd (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/exe", (int) pid);
  g_autofree char *exe = g_file_read_link (path, NULL);

  return exe != NULL && g_str_has_suffix (exe, "/sleep");
}

static GVariant *
scope_get_property (GDBusConnection *c, const char *sender, const char *path,
                    const char *iface, const char *prop, GError **error, gpointer user_data)
{
  return g_variant_new_string ("/jobd.slice/fake.scope");
}

static const GDBusInterfaceVTable scope_vtable = { NULL, scope_get_property, NULL };

static void
record_start (Fake *f, GVariant *params)
{
  g_autoptr(GVariantIter) props = NULL;
  const char *key;
  GVariant *value;

  g_variant_get (params, "(ssa(sv)@a(sa(sv)))", &f->unit, &f->job_mode, &props, NULL);
  while (g_variant_iter_next (props, "(&sv)", &key, &value))
    {
      if (g_str_equal (key, "Slice"))
        f->slice = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "PIDs"))
        {
          gsize n = 0;
          const guint32 *pids = g_variant_get_fixed_array (value, &n, sizeof (guint32));
          g_assert_cmpuint (n, ==, 1);
          f->pid = (GPid) pids[0];
        }
      else if (g_str_equal (key, "MemoryMax"))
        f->memory_max = g_variant_get_uint64 (value);
      else if (g_str_equal (key, "TasksMax"))
        f->tasks_max = g_variant_get_uint64 (value);
      else if (g_str_equal (key, "MemoryHigh"))
        f->memory_high = g_variant_get_uint64 (value);
      else if (g_str_equal (key, "CPUQuotaPerSecUSec"))
        f->cpu_quota = g_variant_get_uint64 (value);
      else if (g_str_equal (key, "MemoryAccounting"))
        f->memory_accounting = g_variant_get_boolean (value);
      g_variant_unref (value);
    }
  /* The program must not run before its scope exists. */
  f->child_was_held = f->pid > 0 && !pid_has_execd (f->pid);
}

static void
emit_job_removed (Fake *f, const char *job_path, const char *result)
{
  g_dbus_connection_emit_signal (f->service, NULL, SD_PATH, SD_MANAGER, "JobRemoved",
                                 g_variant_new ("(uoss)", f->job_counter, job_path,
                                                f->unit, result), NULL);
}

static void
handle_start (Fake *f, GDBusMethodInvocation *invocation, GVariant *params)
{
  g_autofree char *job_path = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&f->unit, g_free);
  g_clear_pointer (&f->job_mode, g_free);
  g_clear_pointer (&f->slice, g_free);
  record_start (f, params);
  if (f->mode == FAKE_UNIT_EXISTS)
    {
      g_dbus_method_invocation_return_dbus_error (invocation,
                                                  "org.freedesktop.systemd1.UnitExists",
                                                  "Unit already exists.");
      return;
    }
  f->unit_path = g_strdup_printf (SD_PATH "/unit/u%u", ++f->job_counter);
  /* The spawner computes the unit's object path itself; serve the same. */
  {
    g_autofree char *escaped = NULL;
    GString *s = g_string_new (SD_PATH "/unit/");
    for (const char *p = f->unit; *p; p++)
      if (g_ascii_isalnum (*p))
        g_string_append_c (s, *p);
      else
        g_string_append_printf (s, "_%02x", (guint) (guchar) *p);
    escaped = g_string_free (s, FALSE);
    g_free (f->unit_path);
    f->unit_path = g_steal_pointer (&escaped);
  }
  if (f->unit_id != 0)
    g_dbus_connection_unregister_object (f->service, f->unit_id);
  f->unit_id = g_dbus_connection_register_object (f->service, f->unit_path,
                                                  f->info->interfaces[1],
                                                  &scope_vtable, f, NULL, &error);
  g_assert_no_error (error);
  job_path = g_strdup_printf (SD_PATH "/job/%u", f->job_counter);
  if (f->mode == FAKE_SIGNAL_BEFORE_REPLY)
    emit_job_removed (f, job_path, "done");
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", job_path));
  if (f->mode == FAKE_SIGNAL_AFTER_REPLY)
    emit_job_removed (f, job_path, "done");
  else if (f->mode == FAKE_JOB_FAILS)
    emit_job_removed (f, job_path, "failed");
}

static void
manager_method (GDBusConnection *c, const char *sender, const char *path,
                const char *iface, const char *method, GVariant *params,
                GDBusMethodInvocation *invocation, gpointer user_data)
{
  Fake *f = user_data;

  if (g_str_equal (method, "Subscribe"))
    {
      f->subscribes++;
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method, "StartTransientUnit"))
    handle_start (f, invocation, params);
  else if (g_str_equal (method, "KillUnit"))
    {
      g_clear_pointer (&f->killed_unit, g_free);
      g_clear_pointer (&f->kill_who, g_free);
      g_variant_get (params, "(ssi)", &f->killed_unit, &f->kill_who, &f->kill_signal);
      /* Do what systemd would: signal the scope's process. */
      if (f->pid > 0)
        kill (f->pid, f->kill_signal);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method, "SetUnitProperties"))
    {
      g_autofree char *unit = NULL;
      g_clear_pointer (&f->set_props, g_variant_unref);
      g_variant_get (params, "(sb@a(sv))", &unit, &f->set_runtime, &f->set_props);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
}

static GVariant *
manager_get_property (GDBusConnection *c, const char *sender, const char *path,
                      const char *iface, const char *prop, GError **error, gpointer user_data)
{
  return g_variant_new_string ("252");
}

static const GDBusInterfaceVTable manager_vtable = { manager_method, manager_get_property, NULL };

static void
on_name_acquired (GDBusConnection *c, const char *name, gpointer user_data)
{
  ((Fake *) user_data)->name_owned = TRUE;
}

static void
spin_until (gboolean *flag, const char *what)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!*flag)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
fake_setup (Fake *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *address;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  address = g_test_dbus_get_bus_address (f->bus);
  f->client = g_dbus_connection_new_for_address_sync (address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  f->service = g_dbus_connection_new_for_address_sync (address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  f->info = g_dbus_node_info_new_for_xml (fake_xml, &error);
  g_assert_no_error (error);
  f->mode = GPOINTER_TO_INT (data);
}

static void
fake_start_service (Fake *f)
{
  g_autoptr(GError) error = NULL;

  f->manager_id = g_dbus_connection_register_object (f->service, SD_PATH,
                                                     f->info->interfaces[0],
                                                     &manager_vtable, f, NULL, &error);
  g_assert_no_error (error);
  f->name_id = g_bus_own_name_on_connection (f->service, "org.freedesktop.systemd1",
                                             G_BUS_NAME_OWNER_FLAGS_NONE,
                                             on_name_acquired, NULL, f, NULL);
  spin_until (&f->name_owned, "the fake systemd's name");
}

static void
fake_teardown (Fake *f, gconstpointer data)
{
  if (f->pid > 0 && kill (f->pid, SIGKILL) == 0)
    waitpid (f->pid, NULL, WNOHANG);
  /* No call still queued for this fake may reach it once it is freed. */
  if (f->unit_id != 0)
    g_dbus_connection_unregister_object (f->service, f->unit_id);
  if (f->manager_id != 0)
    g_dbus_connection_unregister_object (f->service, f->manager_id);
  if (f->name_id != 0)
    g_bus_unown_name (f->name_id);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_dbus_connection_close_sync (f->service, NULL, NULL);
  g_clear_object (&f->client);
  g_clear_object (&f->service);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  g_dbus_node_info_unref (f->info);
  g_free (f->unit);
  g_free (f->job_mode);
  g_free (f->slice);
  g_free (f->unit_path);
  g_free (f->killed_unit);
  g_free (f->kill_who);
  g_clear_pointer (&f->set_props, g_variant_unref);
}

static JobdSettings *
sleep_settings (void)
{
  JobdSettings *settings = jobd_settings_new ();
  const char *args[] = { "30", NULL };

  settings->command = g_strdup ("/bin/sleep");
  settings->args = g_strdupv ((char **) args);
  settings->memory_max = 64 << 20;
  settings->tasks_max = 16;
  settings->cpu_quota = 50;
  settings->memory_restart = 48 << 20;
  return settings;
}

static void
on_spawned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

static JobdProcess *
spawn_instance (JobdSpawner *spawner, const char *name, guint instance, GError **error)
{
  g_autoptr(JobdSettings) settings = sleep_settings ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *runtime = g_dir_make_tmp ("jobd-scope-XXXXXX", NULL);
  g_auto(JobdChildSpec) child = { 0 };
  JobdSpawnRequest request = {
    .job_name = name,
    .instance = instance,
    .runtime_dir = runtime,
    .child = &child,
    .limits = jobd_launch_limits (settings),
  };
  guint wake = g_timeout_add (50, wake_up, NULL);
  /* Past the spawner's own timeouts (25 s call, 30 s job): a hang. */
  gint64 deadline = g_get_monotonic_time () + 45 * G_USEC_PER_SEC;

  g_assert_true (jobd_launch_child_spec_init (&child, name, settings, getuid (), NULL));
  jobd_spawner_spawn_async (spawner, &request, NULL, on_spawned, &result);
  while (result == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("spawning %s did not complete within 45 s", name);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
  test_remove_tree (runtime);
  return jobd_spawner_spawn_finish (spawner, result, error);
}

static JobdProcess *
spawn (JobdSpawner *spawner, const char *name, GError **error)
{
  return spawn_instance (spawner, name, 0, error);
}

static void
on_exited (JobdProcess *process, int code, int signo, gpointer user_data)
{
  *(int *) user_data = signo;
}

/* Instance 2 of job "web-1" (its spawn name "web-1#2"): jobd-web\x2d1-2.scope (systemd
 * refuses an instance name, @, for a transient scope). */
static void
test_spawn_instance (Fake *f, gconstpointer data)
{
  g_autoptr(JobdSpawner) spawner = NULL;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  int exit_signal = 0;

  fake_start_service (f);
  spawner = jobd_spawner_scope_new (f->client);
  process = spawn_instance (spawner, "web-1#2", 2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (process);
  g_assert_cmpstr (f->unit, ==, "jobd-web\\x2d1-2.scope");
  g_assert_cmpstr (jobd_process_get_unit (process), ==, f->unit);
  g_signal_connect (process, "exited", G_CALLBACK (on_exited), &exit_signal);
  g_assert_true (jobd_process_kill_all (process, SIGTERM, &error));
  while (exit_signal == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->killed_unit, ==, f->unit);
  /* As in test_spawn_ok: the rest of the scope gets SIGKILL, then done. */
  f->pid = 0;
  while (f->kill_signal != SIGKILL)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_spawn_ok (Fake *f, gconstpointer data)
{
  g_autoptr(JobdSpawner) spawner = NULL;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  int exit_signal = 0;

  fake_start_service (f);
  spawner = jobd_spawner_scope_new (f->client);
  g_assert_cmpstr (jobd_spawner_get_name (spawner), ==, "systemd");
  process = spawn (spawner, "web-1@x", &error);
  g_assert_no_error (error);
  g_assert_nonnull (process);

  g_assert_cmpuint (f->subscribes, ==, 1);
  g_assert_cmpstr (f->unit, ==, "jobd-web\\x2d1\\x40x.scope");
  g_assert_cmpstr (f->job_mode, ==, "fail");
  g_assert_cmpstr (f->slice, ==, "jobd.slice");
  g_assert_cmpint (f->pid, ==, jobd_process_get_pid (process));
  g_assert_true (f->child_was_held);
  g_assert_true (f->memory_accounting);
  g_assert_cmpuint (f->memory_max, ==, 64 << 20);
  g_assert_cmpuint (f->tasks_max, ==, 16);
  g_assert_cmpuint (f->cpu_quota, ==, 500000);
  /* memory-restart: the kernel tells jobd through memory.events. */
  g_assert_cmpuint (f->memory_high, ==, 48 << 20);
  /* Released: the program runs now. */
  g_assert_true (pid_has_execd (f->pid));
  g_assert_cmpstr (jobd_process_get_unit (process), ==, f->unit);
  g_assert_cmpstr (jobd_scope_process_get_cgroup (JOBD_SCOPE_PROCESS (process)), ==,
                   "/jobd.slice/fake.scope");

  /* Kill goes to the whole unit through systemd. */
  g_signal_connect (process, "exited", G_CALLBACK (on_exited), &exit_signal);
  g_assert_true (jobd_process_kill_all (process, SIGTERM, &error));
  g_assert_no_error (error);
  while (exit_signal == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (exit_signal, ==, SIGTERM);
  g_assert_cmpstr (f->killed_unit, ==, f->unit);
  g_assert_cmpstr (f->kill_who, ==, "all");
  /* The main process is gone: what is left of the scope gets SIGKILL. */
  f->pid = 0;
  while (f->kill_signal != SIGKILL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->killed_unit, ==, f->unit);
}

static void
test_spawn_fails (Fake *f, gconstpointer data)
{
  g_autoptr(JobdSpawner) spawner = NULL;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  fake_start_service (f);
  spawner = jobd_spawner_scope_new (f->client);
  process = spawn (spawner, "w", &error);
  g_assert_null (process);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "jobd-w.scope"));
  if (f->mode == FAKE_UNIT_EXISTS)
    {
      g_assert_nonnull (strstr (error->message, "already exists"));
      /* It retried for a while (a previous scope may be on its way out). */
      g_assert_cmpint (g_get_monotonic_time () - start, >=, 2 * G_USEC_PER_SEC);
    }
  else
    g_assert_nonnull (strstr (error->message, "failed"));
  /* The held child never ran and was reaped. */
  g_assert_true (f->child_was_held);
  g_assert_cmpint (kill (f->pid, 0), <, 0);
  f->pid = 0;
}

static void
on_limits_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

static void
test_set_limits (Fake *f, gconstpointer data)
{
  g_autoptr(JobdSpawner) spawner = NULL;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdSettings) settings = sleep_settings ();
  g_autoptr(GAsyncResult) result = NULL;
  JobdLimits limits;
  guint64 memory_max = 0, tasks_max = 0;
  GVariantIter iter;
  const char *key;
  GVariant *v;

  fake_start_service (f);
  spawner = jobd_spawner_scope_new (f->client);
  process = spawn (spawner, "w", &error);
  g_assert_no_error (error);

  settings->memory_max = 128 << 20;
  settings->tasks_max = 0;   /* lifted: sent as infinity */
  limits = jobd_launch_limits (settings);
  g_assert_true (jobd_process_can_set_limits (process));
  jobd_process_set_limits_async (process, &limits, NULL, on_limits_set, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (jobd_process_set_limits_finish (process, result, &error));
  g_assert_no_error (error);
  g_assert_true (f->set_runtime);
  g_variant_iter_init (&iter, f->set_props);
  while (g_variant_iter_next (&iter, "(&sv)", &key, &v))
    {
      if (g_str_equal (key, "MemoryMax"))
        memory_max = g_variant_get_uint64 (v);
      else if (g_str_equal (key, "TasksMax"))
        tasks_max = g_variant_get_uint64 (v);
      g_variant_unref (v);
    }
  g_assert_cmpuint (memory_max, ==, 128 << 20);
  g_assert_cmpuint (tasks_max, ==, G_MAXUINT64);
}

static void
on_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

static gboolean
probe (Fake *f)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  jobd_spawner_scope_probe_async (f->client, NULL, on_probed, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ok = jobd_spawner_scope_probe_finish (result, &error);
  g_assert_true (ok == (error == NULL));
  return ok;
}

static void
test_probe (Fake *f, gconstpointer data)
{
  /* The synchronous probe blocks this thread, so only its negative answer
   * can be checked against an in-process fake. */
  g_assert_false (jobd_spawner_scope_available (f->client, 2000));
  g_assert_false (probe (f));
  fake_start_service (f);
  g_assert_true (probe (f));
}

static void
test_unit_name (void)
{
  static const struct { const char *job, *unit; } cases[] = {
    { "w", "jobd-w.scope" },
    { "a-b", "jobd-a\\x2db.scope" },
    { ".hidden", "jobd-\\x2ehidden.scope" },
    { "x.y:z_1", "jobd-x.y:z_1.scope" },
    { "me@host", "jobd-me\\x40host.scope" },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *long_name = g_strnfill (128, '-');
  g_autofree char *too_long = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *unit = jobd_scope_unit_name (cases[i].job, &error);
      g_autofree char *argv = g_strdup_printf ("systemd-escape '%s'", cases[i].job);
      g_autofree char *oracle = NULL;
      g_autofree char *tool = g_find_program_in_path ("systemd-escape");

      g_assert_no_error (error);
      g_assert_cmpstr (unit, ==, cases[i].unit);
      /* systemd's own escaping agrees, where the tool is installed. */
      if (tool != NULL &&
          g_spawn_command_line_sync (argv, &oracle, NULL, NULL, NULL))
        {
          g_autofree char *expected = g_strdup_printf ("jobd-%s.scope", g_strchomp (oracle));
          g_assert_cmpstr (unit, ==, expected);
        }
    }
  too_long = jobd_scope_unit_name (long_name, &error);
  g_assert_null (too_long);
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scope/unit-name", test_unit_name);
  g_test_add ("/scope/probe", Fake, NULL, fake_setup, test_probe, fake_teardown);
  g_test_add ("/scope/spawn/signal-after-reply", Fake, GINT_TO_POINTER (FAKE_SIGNAL_AFTER_REPLY),
              fake_setup, test_spawn_ok, fake_teardown);
  g_test_add ("/scope/spawn/signal-before-reply", Fake, GINT_TO_POINTER (FAKE_SIGNAL_BEFORE_REPLY),
              fake_setup, test_spawn_ok, fake_teardown);
  g_test_add ("/scope/spawn/instance", Fake, GINT_TO_POINTER (FAKE_SIGNAL_AFTER_REPLY),
              fake_setup, test_spawn_instance, fake_teardown);
  g_test_add ("/scope/spawn/job-fails", Fake, GINT_TO_POINTER (FAKE_JOB_FAILS),
              fake_setup, test_spawn_fails, fake_teardown);
  g_test_add ("/scope/spawn/unit-exists", Fake, GINT_TO_POINTER (FAKE_UNIT_EXISTS),
              fake_setup, test_spawn_fails, fake_teardown);
  g_test_add ("/scope/set-limits", Fake, GINT_TO_POINTER (FAKE_SIGNAL_AFTER_REPLY),
              fake_setup, test_set_limits, fake_teardown);
  return g_test_run ();
}
