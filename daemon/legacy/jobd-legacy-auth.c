/* SPDX-License-Identifier: MIT */
/* jobd-legacy-auth.c — the legacy "auth" plugin.
 *
 * Deliberate difference from the old server: it stored and returned plain
 * passwords; here only a yescrypt hash is kept, compared in constant time,
 * and records are returned without it. A yescrypt run costs tens of
 * milliseconds and 16 MiB, so every run for a client (checking a password,
 * hashing a new one) happens on a small pool of threads, throttled when
 * it is a failure, and a successful check is remembered for a few minutes
 * (as a keyed digest, never the password) so repeated requests stay cheap.
 */
#include "jobd-legacy-datafile.h"
#include "jobd-legacy-auth.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "jobd-error.h"

#define AUTH_FILE "auth.json"
/* The PBKDF2 era: still verified, upgraded to yescrypt on the next login. */
#define PBKDF2_SCHEME "pbkdf2-sha256"
#define PBKDF2_ITERATIONS 20000
#define HASH_LEN 32
#define SALT_LEN 16
#define YESCRYPT_PREFIX "$y$"
#define CACHE_MAX 256
/* A verified (user, password) is remembered this long: a PHP client sends
 * its credentials with every request, and a yescrypt run per request would
 * cost more than everything else jobd does for it. */
#define CACHE_TTL_USEC (300 * G_USEC_PER_SEC)
#define USERNAME_MAX 256
#define PASSWORD_MAX 1024
/* Password checks run on this many threads, never on the main loop; at most
 * VERIFY_QUEUE_MAX more wait (beyond that: DENIED at once). yescrypt's
 * default cost uses 16 MiB per run, so this also bounds that memory. */
#define VERIFY_THREADS 2
#define VERIFY_QUEUE_MAX 32
/* After the n-th wrong password on a connection, its next password check
 * waits CONN_DELAY_BASE_MSEC * 2^(n-1), at most CONN_DELAY_MAX_MSEC;
 * earlier attempts are DENIED without running the KDF. */
#define CONN_DELAY_BASE_MSEC 250
#define CONN_DELAY_MAX_MSEC 30000
/* Per peer, a token bucket: PEER_BURST checks, then one more per
 * PEER_REFILL_MSEC; a successful check gives its token back. A local peer
 * is its uid (every local user comes from 127.0.0.1, and one user's wrong
 * passwords must not lock out another; nor may a user escape the bucket by
 * binding another loopback address), a remote one its address. */
#define PEER_BURST 10.0
#define PEER_REFILL_MSEC 1000
#define PEERS_MAX 4096

typedef struct {
  double tokens;
  gint64 updated_usec;
} PeerBucket;

struct _JobdLegacyAuth {
  char *path;
  gboolean enable;
  JsonObject *users;          /* username → record (with "password-hash") */
  /* What the file holds: when a save fails, memory goes back to it, so a
   * change answered FAILED is not shown, nor written by a later save. */
  JsonObject *saved_users;
  gboolean saved_enable;
  GHashTable *good;           /* keyed digest of verified credentials → gint64 expiry */
  guint8 cache_key[32];
  /* yescrypt settings (salt and cost) that no password matches: an unknown
   * user costs one KDF run, as a known one does. */
  char dummy_setting[CRYPT_GENSALT_OUTPUT_SIZE];
  GHashTable *peers;          /* throttle_key() → PeerBucket */
  GThreadPool *pool;
  GCancellable *shutdown;     /* cancelled when the plugin goes away */
  guint kdf_runs;
};

/* One password check, prepared on the main loop, run on a pool thread. */
typedef struct {
  JobdLegacyAuth *auth;       /* valid while auth->shutdown is not cancelled */
  char *username;             /* NULL: unknown user, checked against the dummy */
  char *password;
  char *stored;               /* the user's hash, or the dummy setting */
  char *upgraded;             /* set by the thread: the new yescrypt hash */
  char *dummy;                /* the dummy setting, for PBKDF2-era users */
  JobdLegacyAuthClient *client;
  char *peer;                 /* the peer's address, for the log */
  char *key;                  /* its bucket: throttle_key() */
  gboolean ok;
} Verify;

static void
verify_free (gpointer data)
{
  Verify *v = data;

  g_free (v->username);
  if (v->password != NULL)
    explicit_bzero (v->password, strlen (v->password));
  g_free (v->password);
  g_free (v->stored);
  g_free (v->upgraded);
  g_free (v->dummy);
  g_free (v->peer);
  g_free (v->key);
  g_free (v);
}

static gboolean
fill_random (guint8 *buf, gsize len, GError **error)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = getrandom (buf + done, len - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "getrandom: %s", g_strerror (saved));
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

