/* SPDX-License-Identifier: MIT */
/* test-output.c — JobdOutput with real pipes, child processes and files.
 *
 * Every wait iterates the main context until a condition holds, with a
 * deadline: nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "jobd-logfile.h"
#include "jobd-output.h"
#include "test-fs-util.h"

#define DEADLINE_MS 20000

typedef gboolean (*Condition) (gpointer data);

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the default main context until cond holds or the deadline passes. */
static gboolean
iterate_until (Condition cond, gpointer data, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, on_deadline, &expired);

  while (!cond (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return cond (data);
}

typedef struct {
  JobdOutput *output;
  guint64 want;
} LinesWanted;

static gboolean
have_lines (gpointer data)
{
  LinesWanted *w = data;

  return jobd_output_get_lines_total (w->output) >= w->want;
}

static void
wait_for_lines (JobdOutput *output, guint64 want)
{
  LinesWanted w = { output, want };

  g_assert_true (iterate_until (have_lines, &w, DEADLINE_MS));
}

static void
make_pipe (int fds[2])
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
}

static void
write_all (int fd, const char *text)
{
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
}

static gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) >= 0 || errno != EBADF;
}

static guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* the GDir's own fd */
}

/* Assert the ring holds exactly the expected texts, oldest first. */
static void
assert_ring (JobdOutput *output, const char *const *expected)
{
  g_autoptr(GPtrArray) lines = jobd_output_read (output, 0);

  g_assert_cmpuint (lines->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < lines->len; i++)
    g_assert_cmpstr (((JobdLine *) lines->pdata[i])->text, ==, expected[i]);
}

static void
append_numbered (JobdOutput *output, guint from, guint to)
{
  for (guint i = from; i < to; i++)
    {
      g_autofree char *text = g_strdup_printf ("l%u", i);

      jobd_output_append (output, JOBD_STREAM_STDOUT, text);
    }
}

static void
test_ring (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("ring", 5);
  const char *const last5[] = { "l7", "l8", "l9", "l10", "l11", NULL };
  const char *const last3[] = { "l9", "l10", "l11", NULL };
  const char *const grown[] = { "l9", "l10", "l11", "l12", NULL };
  g_autoptr(GPtrArray) two = NULL;
  g_autoptr(GPtrArray) many = NULL;

  append_numbered (output, 0, 12);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 12);
  assert_ring (output, last5);

  two = jobd_output_read (output, 2);
  g_assert_cmpuint (two->len, ==, 2);
  g_assert_cmpstr (((JobdLine *) two->pdata[0])->text, ==, "l10");
  g_assert_cmpstr (((JobdLine *) two->pdata[1])->text, ==, "l11");
  many = jobd_output_read (output, 100);
  g_assert_cmpuint (many->len, ==, 5);

  /* Shrinking keeps the newest, growing keeps everything. */
  jobd_output_set_buffer_size (output, 3);
  assert_ring (output, last3);
  jobd_output_set_buffer_size (output, 10);
  assert_ring (output, last3);
  append_numbered (output, 12, 13);
  assert_ring (output, grown);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 13);
}

/* A full ring reuses its oldest line's memory when the new line fits and
 * allocates anew when it does not: lines of changing lengths keep their
 * text and stream either way. */
static void
test_ring_reuse (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("reuse", 2);
  g_autofree char *long_line = g_strnfill (1000, 'x');
  const char *const texts[] = { "a", "bb", long_line, "c", "dd", long_line, "", "e", NULL };

  for (guint i = 0; texts[i] != NULL; i++)
    {
      const char *const expected[] = { i > 0 ? texts[i - 1] : texts[i], texts[i], NULL };
      g_autoptr(GPtrArray) lines = NULL;

      jobd_output_append (output, i % 2 ? JOBD_STREAM_STDERR : JOBD_STREAM_STDOUT, texts[i]);
      if (i == 0)
        continue;
      assert_ring (output, expected);
      lines = jobd_output_read (output, 1);
      g_assert_cmpint (((JobdLine *) lines->pdata[0])->stream, ==,
                       i % 2 ? JOBD_STREAM_STDERR : JOBD_STREAM_STDOUT);
    }
}

