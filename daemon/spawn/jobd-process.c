/* SPDX-License-Identifier: MIT */
/* jobd-process.c — the main process of a running job, watched by pidfd. */
#include "config.h"

#include "jobd-process.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "jobd-cgroup.h"
#include "jobd-cpu.h"
#include "jobd-error.h"
#include "jobd-fdstore.h"
#include "jobd-fdwatch.h"
#include "jobd-fifo.h"
#include "jobd-log.h"
#include "jobd-memory-events.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

typedef struct {
  GPid pid;
  int pidfd;
  gboolean is_child;
  guint64 start_ticks;
  char *unit;
  JobdFdWatch *exit_watch;
  gboolean exited;
  int exit_code;
  int exit_signal;
  guint64 peak_bytes;       /* read when the main process exited; 0 = none */
  const char *peak_source;
  int out_fd;
  int err_fd;
  char *job_name;       /* names the output in the fd store; NULL = not kept */
  JobdMemoryEvents *memory_events;  /* jobd_process_watch_memory_high() */
} JobdProcessPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (JobdProcess, jobd_process, G_TYPE_OBJECT)

enum {
  SIGNAL_EXITED,
  SIGNAL_MEMORY_HIGH,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

int
jobd_pidfd_open (GPid pid, GError **error)
{
  int fd = (int) syscall (SYS_pidfd_open, pid, 0);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "pidfd_open(%d) failed: %s", (int) pid, g_strerror (saved));
      return -1;
    }
  return fd;
}

gboolean
jobd_proc_start_ticks (GPid pid, guint64 *ticks, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_comm;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  /* The command name may hold spaces and parentheses: fields start after
   * the last ')'. Field 22 (starttime) is the 20th after it. */
  after_comm = strrchr (contents, ')');
  if (after_comm == NULL)
    goto bad;
  fields = g_strsplit (after_comm + 2, " ", 0);
  if (g_strv_length (fields) < 20)
    goto bad;
  *ticks = g_ascii_strtoull (fields[19], NULL, 10);
  return TRUE;

bad:
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "cannot parse %s", path);
  return FALSE;
}

int
jobd_pidfd_open_verified (GPid pid, guint64 start_ticks, GError **error)
{
  guint64 ticks = 0;
  int pidfd = jobd_pidfd_open (pid, error);

  if (pidfd < 0)
    return -1;
  /* Checked after opening the pidfd: from here on the PID cannot be reused
   * behind our back, so a matching start time proves it is the same process. */
  if (!jobd_proc_start_ticks (pid, &ticks, error))
    {
      close (pidfd);
      return -1;
    }
  if (ticks != start_ticks)
    {
      close (pidfd);
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "PID %d is another process now", (int) pid);
      return -1;
    }
  return pidfd;
}

/* jobd's children that a JobdProcess reaps through its pidfd: a subreaper
 * reaping orphans must leave them alone (jobd_process_is_watched_child). */
static GHashTable *watched_children;

static void
watch_child (GPid pid)
{
  if (watched_children == NULL)
    watched_children = g_hash_table_new (NULL, NULL);
  g_hash_table_add (watched_children, GINT_TO_POINTER (pid));
}

static void
unwatch_child (GPid pid)
{
  if (watched_children != NULL)
    g_hash_table_remove (watched_children, GINT_TO_POINTER (pid));
}

gboolean
jobd_process_is_watched_child (GPid pid)
{
  return watched_children != NULL &&
         g_hash_table_contains (watched_children, GINT_TO_POINTER (pid));
}

static void
jobd_process_report_exit (JobdProcess *self, int code, int signo)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  if (priv->exited)
    return;
  priv->exited = TRUE;
  /* Kept for a listener that connects after the emission (see the header). */
  priv->exit_code = code;
  priv->exit_signal = signo;
  g_signal_emit (self, signals[SIGNAL_EXITED], 0, code, signo);
}

/* The cgroup may go with the last process: read its peak while the main
 * process is a zombie and the rest not yet cleared away. */
static void
read_peak_at_exit (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);
  guint64 bytes = 0;
  const char *source = NULL;

  if (klass->get_peak_memory != NULL && klass->get_peak_memory (self, &bytes, &source) &&
      bytes > 0)
    {
      priv->peak_bytes = bytes;
      priv->peak_source = source;
    }
}

gboolean
jobd_process_get_peak_memory (JobdProcess *self, guint64 *bytes, const char **source)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (priv->exited || priv->peak_source != NULL)
    {
      if (priv->peak_source == NULL)
        return FALSE;
      *bytes = priv->peak_bytes;
      *source = priv->peak_source;
      return TRUE;
    }
  return klass->get_peak_memory != NULL && klass->get_peak_memory (self, bytes, source);
}

