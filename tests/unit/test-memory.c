/* SPDX-License-Identifier: MIT */
/* test-memory.c — reading a process's memory, and one that is gone. */
#include <sys/wait.h>
#include <unistd.h>

#include "jobd-memory.h"

static void
test_own_rss (void)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;

  g_assert_true (jobd_memory_process_rss (getpid (), &bytes, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bytes, >, 0);
}

/* A process that exited between a listing and the read reads as gone
 * (G_FILE_ERROR_NOENT), which callers summing a cgroup skip. */
static void
test_gone_process (void)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;
  pid_t child = fork ();

  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    _exit (0);
  g_assert_cmpint (waitpid (child, NULL, 0), ==, child);
  g_assert_false (jobd_memory_process_rss (child, &bytes, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory/own-rss", test_own_rss);
  g_test_add_func ("/memory/gone-process", test_gone_process);
  return g_test_run ();
}
