/* SPDX-License-Identifier: MIT */
/* jobd-spawner-scope.c — jobs in transient systemd scopes (see the header).
 *
 * One spawn: fork held → StartTransientUnit (async) → the unit's start job
 * ends (JobRemoved, subscribed before the call) → read the cgroup → release
 * the child to exec. JobRemoved may be dispatched before the reply to
 * StartTransientUnit, so results of jobs nobody waits for yet are kept while
 * spawns are in flight.
 */
#include "config.h"

#include "jobd-spawner-scope.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "jobd-cgroup.h"
#include "jobd-child.h"
#include "jobd-cpu.h"
#include "jobd-error.h"
#include "jobd-fifo.h"
#include "jobd-log.h"

#define SD_NAME "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

#define CALL_TIMEOUT_MSEC 25000
#define JOB_TIMEOUT_SEC 30
/* A previous instance's scope can outlive its main process by a moment
 * while its last processes die and systemd collects it. */
/* The fallback when no UnitRemoved comes (see wait_for_unit_removal()). */
#define UNIT_EXISTS_RETRY_MSEC 100
#define UNIT_EXISTS_DEADLINE_USEC (3 * G_USEC_PER_SEC)
#define UNIT_NAME_MAX 255

/* ---- names and properties ---- */

char *
jobd_scope_unit_name (const char *job_name, GError **error)
{
  GString *unit = g_string_new ("jobd-");

  /* systemd-escape: keep [A-Za-z0-9:_.] (but not a leading '.'), '/' → '-',
   * everything else as \xNN. Job names never hold '/'. */
  for (const char *p = job_name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p) || *p == ':' || *p == '_' || (*p == '.' && p != job_name))
        g_string_append_c (unit, *p);
      else
        g_string_append_printf (unit, "\\x%02x", (guint) (guchar) *p);
    }
  g_string_append (unit, ".scope");
  if (unit->len > UNIT_NAME_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "job name \"%s\" is too long for a systemd unit name once escaped",
                   job_name);
      g_string_free (unit, TRUE);
      return NULL;
    }
  return g_string_free (unit, FALSE);
}

/* jobd-NAME-I.scope for instance I of job NAME (the request's job_name is
 * "NAME#I"); jobd-NAME.scope for a job of one. Not NAME@I: systemd refuses
 * instance names for transient scopes (EINVAL). The '-' cannot come from a
 * job's name, which is escaped (web-1 is jobd-web\x2d1.scope), so instance
 * 2 of "web" never takes the scope of a job "web-2". */
static char *
request_unit_name (const JobdSpawnRequest *request, GError **error)
{
  g_autofree char *base = NULL;
  g_autofree char *unit = NULL;
  const char *hash = strrchr (request->job_name, '#');

  if (request->instance == 0 || hash == NULL)
    return jobd_scope_unit_name (request->job_name, error);
  base = g_strndup (request->job_name, (gsize) (hash - request->job_name));
  unit = jobd_scope_unit_name (base, error);
  if (unit == NULL)
    return NULL;
  unit[strlen (unit) - strlen (".scope")] = '\0';
  return g_strdup_printf ("%s-%u.scope", unit, request->instance);
}

static void
add_limit (GVariantBuilder *props, const char *key, guint64 value, gboolean for_update)
{
  if (value != 0)
    g_variant_builder_add (props, "(sv)", key, g_variant_new_uint64 (value));
  else if (for_update)
    g_variant_builder_add (props, "(sv)", key, g_variant_new_uint64 (G_MAXUINT64));
}

GVariant *
jobd_scope_limit_properties (const JobdLimits *limits, gboolean for_update)
{
  GVariantBuilder props;

  g_variant_builder_init (&props, G_VARIANT_TYPE ("a(sv)"));
  add_limit (&props, "MemoryMax", limits->memory_max, for_update);
  /* cpu-quota is percent of one CPU; systemd wants µs of CPU per second. */
  add_limit (&props, "CPUQuotaPerSecUSec", (guint64) limits->cpu_quota * 10000, for_update);
  add_limit (&props, "TasksMax", limits->tasks_max, for_update);
  /* memory-restart: the kernel tells jobd through memory.events. */
  add_limit (&props, "MemoryHigh", limits->memory_high, for_update);
  return g_variant_builder_end (&props);
}

