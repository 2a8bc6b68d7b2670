/* SPDX-License-Identifier: MIT */
/* jobd-spawner-direct.c — spawn into a new session, output via FIFOs. */
#include "config.h"

#include "jobd-spawner-direct.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-child.h"
#include "jobd-containment.h"
#include "jobd-error.h"
#include "jobd-fifo.h"
#include "jobd-cpu.h"
#include "jobd-memory.h"

struct _JobdDirectProcess {
  JobdProcess parent_instance;
  JobdContainment *containment;   /* NULL: a job an older jobd started */
};

G_DEFINE_FINAL_TYPE (JobdDirectProcess, jobd_direct_process, JOBD_TYPE_PROCESS)

static gboolean
direct_process_kill_all (JobdProcess *process, int signo, GError **error)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  GPid pgid = jobd_process_get_pid (process);

  if (self->containment != NULL)
    return jobd_containment_kill (self->containment, pgid,
                                  !jobd_process_has_exited (process), signo, error);
  if (jobd_process_has_exited (process))
    return TRUE;
  if (killpg (pgid, signo) < 0 && errno != ESRCH)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot signal process group %d: %s", (int) pgid, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
direct_process_get_peak_memory (JobdProcess *process, guint64 *bytes, const char **source)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);

  return self->containment != NULL &&
         jobd_containment_peak_memory (self->containment, bytes, source);
}

static gboolean
direct_process_get_memory (JobdProcess *process,
                           JobdMemorySnapshot *snapshot,
                           guint64 *bytes,
                           const char **source,
                           GError **error)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  GPid sid = jobd_process_get_pid (process);

  /* The same set of processes that stop and kill reach. */
  if (self->containment != NULL)
    return jobd_containment_memory (self->containment, sid,
                                    !jobd_process_has_exited (process), snapshot,
                                    bytes, source, error);
  *source = "process-tree";
  if (snapshot != NULL)
    {
      *bytes = jobd_memory_snapshot_session_rss (snapshot, sid);
      return TRUE;
    }
  return jobd_memory_session_rss (sid, bytes, error);
}

static gboolean
direct_process_get_cpu_usage (JobdProcess *process,
                              JobdMemorySnapshot *snapshot,
                              guint64 *usec,
                              const char **source,
                              GError **error)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  GPid sid = jobd_process_get_pid (process);

  /* The same set of processes that memory, stop and kill reach. */
  if (self->containment != NULL)
    return jobd_containment_cpu_usage (self->containment, sid,
                                       !jobd_process_has_exited (process), snapshot,
                                       usec, source);
  *source = JOBD_CPU_SOURCE_PROCESSES;
  return jobd_cpu_session_usage (sid, usec, error);
}

static void
direct_process_cleanup (JobdProcess *process)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  gboolean is_child = jobd_process_is_child (process);

  /* Called while an exited child is still a zombie holding its PID, so its
   * session and process group IDs cannot have been reused yet; a re-adopted
   * main process is gone for good, and only the job's cgroup or tag still
   * names what it left. */
  if (self->containment != NULL)
    {
      jobd_containment_kill (self->containment, jobd_process_get_pid (process), is_child,
                             SIGKILL, NULL);
      return;
    }
  if (is_child && killpg (jobd_process_get_pid (process), SIGKILL) == 0)
    g_debug ("killed what PID %d left in its process group",
             (int) jobd_process_get_pid (process));
}

/* The same set of processes that stop and kill reach. */
static gboolean
direct_process_owns_pid (JobdProcess *process, GPid pid)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  g_autoptr(GArray) pids = NULL;

  if (self->containment == NULL)
    return FALSE;
  pids = jobd_containment_pids (self->containment, jobd_process_get_pid (process),
                                !jobd_process_has_exited (process));
  for (guint i = 0; pids != NULL && i < pids->len; i++)
    if (g_array_index (pids, GPid, i) == pid)
      return TRUE;
  return FALSE;
}