typedef struct {
  JobdOutput *output;
  GPtrArray *seen;   /* texts */
  gboolean ring_had_it;
} SinkData;

static void
on_sink_line (const char *job_name, const JobdLine *line, gpointer user_data)
{
  SinkData *data = user_data;
  g_autoptr(GPtrArray) newest = jobd_output_read (data->output, 1);

  g_assert_cmpstr (job_name, ==, "sink");
  g_ptr_array_add (data->seen, g_strdup_printf ("%s:%s", jobd_stream_to_string (line->stream),
                                                line->text));
  data->ring_had_it = newest->len == 1 &&
    g_strcmp0 (((JobdLine *) newest->pdata[0])->text, line->text) == 0;
}

static void
test_append_and_sink (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("sink", 10);
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  SinkData data = { output, seen, FALSE };
  const char *const ring[] = { "", "two", "lines", "Process \"sink\" exit with code 3.", NULL };

  jobd_output_set_line_sink (output, on_sink_line, &data);
  jobd_output_append (output, JOBD_STREAM_STDOUT, "");
  jobd_output_append (output, JOBD_STREAM_STDERR, "two\nlines");
  jobd_output_append (output, JOBD_STREAM_STDOUT, "Process \"sink\" exit with code 3.");
  g_assert_cmpuint (seen->len, ==, 4);
  g_assert_cmpstr (seen->pdata[0], ==, "stdout:");
  g_assert_cmpstr (seen->pdata[1], ==, "stderr:two");
  g_assert_cmpstr (seen->pdata[2], ==, "stderr:lines");
  g_assert_cmpstr (seen->pdata[3], ==, "stdout:Process \"sink\" exit with code 3.");
  g_assert_true (data.ring_had_it);
  assert_ring (output, ring);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 4);
}

static void
test_pipe (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("pipe", 10);
  g_autoptr(GPtrArray) lines = NULL;
  int out[2], err[2];
  gint64 before = g_get_real_time ();
  const char *const expected[] = { "one", "two", "oops \xEF\xBF\xBD", "partial", NULL };

  make_pipe (out);
  make_pipe (err);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, out[0]);
  jobd_output_attach (output, JOBD_STREAM_STDERR, err[0]);
  g_assert_true (fcntl (out[0], F_GETFL) & O_NONBLOCK);

  write_all (out[1], "one\ntwo\npart");
  wait_for_lines (output, 2);
  write_all (err[1], "oops \xFF\n");
  wait_for_lines (output, 3);
  write_all (out[1], "ial\n");
  wait_for_lines (output, 4);
  assert_ring (output, expected);

  lines = jobd_output_read (output, 0);
  g_assert_cmpint (((JobdLine *) lines->pdata[0])->stream, ==, JOBD_STREAM_STDOUT);
  g_assert_cmpint (((JobdLine *) lines->pdata[2])->stream, ==, JOBD_STREAM_STDERR);
  g_assert_cmpint (((JobdLine *) lines->pdata[0])->time_usec, >=, before);
  g_assert_cmpint (((JobdLine *) lines->pdata[3])->time_usec, <=, g_get_real_time ());
  g_close (out[1], NULL);
  g_close (err[1], NULL);
}

typedef struct {
  int fd;
} FdData;

static gboolean
fd_closed (gpointer data)
{
  return !fd_is_open (((FdData *) data)->fd);
}

/* EOF delivers the partial line and closes the fd without detach. */
static void
test_eof_flushes (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("eof", 10);
  const char *const expected[] = { "first", "tail", NULL };
  int fds[2];
  FdData data;

  make_pipe (fds);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, fds[0]);
  write_all (fds[1], "first\ntail");
  g_close (fds[1], NULL);
  data.fd = fds[0];
  g_assert_true (iterate_until (fd_closed, &data, DEADLINE_MS));
  assert_ring (output, expected);
}

