/* jobd-output.c — capture a job's stdout/stderr into lines.
 *
 * Every line, whether read from a stream or appended by jobd, takes one path
 * (output_deliver): ring buffer, log file, followers, sink. The ring is a
 * circular array of JobdLine pointers, each line one allocation holding its
 * text, so appending is O(1) and memory is bounded by buffer_size lines of at
 * most JOBD_LINE_MAX bytes (3× that after U+FFFD replacement).
 *
 * Sources are attached to the thread-default main context of the thread that
 * created the output; they read at most READ_BUDGET bytes per dispatch so a
 * flooding job yields to everything else in the loop.
 *
 * The line sink runs inside a read; it must not attach or detach streams
 * of the output that calls it.
 */
#include "jobd-output.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "jobd-fdwatch.h"
#include "jobd-linesplit.h"
#include "jobd-logfile.h"

#define READ_CHUNK (16 * 1024)
/* Bytes per main-loop dispatch of one stream: a few reads, then yield. */
#define READ_BUDGET (64 * 1024)
/* Bytes one drain may read: more than a full pipe (pipe-max-size defaults
 * to 1 MiB), yet finite if something still writes while we drain. */
#define DRAIN_BUDGET (4 * 1024 * 1024)
/* Room in a follower's pipe, so a line of JOBD_LINE_MAX fits. */
#define FOLLOWER_PIPE_SIZE (1024 * 1024)

typedef struct {
  JobdOutput *output;        /* unowned back pointer */
  JobdStream stream;
  int fd;                    /* -1 when not attached */
  JobdFdWatch *watch;
  JobdLineSplitter *splitter;
  gboolean peekable;         /* fd is a pipe: look with tee() before taking */
} OutputStream;

struct _JobdOutput {
  GObject parent_instance;

  char *job_name;
  GMainContext *context;

  /* The ring: lines[(head + i) % size] for i in [0, count), oldest first. */
  JobdLine **lines;
  guint size;
  guint head;
  guint count;

  OutputStream streams[2];
  JobdLogFile *log;
  GArray *followers;         /* int write ends */
  GString *follow_buf;
  JobdLineSink sink;
  gpointer sink_data;
  guint64 lines_total;
  gint64 read_time;          /* while a chunk is split: when it was read */
};

G_DEFINE_FINAL_TYPE (JobdOutput, jobd_output, G_TYPE_OBJECT)

const char *
jobd_stream_to_string (JobdStream stream)
{
  switch (stream)
    {
    case JOBD_STREAM_STDOUT:
      return "stdout";
    case JOBD_STREAM_STDERR:
      return "stderr";
    default:
      g_return_val_if_reached ("unknown");
    }
}

/* One allocation for the struct and its text. */
static JobdLine *
jobd_line_new (gint64 time_usec, JobdStream stream, const char *text, gsize len)
{
  JobdLine *line = g_malloc (sizeof (JobdLine) + len + 1);

  line->time_usec = time_usec;
  line->stream = stream;
  line->text = (char *) (line + 1);
  memcpy (line->text, text, len);
  line->text[len] = '\0';
  return line;
}

void
jobd_line_free (JobdLine *line)
{
  if (line == NULL)
    return;
  /* Tolerate a JobdLine built elsewhere with its own text. */
  if (line->text != (char *) (line + 1))
    g_free (line->text);
  g_free (line);
}

/* ---- ring ---------------------------------------------------------- */

/* A line for the ring. When the ring is full its oldest line goes, and its
 * memory is reused if it fits: a flood (lines of similar length) then costs
 * no malloc/free pair per line. "Fits" has an upper bound too, so a ring
 * that once held long lines does not keep their memory for short ones. */
