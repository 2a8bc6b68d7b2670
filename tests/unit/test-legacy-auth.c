/* SPDX-License-Identifier: MIT */
/* test-legacy-auth.c — the legacy auth plugin: password hashing and
 * verification, the request check (credentials, privileges, enable flag),
 * its cache of verified credentials, storage without plain passwords, and
 * migration of an old plain-text user list.
 */
#include <string.h>
#include <sys/stat.h>

#include "jobd-legacy-auth.h"
#include "test-fs-util.h"

static JsonObject *
object_from (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_hash_format (void)
{
  g_autofree char *a = jobd_legacy_auth_hash_password ("s3cret");
  g_autofree char *b = jobd_legacy_auth_hash_password ("s3cret");
  g_auto(GStrv) parts = g_strsplit (a, "$", 0);

  /* yescrypt through libxcrypt ("$y$<params>$<salt>$<hash>"). */
  g_assert_true (g_str_has_prefix (a, "$y$"));
  g_assert_true (jobd_legacy_auth_hash_is_current (a));
  g_assert_cmpuint (g_strv_length (parts), ==, 5);
  /* Salted: the same password never hashes the same twice. */
  g_assert_cmpstr (a, !=, b);
  g_assert_null (strstr (a, "s3cret"));
  g_assert_true (jobd_legacy_auth_verify_password ("s3cret", a));
  g_assert_true (jobd_legacy_auth_verify_password ("s3cret", b));
  g_assert_false (jobd_legacy_auth_verify_password ("s3creT", a));
  /* Another crypt() scheme is not taken (crypt would fall back to DES). */
  g_assert_false (jobd_legacy_auth_verify_password ("s3cret", "ab01FAX.bQRSU"));
  g_assert_false (jobd_legacy_auth_verify_password ("s3cret", "$1$salt$hash"));
  g_assert_false (jobd_legacy_auth_verify_password ("s3cret", "$y$"));
}

/* RFC 7914 §11 test vector for PBKDF2-HMAC-SHA256, one iteration:
 * P="passwd", S="salt", c=1, first 32 bytes. */
static void
test_verify_known_vector (void)
{
  static const guint8 expected[32] = {
    0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44,
    0xb6, 0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57,
    0xc2, 0x0d, 0xac, 0xbc,
  };
  g_autofree char *salt64 = g_base64_encode ((const guchar *) "salt", 4);
  g_autofree char *hash64 = g_base64_encode (expected, sizeof expected);
  g_autofree char *stored = g_strdup_printf ("pbkdf2-sha256$1$%s$%s", salt64, hash64);

  g_assert_true (jobd_legacy_auth_verify_password ("passwd", stored));
  g_assert_false (jobd_legacy_auth_verify_password ("passwe", stored));
}

static void
test_verify (void)
{
  g_autofree char *stored = jobd_legacy_auth_hash_password_pbkdf2 ("correct horse", 20000);
  g_autofree char *empty = jobd_legacy_auth_hash_password_pbkdf2 ("", 20000);
  g_auto(GStrv) parts = g_strsplit (stored, "$", 0);
  g_autofree guint8 *hash = NULL;
  gsize len = 0;
  const char *bad[] = {
    "", "plain", "pbkdf2-sha256$", "md5$1$c2FsdA==$AAAA", "pbkdf2-sha256$0$c2FsdA==$AAAA",
    "pbkdf2-sha256$abc$c2FsdA==$AAAA", "pbkdf2-sha256$1$$AAAA", "pbkdf2-sha256$1$c2FsdA==$AAAA",
    "pbkdf2-sha256$1$c2FsdA==$AAAA$extra", NULL,
  };

  g_assert_true (jobd_legacy_auth_verify_password ("correct horse", stored));
  g_assert_false (jobd_legacy_auth_verify_password ("correct horsE", stored));
  g_assert_false (jobd_legacy_auth_verify_password ("correct horse ", stored));
  g_assert_false (jobd_legacy_auth_verify_password ("", stored));
  g_assert_false (jobd_legacy_auth_verify_password (NULL, stored));
  g_assert_false (jobd_legacy_auth_verify_password ("x", NULL));
  g_assert_true (jobd_legacy_auth_verify_password ("", empty));
  g_assert_false (jobd_legacy_auth_verify_password ("a", empty));
  /* The stored password itself is not a valid credential. */
  g_assert_false (jobd_legacy_auth_verify_password (stored, stored));
  for (guint i = 0; bad[i] != NULL; i++)
    g_assert_false (jobd_legacy_auth_verify_password ("plain", bad[i]));

  /* Every byte of the hash counts (the comparison runs to the end, not
   * stopping at the first difference): flip the first, then the last. */
  hash = g_base64_decode (parts[3], &len);
  g_assert_cmpuint (len, ==, 32);
  for (guint pos = 0; pos < len; pos += len - 1)
    {
      g_autofree char *hash64 = NULL;
      g_autofree char *tampered = NULL;

      hash[pos] ^= 0x01;
      hash64 = g_base64_encode (hash, len);
      tampered = g_strdup_printf ("%s$%s$%s$%s", parts[0], parts[1], parts[2], hash64);
      g_assert_false (jobd_legacy_auth_verify_password ("correct horse", tampered));
      hash[pos] ^= 0x01;
    }
}

typedef struct {
  char *dir;
  JobdLegacyAuth *auth;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("jobd-auth-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->auth = jobd_legacy_auth_new (f->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->auth, jobd_legacy_auth_free);
  test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
import (Fixture *f, const char *json, gboolean force, GString *report)
{
  g_autoptr(JsonObject) old = object_from (json);
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_legacy_auth_import (f->auth, old, force, report, &error));
  g_assert_no_error (error);
}

static gboolean
check (Fixture *f, const char *command, const char *params_json)
{
  g_autoptr(JsonObject) params = object_from (params_json);

  return jobd_legacy_auth_check (f->auth, command, params);
}

#define ADMIN "{\"auth\":{\"username\":\"admin\",\"password\":\"pw\"}}"
#define VIEWER "{\"auth\":{\"username\":\"viewer\",\"password\":\"v\"}}"

static const char users[] =
  "{\"enable\":true,\"users\":{"
  "\"admin\":{\"password\":\"pw\",\"privileges\":\"*\"},"
  "\"viewer\":{\"password\":\"v\",\"privileges\":\"STATUS, GET\",\"note\":\"x\"}}}";

static void
test_check (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autofree char *long_password = NULL;
  g_autofree char *params = NULL;

  /* No users yet: everything passes. */
  g_assert_true (check (f, "ADD", "{}"));

  import (f, users, FALSE, report);
  g_assert_nonnull (strstr (report->str, "admin"));

  g_assert_false (check (f, "STATUS", "{}"));
  g_assert_true (check (f, "STATUS", ADMIN));
  g_assert_true (check (f, "NO.SUCH", ADMIN));
  g_assert_true (check (f, "STATUS", VIEWER));
  g_assert_true (check (f, "GET", VIEWER));
  g_assert_false (check (f, "ADD", VIEWER));
  g_assert_false (check (f, "STATU", VIEWER));
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"PW\"}}"));
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"ghost\",\"password\":\"pw\"}}"));
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\"}}"));
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":1}}"));
  g_assert_false (check (f, "STATUS", "{\"auth\":\"admin:pw\"}"));
  g_assert_false (check (f, "STATUS", "{\"auth\":null}"));
  long_password = g_strnfill (5000, 'p');
  params = g_strdup_printf ("{\"auth\":{\"username\":\"admin\",\"password\":\"%s\"}}",
                            long_password);
  g_assert_false (check (f, "STATUS", params));
  /* Cached now; still right the second time. */
  g_assert_true (check (f, "STATUS", ADMIN));
  g_assert_false (check (f, "ADD", VIEWER));
}

