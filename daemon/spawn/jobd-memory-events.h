/* SPDX-License-Identifier: MIT */
/* jobd-memory-events.h — the kernel telling jobd that a cgroup passed its
 * memory.high.
 *
 * cgroup v2 counts in memory.events ("high N") how often the cgroup went
 * over memory.high, and the kernel notifies a change of that file (to
 * inotify as IN_MODIFY, to poll() as POLLPRI; systemd watches it the same
 * way for OOM kills). One inotify descriptor serves every watch: an idle
 * job costs no wake-up at all.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JobdMemoryEvents JobdMemoryEvents;

/* high: the "high" count now. lost: the file went away (the cgroup was
 * removed); no more calls come after that. */
typedef void (*JobdMemoryEventsFunc) (guint64 high, gboolean lost, gpointer user_data);

/* Watch path (a memory.events file); func is called from the main loop
 * when its "high" count grows past what it was when the watch began. */
JobdMemoryEvents *jobd_memory_events_watch (const char *path,
                                            JobdMemoryEventsFunc func,
                                            gpointer user_data,
                                            GError **error);
void jobd_memory_events_free (JobdMemoryEvents *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdMemoryEvents, jobd_memory_events_free)

/* The "high" line of memory.events text. */
gboolean jobd_memory_events_parse_high (const char *contents, guint64 *high);

G_END_DECLS