/* Detach reads what is there, flushes the partial line and closes. */
static void
test_detach (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("detach", 10);
  const char *const expected[] = { "a", "b", "old", "new", NULL };
  int first[2], second[2];

  make_pipe (first);
  make_pipe (second);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, first[0]);
  write_all (first[1], "a\nb\nold");
  /* Replacing the stream's fd keeps its data and its partial line. */
  jobd_output_attach (output, JOBD_STREAM_STDOUT, second[0]);
  g_assert_false (fd_is_open (first[0]));
  write_all (second[1], "new");
  jobd_output_detach (output);
  g_assert_false (fd_is_open (second[0]));
  assert_ring (output, expected);
  g_close (first[1], NULL);
  g_close (second[1], NULL);
}

typedef struct {
  JobdOutput *output;
  int fd;
  gboolean exited;
  guint ticks;        /* a timer of ours, dispatched during the flood */
  guint max_ring;
} Flood;

static void
on_child_exit (GPid pid, int status, gpointer user_data)
{
  Flood *flood = user_data;

  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_spawn_close_pid (pid);
  flood->exited = TRUE;
}

static gboolean
on_tick (gpointer user_data)
{
  Flood *flood = user_data;
  g_autoptr(GPtrArray) lines = jobd_output_read (flood->output, 0);

  flood->ticks++;
  flood->max_ring = MAX (flood->max_ring, lines->len);
  return G_SOURCE_CONTINUE;
}

/* The child is gone and the output saw EOF (and closed the fd). */
static gboolean
flood_done (gpointer data)
{
  Flood *flood = data;

  return flood->exited && !fd_is_open (flood->fd);
}

/* A child printing numbered lines as fast as it can: every line counted,
 * the ring stays bounded, and our own timer still runs. */
static void
test_flood (void)
{
  const guint n_lines = 6000000;   /* about 48 MB */
  const guint buffer_size = 1000;
  g_autoptr(JobdOutput) output = jobd_output_new ("flood", buffer_size);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *count = g_strdup_printf ("%u", n_lines);
  const char *argv[] = { "seq", "1", count, NULL };
  Flood flood = { .output = output };
  GPid pid;
  guint tick_id;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, &flood.fd, NULL, &error));
  g_assert_no_error (error);
  g_child_watch_add (pid, on_child_exit, &flood);
  tick_id = g_timeout_add (5, on_tick, &flood);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, flood.fd);

  g_assert_true (iterate_until (flood_done, &flood, 5 * DEADLINE_MS));
  g_source_remove (tick_id);

  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, n_lines);
  g_test_message ("flood: %u timer ticks, ring at most %u", flood.ticks, flood.max_ring);
  g_assert_cmpuint (flood.ticks, >, 0);
  g_assert_cmpuint (flood.max_ring, <=, buffer_size);
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, buffer_size);
  for (guint i = 0; i < lines->len; i++)
    {
      g_autofree char *want = g_strdup_printf ("%u", n_lines - buffer_size + 1 + i);

      g_assert_cmpstr (((JobdLine *) lines->pdata[i])->text, ==, want);
    }
}

/* One dispatch reads a bounded amount even when much more is waiting. */
static void
test_bounded_dispatch (void)
{
  const guint n_lines = 16384;   /* 64 bytes each: 1 MiB in the pipe */
  g_autoptr(JobdOutput) output = jobd_output_new ("bounded", 10);
  g_autoptr(GString) data = g_string_new (NULL);
  int fds[2];

  make_pipe (fds);
  if (fcntl (fds[1], F_SETPIPE_SZ, 1024 * 1024) < 1024 * 1024)
    {
      g_test_skip ("cannot make a 1 MiB pipe");
      g_close (fds[0], NULL);
      g_close (fds[1], NULL);
      return;
    }
  for (guint i = 0; i < n_lines; i++)
    g_string_append_printf (data, "%063u\n", i);
  write_all (fds[1], data->str);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, fds[0]);

  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (jobd_output_get_lines_total (output), >, 0);
  g_assert_cmpuint (jobd_output_get_lines_total (output), <=, JOBD_LINE_MAX / 64);
  wait_for_lines (output, n_lines);
  g_close (fds[1], NULL);
}