/* The child began as jobd (a fork, or a clone sharing jobd's memory) and
 * the kernel carries the high-water mark of the memory it left at exec into
 * ru_maxrss: a figure at or below jobd's own peak may be jobd's, not the
 * job's. Then the peak is unknown rather than wrong. */
static gboolean
rusage_peak_is_the_jobs (const struct rusage *usage)
{
  struct rusage own = { 0 };

  if (usage->ru_maxrss <= 0 || getrusage (RUSAGE_SELF, &own) < 0)
    return FALSE;
  return usage->ru_maxrss > own.ru_maxrss;
}

static gboolean
on_pidfd_readable (int fd, GIOCondition condition, gpointer user_data)
{
  JobdProcess *self = user_data;
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  int code = -1, signo = -1;

  /* Removed now, before reporting the exit can drop the last reference and
   * close the pidfd under the watch. */
  g_clear_pointer (&priv->exit_watch, jobd_fd_watch_remove);

  /* Our child is a zombie now and still holds its PID (and so its process
   * group ID): the right moment to clear away what it left. A re-adopted
   * process may already be reaped by someone else: the backend clears away
   * only what it can still name for sure (is_child tells it). */
  read_peak_at_exit (self);
  jobd_process_cleanup (self);

  if (priv->is_child)
    {
      siginfo_t info = { 0 };
      struct rusage usage = { 0 };
      int r;

      /* The raw call: glibc's waitid() has no rusage argument. */
      do
        r = (int) syscall (SYS_waitid, P_PIDFD, (id_t) fd, &info, WEXITED, &usage);
      while (r < 0 && errno == EINTR);
      if (r == 0 && priv->peak_source == NULL && rusage_peak_is_the_jobs (&usage))
        {
          priv->peak_bytes = (guint64) usage.ru_maxrss * 1024;
          priv->peak_source = JOBD_PEAK_SOURCE_RUSAGE;
        }

      if (r == 0 && info.si_code == CLD_EXITED)
        {
          code = info.si_status;
          signo = 0;
        }
      else if (r == 0)
        {
          code = -1;
          signo = info.si_status;
        }
      else
        jobd_job_warning (priv->job_name, "job %s: waitid for PID %d failed: %s",
                          priv->job_name ? priv->job_name : "?", (int) priv->pid, g_strerror (errno));
      unwatch_child (priv->pid);
    }

  g_object_ref (self);
  jobd_process_report_exit (self, code, signo);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
jobd_process_setup (JobdProcess *self, GPid pid, int pidfd, gboolean is_child)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) watch_error = NULL;

  g_return_if_fail (priv->pidfd < 0);

  priv->pid = pid;
  priv->pidfd = pidfd;
  priv->is_child = is_child;
  if (is_child)
    watch_child (pid);
  if (!jobd_proc_start_ticks (pid, &priv->start_ticks, &error))
    g_debug ("start time of PID %d unknown: %s", (int) pid, error->message);
  priv->exit_watch = jobd_fd_watch_add (NULL, pidfd, G_IO_IN, on_pidfd_readable, self,
                                        &watch_error);
  /* Without a watch the exit would go unseen: the process would look alive
   * for ever. Out of kernel memory is the only way here; say so loudly. */
  if (priv->exit_watch == NULL)
    g_critical ("PID %d: its exit will not be noticed: %s", (int) pid, watch_error->message);
}

GPid
jobd_process_get_pid (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  return priv->pid;
}



const char *
jobd_process_get_job_name (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  return priv->job_name;
}

const char *
jobd_process_get_unit (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  return priv->unit;
}

void
jobd_process_set_unit (JobdProcess *self, const char *unit)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  g_free (priv->unit);
  priv->unit = g_strdup (unit);
}

gboolean
jobd_process_has_exited (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  return priv->exited;
}

gboolean
jobd_process_get_exit_status (JobdProcess *self, int *code, int *signo)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  if (!priv->exited)
    return FALSE;
  *code = priv->exit_code;
  *signo = priv->exit_signal;
  return TRUE;
}

