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
#include "jobd-error.h"
#include "jobd-fifo.h"
#include "jobd-memory.h"

struct _JobdDirectProcess {
  JobdProcess parent_instance;
};

G_DEFINE_FINAL_TYPE (JobdDirectProcess, jobd_direct_process, JOBD_TYPE_PROCESS)

static gboolean
direct_process_kill_all (JobdProcess *process, int signo, GError **error)
{
  GPid pgid = jobd_process_get_pid (process);

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
direct_process_get_memory (JobdProcess *process,
                           JobdMemorySnapshot *snapshot,
                           guint64 *bytes,
                           const char **source,
                           GError **error)
{
  GPid sid = jobd_process_get_pid (process);

  *source = "process-tree";
  if (snapshot != NULL)
    {
      *bytes = jobd_memory_snapshot_session_rss (snapshot, sid);
      return TRUE;
    }
  return jobd_memory_session_rss (sid, bytes, error);
}

static void
direct_process_cleanup (JobdProcess *process)
{
  /* Called while the exited main process is still a zombie holding its PID,
   * so the process group ID cannot have been reused yet. */
  if (killpg (jobd_process_get_pid (process), SIGKILL) == 0)
    g_debug ("killed what PID %d left in its process group",
             (int) jobd_process_get_pid (process));
}

static void
jobd_direct_process_class_init (JobdDirectProcessClass *klass)
{
  JobdProcessClass *process_class = JOBD_PROCESS_CLASS (klass);

  process_class->kill_all = direct_process_kill_all;
  process_class->get_memory = direct_process_get_memory;
  process_class->cleanup = direct_process_cleanup;
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
  int out_read = -1, err_read = -1, out_job = -1, err_job = -1;
  int pidfd = -1;
  GPid pid = 0;
  gboolean spawned;

  if (!jobd_child_spec_init (&spec, request->job_name, request->settings,
                             request->owner_uid, error))
    return NULL;

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
  jobd_process_set_output_fds (process, out_read, err_read);
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
  jobd_process_set_output_fds (process,
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stdout"),
                               jobd_fifo_reopen (request->runtime_dir, request->job_name, "stderr"));
  g_task_return_pointer (task, process, g_object_unref);
}

static void
jobd_spawner_direct_iface_init (JobdSpawnerInterface *iface)
{
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
  return g_object_new (JOBD_TYPE_SPAWNER_DIRECT, NULL);
}
