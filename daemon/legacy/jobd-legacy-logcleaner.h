/* SPDX-License-Identifier: MIT */
/* jobd-legacy-logcleaner.h — the legacy "logcleaner" plugin: log retention.
 *
 * Every [Legacy] LogCleanIntervalSec (default 3600) and once at start, the
 * regular files under LOG_DIR/jobs/<job>/<day>/ and LOG_DIR/server/<day>/
 * whose modification time is older than [Legacy] LogExpireDays (default 7)
 * are deleted, then the day folders left empty (and as old). Symlinks are
 * never followed nor deleted: only what really lies in the log tree goes.
 * The pass runs in a worker thread, off the main loop.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-legacy-context.h"

G_BEGIN_DECLS


/* [Legacy] LogExpireDays= and LogCleanIntervalSec= (JobdLegacyConfig). */
JobdLegacyLogCleaner *jobd_legacy_logcleaner_new (const char *log_dir,
                                                  guint64 expire_days,
                                                  guint64 interval_sec);
void jobd_legacy_logcleaner_free (JobdLegacyLogCleaner *cleaner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyLogCleaner, jobd_legacy_logcleaner_free)

/* Clean now (in a thread) and then every interval, in the main loop. */
void jobd_legacy_logcleaner_start (JobdLegacyLogCleaner *cleaner);

/* One pass, synchronously: delete what was last modified before
 * `older_than` (Unix seconds). Returns the number of files and folders
 * removed; problems with single entries are logged and skipped. FALSE only
 * when the log directory itself cannot be opened (a missing one is fine). */
gboolean jobd_legacy_log_clean (const char *log_dir,
                                gint64 older_than,
                                guint *removed,
                                GError **error);

G_END_DECLS
