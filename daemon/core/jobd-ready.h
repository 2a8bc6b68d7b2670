/* SPDX-License-Identifier: MIT */
/* jobd-ready.h — what "ready" means for a job (the `ready` setting).
 *
 *   exec              up as soon as the program is exec'd (the default)
 *   notify            up when the job sends READY=1 to $NOTIFY_SOCKET
 *   log:REGEX         up when a line of its output matches REGEX
 *   tcp:PORT          up when 127.0.0.1:PORT accepts a connection
 *   exec-probe:CMD    up when `/bin/sh -c CMD` (run as the job's user) exits 0
 *
 * Parsed here once, for validation (settings) and for use (readiness).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JOBD_READY_EXEC,
  JOBD_READY_NOTIFY,
  JOBD_READY_LOG,
  JOBD_READY_TCP,
  JOBD_READY_EXEC_PROBE,
} JobdReadyMode;

#define JOBD_READY_DEFAULT "exec"
/* Without a ready-timeout-ms of its own, a job that waits for readiness
 * gives up after this long (systemd's DefaultTimeoutStartSec). */
#define JOBD_READY_TIMEOUT_DEFAULT_MS 90000u

typedef struct {
  JobdReadyMode mode;
  char *argument;     /* REGEX, COMMAND; NULL for exec and notify */
  guint16 port;       /* tcp */
} JobdReadySpec;

/* FALSE with JOBD_ERROR_INVALID_ARGS naming the problem ("ready: ..."):
 * an unknown mode, a regex that does not compile (with GRegex's reason),
 * a port outside 1..65535, an empty command. spec may be NULL (validate
 * only); otherwise clear it with jobd_ready_spec_clear(). */
gboolean jobd_ready_spec_parse (const char *text, JobdReadySpec *spec, GError **error);
void jobd_ready_spec_clear (JobdReadySpec *spec);

G_END_DECLS
