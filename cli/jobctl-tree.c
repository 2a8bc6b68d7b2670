/* SPDX-License-Identifier: MIT */
/* jobctl-tree.c — `jobctl list --tree`: the jobs with what each requires
 * (and is ordered after) below it, from the requires/after settings.
 *
 *   web  up
 *   └─ db  up  (requires, ready)
 *
 * Jobs that no other shown job requires are the roots; a job required by
 * several shows under each. A cycle (jobd refuses them; an old state file
 * could hold one) is cut where it closes.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "jobctl.h"

typedef struct {
  GHashTable *states;     /* name → state */
  GHashTable *edges;      /* name → GPtrArray of "JOB[:COND]" + kind, as "kind\tspec" */
  gboolean color;
} Tree;

static void
split_spec (const char *spec, char **name, const char **condition)
{
  const char *colon = strrchr (spec, ':');
  static const char *const conditions[] = { "started", "ready", "succeeded" };

  for (gsize i = 0; colon != NULL && i < G_N_ELEMENTS (conditions); i++)
    if (g_str_equal (colon + 1, conditions[i]))
      {
        *name = g_strndup (spec, colon - spec);
        *condition = conditions[i];
        return;
      }
  *name = g_strdup (spec);
  *condition = "ready";
}

static void
print_node (Tree *tree, const char *name, const char *label, GString *prefix,
            gboolean last, gboolean root, GPtrArray *path)
{
  const char *state = g_hash_table_lookup (tree->states, name);
  GPtrArray *edges = g_hash_table_lookup (tree->edges, name);
  g_autofree char *shown = jobctl_colorize (tree->color, jobctl_state_sgr (state),
                                            state != NULL ? state : _("(no such job)"));
  gsize mark = prefix->len;
  gboolean cycle = FALSE;

  for (guint i = 0; i < path->len; i++)
    cycle = cycle || g_str_equal (path->pdata[i], name);
  g_print ("%s%s%s  %s%s%s%s\n", prefix->str, root ? "" : last ? "└─ " : "├─ ", name, shown,
           label != NULL ? "  (" : "", label != NULL ? label : "", label != NULL ? ")" : "");
  if (cycle || edges == NULL)
    return;
  if (!root)
    g_string_append (prefix, last ? "   " : "│  ");
  g_ptr_array_add (path, (gpointer) name);
  for (guint i = 0; i < edges->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (edges->pdata[i], "\t", 2);
      g_autofree char *dep = NULL;
      g_autofree char *edge_label = NULL;
      const char *condition;

      split_spec (parts[1], &dep, &condition);
      /* TRANSLATORS: "requires, ready" or "after, started": the edge and its condition. */
      edge_label = g_strdup_printf (_("%s, %s"), parts[0], condition);
      print_node (tree, dep, edge_label, prefix, i + 1 == edges->len, FALSE, path);
    }
  g_ptr_array_remove_index (path, path->len - 1);
  g_string_truncate (prefix, mark);
}

static void
add_edges (Tree *tree, const char *name, GVariant *settings, const char *key,
           GHashTable *required)
{
  g_autofree const char **specs = NULL;
  GPtrArray *edges;

  if (!g_variant_lookup (settings, key, "^a&s", &specs))
    return;
  edges = g_hash_table_lookup (tree->edges, name);
  for (guint i = 0; specs[i] != NULL; i++)
    {
      g_autofree char *dep = NULL;
      const char *condition;

      if (edges == NULL)
        {
          edges = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (tree->edges, g_strdup (name), edges);
        }
      g_ptr_array_add (edges, g_strdup_printf ("%s\t%s", key, specs[i]));
      split_spec (specs[i], &dep, &condition);
      g_hash_table_add (required, g_steal_pointer (&dep));
    }
}

int
jobctl_print_tree (Jobctl *jobctl, GVariant *jobs)
{
  Tree tree = {
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref),
    jobctl->color,
  };
  g_autoptr(GHashTable) required = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) prefix = g_string_new (NULL);
  g_autoptr(GPtrArray) path = g_ptr_array_new ();
  GVariantIter iter;
  const char *name, *state;

  g_variant_iter_init (&iter, jobs);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, &state, NULL, NULL, NULL, NULL, NULL))
    {
      g_autoptr(GVariant) settings = NULL;

      g_hash_table_insert (tree.states, g_strdup (name), g_strdup (state));
      g_ptr_array_add (names, g_strdup (name));
      /* A job removed meanwhile has no settings: shown without edges. */
      if (jobd_dbus_manager_call_get_settings_sync (jobctl->manager, name, &settings, NULL, NULL))
        {
          add_edges (&tree, name, settings, "requires", required);
          add_edges (&tree, name, settings, "after", required);
        }
    }
  for (guint i = 0; i < names->len; i++)
    if (!g_hash_table_contains (required, names->pdata[i]))
      print_node (&tree, names->pdata[i], NULL, prefix, TRUE, TRUE, path);
  g_hash_table_unref (tree.states);
  g_hash_table_unref (tree.edges);
  return JOBCTL_EXIT_OK;
}