/* PBKDF2-HMAC-SHA256, one output block (RFC 8018). */
static void
pbkdf2_sha256 (const char *password,
               const guint8 *salt, gsize salt_len,
               guint iterations,
               guint8 out[HASH_LEN])
{
  g_autoptr(GHmac) keyed = g_hmac_new (G_CHECKSUM_SHA256,
                                       (const guchar *) password, strlen (password));
  guint8 u[HASH_LEN];
  gsize u_len = HASH_LEN;
  const guint8 block[4] = { 0, 0, 0, 1 };
  GHmac *h;

  h = g_hmac_copy (keyed);
  g_hmac_update (h, salt, salt_len);
  g_hmac_update (h, block, 4);
  g_hmac_get_digest (h, u, &u_len);
  g_hmac_unref (h);
  memcpy (out, u, HASH_LEN);

  for (guint i = 1; i < iterations; i++)
    {
      h = g_hmac_copy (keyed);
      g_hmac_update (h, u, HASH_LEN);
      u_len = HASH_LEN;
      g_hmac_get_digest (h, u, &u_len);
      g_hmac_unref (h);
      for (guint j = 0; j < HASH_LEN; j++)
        out[j] ^= u[j];
    }
}

char *
jobd_legacy_auth_hash_password_pbkdf2 (const char *password, guint iterations)
{
  guint8 salt[SALT_LEN];
  guint8 hash[HASH_LEN];
  g_autofree char *salt64 = NULL;
  g_autofree char *hash64 = NULL;
  g_autoptr(GError) error = NULL;

  if (!fill_random (salt, sizeof salt, &error))
    g_error ("cannot hash a password without randomness: %s", error->message);
  pbkdf2_sha256 (password, salt, sizeof salt, iterations, hash);
  salt64 = g_base64_encode (salt, sizeof salt);
  hash64 = g_base64_encode (hash, sizeof hash);
  return g_strdup_printf (PBKDF2_SCHEME "$%u$%s$%s", iterations, salt64, hash64);
}

/* yescrypt settings with libxcrypt's default cost (its current guidance)
 * and a salt from the kernel's random source. */
static void
yescrypt_setting (char setting[CRYPT_GENSALT_OUTPUT_SIZE])
{
  if (crypt_gensalt_rn (YESCRYPT_PREFIX, 0, NULL, 0, setting, CRYPT_GENSALT_OUTPUT_SIZE) == NULL)
    g_error ("crypt_gensalt_rn(yescrypt): %s", g_strerror (errno));
}

char *
jobd_legacy_auth_hash_password (const char *password)
{
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  char *hash;

  yescrypt_setting (setting);
  hash = crypt_rn (password, setting, data, sizeof *data);
  if (hash == NULL || hash[0] == '*')
    g_error ("yescrypt failed: %s", g_strerror (errno));
  hash = g_strdup (hash);
  explicit_bzero (data, sizeof *data);
  return hash;
}

gboolean
jobd_legacy_auth_hash_is_current (const char *stored)
{
  return stored != NULL && g_str_has_prefix (stored, YESCRYPT_PREFIX);
}

static gboolean
equal_constant_time (const guint8 *a, const guint8 *b, gsize len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

static gboolean
verify_pbkdf2 (const char *password, const char *stored)
{
  g_auto(GStrv) parts = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *expected = NULL;
  gsize salt_len = 0, expected_len = 0;
  guint64 iterations;
  guint8 hash[HASH_LEN];

  parts = g_strsplit (stored, "$", 0);
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[0], PBKDF2_SCHEME)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, 10000000, &iterations, NULL))
    return FALSE;
  salt = g_base64_decode (parts[2], &salt_len);
  expected = g_base64_decode (parts[3], &expected_len);
  if (salt_len == 0 || expected_len != HASH_LEN)
    return FALSE;
  pbkdf2_sha256 (password, salt, salt_len, (guint) iterations, hash);
  return equal_constant_time (hash, expected, HASH_LEN);
}

/* Only "$y$": crypt_rn() would take anything else as another (weaker)
 * scheme, down to DES. */
static gboolean
verify_yescrypt (const char *password, const char *stored)
{
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  const char *hash = crypt_rn (password, stored, data, sizeof *data);
  gsize len = strlen (stored);
  gboolean ok;

  ok = hash != NULL && hash[0] != '*' && strlen (hash) == len
       && equal_constant_time ((const guint8 *) hash, (const guint8 *) stored, len);
  explicit_bzero (data, sizeof *data);
  return ok;
}

