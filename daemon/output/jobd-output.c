/* SPDX-License-Identifier: MIT */
/* jobd-output.c — capture a job's stdout/stderr into lines.
 *
 * Every line, whether read from a stream or appended by jobd, takes one path
 * (output_deliver): ring buffer, log file, followers, sink. The ring is a
 * circular array of JobdLine pointers, each line one allocation holding its
 * text, so appending is O(1); memory is bounded by buffer_size lines of at
 * most JOBD_LINE_MAX bytes (after U+FFFD replacement too) and by a byte
 * budget: the oldest lines go when either is exceeded.
 *
 * At least once: a pipe (the FIFOs are pipes) is looked at with tee() and
 * only complete lines (or the cut of an over-long one) are taken out of it,
 * after they went out; an incomplete line stays in the pipe, so a jobd killed
 * at any moment leaves it for the next one. While only an incomplete line
 * waits, the watch is edge-triggered: the next write wakes it, nothing spins.
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
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "jobd-error.h"
#include "jobd-fdwatch.h"
#include "jobd-linesplit.h"
#include "jobd-log.h"
#include "jobd-logfile.h"

#define READ_CHUNK (16 * 1024)
/* A pipe is looked at this far: a whole line of JOBD_LINE_MAX bytes and the
 * newline after it, so a line is cut only when it really is too long. */
#define PEEK_SIZE (JOBD_LINE_MAX + 1)
/* The scratch pipe holds as many buffers as the FIFOs (jobd-fifo.c), so
 * tee() sees PEEK_SIZE bytes however the job split its writes. */
#define SCRATCH_PIPE_SIZE (1024 * 1024)
/* Bytes per main-loop dispatch of one stream: a few reads, then yield. */
#define READ_BUDGET (64 * 1024)
/* Bytes one drain may read: more than a full pipe (pipe-max-size defaults
 * to 1 MiB), yet finite if something still writes while we drain. */
#define DRAIN_BUDGET (4 * 1024 * 1024)
/* Room in a follower's pipe, so a line of JOBD_LINE_MAX fits. */
#define FOLLOWER_PIPE_SIZE (1024 * 1024)
/* How long a follower cut off for being too slow has to read the rest of
 * its pipe and the notice saying so, before it is closed without it. */
#define FOLLOWER_DROP_GRACE_SECONDS 30

/* A job that writes its lines one small write() at a time (PHP's echo,
 * line-buffered stdio) to a jobd that keeps up costs a wake-up and four
 * system calls (tee, two reads, the log file's write) every few lines, for
 * jobd and, through the pipe's lock and wake-ups, for the job too. When a
 * stream had taken lines less than FLOOD_RECENT_MS before and was emptied
 * again, jobd stops watching it for FLOOD_PAUSE_MS: the lines wait in the
 * pipe, not taken (so at-least-once holds), and the next dispatch takes
 * them in large chunks. Such a job's lines show up to FLOOD_PAUSE_MS later;
 * a job that writes less often than that is read at once. */
#define FLOOD_PAUSE_MS 1
#define FLOOD_RECENT_MS (2 * FLOOD_PAUSE_MS)
/* Pipes at least this big (jobd's FIFOs) are left alone for a pause as soon
 * as a look emptied them (output_pipe_emptied_below). */
#define PAUSED_PIPE_MIN (1024 * 1024)

/* A follower cut off: the notice takes the place of a line. */
#define FOLLOW_DROPPED_STREAM "dropped"

typedef struct {
  JobdOutput *output;        /* unowned back pointer */
  JobdStream stream;
  int fd;                    /* -1 when not attached */
  JobdFdWatch *watch;
  JobdLineSplitter *splitter;
  gboolean peekable;         /* fd is a pipe: look with tee() before taking */
  gsize emptied_below;       /* a look that found fewer bytes emptied the pipe
                              * (0: none does; output_pipe_emptied_below) */
  gboolean waiting;          /* only an incomplete line in the pipe */
  gsize waited;              /* its length when last looked at */
  gboolean edge;             /* the watch is edge-triggered (while waiting) */
  gboolean after_cut;        /* a line was cut at JOBD_LINE_MAX: a newline
                              * right after it ends it, not a new line */
  gboolean flooding;         /* the last read took lines soon after the one before */
  gint64 took_at;            /* monotonic µs when a read last took something */
  GSource *pause;            /* not watching for FLOOD_PAUSE_MS (flooding) */
} OutputStream;