static void
test_disabled (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);

  import (f, "{\"enable\":false,\"users\":{\"admin\":{\"password\":\"pw\",\"privileges\":\"*\"}}}",
          FALSE, report);
  g_assert_true (check (f, "ADD", "{}"));
  g_assert_true (check (f, "ADD", "{\"auth\":{\"username\":\"admin\",\"password\":\"wrong\"}}"));
}

static void
test_store_and_import (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autofree char *path = g_build_filename (f->dir, "plugins", "auth.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  import (f, users, FALSE, report);
  text = test_read_text (path);
  g_assert_null (strstr (text, "\"pw\""));
  g_assert_null (strstr (text, "\"v\""));
  g_assert_nonnull (strstr (text, "\"$y$"));
  g_assert_null (strstr (text, "pbkdf2-sha256$"));
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0077, ==, 0);

  /* A warm cache, then the password changes: the old one must stop working. */
  g_assert_true (check (f, "STATUS", ADMIN));
  g_string_truncate (report, 0);
  import (f, "{\"enable\":true,\"users\":{\"admin\":{\"password\":\"new\",\"privileges\":\"*\"}}}",
          FALSE, report);
  g_assert_nonnull (strstr (report->str, "exists"));
  g_assert_true (check (f, "STATUS", ADMIN));
  import (f, "{\"enable\":true,\"users\":{\"admin\":{\"password\":\"new\",\"privileges\":\"*\"}}}",
          TRUE, report);
  g_assert_false (check (f, "STATUS", ADMIN));
  g_assert_true (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"new\"}}"));

  /* Reloaded from disk: same users, same rules. */
  g_clear_pointer (&f->auth, jobd_legacy_auth_free);
  f->auth = jobd_legacy_auth_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_false (check (f, "STATUS", "{}"));
  g_assert_true (check (f, "GET", VIEWER));
  g_assert_true (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"new\"}}"));

  /* Bad records are reported and skipped, the rest imported. */
  g_string_truncate (report, 0);
  import (f, "{\"enable\":true,\"users\":{\"x\":5,\"y\":{\"password\":7}}}", FALSE, report);
  g_assert_nonnull (strstr (report->str, "skipped user x"));
  g_assert_nonnull (strstr (report->str, "skipped user y"));
}

