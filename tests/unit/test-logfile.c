/* SPDX-License-Identifier: MIT */
/* test-logfile.c — the legacy hourly log file layout, prefix and errors. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-logfile.h"
#include "test-fs-util.h"

static guint warnings_seen;

/* Count warnings (jobd reports log file errors with g_warning) instead of
 * letting the test framework abort on them. */
static GLogWriterOutput
count_warnings (GLogLevelFlags log_level,
                const GLogField *fields,
                gsize n_fields,
                gpointer user_data)
{
  if (log_level & G_LOG_LEVEL_WARNING)
    {
      warnings_seen++;
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static gint64
local_usec (int year, int month, int day, int hour, int minute, int second)
{
  g_autoptr(GDateTime) dt = g_date_time_new_local (year, month, day, hour, minute, second);

  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + 123456;
}

static void
assert_mode (const char *path, mode_t mode)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, mode);
}

static void
write_line (JobdLogFile *log, gboolean error_stream, gint64 usec, const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_log_file_write (log, error_stream, usec, text, -1, &error));
  g_assert_no_error (error);
}

static void
test_names (void)
{
  g_autoptr(GDateTime) dt = g_date_time_new_local (2024, 3, 5, 7, 8, 9);
  g_autofree char *day = jobd_log_file_day_dir_name (dt);
  g_autofree char *out = jobd_log_file_hour_file_name (dt, FALSE);
  g_autofree char *err = jobd_log_file_hour_file_name (dt, TRUE);

  g_assert_cmpstr (day, ==, "20240305");
  g_assert_cmpstr (out, ==, "2024030507.log");
  g_assert_cmpstr (err, ==, "2024030507.error.log");
}

static void
test_layout (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-logfile-XXXXXX", NULL);
  g_autofree char *job_dir = g_build_filename (root, "jobs", "web", NULL);
  g_autofree char *day_dir = g_build_filename (job_dir, "20240305", NULL);
  g_autofree char *out = g_build_filename (day_dir, "2024030507.log", NULL);
  g_autofree char *err = g_build_filename (day_dir, "2024030507.error.log", NULL);
  g_autofree char *next_hour = g_build_filename (day_dir, "2024030508.log", NULL);
  g_autofree char *next_day = g_build_filename (job_dir, "20240306", "2024030600.log", NULL);
  g_autoptr(JobdLogFile) log = jobd_log_file_new (root, "jobs/web");
  g_autofree char *text_out = NULL;
  g_autofree char *text_err = NULL;
  g_autofree char *text_hour = NULL;
  g_autofree char *text_day = NULL;

  write_line (log, FALSE, local_usec (2024, 3, 5, 7, 8, 9), "hello");
  write_line (log, TRUE, local_usec (2024, 3, 5, 7, 8, 9), "oops");
  write_line (log, FALSE, local_usec (2024, 3, 5, 7, 59, 59), "still seven");
  /* Buffered in userspace until the flush. */
  if (g_file_test (out, G_FILE_TEST_EXISTS))
    {
      text_out = test_read_text (out);
      g_assert_cmpstr (text_out, ==, "");
      g_clear_pointer (&text_out, g_free);
    }
  write_line (log, FALSE, local_usec (2024, 3, 5, 8, 0, 1), "eight");
  write_line (log, FALSE, local_usec (2024, 3, 6, 0, 0, 0), "next day");
  jobd_log_file_flush (log);

  text_out = test_read_text (out);
  text_err = test_read_text (err);
  text_hour = test_read_text (next_hour);
  text_day = test_read_text (next_day);
  g_assert_cmpstr (text_out, ==,
                   "[24-03-05 07:08:09] hello\n[24-03-05 07:59:59] still seven\n");
  g_assert_cmpstr (text_err, ==, "[24-03-05 07:08:09] oops\n");
  g_assert_cmpstr (text_hour, ==, "[24-03-05 08:00:01] eight\n");
  g_assert_cmpstr (text_day, ==, "[24-03-06 00:00:00] next day\n");
  assert_mode (day_dir, 0755);
  assert_mode (out, 0644);
  g_assert_cmpuint (warnings_seen, ==, 0);
  test_remove_tree (root);
}