typedef struct {
  JobdOutput *output;        /* unowned back pointer */
  guint uid;                 /* the reader's (its share of JOBD_FOLLOWERS_PER_USER) */
  int fd;                    /* the write end */
  JobdFdWatch *watch;        /* the reader going away (and, once dropped, room) */
  gboolean dropped;          /* too slow: gets no more lines, only the notice */
  GBytes *rest;              /* dropped mid-line: the rest of that line */
  GSource *grace;            /* dropped: closed when this fires */
} Follower;

struct _JobdOutput {
  GObject parent_instance;

  char *job_name;
  GMainContext *context;

  /* The ring: lines[(head + i) % size] for i in [0, count), oldest first. */
  JobdLine **lines;
  guint size;
  guint head;
  guint count;
  gsize bytes;               /* memory the ring's lines take */
  gsize byte_budget;

  OutputStream streams[2];
  JobdLogFile *log;
  GPtrArray *followers;      /* Follower */
  GString *follow_buf;
  JobdLineSink sink;
  gpointer sink_data;
  JobdLineSink watcher;     /* a second sink, for whoever watches lines (readiness) */
  gpointer watcher_data;
  guint64 lines_total;
  char history_id[17];       /* names this output's numbered lines in the journal */
  guint64 lines_per_stream[2];  /* JobdStream → lines since creation */
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
JobdLine *
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

static gsize
line_cost (JobdLine *line)
{
  return malloc_usable_size (line);
}

/* Take the oldest line out of the ring (the caller owns it). */
static JobdLine *
ring_shift (JobdOutput *self)
{
  JobdLine *line = self->lines[self->head];

  self->lines[self->head] = NULL;
  self->head = (self->head + 1) % self->size;
  self->count--;
  self->bytes -= line_cost (line);
  return line;
}

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
  line = ring_shift (self);
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

/* The ring takes line (a ring of size 0 keeps nothing; the caller frees).
 * The oldest lines go while the ring is over its line count or its byte
 * budget; the newest line is always kept. */
static void
ring_push (JobdOutput *self, JobdLine *line)
{
  gsize cost = line_cost (line);

  if (self->size == 0)
    return;
  while (self->count > 0
         && (self->count == self->size || self->bytes + cost > self->byte_budget))
    jobd_line_free (ring_shift (self));
  self->lines[(self->head + self->count) % self->size] = line;
  self->count++;
  self->bytes += cost;
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
  output->bytes = 0;
  for (guint i = 0; i < keep; i++)
    output->bytes += line_cost (lines[i]);
}

void
jobd_output_set_byte_budget (JobdOutput *output, gsize bytes)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output->byte_budget = bytes;
  while (output->count > 1 && output->bytes > bytes)
    jobd_line_free (ring_shift (output));
}

gsize
jobd_output_get_ring_bytes (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), 0);

  return output->bytes;
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

guint64
jobd_output_ring_first (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), 0);

  return output->lines_total - output->count;
}

const JobdLine *
jobd_output_ring_line (JobdOutput *output, guint64 number)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  if (number < output->lines_total - output->count || number >= output->lines_total)
    return NULL;
  return ring_nth (output, (guint) (number - (output->lines_total - output->count)));
}

gboolean
jobd_output_log_end (JobdOutput *output, char keys[2][11], guint64 offsets[2])
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), FALSE);

  if (output->log == NULL)
    return FALSE;
  jobd_log_file_end (output->log, keys, offsets);
  return TRUE;
}

const char *
jobd_output_get_log_files_dir (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  return output->log != NULL ? jobd_log_file_get_dir (output->log) : NULL;
}

gboolean
jobd_output_has_line_sink (JobdOutput *output, JobdLineSink sink)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), FALSE);

  return output->sink == sink;
}

const char *
jobd_output_get_history_id (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  return output->history_id;
}

const char *
jobd_output_get_job_name (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), NULL);

  return output->job_name;
}

/* ---- followers ----------------------------------------------------- */

/* uid → followers open, over every job (main thread only). */
static GHashTable *followers_per_uid;

static guint
followers_of (guint uid)
{
  if (followers_per_uid == NULL)
    return 0;
  return GPOINTER_TO_UINT (g_hash_table_lookup (followers_per_uid, GUINT_TO_POINTER (uid)));
}

