/* SPDX-License-Identifier: MIT */
/* replay-main.c — run a fuzz target over files, without libFuzzer.
 *
 * Linked with a target's LLVMFuzzerTestOneInput in every build (gcc too), so
 * the seed corpora and the reproducers of bugs the fuzzers found run in the
 * ordinary suite: `replay-NAME DIR|FILE...`. A failing input aborts, as it
 * does under libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
replay_file (const char *path, guint *count)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  printf ("# %s\n", path);
  fflush (stdout);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
  (*count)++;
}

int
main (int argc, char **argv)
{
  guint count = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        {
          replay_file (argv[i], &count);
          continue;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, compare_paths);
      for (guint n = 0; n < names->len; n++)
        replay_file (names->pdata[n], &count);
    }
  if (count == 0)
    g_error ("no inputs");
  printf ("1..1\nok 1 - %u inputs\n", count);
  return 0;
}
