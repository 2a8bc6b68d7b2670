/* jobd-legacy-dispatch.h — from a request payload to a response payload.
 *
 * The dispatcher is the legacy protocol without the sockets: it parses a
 * payload (jobd-legacy-codec.h), runs the plugin checks (auth), finds the
 * command's handler (core commands in jobd-legacy-commands.c, plugin
 * commands in jobd-legacy-<plugin>.c) and builds the response payload. The
 * TCP server feeds it frames; the fuzz target feeds it bytes directly.
 *
 * Handlers complete a GTask with jobd_legacy_return(); most do so at once,
 * START and RESTART when the manager has done the work. Queries (STATUS)
 * answer from jobd's state at once, without a GTask: its completion costs a
 * main-loop turn, more than the query itself.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "jobd-config.h"
#include "jobd-legacy-codec.h"
#include "jobd-manager.h"

G_BEGIN_DECLS

typedef struct _JobdLegacy JobdLegacy;
/* A response produced piece by piece (jobd-legacy-logexplorer.h). */
typedef struct _JobdLegacyLogStream JobdLegacyLogStream;

/* The peer's uid when jobd cannot tell (not loopback, no answer from the
 * kernel, the fuzz target): no rights beyond the legacy identity's jobs. */
#define JOBD_LEGACY_PEER_UNKNOWN G_MAXUINT

/* Settings shared by every legacy handler, read from [Legacy] in jobd.conf. */
struct _JobdLegacy {
  JobdManager *manager;      /* owned reference */
  JobdConfig *config;        /* borrowed; outlives the dispatcher */
  char *user;                /* legacy jobs run as this user; NULL = jobd's own */
  guint owner_uid;           /* owner recorded for legacy jobs */
  char *interpreter;         /* for non-executable scripts ("php") */
  GHashTable *commands;      /* command word → const JobdLegacyCommand* */
  gpointer auth;             /* JobdLegacyAuth*, NULL when not loaded */
  gpointer scheduler;        /* JobdLegacyScheduler*, NULL when not loaded */
  gpointer logcleaner;       /* JobdLegacyLogCleaner*, NULL when not loaded */
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

/* Reads [Legacy] (User=, Interpreter=, Plugins=) from config->keyfile. */
JobdLegacy *jobd_legacy_new (JobdManager *manager, JobdConfig *config, GError **error);
void jobd_legacy_free (JobdLegacy *legacy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacy, jobd_legacy_free)

/* Start the plugins' timers (scheduler, log cleaner) in the main loop;
 * the TCP server calls it, the fuzz target and the importer do not. */
gboolean jobd_legacy_start_plugins (JobdLegacy *legacy, GError **error);

/* Register a table of commands (terminated by a { NULL } entry). */
void jobd_legacy_register (JobdLegacy *legacy, const JobdLegacyCommand *commands);

/* Handle one request payload from the peer with uid peer_uid
 * (JOBD_LEGACY_PEER_UNKNOWN when not known); never fails: every problem is
 * a response.
 * When the answer is ready at once (a query, or a request refused before
 * any handler runs), returns the response payload (JSON text, free with
 * g_free, its length in *response_len) and never calls callback. Otherwise
 * returns NULL, and callback gets the answer from
 * jobd_legacy_dispatch_finish(). */
char *jobd_legacy_dispatch (JobdLegacy *legacy,
                            guint peer_uid,
                            const void *payload,
                            gsize len,
                            gsize *response_len,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
/* The same for a request from client (its peer_uid is the caller's): the auth plugin
 * throttles password checks per client and per peer. A check that runs
 * the KDF is done off the main loop, so the answer comes through callback. */
char *jobd_legacy_dispatch_client (JobdLegacy *legacy,
                                   JobdLegacyClient *client,
                                   const void *payload,
                                   gsize len,
                                   gsize *response_len,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
/* The response payload (JSON text), free with g_free. */
char *jobd_legacy_dispatch_finish (JobdLegacy *legacy,
                                   GAsyncResult *result,
                                   gsize *len);

/* Like jobd_legacy_dispatch_finish(), but a streamed answer (a log file)
 * comes as *stream (transfer full; NULL returned, *len its size) instead of
 * being built in memory. */
char *jobd_legacy_dispatch_finish_stream (JobdLegacy *legacy,
                                          GAsyncResult *result,
                                          gsize *len,
                                          JobdLegacyLogStream **stream);

/* The same, with the response payload written out on a worker thread
 * (for answers that may be large, so the main loop is not held up);
 * callback gets it from jobd_legacy_dispatch_finish_built(). */
void jobd_legacy_dispatch_finish_async (GAsyncResult *result,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
char *jobd_legacy_dispatch_finish_built (GAsyncResult *result,
                                         gsize *len,
                                         JobdLegacyLogStream **stream);

/* Complete a handler's task with a streamed answer (transfer full). */
void jobd_legacy_return_stream (GTask *task, JobdLegacyLogStream *stream);
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
