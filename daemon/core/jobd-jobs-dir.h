/* SPDX-License-Identifier: MIT */
/* jobd-jobs-dir.h — [Daemon] JobsDirectory=: jobd applies a folder of job
 * files (common/jobd-jobfile.h) at start and on every reload, as
 * `jobctl apply --prune DIR` does: jobs the files name are added or
 * updated (a running job restarts only when a changed setting needs it),
 * jobs made from a file of that folder that no file names any more are
 * stopped and removed, other jobs are left alone. A file with an error is
 * logged (FILE:LINE: Key: why) and skipped; the others still apply.
 */
#pragma once

#include "jobd-manager.h"

G_BEGIN_DECLS

/* Applies config->jobs_directory (nothing when it is NULL). start_new:
 * start the added AutoStart=yes jobs now (on reload; at start-up the
 * autostart pass that follows starts them). */
void jobd_jobs_dir_apply (JobdManager *manager, gboolean start_new);

G_END_DECLS
