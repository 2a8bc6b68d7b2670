/* SPDX-License-Identifier: MIT */
/* jobd-fdwatch.h — many descriptors behind one main-loop source.
 *
 * GLib's main loop walks every attached source on every iteration, so with a
 * source per job descriptor (two output FIFOs and a pidfd each) an iteration
 * costs time in proportion to the number of jobs: with 6000 jobs, a D-Bus
 * Status round trip took 6 ms instead of 0.14 ms. Job descriptors are
 * watched here instead: one epoll set per main context, itself one source,
 * so an iteration costs what is ready, not what exists.
 *
 * Watches are level-triggered like GLib's fd sources: a callback that leaves
 * data unread is called again on the next iteration.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JobdFdWatch JobdFdWatch;

/* Return FALSE to remove the watch (as G_SOURCE_REMOVE would). */
typedef gboolean (*JobdFdWatchFunc) (int fd, GIOCondition condition, gpointer user_data);

/* Watch fd for events (G_IO_IN, G_IO_OUT; G_IO_HUP and G_IO_ERR are always
 * reported) in context (NULL: the global default). The fd stays the
 * caller's; remove the watch before closing it. NULL with error set when
 * the kernel refuses (out of memory or of epoll watches). */
JobdFdWatch *jobd_fd_watch_add (GMainContext *context,
                                int fd,
                                GIOCondition events,
                                JobdFdWatchFunc func,
                                gpointer user_data,
                                GError **error);

/* Change what fd is watched for. With edge, the callback runs only when
 * something new happens (new data written, the peer went away), not while
 * unread data waits: for a reader that leaves bytes in place on purpose
 * (an incomplete line) and must not be called again until more come.
 * FALSE with error when the kernel refuses. */
gboolean jobd_fd_watch_modify (JobdFdWatch *watch,
                               GIOCondition events,
                               gboolean edge,
                               GError **error);

/* Safe from inside any watch's callback, including its own. */
void jobd_fd_watch_remove (JobdFdWatch *watch);

G_END_DECLS
