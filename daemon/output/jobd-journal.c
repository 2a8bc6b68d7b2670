/* SPDX-License-Identifier: MIT */
/* jobd-journal.c — send job output lines to journald. */
#include "config.h"

#include "jobd-journal.h"

#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

gboolean
jobd_journal_available (void)
{
  return access ("/run/systemd/journal/socket", W_OK) == 0;
}

void
jobd_journal_line_sink (const char *job_name, const JobdLine *line, gpointer user_data)
{
  JobdOutput *output = user_data;
  /* The sink runs after the line was counted: its number is one less. */
  guint64 number = output != NULL ? jobd_output_get_lines_total (output) - 1 : 0;

  /* Best effort: the ring and log files keep the line if journald drops it. */
  sd_journal_send ("MESSAGE=%s", line->text,
                   "JOBD_LINE=%s-%" G_GUINT64_FORMAT,
                   output != NULL ? jobd_output_get_history_id (output) : "none", number,
                   "PRIORITY=%d", line->stream == JOBD_STREAM_STDERR ? LOG_WARNING : LOG_INFO,
                   "JOBD_JOB=%s", job_name,
                   "JOBD_STREAM=%s", jobd_stream_to_string (line->stream),
                   "SYSLOG_IDENTIFIER=%s", job_name,
                   NULL);
}
