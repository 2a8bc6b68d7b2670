/* SPDX-License-Identifier: MIT */
/* jobd-child.c — start a job's process: prepare in the parent, exec in the child. */
#include "config.h"

#include "jobd-child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "jobd-error.h"

/* Which step failed in the child, sent with errno over the error pipe. */
typedef enum {
  CHILD_STEP_SETSID = 1,
  CHILD_STEP_STDIO,
  CHILD_STEP_GROUPS,
  CHILD_STEP_GID,
  CHILD_STEP_UID,
  CHILD_STEP_CHDIR,
  CHILD_STEP_HOLD,
  CHILD_STEP_EXEC,
  CHILD_STEP_CGROUP,
} ChildStep;

static const char *
child_step_describe (ChildStep step)
{
  switch (step)
    {
    case CHILD_STEP_SETSID: return "creating a new session";
    case CHILD_STEP_STDIO: return "setting up standard input and output";
    case CHILD_STEP_GROUPS: return "setting supplementary groups";
    case CHILD_STEP_GID: return "switching group";
    case CHILD_STEP_UID: return "switching user";
    case CHILD_STEP_CHDIR: return "changing to the working directory";
    case CHILD_STEP_HOLD: return "waiting to be released";
    case CHILD_STEP_EXEC: return "executing the program";
    case CHILD_STEP_CGROUP: return "joining the job's cgroup";
    default: return "starting";
    }
}

/* 0 = leave the limit as inherited. */
static rlim_t job_fd_soft_limit;

void
jobd_child_set_fd_soft_limit (guint64 limit)
{
  job_fd_soft_limit = (rlim_t) limit;
}

void
jobd_child_spec_clear (JobdChildSpec *spec)
{
  g_clear_pointer (&spec->argv, g_strfreev);
  g_clear_pointer (&spec->envp, g_strfreev);
  g_clear_pointer ((char **) &spec->cwd, g_free);
  g_clear_pointer (&spec->groups, g_free);
  spec->n_groups = 0;
}

void
jobd_child_spec_copy (JobdChildSpec *dest, const JobdChildSpec *src)
{
  *dest = *src;
  dest->argv = g_strdupv (src->argv);
  dest->envp = g_strdupv (src->envp);
  dest->cwd = g_strdup (src->cwd);
  dest->groups = src->n_groups > 0 ? g_memdup2 (src->groups, src->n_groups * sizeof (gid_t)) : NULL;
}

static void
set_child_error (GError **error, ChildStep step, int child_errno)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
               "%s failed: %s", child_step_describe (step), g_strerror (child_errno));
}

/* What the child needs. It lives on jobd's stack during the spawn; a child
 * sharing jobd's memory reports its failure in it. */
typedef struct {
  const JobdChildSpec *spec;
  int go_read, go_write;      /* held: the go pipe, else -1 */
  int err_read, err_write;    /* held: the exec-error pipe, else -1 */
  int report[2];              /* not held: ChildStep and errno of a failure */
  int stdout_fd, stderr_fd;   /* where the child finds spec's stdout/stderr */
  int keep_below;             /* > 0: sharing jobd's descriptor table, whose
                                 fds below this are all the child needs */
  int started_write;          /* held: where the child reports its PID, else -1 */
} ChildArgs;

/* Async-signal-safe from here: runs in the child. A child not held shares
 * jobd's memory until it execs (see jobd_child_spawn), so it writes nothing
 * but its own stack, errno and args->report, and makes raw system calls
 * where libc would reach into its process-wide state: glibc's set*id()
 * would broadcast the change to jobd's threads, which it takes for the
 * child's. */
static void G_GNUC_NORETURN
child_fail (ChildArgs *args, ChildStep step)
{
  ssize_t unused G_GNUC_UNUSED;

  args->report[0] = step;
  args->report[1] = errno;
  if (args->err_write >= 0)
    unused = write (args->err_write, args->report, sizeof args->report);
  _exit (127);
}

static int
child_dup_or_null (int fd, int target)
{
  if (fd < 0)
    {
      int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null_fd < 0)
        return -1;
      fd = null_fd;
    }
  /* dup2 onto itself would keep FD_CLOEXEC; dup3 never takes equal fds. */
  if (fd == target)
    return fcntl (fd, F_SETFD, 0);
  return dup2 (fd, target) < 0 ? -1 : 0;
}