static void
direct_process_save_record (JobdProcess *process, JsonObject *record)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);

  if (self->containment != NULL)
    jobd_containment_save_record (self->containment, record);
}

/* Only memory-max is enforced on this backend (the others are reported
 * as not enforced), so only it changes at run time. */
static void
direct_process_set_limits_async (JobdProcess *process,
                                 const JobdLimits *limits,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);
  g_autoptr(GTask) task = g_task_new (process, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, direct_process_set_limits_async);
  if (self->containment == NULL)
    g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                             "the job was started by an older jobd without containment; "
                             "the limits apply from its next start");
  else if (!jobd_containment_set_memory_high (self->containment, limits->memory_high, &error) ||
           !jobd_containment_set_memory_max (self->containment, limits->memory_max, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
direct_process_set_limits_finish (JobdProcess *process, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static char *
direct_process_memory_events_path (JobdProcess *process)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);

  return self->containment != NULL ? jobd_containment_memory_events (self->containment) : NULL;
}

static void
jobd_direct_process_finalize (GObject *object)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (object);

  g_clear_pointer (&self->containment, jobd_containment_free);
  G_OBJECT_CLASS (jobd_direct_process_parent_class)->finalize (object);
}

static void
jobd_direct_process_class_init (JobdDirectProcessClass *klass)
{
  JobdProcessClass *process_class = JOBD_PROCESS_CLASS (klass);

  process_class->kill_all = direct_process_kill_all;
  process_class->get_memory = direct_process_get_memory;
  process_class->get_cpu_usage = direct_process_get_cpu_usage;
  process_class->get_peak_memory = direct_process_get_peak_memory;
  process_class->cleanup = direct_process_cleanup;
  process_class->save_record = direct_process_save_record;
  process_class->set_limits_async = direct_process_set_limits_async;
  process_class->set_limits_finish = direct_process_set_limits_finish;
  process_class->owns_pid = direct_process_owns_pid;
  process_class->memory_events_path = direct_process_memory_events_path;
  G_OBJECT_CLASS (klass)->finalize = jobd_direct_process_finalize;
}

static void
jobd_direct_process_init (JobdDirectProcess *self)
{
}

JobdProcess *
jobd_direct_process_adopt (GPid pid, guint64 start_ticks, GError **error)
{
  JobdProcess *process;
  int pidfd = jobd_pidfd_open_verified (pid, start_ticks, error);

  if (pidfd < 0)
    return NULL;
  process = g_object_new (JOBD_TYPE_DIRECT_PROCESS, NULL);
  jobd_process_setup (process, pid, pidfd, FALSE);
  return process;
}

static void
direct_process_set_containment (JobdProcess *process, JobdContainment *containment)
{
  JobdDirectProcess *self = JOBD_DIRECT_PROCESS (process);

  g_clear_pointer (&self->containment, jobd_containment_free);
  self->containment = containment;
}

/* ---- the spawner ---- */

struct _JobdSpawnerDirect {
  GObject parent_instance;
};

static void jobd_spawner_direct_iface_init (JobdSpawnerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobdSpawnerDirect, jobd_spawner_direct, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOBD_TYPE_SPAWNER,
                                                      jobd_spawner_direct_iface_init))

static const char *
spawner_direct_get_name (JobdSpawner *spawner)
{
  return "direct";
}