gboolean
jobd_legacy_auth_verify_password (const char *password, const char *stored)
{
  if (password == NULL || stored == NULL)
    return FALSE;
  if (jobd_legacy_auth_hash_is_current (stored))
    return verify_yescrypt (password, stored);
  return verify_pbkdf2 (password, stored);
}

/* A digest naming (user, password, stored hash) under a per-process key. */
static char *
cache_id (JobdLegacyAuth *auth, const char *username, const char *password,
          const char *stored)
{
  g_autoptr(GHmac) h = g_hmac_new (G_CHECKSUM_SHA256, auth->cache_key,
                                   sizeof auth->cache_key);

  g_hmac_update (h, (const guchar *) username, strlen (username) + 1);
  g_hmac_update (h, (const guchar *) password, strlen (password) + 1);
  g_hmac_update (h, (const guchar *) stored, strlen (stored) + 1);
  return g_strdup (g_hmac_get_string (h));
}

static gboolean
cache_lookup (JobdLegacyAuth *auth, const char *id)
{
  gint64 *expiry = g_hash_table_lookup (auth->good, id);

  if (expiry == NULL)
    return FALSE;
  if (*expiry > g_get_monotonic_time ())
    return TRUE;
  g_hash_table_remove (auth->good, id);
  return FALSE;
}

static void
cache_add (JobdLegacyAuth *auth, char *id)
{
  gint64 *expiry = g_new (gint64, 1);

  *expiry = g_get_monotonic_time () + CACHE_TTL_USEC;
  if (g_hash_table_size (auth->good) >= CACHE_MAX)
    g_hash_table_remove_all (auth->good);
  g_hash_table_replace (auth->good, id, expiry);
}

static gboolean
load (JobdLegacyAuth *auth, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  if (!jobd_legacy_datafile_load (auth->path, parser, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  auth->enable = json_object_get_boolean_member_with_default (object, "enable", FALSE);
  if (json_object_has_member (object, "users")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "users")))
    {
      json_object_unref (auth->users);
      auth->users = json_object_ref (json_object_get_object_member (object, "users"));
    }
  return TRUE;
}

/* A copy of the users deep enough for every change made here: records are
 * changed in place (a new hash), their values only replaced. */
static JsonObject *
users_copy (JsonObject *users)
{
  JsonObject *copy = json_object_new ();
  g_autoptr(GList) names = json_object_get_members (users);

  for (GList *n = names; n != NULL; n = n->next)
    {
      JsonNode *node = json_object_get_member (users, n->data);

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *record = json_node_get_object (node);
          JsonObject *record_copy = json_object_new ();
          g_autoptr(GList) keys = json_object_get_members (record);

          for (GList *k = keys; k != NULL; k = k->next)
            json_object_set_member (record_copy, k->data,
                                    json_node_copy (json_object_get_member (record, k->data)));
          json_object_set_object_member (copy, n->data, record_copy);
        }
      else
        json_object_set_member (copy, n->data, json_node_copy (node));
    }
  return copy;
}

static void
remember_saved (JobdLegacyAuth *auth)
{
  g_clear_pointer (&auth->saved_users, json_object_unref);
  auth->saved_users = users_copy (auth->users);
  auth->saved_enable = auth->enable;
}

/* Write the users; when that fails, the change is undone in memory too. */
static gboolean
save (JobdLegacyAuth *auth, GError **error)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = NULL;

  json_object_set_boolean_member (object, "enable", auth->enable);
  json_object_set_object_member (object, "users", json_object_ref (auth->users));
  root = json_node_init_object (json_node_alloc (), object);
  /* Cached good credentials may be stale now. */
  g_hash_table_remove_all (auth->good);
  if (!jobd_legacy_datafile_save (auth->path, root, error))
    {
      json_object_unref (auth->users);
      auth->users = users_copy (auth->saved_users);
      auth->enable = auth->saved_enable;
      return FALSE;
    }
  remember_saved (auth);
  return TRUE;
}

static void verify_thread (gpointer data, gpointer user_data);

JobdLegacyAuth *
jobd_legacy_auth_new (const char *state_dir, GError **error)
{
  g_autoptr(JobdLegacyAuth) auth = g_new0 (JobdLegacyAuth, 1);

  auth->path = g_build_filename (state_dir, "plugins", AUTH_FILE, NULL);
  auth->users = json_object_new ();
  auth->good = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  auth->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  auth->shutdown = g_cancellable_new ();
  yescrypt_setting (auth->dummy_setting);
  if (!fill_random (auth->cache_key, sizeof auth->cache_key, error)
      || !load (auth, error))
    return NULL;
  remember_saved (auth);
  auth->pool = g_thread_pool_new (verify_thread, NULL, VERIFY_THREADS, FALSE, error);
  if (auth->pool == NULL)
    return NULL;
  return g_steal_pointer (&auth);
}