static int
child_set_credentials (const JobdChildSpec *spec, ChildStep *step)
{
#ifdef SYS_setresuid32
  /* 32-bit IDs where the plain names are the old 16-bit calls. */
  const long sys_setgroups = SYS_setgroups32, sys_setresgid = SYS_setresgid32,
             sys_setresuid = SYS_setresuid32;
#else
  const long sys_setgroups = SYS_setgroups, sys_setresgid = SYS_setresgid,
             sys_setresuid = SYS_setresuid;
#endif

  *step = CHILD_STEP_GROUPS;
  if (syscall (sys_setgroups, (long) spec->n_groups, spec->groups) < 0)
    return -1;
  *step = CHILD_STEP_GID;
  if (syscall (sys_setresgid, (long) spec->gid, (long) spec->gid, (long) spec->gid) < 0)
    return -1;
  *step = CHILD_STEP_UID;
  if (syscall (sys_setresuid, (long) spec->uid, (long) spec->uid, (long) spec->uid) < 0)
    return -1;
  return 0;
}

static void
child_wait_for_go (ChildArgs *args)
{
  ssize_t n;
  char go;

  do
    n = read (args->go_read, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    {
      /* jobd gave up on this start (or died): never run unsupervised. */
      errno = ECANCELED;
      child_fail (args, CHILD_STEP_HOLD);
    }
  close (args->go_read);
}

/* A raw getpid: the child's libc state (its thread pointer) is the spawning
 * thread's, so the child calls only what reads no per-thread cache. */
static void
child_report_started (ChildArgs *args)
{
  pid_t self = (pid_t) syscall (SYS_getpid);
  ssize_t n;

  do
    n = write (args->started_write, &self, sizeof self);
  while (n < 0 && errno == EINTR);
  close (args->started_write);
}

/* A child sharing jobd's descriptor table takes a table of its own, with
 * only the descriptors below keep_below: closing the rest one by one at
 * exec would cost time in proportion to jobd's open descriptors (three per
 * running job), all of it with jobd's thread suspended. */
static void
child_unshare_fds (ChildArgs *args)
{
  if (args->keep_below <= 0)
    return;
  if (close_range ((unsigned int) args->keep_below, ~0U, CLOSE_RANGE_UNSHARE) < 0
      && unshare (CLONE_FILES) < 0)   /* kernels before 5.9: a whole copy */
    child_fail (args, CHILD_STEP_STDIO);
}

static int G_GNUC_NORETURN
child_run (void *data)
{
  ChildArgs *args = data;
  const JobdChildSpec *spec = args->spec;
  ChildStep step;
  sigset_t none;

  /* A held child's PID is all jobd waits for (see jobd_child_start_held). */
  if (args->started_write >= 0)
    child_report_started (args);

  /* The job's own cgroups, before anything else: from here on all it
   * starts is contained, and while it is still root (and still shares
   * jobd's descriptor table, where the cgroup.procs files are open). */
  for (guint i = 0; i < G_N_ELEMENTS (spec->cgroup_fds); i++)
    if (spec->cgroup_fds[i] >= 0 && write (spec->cgroup_fds[i], "0", 1) != 1)
      child_fail (args, CHILD_STEP_CGROUP);

  /* First: until then, what the child does to descriptors, jobd sees. */
  child_unshare_fds (args);

  /* jobd's ends: a held child must see EOF on the go pipe if jobd dies. */
  if (args->err_read >= 0)
    close (args->err_read);
  if (args->go_write >= 0)
    close (args->go_write);

  /* jobd ignores SIGPIPE and has handlers; a job starts clean. Signals
   * are blocked until here (see start_child), so none of jobd's handlers
   * runs in the child. */
  for (int sig = 1; sig < NSIG; sig++)
    signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* Programs using select() break above 1024 descriptors: give jobs the
   * soft limit jobd itself was started with. */
  if (job_fd_soft_limit > 0)
    {
      struct rlimit limit;
      if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
        {
          limit.rlim_cur = MIN (job_fd_soft_limit, limit.rlim_max);
          setrlimit (RLIMIT_NOFILE, &limit);
        }
    }

  if (setsid () < 0)
    child_fail (args, CHILD_STEP_SETSID);
  if (child_dup_or_null (-1, STDIN_FILENO) < 0 ||
      child_dup_or_null (args->stdout_fd, STDOUT_FILENO) < 0 ||
      child_dup_or_null (args->stderr_fd, STDERR_FILENO) < 0)
    child_fail (args, CHILD_STEP_STDIO);
  if (args->keep_below > 0)
    close_range (STDERR_FILENO + 1, ~0U, 0);   /* the few left below keep_below */

  if (spec->set_creds && child_set_credentials (spec, &step) < 0)
    child_fail (args, step);
  if (spec->cwd != NULL && chdir (spec->cwd) < 0)
    child_fail (args, CHILD_STEP_CHDIR);

  if (args->go_read >= 0)
    child_wait_for_go (args);

  execve (spec->argv[0], spec->argv, spec->envp);
  child_fail (args, CHILD_STEP_EXEC);
}

/* The child's stack while it shares jobd's memory: it makes a few calls
 * into libc, then execs. */
#define CHILD_STACK_SIZE (64 * 1024)

/* A child sharing jobd's memory, jobd's thread suspended (CLONE_VFORK)
 * until the child has exec'd or exited: no page tables to copy for it and
 * none to tear down at its exec, which is most of what a fork and exec
 * cost (here until exec: about 2.3 ms with fork, 0.3 ms with this). */
static pid_t
clone_shared (ChildArgs *args, int *pidfd)
{
  g_autofree char *stack = g_malloc (CHILD_STACK_SIZE);
  int files = args->keep_below > 0 ? CLONE_FILES : 0;

  return clone (child_run, stack + CHILD_STACK_SIZE,
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | files | SIGCHLD, args, pidfd);
}

/* Two descriptor numbers kept low for the job's stdout and stderr during a
 * spawn, so the child's own table (see child_unshare_fds) is a copy of a
 * handful of entries whatever jobd holds. Between spawns they point at
 * /dev/null, so jobd holds nothing of the last job through them. */
static struct {
  int null_fd;
  int out, err;
  gboolean ready;
} slots = { -1, -1, -1, FALSE };

static gboolean
slots_ready (void)
{
  if (!slots.ready)
    {
      slots.null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
      slots.out = slots.null_fd >= 0 ? fcntl (slots.null_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1) : -1;
      slots.err = slots.out >= 0 ? fcntl (slots.null_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1) : -1;
      slots.ready = slots.err >= 0;
      if (!slots.ready)
        g_warning ("Spawning without descriptor slots: %s", g_strerror (errno));
    }
  return slots.ready;
}

/* Point a slot at fd (or /dev/null), keeping its number. */
static int
slot_set (int slot, int fd)
{
  int r;

  do
    r = dup3 (fd >= 0 ? fd : slots.null_fd, slot, O_CLOEXEC);
  while (r < 0 && errno == EINTR);
  return r;
}

/* The child's stdout/stderr through the slots, if they can be set. */
static void
args_use_slots (ChildArgs *args)
{
  if (!slots_ready ())
    return;
  if (slot_set (slots.out, args->stdout_fd) < 0 || slot_set (slots.err, args->stderr_fd) < 0)
    {
      g_warning ("Spawning without descriptor slots: %s", g_strerror (errno));
      return;
    }
  args->stdout_fd = args->stdout_fd >= 0 ? slots.out : -1;
  args->stderr_fd = args->stderr_fd >= 0 ? slots.err : -1;
  args->keep_below = MAX (slots.out, slots.err) + 1;
}

static void
args_release_slots (ChildArgs *args)
{
  if (args->keep_below > 0)
    {
      slot_set (slots.out, -1);
      slot_set (slots.err, -1);
    }
}

/* Start a child sharing jobd's memory; *pidfd is set. */
static pid_t
start_child (ChildArgs *args, int *pidfd, GError **error)
{
  sigset_t all, saved;
  pid_t child;
  int saved_errno;

  /* No signal handler of jobd's may run in the child: it would run on
   * jobd's memory. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &saved);
  child = clone_shared (args, pidfd);
  saved_errno = errno;
  pthread_sigmask (SIG_SETMASK, &saved, NULL);

  if (child < 0)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                 "cannot start a process: %s", g_strerror (saved_errno));
  return child;
}

gboolean
jobd_child_spawn (const JobdChildSpec *spec, GPid *pid, int *pidfd, GError **error)
{
  ChildArgs args = { spec, -1, -1, -1, -1, { 0, 0 }, spec->stdout_fd, spec->stderr_fd, 0, -1 };
  pid_t child;

  g_return_val_if_fail (spec->argv != NULL && spec->argv[0] != NULL, FALSE);

  *pidfd = -1;
  args_use_slots (&args);
  child = start_child (&args, pidfd, error);
  args_release_slots (&args);
  if (child < 0)
    return FALSE;
  if (args.report[0] != 0)
    {
      /* It has exited (or is about to): reap it. */
      close (*pidfd);
      *pidfd = -1;
      waitpid (child, NULL, 0);
      set_child_error (error, args.report[0], args.report[1]);
      return FALSE;
    }
  *pid = child;
  return TRUE;
}