static void
followers_count (guint uid, int delta)
{
  guint n = followers_of (uid) + delta;

  if (followers_per_uid == NULL)
    followers_per_uid = g_hash_table_new (NULL, NULL);
  if (n == 0)
    g_hash_table_remove (followers_per_uid, GUINT_TO_POINTER (uid));
  else
    g_hash_table_insert (followers_per_uid, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n));
}

static void
follower_free (Follower *f)
{
  followers_count (f->uid, -1);
  jobd_fd_watch_remove (f->watch);
  if (f->grace != NULL)
    {
      g_source_destroy (f->grace);
      g_source_unref (f->grace);
    }
  g_clear_pointer (&f->rest, g_bytes_unref);
  g_close (f->fd, NULL);
  g_free (f);
}

static void
follower_remove (Follower *f)
{
  g_ptr_array_remove_fast (f->output->followers, f);   /* frees it */
}

/* Write what a dropped follower is still owed: the rest of the line it was
 * dropped in, then the notice. TRUE when all of it is written (or the
 * reader is gone): the follower can be closed. */
static gboolean
follower_send_notice (Follower *f)
{
  g_autofree char *notice = NULL;
  ssize_t n;

  if (f->rest != NULL)
    {
      gsize len;
      const char *data = g_bytes_get_data (f->rest, &len);

      do
        n = write (f->fd, data, len);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return errno != EAGAIN;
      if ((gsize) n < len)
        {
          GBytes *rest = g_bytes_new_from_bytes (f->rest, n, len - n);

          g_bytes_unref (f->rest);
          f->rest = rest;
          return FALSE;
        }
      g_clear_pointer (&f->rest, g_bytes_unref);
    }
  /* Shorter than PIPE_BUF: written whole or not at all. */
  notice = g_strdup_printf (FOLLOW_DROPPED_STREAM "\t%" G_GINT64_FORMAT "\t%s\n",
                            g_get_real_time (), "reader too slow");
  do
    n = write (f->fd, notice, strlen (notice));
  while (n < 0 && errno == EINTR);
  return n >= 0 || errno != EAGAIN;
}

/* The write end changed: the reader went away (ERR/HUP), or a dropped
 * follower's pipe has room again for what it is owed. */
static gboolean
on_follower_event (int fd, GIOCondition condition, gpointer user_data)
{
  Follower *f = user_data;

  if ((condition & (G_IO_ERR | G_IO_HUP)) || (f->dropped && follower_send_notice (f)))
    {
      jobd_job_debug (f->output->job_name, "Closing a follower of job %s: %s", f->output->job_name,
                      f->dropped ? "cut off" : "its reader went away");
      follower_remove (f);
    }
  return G_SOURCE_CONTINUE;   /* follower_remove removed the watch */
}

static gboolean
on_follower_grace_over (gpointer user_data)
{
  Follower *f = user_data;

  jobd_job_debug (f->output->job_name,
                  "Closing a follower of job %s that does not read", f->output->job_name);
  g_clear_pointer (&f->grace, g_source_unref);   /* returning REMOVE destroys it */
  follower_remove (f);
  return G_SOURCE_REMOVE;
}

/* Too slow (its pipe is full): no more lines. It gets the rest of a line
 * cut in the middle and a notice saying it was cut off, as soon as it reads
 * (so it can tell the user why its output ends), or is closed after a grace
 * period. Nothing more is buffered for it than that one line. */
static void
follower_drop (Follower *f, const char *line, gsize len, gsize written)
{
  g_autoptr(GError) error = NULL;

  jobd_job_debug (f->output->job_name,
                  "Dropping a follower of job %s: too slow", f->output->job_name);
  f->dropped = TRUE;
  if (written < len)
    f->rest = g_bytes_new (line + written, len - written);
  if (follower_send_notice (f))
    {
      follower_remove (f);
      return;
    }
  if (!jobd_fd_watch_modify (f->watch, G_IO_OUT, FALSE, &error))
    {
      jobd_job_debug (f->output->job_name,
                      "Closing a follower of job %s: %s", f->output->job_name, error->message);
      follower_remove (f);
      return;
    }
  f->grace = g_timeout_source_new_seconds (FOLLOWER_DROP_GRACE_SECONDS);
  g_source_set_callback (f->grace, on_follower_grace_over, f, NULL);
  g_source_attach (f->grace, f->output->context);
}

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
      Follower *f = g_ptr_array_index (self->followers, i);
      ssize_t n;

      if (f->dropped)
        continue;
      do
        n = write (f->fd, buf->str, buf->len);
      while (n < 0 && errno == EINTR);
      if (n == (ssize_t) buf->len)
        continue;
      if (n < 0 && errno != EAGAIN)
        {
          jobd_job_debug (self->job_name,
                          "Closing a follower of job %s: %s", self->job_name, g_strerror (errno));
          follower_remove (f);
        }
      else
        follower_drop (f, buf->str, buf->len, n < 0 ? 0 : (gsize) n);
    }
}

