/* SPDX-License-Identifier: MIT */
/* Watching memory.events (jobd-memory-events.c) on a stand-in file: the
 * kernel notifies a cgroup file's change as IN_MODIFY, which a write to a
 * regular file gives too; removing it is the cgroup going away. */
#include "config.h"

#include <glib/gstdio.h>

#include "jobd-memory-events.h"

typedef struct {
  guint calls;
  guint64 high;
  gboolean lost;
} Seen;

static void
on_events (guint64 high, gboolean lost, gpointer user_data)
{
  Seen *seen = user_data;

  seen->calls++;
  seen->high = high;
  seen->lost = lost;
}

static void
write_events (const char *path, guint high)
{
  g_autofree char *text = g_strdup_printf ("low 0\nhigh %u\nmax 0\noom 0\noom_kill 0\n", high);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
}

/* Run the main loop until seen->calls reaches calls, or 5 s. */
static void
wait_calls (Seen *seen, guint calls)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (seen->calls < calls && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
}

static void
test_parse (void)
{
  guint64 high = 0;

  g_assert_true (jobd_memory_events_parse_high ("low 1\nhigh 42\nmax 0\n", &high));
  g_assert_cmpuint (high, ==, 42);
  g_assert_false (jobd_memory_events_parse_high ("low 1\nmax 0\n", &high));
  g_assert_false (jobd_memory_events_parse_high ("high x\n", &high));
}

static void
test_growing_high_is_told_once_each (void)
{
  g_autofree char *dir = g_dir_make_tmp ("memevents-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "memory.events", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdMemoryEvents) watch = NULL;
  Seen seen = { 0 };

  /* Before the watch: the baseline, not an event. */
  write_events (path, 3);
  watch = jobd_memory_events_watch (path, on_events, &seen, &error);
  g_assert_no_error (error);
  g_assert_nonnull (watch);
  /* g_file_set_contents renames a new file over it: write in place. */
  {
    FILE *f = fopen (path, "r+");
    g_assert_nonnull (f);
    fputs ("low 0\nhigh 4\nmax 0\noom 0\noom_kill 0\n", f);
    fclose (f);
  }
  wait_calls (&seen, 1);
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (seen.high, ==, 4);
  g_assert_false (seen.lost);

  /* Another field changing (the same count) is not "high". */
  {
    FILE *f = fopen (path, "r+");
    fputs ("low 9\nhigh 4\nmax 0\noom 0\noom_kill 0\n", f);
    fclose (f);
  }
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (seen.calls, ==, 1);

  /* The cgroup goes: told once, as lost. */
  g_assert_cmpint (g_unlink (path), ==, 0);
  wait_calls (&seen, 2);
  g_assert_cmpuint (seen.calls, ==, 2);
  g_assert_true (seen.lost);
  g_clear_pointer (&watch, jobd_memory_events_free);
  g_rmdir (dir);
}

static void
test_two_watches_of_one_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("memevents-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "memory.events", NULL);
  g_autoptr(GError) error = NULL;
  JobdMemoryEvents *first, *second;
  Seen a = { 0 }, b = { 0 };
  FILE *f;

  write_events (path, 0);
  first = jobd_memory_events_watch (path, on_events, &a, &error);
  g_assert_no_error (error);
  second = jobd_memory_events_watch (path, on_events, &b, &error);
  g_assert_no_error (error);
  /* The old run's watch goes; the new one's must stay. */
  jobd_memory_events_free (first);
  f = fopen (path, "r+");
  fputs ("low 0\nhigh 1\nmax 0\noom 0\noom_kill 0\n", f);
  fclose (f);
  wait_calls (&b, 1);
  g_assert_cmpuint (a.calls, ==, 0);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_cmpuint (b.high, ==, 1);
  jobd_memory_events_free (second);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_missing_file_is_an_error (void)
{
  g_autoptr(GError) error = NULL;
  Seen seen = { 0 };

  g_assert_null (jobd_memory_events_watch ("/nonexistent/memory.events", on_events, &seen,
                                           &error));
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory-events/parse", test_parse);
  g_test_add_func ("/memory-events/growing-high", test_growing_high_is_told_once_each);
  g_test_add_func ("/memory-events/two-watches", test_two_watches_of_one_file);
  g_test_add_func ("/memory-events/missing", test_missing_file_is_an_error);
  return g_test_run ();
}