static void
close_pipe (int fds[2])
{
  if (fds[0] >= 0)
    close (fds[0]);
  if (fds[1] >= 0)
    close (fds[1]);
  fds[0] = fds[1] = -1;
}

/* A held child and what it uses until it execs: owned by its holding
 * thread, which frees it once the child has exec'd or exited. Of the
 * descriptors in args, jobd's copies are the caller's to close, except
 * started_write: the thread's, so that jobd reads EOF on it if the child
 * dies before it could report. */
typedef struct {
  JobdChildSpec spec;     /* a copy: the caller's may go before the exec */
  ChildArgs args;
  char *stack;
} HeldChild;

static void
held_child_free (HeldChild *held)
{
  close (held->args.started_write);
  jobd_child_spec_clear (&held->spec);
  g_free (held->stack);
  g_free (held);
}

/* The holding thread: clones the child sharing jobd's memory and is
 * suspended (CLONE_VFORK) until the child has exec'd or exited, however
 * long it is held; jobd's main thread goes on meanwhile. A fork would do
 * without the thread, but every page jobd writes while a forked copy waits
 * is then copied (with 1 000 starts under way, most of jobd's time). The
 * child, like any CLONE_VM child, uses only its stack and held->args. */
static void *
held_child_thread (void *data)
{
  HeldChild *held = data;
  pid_t child;

  child = clone (child_run, held->stack + CHILD_STACK_SIZE,
                 CLONE_VM | CLONE_VFORK | SIGCHLD, &held->args);
  if (child < 0)
    {
      /* The child never ran: the thread reports, as a negative errno. */
      pid_t report = -errno;
      ssize_t unused G_GNUC_UNUSED = write (held->args.started_write, &report, sizeof report);
    }
  held_child_free (held);
  return NULL;
}