int
jobd_output_follow (JobdOutput *output, guint reader_uid, GError **error)
{
  int fds[2];
  Follower *f;

  g_return_val_if_fail (JOBD_IS_OUTPUT (output), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (reader_uid != 0 && followers_of (reader_uid) >= JOBD_FOLLOWERS_PER_USER)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   "too many followers open for this user (at most %u over all jobs): "
                   "close some", JOBD_FOLLOWERS_PER_USER);
      return -1;
    }
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
    jobd_job_debug (output->job_name, "Could not grow a follower pipe of job %s: %s",
                    output->job_name, g_strerror (errno));
  f = g_new0 (Follower, 1);
  f->output = output;
  f->uid = reader_uid;
  followers_count (reader_uid, +1);
  f->fd = fds[1];
  /* No events asked for: the kernel reports a closed read end (ERR) anyway,
   * at once, rather than at the job's next line. */
  f->watch = jobd_fd_watch_add (output->context, f->fd, 0, on_follower_event, f, error);
  if (f->watch == NULL)
    {
      g_close (fds[0], NULL);
      follower_free (f);
      return -1;
    }
  g_ptr_array_add (output->followers, f);
  return fds[0];
}

guint
jobd_output_get_followers (JobdOutput *output)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), 0);

  return output->followers->len;
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
  self->lines_per_stream[stream == JOBD_STREAM_STDERR]++;
  if (self->log != NULL)
    jobd_log_file_write (self->log, stream == JOBD_STREAM_STDERR,
                         line->time_usec, line->text, len, NULL);   /* it reports itself */
  followers_send (self, line);
  if (self->sink != NULL)
    self->sink (self->job_name, line, self->sink_data);
  if (self->watcher != NULL)
    self->watcher (self->job_name, line, self->watcher_data);
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

void
jobd_output_log_only (JobdOutput *output, JobdStream stream, const char *text)
{
  g_autofree char *safe = NULL;

  g_return_if_fail (JOBD_IS_OUTPUT (output));
  g_return_if_fail (text != NULL);

  if (output->log == NULL)
    return;
  safe = jobd_utf8_make_safe (text, strnlen (text, JOBD_LINE_MAX));
  g_strdelimit (safe, "\n", ' ');
  jobd_log_file_write (output->log, stream == JOBD_STREAM_STDERR,
                       g_get_real_time (), safe, strlen (safe), NULL);
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
  if (fcntl (scratch_pipe[1], F_SETPIPE_SZ, SCRATCH_PIPE_SIZE) < 0)
    g_debug ("cannot size the scratch pipe: %s", g_strerror (errno));
  return TRUE;
}

/* Where looked-at bytes go when they need not be copied again. */
static int devnull_fd = -1;

/* Copy up to size bytes out of fd without taking them (fd must be a pipe or
 * FIFO), except the first skip bytes, which were looked at before: they
 * are dropped without a copy (splice to /dev/null) and buf gets the bytes
 * after them. Returns the total (skipped ones included) > 0; 0 at EOF; -1
 * with errno (EINVAL: fd is not a pipe, use read()). */
