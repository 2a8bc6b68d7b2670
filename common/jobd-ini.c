/* SPDX-License-Identifier: MIT */
/* jobd-ini.c — the lines of a GKeyFile-style file (see jobd-ini.h). */
#include "config.h"

#include "jobd-ini.h"

#include <string.h>

static void
entry_free (gpointer data)
{
  JobdIniEntry *entry = data;

  g_free (entry->group);
  g_free (entry->key);
  g_free (entry->value);
  g_free (entry);
}

/* GKeyFile's own rules: blank lines and lines starting with '#' are
 * skipped, "[name]" opens a section, everything else is KEY=VALUE. */
static void
scan_line (GPtrArray *entries, char **group, char *line, guint number)
{
  char *equals;
  JobdIniEntry *entry;

  g_strstrip (line);
  if (*line == '\0' || *line == '#')
    return;
  if (*line == '[')
    {
      char *end = strrchr (line, ']');

      g_free (*group);
      *group = g_strndup (line + 1, end != NULL ? (gsize) (end - line - 1) : strlen (line + 1));
      entry = g_new0 (JobdIniEntry, 1);
      entry->group = g_strdup (*group);
      entry->line = number;
      g_ptr_array_add (entries, entry);
      return;
    }
  equals = strchr (line, '=');
  if (equals == NULL)
    return;
  *equals = '\0';
  entry = g_new0 (JobdIniEntry, 1);
  entry->group = g_strdup (*group != NULL ? *group : "");
  entry->key = g_strstrip (g_strdup (line));
  entry->value = g_strstrip (g_strdup (equals + 1));
  entry->line = number;
  g_ptr_array_add (entries, entry);
}

/* GKeyFile's errors do not say where: the first line it cannot take. */
static guint
first_bad_line (char **lines)
{
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (*line != '\0' && *line != '#' && *line != '[' && strchr (line, '=') == NULL)
        return i + 1;
    }
  return 0;
}

GPtrArray *
jobd_ini_parse (const char *path, const char *text, gsize length,
                GKeyFile **keyfile, GError **error)
{
  g_autoptr(GKeyFile) parsed = g_key_file_new ();
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_autofree char *copy = g_strndup (text, length);
  g_autofree char *group = NULL;
  g_auto(GStrv) lines = NULL;

  lines = g_strsplit (copy, "\n", -1);
  if (!g_key_file_load_from_data (parsed, text, length, G_KEY_FILE_NONE, error))
    {
      guint bad = first_bad_line (lines);

      if (bad > 0)
        g_prefix_error (error, "%s:%u: ", path, bad);
      else
        g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  for (guint i = 0; lines[i] != NULL; i++)
    scan_line (entries, &group, lines[i], i + 1);
  if (keyfile != NULL)
    *keyfile = g_steal_pointer (&parsed);
  return g_steal_pointer (&entries);
}

