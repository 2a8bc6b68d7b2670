/* SPDX-License-Identifier: MIT */
/* jobd-legacy-dispatch.h — from a request payload to a response payload.
 *
 * The dispatcher is the legacy protocol without the sockets: it parses a
 * payload (jobd-legacy-codec.h), runs the plugin checks (auth), finds the
 * command's handler (core commands in jobd-legacy-commands.c, plugin
 * commands in jobd-legacy-<plugin>.c) and builds the response payload. The
 * TCP server feeds it frames; the fuzz target feeds it bytes directly.
 *
 * What handlers see (the state, the command type, the reply helpers) is in
 * jobd-legacy-context.h: plugins include that, never this file; only the
 * server, the importer and the fuzz target include the dispatcher.
 *
 * Handlers complete a GTask with jobd_legacy_return(); most do so at once,
 * START and RESTART when the manager has done the work. Queries (STATUS)
 * answer from jobd's state at once, without a GTask: its completion costs a
 * main-loop turn, more than the query itself.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "jobd-legacy-context.h"

G_BEGIN_DECLS

/* Reads [Legacy] from config->keyfile into legacy->conf (the only place
 * it is read at start-up) and loads the plugins it names. */
JobdLegacy *jobd_legacy_new (JobdManager *manager, JobdConfig *config, GError **error);
void jobd_legacy_free (JobdLegacy *legacy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacy, jobd_legacy_free)

/* Start the plugins' timers (scheduler, log cleaner) in the main loop;
 * the TCP server calls it, the fuzz target and the importer do not. */
gboolean jobd_legacy_start_plugins (JobdLegacy *legacy, GError **error);

/* Register a table of commands (terminated by a { NULL } entry). */
void jobd_legacy_register (JobdLegacy *legacy, const JobdLegacyCommand *commands);
/* Turn a registered command off: it answers UNKNOWN from now on. The fuzz
 * target does so for START and RESTART, which would run the made-up
 * programs the fuzzer writes. FALSE when word was not registered. */
gboolean jobd_legacy_unregister (JobdLegacy *legacy, const char *word);

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
                                          JobdLegacyStream **stream);

/* The same, with the response payload written out on a worker thread
 * (for answers that may be large, so the main loop is not held up);
 * callback gets it from jobd_legacy_dispatch_finish_built(). */
void jobd_legacy_dispatch_finish_async (GAsyncResult *result,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
char *jobd_legacy_dispatch_finish_built (GAsyncResult *result,
                                         gsize *len,
                                         JobdLegacyStream **stream);

G_END_DECLS
