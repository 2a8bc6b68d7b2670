/* SPDX-License-Identifier: MIT */
/* jobd-legacy-import.h — bring an old php-backend-server installation over.
 *
 * Reads the old server's data/ folder:
 *   config.json                        job records → jobs (the same mapping
 *                                      as the legacy ADD command)
 *   plugins/auth/config.json           users, plain passwords hashed
 *   plugins/scheduler/config.json      schedules, UUIDs kept
 *   plugins/scheduler/log/<job>/<uuid>.log   fire logs
 * Every file is parsed before anything changes, so a corrupt one imports
 * nothing. Existing jobs, users and schedules of the same name are left
 * alone (and reported as skipped) unless force.
 */
#pragma once

#include <glib.h>

#include "jobd-config.h"
#include "jobd-manager.h"

G_BEGIN_DECLS

/* The manager must be loaded (jobd_manager_load) and not serving yet.
 * report receives one line per thing imported or skipped. */
gboolean jobd_legacy_import (JobdManager *manager,
                             const char *data_dir,
                             gboolean force,
                             GString *report,
                             GError **error);

/* `jobd --import-legacy DIR [--force]`: import, print the report on
 * stdout (errors on stderr), return the process exit status. */
int jobd_legacy_import_main (JobdConfig *config,
                             JobdManager *manager,
                             const char *data_dir,
                             gboolean force);

G_END_DECLS
