/* jobd-legacy-auth.h — the legacy "auth" plugin: users, privileges, DENIED.
 *
 * When enabled and at least one user exists, every request must carry
 * "auth": {"username", "password"} of a user whose privileges are "*" or
 * list the command word. Passwords are stored only as salted PBKDF2-SHA256
 * hashes (STATE_DIR/plugins/auth.json, mode 0600), compared in constant
 * time and never returned.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jobd-legacy-dispatch.h"

G_BEGIN_DECLS

typedef struct _JobdLegacyAuth JobdLegacyAuth;

JobdLegacyAuth *jobd_legacy_auth_new (const char *state_dir, GError **error);
void jobd_legacy_auth_free (JobdLegacyAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyAuth, jobd_legacy_auth_free)

/* TRUE when the request may run (auth off, no users, or good credentials
 * with the privilege). params is the request's parameters. */
gboolean jobd_legacy_auth_check (JobdLegacyAuth *auth,
                                 const char *command,
                                 JsonObject *params);

const JobdLegacyCommand *jobd_legacy_auth_commands (void);

/* "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64), with a random salt. */
char *jobd_legacy_auth_hash_password (const char *password);
gboolean jobd_legacy_auth_verify_password (const char *password, const char *stored);

/* Migration: take an old data/plugins/auth/config.json object (plain
 * passwords), hash them; existing users are kept unless force. */
gboolean jobd_legacy_auth_import (JobdLegacyAuth *auth,
                                  JsonObject *old_config,
                                  gboolean force,
                                  GString *report,
                                  GError **error);

G_END_DECLS
