/* SPDX-License-Identifier: MIT */
/* jobd-memory.h — resident memory from /proc.
 *
 * A snapshot reads /proc once and sums resident memory per session ID, so
 * listing N jobs costs one scan, not N. The direct backend puts each job in
 * its own session (the job's main PID is the session ID).
 */
#pragma once

#include <glib.h>

#include "jobd-process.h"

G_BEGIN_DECLS

JobdMemorySnapshot *jobd_memory_snapshot_new (GError **error);
void jobd_memory_snapshot_free (JobdMemorySnapshot *snapshot);
/* Sum of RSS in bytes of every process whose session ID is sid. */
guint64 jobd_memory_snapshot_session_rss (JobdMemorySnapshot *snapshot, GPid sid);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdMemorySnapshot, jobd_memory_snapshot_free)
/* One slot for what a backend reads once per snapshot rather than once per
 * job (jobd-containment.c's process table); freed with the snapshot. */
gpointer jobd_memory_snapshot_get_data (JobdMemorySnapshot *snapshot);
void jobd_memory_snapshot_set_data (JobdMemorySnapshot *snapshot,
                                    gpointer data,
                                    GDestroyNotify destroy);

/* RSS of one process in bytes (from /proc/PID/statm). */
gboolean jobd_memory_process_rss (GPid pid, guint64 *bytes, GError **error);
/* Sum of RSS of the processes of a session, scanning /proc. */
gboolean jobd_memory_session_rss (GPid sid, guint64 *bytes, GError **error);

G_END_DECLS