static gboolean
send_signal_via_pidfd (JobdProcessPrivate *priv, int signo, GError **error)
{
  if (syscall (SYS_pidfd_send_signal, priv->pidfd, signo, NULL, 0) < 0)
    {
      int saved = errno;
      /* ESRCH: it has just exited; the exit event follows. */
      if (saved == ESRCH)
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot signal PID %d: %s", (int) priv->pid, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
jobd_process_kill_main (JobdProcess *self, int signo, GError **error)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  if (priv->exited)
    return TRUE;
  return send_signal_via_pidfd (priv, signo, error);
}

gboolean
jobd_process_kill_all (JobdProcess *self, int signo, GError **error)
{
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (klass->kill_all == NULL)
    return jobd_process_kill_main (self, signo, error);
  return klass->kill_all (self, signo, error);
}

gboolean
jobd_process_get_memory (JobdProcess *self,
                         JobdMemorySnapshot *snapshot,
                         guint64 *bytes,
                         const char **source,
                         GError **error)
{
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  g_return_val_if_fail (klass->get_memory != NULL, FALSE);
  return klass->get_memory (self, snapshot, bytes, source, error);
}

gboolean
jobd_process_get_cpu_usage (JobdProcess *self,
                            JobdMemorySnapshot *snapshot,
                            guint64 *usec,
                            const char **source,
                            GError **error)
{
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);
  GPid pid = jobd_process_get_pid (self);

  if (klass->get_cpu_usage != NULL)
    return klass->get_cpu_usage (self, snapshot, usec, source, error);
  *source = JOBD_CPU_SOURCE_PROCESSES;
  if (!jobd_cpu_process_usage (pid, usec))
    *usec = 0;   /* exited: nothing left to read */
  return TRUE;
}

/* The parent of pid from /proc/PID/stat (after the last ')': the command
 * name may hold anything); 0 when unknown. */
static GPid
parent_of (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  const char *end;
  char state;
  int ppid = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (end = strrchr (contents, ')')) == NULL ||
      sscanf (end + 1, " %c %d", &state, &ppid) != 2)
    return 0;
  return (GPid) ppid;
}

static gboolean
is_descendant (GPid pid, GPid ancestor)
{
  /* Bounded: a chain of parents is short, and a loop must not hang jobd. */
  for (guint depth = 0; depth < 64 && pid > 1; depth++)
    {
      pid = parent_of (pid);
      if (pid == ancestor)
        return TRUE;
    }
  return FALSE;
}

/* The cgroup of pid is the unit's, or below it. */
static gboolean
in_unit_cgroup (GPid pid, const char *unit)
{
  g_autofree char *cgroup = jobd_cgroup_path_of_pid (pid, NULL);
  g_autofree char *component = g_strdup_printf ("/%s", unit);
  g_autofree char *inner = g_strdup_printf ("/%s/", unit);

  return cgroup != NULL && (g_str_has_suffix (cgroup, component) || strstr (cgroup, inner) != NULL);
}

gboolean
jobd_process_owns_pid (JobdProcess *self, GPid pid)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (pid <= 0)
    return FALSE;
  if (pid == priv->pid)
    return TRUE;
  if (priv->unit != NULL)
    return in_unit_cgroup (pid, priv->unit);
  if (!priv->exited && is_descendant (pid, priv->pid))
    return TRUE;
  return klass->owns_pid != NULL && klass->owns_pid (self, pid);
}

void
jobd_process_cleanup (JobdProcess *self)
{
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (klass->cleanup != NULL)
    klass->cleanup (self);
}

gboolean
jobd_process_is_child (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  return priv->is_child;
}

void
jobd_process_save_record (JobdProcess *self, JsonObject *record)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (klass->save_record != NULL)
    klass->save_record (self, record);

  json_object_set_int_member (record, "pid", priv->pid);
  json_object_set_int_member (record, "start-ticks", (gint64) priv->start_ticks);
  if (priv->unit != NULL)
    json_object_set_string_member (record, "unit", priv->unit);
}

gboolean
jobd_process_record_get (JsonObject *record,
                         GPid *pid,
                         guint64 *start_ticks,
                         const char **unit)
{
  if (record == NULL || !json_object_has_member (record, "pid"))
    return FALSE;
  *pid = (GPid) json_object_get_int_member_with_default (record, "pid", 0);
  *start_ticks = (guint64) json_object_get_int_member_with_default (record, "start-ticks", 0);
  *unit = json_object_get_string_member_with_default (record, "unit", NULL);
  return *pid > 0;
}

void
jobd_process_set_output_fds (JobdProcess *self, const char *job_name, int out_fd, int err_fd)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  if (priv->out_fd >= 0)
    close (priv->out_fd);
  if (priv->err_fd >= 0)
    close (priv->err_fd);
  priv->out_fd = out_fd;
  priv->err_fd = err_fd;
  g_free (priv->job_name);
  priv->job_name = g_strdup (job_name);
}

