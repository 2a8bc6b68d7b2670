/* SPDX-License-Identifier: MIT */
/* jobd-logretention.h — expire job log files by age and size.
 *
 * The tree is the one jobd-logfile.h writes:
 *   <root>/jobs/<name>/<YYYYmmdd>/<files>   and   <root>/server/<YYYYmmdd>/<files>
 * A pass deletes, in each job's folder and in server/ separately, the
 * regular files last modified before `older_than`, then the oldest ones
 * (by modification time) until what is left of that folder takes at most
 * `max_bytes`, then the day folders left empty. Symlinks are never followed
 * nor deleted; a file modified at or after `keep_since` is never deleted
 * (the one being written). Used by the core ([Daemon] LogMaxAge=,
 * LogMaxSize=) and by the legacy logcleaner plugin.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint64 older_than;        /* Unix s; G_MININT64: no age limit */
  guint64 max_bytes;        /* per job (and server/); 0: no size limit */
  gint64 keep_since;        /* Unix s; G_MAXINT64: nothing is protected */
  gint64 empty_dirs_before; /* an empty day folder older than this goes */
} JobdLogPrune;

/* One pass, synchronously. *removed counts files and folders. FALSE only
 * when the log directory itself cannot be opened (a missing one is fine);
 * problems with single entries are logged and skipped. */
gboolean jobd_log_prune (const char *log_dir,
                         const JobdLogPrune *rule,
                         guint *removed,
                         GError **error);

/* The rule for "now": fills *rule, FALSE when there is nothing to do. */
typedef gboolean (*JobdLogPruneRuleFunc) (JobdLogPrune *rule, gint64 now_sec, gpointer user_data);

typedef struct _JobdLogRetention JobdLogRetention;

/* Passes run in a worker thread (never two at once), once at start and
 * then every interval_sec; `rule` is asked in the main loop each time, so
 * a reloaded configuration applies at the next pass. `what` names the
 * owner in log messages. */
JobdLogRetention *jobd_log_retention_new (const char *log_dir,
                                          const char *what,
                                          guint interval_sec,
                                          JobdLogPruneRuleFunc rule,
                                          gpointer user_data);
void jobd_log_retention_start (JobdLogRetention *retention);
/* Waits for a pass in progress. */
void jobd_log_retention_free (JobdLogRetention *retention);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLogRetention, jobd_log_retention_free)

G_END_DECLS
