/* SPDX-License-Identifier: MIT */
/* jobd-deps.c — the dependency graph: parsing, checks, orders, reverse lookups. */
#include "config.h"

#include "jobd-deps.h"

#include "jobd-error.h"
#include "jobd-names.h"

static const char * const condition_names[] = {
  [JOBD_DEP_STARTED] = "started",
  [JOBD_DEP_READY] = "ready",
  [JOBD_DEP_SUCCEEDED] = "succeeded",
};

const char *
jobd_dep_condition_to_string (JobdDepCondition condition)
{
  return condition < G_N_ELEMENTS (condition_names) ? condition_names[condition] : "ready";
}

/* Job names may contain ':' themselves: only a known condition after the
 * last ':' is one ("a:b" is the job a:b; write "a:b:ready" to be explicit). */
gboolean
jobd_dep_parse (const char *key,
                const char *spec,
                char **name,
                JobdDepCondition *condition,
                GError **error)
{
  const char *colon = strrchr (spec, ':');
  g_autofree char *job = NULL;
  g_autoptr(GError) local = NULL;
  JobdDepCondition cond = JOBD_DEP_READY;

  if (colon != NULL)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (condition_names); i++)
        if (g_str_equal (colon + 1, condition_names[i]))
          {
            cond = (JobdDepCondition) i;
            job = g_strndup (spec, colon - spec);
            break;
          }
    }
  if (job == NULL)
    job = g_strdup (spec);
  if (!jobd_name_validate (job, &local))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: '%s' is not JOB or JOB:CONDITION (started, ready, succeeded): %s",
                   key, spec, local->message);
      return FALSE;
    }
  if (name != NULL)
    *name = g_steal_pointer (&job);
  if (condition != NULL)
    *condition = cond;
  return TRUE;
}

gboolean
jobd_deps_validate_list (const char *key, const char * const *specs, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = specs != NULL ? g_strv_length ((char **) specs) : 0;

  if (n > JOBD_DEPS_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: %u entries, at most %u", key, n, JOBD_DEPS_MAX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      char *name = NULL;

      if (!jobd_dep_parse (key, specs[i], &name, NULL, error))
        return FALSE;
      if (!g_hash_table_add (seen, name))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "%s: job '%s' named twice", key, specs[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- walking the graph ---- */

typedef struct {
  const char *name;                     /* the job being added/updated */
  const char * const *requires;         /* its new edges */
  const char * const *after;
  JobdDepsGetFunc get;
  gpointer user_data;
} Graph;

static gboolean
graph_get (const Graph *g, const char *name, const char * const **requires, const char * const **after)
{
  if (g->name != NULL && g_str_equal (name, g->name))
    {
      *requires = g->requires;
      *after = g->after;
      return TRUE;
    }
  *requires = *after = NULL;
  return g->get (name, requires, after, g->user_data);
}

/* The names one job's edges (requires then after) point to, in order. */
static GPtrArray *
graph_successors (const Graph *g, const char *name)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  const char * const *lists[2];

  if (!graph_get (g, name, &lists[0], &lists[1]))
    return out;
  for (guint l = 0; l < 2; l++)
    for (guint i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
      {
        char *dep = NULL;
        if (jobd_dep_parse ("", lists[l][i], &dep, NULL, NULL))
          g_ptr_array_add (out, dep);
      }
  return out;
}

typedef enum { WHITE = 0, GREY, BLACK } Colour;

/* Depth first; a grey node met again closes a cycle: path[from..] + it. */
static gboolean
find_cycle (const Graph *g, const char *name, GHashTable *colour, GPtrArray *path, GString **cycle)
{
  g_autoptr(GPtrArray) next = graph_successors (g, name);

  g_hash_table_insert (colour, g_strdup (name), GINT_TO_POINTER (GREY));
  g_ptr_array_add (path, (gpointer) name);
  for (guint i = 0; i < next->len; i++)
    {
      const char *dep = next->pdata[i];
      Colour c = GPOINTER_TO_INT (g_hash_table_lookup (colour, dep));

      if (c == GREY)
        {
          guint from = 0;
          *cycle = g_string_new (NULL);
          while (!g_str_equal (path->pdata[from], dep))
            from++;
          for (guint k = from; k < path->len; k++)
            g_string_append_printf (*cycle, "%s -> ", (const char *) path->pdata[k]);
          g_string_append (*cycle, dep);
          return TRUE;
        }
      if (c == WHITE && find_cycle (g, dep, colour, path, cycle))
        return TRUE;
    }
  g_ptr_array_remove_index (path, path->len - 1);
  g_hash_table_insert (colour, g_strdup (name), GINT_TO_POINTER (BLACK));
  return FALSE;
}

static gboolean
check_list (const char *key, const char *name, const char * const *specs,
            const Graph *g, gboolean check_missing, GError **error)
{
  if (!jobd_deps_validate_list (key, specs, error))
    return FALSE;
  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      g_autofree char *dep = NULL;
      const char * const *r, * const *a;

      jobd_dep_parse (key, specs[i], &dep, NULL, NULL);
      if (g_str_equal (dep, name))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "%s: job '%s' cannot depend on itself", key, name);
          return FALSE;
        }
      if (check_missing && !graph_get (g, dep, &r, &a))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB,
                       "%s: no job named '%s'", key, dep);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
jobd_deps_check (const char *name,
                 const char * const *requires,
                 const char * const *after,
                 JobdDepsGetFunc get,
                 gpointer user_data,
                 gboolean check_missing,
                 GError **error)
{
  Graph g = { name, requires, after, get, user_data };
  g_autoptr(GHashTable) colour = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) path = g_ptr_array_new ();
  GString *cycle = NULL;

  if (!check_list ("requires", name, requires, &g, check_missing, error) ||
      !check_list ("after", name, after, &g, FALSE, error))
    return FALSE;
  if (find_cycle (&g, name, colour, path, &cycle))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "dependency cycle: %s", cycle->str);
      g_string_free (cycle, TRUE);
      return FALSE;
    }
  return TRUE;
}