/* While the job runs, systemd keeps a copy of jobd's output descriptors,
 * so a jobd that dies (even SIGKILL) gets them back (jobd-fifo.c takes
 * them). fd < 0 drops the copy. */
static void
store_output_fd (JobdProcessPrivate *priv, const char *stream, int fd)
{
  g_autofree char *name = NULL;

  if (priv->job_name == NULL)
    return;
  name = jobd_fifo_store_name (priv->job_name, stream);
  if (name == NULL)
    return;
  if (fd >= 0)
    jobd_fdstore_keep (name, fd);
  else
    jobd_fdstore_forget (name);
}

int
jobd_process_steal_stdout (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  int fd = g_steal_fd (&priv->out_fd);

  if (fd >= 0)
    store_output_fd (priv, "stdout", fd);
  return fd;
}

int
jobd_process_steal_stderr (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  int fd = g_steal_fd (&priv->err_fd);

  if (fd >= 0)
    store_output_fd (priv, "stderr", fd);
  return fd;
}

void
jobd_process_forget_output (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  store_output_fd (priv, "stdout", -1);
  store_output_fd (priv, "stderr", -1);
}

gboolean
jobd_process_can_set_limits (JobdProcess *self)
{
  return JOBD_PROCESS_GET_CLASS (self)->set_limits_async != NULL;
}

void
jobd_process_set_limits_async (JobdProcess *self,
                               const JobdLimits *limits,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);

  if (klass->set_limits_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data, jobd_process_set_limits_async,
                               JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                               "this backend cannot change the limits of a running job");
      return;
    }
  klass->set_limits_async (self, limits, cancellable, callback, user_data);
}

gboolean
jobd_process_set_limits_finish (JobdProcess *self, GAsyncResult *result, GError **error)
{
  if (g_async_result_is_tagged (result, jobd_process_set_limits_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return JOBD_PROCESS_GET_CLASS (self)->set_limits_finish (self, result, error);
}

static void
on_memory_events (guint64 high, gboolean lost, gpointer user_data)
{
  JobdProcess *self = user_data;
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  if (lost)
    g_clear_pointer (&priv->memory_events, jobd_memory_events_free);
  g_signal_emit (self, signals[SIGNAL_MEMORY_HIGH], 0, high, lost);
}

gboolean
jobd_process_watch_memory_high (JobdProcess *self, GError **error)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);
  JobdProcessClass *klass = JOBD_PROCESS_GET_CLASS (self);
  g_autofree char *path = NULL;

  if (priv->memory_events != NULL)
    return TRUE;
  path = klass->memory_events_path != NULL ? klass->memory_events_path (self) : NULL;
  if (path == NULL)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                           "the job has no cgroup v2 memory controller of its own");
      return FALSE;
    }
  priv->memory_events = jobd_memory_events_watch (path, on_memory_events, self, error);
  return priv->memory_events != NULL;
}

void
jobd_process_unwatch_memory_high (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  g_clear_pointer (&priv->memory_events, jobd_memory_events_free);
}

static void
jobd_process_finalize (GObject *object)
{
  JobdProcess *self = JOBD_PROCESS (object);
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  g_clear_pointer (&priv->memory_events, jobd_memory_events_free);
  g_clear_pointer (&priv->exit_watch, jobd_fd_watch_remove);
  /* Not reaped through the pidfd (jobd exiting): an orphan reaper may. */
  if (priv->is_child)
    unwatch_child (priv->pid);
  if (priv->pidfd >= 0)
    close (priv->pidfd);
  if (priv->out_fd >= 0)
    close (priv->out_fd);
  if (priv->err_fd >= 0)
    close (priv->err_fd);
  g_free (priv->unit);
  g_free (priv->job_name);

  G_OBJECT_CLASS (jobd_process_parent_class)->finalize (object);
}

static void
jobd_process_class_init (JobdProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = jobd_process_finalize;

  /* exited (int exit_code, int signal): -1 for what is not known. */
  signals[SIGNAL_EXITED] =
    g_signal_new ("exited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  /* memory-high (guint64 count, gboolean lost): see watch_memory_high. */
  signals[SIGNAL_MEMORY_HIGH] =
    g_signal_new ("memory-high", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_BOOLEAN);
}

static void
jobd_process_init (JobdProcess *self)
{
  JobdProcessPrivate *priv = jobd_process_get_instance_private (self);

  priv->pidfd = -1;
  priv->out_fd = -1;
  priv->err_fd = -1;
}
