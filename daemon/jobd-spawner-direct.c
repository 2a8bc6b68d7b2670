/* jobd-spawner-direct.c — fork/exec into a new session, output via FIFOs. */
#include "config.h"

#include "jobd-spawner-direct.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-child.h"
#include "jobd-error.h"
#include "jobd-memory.h"

/* A bigger pipe buffer gives a job more room while jobd is away. */
#define OUTPUT_PIPE_SIZE (1024 * 1024)

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
  g_autoptr(JobdProcess) process = NULL;
  guint64 ticks = 0;
  int pidfd;

  pidfd = jobd_pidfd_open (pid, error);
  if (pidfd < 0)
    return NULL;
  /* Check after opening the pidfd: from here on the PID cannot be reused
   * behind our back, so a matching start time proves it is the same process. */
  if (!jobd_proc_start_ticks (pid, &ticks, error) || ticks != start_ticks)
    {
      close (pidfd);
      if (error != NULL && *error == NULL)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                     "PID %d is another process now", (int) pid);
      return NULL;
    }
  process = g_object_new (JOBD_TYPE_DIRECT_PROCESS, NULL);
  jobd_process_setup (process, pid, pidfd, FALSE);
  return g_steal_pointer (&process);
}

/* ---- output FIFOs ---- */

char *
jobd_output_fifo_path (const char *runtime_dir, const char *job_name, const char *stream)
{
  g_autofree char *file = g_strdup_printf ("%s.%s", job_name, stream);
  return g_build_filename (runtime_dir, "output", file, NULL);
}

static gboolean
output_fifo_create (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) < 0 ||
      (g_unlink (path) < 0 && errno != ENOENT) ||
      mkfifo (path, 0600) < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot create output FIFO %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

int
jobd_output_fifo_open (const char *path, GError **error)
{
  /* Read-write, so opening never blocks and jobd never sees a spurious EOF
   * between writers; the job's exit is learnt from its pidfd instead. */
  int fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot open output FIFO %s: %s", path, g_strerror (saved));
      return -1;
    }
  if (fcntl (fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE) < 0)
    g_debug ("cannot enlarge %s: %s", path, g_strerror (errno));
  return fd;
}

/* Make a stream's FIFO; returns jobd's read end and, in *job_fd, the end
 * the job writes to (also read-write, see the header). */
static int
output_channel_new (const JobdSpawnRequest *request,
                    const char *stream,
                    int *job_fd,
                    GError **error)
{
  g_autofree char *path = jobd_output_fifo_path (request->runtime_dir,
                                                 request->job_name, stream);
  int read_fd;

  if (!output_fifo_create (path, error))
    return -1;
  read_fd = jobd_output_fifo_open (path, error);
  if (read_fd < 0)
    return -1;
  *job_fd = open (path, O_RDWR | O_CLOEXEC);
  if (*job_fd < 0)
    {
      int saved = errno;
      close (read_fd);
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot open output FIFO %s: %s", path, g_strerror (saved));
      return -1;
    }
  return read_fd;
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
  int go_fd = -1, err_fd = -1, pidfd;
  GPid pid = 0;
  gboolean forked;

  if (!jobd_child_spec_init (&spec, request->job_name, request->settings,
                             request->owner_uid, error))
    return NULL;

  out_read = output_channel_new (request, "stdout", &out_job, error);
  if (out_read < 0)
    return NULL;
  err_read = output_channel_new (request, "stderr", &err_job, error);
  if (err_read < 0)
    {
      close (out_read);
      close (out_job);
      return NULL;
    }

  spec.stdout_fd = out_job;
  spec.stderr_fd = err_job;
  forked = jobd_child_fork (&spec, &pid, &go_fd, &err_fd, error);
  close (out_job);
  close (err_job);
  if (!forked)
    goto fail;

  /* Open the pidfd before anything can reap the child. */
  pidfd = jobd_pidfd_open (pid, error);
  if (!jobd_child_release (go_fd, err_fd, pidfd < 0 ? NULL : error) || pidfd < 0)
    {
      if (pidfd >= 0)
        close (pidfd);
      /* The child has exited (exec failed) or is useless: reap it. */
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      goto fail;
    }

  process = g_object_new (JOBD_TYPE_DIRECT_PROCESS, NULL);
  jobd_process_setup (process, pid, pidfd, TRUE);
  jobd_process_set_output_fds (process, out_read, err_read);
  return g_steal_pointer (&process);

fail:
  close (out_read);
  close (err_read);
  return NULL;
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
  /* fork + exec is fast and cannot wait on anything but the kernel: done
   * synchronously, reported asynchronously like the systemd backend. */
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

/* Reopen a stream's FIFO after a jobd restart; -1 (logged) when it is gone,
 * which costs the output, not the job. */
static int
reopen_output (const JobdSpawnRequest *request, const char *stream)
{
  g_autofree char *path = jobd_output_fifo_path (request->runtime_dir, request->job_name, stream);
  g_autoptr(GError) error = NULL;
  int fd = jobd_output_fifo_open (path, &error);

  if (fd < 0)
    g_warning ("job %s: its %s is lost: %s", request->job_name, stream, error->message);
  return fd;
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
  jobd_process_set_output_fds (process, reopen_output (request, "stdout"),
                               reopen_output (request, "stderr"));
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