/* The file a line went to, as the log file layout names it. */
static char *
log_path_for (const char *root, const JobdLine *line)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (line->time_usec / G_USEC_PER_SEC);
  g_autofree char *day = jobd_log_file_day_dir_name (dt);
  g_autofree char *file = jobd_log_file_hour_file_name (dt, line->stream == JOBD_STREAM_STDERR);

  return g_build_filename (root, "jobs", "logged", day, file, NULL);
}

static void
assert_logged (const char *root, const JobdLine *line)
{
  g_autofree char *path = log_path_for (root, line);
  g_autofree char *text = test_read_text (path);
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (line->time_usec / G_USEC_PER_SEC);
  g_autofree char *prefix = g_date_time_format (dt, "[%y-%m-%d %H:%M:%S] ");
  g_autofree char *want = g_strconcat (prefix, line->text, "\n", NULL);

  g_assert_nonnull (strstr (text, want));
  g_assert_true (g_regex_match_simple ("^(\\[\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\] .*\\n)+$",
                                       text, G_REGEX_MULTILINE, 0));
}

/* How many of this process's descriptors are files under dir. */
static guint
open_files_under (const char *dir)
{
  g_autoptr(GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (fds);
  while ((name = g_dir_read_name (fds)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (target != NULL && g_str_has_prefix (target, dir))
        n++;
    }
  return n;
}

/* Lines from the pipes reach the files by the end of the read dispatch. */
static void
test_log_files (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-output-XXXXXX", NULL);
  g_autoptr(JobdOutput) output = jobd_output_new ("logged", 10);
  g_autoptr(GPtrArray) lines = NULL;
  int out[2], err[2];

  jobd_output_set_log_dir (output, root);
  make_pipe (out);
  make_pipe (err);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, out[0]);
  jobd_output_attach (output, JOBD_STREAM_STDERR, err[0]);
  write_all (out[1], "to stdout\n");
  wait_for_lines (output, 1);
  write_all (err[1], "to stderr\n");
  wait_for_lines (output, 2);
  /* On disk already: each read dispatch flushes. */
  lines = jobd_output_read (output, 0);
  assert_logged (root, lines->pdata[0]);
  assert_logged (root, lines->pdata[1]);
  g_clear_pointer (&lines, g_ptr_array_unref);

  jobd_output_append (output, JOBD_STREAM_STDOUT, "Process \"logged\" exit with code 0.");
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, 3);
  assert_logged (root, lines->pdata[2]);
  g_close (out[1], NULL);
  g_close (err[1], NULL);
  /* Detached (the job is gone): the log files are closed. */
  g_assert_cmpuint (open_files_under (root), ==, 2);
  jobd_output_detach (output);
  g_assert_cmpuint (open_files_under (root), ==, 0);
  g_clear_object (&output);
  test_remove_tree (root);
}

/* Read a follower's pipe until EAGAIN or EOF; TRUE at EOF. */
static gboolean
read_follower (int fd, GString *into)
{
  char buf[65536];

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n > 0)
        g_string_append_len (into, buf, n);
      else if (n == 0)
        return TRUE;
      else
        {
          g_assert_cmpint (errno, ==, EAGAIN);
          return FALSE;
        }
    }
}

