/* SPDX-License-Identifier: MIT */
/* jobd-fdwatch.c — many descriptors behind one main-loop source (epoll).
 *
 * One Poller per main context: an epoll descriptor attached to the context
 * as a single GSource. Its dispatch takes what epoll reports ready (bounded
 * per iteration, so one busy context cannot starve the rest of the loop) and
 * calls those watches. A watch removed while the poller dispatches may still
 * be named further down the batch of events, so it is only marked dead then,
 * and freed once the batch is done. A poller lives as long as its context.
 */
#include "config.h"

#include "jobd-fdwatch.h"

#include <errno.h>
#include <gio/gio.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_PER_DISPATCH 64

typedef struct _Poller Poller;

struct _JobdFdWatch {
  Poller *poller;
  int fd;
  JobdFdWatchFunc func;
  gpointer user_data;
  gboolean dead;
};

struct _Poller {
  GSource source;
  GMainContext *context;
  int epoll_fd;
  gboolean dispatching;
  GPtrArray *dead;          /* removed during a dispatch, freed after it */
};

/* context → Poller; touched only from the main contexts' own threads, and
 * jobd has one: the lock is for the tests' sake. */
static GMutex pollers_lock;
static GHashTable *pollers;

static guint32
epoll_events (GIOCondition events)
{
  guint32 e = 0;

  if (events & G_IO_IN)
    e |= EPOLLIN;
  if (events & G_IO_OUT)
    e |= EPOLLOUT;
  return e;
}

static GIOCondition
io_condition (guint32 e)
{
  GIOCondition c = 0;

  if (e & EPOLLIN)
    c |= G_IO_IN;
  if (e & EPOLLOUT)
    c |= G_IO_OUT;
  if (e & EPOLLHUP)
    c |= G_IO_HUP;
  if (e & EPOLLERR)
    c |= G_IO_ERR;
  return c;
}

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  Poller *poller = (Poller *) source;
  struct epoll_event events[EVENTS_PER_DISPATCH];
  int n;

  do
    n = epoll_wait (poller->epoll_fd, events, G_N_ELEMENTS (events), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      g_warning ("epoll_wait failed: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }

  poller->dispatching = TRUE;
  for (int i = 0; i < n; i++)
    {
      JobdFdWatch *watch = events[i].data.ptr;

      if (!watch->dead && !watch->func (watch->fd, io_condition (events[i].events),
                                        watch->user_data))
        jobd_fd_watch_remove (watch);
    }
  poller->dispatching = FALSE;
  g_ptr_array_set_size (poller->dead, 0);
  return G_SOURCE_CONTINUE;
}

/* The context went away, and its sources with it. */
static void
poller_finalize (GSource *source)
{
  Poller *poller = (Poller *) source;

  g_mutex_lock (&pollers_lock);
  if (g_hash_table_lookup (pollers, poller->context) == poller)
    g_hash_table_remove (pollers, poller->context);
  g_mutex_unlock (&pollers_lock);
  g_clear_pointer (&poller->dead, g_ptr_array_unref);
  if (poller->epoll_fd >= 0)
    close (poller->epoll_fd);
}

static GSourceFuncs poller_funcs = {
  .dispatch = poller_dispatch,
  .finalize = poller_finalize,
};

static Poller *
poller_get (GMainContext *context, GError **error)
{
  Poller *poller;
  int epoll_fd;

  g_mutex_lock (&pollers_lock);
  if (pollers == NULL)
    pollers = g_hash_table_new (NULL, NULL);
  poller = g_hash_table_lookup (pollers, context);
  if (poller == NULL)
    {
      epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
      if (epoll_fd < 0)
        {
          int saved_errno = errno;

          g_mutex_unlock (&pollers_lock);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "cannot create an epoll set: %s", g_strerror (saved_errno));
          return NULL;
        }
      poller = (Poller *) g_source_new (&poller_funcs, sizeof (Poller));
      poller->context = context;
      poller->epoll_fd = epoll_fd;
      poller->dead = g_ptr_array_new_with_free_func (g_free);
      g_source_set_static_name (&poller->source, "jobd fd watches");
      g_source_add_unix_fd (&poller->source, epoll_fd, G_IO_IN);
      g_source_attach (&poller->source, context);
      g_source_unref (&poller->source);    /* the context holds it */
      g_hash_table_insert (pollers, context, poller);
    }
  g_mutex_unlock (&pollers_lock);
  return poller;
}

JobdFdWatch *
jobd_fd_watch_add (GMainContext *context,
                   int fd,
                   GIOCondition events,
                   JobdFdWatchFunc func,
                   gpointer user_data,
                   GError **error)
{
  Poller *poller;
  JobdFdWatch *watch;
  struct epoll_event event = { 0 };

  g_return_val_if_fail (fd >= 0 && func != NULL, NULL);

  poller = poller_get (context != NULL ? context : g_main_context_default (), error);
  if (poller == NULL)
    return NULL;
  watch = g_new0 (JobdFdWatch, 1);
  watch->poller = poller;
  watch->fd = fd;
  watch->func = func;
  watch->user_data = user_data;
  event.events = epoll_events (events);
  event.data.ptr = watch;
  if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot watch descriptor %d: %s", fd, g_strerror (saved_errno));
      g_free (watch);
      return NULL;
    }
  return watch;
}

gboolean
jobd_fd_watch_modify (JobdFdWatch *watch,
                      GIOCondition events,
                      gboolean edge,
                      GError **error)
{
  struct epoll_event event = { 0 };

  g_return_val_if_fail (watch != NULL && !watch->dead, FALSE);

  event.events = epoll_events (events) | (edge ? EPOLLET : 0);
  event.data.ptr = watch;
  if (epoll_ctl (watch->poller->epoll_fd, EPOLL_CTL_MOD, watch->fd, &event) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot watch descriptor %d: %s", watch->fd, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

void
jobd_fd_watch_remove (JobdFdWatch *watch)
{
  Poller *poller;

  if (watch == NULL || watch->dead)
    return;
  poller = watch->poller;
  watch->dead = TRUE;
  if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL) < 0)
    g_warning ("cannot stop watching descriptor %d: %s", watch->fd, g_strerror (errno));
  if (poller->dispatching)
    g_ptr_array_add (poller->dead, watch);
  else
    g_free (watch);
}
