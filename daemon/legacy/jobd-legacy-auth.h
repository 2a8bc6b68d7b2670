/* SPDX-License-Identifier: MIT */
/* jobd-legacy-auth.h — the legacy "auth" plugin: users, privileges, DENIED.
 *
 * When enabled and at least one user exists, every request must carry
 * "auth": {"username", "password"} of a user whose privileges are "*" or
 * list the command word. Passwords are stored only as yescrypt hashes
 * (libxcrypt, its default cost; STATE_DIR/plugins/auth.json, mode 0600),
 * compared in constant time and never returned. Hashes of the PBKDF2 era
 * ("pbkdf2-sha256$...") still verify and are replaced by yescrypt ones at
 * the next successful check.
 *
 * The server checks passwords off the main loop (a pool of two threads,
 * a bounded queue) and throttles failures per connection (an exponential
 * delay) and per peer address (a token bucket): a throttled check answers
 * DENIED without running the KDF. A user that does not exist costs one KDF
 * run like one that does. A verified (user, password) is remembered for a
 * few minutes, keyed by an HMAC under a per-process random key.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jobd-legacy-context.h"

G_BEGIN_DECLS


JobdLegacyAuth *jobd_legacy_auth_new (const char *state_dir, GError **error);
void jobd_legacy_auth_free (JobdLegacyAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyAuth, jobd_legacy_auth_free)

/* TRUE when the request may run (auth off, no users, or good credentials
 * with the privilege). params is the request's parameters. */
gboolean jobd_legacy_auth_check (JobdLegacyAuth *auth,
                                 const char *command,
                                 JsonObject *params);

typedef enum {
  JOBD_LEGACY_AUTH_ALLOW,
  JOBD_LEGACY_AUTH_DENY,
  JOBD_LEGACY_AUTH_PENDING,   /* callback gets the verdict */
} JobdLegacyAuthVerdict;

/* The same check for the server: a verdict at once when no KDF run is
 * needed (or it is throttled), else PENDING and callback is called on the
 * main loop; jobd_legacy_auth_check_finish() is the verdict. client and
 * peer (the peer's address) may be NULL; peer_uid (JOBD_LEGACY_PEER_UNKNOWN
 * when not known) keys the per-peer throttle instead of the address. */
JobdLegacyAuthVerdict jobd_legacy_auth_check_async (JobdLegacyAuth *auth,
                                                    JobdLegacyAuthClient *client,
                                                    const char *peer,
                                                    guint peer_uid,
                                                    const char *command,
                                                    JsonObject *params,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
gboolean jobd_legacy_auth_check_finish (GAsyncResult *result);

/* How many password checks ran the KDF since start (tests, debugging). */
guint jobd_legacy_auth_kdf_runs (JobdLegacyAuth *auth);

const JobdLegacyCommand *jobd_legacy_auth_commands (void);

/* A yescrypt hash ("$y$..."), random salt, libxcrypt's default cost. */
char *jobd_legacy_auth_hash_password (const char *password);
/* A PBKDF2-era hash, "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64): only
 * for tests of the upgrade path. */
char *jobd_legacy_auth_hash_password_pbkdf2 (const char *password, guint iterations);
/* Either scheme; anything else (another crypt() scheme) is refused. */
gboolean jobd_legacy_auth_verify_password (const char *password, const char *stored);
/* TRUE for a hash of the current scheme (yescrypt). */
gboolean jobd_legacy_auth_hash_is_current (const char *stored);

/* Migration: take an old data/plugins/auth/config.json object (plain
 * passwords), hash them; existing users are kept unless force. */
gboolean jobd_legacy_auth_import (JobdLegacyAuth *auth,
                                  JsonObject *old_config,
                                  gboolean force,
                                  GString *report,
                                  GError **error);

G_END_DECLS
