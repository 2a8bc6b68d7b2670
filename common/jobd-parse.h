/* SPDX-License-Identifier: MIT */
/* jobd-parse.h — pure helpers of jobctl (shared in common/): parsing what users type
 * (durations, sizes, percentages, signals, KEY=VALUE) and formatting what
 * they read (sizes, durations, display widths).
 *
 * Nothing here talks to D-Bus or prints, so tests/cli tests it directly.
 * Parse errors are G_OPTION_ERROR_BAD_VALUE with a translated message that
 * names what was expected; the caller adds which option it came from.
 */
#pragma once

#include <glib.h>

#include "jobd-signal.h"

G_BEGIN_DECLS

/* "500ms", "2s", "1m", "1h", "1d", "1m 30s", "1m30s"; a plain number is
 * milliseconds. The result must fit in 32 bits (the API sends u). */
gboolean jobd_parse_duration_ms (const char *text, guint32 *out_ms, GError **error);

/* "64M", "1G", "512K", "2T", "64MiB", "64MB" (1024-based), plain = bytes;
 * "none" and "0" are 0 (no limit). */
gboolean jobd_parse_size (const char *text, guint64 *out_bytes, GError **error);

/* "50%" or "50"; "none" is 0 (no limit). */
gboolean jobd_parse_percent (const char *text, guint32 *out_percent, GError **error);

/* A decimal number that fits in max; "none" is 0 when allow_none. */
gboolean jobd_parse_uint (const char *text, guint64 max, gboolean allow_none,
                            guint64 *out_value, GError **error);

/* "yes"/"no", "true"/"false", "on"/"off", "1"/"0". */
gboolean jobd_parse_bool (const char *text, gboolean *out_value, GError **error);

/* "KEY=VALUE" → key, value. The key is not empty and has no '='; the value
 * may be empty. */
gboolean jobd_parse_key_value (const char *text, char **out_key, char **out_value,
                                 GError **error);

/* "TERM", "SIGTERM", "term", "15" → 15. */
gboolean jobd_parse_signal (const char *text, int *out_signo, GError **error);
/* The other way round: jobd_signal_to_string (jobd-signal.h). */

/* 9646899 → "9.2M"; below 1024 → "512B". Newly allocated. */
char *jobd_format_size (guint64 bytes);

/* The two most significant units: 90000 → "1m 30s", 273600000 → "3d 4h",
 * 500 → "500ms", 0 → "0". Parses back with jobd_parse_duration_ms. */
char *jobd_format_duration_ms (guint64 ms);

/* How long a job has been up, whole seconds: "5m 12s", "42s"; "-" when
 * started_at_usec is 0 or in the future of now_usec. */
char *jobd_format_uptime (guint64 started_at_usec, gint64 now_usec);

/* Terminal columns taken by a UTF-8 string (wide CJK characters take 2). */
gsize jobd_display_width (const char *text);

G_END_DECLS