static GVariant *
start_parameters (const char *unit, const char *job_name, GPid pid,
                  const JobdLimits *job_limits)
{
  g_autofree char *description = g_strdup_printf ("jobd job %s", job_name);
  GVariantBuilder props;
  GVariant *limits = jobd_scope_limit_properties (job_limits, FALSE);
  GVariantIter iter;
  GVariant *child;
  guint32 pid32 = (guint32) pid;

  g_variant_builder_init (&props, G_VARIANT_TYPE ("a(sv)"));
  g_variant_builder_add (&props, "(sv)", "Description", g_variant_new_string (description));
  g_variant_builder_add (&props, "(sv)", "Slice", g_variant_new_string (JOBD_SCOPE_SLICE));
  g_variant_builder_add (&props, "(sv)", "PIDs",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, &pid32, 1,
                                                    sizeof (guint32)));
  g_variant_builder_add (&props, "(sv)", "MemoryAccounting", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&props, "(sv)", "TasksAccounting", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&props, "(sv)", "CollectMode",
                         g_variant_new_string ("inactive-or-failed"));
  g_variant_ref_sink (limits);
  g_variant_iter_init (&iter, limits);
  while ((child = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_variant_builder_add_value (&props, child);
      g_variant_unref (child);
    }
  g_variant_unref (limits);
  return g_variant_new ("(ssa(sv)@a(sa(sv)))", unit, "fail", &props,
                        g_variant_new_array (G_VARIANT_TYPE ("(sa(sv))"), NULL, 0));
}

/* ---- the scope process ---- */

struct _JobdScopeProcess {
  JobdProcess parent_instance;
  GDBusConnection *bus;
  char *cgroup;
};

G_DEFINE_FINAL_TYPE (JobdScopeProcess, jobd_scope_process, JOBD_TYPE_PROCESS)

typedef struct {
  char *job_name;   /* for JOBD_JOB= in the warnings; may be NULL */
  char *unit;
  char *cgroup;
  int signo;
} KillData;

static void
kill_data_free (KillData *data)
{
  g_free (data->job_name);
  g_free (data->unit);
  g_free (data->cgroup);
  g_free (data);
}

/* Without systemd's help (bus gone, call refused), signal what the cgroup
 * lists ourselves. */
static void
kill_cgroup_pids (const KillData *data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) pids = jobd_cgroup_get_pids (JOBD_CGROUP_ROOT, data->cgroup, &error);

  if (pids == NULL)
    {
      jobd_job_warning (data->job_name, "cannot list the processes of %s: %s",
                        data->unit, error->message);
      return;
    }
  for (guint i = 0; i < pids->len; i++)
    if (kill (g_array_index (pids, GPid, i), data->signo) < 0 && errno != ESRCH)
      jobd_job_warning (data->job_name, "cannot signal PID %d of %s: %s",
                        (int) g_array_index (pids, GPid, i), data->unit, g_strerror (errno));
}

static void
on_kill_unit_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KillData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);

      g_dbus_error_strip_remote_error (error);
      /* A scope that is already gone has nothing left to signal. */
      if (g_strcmp0 (remote, "org.freedesktop.systemd1.NoSuchUnit") != 0)
        {
          jobd_job_warning (data->job_name,
                            "systemd could not signal %s (%s); signalling its processes directly",
                            data->unit, error->message);
          kill_cgroup_pids (data);
        }
    }
  kill_data_free (data);
}

static void
scope_kill_unit (JobdScopeProcess *self, int signo)
{
  KillData *data = g_new0 (KillData, 1);

  data->job_name = g_strdup (jobd_process_get_job_name (JOBD_PROCESS (self)));
  data->unit = g_strdup (jobd_process_get_unit (JOBD_PROCESS (self)));
  data->cgroup = g_strdup (self->cgroup);
  data->signo = signo;
  g_dbus_connection_call (self->bus, SD_NAME, SD_PATH, SD_MANAGER, "KillUnit",
                          g_variant_new ("(ssi)", data->unit, "all", signo),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MSEC,
                          NULL, on_kill_unit_reply, data);
}

