/* SPDX-License-Identifier: MIT */
/* jobd-serverlog.h — jobd's own log: a ring of recent lines, the legacy
 * server log files, and on to the journal or stderr (jobd-log.h).
 *
 * Installed as GLib's structured log writer, so every g_message/g_warning of
 * the daemon lands here first. The ring feeds GetServerLog (jobctl server
 * log) and the legacy SERVERREAD.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_SERVER_LOG_LINES 200

/* Install the writer. log_dir may be NULL (no log files yet). */
void jobd_server_log_install (void);
/* Start writing LOG_DIR/server/<day>/<hour>.log as well. */
void jobd_server_log_set_log_dir (const char *log_dir);
/* Show debug messages too (--verbose). */
void jobd_server_log_set_verbose (gboolean verbose);
/* The last max_lines lines (0 = all), oldest first, "[time] LEVEL message". */
char **jobd_server_log_get_lines (guint max_lines);
void jobd_server_log_shutdown (void);

G_END_DECLS