/* Reopening an existing hour file appends to it. */
static void
test_append (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-logfile-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (root, "server", "20240305", "2024030507.log", NULL);
  g_autofree char *text = NULL;
  gint64 usec = local_usec (2024, 3, 5, 7, 0, 0);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JobdLogFile) log = jobd_log_file_new (root, "server");

      write_line (log, FALSE, usec, i == 0 ? "first" : "second");
      /* No explicit flush: freeing flushes. */
    }
  text = test_read_text (out);
  g_assert_cmpstr (text, ==, "[24-03-05 07:00:00] first\n[24-03-05 07:00:00] second\n");
  test_remove_tree (root);
}

/* Closing writes everything out; the next line opens the file again and
 * appends. */
static void
test_close_reopens (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-logfile-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (root, "server", "20240305", "2024030507.log", NULL);
  g_autoptr(JobdLogFile) log = jobd_log_file_new (root, "server");
  gint64 usec = local_usec (2024, 3, 5, 7, 0, 0);
  g_autofree char *first = NULL;
  g_autofree char *both = NULL;

  write_line (log, FALSE, usec, "before");
  jobd_log_file_close (log);
  first = test_read_text (out);
  g_assert_cmpstr (first, ==, "[24-03-05 07:00:00] before\n");
  write_line (log, FALSE, usec, "after");
  jobd_log_file_flush (log);
  both = test_read_text (out);
  g_assert_cmpstr (both, ==, "[24-03-05 07:00:00] before\n[24-03-05 07:00:00] after\n");
  g_assert_cmpuint (warnings_seen, ==, 0);
  test_remove_tree (root);
}

/* A directory that cannot be made: lines are refused, one warning. */
static void
test_open_error_reported_once (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-logfile-XXXXXX", NULL);
  g_autofree char *blocker = g_build_filename (root, "jobs", NULL);
  g_autoptr(JobdLogFile) log = jobd_log_file_new (root, "jobs/web");
  gint64 usec = local_usec (2024, 3, 5, 7, 0, 0);

  g_assert_true (g_file_set_contents (blocker, "not a directory", -1, NULL));
  warnings_seen = 0;
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (jobd_log_file_write (log, FALSE, usec + i, "lost", -1, &error));
      g_assert_nonnull (error);
    }
  jobd_log_file_flush (log);
  g_assert_cmpuint (warnings_seen, ==, 1);
  test_remove_tree (root);
}

/* A file that fails on write (/dev/full): one warning for many flushes. */
static void
test_write_error_reported_once (void)
{
  g_autofree char *root = g_dir_make_tmp ("jobd-logfile-XXXXXX", NULL);
  g_autofree char *day_dir = g_build_filename (root, "server", "20240305", NULL);
  g_autofree char *out = g_build_filename (day_dir, "2024030507.log", NULL);
  g_autoptr(JobdLogFile) log = jobd_log_file_new (root, "server");
  gint64 usec = local_usec (2024, 3, 5, 7, 0, 0);

  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /dev/full");
      test_remove_tree (root);
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (day_dir, 0755), ==, 0);
  g_assert_cmpint (symlink ("/dev/full", out), ==, 0);
  warnings_seen = 0;
  for (guint i = 0; i < 5; i++)
    {
      write_line (log, FALSE, usec, "to a full disk");
      jobd_log_file_flush (log);
    }
  g_assert_cmpuint (warnings_seen, ==, 1);
  test_remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (count_warnings, NULL, NULL);
  umask (022);

  g_test_add_func ("/logfile/names", test_names);
  g_test_add_func ("/logfile/layout", test_layout);
  g_test_add_func ("/logfile/append", test_append);
  g_test_add_func ("/logfile/close-reopens", test_close_reopens);
  g_test_add_func ("/logfile/open-error-reported-once", test_open_error_reported_once);
  g_test_add_func ("/logfile/write-error-reported-once", test_write_error_reported_once);

  return g_test_run ();
}
