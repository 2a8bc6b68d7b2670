/* SPDX-License-Identifier: MIT */
/* jobd-output.h — a job's captured output.
 *
 * Bytes from the job's stdout and stderr file descriptors go through a line
 * splitter per stream into:
 *   - the ring buffer of the last buffer_size lines (time, stream, text),
 *   - the legacy log files when write-log is on (jobd-logfile.h),
 *   - every follower (FollowOutput): a pipe per client,
 *   - a line sink callback (the journal, under the systemd backend).
 *
 * Reading is bounded per main-loop dispatch, so a job printing as fast as it
 * can neither grows jobd's memory (lines are capped at JOBD_LINE_MAX bytes,
 * after U+FFFD replacement too, and the ring at buffer_size lines and a byte
 * budget) nor starves other sources. Lines are made valid UTF-8 without NULs
 * (invalid bytes become U+FFFD) so they are safe in D-Bus strings.
 *
 * From a pipe (the FIFOs) only complete lines are taken, after they went
 * out: what jobd has not delivered stays in the pipe for the next jobd.
 *
 * The file descriptors may outlive jobd (FIFOs, the fd store): JobdOutput
 * only reads them; whoever hands them in decides what closing means.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define JOBD_LINE_MAX (64 * 1024)
/* The ring's default byte budget per job, besides its line count: lines
 * of an unprivileged user's job cannot make jobd hold more than this. */
#define JOBD_RING_BYTES_DEFAULT (4 * 1024 * 1024)

typedef enum {
  JOBD_STREAM_STDOUT,
  JOBD_STREAM_STDERR,
} JobdStream;

const char *jobd_stream_to_string (JobdStream stream);

typedef struct {
  gint64 time_usec;   /* g_get_real_time() when the line was complete */
  JobdStream stream;
  char *text;         /* valid UTF-8, no NUL, no trailing newline */
} JobdLine;

/* One allocation for the line and a copy of len bytes of text. */
JobdLine *jobd_line_new (gint64 time_usec, JobdStream stream, const char *text, gsize len);
void jobd_line_free (JobdLine *line);

/* Called for every complete line, after the ring has it. */
typedef void (*JobdLineSink) (const char *job_name,
                              const JobdLine *line,
                              gpointer user_data);

#define JOBD_TYPE_OUTPUT (jobd_output_get_type ())
G_DECLARE_FINAL_TYPE (JobdOutput, jobd_output, JOBD, OUTPUT, GObject)

JobdOutput *jobd_output_new (const char *job_name, guint buffer_size);

void jobd_output_set_buffer_size (JobdOutput *output, guint buffer_size);
/* Memory the ring's lines may take (JOBD_RING_BYTES_DEFAULT unless set);
 * the oldest lines go first, the newest line is always kept. */
void jobd_output_set_byte_budget (JobdOutput *output, gsize bytes);
gsize jobd_output_get_ring_bytes (JobdOutput *output);
/* NULL turns log files off; otherwise the log directory root
 * (files go to LOG_DIR/jobs/<name>/<YYYYmmdd>/<YYYYmmddHH>[.error].log). */
void jobd_output_set_log_dir (JobdOutput *output, const char *log_dir);
void jobd_output_set_line_sink (JobdOutput *output,
                                JobdLineSink sink,
                                gpointer user_data);
/* A second, independent sink for a watcher of the lines (a job waiting for
 * a line that says it is ready); NULL removes it. */
void jobd_output_set_line_watcher (JobdOutput *output,
                                   JobdLineSink watcher,
                                   gpointer user_data);

/* Start reading fd (non-blocking is set here). Takes ownership of fd.
 * Replaces a previous fd of that stream (flushing its partial line). */
void jobd_output_attach (JobdOutput *output, JobdStream stream, int fd);
/* Read what is available right now on both streams, without blocking. */
void jobd_output_drain (JobdOutput *output);
/* The job's output has ended: drain, take incomplete last lines as lines,
 * stop watching and close the fds and the log files. */
void jobd_output_detach (JobdOutput *output);
/* jobd lets go of a job that goes on (jobd exits): drain complete lines,
 * stop watching and close the fds; an incomplete line stays in its pipe for
 * the next reader. */
void jobd_output_release (JobdOutput *output);
/* Append a line of jobd's own as if the job wrote it. */
void jobd_output_append (JobdOutput *output, JobdStream stream, const char *text);
/* A line of jobd's own for the legacy log files only (the old server's
 * exit line): not in the ring, not to followers or the sink. Nothing when
 * log files are off. */
void jobd_output_log_only (JobdOutput *output, JobdStream stream, const char *text);

/* The last max_lines lines (0 = all buffered), oldest first;
 * element type JobdLine, owned by the caller. */
GPtrArray *jobd_output_read (JobdOutput *output, guint max_lines);

/* History (jobd-outputlog.h). Every line since creation has a number
 * (0, 1, ...); the ring holds numbers [ring_first, lines_total). */
guint64 jobd_output_ring_first (JobdOutput *output);
/* The line with that number, NULL when the ring no longer has it. */
const JobdLine *jobd_output_ring_line (JobdOutput *output, guint64 number);
/* Where the log files end now (jobd_log_file_end); FALSE when write-log
 * is off. */
gboolean jobd_output_log_end (JobdOutput *output, char keys[2][11], guint64 offsets[2]);
/* The job's log folder, NULL when write-log is off. */
const char *jobd_output_get_log_files_dir (JobdOutput *output);
gboolean jobd_output_has_line_sink (JobdOutput *output, JobdLineSink sink);
const char *jobd_output_get_job_name (JobdOutput *output);
/* Random, fixed for the output's life: the journal's JOBD_LINE= field is
 * "ID-NUMBER" so a history read knows this output's lines from those of an
 * earlier jobd or an earlier job of the same name. */
const char *jobd_output_get_history_id (JobdOutput *output);

/* Followers one reader uid may have open at once, over every job (root:
 * no bound). Each is a descriptor of jobd's and a pipe of up to 1 MiB of
 * kernel memory that root's pipe limits do not bound. */
#define JOBD_FOLLOWERS_PER_USER 128

/* A new follower for reader_uid (JOBD_ERROR_BUSY past
 * JOBD_FOLLOWERS_PER_USER): returns the read end of a pipe on which every new line
 * arrives as "STREAM\tTIME_USEC\tTEXT\n"; -1 with error on failure.
 * A follower whose pipe is full (a reader that does not keep up) is dropped
 * rather than buffered for: it gets no more lines, only (once it reads
 * again) the rest of a line cut short and a last line
 * "dropped\tTIME_USEC\tREASON\n", then EOF; one that does not read within
 * 30 s is closed without it. A follower whose reader closed its end is
 * closed at once. */
int jobd_output_follow (JobdOutput *output, guint reader_uid, GError **error);
/* Followers open (for tests). */
guint jobd_output_get_followers (JobdOutput *output);

/* Lines of one stream delivered since creation (a run's count is the
 * difference between its start and its end). */
guint64 jobd_output_get_stream_lines (JobdOutput *output, JobdStream stream);
/* Totals since creation, for tests and benchmarks. */
guint64 jobd_output_get_lines_total (JobdOutput *output);

G_END_DECLS