static int
follow (JobdOutput *output)
{
  g_autoptr(GError) error = NULL;
  int fd = jobd_output_follow (output, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (g_unix_set_fd_nonblocking (fd, TRUE, NULL));
  return fd;
}

static void
test_follow (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("follow", 10);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GString) got = g_string_new (NULL);
  g_autofree char *want = NULL;
  int fd = follow (output);
  int pipe_fds[2];

  make_pipe (pipe_fds);
  jobd_output_attach (output, JOBD_STREAM_STDERR, pipe_fds[0]);
  write_all (pipe_fds[1], "from the job\n");
  wait_for_lines (output, 1);
  jobd_output_append (output, JOBD_STREAM_STDOUT, "from jobd");

  lines = jobd_output_read (output, 0);
  want = g_strdup_printf ("stderr\t%" G_GINT64_FORMAT "\tfrom the job\n"
                          "stdout\t%" G_GINT64_FORMAT "\tfrom jobd\n",
                          ((JobdLine *) lines->pdata[0])->time_usec,
                          ((JobdLine *) lines->pdata[1])->time_usec);
  g_assert_false (read_follower (fd, got));
  g_assert_cmpstr (got->str, ==, want);

  /* Disposing the output ends the follow stream. */
  g_clear_object (&output);
  g_assert_true (read_follower (fd, got));
  g_close (fd, NULL);
  g_close (pipe_fds[1], NULL);
}

/* Check "stdout\tUSEC\tI FILLER" for I = 0, 1, ... on every complete line;
 * returns how many there are. */
static guint
assert_numbered_follow_lines (char **lines, const char *filler)
{
  guint n = 0;

  for (; lines[n] != NULL && lines[n + 1] != NULL; n++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[n], "\t", 3);
      g_autofree char *want = g_strdup_printf ("%u %s", n, filler);

      g_assert_cmpuint (g_strv_length (fields), ==, 3);
      g_assert_cmpstr (fields[0], ==, "stdout");
      g_assert_cmpint (g_ascii_strtoll (fields[1], NULL, 10), >, 0);
      g_assert_cmpstr (fields[2], ==, want);
    }
  return n;
}

/* Read a follower until EOF, letting the output's watches run (a dropped
 * follower is owed the rest of its line and the notice); with a deadline. */
static void
read_follower_to_eof (int fd, GString *into)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!read_follower (fd, into))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
    }
}

/* A reader that stops reading is dropped while one that keeps up gets
 * everything; neither blocks jobd. The dropped one sees whole lines (the
 * one it was dropped in completed once it reads again), then a notice
 * "dropped\tUSEC\tWHY" saying it was cut off, then EOF. */
static void
test_slow_follower_dropped (void)
{
  const guint n_lines = 400;
  g_autoptr(JobdOutput) output = jobd_output_new ("slow", 10);
  g_autoptr(GString) fast_got = g_string_new (NULL);
  g_autoptr(GString) slow_got = g_string_new (NULL);
  /* Lines longer than a page, so a nearly full pipe can take part of one. */
  g_autofree char *filler = g_strnfill (10000, 'x');
  guint baseline = count_open_fds ();
  int slow = follow (output);
  int fast = follow (output);
  g_auto(GStrv) slow_lines = NULL;
  g_auto(GStrv) fast_lines = NULL;
  g_auto(GStrv) notice = NULL;
  guint slow_complete;

  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *text = g_strdup_printf ("%u %s", i, filler);

      jobd_output_append (output, JOBD_STREAM_STDOUT, text);
      g_assert_false (read_follower (fast, fast_got));
    }
  /* 4 MB went out; the slow pipe holds at most 1 MiB, so it was dropped. */
  g_assert_cmpuint (jobd_output_get_followers (output), ==, 2);
  read_follower_to_eof (slow, slow_got);
  g_assert_cmpuint (jobd_output_get_followers (output), ==, 1);
  fast_lines = g_strsplit (fast_got->str, "\n", -1);
  slow_lines = g_strsplit (slow_got->str, "\n", -1);
  g_assert_cmpuint (assert_numbered_follow_lines (fast_lines, filler), ==, n_lines);
  /* Every line whole up to the notice, which is last. */
  slow_complete = g_strv_length (slow_lines) - 2;
  g_assert_cmpstr (slow_lines[slow_complete + 1], ==, "");
  notice = g_strsplit (slow_lines[slow_complete], "\t", 3);
  slow_lines[slow_complete][0] = '\0';
  g_assert_cmpuint (g_strv_length (notice), ==, 3);
  g_assert_cmpstr (notice[0], ==, "dropped");
  g_assert_cmpstr (notice[2], ==, "reader too slow");
  g_free (slow_lines[slow_complete + 1]);
  slow_lines[slow_complete + 1] = NULL;
  g_assert_cmpuint (assert_numbered_follow_lines (slow_lines, filler), ==, slow_complete);
  g_assert_cmpuint (slow_complete, <, n_lines);
  /* The slow follower's write end is gone: only our two read ends remain. */
  g_assert_cmpuint (count_open_fds (), ==, baseline + 3);
  g_close (slow, NULL);
  g_close (fast, NULL);
}

