/* SPDX-License-Identifier: MIT */
/* jobd-logfile.c — write lines into the legacy hourly log files.
 *
 * Each stream (stdout → .log, stderr → .error.log) keeps its current hour's
 * file open and a userspace buffer that jobd_log_file_flush() (called once
 * per read dispatch) or a full buffer pushes to the kernel, so a flood of
 * lines costs one write() per batch, not per line. The local-time prefix and
 * the file name are recomputed only when the line's second changes.
 *
 * A file that cannot be opened or written is reported once with g_warning()
 * and its lines are dropped until the hour (and so the file) changes;
 * jobd_log_file_write() still returns each dropped line as an error so a
 * caller can tell.
 */
#include "jobd-logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

#define LOG_BUFFER_FLUSH_AT (64 * 1024)

typedef struct {
  char *path;          /* the file for the hour being written, NULL before */
  int fd;              /* -1 when not open */
  gboolean failed;     /* an error on path was reported already */
  gint64 checked_sec;  /* path is right for this second */
  GString *buf;
} LogStream;

struct _JobdLogFile {
  char *dir;           /* root/subdir */
  LogStream streams[2];
  gint64 cached_sec;   /* the second the cached prefix and day are for */
  char prefix[32];     /* "[yy-mm-dd HH:MM:SS] " */
  gsize prefix_len;
  GDateTime *cached_time;
};

char *
jobd_log_file_day_dir_name (GDateTime *local_time)
{
  return g_date_time_format (local_time, "%Y%m%d");
}

char *
jobd_log_file_hour_file_name (GDateTime *local_time, gboolean error_stream)
{
  g_autofree char *hour = g_date_time_format (local_time, "%Y%m%d%H");

  return g_strconcat (hour, error_stream ? ".error.log" : ".log", NULL);
}

JobdLogFile *
jobd_log_file_new (const char *root, const char *subdir)
{
  JobdLogFile *log;

  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (subdir != NULL, NULL);

  log = g_new0 (JobdLogFile, 1);
  log->dir = g_build_filename (root, subdir, NULL);
  log->cached_sec = G_MININT64;
  for (guint i = 0; i < G_N_ELEMENTS (log->streams); i++)
    {
      log->streams[i].fd = -1;
      log->streams[i].checked_sec = G_MININT64;
      log->streams[i].buf = g_string_new (NULL);
    }
  return log;
}

/* Report the first error on the stream's current file; later ones on the
 * same file only drop data. */
static void
log_stream_fail (LogStream *ls, const char *what, int errsv)
{
  if (ls->failed)
    return;
  ls->failed = TRUE;
  g_warning ("Log file %s: %s failed: %s (further errors on this file are not reported)",
             ls->path, what, g_strerror (errsv));
}

static void
log_stream_flush (LogStream *ls)
{
  gsize done = 0;

  while (ls->fd >= 0 && done < ls->buf->len)
    {
      ssize_t n = write (ls->fd, ls->buf->str + done, ls->buf->len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          log_stream_fail (ls, "write", errno);
          break;
        }
      done += n;
    }
  g_string_truncate (ls->buf, 0);
}

static void
log_stream_close (LogStream *ls)
{
  log_stream_flush (ls);
  if (ls->fd >= 0)
    g_close (ls->fd, NULL);
  ls->fd = -1;
  g_clear_pointer (&ls->path, g_free);
  ls->failed = FALSE;
}

void
jobd_log_file_free (JobdLogFile *log)
{
  if (log == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (log->streams); i++)
    {
      log_stream_close (&log->streams[i]);
      g_string_free (log->streams[i].buf, TRUE);
    }
  g_clear_pointer (&log->cached_time, g_date_time_unref);
  g_free (log->dir);
  g_free (log);
}

void
jobd_log_file_flush (JobdLogFile *log)
{
  g_return_if_fail (log != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (log->streams); i++)
    log_stream_flush (&log->streams[i]);
}

void
jobd_log_file_close (JobdLogFile *log)
{
  g_return_if_fail (log != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (log->streams); i++)
    {
      LogStream *ls = &log->streams[i];

      log_stream_close (ls);
      ls->checked_sec = G_MININT64;
      /* A flood leaves a large buffer behind; a stopped job needs none. */
      g_string_free (ls->buf, TRUE);
      ls->buf = g_string_new (NULL);
    }
}