static gboolean
scope_process_kill_all (JobdProcess *process, int signo, GError **error)
{
  /* The scope, not the main PID: children that left the process group or
   * the session are still in the cgroup. */
  scope_kill_unit (JOBD_SCOPE_PROCESS (process), signo);
  return TRUE;
}

static gboolean
scope_process_get_memory (JobdProcess *process,
                          JobdMemorySnapshot *snapshot,
                          guint64 *bytes,
                          const char **source,
                          GError **error)
{
  JobdScopeProcess *self = JOBD_SCOPE_PROCESS (process);

  return jobd_cgroup_get_memory (JOBD_CGROUP_ROOT, self->cgroup, bytes, source, error);
}

static gboolean
scope_process_get_cpu_usage (JobdProcess *process,
                             JobdMemorySnapshot *snapshot,
                             guint64 *usec,
                             const char **source,
                             GError **error)
{
  JobdScopeProcess *self = JOBD_SCOPE_PROCESS (process);

  if (self->cgroup == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "the scope's cgroup is not known yet");
      return FALSE;
    }
  return jobd_cpu_cgroup_usage (JOBD_CGROUP_ROOT, self->cgroup, usec, source, error);
}

static gboolean
scope_process_get_peak_memory (JobdProcess *process, guint64 *bytes, const char **source)
{
  JobdScopeProcess *self = JOBD_SCOPE_PROCESS (process);

  return self->cgroup != NULL &&
         jobd_cgroup_get_peak_memory (JOBD_CGROUP_ROOT, self->cgroup, bytes, source);
}

static char *
scope_process_memory_events_path (JobdProcess *process)
{
  JobdScopeProcess *self = JOBD_SCOPE_PROCESS (process);

  return jobd_cgroup_memory_events_path (JOBD_CGROUP_ROOT, self->cgroup);
}

static void
scope_process_cleanup (JobdProcess *process)
{
  /* The documented rule: the job ends with its main process. */
  scope_kill_unit (JOBD_SCOPE_PROCESS (process), SIGKILL);
}

static void
jobd_scope_process_finalize (GObject *object)
{
  JobdScopeProcess *self = JOBD_SCOPE_PROCESS (object);

  g_clear_object (&self->bus);
  g_free (self->cgroup);
  G_OBJECT_CLASS (jobd_scope_process_parent_class)->finalize (object);
}

static void
jobd_scope_process_class_init (JobdScopeProcessClass *klass)
{
  JobdProcessClass *process_class = JOBD_PROCESS_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = jobd_scope_process_finalize;
  process_class->kill_all = scope_process_kill_all;
  process_class->get_memory = scope_process_get_memory;
  process_class->get_cpu_usage = scope_process_get_cpu_usage;
  process_class->get_peak_memory = scope_process_get_peak_memory;
  process_class->cleanup = scope_process_cleanup;
  process_class->set_limits_async = jobd_scope_process_set_limits_async;
  process_class->set_limits_finish = jobd_scope_process_set_limits_finish;
  process_class->memory_events_path = scope_process_memory_events_path;
}

static void
jobd_scope_process_init (JobdScopeProcess *self)
{
}

const char *
jobd_scope_process_get_cgroup (JobdScopeProcess *process)
{
  return process->cgroup;
}

static void
on_set_properties_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_FAILED,
                               "systemd refused the new limits for %s: %s",
                               (const char *) g_task_get_task_data (task), error->message);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
jobd_scope_process_set_limits_async (JobdProcess *process,
                                     const JobdLimits *limits,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (process, cancellable, callback, user_data);
  const char *unit = jobd_process_get_unit (process);

  g_task_set_source_tag (task, jobd_scope_process_set_limits_async);
  if (!JOBD_IS_SCOPE_PROCESS (process) || unit == NULL)
    {
      g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                               "limits can change at run time only for jobs in a systemd scope");
      return;
    }
  g_task_set_task_data (task, g_strdup (unit), g_free);
  g_dbus_connection_call (JOBD_SCOPE_PROCESS (process)->bus, SD_NAME, SD_PATH, SD_MANAGER,
                          "SetUnitProperties",
                          g_variant_new ("(sb@a(sv))", unit, TRUE,
                                         jobd_scope_limit_properties (limits, TRUE)),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MSEC,
                          cancellable, on_set_properties_reply, g_steal_pointer (&task));
}

