/* SPDX-License-Identifier: MIT */
/* test-fdwatch.c — descriptors watched through one epoll source per context. */
#include <gio/gio.h>
#include <glib-unix.h>
#include <unistd.h>

#include "jobd-fdwatch.h"

#define DEADLINE_US (10 * G_USEC_PER_SEC)

typedef struct {
  int fds[2];
  JobdFdWatch *watch;
  guint calls;
  gboolean keep;             /* the callback's return value */
  gsize read_per_call;       /* bytes taken per call (0: none) */
  JobdFdWatch **remove_too;  /* another watch the callback removes */
} Pipe;

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  Pipe *p = user_data;
  char buf[64];

  g_assert_cmpint (fd, ==, p->fds[0]);
  g_assert_true (condition & G_IO_IN);
  p->calls++;
  if (p->read_per_call > 0)
    g_assert_cmpint (read (fd, buf, MIN (p->read_per_call, sizeof buf)), >, 0);
  if (p->remove_too != NULL)
    g_clear_pointer (p->remove_too, jobd_fd_watch_remove);
  if (!p->keep)
    p->watch = NULL;    /* removed by returning FALSE */
  return p->keep;
}

static void
pipe_init (Pipe *p, GMainContext *context)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_unix_open_pipe (p->fds, FD_CLOEXEC, &error));
  g_assert_true (g_unix_set_fd_nonblocking (p->fds[0], TRUE, &error));
  p->keep = TRUE;
  p->watch = jobd_fd_watch_add (context, p->fds[0], G_IO_IN, on_readable, p, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p->watch);
}

static void
pipe_clear (Pipe *p)
{
  g_clear_pointer (&p->watch, jobd_fd_watch_remove);
  close (p->fds[0]);
  close (p->fds[1]);
}

static void
write_byte (Pipe *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (write (p->fds[1], "x", 1), ==, 1);
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate (blocking on the context's events) until cond holds; a timer in
 * the same context ends the wait at the deadline. */
static void
iterate_until (GMainContext *context, gboolean (*cond) (gpointer), gpointer data)
{
  gboolean expired = FALSE;
  GSource *timer = g_timeout_source_new (DEADLINE_US / 1000);

  g_source_set_callback (timer, on_deadline, &expired, NULL);
  g_source_attach (timer, context);
  while (!cond (data) && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  g_assert_false (expired);
}

static gboolean
called_three_times (gpointer data)
{
  return ((Pipe *) data)->calls >= 3;
}

/* Data left unread makes the watch fire again (level-triggered), and
 * nothing fires once it is read. */
static void
test_level_triggered (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Pipe p = { 0 };

  pipe_init (&p, context);
  p.read_per_call = 1;
  write_byte (&p, 3);
  iterate_until (context, called_three_times, &p);
  g_assert_cmpuint (p.calls, ==, 3);
  /* Drained: further iterations call nothing. */
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (p.calls, ==, 3);
  pipe_clear (&p);
}

static gboolean
called_once (gpointer data)
{
  return ((Pipe *) data)->calls >= 1;
}

/* Returning FALSE removes the watch: unread data calls it no more. */
static void
test_remove_by_return (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Pipe p = { 0 };

  pipe_init (&p, context);
  p.keep = FALSE;
  write_byte (&p, 1);
  iterate_until (context, called_once, &p);
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_null (p.watch);
  pipe_clear (&p);
}

typedef struct {
  Pipe *pipes;
  guint n;
} Pipes;

static gboolean
one_called (gpointer data)
{
  Pipes *all = data;

  for (guint i = 0; i < all->n; i++)
    if (all->pipes[i].calls > 0)
      return TRUE;
  return FALSE;
}

/* A callback removes the other watch whose event is in the same batch: the
 * removed one is not called (and nothing touches freed memory: ASan). */
static void
test_remove_other_in_same_batch (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Pipe pipes[2] = { { { 0 } } };
  Pipes all = { pipes, 2 };

  pipe_init (&pipes[0], context);
  pipe_init (&pipes[1], context);
  pipes[0].remove_too = &pipes[1].watch;
  pipes[1].remove_too = &pipes[0].watch;
  write_byte (&pipes[0], 1);
  write_byte (&pipes[1], 1);
  iterate_until (context, one_called, &all);
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
  /* Whichever ran first removed the other before its turn. */
  g_assert_true ((pipes[0].calls == 0) != (pipes[1].calls == 0));
  pipe_clear (&pipes[0]);
  pipe_clear (&pipes[1]);
}

static gboolean
all_called (gpointer data)
{
  Pipes *all = data;

  for (guint i = 0; i < all->n; i++)
    if (all->pipes[i].calls == 0)
      return FALSE;
  return TRUE;
}

/* More ready descriptors than one dispatch takes: all are served. */
static void
test_many_ready (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Pipes all = { g_new0 (Pipe, 300), 300 };

  for (guint i = 0; i < all.n; i++)
    {
      pipe_init (&all.pipes[i], context);
      all.pipes[i].read_per_call = 1;
      write_byte (&all.pipes[i], 1);
    }
  iterate_until (context, all_called, &all);
  for (guint i = 0; i < all.n; i++)
    {
      g_assert_cmpuint (all.pipes[i].calls, ==, 1);
      pipe_clear (&all.pipes[i]);
    }
  g_free (all.pipes);
}

/* Watches belong to their context: another context's iteration calls none. */
static void
test_contexts_apart (void)
{
  g_autoptr(GMainContext) mine = g_main_context_new ();
  g_autoptr(GMainContext) other = g_main_context_new ();
  Pipe p = { 0 }, q = { 0 };

  pipe_init (&p, mine);
  pipe_init (&q, other);     /* gives other a poller of its own */
  write_byte (&p, 1);
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (other, FALSE);
  g_assert_cmpuint (p.calls, ==, 0);
  iterate_until (mine, called_once, &p);
  pipe_clear (&p);
  pipe_clear (&q);
}

/* A descriptor epoll cannot watch is an error, not a crash. */
static void
test_bad_fd (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  JobdFdWatch *watch = jobd_fd_watch_add (context, 1000000, G_IO_IN, on_readable, NULL, &error);

  g_assert_null (watch);
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
}

/* Edge-triggered: data left unread does not fire again; a new write does.
 * Back to level-triggered, the unread data fires again. */
static void
test_edge_triggered (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  Pipe p = { 0 };

  pipe_init (&p, context);
  write_byte (&p, 1);
  g_assert_true (jobd_fd_watch_modify (p.watch, G_IO_IN, TRUE, &error));
  g_assert_no_error (error);
  iterate_until (context, called_once, &p);
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (p.calls, ==, 1);          /* unread, yet not again */
  p.calls = 0;
  write_byte (&p, 1);
  iterate_until (context, called_once, &p);   /* the write woke it */
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (p.calls, ==, 1);
  p.calls = 0;
  g_assert_true (jobd_fd_watch_modify (p.watch, G_IO_IN, FALSE, &error));
  iterate_until (context, called_three_times, &p);
  pipe_clear (&p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fdwatch/level-triggered", test_level_triggered);
  g_test_add_func ("/fdwatch/remove-by-return", test_remove_by_return);
  g_test_add_func ("/fdwatch/remove-other-in-same-batch", test_remove_other_in_same_batch);
  g_test_add_func ("/fdwatch/many-ready", test_many_ready);
  g_test_add_func ("/fdwatch/contexts-apart", test_contexts_apart);
  g_test_add_func ("/fdwatch/bad-fd", test_bad_fd);
  g_test_add_func ("/fdwatch/edge-triggered", test_edge_triggered);
  return g_test_run ();
}