static JobdProcess *
spawn_now (const JobdSpawnRequest *request, GError **error)
{
  g_auto(JobdChildSpec) spec = { 0 };
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(JobdContainment) containment = NULL;
  int out_read = -1, err_read = -1, out_job = -1, err_job = -1;
  int pidfd = -1;
  GPid pid = 0;
  gboolean spawned;

  containment = jobd_containment_new (request->job_name, request->runtime_dir,
                                      &request->limits, error);
  if (containment == NULL)
    return NULL;
  /* Set last: the job's own environment settings cannot change it. */
  jobd_child_spec_copy (&spec, request->child);
  if (jobd_containment_get_tag (containment) != NULL)
    spec.envp = g_environ_setenv (spec.envp, "JOBD_JOB_TAG",
                                  jobd_containment_get_tag (containment), TRUE);
  jobd_containment_child_fds (containment, spec.cgroup_fds);

  out_read = jobd_fifo_channel_new (request->runtime_dir, request->job_name, "stdout",
                                    &out_job, error);
  if (out_read < 0)
    return NULL;
  err_read = jobd_fifo_channel_new (request->runtime_dir, request->job_name, "stderr",
                                    &err_job, error);
  if (err_read < 0)
    {
      close (out_read);
      close (out_job);
      return NULL;
    }

  spec.stdout_fd = out_job;
  spec.stderr_fd = err_job;
  spawned = jobd_child_spawn (&spec, &pid, &pidfd, error);
  jobd_containment_spawned (containment);
  close (out_job);
  close (err_job);
  if (!spawned)
    {
      close (out_read);
      close (err_read);
      return NULL;
    }

  process = g_object_new (JOBD_TYPE_DIRECT_PROCESS, NULL);
  jobd_process_setup (process, pid, pidfd, TRUE);
  direct_process_set_containment (process, g_steal_pointer (&containment));
  jobd_process_set_output_fds (process, request->job_name, out_read, err_read);
  return g_steal_pointer (&process);
}

static void
spawner_direct_spawn_async (JobdSpawner *spawner,
                            const JobdSpawnRequest *request,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (spawner, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  JobdProcess *process;

  g_task_set_source_tag (task, spawner_direct_spawn_async);
  /* Once a process exists it is reported, cancelled or not: the job takes
   * it and stops it. Dropped here it would run on untracked and end up as
   * jobd's zombie (a Stop between this call and its report). */
  g_task_set_check_cancellable (task, FALSE);
  /* Starting the child waits on nothing but the kernel (it returns once
   * the child has exec'd): done synchronously, reported asynchronously
   * like the systemd backend. */
  process = spawn_now (request, &error);
  if (process == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, process, g_object_unref);
}

static JobdProcess *
spawner_direct_spawn_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
spawner_direct_adopt_async (JobdSpawner *spawner,
                            const JobdSpawnRequest *request,
                            JsonObject *record,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (spawner, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  JobdProcess *process;
  const char *unit;
  guint64 ticks;
  GPid pid;

  g_task_set_source_tag (task, spawner_direct_adopt_async);
  if (!jobd_process_record_get (record, &pid, &ticks, &unit))
    {
      g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING, "no process recorded");
      return;
    }
  process = jobd_direct_process_adopt (pid, ticks, &error);
  if (process == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  direct_process_set_containment (process, jobd_containment_from_record (record));
  jobd_process_set_output_fds (process, request->job_name,
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stdout"),
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stderr"));
  g_task_return_pointer (task, process, g_object_unref);
}

static char **
spawner_direct_unenforced_limits (JobdSpawner *spawner, const JobdLimits *limits)
{
  return jobd_containment_unenforced_limits (limits);
}

static void
jobd_spawner_direct_iface_init (JobdSpawnerInterface *iface)
{
  iface->unenforced_limits = spawner_direct_unenforced_limits;
  iface->get_name = spawner_direct_get_name;
  iface->spawn_async = spawner_direct_spawn_async;
  iface->spawn_finish = spawner_direct_spawn_finish;
  iface->adopt_async = spawner_direct_adopt_async;
  iface->adopt_finish = spawner_direct_spawn_finish;
}

static void
jobd_spawner_direct_class_init (JobdSpawnerDirectClass *klass)
{
}

static void
jobd_spawner_direct_init (JobdSpawnerDirect *self)
{
}

JobdSpawner *
jobd_spawner_direct_new (void)
{
  jobd_containment_setup ();
  return g_object_new (JOBD_TYPE_SPAWNER_DIRECT, NULL);
}
