/* SPDX-License-Identifier: MIT */
/* jobd-signal.h — signal names <-> numbers (jobd settings, jobctl --signal).
 *
 * One table, so the daemon and the CLI accept and show the same names.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_SIGNAL_MAX 64 /* SIGRTMAX on Linux */

/* "TERM", "SIGTERM", "15" → 15; -1 with error when unknown. */
int jobd_signal_from_string (const char *text, GError **error);
/* 15 → "SIGTERM"; a static string, "SIG<n>" form for unnamed ones is not
 * static so this returns NULL for them. */
const char *jobd_signal_to_string (int signo);

G_END_DECLS
