/* SPDX-License-Identifier: MIT */
/* jobd-watch.h — restart (or reload) a job when a watched file changes.
 *
 * A job with `watch` paths is watched from the moment it starts (state
 * starting with a process, or up) until it is down or failed; a restart
 * jobd makes keeps the watch. Changes (jobd-dirwatch.h says which count)
 * are debounced: the action runs once the files have been quiet for
 * watch-debounce-ms (trailing), so a `git checkout` of 1 000 files acts
 * once; changes that never stop act at the latest JOBD_WATCH_MAX_DELAY_MS
 * (or the debounce, if longer) after the first one. Changes while the job
 * stops or waits to start are dropped: the next run reads the files anew.
 * The action is jobd_job_restart_for() with reason file-change and the
 * first changed path as trigger, or jobd_job_reload() for "reload".
 *
 * Relative paths are relative to the job's working directory (the setting,
 * else the command's folder). A path must be an existing directory its
 * owner may read: checked when the job is added or updated and again at
 * each start. What cannot be watched (gone, out of inotify watches, past
 * the owner's MaxWatchesPerUser=) is the job's last error and a warning in
 * the log; the job runs on, unwatched (nothing of a watch that fails at
 * the start is kept: never a silent partial watch).
 * Watch settings changed while the job runs apply at once.
 */
#pragma once

#include "jobd-config.h"
#include "jobd-job.h"

G_BEGIN_DECLS

#define JOBD_WATCH_MAX_DELAY_MS 10000u

/* Follows job's state until the job is finalized. config (outliving the
 * job) bounds the directories watched per owner (MaxWatchesPerUser=, read
 * at each start, so a reload applies to later starts). */
void jobd_watch_attach (JobdJob *job, const JobdConfig *config);

/* The watch settings are valid for a job owned by owner_uid: every path
 * resolves to a directory the owner may read (INVALID_ARGS,
 * ACCESS_DENIED; the message begins with "watch: "). */
gboolean jobd_watch_check_settings (const JobdSettings *settings,
                                    guint owner_uid,
                                    GError **error);
/* The same at an update, when the watch settings change (a job whose
 * watched folder went away can still be updated otherwise). */
gboolean jobd_watch_check_settings_changed (const JobdSettings *old,
                                            const JobdSettings *settings,
                                            guint owner_uid,
                                            GError **error);

G_END_DECLS
