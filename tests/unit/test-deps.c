/* SPDX-License-Identifier: MIT */
/* test-deps.c — the dependency graph (jobd-deps.c): parsing JOB[:CONDITION],
 * the add/update checks (itself, missing, cycles named in order), the start
 * order (requirements first, after-edges inside the set only), the stop
 * order (furthest dependents first, succeeded edges left out), and the
 * requires/after settings' validation and JSON round trip. */
#include <glib.h>
#include <string.h>

#include "jobd-deps.h"
#include "jobd-error.h"
#include "jobd-settings.h"

/* A graph as lines "name: requires... | after...". */
typedef struct {
  GHashTable *requires;   /* name → char** */
  GHashTable *after;
} Graph;

static Graph *
graph_new (const char * const *lines)
{
  Graph *g = g_new0 (Graph, 1);

  g->requires = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  g->after = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) head = g_strsplit (lines[i], ":", 2);
      g_auto(GStrv) parts = g_strsplit (head[1], "|", 2);
      char *name = g_strstrip (head[0]);

      g_hash_table_insert (g->requires, g_strdup (name),
                           g_strsplit_set (g_strstrip (parts[0]), " ", -1));
      g_hash_table_insert (g->after, g_strdup (name),
                           parts[1] != NULL ? g_strsplit_set (g_strstrip (parts[1]), " ", -1)
                                            : g_new0 (char *, 1));
      /* "" from an empty list: no entries. */
      for (GHashTable *t = g->requires; t != NULL; t = t == g->requires ? g->after : NULL)
        {
          char **list = g_hash_table_lookup (t, name);
          if (list[0] != NULL && *list[0] == '\0')
            {
              g_free (list[0]);
              list[0] = NULL;
            }
        }
    }
  return g;
}

static void
graph_free (Graph *g)
{
  g_hash_table_unref (g->requires);
  g_hash_table_unref (g->after);
  g_free (g);
}

static gboolean
graph_get (const char *name, const char * const **requires, const char * const **after, gpointer data)
{
  Graph *g = data;

  if (!g_hash_table_contains (g->requires, name))
    return FALSE;
  *requires = g_hash_table_lookup (g->requires, name);
  *after = g_hash_table_lookup (g->after, name);
  return TRUE;
}

