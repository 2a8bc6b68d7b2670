/* SPDX-License-Identifier: MIT */
/* jobd-probe.h — one look at a running job from outside: the probes that
 * readiness (jobd-readiness.h) and health (jobd-health.h) both run.
 *
 *   tcp:PORT                      127.0.0.1:PORT accepts a connection
 *   http://127.0.0.1:PORT/PATH    GET PATH answers with a 2xx or 3xx status
 *   exec:COMMAND                  `/bin/sh -c COMMAND`, run as the job runs
 *                                 (its user, groups, environment, folder),
 *                                 exits 0
 *
 * A probe runs once, within its timeout: past it, it is cancelled (an exec
 * probe is killed with its process group) and reports a failure. It reads
 * a bounded amount: an HTTP answer's status line only (a body is never
 * read), the first JOBD_PROBE_OUTPUT_MAX bytes of an exec probe's output
 * (the rest is read and dropped). Only the loopback address is ever probed.
 */
#pragma once

#include <glib.h>

#include "jobd-child.h"

G_BEGIN_DECLS

/* The health-* settings' defaults (a probe every 10 s, 5 s to answer, 3
 * failures in a row restart the job: Docker's HEALTHCHECK has 30 s/30 s/3,
 * shorter here because a restart is the only reaction). */
#define JOBD_HEALTH_INTERVAL_DEFAULT_MS 10000u
#define JOBD_HEALTH_TIMEOUT_DEFAULT_MS 5000u
#define JOBD_HEALTH_FAILURES_DEFAULT 3u

/* What an exec probe's output keeps, and how long a status line may be. */
#define JOBD_PROBE_OUTPUT_MAX 256u
#define JOBD_PROBE_STATUS_LINE_MAX 512u

typedef enum {
  JOBD_PROBE_TCP,
  JOBD_PROBE_HTTP,
  JOBD_PROBE_EXEC,
} JobdProbeKind;

typedef struct {
  JobdProbeKind kind;
  guint16 port;       /* tcp, http */
  char *path;         /* http: the request target, starting with '/' */
  char *command;      /* exec */
} JobdProbeSpec;

/* The `health` setting: exec:COMMAND, tcp:PORT, or an http URL on the
 * loopback address: http://127.0.0.1:PORT/PATH (localhost is 127.0.0.1;
 * without PORT, 80; without PATH, /), also written http:URL as the issue
 * spells it. FALSE with JOBD_ERROR_INVALID_ARGS naming the problem
 * ("health: ..."): another host (jobd probes its own jobs, never the
 * network), https, a bad port, an empty command. spec may be NULL
 * (validate only); otherwise clear it with jobd_probe_spec_clear(). */
gboolean jobd_probe_spec_parse (const char *text, JobdProbeSpec *spec, GError **error);
/* PORT of tcp:PORT in 1..65535, else INVALID_ARGS "SETTING: bad port ...". */
gboolean jobd_probe_port_parse (const char *setting, const char *text, guint16 *port,
                                GError **error);
void jobd_probe_spec_clear (JobdProbeSpec *spec);

typedef struct _JobdProbe JobdProbe;

/* Called once, from the main loop (never from jobd_probe_run()): ok, and
 * a one-line account of the result ("HTTP 200", "exit code 1: ...",
 * "timed out after 5000 ms"). It may free the probe. */
typedef void (*JobdProbeFunc) (gboolean ok, const char *result, gpointer user_data);

/* job_child: how the job itself was started, which an exec probe copies
 * with its own argv; job_pid: the job's main process, whose cgroup an exec
 * probe joins when the job has one of its own (0: none). Both are ignored
 * for tcp and http. */
JobdProbe *jobd_probe_run (const JobdProbeSpec *spec,
                           const JobdChildSpec *job_child,
                           GPid job_pid,
                           guint timeout_ms,
                           JobdProbeFunc func,
                           gpointer user_data);
/* Cancels a probe under way (no callback then; an exec probe is killed and
 * reaped later) or frees a finished one. */
void jobd_probe_free (JobdProbe *probe);

G_END_DECLS