static ssize_t
peek_pipe_after (int fd, char *buf, gsize size, gsize skip)
{
  ssize_t n, got = 0;
  gsize dropped = 0;

  if (!scratch_pipe_ready ())
    {
      errno = EINVAL;
      return -1;
    }
  if (skip > 0 && devnull_fd < 0)
    devnull_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull_fd < 0)
    skip = 0;
  n = tee (fd, scratch_pipe[1], size, SPLICE_F_NONBLOCK);
  if (n <= 0)
    return n;
  skip = MIN (skip, (gsize) n);
  while (dropped < skip)
    {
      ssize_t d = splice (scratch_pipe[0], NULL, devnull_fd, NULL, skip - dropped,
                          SPLICE_F_NONBLOCK);
      if (d <= 0)
        break;
      dropped += d;
    }
  if (dropped < (gsize) n)
    got = read (scratch_pipe[0], buf, n - dropped);
  if (got < 0 || dropped + got != (gsize) n)
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

static ssize_t
peek_pipe (int fd, char *buf, gsize size)
{
  return peek_pipe_after (fd, buf, size, 0);
}

/* Take n bytes that were peeked at out of fd (buf: room for n bytes). */
static void
consume_pipe (int fd, char *buf, gsize n)
{
  while (n > 0)
    {
      ssize_t got = read (fd, buf, n);
      if (got <= 0 && errno != EINTR)
        break;
      if (got > 0)
        n -= got;
    }
}

/* Only an incomplete line of *n bytes (in buf) could be peeked: can more
 * of it come? Not when the pipe is full. When the pipe holds more than
 * tee() showed, look again: either the job wrote meanwhile (*n grows), or
 * tee() cannot see more (the scratch pipe has fewer buffers). */
static gboolean
pipe_line_can_grow (int fd, char *buf, gsize *n)
{
  int queued = 0;
  int size = fcntl (fd, F_GETPIPE_SZ);

  if (ioctl (fd, FIONREAD, &queued) == 0 && (gsize) queued > *n)
    {
      ssize_t again = peek_pipe (fd, buf, PEEK_SIZE);

      if (again <= (ssize_t) *n)
        return FALSE;
      *n = again;
      return TRUE;
    }
  return size <= 0 || (gsize) size > *n;
}

/* Split bytes that end on a line boundary (or are a whole piece of a line,
 * with flush); its lines share the time it was read. */
static void
output_stream_split (OutputStream *os, const char *buf, gsize n, gboolean flush)
{
  os->output->read_time = g_get_real_time ();
  jobd_line_splitter_feed (os->splitter, buf, n);
  if (flush)
    jobd_line_splitter_flush (os->splitter);
  os->output->read_time = 0;
}

/* How much of the n bytes peeked at in buf to take now, and split them.
 * Complete lines are taken; an incomplete line only when it is too long
 * (cut at JOBD_LINE_MAX, on a character boundary) or when it is the last
 * one (final: the stream ends). 0: an incomplete line waits. */
static gsize
output_stream_take (OutputStream *os, char *buf, gsize n, gboolean final)
{
  const char *nl = memrchr (buf, '\n', n);
  gsize skip = 0, take;

  if (nl == NULL && n < JOBD_LINE_MAX && !final)
    {
      gsize seen = n;

      if (!pipe_line_can_grow (os->fd, buf, &n))
        final = TRUE;   /* cut it: nothing more of it can come in */
      else if (n > seen)
        nl = memrchr (buf, '\n', n);
    }

  /* The newline that ends a line just cut at its full length is not an
   * empty line of its own (as with the splitter, which cuts only when more
   * of the line follows). */
  if (os->after_cut && buf[0] == '\n')
    skip = 1;
  os->after_cut = FALSE;
  if (nl != NULL)
    {
      take = nl - buf + 1;
      if (take > skip)
        output_stream_split (os, buf + skip, take - skip, FALSE);
      return take;
    }
  if (n >= JOBD_LINE_MAX)
    {
      take = jobd_utf8_cut_length (buf, MIN (n, JOBD_LINE_MAX));
      output_stream_split (os, buf, take, TRUE);
      os->after_cut = take == JOBD_LINE_MAX;
      return take;
    }
  if (final)
    {
      take = jobd_utf8_cut_length (buf, n);
      output_stream_split (os, buf, take, TRUE);
      return take;
    }
  return 0;
}

/* Read one chunk of fd. Lines go out (ring, log files, followers) before
 * the bytes are taken out of a pipe, and the log files are flushed first;
 * an incomplete line is not taken at all: a jobd killed at any point
 * leaves in the FIFO what it has not written out, so across a crash a line
 * may come twice but no piece of one is lost. -1 with EAGAIN also when only
 * an incomplete line waits (os->waiting). *emptied: what was looked at was
 * all the pipe held then (see output_pipe_emptied_below). */
