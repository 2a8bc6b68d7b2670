/* SPDX-License-Identifier: MIT */
/* jobd-dep-order.c — see jobd-dep-order.h. */
#include "jobd-dep-order.h"

#include <string.h>

#include "jobd-jobfile.h"

char *
jobd_dep_order_job_name (const char *spec)
{
  const char *colon = strrchr (spec, ':');

  if (colon != NULL && (g_str_equal (colon + 1, "started") || g_str_equal (colon + 1, "ready")
                        || g_str_equal (colon + 1, "succeeded")))
    return g_strndup (spec, colon - spec);
  return g_strdup (spec);
}

GPtrArray *
jobd_dep_order_names_in (GVariant *settings)
{
  static const char *const keys[] = { "requires", "after" };
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint k = 0; settings != NULL && k < G_N_ELEMENTS (keys); k++)
    {
      g_autofree const char **specs = NULL;

      if (g_variant_lookup (settings, keys[k], "^a&s", &specs))
        for (guint i = 0; specs[i] != NULL; i++)
          g_ptr_array_add (names, jobd_dep_order_job_name (specs[i]));
    }
  return names;
}

typedef struct {
  GHashTable *by_name;   /* name → item */
  GHashTable *visited;   /* item */
  GPtrArray *ordered;
  JobdDepOrderDepsFunc deps_of;
  gpointer user_data;
} Walk;

/* Depth first: what item names, then item. Marked before its names are
 * followed, so a cycle ends at the first item met again. */
static void
visit (Walk *walk, gpointer item)
{
  g_autoptr(GPtrArray) names = NULL;

  if (!g_hash_table_add (walk->visited, item))
    return;
  names = walk->deps_of (item, walk->user_data);
  for (guint i = 0; i < names->len; i++)
    {
      gpointer other = g_hash_table_lookup (walk->by_name, names->pdata[i]);

      if (other != NULL)
        visit (walk, other);
    }
  g_ptr_array_add (walk->ordered, item);
}

void
jobd_dep_order_sort (GPtrArray *items,
                     JobdDepOrderNameFunc name_of,
                     JobdDepOrderDepsFunc deps_of,
                     gpointer user_data,
                     gboolean reversed)
{
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) visited = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) ordered = g_ptr_array_sized_new (items->len);
  Walk walk = { by_name, visited, ordered, deps_of, user_data };

  for (guint i = 0; i < items->len; i++)
    g_hash_table_insert (by_name, (gpointer) name_of (items->pdata[i]), items->pdata[i]);
  for (guint i = 0; i < items->len; i++)
    visit (&walk, items->pdata[i]);
  for (guint i = 0; i < items->len; i++)
    items->pdata[i] = ordered->pdata[reversed ? ordered->len - 1 - i : i];
}

static const char *
file_name (gpointer item)
{
  return ((JobdJobFile *) item)->name;
}

static GPtrArray *
file_deps (gpointer item, gpointer unused)
{
  return jobd_dep_order_names_in (((JobdJobFile *) item)->settings);
}

void
jobd_dep_order_job_files (GPtrArray *files)
{
  jobd_dep_order_sort (files, file_name, file_deps, NULL, FALSE);
}
