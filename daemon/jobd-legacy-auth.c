/* jobd-legacy-auth.c — the legacy "auth" plugin.
 *
 * Deliberate difference from the old server: it stored and returned plain
 * passwords; here only a salted PBKDF2-HMAC-SHA256 hash is kept, compared
 * in constant time, and records are returned without it. Hashing costs
 * milliseconds on the main loop, so a successful check is remembered (as a
 * keyed digest, never the password) and repeated requests stay cheap.
 */
#include "jobd-legacy-datafile.h"
#include "jobd-legacy-auth.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "jobd-error.h"

#define AUTH_FILE "auth.json"
#define HASH_SCHEME "pbkdf2-sha256"
#define HASH_ITERATIONS 20000
#define HASH_LEN 32
#define SALT_LEN 16
#define CACHE_MAX 256
#define USERNAME_MAX 256
#define PASSWORD_MAX 1024

struct _JobdLegacyAuth {
  char *path;
  gboolean enable;
  JsonObject *users;          /* username → record (with "password-hash") */
  GHashTable *good;           /* keyed digests of verified credentials */
  guint8 cache_key[32];
};

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
jobd_legacy_auth_hash_password (const char *password)
{
  guint8 salt[SALT_LEN];
  guint8 hash[HASH_LEN];
  g_autofree char *salt64 = NULL;
  g_autofree char *hash64 = NULL;
  g_autoptr(GError) error = NULL;

  if (!fill_random (salt, sizeof salt, &error))
    g_error ("cannot hash a password without randomness: %s", error->message);
  pbkdf2_sha256 (password, salt, sizeof salt, HASH_ITERATIONS, hash);
  salt64 = g_base64_encode (salt, sizeof salt);
  hash64 = g_base64_encode (hash, sizeof hash);
  return g_strdup_printf (HASH_SCHEME "$%u$%s$%s", HASH_ITERATIONS, salt64, hash64);
}

static gboolean
equal_constant_time (const guint8 *a, const guint8 *b, gsize len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

gboolean
jobd_legacy_auth_verify_password (const char *password, const char *stored)
{
  g_auto(GStrv) parts = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *expected = NULL;
  gsize salt_len = 0, expected_len = 0;
  guint64 iterations;
  guint8 hash[HASH_LEN];

  if (password == NULL || stored == NULL)
    return FALSE;
  parts = g_strsplit (stored, "$", 0);
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[0], HASH_SCHEME)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, 10000000, &iterations, NULL))
    return FALSE;
  salt = g_base64_decode (parts[2], &salt_len);
  expected = g_base64_decode (parts[3], &expected_len);
  if (salt_len == 0 || expected_len != HASH_LEN)
    return FALSE;
  pbkdf2_sha256 (password, salt, salt_len, (guint) iterations, hash);
  return equal_constant_time (hash, expected, HASH_LEN);
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
  return jobd_legacy_datafile_save (auth->path, root, error);
}

JobdLegacyAuth *
jobd_legacy_auth_new (const char *state_dir, GError **error)
{
  g_autoptr(JobdLegacyAuth) auth = g_new0 (JobdLegacyAuth, 1);

  auth->path = g_build_filename (state_dir, "plugins", AUTH_FILE, NULL);
  auth->users = json_object_new ();
  auth->good = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!fill_random (auth->cache_key, sizeof auth->cache_key, error)
      || !load (auth, error))
    return NULL;
  return g_steal_pointer (&auth);
}

void
jobd_legacy_auth_free (JobdLegacyAuth *auth)
{
  if (auth == NULL)
    return;
  g_free (auth->path);
  g_clear_pointer (&auth->users, json_object_unref);
  g_clear_pointer (&auth->good, g_hash_table_unref);
  g_free (auth);
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

gboolean
jobd_legacy_auth_check (JobdLegacyAuth *auth, const char *command, JsonObject *params)
{
  JsonObject *cred = NULL, *user;
  const char *username = NULL, *password = NULL, *stored;
  g_autofree char *id = NULL;

  if (!auth->enable || json_object_get_size (auth->users) == 0)
    return TRUE;

  if (!jobd_legacy_param_object (params, "auth", FALSE, &cred, NULL) || cred == NULL
      || !jobd_legacy_param_string (cred, "username", TRUE, &username, NULL)
      || !jobd_legacy_param_string (cred, "password", TRUE, &password, NULL)
      || !json_object_has_member (auth->users, username)
      || strlen (password) > PASSWORD_MAX)
    return FALSE;

  user = json_object_get_object_member (auth->users, username);
  if (user == NULL)
    return FALSE;
  stored = json_object_get_string_member_with_default (user, "password-hash", NULL);
  if (stored == NULL)
    return FALSE;

  id = cache_id (auth, username, password, stored);
  if (!g_hash_table_contains (auth->good, id))
    {
      if (!jobd_legacy_auth_verify_password (password, stored))
        return FALSE;
      if (g_hash_table_size (auth->good) >= CACHE_MAX)
        g_hash_table_remove_all (auth->good);
      g_hash_table_add (auth->good, g_steal_pointer (&id));
    }
  return has_privilege (json_object_get_string_member_with_default (user, "privileges", NULL),
                        command);
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
static gboolean
apply_user_params (JsonObject *record, JsonObject *params, GError **error)
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
      g_autofree char *hash = jobd_legacy_auth_hash_password (password);
      json_object_set_string_member (record, "password-hash", hash);
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

#define AUTH(legacy) ((JobdLegacyAuth *) (legacy)->auth)

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
cmd_add (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = json_object_new ();
  const char *username = NULL, *password = NULL, *privileges = NULL;

  if (!get_username (params, &username, &error)
      || !jobd_legacy_param_string (params, "password", TRUE, &password, &error)
      || !jobd_legacy_param_string (params, "privileges", TRUE, &privileges, &error)
      || !apply_user_params (record, params, &error))
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
cmd_update (JobdLegacy *legacy, JsonObject *params, GTask *task)
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
  if (!apply_user_params (record, params, &error))
    {
      jobd_legacy_fail (task, "AUTH.UPDATE", error);
      return;
    }
  json_object_set_object_member (AUTH (legacy)->users, username, g_steal_pointer (&record));
  answer_saved (AUTH (legacy), task, "AUTH.UPDATE");
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
          || !apply_user_params (record, json_node_get_object (node), &local))
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
