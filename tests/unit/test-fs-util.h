/* SPDX-License-Identifier: MIT */
/* test-fs-util.h — file helpers shared by the output and log file tests. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* The whole file as a string; fails the test when it cannot be read. */
static inline char *
test_read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* rm -r of a temporary tree (symlinks are removed, not followed). */
static inline void
test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK) || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_assert_cmpint (g_unlink (path), ==, 0);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      test_remove_tree (child);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}
