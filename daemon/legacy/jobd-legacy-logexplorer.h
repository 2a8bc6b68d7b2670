/* SPDX-License-Identifier: MIT */
/* jobd-legacy-logexplorer.h — the legacy "logexplorer" plugin.
 *
 * Lists and reads LOG_DIR/jobs/<job>/<day>/<file> and
 * LOG_DIR/server/<day>/<file>. Every name from the client is one path
 * component (no "/", ".", "..", NUL, empty) and every step is opened with
 * openat(O_NOFOLLOW) from the log directory, so nothing outside it, not
 * even through a symlink, can be listed or read.
 */
#pragma once

#include "jobd-legacy-context.h"

G_BEGIN_DECLS

/* Largest file LOGEXPLORER.GET returns (bigger ones answer FAILED). */
#define JOBD_LEGACY_LOG_READ_MAX (16 * 1024 * 1024)

const JobdLegacyCommand *jobd_legacy_logexplorer_commands (void);

/* Exposed for unit tests: a safe single path component? */
gboolean jobd_legacy_log_name_is_safe (const char *name);
/* Entries of LOG_DIR/<components...> (directories when want_dirs, else
 * regular files), newest (greatest name) first. */
GPtrArray *jobd_legacy_log_list (const char *log_dir,
                                 const char *const *components,
                                 gboolean want_dirs,
                                 GError **error);
/* Contents of LOG_DIR/<components...> (the last one a regular file), made
 * valid UTF-8. */
char *jobd_legacy_log_read (const char *log_dir,
                            const char *const *components,
                            GError **error);

/* A file's contents as a whole response payload, {"code":"OK","data":"..."},
 * produced slice by slice (see jobd-legacy-logexplorer.c). _open reads the
 * file once to measure it: call it off the main loop. */
JobdLegacyStream *jobd_legacy_log_stream_open (const char *log_dir,
                                               const char *const *components,
                                               GError **error);

G_END_DECLS
