/* SPDX-License-Identifier: MIT */
/* jobd-notify.c — a job's notify socket: receive, check size and rate,
 * parse, hand on with the sender's credentials. */
#include "config.h"

#include "jobd-notify.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-fdwatch.h"

/* Datagrams read per wake-up; the watch is level-triggered, so more wait
 * for the next main-loop iteration instead of starving everything else. */
#define READS_PER_WAKEUP 16
/* File descriptors a sender may attach (FDSTORE=1, which jobd does not
 * keep): received only to be closed. */
#define MAX_PASSED_FDS 16

struct _JobdNotifySocket {
  int fd;
  char *path;
  JobdFdWatch *watch;
  JobdNotifyFunc func;
  gpointer user_data;
  gint64 window_start;   /* monotonic µs of the current one-second window */
  guint window_count;
  guint64 dropped;
};

/* ---- parsing ---- */

static gboolean
parse_u64 (const char *text, guint64 *out)
{
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, NULL);
}

static void
parse_assignment (JobdNotifyMessage *m, const char *line)
{
  const char *eq = strchr (line, '=');
  g_autofree char *key = NULL;
  const char *value;
  guint64 number;

  if (eq == NULL)
    return;
  key = g_strndup (line, (gsize) (eq - line));
  value = eq + 1;
  if (g_str_equal (key, "READY"))
    m->ready = m->ready || g_str_equal (value, "1");
  else if (g_str_equal (key, "RELOADING"))
    m->reloading = m->reloading || g_str_equal (value, "1");
  else if (g_str_equal (key, "STOPPING"))
    m->stopping = m->stopping || g_str_equal (value, "1");
  else if (g_str_equal (key, "WATCHDOG"))
    {
      m->watchdog = m->watchdog || g_str_equal (value, "1");
      m->watchdog_trigger = m->watchdog_trigger || g_str_equal (value, "trigger");
    }
  else if (g_str_equal (key, "STATUS"))
    {
      /* Shown to users and logged: valid UTF-8 only. */
      g_free (m->status);
      m->status = g_utf8_make_valid (value, -1);
    }
  else if (g_str_equal (key, "MAINPID") && parse_u64 (value, &number) && number > 0 &&
           number <= G_MAXINT32)
    m->main_pid = (GPid) number;
  else if (g_str_equal (key, "MONOTONIC_USEC") && parse_u64 (value, &number))
    m->monotonic_usec = number;
  else if (g_str_equal (key, "EXTEND_TIMEOUT_USEC") && parse_u64 (value, &number))
    m->extend_timeout_usec = number;
  else if (g_str_equal (key, "WATCHDOG_USEC") && parse_u64 (value, &number))
    m->watchdog_usec = number;
}

gboolean
jobd_notify_message_parse (const char *data, gsize length, JobdNotifyMessage *message)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  memset (message, 0, sizeof *message);
  if (length == 0 || memchr (data, '\0', length) != NULL)
    return FALSE;
  text = g_strndup (data, length);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    parse_assignment (message, lines[i]);
  return TRUE;
}

void
jobd_notify_message_clear (JobdNotifyMessage *message)
{
  g_clear_pointer (&message->status, g_free);
}

/* ---- receiving ---- */

static void
close_passed_fds (struct msghdr *msg)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR (msg); c != NULL; c = CMSG_NXTHDR (msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        gsize n = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        int fds[MAX_PASSED_FDS];
        memcpy (fds, CMSG_DATA (c), MIN (n, (gsize) MAX_PASSED_FDS) * sizeof (int));
        for (gsize i = 0; i < MIN (n, (gsize) MAX_PASSED_FDS); i++)
          close (fds[i]);
      }
}

static const struct ucred *
find_credentials (struct msghdr *msg)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR (msg); c != NULL; c = CMSG_NXTHDR (msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
        c->cmsg_len == CMSG_LEN (sizeof (struct ucred)))
      return (const struct ucred *) (gpointer) CMSG_DATA (c);
  return NULL;
}