/* A user stored in the PBKDF2 era logs in with the same password; the
 * stored hash is then yescrypt, on disk too, and still works. */
static void
test_upgrade (Fixture *f, gconstpointer data)
{
  g_autofree char *old_hash = jobd_legacy_auth_hash_password_pbkdf2 ("pw", 20000);
  g_autofree char *path = g_build_filename (f->dir, "plugins", "auth.json", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *json = g_strdup_printf ("{\"enable\":true,\"users\":{\"admin\":"
                                           "{\"password-hash\":\"%s\",\"privileges\":\"*\"}}}",
                                           old_hash);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&f->auth, jobd_legacy_auth_free);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, &error));
  f->auth = jobd_legacy_auth_new (f->dir, &error);
  g_assert_no_error (error);

  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"PW\"}}"));
  text = test_read_text (path);
  g_assert_nonnull (strstr (text, "pbkdf2-sha256$"));   /* no upgrade on failure */
  g_clear_pointer (&text, g_free);

  g_assert_true (check (f, "STATUS", ADMIN));
  text = test_read_text (path);
  g_assert_null (strstr (text, "pbkdf2-sha256$"));
  g_assert_nonnull (strstr (text, "\"$y$"));

  /* From disk again: the new hash verifies, the wrong password does not. */
  g_clear_pointer (&f->auth, jobd_legacy_auth_free);
  f->auth = jobd_legacy_auth_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (check (f, "STATUS", ADMIN));
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"PW\"}}"));
}

/* An unknown user costs a KDF run like a known one; a cached good
 * credential costs none. */
static void
test_unknown_user_costs_the_same (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);
  guint runs;

  import (f, users, FALSE, report);
  runs = jobd_legacy_auth_kdf_runs (f->auth);
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"admin\",\"password\":\"x\"}}"));
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), ==, runs + 1);
  g_assert_false (check (f, "STATUS", "{\"auth\":{\"username\":\"ghost\",\"password\":\"x\"}}"));
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), ==, runs + 2);
  g_assert_true (check (f, "STATUS", ADMIN));
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), ==, runs + 3);
  g_assert_true (check (f, "STATUS", ADMIN));
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), ==, runs + 3);
}

typedef struct {
  gboolean done;
  gboolean allowed;
} Verdict;

static void
verdict_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Verdict *v = user_data;

  v->allowed = jobd_legacy_auth_check_finish (result);
  v->done = TRUE;
}