static ssize_t
output_stream_read_chunk (OutputStream *os, char *buf, gboolean final, gboolean *emptied)
{
  ssize_t n;

  if (os->peekable)
    {
      /* An incomplete line waits and the job wrote more: look only at what
       * is new (a line written a byte at a time must not cost its length
       * in copies per byte). No newline in it yet: wait on. */
      if (os->waited > 0 && !final)
        {
          n = peek_pipe_after (os->fd, buf, PEEK_SIZE, os->waited);
          if (n > (ssize_t) os->waited && n < JOBD_LINE_MAX
              && memchr (buf, '\n', n - os->waited) == NULL)
            {
              os->waited = n;
              os->waiting = TRUE;
              errno = EAGAIN;
              return -1;
            }
        }
      n = peek_pipe (os->fd, buf, PEEK_SIZE);
      if (n > 0)
        {
          gsize take = output_stream_take (os, buf, n, final);

          os->waiting = take == 0;
          os->waited = take == 0 ? (gsize) n : 0;
          if (take == 0)
            {
              errno = EAGAIN;
              return -1;
            }
          output_flush_log (os->output);
          consume_pipe (os->fd, buf, take);
          *emptied = (gsize) n < os->emptied_below;
          return take;
        }
      if (n == 0 || errno != EINVAL)
        return n;
      os->peekable = FALSE;   /* not a pipe: plain reads from now on */
    }
  n = read (os->fd, buf, READ_CHUNK);
  if (n > 0)
    {
      os->output->read_time = g_get_real_time ();
      jobd_line_splitter_feed (os->splitter, buf, n);
      os->output->read_time = 0;
    }
  return n;
}

/* The stream was emptied after taking something: flooding when it was
 * emptied FLOOD_RECENT_MS before too (see FLOOD_PAUSE_MS). */
static void
output_stream_note_emptied (OutputStream *os)
{
  gint64 now = g_get_monotonic_time ();

  os->flooding = now - os->took_at < FLOOD_RECENT_MS * 1000;
  os->took_at = now;
}

/* Read what the stream holds, up to a budget; FALSE when the stream has
 * ended (EOF, error). final: the writer is done, an incomplete last line is
 * a line. drain: read until nothing is left (DRAIN_BUDGET); otherwise (a
 * dispatch, READ_BUDGET) stop once a look emptied a pipe as big as jobd's
 * FIFOs (output_pipe_emptied_below): what the job wrote meanwhile is left
 * for the next dispatch, so a reader as fast as the writer does not chase
 * it a few lines (four system calls) at a time. */