void
jobd_legacy_auth_free (JobdLegacyAuth *auth)
{
  if (auth == NULL)
    return;
  /* Checks still queued see the cancellation and skip the KDF; their
   * callbacks answer DENIED without looking at auth. */
  g_cancellable_cancel (auth->shutdown);
  if (auth->pool != NULL)
    g_thread_pool_free (auth->pool, FALSE, TRUE);
  g_clear_object (&auth->shutdown);
  g_free (auth->path);
  g_clear_pointer (&auth->users, json_object_unref);
  g_clear_pointer (&auth->saved_users, json_object_unref);
  g_clear_pointer (&auth->good, g_hash_table_unref);
  g_clear_pointer (&auth->peers, g_hash_table_unref);
  g_free (auth);
}

guint
jobd_legacy_auth_kdf_runs (JobdLegacyAuth *auth)
{
  return auth->kdf_runs;
}

static gboolean
has_privilege (const char *privileges, const char *command)
{
  g_auto(GStrv) list = NULL;

  if (privileges == NULL)
    return FALSE;
  if (g_str_equal (privileges, "*"))
    return TRUE;
  list = g_strsplit (privileges, ",", 0);
  for (guint i = 0; list[i] != NULL; i++)
    if (g_str_equal (g_strstrip (list[i]), command))
      return TRUE;
  return FALSE;
}

static gboolean
user_may (JobdLegacyAuth *auth, const char *username, const char *command)
{
  JsonObject *user;

  if (username == NULL || !json_object_has_member (auth->users, username))
    return FALSE;
  user = json_object_get_object_member (auth->users, username);
  return user != NULL
         && has_privilege (json_object_get_string_member_with_default (user, "privileges", NULL),
                           command);
}

typedef enum {
  CHECK_ALLOW,
  CHECK_DENY,
  CHECK_VERIFY,    /* *verify_out is the KDF run to do */
} CheckStep;

/* Everything but the KDF: credentials present, cached, user known. A user
 * that does not exist (or has no hash) is checked against the dummy
 * setting, so answering costs the same. */
static CheckStep
check_prepare (JobdLegacyAuth *auth, const char *command, JsonObject *params,
               Verify **verify_out)
{
  JsonObject *cred = NULL, *user = NULL;
  const char *username = NULL, *password = NULL, *stored = NULL;
  g_autofree char *id = NULL;
  Verify *v;

  if (!auth->enable || json_object_get_size (auth->users) == 0)
    return CHECK_ALLOW;

  if (!jobd_legacy_param_object (params, "auth", FALSE, &cred, NULL) || cred == NULL
      || !jobd_legacy_param_string (cred, "username", TRUE, &username, NULL)
      || !jobd_legacy_param_string (cred, "password", TRUE, &password, NULL)
      || strlen (username) > USERNAME_MAX || strlen (password) > PASSWORD_MAX)
    return CHECK_DENY;

  if (json_object_has_member (auth->users, username))
    user = json_object_get_object_member (auth->users, username);
  if (user != NULL)
    stored = json_object_get_string_member_with_default (user, "password-hash", NULL);
  if (stored != NULL)
    {
      id = cache_id (auth, username, password, stored);
      if (cache_lookup (auth, id))
        return user_may (auth, username, command) ? CHECK_ALLOW : CHECK_DENY;
    }

  v = g_new0 (Verify, 1);
  v->auth = auth;
  v->username = stored != NULL ? g_strdup (username) : NULL;
  v->password = g_strdup (password);
  v->stored = g_strdup (stored != NULL ? stored : auth->dummy_setting);
  v->dummy = g_strdup (auth->dummy_setting);
  *verify_out = v;
  return CHECK_VERIFY;
}

/* The KDF (on a pool thread, or inline for jobd_legacy_auth_check()). */
static void
verify_run (Verify *v)
{
  v->ok = jobd_legacy_auth_verify_password (v->password, v->stored) && v->username != NULL;
  if (jobd_legacy_auth_hash_is_current (v->stored))
    return;
  /* A PBKDF2-era user: one yescrypt run either way, so that it does not
   * answer faster than a user that does not exist. */
  if (v->ok)
    v->upgraded = jobd_legacy_auth_hash_password (v->password);
  else
    (void) verify_yescrypt (v->password, v->dummy);
}