gboolean
jobd_scope_process_set_limits_finish (JobdProcess *process, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the spawner ---- */

struct _JobdSpawnerScope {
  GObject parent_instance;
  GDBusConnection *bus;
  guint job_removed_id;
  guint unit_removed_id;
  GHashTable *waiting;      /* systemd job path → GTask (ref) */
  GHashTable *lingering;    /* unit name → GTask (ref): its last run's scope is still there */
  GHashTable *early;        /* systemd job path → result, while spawns are in flight */
  guint in_flight;
};

static void jobd_spawner_scope_iface_init (JobdSpawnerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobdSpawnerScope, jobd_spawner_scope, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOBD_TYPE_SPAWNER,
                                                      jobd_spawner_scope_iface_init))

typedef struct {
  char *job_name;
  char *unit;
  GVariant *parameters;     /* of StartTransientUnit, kept for a retry */
  char *job_path;           /* systemd's start job, once known */
  gint64 first_try;
  GPid pid;                 /* the held child; 0 once handed over */
  int pidfd, go_fd, err_fd, out_read, err_read;
  guint timeout_id;
  char *cgroup;             /* the scope's, once it exists */
  guint exec_watch;         /* released: waiting for the exec's outcome */
} SpawnData;

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
spawn_data_free (SpawnData *data)
{
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  g_clear_handle_id (&data->exec_watch, g_source_remove);
  /* A spawn that failed: the held child must not run outside a scope. */
  if (data->pid > 0)
    {
      kill (data->pid, SIGKILL);
      while (waitpid (data->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  close_fd (&data->pidfd);
  close_fd (&data->go_fd);
  close_fd (&data->err_fd);
  close_fd (&data->out_read);
  close_fd (&data->err_read);
  g_free (data->job_name);
  g_free (data->unit);
  g_clear_pointer (&data->parameters, g_variant_unref);
  g_free (data->job_path);
  g_free (data->cgroup);
  g_free (data);
}

/* Every end of a spawn goes through here, success or not. */
static void
spawn_return (GTask *task, JobdProcess *process, GError *error)
{
  JobdSpawnerScope *self = g_task_get_source_object (task);

  g_assert (self->in_flight > 0);
  if (--self->in_flight == 0)
    g_hash_table_remove_all (self->early);
  if (process != NULL)
    g_task_return_pointer (task, process, g_object_unref);
  else
    g_task_return_error (task, error);
}

static void
spawn_fail (GTask *task, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
spawn_fail (GTask *task, const char *format, ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED, format, args);
  va_end (args);
  spawn_return (task, NULL, error);
}

/* The held child has exec'd, or failed to. */
static gboolean
on_exec_outcome (int fd, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdScopeProcess) process = NULL;

  data->exec_watch = 0;
  data->err_fd = -1;    /* closed by reading the outcome */
  if (!jobd_child_exec_outcome (fd, &error))
    {
      spawn_return (task, NULL, g_steal_pointer (&error));
      return G_SOURCE_REMOVE;
    }

  process = g_object_new (JOBD_TYPE_SCOPE_PROCESS, NULL);
  process->bus = g_object_ref (self->bus);
  process->cgroup = g_steal_pointer (&data->cgroup);
  jobd_process_setup (JOBD_PROCESS (process), data->pid, data->pidfd, TRUE);
  jobd_process_set_unit (JOBD_PROCESS (process), data->unit);
  jobd_process_set_output_fds (JOBD_PROCESS (process), data->job_name, data->out_read, data->err_read);
  data->pid = 0;
  data->pidfd = data->out_read = data->err_read = -1;
  jobd_job_info (data->job_name, "job %s runs as PID %d in %s", data->job_name,
                 (int) jobd_process_get_pid (JOBD_PROCESS (process)), data->unit);
  spawn_return (task, JOBD_PROCESS (g_steal_pointer (&process)), NULL);
  return G_SOURCE_REMOVE;
}

/* The scope exists with the child in it: let the job's program run, and
 * learn the outcome of its exec from the main loop (the child's exec takes
 * time in proportion to what it inherited; jobd does not wait for it). */
static void
spawn_complete (GTask *task, char *cgroup)
{
  SpawnData *data = g_task_get_task_data (task);

  data->cgroup = cgroup;
  jobd_child_release (data->go_fd);
  data->go_fd = -1;
  data->exec_watch = g_unix_fd_add_full (G_PRIORITY_DEFAULT, data->err_fd,
                                         G_IO_IN | G_IO_HUP | G_IO_ERR, on_exec_outcome,
                                         g_object_ref (task), g_object_unref);
}

static void
on_control_group_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SpawnData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      spawn_fail (task, "cannot read the cgroup of %s: %s", data->unit, error->message);
      return;
    }
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_get_string (value, NULL)[0] != '/')
    {
      spawn_fail (task, "systemd gave %s no cgroup", data->unit);
      return;
    }
  spawn_complete (task, g_variant_dup_string (value, NULL));
}