static gboolean
output_stream_read (OutputStream *os, gboolean drain, gboolean final)
{
  g_autofree char *buf = g_malloc (PEEK_SIZE);
  gsize budget = drain ? DRAIN_BUDGET : READ_BUDGET;
  gsize total = 0;

  os->waiting = FALSE;
  os->flooding = FALSE;
  while (total < budget)
    {
      gboolean emptied = FALSE;
      ssize_t n = output_stream_read_chunk (os, buf, final, &emptied);

      if (n > 0)
        {
          total += n;
          if (emptied && !drain && !final)
            {
              output_stream_note_emptied (os);
              return TRUE;
            }
        }
      else if (n == 0)
        return FALSE;
      else if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          if (total > 0 && !os->waiting)
            output_stream_note_emptied (os);
          return TRUE;
        }
      else if (errno != EINTR)
        {
          jobd_job_warning (os->output->job_name, "Reading %s of job %s failed: %s",
                            jobd_stream_to_string (os->stream), os->output->job_name,
                            g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

/* Edge-triggered wake-ups on every write to a pipe are what Linux does
 * (again) since 5.14; from 5.5 to 5.13 an edge-triggered reader was woken
 * only when the pipe had been empty, which a waiting incomplete line never
 * lets it be. So while any stream waits, one timer (not one per job) looks
 * at the waiting pipes once a second and reads those that grew. */
#define WAITING_RECHECK_SECONDS 1

static GPtrArray *waiting_streams;   /* OutputStream *, edge-triggered */
static GSource *waiting_timer;

static void output_stream_update_trigger (OutputStream *os);
static void output_stream_close (OutputStream *os, gboolean flush);

static gboolean
on_waiting_recheck (gpointer user_data)
{
  g_autoptr(GPtrArray) streams = g_ptr_array_copy (waiting_streams, NULL, NULL);

  for (guint i = 0; i < streams->len; i++)
    {
      OutputStream *os = g_ptr_array_index (streams, i);
      int queued = 0;

      /* Read (and unlisted) by an earlier one's sink: skip it. */
      if (!g_ptr_array_find (waiting_streams, os, NULL)
          || ioctl (os->fd, FIONREAD, &queued) < 0 || (gsize) queued <= os->waited)
        continue;
      if (!output_stream_read (os, FALSE, FALSE))
        output_stream_close (os, TRUE);
      else
        output_stream_update_trigger (os);
      output_flush_log (os->output);
    }
  return G_SOURCE_CONTINUE;
}

static void
waiting_add (OutputStream *os)
{
  if (waiting_streams == NULL)
    waiting_streams = g_ptr_array_new ();
  g_ptr_array_add (waiting_streams, os);
  if (waiting_timer == NULL)
    {
      waiting_timer = g_timeout_source_new_seconds (WAITING_RECHECK_SECONDS);
      g_source_set_callback (waiting_timer, on_waiting_recheck, NULL, NULL);
      g_source_attach (waiting_timer, os->output->context);
    }
}

static void
waiting_remove (OutputStream *os)
{
  if (waiting_streams == NULL || !g_ptr_array_remove_fast (waiting_streams, os))
    return;
  if (waiting_streams->len == 0 && waiting_timer != NULL)
    {
      g_source_destroy (waiting_timer);
      g_clear_pointer (&waiting_timer, g_source_unref);
    }
}

/* Level-triggered while there is something to take, edge-triggered while
 * only an incomplete line waits (level would call back at once, forever). */
static void
output_stream_update_trigger (OutputStream *os)
{
  g_autoptr(GError) error = NULL;

  if (os->watch == NULL || os->pause != NULL || os->waiting == os->edge)
    return;
  if (!jobd_fd_watch_modify (os->watch, G_IO_IN, os->waiting, &error))
    {
      jobd_job_warning (os->output->job_name,
                        "Watching %s of job %s: %s", jobd_stream_to_string (os->stream),
                        os->output->job_name, error->message);
      return;
    }
  os->edge = os->waiting;
  if (os->edge)
    waiting_add (os);
  else
    waiting_remove (os);
}

static gboolean
on_flood_pause_over (gpointer user_data)
{
  OutputStream *os = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&os->pause, g_source_unref);   /* returning REMOVE destroys it */
  if (!jobd_fd_watch_modify (os->watch, G_IO_IN, FALSE, &error))
    jobd_job_warning (os->output->job_name, "Watching %s of job %s: %s",
                      jobd_stream_to_string (os->stream), os->output->job_name, error->message);
  return G_SOURCE_REMOVE;
}

/* Look away for FLOOD_PAUSE_MS (see FLOOD_PAUSE_MS). The watch still
 * reports the writer going away (HUP): that read takes everything. */
static void
output_stream_pause (OutputStream *os)
{
  g_autoptr(GError) error = NULL;

  if (os->watch == NULL || os->pause != NULL || os->edge)
    return;
  if (!jobd_fd_watch_modify (os->watch, 0, FALSE, &error))
    return;   /* read at once, as without the pause */
  os->pause = g_timeout_source_new (FLOOD_PAUSE_MS);
  g_source_set_callback (os->pause, on_flood_pause_over, os, NULL);
  g_source_attach (os->pause, os->output->context);
}

/* Stop watching and close; with flush, the partial line becomes a line. */
static void
output_stream_close (OutputStream *os, gboolean flush)
{
  if (os->pause != NULL)
    {
      g_source_destroy (os->pause);
      g_clear_pointer (&os->pause, g_source_unref);
    }
  g_clear_pointer (&os->watch, jobd_fd_watch_remove);
  if (os->fd >= 0)
    g_close (os->fd, NULL);
  os->fd = -1;
  if (os->edge)
    waiting_remove (os);
  os->waiting = os->edge = os->after_cut = os->flooding = FALSE;
  os->waited = 0;
  if (os->splitter != NULL && flush)
    jobd_line_splitter_flush (os->splitter);
  g_clear_pointer (&os->splitter, jobd_line_splitter_free);
}

static gboolean
on_stream_readable (int fd, GIOCondition condition, gpointer user_data)
{
  OutputStream *os = user_data;
  /* HUP: no writer is left, what is in the pipe is all there will be. */
  gboolean open = output_stream_read (os, FALSE, (condition & G_IO_HUP) != 0);

  if (open && (condition & G_IO_HUP) && !(condition & G_IO_IN))
    open = FALSE;
  if (!open)
    output_stream_close (os, TRUE);
  else
    {
      output_stream_update_trigger (os);
      if (os->flooding)
        output_stream_pause (os);
    }
  output_flush_log (os->output);
  return open ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* A look that found less than PEEK_SIZE bytes emptied the pipe (it ends a
 * dispatch, and the flood pause may follow), but only in a pipe of at least
 * PAUSED_PIPE_MIN bytes: a writer fills that in FLOOD_PAUSE_MS only above
 * 1 GB/s. A smaller pipe (a 64 kB one, where growing a FIFO failed) fills
 * during a pause and its writer would wait on it: it is read on until EAGAIN,
 * as before. 0: never emptied this way. */
static gsize
output_pipe_emptied_below (int fd)
{
  int size = fcntl (fd, F_GETPIPE_SZ);

  return size >= PAUSED_PIPE_MIN ? PEEK_SIZE : 0;
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
    output_stream_read (os, TRUE, TRUE);   /* lose nothing of the old fd */
  output_stream_close (os, TRUE);
  /* A blocking read would stall the whole daemon: refuse such an fd. */
  if (!g_unix_set_fd_nonblocking (fd, TRUE, &error))
    {
      jobd_job_warning (output->job_name, "Not reading %s of job %s: %s",
                        jobd_stream_to_string (stream), output->job_name, error->message);
      g_close (fd, NULL);
      return;
    }
  os->fd = fd;
  os->peekable = TRUE;
  os->emptied_below = output_pipe_emptied_below (fd);
  os->splitter = jobd_line_splitter_new (JOBD_LINE_MAX, on_split_line, os);
  os->watch = jobd_fd_watch_add (output->context, fd, G_IO_IN, on_stream_readable, os, &error);
  if (os->watch == NULL)
    {
      jobd_job_warning (output->job_name, "Not reading %s of job %s: %s",
                        jobd_stream_to_string (stream), output->job_name, error->message);
      output_stream_close (os, FALSE);
    }
}

static void
output_drain (JobdOutput *output, gboolean final)
{
  for (guint i = 0; i < G_N_ELEMENTS (output->streams); i++)
    {
      OutputStream *os = &output->streams[i];

      if (os->fd >= 0 && !output_stream_read (os, TRUE, final))
        output_stream_close (os, TRUE);
    }
  output_flush_log (output);
}

void
jobd_output_drain (JobdOutput *output)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output_drain (output, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (output->streams); i++)
    output_stream_update_trigger (&output->streams[i]);
}

void
jobd_output_release (JobdOutput *output)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output_drain (output, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (output->streams); i++)
    output_stream_close (&output->streams[i], FALSE);
  if (output->log != NULL)
    jobd_log_file_close (output->log);
}

void
jobd_output_detach (JobdOutput *output)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output_drain (output, TRUE);
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

void
jobd_output_set_line_watcher (JobdOutput *output,
                              JobdLineSink watcher,
                              gpointer user_data)
{
  g_return_if_fail (JOBD_IS_OUTPUT (output));

  output->watcher = watcher;
  output->watcher_data = user_data;
}

guint64
jobd_output_get_stream_lines (JobdOutput *output, JobdStream stream)
{
  g_return_val_if_fail (JOBD_IS_OUTPUT (output), 0);
  return output->lines_per_stream[stream == JOBD_STREAM_STDERR];
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
  self->followers = g_ptr_array_new_with_free_func ((GDestroyNotify) follower_free);
  self->byte_budget = JOBD_RING_BYTES_DEFAULT;
  self->follow_buf = g_string_new (NULL);
  g_snprintf (self->history_id, sizeof self->history_id, "%08x%08x",
              g_random_int (), g_random_int ());
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
  g_ptr_array_set_size (self->followers, 0);
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
  g_ptr_array_unref (self->followers);
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