static char *
joined (GPtrArray *names)
{
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
test_parse (void)
{
  static const struct { const char *spec, *name; JobdDepCondition cond; } good[] = {
    { "db", "db", JOBD_DEP_READY }, { "db:ready", "db", JOBD_DEP_READY },
    { "db:started", "db", JOBD_DEP_STARTED }, { "m:succeeded", "m", JOBD_DEP_SUCCEEDED },
    /* ':' belongs to the name unless a condition follows it. */
    { "a:b", "a:b", JOBD_DEP_READY }, { "a:b:started", "a:b", JOBD_DEP_STARTED },
  };
  static const char * const bad[] = { "", ":ready", "db:ready ", "a/b", "d b" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *name = NULL;
      JobdDepCondition cond;

      g_assert_true (jobd_dep_parse ("requires", good[i].spec, &name, &cond, NULL));
      g_assert_cmpstr (name, ==, good[i].name);
      g_assert_cmpint (cond, ==, good[i].cond);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (jobd_dep_parse ("requires", bad[i], NULL, NULL, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_nonnull (strstr (error->message, "requires"));
    }
}

static void
test_check (void)
{
  static const char * const lines[] = {
    "a: | ", "b: a | ", "c: b:started | ", "d: | c", NULL,
  };
  Graph *g = graph_new (lines);
  static const struct { const char *name, *requires, *after, *message; } cases[] = {
    { "a", "a", "", "itself" },
    { "a", "", "a", "itself" },
    { "x", "nosuch", "", "nosuch" },
    { "a", "b", "", "a -> b -> a" },
    { "a", "c", "", "a -> c -> b -> a" },
    { "a", "", "d", "a -> d -> c -> b -> a" },
    { "a", "b b:started", "", "twice" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) requires = *cases[i].requires ? g_strsplit (cases[i].requires, " ", -1) : NULL;
      g_auto(GStrv) after = *cases[i].after ? g_strsplit (cases[i].after, " ", -1) : NULL;

      g_assert_false (jobd_deps_check (cases[i].name, (const char * const *) requires,
                                       (const char * const *) after, graph_get, g, TRUE, &error));
      g_test_message ("%s → %s", cases[i].message, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
  /* after may name a job that does not exist; a new job may require an
   * existing chain; a missing requirement passes when not checked. */
  {
    const char *after[] = { "later", NULL };
    const char *requires[] = { "c", NULL };
    const char *missing[] = { "nosuch", NULL };

    g_assert_true (jobd_deps_check ("e", requires, after, graph_get, g, TRUE, NULL));
    g_assert_true (jobd_deps_check ("e", missing, NULL, graph_get, g, FALSE, NULL));
  }
  graph_free (g);
}

static void
test_orders (void)
{
  static const char * const lines[] = {
    "web: db cache:started | ", "db: | ", "cache: | db", "api: db:succeeded | ",
    "proxy: web | ", "lone: | web", "mig: | ", NULL,
  };
  static const char * const all[] = { "api", "cache", "db", "lone", "mig", "proxy", "web", NULL };
  Graph *g = graph_new (lines);
  g_autofree char *start = joined (jobd_deps_start_order ("proxy", graph_get, g));
  g_autofree char *stop = joined (jobd_deps_stop_order ("db", all, graph_get, g));
  g_autofree char *users = joined (jobd_deps_reverse ("db", "requires", FALSE, all, graph_get, g));
  g_autofree char *before = joined (jobd_deps_reverse ("web", "after", FALSE, all, graph_get, g));
  g_autofree char *alone = joined (jobd_deps_start_order ("mig", graph_get, g));

  /* cache is after db: inside the set, db comes first; the target last. */
  g_assert_cmpstr (start, ==, "db cache web proxy");
  /* proxy requires web requires db: proxy stops first; api's succeeded
   * edge does not stop it; lone is only ordered after web. */
  g_assert_cmpstr (stop, ==, "proxy web");
  g_assert_cmpstr (users, ==, "api web");
  g_assert_cmpstr (before, ==, "lone");
  g_assert_cmpstr (alone, ==, "mig");
  graph_free (g);
}

static void
test_order_survives_a_cycle (void)
{
  /* add/update refuse cycles; a state file edited by hand could hold one. */
  static const char * const lines[] = { "a: b | ", "b: a | ", NULL };
  Graph *g = graph_new (lines);
  g_autofree char *start = joined (jobd_deps_start_order ("a", graph_get, g));
  static const char * const all[] = { "a", "b", NULL };
  g_autofree char *stop = joined (jobd_deps_stop_order ("a", all, graph_get, g));

  g_assert_cmpstr (start, ==, "b a");
  g_assert_cmpstr (stop, ==, "b");
  graph_free (g);
}

static void
test_settings_round_trip (void)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) json = NULL;
  g_autoptr(GVariant) bad = NULL;
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "command", "s", "/bin/true");
  g_variant_dict_insert_value (&dict, "requires", g_variant_new_parsed ("['db', 'm:succeeded']"));
  g_variant_dict_insert_value (&dict, "after", g_variant_new_parsed ("['cache:started']"));
  g_assert_true (jobd_settings_merge_variant (settings, g_variant_dict_end (&dict),
                                              JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_no_error (error);
  json = jobd_settings_to_json (settings);
  g_assert_true (jobd_settings_merge_json (back, json_node_get_object (json),
                                           JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_cmpstrv (back->requires, ((const char *[]) { "db", "m:succeeded", NULL }));
  g_assert_cmpstrv (back->after, ((const char *[]) { "cache:started", NULL }));

  bad = g_variant_ref_sink (g_variant_new_parsed ("{'requires': <['db', 'x y']>}"));
  g_assert_false (jobd_settings_merge_variant (back, bad, JOBD_SETTINGS_FLAGS_NONE, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  /* Refused: left untouched. */
  g_assert_cmpstrv (back->requires, ((const char *[]) { "db", "m:succeeded", NULL }));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/deps/parse", test_parse);
  g_test_add_func ("/deps/check", test_check);
  g_test_add_func ("/deps/orders", test_orders);
  g_test_add_func ("/deps/order-survives-a-cycle", test_order_survives_a_cycle);
  g_test_add_func ("/deps/settings-round-trip", test_settings_round_trip);
  return g_test_run ();
}
