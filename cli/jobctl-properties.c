/* SPDX-License-Identifier: MIT */
/* jobctl-properties.c — `show -p PROP[,PROP] [--value]`, as systemctl show.
 *
 * A property is a key of the job's runtime state or settings (GetRuntime,
 * GetSettings) or Name. It may be named as in job files and systemd
 * (CamelCase: MainPID, Restart, WorkingDirectory, StopTimeout) or as the
 * D-Bus API and --json spell it (main-pid, stop-timeout-ms), in any case:
 * names are compared without case, dashes and underscores, and a key
 * ending in -ms also answers to its name without the unit. A few systemd
 * names are aliases (ActiveState, NRestarts, KillSignal, Id). Values are
 * printed as the API has them (durations in ms, sizes in bytes); output is
 * NAME=VALUE in the order asked, with the CamelCase name.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "jobctl.h"

static const char *const aliases[][2] = {
  { "activestate", "state" }, { "nrestarts", "restarts" }, { "killsignal", "stop-signal" },
  { "id", "name" }, { "arguments", "args" }, { "execmainpid", "main-pid" },
  { "directory", "working-directory" },
};

static char *
normalize (const char *name)
{
  GString *out = g_string_new (NULL);

  for (const char *p = name; *p != '\0'; p++)
    if (*p != '-' && *p != '_')
      g_string_append_c (out, g_ascii_tolower (*p));
  return g_string_free (out, FALSE);
}

/* "main-pid" → "MainPID", "restart-delay-ms" → "RestartDelayMs". */
static char *
camel_case (const char *key)
{
  static const char *const acronyms[] = { "pid", "uid", "cpu", "id", NULL };
  g_auto(GStrv) words = g_strsplit (key, "-", -1);
  GString *out = g_string_new (NULL);

  for (gsize i = 0; words[i] != NULL; i++)
    {
      if (g_strv_contains (acronyms, words[i]))
        {
          g_autofree char *upper = g_ascii_strup (words[i], -1);
          g_string_append (out, upper);
        }
      else if (words[i][0] != '\0')
        {
          g_string_append_c (out, g_ascii_toupper (words[i][0]));
          g_string_append (out, words[i] + 1);
        }
    }
  return g_string_free (out, FALSE);
}

static gboolean
key_matches (const char *key, const char *wanted)
{
  g_autofree char *normal = normalize (key);

  if (g_str_equal (normal, wanted))
    return TRUE;
  /* restart-delay-ms answers to RestartDelay too. */
  return g_str_has_suffix (key, "-ms") && strlen (normal) == strlen (wanted) + 2
         && strncmp (normal, wanted, strlen (wanted)) == 0;
}

/* The key of dict that wanted (normalized) names (a copy), or NULL. */
static char *
find_key (GVariant *dict, const char *wanted)
{
  GVariantIter iter;
  char *key;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{sv}", &key, NULL))
    {
      if (key_matches (key, wanted))
        return key;
      g_free (key);
    }
  return NULL;
}

GPtrArray *
jobctl_properties_parse (char **given, GError **error)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; given[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit (given[i], ",", -1);

      for (gsize j = 0; words[j] != NULL; j++)
        if (*g_strstrip (words[j]) != '\0')
          g_ptr_array_add (names, g_strdup (words[j]));
    }
  if (names->len == 0)
    {
      g_ptr_array_unref (names);
      jobctl_set_usage_error (error, _("--property needs a property name"));
      return NULL;
    }
  return names;
}

/* A value as text: words for lists, KEY=VALUE for dictionaries. */
static char *
format_value (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "yes" : "no");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autoptr(GString) text = g_string_new (NULL);
      GVariantIter iter;
      const char *word;

      g_variant_iter_init (&iter, value);
      while (g_variant_iter_next (&iter, "&s", &word))
        {
          g_autofree char *quoted = g_shell_quote (word);
          gboolean plain = *word != '\0' && strpbrk (word, " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL;

          g_string_append_printf (text, "%s%s", text->len > 0 ? " " : "", plain ? word : quoted);
        }
      return g_strdup (text->str);
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a{s*}")))
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (gsize i = 0; i < g_variant_n_children (value); i++)
        {
          g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
          g_autoptr(GVariant) item = g_variant_get_child_value (entry, 1);
          g_autoptr(GVariant) inner = g_variant_is_of_type (item, G_VARIANT_TYPE_VARIANT)
                                      ? g_variant_get_variant (item) : g_variant_ref (item);
          g_autofree char *printed = format_value (inner);

          g_string_append_printf (text, "%s%s=%s", text->len > 0 ? " " : "",
                                  g_variant_get_string (key, NULL), printed);
        }
      return g_strdup (text->str);
    }
  return g_variant_print (value, FALSE);
}

/* Resolves one asked name: its CamelCase name and value (new references). */
static gboolean
resolve (const char *asked, const char *job, GVariant *settings, GVariant *runtime,
         char **out_name, GVariant **out_value)
{
  g_autofree char *wanted = normalize (asked);
  g_autofree char *key = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (g_str_equal (wanted, aliases[i][0]))
      {
        g_free (wanted);
        wanted = normalize (aliases[i][1]);
      }
  if (g_str_equal (wanted, "name"))
    {
      *out_name = g_strdup ("Name");
      *out_value = g_variant_ref_sink (g_variant_new_string (job));
      return TRUE;
    }
  if ((key = find_key (runtime, wanted)) != NULL)
    *out_value = g_variant_lookup_value (runtime, key, NULL);
  else if ((key = find_key (settings, wanted)) != NULL)
    *out_value = g_variant_lookup_value (settings, key, NULL);
  else
    return FALSE;
  *out_name = camel_case (key);
  return TRUE;
}

int
jobctl_properties_print (Jobctl *jobctl, const char *job, GPtrArray *asked,
                         GVariant *settings, GVariant *runtime, gboolean value_only)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GError) error = NULL;

  /* Every name first: an unknown one prints nothing. */
  for (guint i = 0; i < asked->len; i++)
    {
      char *name;
      GVariant *value;

      if (!resolve (asked->pdata[i], job, settings, runtime, &name, &value))
        {
          jobctl_set_usage_error (&error, _("unknown property “%s” (see `jobctl show %s --json`)"),
                                  (const char *) asked->pdata[i], job);
          return jobctl_fail (error);
        }
      g_ptr_array_add (names, name);
      g_ptr_array_add (values, value);
    }

  if (jobctl->json)
    {
      GVariantBuilder object;

      g_variant_builder_init (&object, G_VARIANT_TYPE_VARDICT);
      for (guint i = 0; i < names->len; i++)
        g_variant_builder_add (&object, "{sv}", names->pdata[i], values->pdata[i]);
      jobctl_print_variant (g_variant_builder_end (&object));
      return JOBCTL_EXIT_OK;
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *text = format_value (values->pdata[i]);

      if (value_only)
        g_print ("%s\n", text);
      else
        g_print ("%s=%s\n", (const char *) names->pdata[i], text);
    }
  return JOBCTL_EXIT_OK;
}
