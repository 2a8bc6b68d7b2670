/* SPDX-License-Identifier: MIT */
/* jobd-logfile.h — the legacy log file layout.
 *
 *   <root>/<subdir>/<YYYYmmdd>/<YYYYmmddHH>.log        (stdout / server log)
 *   <root>/<subdir>/<YYYYmmdd>/<YYYYmmddHH>.error.log  (stderr)
 * with every line prefixed "[yy-mm-dd HH:MM:SS] " in local time.
 * subdir is "jobs/<name>" for a job and "server" for jobd itself.
 *
 * Files are opened lazily, kept open for the current hour (or until
 * jobd_log_file_close()) and reopened when the hour changes. Write errors are reported once per file, not per line.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JobdLogFile JobdLogFile;

JobdLogFile *jobd_log_file_new (const char *root, const char *subdir);
void jobd_log_file_free (JobdLogFile *log);
/* error_stream: TRUE for the .error.log file. time_usec: wall time of the
 * line. len: bytes of text, or -1 when text is NUL-terminated. */
gboolean jobd_log_file_write (JobdLogFile *log,
                              gboolean error_stream,
                              gint64 time_usec,
                              const char *text,
                              gssize len,
                              GError **error);
/* Push buffered data to the kernel. */
void jobd_log_file_flush (JobdLogFile *log);
/* Flush, close the files and drop the buffers (the output has ended); the
 * next line opens its file again. */
void jobd_log_file_close (JobdLogFile *log);

/* Where the files end right now, per stream (0 stdout, 1 stderr): the hour
 * key ("YYYYmmddHH") and offset at or after which every later line goes.
 * Flushes first, so the files hold every line written before. */
void jobd_log_file_end (JobdLogFile *log, char keys[2][11], guint64 offsets[2]);
/* root/subdir: the folder of the hour folders. */
const char *jobd_log_file_get_dir (JobdLogFile *log);

/* The three parts of a path for a given time, for tests and the explorer. */
char *jobd_log_file_day_dir_name (GDateTime *local_time);   /* YYYYmmdd */
char *jobd_log_file_hour_file_name (GDateTime *local_time, gboolean error_stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLogFile, jobd_log_file_free)

G_END_DECLS