/* A reader that closes its end is noticed at once, not at the next line:
 * with a silent job, nothing of it stays in jobd. */
static void
test_gone_follower_closed_at_once (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("gone", 10);
  guint baseline = count_open_fds ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (guint i = 0; i < 100; i++)
    g_close (follow (output), NULL);
  g_assert_cmpuint (jobd_output_get_followers (output), ==, 100);
  while (jobd_output_get_followers (output) > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpuint (count_open_fds (), ==, baseline);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 0);
}

/* A reader that went away (EPIPE) is dropped, not fatal. */
static void
test_closed_follower_dropped (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("closed", 10);
  guint baseline = count_open_fds ();
  int fd = follow (output);

  g_assert_cmpuint (count_open_fds (), ==, baseline + 2);
  g_close (fd, NULL);
  jobd_output_append (output, JOBD_STREAM_STDOUT, "nobody listens");
  g_assert_cmpuint (count_open_fds (), ==, baseline);
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 1);
}

/* Disposing closes every fd it owns and removes its watches. */
static void
test_dispose_closes (void)
{
  guint baseline = count_open_fds ();
  JobdOutput *output = jobd_output_new ("dispose", 10);
  int out[2];
  int fd;

  make_pipe (out);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, out[0]);
  fd = follow (output);
  g_assert_cmpuint (count_open_fds (), ==, baseline + 4);
  g_object_unref (output);
  g_assert_cmpuint (count_open_fds (), ==, baseline + 2);   /* ours: write end, follow read end */
  g_close (out[1], NULL);
  g_close (fd, NULL);
  /* Nothing is left to dispatch for the output. */
  g_assert_false (g_main_context_iteration (NULL, FALSE));
}

/* Lines of invalid UTF-8 at the maximum length, in a ring of the maximum
 * line count: the byte budget holds the ring's memory, oldest lines go. */
static void
test_ring_byte_budget (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("budget", 100000);
  g_autofree char *text = g_malloc (JOBD_LINE_MAX + 1);
  g_autoptr(GPtrArray) lines = NULL;

  memset (text, 0xFF, JOBD_LINE_MAX);
  text[JOBD_LINE_MAX] = '\0';
  for (guint i = 0; i < 200; i++)
    {
      jobd_output_append (output, JOBD_STREAM_STDOUT, text);
      g_assert_cmpuint (jobd_output_get_ring_bytes (output), <=, JOBD_RING_BYTES_DEFAULT);
    }
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, >, 0);
  g_assert_cmpuint (lines->len, <, 200);
  for (guint i = 0; i < lines->len; i++)
    g_assert_cmpuint (strlen (((JobdLine *) lines->pdata[i])->text), <=, JOBD_LINE_MAX);
  g_clear_pointer (&lines, g_ptr_array_unref);

  /* A smaller budget evicts at once, keeping the newest line. */
  jobd_output_set_byte_budget (output, 1);
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, 1);
}

static gboolean
output_has_waiting_events (gpointer data)
{
  return g_main_context_pending (NULL);
}

/* An incomplete line is not taken out of the pipe: a reader after this
 * one (a jobd after a crash) finds it whole. While it waits, nothing is
 * dispatched again and again; its end arrives as one line. */
