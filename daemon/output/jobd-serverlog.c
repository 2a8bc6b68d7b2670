/* SPDX-License-Identifier: MIT */
/* jobd-serverlog.c — the ring of jobd's own log lines and its log files. */
#include "config.h"

#include "jobd-serverlog.h"

#include <unistd.h>

#include "jobd-log.h"
#include "jobd-logfile.h"

static struct {
  GQueue lines;             /* char*, oldest first */
  JobdLogFile *file;
  gboolean verbose;
} server_log;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL) return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING) return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE) return "NOTICE";
  if (level & G_LOG_LEVEL_INFO) return "INFO";
  return "DEBUG";
}

static const char *
find_field (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, key))
      return fields[i].length < 0 ? fields[i].value : NULL;
  return NULL;
}

static void
remember (const char *level, const char *message)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (now / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (time, "%y-%m-%d %H:%M:%S");
  char *line = g_strdup_printf ("[%s] %s %s", stamp, level, message);

  g_queue_push_tail (&server_log.lines, line);
  while (g_queue_get_length (&server_log.lines) > JOBD_SERVER_LOG_LINES)
    g_free (g_queue_pop_head (&server_log.lines));

  if (server_log.file != NULL)
    {
      g_autofree char *text = g_strdup_printf ("%s %s", level, message);
      /* A failing log file must not recurse into the logger. */
      if (jobd_log_file_write (server_log.file, FALSE, now, text, -1, NULL))
        jobd_log_file_flush (server_log.file);
    }
}

static GLogWriterOutput
server_log_writer (GLogLevelFlags level,
                   const GLogField *fields,
                   gsize n_fields,
                   gpointer user_data)
{
  const char *message = find_field (fields, n_fields, "MESSAGE");
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  gboolean is_debug = (level & G_LOG_LEVEL_DEBUG) != 0;

  /* Debug lines: all of them with --verbose, else those G_MESSAGES_DEBUG
   * asks for ("jobd", "all", or another library's domain). */
  if (is_debug && !server_log.verbose && g_log_writer_default_would_drop (level, domain))
    return G_LOG_WRITER_HANDLED;
  if (message != NULL && !is_debug)
    remember (level_name (level), message);

  return jobd_log_write (level, fields, n_fields);
}

void
jobd_server_log_install (void)
{
  g_queue_init (&server_log.lines);
  g_log_set_writer_func (server_log_writer, NULL, NULL);
}

void
jobd_server_log_set_log_dir (const char *log_dir)
{
  g_clear_pointer (&server_log.file, jobd_log_file_free);
  if (log_dir != NULL)
    server_log.file = jobd_log_file_new (log_dir, "server");
}

void
jobd_server_log_set_verbose (gboolean verbose)
{
  server_log.verbose = verbose;
}

char **
jobd_server_log_get_lines (guint max_lines)
{
  guint total = g_queue_get_length (&server_log.lines);
  guint skip = (max_lines == 0 || max_lines >= total) ? 0 : total - max_lines;
  GPtrArray *lines = g_ptr_array_new ();
  guint i = 0;

  for (GList *l = server_log.lines.head; l != NULL; l = l->next, i++)
    if (i >= skip)
      g_ptr_array_add (lines, g_strdup (l->data));
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

void
jobd_server_log_shutdown (void)
{
  g_clear_pointer (&server_log.file, jobd_log_file_free);
  g_queue_clear_full (&server_log.lines, g_free);
}
