/* SPDX-License-Identifier: MIT */
/* jobd-log.c — job messages with journal fields; the plain stderr format. */
#include "config.h"

#include "jobd-log.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The journal's priority for a GLib level (what g_log_structured() sets). */
static const char *
level_priority (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) return "4";
  if (level & G_LOG_LEVEL_MESSAGE) return "5";
  if (level & G_LOG_LEVEL_INFO) return "6";
  return "7";
}

void
jobd_job_log (GLogLevelFlags level,
              const char *job_name,
              const char *message_id,
              const char *reason,
              const char *format,
              ...)
{
  g_autofree char *message = NULL;
  GLogField fields[6];
  gsize n = 0;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fields[n++] = (GLogField) { "MESSAGE", message, -1 };
  fields[n++] = (GLogField) { "PRIORITY", level_priority (level), -1 };
  fields[n++] = (GLogField) { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 };
  fields[n++] = (GLogField) { "JOBD_JOB", job_name != NULL ? job_name : "", -1 };
  if (message_id != NULL)
    fields[n++] = (GLogField) { "MESSAGE_ID", message_id, -1 };
  if (reason != NULL)
    fields[n++] = (GLogField) { "JOBD_REASON", reason, -1 };
  g_log_structured_array (level, fields, n);
}

/* What systemd does (sd_journal_stream_fd's counterpart in
 * systemd's log.c): stderr is the journal when JOURNAL_STREAM names its
 * device and inode. A redirected stderr under a service keeps the variable
 * but not the inode, and gets plain lines. */
gboolean
jobd_log_stderr_is_journal (void)
{
  const char *stream = g_getenv ("JOURNAL_STREAM");
  guint64 dev, ino;
  struct stat st;

  if (stream == NULL || sscanf (stream, "%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, &dev, &ino) != 2)
    return FALSE;
  if (fstat (STDERR_FILENO, &st) < 0)
    return FALSE;
  return (guint64) st.st_dev == dev && (guint64) st.st_ino == ino;
}

static const char *
find_field (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, key))
      return fields[i].length < 0 ? fields[i].value : NULL;
  return NULL;
}

static const char *
level_prefix (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "ERROR: ";
  if (level & G_LOG_LEVEL_CRITICAL) return "CRITICAL: ";
  if (level & G_LOG_LEVEL_WARNING) return "WARNING: ";
  if (level & G_LOG_LEVEL_DEBUG) return "debug: ";
  return "";
}

/* "jobd: [DOMAIN: ][LEVEL: ]MESSAGE\n" in one write(), so lines from two
 * threads do not interleave. */
static GLogWriterOutput
write_plain (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  const char *message = find_field (fields, n_fields, "MESSAGE");
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  g_autoptr(GString) line = g_string_new ("jobd: ");
  gsize done = 0;

  if (domain != NULL && !g_str_equal (domain, G_LOG_DOMAIN))
    g_string_append_printf (line, "%s: ", domain);
  g_string_append (line, level_prefix (level));
  g_string_append (line, message != NULL ? message : "(no message)");
  g_string_append_c (line, '\n');

  while (done < line->len)
    {
      ssize_t n = write (STDERR_FILENO, line->str + done, line->len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return G_LOG_WRITER_UNHANDLED;
      done += (gsize) n;
    }
  return G_LOG_WRITER_HANDLED;
}

GLogWriterOutput
jobd_log_write (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  static gsize journal_checked = 0;
  static gboolean journal;

  if (g_once_init_enter (&journal_checked))
    {
      journal = jobd_log_stderr_is_journal ();
      g_once_init_leave (&journal_checked, 1);
    }
  if (journal && g_log_writer_journald (level, fields, n_fields, NULL) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return write_plain (level, fields, n_fields);
}