static void
test_partial_line_stays_in_pipe (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("partial", 10);
  g_autoptr(GPtrArray) lines = NULL;
  char buf[64];
  int fds[2];
  int keep;

  make_pipe (fds);
  keep = dup (fds[0]);
  g_assert_cmpint (keep, >=, 0);
  g_assert_true (g_unix_set_fd_nonblocking (keep, TRUE, NULL));
  jobd_output_attach (output, JOBD_STREAM_STDOUT, fds[0]);
  write_all (fds[1], "one\ntw");
  wait_for_lines (output, 1);
  /* No busy loop: once the watch has settled, nothing is ready. */
  for (guint i = 0; i < 10 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_assert_false (output_has_waiting_events (NULL));
  write_all (fds[1], "o\nthr");
  wait_for_lines (output, 2);
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, 2);
  g_assert_cmpstr (((JobdLine *) lines->pdata[1])->text, ==, "two");

  /* jobd lets go (exits): the incomplete line is still in the pipe. */
  jobd_output_release (output);
  g_assert_cmpint (read (keep, buf, sizeof buf), ==, 3);
  g_assert_cmpmem (buf, 3, "thr", 3);
  g_close (keep, NULL);
  g_close (fds[1], NULL);
}

static gboolean
context_idle (gpointer data)
{
  return !g_main_context_pending (NULL);
}

/* A line written in many small pieces, jobd looking in between: one line,
 * whole, when its newline comes; nothing before. */
static void
test_line_in_small_pieces (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("pieces", 10);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GString) want = g_string_new (NULL);
  int fds[2];

  make_pipe (fds);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, fds[0]);
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *piece = g_strdup_printf ("%u,", i);

      g_string_append (want, piece);
      write_all (fds[1], piece);
      if (i % 10 == 0)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  g_assert_true (iterate_until (context_idle, NULL, DEADLINE_MS));
  g_assert_cmpuint (jobd_output_get_lines_total (output), ==, 0);
  write_all (fds[1], "end\n");
  wait_for_lines (output, 1);
  g_string_append (want, "end");
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, 1);
  g_assert_cmpstr (((JobdLine *) lines->pdata[0])->text, ==, want->str);
  g_close (fds[1], NULL);
}

/* The job ended: the incomplete last line is a line. */
static void
test_partial_line_final_on_detach (void)
{
  g_autoptr(JobdOutput) output = jobd_output_new ("final", 10);
  g_autoptr(GPtrArray) lines = NULL;
  int fds[2];

  make_pipe (fds);
  jobd_output_attach (output, JOBD_STREAM_STDOUT, fds[0]);
  write_all (fds[1], "last words");
  jobd_output_detach (output);
  lines = jobd_output_read (output, 0);
  g_assert_cmpuint (lines->len, ==, 1);
  g_assert_cmpstr (((JobdLine *) lines->pdata[0])->text, ==, "last words");
  g_close (fds[1], NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* As jobd's main does: a gone follower is EPIPE, not death. */
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/output/ring", test_ring);
  g_test_add_func ("/output/ring-reuse", test_ring_reuse);
  g_test_add_func ("/output/append-and-sink", test_append_and_sink);
  g_test_add_func ("/output/pipe", test_pipe);
  g_test_add_func ("/output/eof-flushes", test_eof_flushes);
  g_test_add_func ("/output/detach", test_detach);
  g_test_add_func ("/output/bounded-dispatch", test_bounded_dispatch);
  g_test_add_func ("/output/flood", test_flood);
  g_test_add_func ("/output/log-files", test_log_files);
  g_test_add_func ("/output/follow", test_follow);
  g_test_add_func ("/output/slow-follower-dropped", test_slow_follower_dropped);
  g_test_add_func ("/output/gone-follower-closed-at-once", test_gone_follower_closed_at_once);
  g_test_add_func ("/output/closed-follower-dropped", test_closed_follower_dropped);
  g_test_add_func ("/output/ring-byte-budget", test_ring_byte_budget);
  g_test_add_func ("/output/partial-line-stays-in-pipe", test_partial_line_stays_in_pipe);
  g_test_add_func ("/output/line-in-small-pieces", test_line_in_small_pieces);
  g_test_add_func ("/output/partial-line-final-on-detach", test_partial_line_final_on_detach);
  g_test_add_func ("/output/dispose-closes", test_dispose_closes);

  return g_test_run ();
}