const char *
jobd_log_file_get_dir (JobdLogFile *log)
{
  return log->dir;
}

void
jobd_log_file_end (JobdLogFile *log, char keys[2][11], guint64 offsets[2])
{
  g_return_if_fail (log != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (log->streams); i++)
    {
      LogStream *ls = &log->streams[i];
      off_t end = -1;

      log_stream_flush (ls);
      if (ls->fd >= 0 && ls->path != NULL)
        end = lseek (ls->fd, 0, SEEK_END);
      if (end >= 0)
        {
          g_autofree char *base = g_path_get_basename (ls->path);

          g_strlcpy (keys[i], base, 11);
          offsets[i] = (guint64) end;
        }
      else
        {
          /* No file open: the next line goes to the hour of now (or later)
           * at the end of what that file holds. */
          g_autoptr(GDateTime) now = g_date_time_new_now_local ();
          g_autofree char *day = jobd_log_file_day_dir_name (now);
          g_autofree char *name = jobd_log_file_hour_file_name (now, i == 1);
          g_autofree char *path = g_build_filename (log->dir, day, name, NULL);
          GStatBuf st;

          g_strlcpy (keys[i], name, 11);
          offsets[i] = g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
        }
    }
}

/* Make sure ls writes to the file for the cached time's hour (called when
 * the second changed). */
static void
log_stream_open_for (JobdLogFile *log, LogStream *ls, gboolean error_stream)
{
  g_autofree char *day = NULL;
  g_autofree char *name = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;

  ls->checked_sec = log->cached_sec;
  day = jobd_log_file_day_dir_name (log->cached_time);
  name = jobd_log_file_hour_file_name (log->cached_time, error_stream);
  dir = g_build_filename (log->dir, day, NULL);
  path = g_build_filename (dir, name, NULL);
  if (g_strcmp0 (path, ls->path) == 0)
    return;

  log_stream_close (ls);
  ls->path = g_steal_pointer (&path);
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      log_stream_fail (ls, "mkdir", errno);
      return;
    }
  ls->fd = open (ls->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (ls->fd < 0)
    log_stream_fail (ls, "open", errno);
}

/* Recompute the prefix and local time (called when the second changed). */
static void
log_file_set_time (JobdLogFile *log, gint64 sec)
{
  g_autofree char *prefix = NULL;

  g_clear_pointer (&log->cached_time, g_date_time_unref);
  log->cached_time = g_date_time_new_from_unix_local (sec);
  if (log->cached_time == NULL)
    log->cached_time = g_date_time_new_now_local ();   /* out of range */
  prefix = g_date_time_format (log->cached_time, "[%y-%m-%d %H:%M:%S] ");
  g_strlcpy (log->prefix, prefix, sizeof log->prefix);
  log->prefix_len = strlen (log->prefix);
  log->cached_sec = sec;
}

gboolean
jobd_log_file_write (JobdLogFile *log,
                     gboolean error_stream,
                     gint64 time_usec,
                     const char *text,
                     gssize len,
                     GError **error)
{
  LogStream *ls;
  gint64 sec;
  gsize text_len, start;
  char *p;

  g_return_val_if_fail (log != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The checks are inline so that lines within one second (a flood) cost
   * no call, allocation or cleanup. */
  ls = &log->streams[error_stream ? 1 : 0];
  sec = time_usec / G_USEC_PER_SEC;
  if (G_UNLIKELY (sec != log->cached_sec || log->cached_time == NULL))
    log_file_set_time (log, sec);
  if (G_UNLIKELY (ls->checked_sec != log->cached_sec))
    log_stream_open_for (log, ls, error_stream);
  if (ls->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Log file %s is not writable; line dropped", ls->path);
      return FALSE;
    }

  /* One reservation and two copies: this runs for every line of a flood. */
  text_len = len < 0 ? strlen (text) : (gsize) len;
  start = ls->buf->len;
  g_string_set_size (ls->buf, start + log->prefix_len + text_len + 1);
  p = ls->buf->str + start;
  memcpy (p, log->prefix, log->prefix_len);
  memcpy (p + log->prefix_len, text, text_len);
  p[log->prefix_len + text_len] = '\n';
  if (ls->buf->len >= LOG_BUFFER_FLUSH_AT)
    log_stream_flush (ls);
  return TRUE;
}