/* Back on the main loop: upgrade a PBKDF2-era hash, remember success. */
static gboolean
verify_apply (JobdLegacyAuth *auth, Verify *v, const char *command)
{
  JsonObject *user;
  const char *stored;

  if (!v->ok)
    return FALSE;
  if (!json_object_has_member (auth->users, v->username))
    return FALSE;
  user = json_object_get_object_member (auth->users, v->username);
  stored = user != NULL ? json_object_get_string_member_with_default (user, "password-hash",
                                                                      NULL) : NULL;
  /* Changed meanwhile (AUTH.UPDATE): that password no longer counts. */
  if (stored == NULL || !g_str_equal (stored, v->stored))
    return FALSE;
  if (v->upgraded != NULL)
    {
      g_autoptr(GError) error = NULL;

      json_object_set_string_member (user, "password-hash", v->upgraded);
      if (!save (auth, &error))
        g_warning ("legacy auth: cannot save the upgraded hash of user %s: %s",
                   v->username, error->message);
      else
        g_message ("legacy auth: password hash of user %s upgraded to yescrypt", v->username);
      stored = v->upgraded;
    }
  cache_add (auth, cache_id (auth, v->username, v->password, stored));
  return user_may (auth, v->username, command);
}

gboolean
jobd_legacy_auth_check (JobdLegacyAuth *auth, const char *command, JsonObject *params)
{
  Verify *v = NULL;
  gboolean ok;

  switch (check_prepare (auth, command, params, &v))
    {
    case CHECK_ALLOW:
      return TRUE;
    case CHECK_DENY:
      return FALSE;
    case CHECK_VERIFY:
    default:
      break;
    }
  auth->kdf_runs++;
  verify_run (v);
  ok = verify_apply (auth, v, command);
  verify_free (v);
  return ok;
}

/* The peer's bucket: "uid N" when its uid is known, else its address
 * (NULL: neither known, not throttled per peer). */
static char *
throttle_key (const char *peer, guint peer_uid)
{
  if (peer_uid != JOBD_LEGACY_PEER_UNKNOWN)
    return g_strdup_printf ("uid %u", peer_uid);
  return g_strdup (peer);
}

/* Refill the peer's bucket and take a token; FALSE when it is empty. */
static gboolean
peer_take (JobdLegacyAuth *auth, const char *peer, gint64 now)
{
  PeerBucket *bucket;

  if (peer == NULL)
    return TRUE;
  bucket = g_hash_table_lookup (auth->peers, peer);
  if (bucket == NULL)
    {
      if (g_hash_table_size (auth->peers) >= PEERS_MAX)
        g_hash_table_remove_all (auth->peers);   /* crude, but bounded */
      bucket = g_new (PeerBucket, 1);
      bucket->tokens = PEER_BURST;
      bucket->updated_usec = now;
      g_hash_table_insert (auth->peers, g_strdup (peer), bucket);
    }
  bucket->tokens = MIN (PEER_BURST, bucket->tokens + (double) (now - bucket->updated_usec)
                                                     / (PEER_REFILL_MSEC * 1000.0));
  bucket->updated_usec = now;
  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

static void
peer_refund (JobdLegacyAuth *auth, const char *peer)
{
  PeerBucket *bucket = peer != NULL ? g_hash_table_lookup (auth->peers, peer) : NULL;

  if (bucket != NULL)
    bucket->tokens = MIN (PEER_BURST, bucket->tokens + 1.0);
}

static void
client_failed (JobdLegacyAuthClient *client, gint64 now)
{
  guint shift;

  if (client == NULL)
    return;
  shift = MIN (client->failures, 16u);
  client->failures++;
  client->retry_usec = now + MIN ((gint64) CONN_DELAY_BASE_MSEC << shift,
                                  (gint64) CONN_DELAY_MAX_MSEC) * 1000;
}

/* A new password for AUTH.ADD or AUTH.UPDATE, hashed on the pool. */
typedef struct {
  JobdLegacy *legacy;
  JsonObject *params;
  GTask *task;
  void (*run) (JobdLegacy *, JsonObject *, const char *, GTask *);
  char *password;
  char *hash;
} HashJob;

/* The pool runs both password checks (task data: Verify, callback
 * verify_done) and hashes of new passwords (HashJob, no source tag). */
static void
verify_thread (gpointer data, gpointer user_data)
{
  GTask *task = data;
  Verify *v = g_task_get_task_data (task);

  if (g_task_get_source_tag (task) != verify_thread)
    {
      HashJob *job = g_task_get_task_data (task);

      if (!g_task_return_error_if_cancelled (task))
        {
          job->hash = jobd_legacy_auth_hash_password (job->password);
          g_task_return_boolean (task, TRUE);
        }
      g_object_unref (task);
      return;
    }
  if (!g_task_return_error_if_cancelled (task))
    {
      verify_run (v);
      g_task_return_boolean (task, v->ok);
    }
  g_object_unref (task);
}

typedef struct {
  GTask *outer;
  char *command;
} Pending;

static void
verify_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *pending = user_data;
  GTask *task = G_TASK (result);
  Verify *v = g_task_get_task_data (task);
  gboolean allowed = FALSE;

  /* Cancelled: auth is gone; answer without touching it. */
  if (!g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      JobdLegacyAuth *auth = v->auth;

      allowed = verify_apply (auth, v, pending->command);
      if (v->ok)
        {
          peer_refund (auth, v->key);
          if (v->client != NULL)
            v->client->failures = 0;
        }
      else
        {
          client_failed (v->client, g_get_monotonic_time ());
          g_debug ("legacy auth: wrong password from %s", v->peer != NULL ? v->peer : "?");
        }
    }
  g_task_return_boolean (pending->outer, allowed);
  g_object_unref (pending->outer);
  g_free (pending->command);
  g_free (pending);
}

