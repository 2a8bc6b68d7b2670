/* SPDX-License-Identifier: MIT */
/* jobd-journal.h — job output to the systemd journal.
 *
 * When journald is there, every output line of a job is also sent to the
 * journal with fields naming the job, so `journalctl JOBD_JOB=NAME` (or the
 * job's scope unit under the systemd backend) finds it.
 */
#pragma once

#include "jobd-output.h"

G_BEGIN_DECLS

/* Whether journald's socket is there to send to. */
gboolean jobd_journal_available (void);
/* A JobdLineSink for jobd_output_set_line_sink (user_data: the output,
 * whose line numbers go in JOBD_LINE=, jobd-journalread.h). */
void jobd_journal_line_sink (const char *job_name, const JobdLine *line, gpointer user_data);

G_END_DECLS
