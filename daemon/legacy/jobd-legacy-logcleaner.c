/* SPDX-License-Identifier: MIT */
/* jobd-legacy-logcleaner.c — delete expired legacy log files.
 *
 * The walk and the periodic pass are the core's log retention
 * (output/jobd-logretention.c); this plugin only supplies its rule: age
 * alone, LogExpireDays, nothing protected (as the PHP plugin did).
 */
#include "jobd-legacy-logcleaner.h"

#include "jobd-logretention.h"

#define DAY_SECONDS (24 * 3600)

struct _JobdLegacyLogCleaner {
  JobdLogRetention *retention;
  gint64 expire_sec;
};

static void
legacy_rule (JobdLogPrune *rule, gint64 older_than)
{
  rule->older_than = older_than;
  rule->max_bytes = 0;
  rule->keep_since = G_MAXINT64;
  rule->empty_dirs_before = older_than;
}

gboolean
jobd_legacy_log_clean (const char *log_dir,
                       gint64 older_than,
                       guint *removed,
                       GError **error)
{
  JobdLogPrune rule;

  legacy_rule (&rule, older_than);
  return jobd_log_prune (log_dir, &rule, removed, error);
}

static gboolean
rule_now (JobdLogPrune *rule, gint64 now_sec, gpointer user_data)
{
  JobdLegacyLogCleaner *cleaner = user_data;

  legacy_rule (rule, now_sec - cleaner->expire_sec);
  return TRUE;
}

JobdLegacyLogCleaner *
jobd_legacy_logcleaner_new (const char *log_dir, guint64 expire_days, guint64 interval_sec)
{
  JobdLegacyLogCleaner *cleaner = g_new0 (JobdLegacyLogCleaner, 1);

  cleaner->expire_sec = (gint64) expire_days * DAY_SECONDS;
  cleaner->retention = jobd_log_retention_new (log_dir, "logcleaner", (guint) interval_sec,
                                               rule_now, cleaner);
  return cleaner;
}

void
jobd_legacy_logcleaner_start (JobdLegacyLogCleaner *cleaner)
{
  jobd_log_retention_start (cleaner->retention);
}

void
jobd_legacy_logcleaner_free (JobdLegacyLogCleaner *cleaner)
{
  if (cleaner == NULL)
    return;
  jobd_log_retention_free (cleaner->retention);
  g_free (cleaner);
}