/* The scope's cgroup, as systemd has it (the memory accounting reads it). */
static void
get_control_group (GTask *task)
{
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);
  g_autofree char *path = NULL;
  int r;

  r = sd_bus_path_encode ("/org/freedesktop/systemd1/unit", data->unit, &path);
  if (r < 0)
    {
      spawn_fail (task, "cannot make the object path of %s: %s", data->unit, g_strerror (-r));
      return;
    }
  g_dbus_connection_call (self->bus, SD_NAME, path, "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", "org.freedesktop.systemd1.Scope",
                                         "ControlGroup"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          CALL_TIMEOUT_MSEC, NULL, on_control_group_reply, g_object_ref (task));
}

/* The held child's cgroup, read from the kernel: once the start job is
 * done systemd has moved it into the scope, whose cgroup ends in the unit's
 * name. Saves a round trip to PID 1 on every start; NULL when the path is
 * not what it should be (a cgroup namespace of jobd's own), and systemd is
 * asked instead. */
static char *
held_child_cgroup (SpawnData *data)
{
  g_autofree char *cgroup = jobd_cgroup_path_of_pid (data->pid, NULL);
  gsize len = cgroup != NULL ? strlen (cgroup) : 0;
  gsize unit_len = strlen (data->unit);

  if (len <= unit_len || cgroup[len - unit_len - 1] != '/' ||
      !g_str_equal (cgroup + len - unit_len, data->unit))
    return NULL;
  return g_steal_pointer (&cgroup);
}

static void
spawn_job_finished (GTask *task, const char *result)
{
  SpawnData *data = g_task_get_task_data (task);
  char *cgroup;

  g_clear_handle_id (&data->timeout_id, g_source_remove);
  if (!g_str_equal (result, "done"))
    {
      spawn_fail (task, "systemd could not start %s (job result \"%s\")", data->unit, result);
      return;
    }
  cgroup = held_child_cgroup (data);
  if (cgroup != NULL)
    spawn_complete (task, cgroup);
  else
    get_control_group (task);
}

static void
on_job_removed (GDBusConnection *bus,
                const char *sender,
                const char *path,
                const char *interface,
                const char *signal,
                GVariant *parameters,
                gpointer user_data)
{
  JobdSpawnerScope *self = user_data;
  const char *job_path, *unit, *result;
  guint32 id;
  GTask *task;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (parameters, "(u&o&s&s)", &id, &job_path, &unit, &result);
  task = g_hash_table_lookup (self->waiting, job_path);
  if (task != NULL)
    {
      g_object_ref (task);
      g_hash_table_remove (self->waiting, job_path);
      spawn_job_finished (task, result);
      g_object_unref (task);
    }
  else if (self->in_flight > 0)
    g_hash_table_insert (self->early, g_strdup (job_path), g_strdup (result));
}

