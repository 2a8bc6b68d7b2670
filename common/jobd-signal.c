/* SPDX-License-Identifier: MIT */
/* jobd-signal.c — signal names <-> numbers, one table for jobd and jobctl.
 *
 * Linux numbers, spelled as signal(7) does; real-time signals have no fixed
 * name and go by number.
 */
#include "jobd-signal.h"

#include <signal.h>

#include "jobd-error.h"

static const struct {
  int signo;
  const char *name;
} signal_names[] = {
  { SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },       { SIGQUIT, "SIGQUIT" },
  { SIGILL, "SIGILL" },   { SIGTRAP, "SIGTRAP" },     { SIGABRT, "SIGABRT" },
  { SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },       { SIGKILL, "SIGKILL" },
  { SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" },     { SIGUSR2, "SIGUSR2" },
  { SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" },     { SIGTERM, "SIGTERM" },
  { SIGSTKFLT, "SIGSTKFLT" }, { SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" },
  { SIGSTOP, "SIGSTOP" }, { SIGTSTP, "SIGTSTP" },     { SIGTTIN, "SIGTTIN" },
  { SIGTTOU, "SIGTTOU" }, { SIGURG, "SIGURG" },       { SIGXCPU, "SIGXCPU" },
  { SIGXFSZ, "SIGXFSZ" }, { SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
  { SIGWINCH, "SIGWINCH" }, { SIGIO, "SIGIO" },       { SIGPWR, "SIGPWR" },
  { SIGSYS, "SIGSYS" },
  /* Aliases, accepted on input only: to_string finds the names above first. */
  { SIGABRT, "SIGIOT" },  { SIGIO, "SIGPOLL" },       { SIGCHLD, "SIGCLD" },
};

int
jobd_signal_from_string (const char *text, GError **error)
{
  guint64 number;
  const char *name = text;

  if (text != NULL && g_ascii_string_to_unsigned (text, 10, 1, JOBD_SIGNAL_MAX, &number, NULL))
    return (int) number;

  if (name != NULL && g_ascii_strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (gsize i = 0; name != NULL && *name != '\0' && i < G_N_ELEMENTS (signal_names); i++)
    if (g_ascii_strcasecmp (name, signal_names[i].name + 3) == 0)
      return signal_names[i].signo;

  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "unknown signal '%s': use a name like TERM or a number from 1 to %d",
               text != NULL ? text : "", JOBD_SIGNAL_MAX);
  return -1;
}

const char *
jobd_signal_to_string (int signo)
{
  for (gsize i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (signal_names[i].signo == signo)
      return signal_names[i].name;
  return NULL;
}