static JobdLine *
ring_line_new (JobdOutput *self, gint64 time_usec, JobdStream stream,
               const char *text, gsize len)
{
  JobdLine *line;
  gsize need, have;

  if (self->size == 0 || self->count < self->size)
    return jobd_line_new (time_usec, stream, text, len);
  line = self->lines[self->head];
  self->head = (self->head + 1) % self->size;
  self->count--;
  need = sizeof (JobdLine) + len + 1;
  have = malloc_usable_size (line);
  if (have < need || have > 2 * need + 64)
    {
      jobd_line_free (line);
      return jobd_line_new (time_usec, stream, text, len);
    }
  line->time_usec = time_usec;
  line->stream = stream;
  memcpy (line->text, text, len);
  line->text[len] = '\0';
  return line;
}

/* The ring takes line (a ring of size 0 keeps nothing; the caller frees). */
static void
ring_push (JobdOutput *self, JobdLine *line)
{
  if (self->size == 0)
    return;
  if (self->count == self->size)
    {
      jobd_line_free (self->lines[self->head]);
      self->lines[self->head] = line;
      self->head = (self->head + 1) % self->size;
      return;
    }
  self->lines[(self->head + self->count) % self->size] = line;
  self->count++;
}

static JobdLine *
ring_nth (JobdOutput *self, guint i)
{
  return self->lines[(self->head + i) % self->size];
}

void
jobd_output_set_buffer_size (JobdOutput *output, guint buffer_size)
{
  JobdLine **lines;
  guint keep;

  g_return_if_fail (JOBD_IS_OUTPUT (output));

  if (buffer_size == output->size)
    return;
  keep = MIN (output->count, buffer_size);
  lines = g_new0 (JobdLine *, MAX (buffer_size, 1));
  for (guint i = 0; i < output->count; i++)
    {
      JobdLine *line = ring_nth (output, i);
      guint drop = output->count - keep;

      if (i < drop)
        jobd_line_free (line);
      else
        lines[i - drop] = line;
    }
  g_free (output->lines);
  output->lines = lines;
  output->size = buffer_size;
  output->head = 0;
  output->count = keep;
}

GPtrArray *
jobd_output_read (JobdOutput *output, guint max_lines)
{
  GPtrArray *result;
  guint n;

  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  n = max_lines == 0 ? output->count : MIN (max_lines, output->count);
  result = g_ptr_array_new_full (n, (GDestroyNotify) jobd_line_free);
  for (guint i = output->count - n; i < output->count; i++)
    {
      const JobdLine *line = ring_nth (output, i);

      g_ptr_array_add (result, jobd_line_new (line->time_usec, line->stream,
                                              line->text, strlen (line->text)));
    }
  return result;
}

/* ---- followers ----------------------------------------------------- */

static void
followers_send (JobdOutput *self, const JobdLine *line)
{
  GString *buf = self->follow_buf;

  if (self->followers->len == 0)
    return;
  g_string_printf (buf, "%s\t%" G_GINT64_FORMAT "\t%s\n",
                   jobd_stream_to_string (line->stream), line->time_usec, line->text);
  for (guint i = self->followers->len; i-- > 0;)
    {
      int fd = g_array_index (self->followers, int, i);
      ssize_t n;

      do
        n = write (fd, buf->str, buf->len);
      while (n < 0 && errno == EINTR);
      /* Full pipe, gone reader or a partial write: drop the follower
       * rather than buffer for it or leave half a line in its stream. */
      if (n != (ssize_t) buf->len)
        {
          g_debug ("Dropping a follower of job %s: %s", self->job_name,
                   n < 0 ? g_strerror (errno) : "partial write");
          g_close (fd, NULL);
          g_array_remove_index_fast (self->followers, i);
        }
    }
}

