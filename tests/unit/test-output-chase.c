/* SPDX-License-Identifier: MIT */
/* test-output-chase.c — a job that writes one line per write() while jobd
 * reads (issue 16).
 *
 * jobd at 1466e37 chased such a writer: every look at the pipe (tee, read,
 * log write, consume) found the few lines written during the look before,
 * never an empty pipe, so it paid four system calls per few lines and never
 * paused. A dispatch now ends once a look found all the pipe held; what the
 * job writes meanwhile waits in the pipe for the next one, and nothing is
 * lost or repeated. Only in a pipe as big as jobd's FIFOs, though: a
 * smaller one would fill during the flood pause that follows. The writer
 * here is the line sink itself: each line jobd delivers makes one more
 * appear in the pipe, as a writer on another core would during the look.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "jobd-output.h"

#define DEADLINE_MS 20000
#define N_LINES 200    /* 2 kB: well within one dispatch's budget */

typedef struct {
  int fd;              /* the pipe's write end */
  guint written;
  guint seen;
  gboolean in_order;
} Chase;

static void
write_line (Chase *chase)
{
  g_autofree char *text = g_strdup_printf ("line %u\n", chase->written);

  g_assert_cmpint (write (chase->fd, text, strlen (text)), ==, (gssize) strlen (text));
  chase->written++;
}

/* Runs inside jobd's read, after the line went out and before the bytes
 * are taken out of the pipe. */
static void
on_line (const char *job_name, const JobdLine *line, gpointer user_data)
{
  Chase *chase = user_data;
  g_autofree char *want = g_strdup_printf ("line %u", chase->seen);

  chase->in_order = chase->in_order && g_strcmp0 (line->text, want) == 0;
  chase->seen++;
  if (chase->written < N_LINES)
    write_line (chase);
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* A pipe of size bytes (its write end in chase->fd, read end returned)
 * holding the first line; FALSE (skipped) when the pipe cannot be sized. */
static gboolean
chase_pipe (Chase *chase, int size, int *read_fd)
{
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  if (fcntl (fds[1], F_SETPIPE_SZ, size) != size)
    {
      g_test_skip ("cannot size the pipe");
      g_close (fds[0], NULL);
      g_close (fds[1], NULL);
      return FALSE;
    }
  chase->fd = fds[1];
  *read_fd = fds[0];
  write_line (chase);
  return TRUE;
}

static void
wait_all_lines (JobdOutput *output, Chase *chase)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add (DEADLINE_MS, on_deadline, &expired);

  while (jobd_output_get_lines_total (output) < N_LINES && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, N_LINES);
  g_assert_cmpuint (chase->seen, ==, N_LINES);
  g_assert_true (chase->in_order);
  jobd_output_detach (output);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, N_LINES);
  g_close (chase->fd, NULL);
}

/* A pipe as big as jobd's FIFOs (1 MiB). */
static void
test_writer_not_chased (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("chase", 10);
  Chase chase = { .in_order = TRUE };
  int read_fd;

  if (!chase_pipe (&chase, 1024 * 1024, &read_fd))
    return;
  jobd_output_set_line_sink (output, on_line, &chase);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, read_fd);

  /* One dispatch: the one line that was there, not the ones written while
   * it was read (at 1466e37: all N_LINES in this one dispatch). */
  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 1);
  /* Later dispatches take the rest: every line once, in order. */
  wait_all_lines (output, &chase);
}

/* A 64 kB pipe would fill during a flood pause and block its writer: it is
 * read on until EAGAIN, in one dispatch here. */
static void
test_small_pipe_read_on (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("chase", 10);
  Chase chase = { .in_order = TRUE };
  int read_fd;

  if (!chase_pipe (&chase, 64 * 1024, &read_fd))
    return;
  jobd_output_set_line_sink (output, on_line, &chase);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, read_fd);

  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, N_LINES);
  wait_all_lines (output, &chase);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/output-chase/writer-not-chased", test_writer_not_chased);
  g_test_add_func ("/output-chase/small-pipe-read-on", test_small_pipe_read_on);

  return g_test_run ();
}