/* The asynchronous check: the KDF runs on a thread; after a wrong password
 * the same connection gets DENIED at once (no KDF) until its delay has
 * passed; the peer's bucket runs dry after a burst. */
static void
test_throttle (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(JsonObject) wrong = object_from ("{\"auth\":{\"username\":\"admin\",\"password\":\"x\"}}");
  g_autoptr(JsonObject) good = object_from (ADMIN);
  JobdLegacyAuthClient client = { 0 };
  Verdict v = { 0 };
  guint runs;
  gint64 start;

  import (f, users, FALSE, report);
  runs = jobd_legacy_auth_kdf_runs (f->auth);
  g_assert_cmpint (jobd_legacy_auth_check_async (f->auth, &client, "127.0.0.9", JOBD_LEGACY_PEER_UNKNOWN, "STATUS", wrong,
                                                 verdict_cb, &v), ==, JOBD_LEGACY_AUTH_PENDING);
  while (!v.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (v.allowed);
  g_assert_cmpuint (client.failures, ==, 1);
  g_assert_cmpint (client.retry_usec, >, g_get_monotonic_time ());
  /* Throttled: no KDF, even with the right password. */
  g_assert_cmpint (jobd_legacy_auth_check_async (f->auth, &client, "127.0.0.9", JOBD_LEGACY_PEER_UNKNOWN, "STATUS", good,
                                                 verdict_cb, &v), ==, JOBD_LEGACY_AUTH_DENY);
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), ==, runs + 1);

  /* Fresh connections from the same peer: the bucket allows a burst of
   * 10, then refills one a second. */
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 20; i++)
    {
      JobdLegacyAuthClient other = { 0 };
      Verdict w = { 0 };

      if (jobd_legacy_auth_check_async (f->auth, &other, "127.0.0.9", JOBD_LEGACY_PEER_UNKNOWN, "STATUS", wrong,
                                        verdict_cb, &w) == JOBD_LEGACY_AUTH_DENY)
        continue;
      while (!w.done)
        g_main_context_iteration (NULL, TRUE);
      g_assert_false (w.allowed);
    }
  g_assert_cmpuint (jobd_legacy_auth_kdf_runs (f->auth), <=,
                    runs + 1 + 10 + 1 + (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  /* Another peer is not affected by that one. */
  {
    JobdLegacyAuthClient other = { 0 };
    Verdict w = { 0 };

    g_assert_cmpint (jobd_legacy_auth_check_async (f->auth, &other, "127.0.0.10", JOBD_LEGACY_PEER_UNKNOWN, "STATUS",
                                                   good, verdict_cb, &w),
                     ==, JOBD_LEGACY_AUTH_PENDING);
    while (!w.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (w.allowed);
    /* Cached now: allowed at once, even from the throttled peer. */
    g_assert_cmpint (jobd_legacy_auth_check_async (f->auth, &client, "127.0.0.9", JOBD_LEGACY_PEER_UNKNOWN, "STATUS",
                                                   good, verdict_cb, &w),
                     ==, JOBD_LEGACY_AUTH_ALLOW);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/legacy-auth/hash/format", test_hash_format);
  g_test_add_func ("/legacy-auth/hash/known-vector", test_verify_known_vector);
  g_test_add_func ("/legacy-auth/hash/verify", test_verify);
  g_test_add ("/legacy-auth/upgrade", Fixture, NULL, fixture_setup, test_upgrade,
              fixture_teardown);
  g_test_add ("/legacy-auth/unknown-user", Fixture, NULL, fixture_setup,
              test_unknown_user_costs_the_same, fixture_teardown);
  g_test_add ("/legacy-auth/throttle", Fixture, NULL, fixture_setup, test_throttle,
              fixture_teardown);
  g_test_add ("/legacy-auth/check", Fixture, NULL, fixture_setup, test_check, fixture_teardown);
  g_test_add ("/legacy-auth/disabled", Fixture, NULL, fixture_setup, test_disabled,
              fixture_teardown);
  g_test_add ("/legacy-auth/store-and-import", Fixture, NULL, fixture_setup,
              test_store_and_import, fixture_teardown);

  return g_test_run ();
}
