/* SPDX-License-Identifier: MIT */
/* jobd-legacy-context.h — what every legacy command handler sees: the
 * legacy state (JobdLegacy), the command table type, the reply helpers.
 *
 * Plugins (auth, scheduler, log explorer, log cleaner) and the core
 * commands include this header, never jobd-legacy-dispatch.h; the
 * dispatcher includes them. So the wing has no include circle: context <-
 * plugins <- dispatcher <- server, importer.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "jobd-config.h"
#include "jobd-legacy-codec.h"
#include "jobd-legacy-config.h"
#include "jobd-legacy-stream.h"
#include "jobd-manager.h"

G_BEGIN_DECLS

typedef struct _JobdLegacy JobdLegacy;
/* The plugins' states (jobd-legacy-<plugin>.h declares what they do). */
typedef struct _JobdLegacyAuth JobdLegacyAuth;
typedef struct _JobdLegacyScheduler JobdLegacyScheduler;
typedef struct _JobdLegacyLogCleaner JobdLegacyLogCleaner;

/* The peer's uid when jobd cannot tell (not loopback, no answer from the
 * kernel, the fuzz target): no rights beyond the legacy identity's jobs. */
#define JOBD_LEGACY_PEER_UNKNOWN G_MAXUINT

/* What every legacy handler shares. */
struct _JobdLegacy {
  JobdManager *manager;      /* owned reference */
  JobdConfig *config;        /* borrowed; outlives the dispatcher */
  char *user;                /* legacy jobs run as this user; NULL = jobd's own */
  guint owner_uid;           /* owner recorded for legacy jobs */
  JobdLegacyConfig conf;     /* [Legacy], read once (a reload applies some) */
  GHashTable *commands;      /* command word → const JobdLegacyCommand* */
  JobdLegacyAuth *auth;              /* NULL when not loaded */
  JobdLegacyScheduler *scheduler;    /* NULL when not loaded */
  JobdLegacyLogCleaner *logcleaner;  /* NULL when not loaded */
  char *log_dir;             /* the log directory (logexplorer) */
};

/* Per-connection password throttling (jobd-legacy-auth.c), zeroed at
 * first. */
typedef struct {
  guint failures;         /* wrong passwords in a row */
  gint64 retry_usec;      /* no KDF run for this connection before then */
} JobdLegacyAuthClient;

/* Who sends the requests: one per TCP connection, kept alive by the
 * caller until every request's answer has come. */
typedef struct {
  const char *peer;       /* the peer's address, NULL when unknown */
  guint peer_uid;         /* its uid, or JOBD_LEGACY_PEER_UNKNOWN */
  JobdLegacyAuthClient auth;
} JobdLegacyClient;

typedef void (*JobdLegacyHandler) (JobdLegacy *legacy,
                                   JsonObject *params,
                                   GTask *task);

/* Returns the code and sets *data (transfer full) when there is data. */
typedef JobdLegacyCode (*JobdLegacyQuery) (JobdLegacy *legacy,
                                           JsonObject *params,
                                           JsonNode **data);

typedef struct {
  const char *word;           /* "ADD", "AUTH.ADD" */
  JobdLegacyHandler handler;  /* NULL for a query */
  gboolean needs_jobname;     /* FAILED at once when "jobname" is missing */
  JobdLegacyQuery query;      /* answers at once (instead of handler) */
  /* Changes the existing job named by "jobname" (or what runs it): the peer
   * needs jobd_legacy_peer_may_change(), else DENIED. */
  gboolean changes_job;
} JobdLegacyCommand;

/* A handler's answer, as its GTask returns it: code and data, or a stream
 * (then code is OK and data NULL). The dispatcher reads it back. */
typedef struct {
  JobdLegacyCode code;
  JsonNode *data;
  JobdLegacyStream *stream;   /* instead of code and data */
} JobdLegacyReply;

void jobd_legacy_reply_free (gpointer reply);

/* Complete a handler's task with a streamed answer (transfer full). */
void jobd_legacy_return_stream (GTask *task, JobdLegacyStream *stream);
/* Complete a handler's task. data (transfer full) may be NULL. */
void jobd_legacy_return (GTask *task, JobdLegacyCode code, JsonNode *data);
void jobd_legacy_return_string (GTask *task, JobdLegacyCode code, const char *data);
/* FAILED, logging why at debug level. */
void jobd_legacy_fail (GTask *task, const char *command, const GError *error);
/* The same for a query: logs why, returns JOBD_LEGACY_CODE_FAILED. */
JobdLegacyCode jobd_legacy_failed (const char *command, const GError *error);

/* Core commands (jobd-legacy-commands.c). */
const JobdLegacyCommand *jobd_legacy_core_commands (void);
/* Merge a legacy job record (command, params, buffersize, writelog,
 * autostart, guard, extras) into settings, as ADD and UPDATE do: run as the
 * legacy user, scripts through the interpreter; validated. */
gboolean jobd_legacy_settings_merge (JobdLegacy *legacy,
                                     JobdSettings *settings,
                                     JsonObject *record,
                                     GError **error);
/* Legacy user resolution: explicit User=, else "jobd-legacy" when root
 * (falling back to "nobody"), else NULL (jobd's own user). */
gboolean jobd_legacy_resolve_user (const char *configured,
                                   char **user,
                                   guint *owner_uid,
                                   GError **error);

G_END_DECLS
