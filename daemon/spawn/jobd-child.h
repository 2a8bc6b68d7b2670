/* SPDX-License-Identifier: MIT */
/* jobd-child.h — starting a job's process, shared by every spawner.
 *
 * The child starts with everything prepared in the parent (argv, envp,
 * groups: a JobdChildSpec, which core/jobd-launch.c makes from a job's
 * settings) so that before exec it only makes async-signal-safe calls: new
 * session, stdio, credentials, working directory (see README.md in this
 * folder for the rules below the clone). jobd_child_spawn() starts
 * it sharing jobd's memory until it execs (CLONE_VM | CLONE_VFORK, like
 * posix_spawn), several times cheaper than a fork, and knows the outcome
 * when it returns. jobd_child_start_held() starts one the same way from a
 * thread of its own, suspended with it, and the child waits on a "go"
 * pipe until jobd_child_release(), which lets the systemd spawner move it
 * into its scope before the job's program runs; its exec failure travels
 * back as errno on a close-on-exec pipe. Either way a start really runs
 * the program or fails with a clear error naming the step.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct {
  char **argv;          /* argv[0] is the path to exec (absolute or relative to cwd) */
  char **envp;
  const char *cwd;      /* NULL = inherit */
  gboolean set_creds;   /* switch to uid/gid/groups (jobd runs as root) */
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int n_groups;
  int stdout_fd;        /* dup2'd to 1 in the child; -1 = /dev/null */
  int stderr_fd;        /* dup2'd to 2 in the child; -1 = /dev/null */
  int cgroup_fds[2];    /* cgroup.procs files the child joins first; -1 = none */
} JobdChildSpec;

void jobd_child_spec_clear (JobdChildSpec *spec);
/* A deep copy of src into dest (which is overwritten, not cleared). */
void jobd_child_spec_copy (JobdChildSpec *dest, const JobdChildSpec *src);

/* The descriptor soft limit jobs get (jobd raises its own): call once at
 * start-up with the limit jobd was started with. */
void jobd_child_set_fd_soft_limit (guint64 limit);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobdChildSpec, jobd_child_spec_clear)

/* Start the child and return once it has exec'd: *pid is the child
 * (leader of a new session) and *pidfd a pidfd for it. When a step before
 * the exec failed, SPAWN_FAILED names it (the child is reaped). */
gboolean jobd_child_spawn (const JobdChildSpec *spec,
                           GPid *pid,
                           int *pidfd,
                           GError **error);

/* Start a child that waits before exec (costing jobd a thread while it
 * waits, not a copy of its memory). On success *pid is the child
 * (leader of a new session), *go_fd the write end of the go pipe and
 * *err_fd the read end of the exec-error pipe; pass both to
 * jobd_child_release(). */
gboolean jobd_child_start_held (const JobdChildSpec *spec,
                               GPid *pid,
                               int *go_fd,
                               int *err_fd,
                               GError **error);

/* Let a held child go on to exec. Closes go_fd. Its outcome arrives on
 * err_fd: watch it for G_IO_IN | G_IO_HUP, then read it with
 * jobd_child_exec_outcome(). */
void jobd_child_release (int go_fd);

/* Once err_fd is readable: TRUE when exec succeeded (the pipe closed with
 * it), else SPAWN_FAILED naming the step and errno. Closes err_fd. */
gboolean jobd_child_exec_outcome (int err_fd, GError **error);

G_END_DECLS