static gboolean
on_job_timeout (gpointer user_data)
{
  GTask *task = user_data;
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);

  data->timeout_id = 0;
  g_object_ref (task);
  g_hash_table_remove (self->waiting, data->job_path);
  spawn_fail (task, "systemd did not start %s within %d s", data->unit, JOB_TIMEOUT_SEC);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void call_start_transient_unit (GTask *task);

static gboolean
retry_start (gpointer user_data)
{
  GTask *task = user_data;
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);

  data->timeout_id = 0;
  if (g_hash_table_lookup (self->lingering, data->unit) == task)
    g_hash_table_remove (self->lingering, data->unit);
  call_start_transient_unit (task);
  return G_SOURCE_REMOVE;
}

/* The job's previous scope is still loaded: its last process has just
 * exited and systemd has not collected the unit yet (a restart, a short
 * scheduled job started again). Start again the moment systemd says the
 * unit is gone (UnitRemoved), with a timer as the fallback. */
static void
wait_for_unit_removal (JobdSpawnerScope *self, GTask *task)
{
  SpawnData *data = g_task_get_task_data (task);

  g_hash_table_replace (self->lingering, g_strdup (data->unit), g_object_ref (task));
  data->timeout_id = g_timeout_add_full (G_PRIORITY_DEFAULT, UNIT_EXISTS_RETRY_MSEC,
                                         retry_start, g_object_ref (task), g_object_unref);
}

static void
on_unit_removed (GDBusConnection *bus,
                 const char *sender,
                 const char *path,
                 const char *interface,
                 const char *signal,
                 GVariant *parameters,
                 gpointer user_data)
{
  JobdSpawnerScope *self = user_data;
  g_autoptr(GTask) task = NULL;
  g_autofree char *key = NULL;
  const char *unit;
  SpawnData *data;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
    return;
  g_variant_get (parameters, "(&s&o)", &unit, NULL);
  if (!g_hash_table_steal_extended (self->lingering, unit, (gpointer *) &key, (gpointer *) &task))
    return;
  data = g_task_get_task_data (task);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  call_start_transient_unit (task);
}

static void
on_start_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *early;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);

      if (g_strcmp0 (remote, "org.freedesktop.systemd1.UnitExists") == 0 &&
          g_get_monotonic_time () - data->first_try < UNIT_EXISTS_DEADLINE_USEC)
        {
          wait_for_unit_removal (self, task);
          return;
        }
      g_dbus_error_strip_remote_error (error);
      if (g_strcmp0 (remote, "org.freedesktop.systemd1.UnitExists") == 0)
        spawn_fail (task, "%s already exists: an earlier run of the job still has "
                    "processes in it (%s)", data->unit, error->message);
      else
        spawn_fail (task, "systemd could not create %s: %s", data->unit, error->message);
      return;
    }

  g_variant_get (reply, "(o)", &data->job_path);
  early = g_hash_table_lookup (self->early, data->job_path);
  if (early != NULL)
    {
      g_autofree char *res = g_strdup (early);
      g_hash_table_remove (self->early, data->job_path);
      spawn_job_finished (task, res);
      return;
    }
  g_hash_table_insert (self->waiting, g_strdup (data->job_path), g_object_ref (task));
  data->timeout_id = g_timeout_add_seconds (JOB_TIMEOUT_SEC, on_job_timeout, task);
}

