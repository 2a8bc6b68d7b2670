/* SPDX-License-Identifier: MIT */
/* jobd-spawner-direct.h — the direct backend: fork/exec, no systemd.
 *
 * Each job runs in a new session (its main PID is session and process group
 * ID) and is contained as jobd-containment.h says (its own cgroup, or jobd
 * as subreaper and a tag): stop, kill, memory and the clean-up when the main
 * process exits all reach that set, so a job never leaks processes. A job
 * taken back from an older jobd (no containment in its record) keeps the
 * process group rule.
 *
 * Output goes through FIFOs (jobd-fifo.h), so it survives a jobd restart.
 */
#pragma once

#include "jobd-spawner.h"

G_BEGIN_DECLS

#define JOBD_TYPE_SPAWNER_DIRECT (jobd_spawner_direct_get_type ())
G_DECLARE_FINAL_TYPE (JobdSpawnerDirect, jobd_spawner_direct, JOBD, SPAWNER_DIRECT, GObject)

JobdSpawner *jobd_spawner_direct_new (void);

#define JOBD_TYPE_DIRECT_PROCESS (jobd_direct_process_get_type ())
G_DECLARE_FINAL_TYPE (JobdDirectProcess, jobd_direct_process, JOBD, DIRECT_PROCESS, JobdProcess)

/* Wrap a PID that is not our child (re-adoption after a jobd restart). */
JobdProcess *jobd_direct_process_adopt (GPid pid, guint64 start_ticks, GError **error);

G_END_DECLS
