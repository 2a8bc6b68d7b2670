/* SPDX-License-Identifier: MIT */
/* jobctl-select.c — the jobs a verb acts on: names, globs and --all.
 *
 * Like systemctl, a verb takes several names, and a name with glob
 * characters (`*`, `?`, `[`) is matched (fnmatch) against the names jobd
 * lists; a glob that matches nothing is an error of its own, as systemctl
 * says "Unit x not loaded". Plain names are passed through: jobd answers
 * NoSuchJob for them, so that case costs no extra round trip.
 */
#include "config.h"

#include <fnmatch.h>
#include <glib/gi18n.h>
#include <string.h>

#include "jobctl.h"

gboolean
jobctl_is_glob (const char *pattern)
{
  return strpbrk (pattern, "*?[") != NULL;
}

gboolean
jobctl_name_matches (const char *const *patterns, const char *name)
{
  if (patterns == NULL || patterns[0] == NULL)
    return TRUE;
  for (gsize i = 0; patterns[i] != NULL; i++)
    if (fnmatch (patterns[i], name, 0) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every job's name, sorted. */
static GPtrArray *
list_names (Jobctl *jobctl, GError **error)
{
  g_autoptr(GVariant) states = NULL;
  GPtrArray *names;
  GVariantIter iter;
  char *name;

  if (!jobd_dbus_manager_call_status_all_sync (jobctl->manager, &states, NULL, error))
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  g_variant_iter_init (&iter, states);
  while (g_variant_iter_next (&iter, "{ss}", &name, NULL))
    g_ptr_array_add (names, name);
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
add_unique (GPtrArray *out, const char *name)
{
  for (guint i = 0; i < out->len; i++)
    if (strcmp (out->pdata[i], name) == 0)
      return;
  g_ptr_array_add (out, g_strdup (name));
}

GPtrArray *
jobctl_select_jobs (Jobctl *jobctl, char **args, int n_args, gboolean all,
                    int *status, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) known = NULL;
  gboolean need_list = all;

  for (int i = 0; i < n_args; i++)
    need_list = need_list || jobctl_is_glob (args[i]);
  if (need_list && (known = list_names (jobctl, error)) == NULL)
    return NULL;

  if (all)
    for (guint i = 0; i < known->len; i++)
      add_unique (out, known->pdata[i]);
  for (int i = 0; i < n_args; i++)
    {
      gboolean matched = FALSE;

      if (!jobctl_is_glob (args[i]))
        {
          add_unique (out, args[i]);
          continue;
        }
      for (guint j = 0; j < known->len; j++)
        if (fnmatch (args[i], known->pdata[j], 0) == 0)
          {
            add_unique (out, known->pdata[j]);
            matched = TRUE;
          }
      if (!matched)
        {
          g_printerr ("jobctl: ");
          g_printerr (_("no job matches “%s”\n"), args[i]);
          jobctl_note_failure (status, JOBCTL_EXIT_NO_SUCH_JOB);
        }
    }
  return g_steal_pointer (&out);
}

void
jobctl_note_failure (int *status, int code)
{
  /* The first failure decides the exit code; later ones are reported. */
  if (*status == JOBCTL_EXIT_OK)
    *status = code;
}