static void
call_start_transient_unit (GTask *task)
{
  JobdSpawnerScope *self = g_task_get_source_object (task);
  SpawnData *data = g_task_get_task_data (task);

  g_dbus_connection_call (self->bus, SD_NAME, SD_PATH, SD_MANAGER, "StartTransientUnit",
                          data->parameters, G_VARIANT_TYPE ("(o)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MSEC,
                          g_task_get_cancellable (task), on_start_reply, g_object_ref (task));
}

/* Start the held child and its output FIFOs into data. */
static gboolean
start_held_child (SpawnData *data, const JobdSpawnRequest *request, GError **error)
{
  g_auto(JobdChildSpec) spec = { 0 };
  int out_write = -1, err_write = -1;
  gboolean started;

  jobd_child_spec_copy (&spec, request->child);
  /* FIFOs, as the direct backend: output survives a jobd restart. */
  data->out_read = jobd_fifo_channel_new (request->runtime_dir, request->job_name, "stdout",
                                          &out_write, error);
  if (data->out_read < 0)
    return FALSE;
  data->err_read = jobd_fifo_channel_new (request->runtime_dir, request->job_name, "stderr",
                                          &err_write, error);
  if (data->err_read < 0)
    {
      close (out_write);
      return FALSE;
    }
  spec.stdout_fd = out_write;
  spec.stderr_fd = err_write;
  started = jobd_child_start_held (&spec, &data->pid, &data->go_fd, &data->err_fd, error);
  close (out_write);
  close (err_write);
  if (!started)
    {
      data->pid = 0;
      return FALSE;
    }
  /* Before anything can reap it, so the pidfd is surely this child's. */
  data->pidfd = jobd_pidfd_open (data->pid, error);
  return data->pidfd >= 0;
}

static void
spawner_scope_spawn_async (JobdSpawner *spawner,
                           const JobdSpawnRequest *request,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  JobdSpawnerScope *self = JOBD_SPAWNER_SCOPE (spawner);
  g_autoptr(GTask) task = g_task_new (spawner, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  SpawnData *data = g_new0 (SpawnData, 1);

  g_task_set_source_tag (task, spawner_scope_spawn_async);
  /* Once the child runs, a cancellation must not drop it: the result is
   * returned whatever happened to the cancellable. */
  g_task_set_check_cancellable (task, FALSE);
  data->pidfd = data->go_fd = data->err_fd = data->out_read = data->err_read = -1;
  data->job_name = g_strdup (request->job_name);
  data->first_try = g_get_monotonic_time ();
  g_task_set_task_data (task, data, (GDestroyNotify) spawn_data_free);
  self->in_flight++;

  data->unit = request_unit_name (request, &error);
  if (data->unit == NULL || !start_held_child (data, request, &error))
    {
      spawn_return (task, NULL, g_steal_pointer (&error));
      return;
    }
  data->parameters = g_variant_ref_sink (start_parameters (data->unit, request->job_name,
                                                           data->pid, &request->limits));
  call_start_transient_unit (task);
}

static JobdProcess *
spawner_scope_spawn_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static const char *
spawner_scope_get_name (JobdSpawner *spawner)
{
  return "systemd";
}

/* ---- taking back a scope after a jobd restart ---- */

/* No call to systemd needed: the kernel says which cgroup the recorded
 * process is in, and that cgroup's last component is the scope's name. */
static JobdProcess *
adopt_scope (JobdSpawnerScope *self,
             const JobdSpawnRequest *request,
             JsonObject *record,
             GError **error)
{
  g_autoptr(JobdScopeProcess) process = NULL;
  g_autofree char *cgroup = NULL;
  const char *unit = NULL;
  guint64 ticks;
  GPid pid;
  int pidfd;

  if (!jobd_process_record_get (record, &pid, &ticks, &unit) || unit == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING, "no scope recorded");
      return NULL;
    }
  pidfd = jobd_pidfd_open_verified (pid, ticks, error);
  if (pidfd < 0)
    return NULL;
  cgroup = jobd_cgroup_path_of_pid (pid, error);
  if (cgroup == NULL || !g_str_has_suffix (cgroup, unit) ||
      cgroup[strlen (cgroup) - strlen (unit) - 1] != '/')
    {
      close (pidfd);
      if (cgroup != NULL)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                     "PID %d is in %s, not in %s", (int) pid, cgroup, unit);
      return NULL;
    }

  process = g_object_new (JOBD_TYPE_SCOPE_PROCESS, NULL);
  process->bus = g_object_ref (self->bus);
  process->cgroup = g_steal_pointer (&cgroup);
  jobd_process_setup (JOBD_PROCESS (process), pid, pidfd, FALSE);
  jobd_process_set_unit (JOBD_PROCESS (process), unit);
  jobd_process_set_output_fds (JOBD_PROCESS (process), request->job_name,
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stdout"),
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stderr"));
  return JOBD_PROCESS (g_steal_pointer (&process));
}

static void
spawner_scope_adopt_async (JobdSpawner *spawner,
                           const JobdSpawnRequest *request,
                           JsonObject *record,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (spawner, cancellable, callback, user_data);
  GError *error = NULL;
  JobdProcess *process = adopt_scope (JOBD_SPAWNER_SCOPE (spawner), request, record, &error);

  g_task_set_source_tag (task, spawner_scope_adopt_async);
  if (process == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, process, g_object_unref);
}

static JobdProcess *
spawner_scope_adopt_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
jobd_spawner_scope_iface_init (JobdSpawnerInterface *iface)
{
  iface->get_name = spawner_scope_get_name;
  iface->spawn_async = spawner_scope_spawn_async;
  iface->spawn_finish = spawner_scope_spawn_finish;
  iface->adopt_async = spawner_scope_adopt_async;
  iface->adopt_finish = spawner_scope_adopt_finish;
}

static void
jobd_spawner_scope_dispose (GObject *object)
{
  JobdSpawnerScope *self = JOBD_SPAWNER_SCOPE (object);

  if (self->job_removed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->bus, self->job_removed_id);
      self->job_removed_id = 0;
    }
  if (self->unit_removed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->bus, self->unit_removed_id);
      self->unit_removed_id = 0;
    }
  g_clear_pointer (&self->lingering, g_hash_table_unref);
  g_clear_pointer (&self->waiting, g_hash_table_unref);
  g_clear_pointer (&self->early, g_hash_table_unref);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (jobd_spawner_scope_parent_class)->dispose (object);
}

