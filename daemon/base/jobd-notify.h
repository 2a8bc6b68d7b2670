/* SPDX-License-Identifier: MIT */
/* jobd-notify.h — the sd_notify(3) protocol, jobd's side of it.
 *
 * One AF_UNIX datagram socket per job that asks for it (ready=notify or a
 * watchdog), bound in jobd's runtime directory; its path goes into the
 * job's NOTIFY_SOCKET. Why one per job rather than one shared: the path a
 * message arrives on already says which job it claims to be from, so
 * checking the sender is "is this PID in that job?", one lookup, instead
 * of finding the job of an arbitrary PID among all of them; and a job that
 * floods its socket fills its own receive queue only. Its descriptor is
 * watched through jobd_fd_watch_add(), like every per-job descriptor.
 *
 * SO_PASSCRED makes the kernel attach the sender's PID and UID to every
 * datagram (a sender cannot forge them); the owner of the socket decides
 * whether that PID belongs to the job. Work is bounded: a datagram larger
 * than JOBD_NOTIFY_MESSAGE_MAX is dropped, at most
 * JOBD_NOTIFY_RATE_PER_SECOND messages a second are handed on (the rest
 * are read and dropped, counted), and one wake-up reads at most a few
 * datagrams, so a flooding job neither grows memory (the kernel's receive
 * queue is the only buffer) nor starves the main loop.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define JOBD_NOTIFY_MESSAGE_MAX 4096
#define JOBD_NOTIFY_RATE_PER_SECOND 200

typedef struct {
  gboolean ready;            /* READY=1 */
  gboolean reloading;        /* RELOADING=1 */
  gboolean stopping;         /* STOPPING=1 */
  gboolean watchdog;         /* WATCHDOG=1 */
  gboolean watchdog_trigger; /* WATCHDOG=trigger */
  char *status;              /* STATUS=..., NULL when absent */
  GPid main_pid;             /* MAINPID=, 0 when absent */
  guint64 monotonic_usec;    /* MONOTONIC_USEC=, 0 when absent */
  guint64 extend_timeout_usec;  /* EXTEND_TIMEOUT_USEC=, 0 when absent */
  guint64 watchdog_usec;     /* WATCHDOG_USEC=, 0 when absent */
} JobdNotifyMessage;

/* Parse newline-separated KEY=VALUE assignments; unknown keys and
 * malformed values are skipped (as systemd does). FALSE for data that is
 * not a notify message at all (empty, or with a NUL byte). */
gboolean jobd_notify_message_parse (const char *data, gsize length, JobdNotifyMessage *message);
void jobd_notify_message_clear (JobdNotifyMessage *message);

/* sender_pid / sender_uid: from the kernel (SCM_CREDENTIALS). It must not
 * free the socket it is called from. */
typedef void (*JobdNotifyFunc) (const JobdNotifyMessage *message,
                                GPid sender_pid,
                                uid_t sender_uid,
                                gpointer user_data);

typedef struct _JobdNotifySocket JobdNotifySocket;

/* Bind a socket at path (a stale one there is replaced), writable by
 * anyone (the job may run as another user; senders are checked by their
 * credentials, not by who can reach the file). */
JobdNotifySocket *jobd_notify_socket_new (const char *path,
                                          JobdNotifyFunc func,
                                          gpointer user_data,
                                          GError **error);
/* A paused socket is not read: messages wait in the kernel's queue (bounded
 * by it; a sender gets EAGAIN when full). For the time between the job's
 * program starting and jobd knowing its PID, when a sender cannot be
 * checked yet: a socket starts paused. */
void jobd_notify_socket_set_paused (JobdNotifySocket *socket, gboolean paused);
/* Closes and unlinks. */
void jobd_notify_socket_free (JobdNotifySocket *socket);
const char *jobd_notify_socket_get_path (JobdNotifySocket *socket);
/* Messages dropped so far (too large, over the rate). */
guint64 jobd_notify_socket_get_dropped (JobdNotifySocket *socket);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdNotifySocket, jobd_notify_socket_free)

G_END_DECLS