JobdLegacyAuthVerdict
jobd_legacy_auth_check_async (JobdLegacyAuth *auth,
                              JobdLegacyAuthClient *client,
                              const char *peer,
                              guint peer_uid,
                              const char *command,
                              JsonObject *params,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autofree char *key = throttle_key (peer, peer_uid);
  Verify *v = NULL;
  gint64 now;
  GTask *task;
  Pending *pending;

  switch (check_prepare (auth, command, params, &v))
    {
    case CHECK_ALLOW:
      return JOBD_LEGACY_AUTH_ALLOW;
    case CHECK_DENY:
      return JOBD_LEGACY_AUTH_DENY;
    case CHECK_VERIFY:
    default:
      break;
    }

  /* Throttled: DENIED without running the KDF. */
  now = g_get_monotonic_time ();
  if ((client != NULL && now < client->retry_usec)
      || g_thread_pool_unprocessed (auth->pool) >= VERIFY_QUEUE_MAX
      || !peer_take (auth, key, now))
    {
      g_debug ("legacy auth: password check throttled for %s (%s)", peer != NULL ? peer : "?",
               key != NULL ? key : "?");
      verify_free (v);
      return JOBD_LEGACY_AUTH_DENY;
    }

  v->client = client;
  v->peer = g_strdup (peer);
  v->key = g_steal_pointer (&key);
  auth->kdf_runs++;
  g_debug ("legacy auth: password check %u (from %s)", auth->kdf_runs,
           peer != NULL ? peer : "?");

  pending = g_new0 (Pending, 1);
  pending->outer = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (pending->outer, jobd_legacy_auth_check_async);
  pending->command = g_strdup (command);

  task = g_task_new (NULL, auth->shutdown, verify_done, pending);
  g_task_set_source_tag (task, verify_thread);
  g_task_set_task_data (task, v, verify_free);
  g_thread_pool_push (auth->pool, task, NULL);   /* the thread drops this ref */
  return JOBD_LEGACY_AUTH_PENDING;
}

gboolean
jobd_legacy_auth_check_finish (GAsyncResult *result)
{
  return g_task_propagate_boolean (G_TASK (result), NULL);
}

/* "*" wins; otherwise the list without duplicates, as the old server kept it. */
static char *
normalize_privileges (const char *privileges)
{
  g_auto(GStrv) list = g_strsplit (privileges, ",", 0);
  g_autoptr(GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; list[i] != NULL; i++)
    {
      if (g_str_equal (list[i], "*"))
        return g_strdup ("*");
      if (!g_ptr_array_find_with_equal_func (out, list[i], g_str_equal, NULL))
        g_ptr_array_add (out, list[i]);
    }
  g_ptr_array_add (out, NULL);
  return g_strjoinv (",", (char **) out->pdata);
}

/* Apply username/password/privileges/extras from params to record. */
/* hash: the new password's hash made beforehand (off the main loop), or
 * NULL to hash it here. */
static gboolean
apply_user_params (JsonObject *record, JsonObject *params, const char *hash, GError **error)
{
  const char *password = NULL, *privileges = NULL;
  g_autoptr(GList) members = NULL;

  if (!jobd_legacy_param_string (params, "password", FALSE, &password, error)
      || !jobd_legacy_param_string (params, "privileges", FALSE, &privileges, error))
    return FALSE;
  if (password != NULL && strlen (password) > PASSWORD_MAX)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "password too long");
      return FALSE;
    }

  members = json_object_get_members (params);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;

      if (g_str_equal (key, "username") || g_str_equal (key, "password")
          || g_str_equal (key, "privileges") || g_str_equal (key, "password-hash"))
        continue;
      json_object_set_member (record, key, json_node_copy (json_object_get_member (params, key)));
    }
  if (password != NULL)
    {
      g_autofree char *made = hash == NULL ? jobd_legacy_auth_hash_password (password) : NULL;

      json_object_set_string_member (record, "password-hash", hash != NULL ? hash : made);
    }
  if (privileges != NULL)
    {
      g_autofree char *normalized = normalize_privileges (privileges);
      json_object_set_string_member (record, "privileges", normalized);
    }
  return TRUE;
}