/* FALSE once the rate of this second is used up. */
static gboolean
rate_allows (JobdNotifySocket *self)
{
  gint64 now = g_get_monotonic_time ();

  if (now - self->window_start >= G_USEC_PER_SEC)
    {
      self->window_start = now;
      self->window_count = 0;
    }
  return ++self->window_count <= JOBD_NOTIFY_RATE_PER_SECOND;
}

static void
deliver (JobdNotifySocket *self, const char *data, gsize length, const struct ucred *cred)
{
  JobdNotifyMessage message;

  if (!jobd_notify_message_parse (data, length, &message))
    {
      self->dropped++;
      return;
    }
  self->func (&message, cred->pid, cred->uid, self->user_data);
  jobd_notify_message_clear (&message);
}

/* TRUE when a datagram was read (and dealt with). */
static gboolean
read_one (JobdNotifySocket *self)
{
  char data[JOBD_NOTIFY_MESSAGE_MAX];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (struct ucred)) + CMSG_SPACE (sizeof (int) * MAX_PASSED_FDS)];
  } control;
  struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
  struct msghdr msg = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = &control,
    .msg_controllen = sizeof control,
  };
  const struct ucred *cred;
  ssize_t n;

  memset (&control, 0, sizeof control);
  n = recvmsg (self->fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  if (n < 0)
    return FALSE;
  close_passed_fds (&msg);
  cred = find_credentials (&msg);
  if ((gsize) n > sizeof data || (msg.msg_flags & MSG_TRUNC) || cred == NULL ||
      !rate_allows (self))
    {
      self->dropped++;
      return TRUE;
    }
  deliver (self, data, (gsize) n, cred);
  return TRUE;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  JobdNotifySocket *self = user_data;

  for (guint i = 0; i < READS_PER_WAKEUP; i++)
    if (!read_one (self))
      break;
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle ---- */

static gboolean
bind_socket (int fd, const char *path, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int one = 1;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "notify socket path '%s' is longer than %zu bytes", path,
                   sizeof addr.sun_path - 1);
      return FALSE;
    }
  strcpy (addr.sun_path, path);
  (void) unlink (path);
  if (setsockopt (fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
      bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
      chmod (path, 0666) < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "notify socket '%s': %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

JobdNotifySocket *
jobd_notify_socket_new (const char *path,
                        JobdNotifyFunc func,
                        gpointer user_data,
                        GError **error)
{
  JobdNotifySocket *self;
  int fd;

  g_return_val_if_fail (path != NULL && func != NULL, NULL);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "notify socket: %s", g_strerror (saved));
      return NULL;
    }
  if (!bind_socket (fd, path, error))
    {
      close (fd);
      return NULL;
    }
  self = g_new0 (JobdNotifySocket, 1);
  self->fd = fd;
  self->path = g_strdup (path);
  self->func = func;
  self->user_data = user_data;
  self->watch = jobd_fd_watch_add (NULL, fd, 0, on_readable, self, error);
  if (self->watch == NULL)
    {
      jobd_notify_socket_free (self);
      return NULL;
    }
  return self;
}

void
jobd_notify_socket_set_paused (JobdNotifySocket *self, gboolean paused)
{
  g_autoptr(GError) error = NULL;

  if (!jobd_fd_watch_modify (self->watch, paused ? 0 : G_IO_IN, FALSE, &error))
    g_warning ("notify socket %s: %s", self->path, error->message);
}

void
jobd_notify_socket_free (JobdNotifySocket *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->watch, jobd_fd_watch_remove);
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  (void) unlink (self->path);
  g_free (self->path);
  g_free (self);
}

const char *
jobd_notify_socket_get_path (JobdNotifySocket *self)
{
  return self->path;
}

guint64
jobd_notify_socket_get_dropped (JobdNotifySocket *self)
{
  return self->dropped;
}
