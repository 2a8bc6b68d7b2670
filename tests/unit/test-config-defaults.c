/* SPDX-License-Identifier: MIT */
/* test-config-defaults.c — data/jobd.conf says the truth about the defaults.
 *
 * data/jobd.conf documents every key as a commented "#Key=default" line in
 * its [Group]. This test loads jobd's configuration twice through the real
 * readers (jobd_config_load, and the legacy server with all its plugins):
 * once from an empty file, once from data/jobd.conf with every such line
 * uncommented. Each reader notes the value it used (jobd-config-effective.h).
 * Generic over keys: every documented key must be noted with its documented
 * value in both loads, and every noted key must be documented. A key added to
 * the code without its line in data/jobd.conf, or documented with a default
 * the code does not have, fails here.
 */
#include <unistd.h>

#include "jobd-config-effective.h"
#include "jobd-legacy-server.h"
#include "jobd-manager.h"
#include "jobd-spawner-direct.h"

typedef struct {
  char *uncommented;     /* data/jobd.conf with "#Key=value" lines uncommented */
  GKeyFile *documented;  /* just those keys, with their values */
} Documented;

static gboolean
is_key_line (const char *line)
{
  const char *p = line + 1;

  if (line[0] != '#' || !g_ascii_isalpha (*p))
    return FALSE;
  while (g_ascii_isalnum (*p))
    p++;
  return *p == '=';
}

static void
read_documented (Documented *doc)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "..", "data", "jobd.conf", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *group = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  doc->documented = g_key_file_new ();
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (line[0] == '[')
        {
          g_free (group);
          group = g_strndup (line + 1, strcspn (line + 1, "]"));
        }
      else if (is_key_line (line))
        {
          g_autofree char *key = g_strndup (line + 1, strcspn (line + 1, "="));
          const char *value = strchr (line, '=') + 1;

          g_assert_nonnull (group);
          if (g_key_file_has_key (doc->documented, group, key, NULL))
            g_error ("data/jobd.conf documents [%s] %s twice", group, key);
          g_key_file_set_value (doc->documented, group, key, value);
          line++;
        }
      g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
  doc->uncommented = g_string_free (g_steal_pointer (&out), FALSE);
}

/* Load a configuration file through every reader; return what they noted. */
static GKeyFile *
load_effective (const char *tmp, const char *name, const char *contents)
{
  g_autofree char *path = g_strconcat (tmp, "/", name, ".conf", NULL);
  g_autoptr(JobdConfig) config = jobd_config_new ();
  g_autoptr(JobdSpawner) spawner = jobd_spawner_direct_new ();
  g_autoptr(JobdManager) manager = NULL;
  g_autoptr(JobdLegacyServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *noted = NULL;
  GKeyFile *copy = g_key_file_new ();

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  jobd_config_effective_reset ();
  jobd_config_set_defaults (config, JOBD_BUS_NONE);
  g_free (config->state_dir);
  config->state_dir = g_build_filename (tmp, name, "state", NULL);
  g_free (config->runtime_dir);
  config->runtime_dir = g_build_filename (tmp, name, "run", NULL);
  g_free (config->log_dir);
  config->log_dir = g_build_filename (tmp, name, "log", NULL);
  jobd_config_load (config, path, TRUE, &error);
  g_assert_no_error (error);
  jobd_config_ensure_dirs (config, &error);
  g_assert_no_error (error);
  manager = jobd_manager_new (config, spawner);
  server = jobd_legacy_server_new (manager, config, &error);
  g_assert_no_error (error);

  noted = g_key_file_to_data (jobd_config_effective (), NULL, NULL);
  g_key_file_load_from_data (copy, noted, -1, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  jobd_config_effective_reset ();
  return copy;
}

/* Every key of @a is in @b with the same value. */
static void
assert_covered (GKeyFile *a, const char *a_name, GKeyFile *b, const char *b_name,
                const char *missing_hint)
{
  g_auto(GStrv) groups = g_key_file_get_groups (a, NULL);

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (a, groups[g], NULL, NULL);

      for (guint k = 0; keys[k] != NULL; k++)
        {
          g_autofree char *va = g_key_file_get_value (a, groups[g], keys[k], NULL);
          g_autofree char *vb = g_key_file_get_value (b, groups[g], keys[k], NULL);

          if (vb == NULL)
            g_error ("[%s] %s=%s is in %s but not in %s%s", groups[g], keys[k], va,
                     a_name, b_name, missing_hint);
          if (!g_str_equal (va, vb))
            g_error ("[%s] %s: %s says \"%s\", %s says \"%s\"", groups[g], keys[k],
                     a_name, va, b_name, vb);
        }
    }
}

static void
test_documented_defaults (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("jobd-config-defaults-XXXXXX", NULL);
  g_autoptr(GKeyFile) builtin = NULL;
  g_autoptr(GKeyFile) from_doc = NULL;
  g_autofree char *rm = NULL;
  Documented doc = { 0 };

  g_assert_nonnull (tmp);
  read_documented (&doc);
  g_assert_true (g_key_file_has_group (doc.documented, "Daemon"));
  g_assert_true (g_key_file_has_group (doc.documented, "Legacy"));

  builtin = load_effective (tmp, "empty", "");
  from_doc = load_effective (tmp, "documented", doc.uncommented);

  /* The code's built-in defaults are what data/jobd.conf says, key by key. */
  assert_covered (doc.documented, "data/jobd.conf", builtin, "the code's defaults",
                  " (a key nobody reads, or its reader does not call jobd_config_effective_note)");
  assert_covered (builtin, "the code's defaults", doc.documented, "data/jobd.conf",
                  " (document it there as #Key=default)");
  /* Uncommenting the documented defaults changes nothing. */
  assert_covered (from_doc, "data/jobd.conf uncommented", builtin, "the code's defaults", "");
  assert_covered (builtin, "the code's defaults", from_doc, "data/jobd.conf uncommented", "");

  g_free (doc.uncommented);
  g_key_file_unref (doc.documented);
  rm = g_strdup_printf ("rm -rf '%s'", tmp);
  g_assert_cmpint (system (rm), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* "user jobd-legacy does not exist" is a warning worth seeing, not a failure. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/config/documented-defaults", test_documented_defaults);
  return g_test_run ();
}
