/* SPDX-License-Identifier: MIT */
/* jobctl-pager.c — long output through a pager, and the terminal's width.
 *
 * As systemctl does: when stdout is a terminal, list and show go through
 * $JOBD_PAGER, else $PAGER, else `less -FRSX` (an empty value or "cat"
 * means none), unless --no-pager or --json; jobctl writes into a pipe
 * whose other end is the pager's stdin and waits for the pager before it
 * exits. Not a terminal: no pager, and tables keep their full width.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobctl.h"

static pid_t pager_pid;

guint
jobctl_terminal_width (void)
{
  const char *columns = g_getenv ("COLUMNS");
  struct winsize size = { 0 };
  guint64 number;

  if (!isatty (STDOUT_FILENO))
    return 0;
  if (columns != NULL && g_ascii_string_to_unsigned (columns, 10, 1, 10000, &number, NULL))
    return (guint) number;
  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

static const char *
pager_command (void)
{
  const char *command = g_getenv ("JOBD_PAGER");

  if (command == NULL)
    command = g_getenv ("PAGER");
  if (command == NULL)
    command = "less -FRSX";
  if (*command == '\0' || g_str_equal (command, "cat"))
    return NULL;
  return command;
}

void
jobctl_pager_open (Jobctl *jobctl)
{
  const char *command = pager_command ();
  g_autofree char *script = NULL;
  int fds[2];
  pid_t pid;

  if (jobctl->no_pager || jobctl->json || pager_pid != 0 || command == NULL
      || !isatty (STDOUT_FILENO))
    return;
  /* less: quit when it all fits, keep colours, chop long lines (unless the
   * user has their own $LESS). Made before fork: GDBus runs a thread, so the
   * child may only exec. */
  script = g_strdup_printf ("LESS=\"${LESS-FRSXMK}\"; export LESS; %s", command);
  fflush (stdout);
  if (pipe (fds) < 0)
    return;
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return;
    }
  if (pid == 0)
    {
      dup2 (fds[0], STDIN_FILENO);
      close (fds[0]);
      close (fds[1]);
      execl ("/bin/sh", "sh", "-c", script, (char *) NULL);
      _exit (127);
    }
  /* A pager quit early must not kill jobctl with SIGPIPE. */
  signal (SIGPIPE, SIG_IGN);
  dup2 (fds[1], STDOUT_FILENO);
  close (fds[0]);
  close (fds[1]);
  pager_pid = pid;
}

void
jobctl_pager_close (void)
{
  if (pager_pid == 0)
    return;
  fflush (stdout);
  close (STDOUT_FILENO);
  while (waitpid (pager_pid, NULL, 0) < 0 && errno == EINTR)
    ;
  pager_pid = 0;
}