static JsonNode *
public_record (JsonObject *record)
{
  g_autoptr(JsonObject) copy = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (record);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "password-hash"))
      json_object_set_member (copy, l->data,
                              json_node_copy (json_object_get_member (record, l->data)));
  return json_node_init_object (json_node_alloc (), copy);
}

#define AUTH(legacy) ((legacy)->auth)

static void
answer_saved (JobdLegacyAuth *auth, GTask *task, const char *command)
{
  g_autoptr(GError) error = NULL;

  if (!save (auth, &error))
    {
      g_warning ("legacy %s: cannot save: %s", command, error->message);
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, NULL);
}

static void
cmd_getenable (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK,
                      json_node_init_boolean (json_node_alloc (), AUTH (legacy)->enable));
}

static void
cmd_setenable (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  gboolean enable;

  if (!jobd_legacy_param_bool (params, "enable", TRUE, &enable, &error))
    {
      jobd_legacy_fail (task, "AUTH.SETENABLE", error);
      return;
    }
  AUTH (legacy)->enable = enable;
  answer_saved (AUTH (legacy), task, "AUTH.SETENABLE");
}

static gboolean
get_username (JsonObject *params, const char **username, GError **error)
{
  if (!jobd_legacy_param_string (params, "username", TRUE, username, error))
    return FALSE;
  if (**username == '\0' || strlen (*username) > USERNAME_MAX)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "bad username");
      return FALSE;
    }
  return TRUE;
}

static void
run_add (JobdLegacy *legacy, JsonObject *params, const char *hash, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = json_object_new ();
  const char *username = NULL, *password = NULL, *privileges = NULL;

  if (!get_username (params, &username, &error)
      || !jobd_legacy_param_string (params, "password", TRUE, &password, &error)
      || !jobd_legacy_param_string (params, "privileges", TRUE, &privileges, &error)
      || !apply_user_params (record, params, hash, &error))
    {
      jobd_legacy_fail (task, "AUTH.ADD", error);
      return;
    }
  if (json_object_has_member (AUTH (legacy)->users, username))
    {
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }
  json_object_set_object_member (AUTH (legacy)->users, username, g_steal_pointer (&record));
  answer_saved (AUTH (legacy), task, "AUTH.ADD");
}

static void
run_update (JobdLegacy *legacy, JsonObject *params, const char *hash, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = json_object_new ();
  const char *username = NULL;
  JsonObject *current;
  g_autoptr(GList) members = NULL;

  if (!get_username (params, &username, &error)
      || !json_object_has_member (AUTH (legacy)->users, username))
    {
      jobd_legacy_fail (task, "AUTH.UPDATE", error);
      return;
    }
  /* Work on a copy: a bad value leaves the user untouched. */
  current = json_object_get_object_member (AUTH (legacy)->users, username);
  members = json_object_get_members (current);
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (record, l->data,
                            json_node_copy (json_object_get_member (current, l->data)));
  if (!apply_user_params (record, params, hash, &error))
    {
      jobd_legacy_fail (task, "AUTH.UPDATE", error);
      return;
    }
  json_object_set_object_member (AUTH (legacy)->users, username, g_steal_pointer (&record));
  answer_saved (AUTH (legacy), task, "AUTH.UPDATE");
}

/* AUTH.ADD and AUTH.UPDATE with a password: hash it on the pool first
 * (HashJob is above, with the pool's thread function). */

static void
hash_job_free (gpointer data)
{
  HashJob *job = data;

  json_object_unref (job->params);
  g_clear_object (&job->task);
  if (job->password != NULL)
    explicit_bzero (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->hash);
  g_free (job);
}