/* ---- orders ---- */

static void
collect_requires (const Graph *g, const char *name, GHashTable *set)
{
  const char * const *requires, * const *after;

  if (g_hash_table_contains (set, name) || !graph_get (g, name, &requires, &after))
    return;
  g_hash_table_add (set, g_strdup (name));
  for (guint i = 0; requires != NULL && requires[i] != NULL; i++)
    {
      g_autofree char *dep = NULL;
      if (jobd_dep_parse ("", requires[i], &dep, NULL, NULL))
        collect_requires (g, dep, set);
    }
}

/* Post-order over the edges that stay inside set: what a job depends on
 * comes before it. The colour map makes a cycle end the walk. */
static void
visit_in_order (const Graph *g, const char *name, GHashTable *set, GHashTable *done, GPtrArray *out)
{
  g_autoptr(GPtrArray) next = NULL;

  if (!g_hash_table_contains (set, name) || g_hash_table_contains (done, name))
    return;
  g_hash_table_add (done, g_strdup (name));
  next = graph_successors (g, name);
  for (guint i = 0; i < next->len; i++)
    visit_in_order (g, next->pdata[i], set, done, out);
  g_ptr_array_add (out, g_strdup (name));
}

GPtrArray *
jobd_deps_start_order (const char *name, JobdDepsGetFunc get, gpointer user_data)
{
  Graph g = { NULL, NULL, NULL, get, user_data };
  g_autoptr(GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  collect_requires (&g, name, set);
  g_hash_table_add (set, g_strdup (name));
  visit_in_order (&g, name, set, done, out);
  return out;
}

GPtrArray *
jobd_deps_reverse (const char *name,
                   const char *key,
                   gboolean skip_succeeded,
                   const char * const *names,
                   JobdDepsGetFunc get,
                   gpointer user_data)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  gboolean want_requires = g_str_equal (key, "requires");

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const char * const *requires, * const *after, * const *list;

      if (!get (names[i], &requires, &after, user_data))
        continue;
      list = want_requires ? requires : after;
      for (guint k = 0; list != NULL && list[k] != NULL; k++)
        {
          g_autofree char *dep = NULL;
          JobdDepCondition cond;

          if (!jobd_dep_parse ("", list[k], &dep, &cond, NULL) || !g_str_equal (dep, name))
            continue;
          if (!(skip_succeeded && cond == JOBD_DEP_SUCCEEDED))
            g_ptr_array_add (out, g_strdup (names[i]));
          break;
        }
    }
  return out;
}

static void
visit_dependents (const char *name, const char * const *names, JobdDepsGetFunc get,
                  gpointer user_data, GHashTable *done, GPtrArray *out)
{
  g_autoptr(GPtrArray) users = jobd_deps_reverse (name, "requires", TRUE, names, get, user_data);

  for (guint i = 0; i < users->len; i++)
    {
      const char *user = users->pdata[i];
      if (g_hash_table_contains (done, user))
        continue;
      g_hash_table_add (done, g_strdup (user));
      visit_dependents (user, names, get, user_data, done, out);
      g_ptr_array_add (out, g_strdup (user));
    }
}

GPtrArray *
jobd_deps_stop_order (const char *name,
                      const char * const *names,
                      JobdDepsGetFunc get,
                      gpointer user_data)
{
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_add (done, g_strdup (name));
  visit_dependents (name, names, get, user_data, done, out);
  return out;
}
