/* SPDX-License-Identifier: MIT */
/* jobd-launch.h — what a job's settings mean for one start.
 *
 * The policy half of starting a job, in ordinary GLib code: the program
 * found on PATH (and checked to be executable, so the error names the real
 * problem), the user and groups to run as, the environment, the working
 * directory and the limits. The result is a plain JobdChildSpec and
 * JobdLimits that a spawner (spawn/) carries out without knowing what a
 * JobdSettings is.
 */
#pragma once

#include <glib.h>

#include "jobd-child.h"
#include "jobd-process.h"
#include "jobd-settings.h"

G_BEGIN_DECLS

/* Resolve settings to a spec: argv (PATH lookup, interpreter), env, cwd and
 * credentials for owner_uid or the settings' user/group. stdout_fd,
 * stderr_fd and cgroup_fds are left at -1 for the spawner to fill.
 * SPAWN_FAILED names what is wrong; spec is then empty. */
gboolean jobd_launch_child_spec_init (JobdChildSpec *spec,
                                      const char *job_name,
                                      const JobdSettings *settings,
                                      guint owner_uid,
                                      GError **error);

/* The settings' resource limits. */
JobdLimits jobd_launch_limits (const JobdSettings *settings);

G_END_DECLS