static void
hashed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *hash_task = G_TASK (result);
  HashJob *job = g_task_get_task_data (hash_task);

  /* Cancelled: the plugin (and legacy) are gone. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (hash_task)))
    jobd_legacy_return (job->task, JOBD_LEGACY_CODE_FAILED, NULL);
  else
    job->run (job->legacy, job->params, job->hash, job->task);
}

static void
with_hash (JobdLegacy *legacy, JsonObject *params, GTask *task,
           void (*run) (JobdLegacy *, JsonObject *, const char *, GTask *))
{
  JobdLegacyAuth *auth = AUTH (legacy);
  const char *password = NULL;
  GTask *hash_task;
  HashJob *job;

  if (!jobd_legacy_param_string (params, "password", FALSE, &password, NULL)
      || password == NULL || strlen (password) > PASSWORD_MAX)
    {
      run (legacy, params, NULL, task);    /* nothing to hash, or refused there */
      return;
    }
  if (g_thread_pool_unprocessed (auth->pool) >= VERIFY_QUEUE_MAX)
    {
      g_debug ("legacy auth: too many password hashes queued");
      jobd_legacy_return (task, JOBD_LEGACY_CODE_FAILED, NULL);
      return;
    }
  job = g_new0 (HashJob, 1);
  job->legacy = legacy;
  job->params = json_object_ref (params);
  job->task = g_object_ref (task);
  job->run = run;
  job->password = g_strdup (password);
  hash_task = g_task_new (NULL, auth->shutdown, hashed, NULL);
  g_task_set_task_data (hash_task, job, hash_job_free);
  g_thread_pool_push (auth->pool, hash_task, NULL);   /* the thread drops this ref */
}

static void
cmd_add (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  with_hash (legacy, params, task, run_add);
}

static void
cmd_update (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  with_hash (legacy, params, task, run_update);
}

static void
cmd_delete (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *username = NULL;

  if (!get_username (params, &username, &error))
    {
      jobd_legacy_fail (task, "AUTH.DELETE", error);
      return;
    }
  /* The old server answered OK for an absent user too. */
  json_object_remove_member (AUTH (legacy)->users, username);
  answer_saved (AUTH (legacy), task, "AUTH.DELETE");
}

static void
cmd_get (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  const char *username = NULL;

  if (!get_username (params, &username, &error)
      || !json_object_has_member (AUTH (legacy)->users, username))
    {
      jobd_legacy_fail (task, "AUTH.GET", error);
      return;
    }
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK,
                      public_record (json_object_get_object_member (AUTH (legacy)->users,
                                                                    username)));
}

static void
cmd_getall (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  JsonObject *all = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (AUTH (legacy)->users);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (all, l->data,
                            public_record (json_object_get_object_member (AUTH (legacy)->users,
                                                                          l->data)));
  jobd_legacy_return (task, JOBD_LEGACY_CODE_OK,
                      json_node_init_object (json_node_alloc (), all));
  json_object_unref (all);
}

static const JobdLegacyCommand auth_commands[] = {
  { "AUTH.GETENABLE", cmd_getenable, FALSE },
  { "AUTH.SETENABLE", cmd_setenable, FALSE },
  { "AUTH.ADD", cmd_add, FALSE },
  { "AUTH.UPDATE", cmd_update, FALSE },
  { "AUTH.DELETE", cmd_delete, FALSE },
  { "AUTH.GET", cmd_get, FALSE },
  { "AUTH.GETALL", cmd_getall, FALSE },
  { NULL },
};

const JobdLegacyCommand *
jobd_legacy_auth_commands (void)
{
  return auth_commands;
}

gboolean
jobd_legacy_auth_import (JobdLegacyAuth *auth,
                         JsonObject *old_config,
                         gboolean force,
                         GString *report,
                         GError **error)
{
  JsonObject *users = NULL;
  g_autoptr(GList) members = NULL;
  gboolean enable = FALSE;

  if (!jobd_legacy_param_bool (old_config, "enable", FALSE, &enable, error)
      || !jobd_legacy_param_object (old_config, "users", FALSE, &users, error))
    return FALSE;

  if (users != NULL)
    members = json_object_get_members (users);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      g_autoptr(JsonObject) record = json_object_new ();
      g_autoptr(GError) local = NULL;
      JsonNode *node = json_object_get_member (users, name);

      if (!JSON_NODE_HOLDS_OBJECT (node)
          || !apply_user_params (record, json_node_get_object (node), NULL, &local))
        {
          g_string_append_printf (report, "auth: skipped user %s: %s\n", name,
                                  local != NULL ? local->message : "not an object");
          continue;
        }
      if (json_object_has_member (auth->users, name) && !force)
        {
          g_string_append_printf (report, "auth: skipped user %s: exists\n", name);
          continue;
        }
      json_object_set_object_member (auth->users, name, g_steal_pointer (&record));
      g_string_append_printf (report, "auth: imported user %s (password hashed)\n", name);
    }
  auth->enable = enable;
  return save (auth, error);
}