/* Start the holding thread with every signal blocked (the child inherits
 * its mask: no handler of jobd's may run on jobd's memory in the child). */
static gboolean
start_held_thread (HeldChild *held, GError **error)
{
  pthread_attr_t attr;
  pthread_t thread;
  sigset_t all, saved;
  int r;

  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  /* It makes one call: no need for the default 8 MiB of address space. */
  pthread_attr_setstacksize (&attr, MAX (PTHREAD_STACK_MIN, 64 * 1024));
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &saved);
  r = pthread_create (&thread, &attr, held_child_thread, held);
  pthread_sigmask (SIG_SETMASK, &saved, NULL);
  pthread_attr_destroy (&attr);
  if (r != 0)
    g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                 "cannot start a process: %s", g_strerror (r));
  return r == 0;
}

/* The child's PID (or the thread's clone failure), which comes at once. */
static pid_t
read_started (int started_read, GError **error)
{
  pid_t report = 0;
  ssize_t n;

  do
    n = read (started_read, &report, sizeof report);
  while (n < 0 && errno == EINTR);
  if (n == sizeof report && report > 0)
    return report;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED, "cannot start a process: %s",
               n == sizeof report ? g_strerror (-report) : "it went before it started");
  return -1;
}

gboolean
jobd_child_start_held (const JobdChildSpec *spec,
                      GPid *pid,
                      int *go_fd,
                      int *err_fd,
                      GError **error)
{
  int go_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, started_pipe[2] = { -1, -1 };
  HeldChild *held;
  pid_t child = -1;

  g_return_val_if_fail (spec->argv != NULL && spec->argv[0] != NULL, FALSE);

  if (!g_unix_open_pipe (err_pipe, FD_CLOEXEC, error) ||
      !g_unix_open_pipe (go_pipe, FD_CLOEXEC, error) ||
      !g_unix_open_pipe (started_pipe, FD_CLOEXEC, error))
    {
      close_pipe (err_pipe);
      close_pipe (go_pipe);
      return FALSE;
    }

  held = g_new0 (HeldChild, 1);
  jobd_child_spec_copy (&held->spec, spec);
  held->stack = g_malloc (CHILD_STACK_SIZE);
  held->args = (ChildArgs) { &held->spec, go_pipe[0], go_pipe[1], err_pipe[0], err_pipe[1],
                             { 0, 0 }, spec->stdout_fd, spec->stderr_fd, 0, started_pipe[1] };
  if (start_held_thread (held, error))
    child = read_started (started_pipe[0], error);
  else
    held_child_free (held);   /* closes started_pipe[1] */
  close (started_pipe[0]);

  /* The child has copies of its ends (or will never run): jobd's go now,
   * before another held child's clone copies them. */
  close (go_pipe[0]);
  close (err_pipe[1]);
  if (child < 0)
    {
      close (go_pipe[1]);
      close (err_pipe[0]);
      return FALSE;
    }
  *pid = child;
  *go_fd = go_pipe[1];
  *err_fd = err_pipe[0];
  return TRUE;
}

void
jobd_child_release (int go_fd)
{
  ssize_t n;
  char go = 'g';

  do
    n = write (go_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  close (go_fd);
}

gboolean
jobd_child_exec_outcome (int err_fd, GError **error)
{
  int report[2];
  ssize_t n;

  /* EOF (0 bytes) means exec closed the pipe: the program runs. */
  do
    n = read (err_fd, report, sizeof report);
  while (n < 0 && errno == EINTR);
  close (err_fd);

  if (n == 0)
    return TRUE;
  if (n != sizeof report)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "lost track of the child while starting it");
      return FALSE;
    }
  set_child_error (error, report[0], report[1]);
  return FALSE;
}