int
jobd_output_follow (JobdOutput *output, GError **error)
{
  int fds[2];

  g_return_val_if_fail (JOBD_IS_OUTPUT (output), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return -1;
  if (!g_unix_set_fd_nonblocking (fds[1], TRUE, error))
    {
      g_close (fds[0], NULL);
      g_close (fds[1], NULL);
      return -1;
    }
  /* Best effort: a bigger pipe lets a slow-ish reader and a long line fit. */
  if (fcntl (fds[1], F_SETPIPE_SZ, FOLLOWER_PIPE_SIZE) < 0)
    g_debug ("Could not grow a follower pipe of job %s: %s",
             output->job_name, g_strerror (errno));
  g_array_append_val (output->followers, fds[1]);
  return fds[0];
}

/* ---- the one path every line takes ---------------------------------- */

static void
output_deliver (JobdOutput *self, JobdStream stream, const char *text, gsize len)
{
  /* The lines of one read chunk were all complete when it was read: one
   * clock read per chunk rather than per line. */
  gint64 now = self->read_time != 0 ? self->read_time : g_get_real_time ();
  JobdLine *line = ring_line_new (self, now, stream, text, len);
  gboolean unowned = self->size == 0;

  ring_push (self, line);
  self->lines_total++;
  if (self->log != NULL)
    jobd_log_file_write (self->log, stream == JOBD_STREAM_STDERR,
                         line->time_usec, line->text, len, NULL);   /* it reports itself */
  followers_send (self, line);
  if (self->sink != NULL)
    self->sink (self->job_name, line, self->sink_data);
  if (unowned)
    jobd_line_free (line);
}

static void
output_flush_log (JobdOutput *self)
{
  if (self->log != NULL)
    jobd_log_file_flush (self->log);
}

static void
on_split_line (const char *text, gsize len, gpointer user_data)
{
  OutputStream *os = user_data;

  output_deliver (os->output, os->stream, text, len);
}

void
jobd_output_append (JobdOutput *output, JobdStream stream, const char *text)
{
  g_autoptr(JobdLineSplitter) splitter = NULL;
  gsize len;

  g_return_if_fail (JOBD_IS_OUTPUT (output));
  g_return_if_fail (stream == JOBD_STREAM_STDOUT || stream == JOBD_STREAM_STDERR);
  g_return_if_fail (text != NULL);

  /* Same rules as job output: one line per newline, bounded, valid UTF-8. */
  splitter = jobd_line_splitter_new (JOBD_LINE_MAX, on_split_line, &output->streams[stream]);
  len = strlen (text);
  jobd_line_splitter_feed (splitter, text, len);
  if (len == 0)
    jobd_line_splitter_feed (splitter, "\n", 1);   /* an empty line is a line */
  jobd_line_splitter_flush (splitter);
  output_flush_log (output);
}

/* ---- reading the streams ------------------------------------------- */

/* The pipe tee() copies into: one for all streams (the main loop reads one
 * stream at a time), so looking before taking costs no descriptor per job. */
static int scratch_pipe[2] = { -1, -1 };

static gboolean
scratch_pipe_ready (void)
{
  if (scratch_pipe[0] >= 0)
    return TRUE;
  if (pipe2 (scratch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      scratch_pipe[0] = scratch_pipe[1] = -1;
      return FALSE;
    }
  if (fcntl (scratch_pipe[1], F_SETPIPE_SZ, READ_CHUNK) < 0)
    g_debug ("cannot size the scratch pipe: %s", g_strerror (errno));
  return TRUE;
}

/* Copy up to size bytes out of fd without taking them (fd must be a pipe or
 * FIFO). > 0 bytes copied into buf; 0 at EOF; -1 with errno (EINVAL: fd
 * is not a pipe, use read()). */
static ssize_t
peek_pipe (int fd, char *buf, gsize size)
{
  ssize_t n, got;

  if (!scratch_pipe_ready ())
    {
      errno = EINVAL;
      return -1;
    }
  n = tee (fd, scratch_pipe[1], size, SPLICE_F_NONBLOCK);
  if (n <= 0)
    return n;
  got = read (scratch_pipe[0], buf, n);
  if (got != n)
    {
      /* Cannot happen with an empty scratch pipe; never leave it dirty. */
      char drain[READ_CHUNK];
      while (read (scratch_pipe[0], drain, sizeof drain) > 0)
        ;
      errno = EIO;
      return -1;
    }
  return n;
}

/* Take n bytes that were peeked at out of fd. */
static void
consume_pipe (int fd, gsize n)
{
  char discard[READ_CHUNK];

  while (n > 0)
    {
      ssize_t got = read (fd, discard, MIN (n, sizeof discard));
      if (got <= 0 && errno != EINTR)
        break;
      if (got > 0)
        n -= got;
    }
}

/* Split a chunk just read; its lines share the time it was read. */
static void
output_stream_split (OutputStream *os, const char *buf, gsize n)
{
  os->output->read_time = g_get_real_time ();
  jobd_line_splitter_feed (os->splitter, buf, n);
  os->output->read_time = 0;
}

/* Read one chunk of fd. Lines go out (ring, log files, followers) before
 * the bytes are taken out of a pipe, and the log files are flushed first:
 * a jobd killed mid-way leaves the bytes in the FIFO for the next jobd, so
 * across a crash a line may come twice but is never lost. */
static ssize_t
output_stream_read_chunk (OutputStream *os, char *buf)
{
  ssize_t n;

  if (os->peekable)
    {
      n = peek_pipe (os->fd, buf, READ_CHUNK);
      if (n > 0)
        {
          output_stream_split (os, buf, n);
          output_flush_log (os->output);
          consume_pipe (os->fd, n);
          return n;
        }
      if (n == 0 || errno != EINVAL)
        return n;
      os->peekable = FALSE;   /* not a pipe: plain reads from now on */
    }
  n = read (os->fd, buf, READ_CHUNK);
  if (n > 0)
    output_stream_split (os, buf, n);
  return n;
}

/* Read up to budget bytes; FALSE when the stream has ended (EOF, error). */
static gboolean
output_stream_read (OutputStream *os, gsize budget)
{
  char buf[READ_CHUNK];
  gsize total = 0;

  while (total < budget)
    {
      ssize_t n = output_stream_read_chunk (os, buf);

      if (n > 0)
        total += n;
      else if (n == 0)
        return FALSE;
      else if (errno == EAGAIN || errno == EWOULDBLOCK)
        return TRUE;
      else if (errno != EINTR)
        {
          g_warning ("Reading %s of job %s failed: %s",
                     jobd_stream_to_string (os->stream), os->output->job_name,
                     g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

/* Stop watching and close; with flush, the partial line becomes a line. */
static void
output_stream_close (OutputStream *os, gboolean flush)
{
  g_clear_pointer (&os->watch, jobd_fd_watch_remove);
  if (os->fd >= 0)
    g_close (os->fd, NULL);
  os->fd = -1;
  if (os->splitter != NULL && flush)
    jobd_line_splitter_flush (os->splitter);
  g_clear_pointer (&os->splitter, jobd_line_splitter_free);
}

static gboolean
on_stream_readable (int fd, GIOCondition condition, gpointer user_data)
{
  OutputStream *os = user_data;
  gboolean open = output_stream_read (os, READ_BUDGET);

  if (!open)
    output_stream_close (os, TRUE);
  output_flush_log (os->output);
  return open ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void
jobd_output_attach (JobdOutput *output, JobdStream stream, int fd)
{
  OutputStream *os;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JOBD_IS_OUTPUT (output));
  g_return_if_fail (stream == JOBD_STREAM_STDOUT || stream == JOBD_STREAM_STDERR);
  g_return_if_fail (fd >= 0);

  os = &output->streams[stream];
  if (os->fd >= 0)
    output_stream_read (os, DRAIN_BUDGET);   /* lose nothing of the old fd */
  output_stream_close (os, TRUE);
  /* A blocking read would stall the whole daemon: refuse such an fd. */
  if (!g_unix_set_fd_nonblocking (fd, TRUE, &error))
    {
      g_warning ("Not reading %s of job %s: %s",
                 jobd_stream_to_string (stream), output->job_name, error->message);
      g_close (fd, NULL);
      return;
    }
  os->fd = fd;
  os->peekable = TRUE;
  os->splitter = jobd_line_splitter_new (JOBD_LINE_MAX, on_split_line, os);
  os->watch = jobd_fd_watch_add (output->context, fd, G_IO_IN, on_stream_readable, os, &error);
  if (os->watch == NULL)
    {
      g_warning ("Not reading %s of job %s: %s",
                 jobd_stream_to_string (stream), output->job_name, error->message);
      output_stream_close (os, FALSE);
    }
}

void
jobd_output_drain (JobdOutput *output)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  for (guint i = 0; i < G_N_ELEMENTS (output->streams); i++)
    {
      OutputStream *os = &output->streams[i];

      if (os->fd >= 0 && !output_stream_read (os, DRAIN_BUDGET))
        output_stream_close (os, TRUE);
    }
  output_flush_log (output);
}

void
jobd_output_detach (JobdOutput *output)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  jobd_output_drain (output);
  for (guint i = 0; i < G_N_ELEMENTS (output->streams); i++)
    output_stream_close (&output->streams[i], TRUE);
  /* The job's output has ended: hold no descriptors or buffers for it (a
   * line appended later opens the file again). */
  if (output->log != NULL)
    jobd_log_file_close (output->log);
}

/* ---- settings and object life -------------------------------------- */

void
jobd_output_set_log_dir (JobdOutput *output, const char *log_dir)
{
  g_autofree char *subdir = NULL;

  g_return_if_fail (JOBD_IS_OUTPUT (output));

  g_clear_pointer (&output->log, jobd_log_file_free);
  if (log_dir == NULL)
    return;
  subdir = g_build_filename ("jobs", output->job_name, NULL);
  output->log = jobd_log_file_new (log_dir, subdir);
}

void
jobd_output_set_line_sink (JobdOutput *output,
                           JobdLineSink sink,
                           gpointer user_data)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output->sink = sink;
  output->sink_data = user_data;
}

guint64
jobd_output_get_lines_total (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), 0);

  return output->lines_total;
}

JobdOutput *
jobd_output_new (const char *job_name, guint buffer_size)
{
  JobdOutput *output;

  g_return_val_if_fail (job_name != NULL, NULL);

  output = g_object_new (JOBD_TYPE_OUTPUT, NULL);
  output->job_name = g_strdup (job_name);
  jobd_output_set_buffer_size (output, buffer_size);
  return output;
}

static void
jobd_output_init (JobdOutput *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->lines = g_new0 (JobdLine *, 1);
  self->followers = g_array_new (FALSE, FALSE, sizeof (int));
  self->follow_buf = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (self->streams); i++)
    {
      self->streams[i].output = self;
      self->streams[i].stream = (JobdStream) i;
      self->streams[i].fd = -1;
    }
}

/* No flushing of partial lines here: that would call the sink while its
 * owner is being torn down. */
static void
jobd_output_dispose (GObject *object)
{
  JobdOutput *self = JOBD_OUTPUT (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->streams); i++)
    output_stream_close (&self->streams[i], FALSE);
  for (guint i = 0; i < self->followers->len; i++)
    g_close (g_array_index (self->followers, int, i), NULL);
  g_array_set_size (self->followers, 0);
  g_clear_pointer (&self->log, jobd_log_file_free);
  self->sink = NULL;

  G_OBJECT_CLASS (jobd_output_parent_class)->dispose (object);
}

static void
jobd_output_finalize (GObject *object)
{
  JobdOutput *self = JOBD_OUTPUT (object);

  for (guint i = 0; i < self->count; i++)
    jobd_line_free (ring_nth (self, i));
  g_free (self->lines);
  g_array_unref (self->followers);
  g_string_free (self->follow_buf, TRUE);
  g_main_context_unref (self->context);
  g_free (self->job_name);

  G_OBJECT_CLASS (jobd_output_parent_class)->finalize (object);
}

static void
jobd_output_class_init (JobdOutputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jobd_output_dispose;
  object_class->finalize = jobd_output_finalize;
}