static void
jobd_spawner_scope_class_init (JobdSpawnerScopeClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = jobd_spawner_scope_dispose;
}

static void
jobd_spawner_scope_init (JobdSpawnerScope *self)
{
  self->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->early = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->lingering = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

static void
on_subscribe_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  /* systemd sends job signals only while someone is subscribed. A failure
   * shows up again as a start that times out, with a clear message. */
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);
      if (g_strcmp0 (remote, "org.freedesktop.systemd1.AlreadySubscribed") != 0)
        g_warning ("cannot subscribe to systemd's signals: %s", error->message);
    }
}

JobdSpawner *
jobd_spawner_scope_new (GDBusConnection *bus)
{
  JobdSpawnerScope *self = g_object_new (JOBD_TYPE_SPAWNER_SCOPE, NULL);

  self->bus = g_object_ref (bus);
  /* Subscribed before any StartTransientUnit call, so no JobRemoved of
   * ours can pass unseen. */
  self->job_removed_id =
    g_dbus_connection_signal_subscribe (bus, SD_NAME, SD_MANAGER, "JobRemoved", SD_PATH,
                                        NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_job_removed, self, NULL);
  self->unit_removed_id =
    g_dbus_connection_signal_subscribe (bus, SD_NAME, SD_MANAGER, "UnitRemoved", SD_PATH,
                                        NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_unit_removed, self, NULL);
  g_dbus_connection_call (bus, SD_NAME, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MSEC, NULL,
                          on_subscribe_reply, NULL);
  return JOBD_SPAWNER (self);
}

/* ---- availability ---- */

static GVariant *
probe_parameters (void)
{
  return g_variant_new ("(ss)", SD_MANAGER, "Version");
}

static void
on_probe_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
jobd_spawner_scope_probe_async (GDBusConnection *bus,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, jobd_spawner_scope_probe_async);
  g_dbus_connection_call (bus, SD_NAME, SD_PATH, "org.freedesktop.DBus.Properties", "Get",
                          probe_parameters (), G_VARIANT_TYPE ("(v)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, cancellable,
                          on_probe_reply, task);
}

gboolean
jobd_spawner_scope_probe_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
jobd_spawner_scope_available (GDBusConnection *bus, int timeout_msec)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (bus, SD_NAME, SD_PATH, "org.freedesktop.DBus.Properties",
                                       "Get", probe_parameters (), G_VARIANT_TYPE ("(v)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout_msec,
                                       NULL, &error);
  if (reply == NULL)
    g_debug ("no systemd manager on the bus: %s", error->message);
  return reply != NULL;
}
