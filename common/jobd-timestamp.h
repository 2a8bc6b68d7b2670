/* SPDX-License-Identifier: MIT */
/* jobd-timestamp.h — points in time as users type them (journalctl's
 * --since/--until): "2026-12-05 10:00[:00]", "2026-12-05", "10:00" (today),
 * "now", "today", "yesterday", "tomorrow", "@UNIX_SECONDS", "-1h", "+30m",
 * "1h ago" (durations as jobd_parse_duration_ms takes them), in local time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* *out_usec: µs since the epoch; now_usec is what "now" means. */
gboolean jobd_parse_timestamp (const char *text, gint64 now_usec, gint64 *out_usec,
                               GError **error);

G_END_DECLS
