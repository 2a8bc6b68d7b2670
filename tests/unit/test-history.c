/* SPDX-License-Identifier: MIT */
/* test-history.c — JobdHistory on its own (files under a temporary state
 * directory) and the cgroup peak readers against a fake cgroup tree. */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "jobd-cgroup.h"
#include "jobd-history.h"

/* Every message logged, to check what was said and how often. */
static GPtrArray *logged;

static GLogWriterOutput
record_message (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields,
                gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      g_ptr_array_add (logged, g_strdup (fields[i].value));
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static guint
count_logged (const char *pattern)
{
  guint n = 0;

  for (guint i = 0; i < logged->len; i++)
    n += g_pattern_match_simple (pattern, logged->pdata[i]);
  return n;
}

typedef struct {
  char *state_dir;
  char *history_dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->state_dir = g_dir_make_tmp ("jobd-history-XXXXXX", NULL);
  g_assert_nonnull (f->state_dir);
  f->history_dir = g_build_filename (f->state_dir, "history", NULL);
  g_ptr_array_set_size (logged, 0);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  remove_tree (f->state_dir);
  g_free (f->state_dir);
  g_free (f->history_dir);
}

static void
run (JobdHistory *h, const char *job, guint keep, int code)
{
  JobdRunCause cause = { JOBD_REASON_MANUAL, 1000, NULL };
  JobdRunEnd end = { .result = JOBD_RUN_RESULT_EXIT_CODE, .exit_code = code,
                     .peak_memory = 4096, .peak_memory_source = JOBD_PEAK_SOURCE_SAMPLED,
                     .stdout_lines = 3 };

  jobd_history_run_started (h, job, keep, &cause, g_get_real_time ());
  end.end_usec = g_get_real_time ();
  jobd_history_run_ended (h, job, keep, &end);
}

static guint
count_lines (const char *path)
{
  g_autofree char *contents = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  for (const char *p = contents; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static void
test_records_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr(JobdHistory) h = jobd_history_new (f->state_dir);
  g_autoptr(JobdHistory) again = NULL;
  g_autoptr(GPtrArray) list = NULL;
  JobdRunCause cause = { JOBD_REASON_SCHEDULE, JOBD_UID_NONE, "nightly" };
  JobdRunEnd end = { .end_usec = 0, .result = JOBD_RUN_RESULT_SIGNAL, .exit_code = -1,
                     .exit_signal = 9, .stop_cause = JOBD_STOP_CAUSE_RUNTIME_MAX,
                     .killed = TRUE, .peak_memory = 1 << 20,
                     .peak_memory_source = JOBD_PEAK_SOURCE_MEMORY_PEAK,
                     .stdout_lines = 5, .stderr_lines = 2 };
  const JobdRunRecord *r;

  run (h, "a", 100, 3);
  g_assert_cmpuint (jobd_history_run_started (h, "a", 100, &cause, 1000), ==, 2);
  end.end_usec = 5000;
  jobd_history_run_ended (h, "a", 100, &end);

  /* Read back by a new JobdHistory (a jobd restart). */
  again = jobd_history_new (f->state_dir);
  list = jobd_history_list (again, "a", 0);
  g_assert_cmpuint (list->len, ==, 2);
  r = list->pdata[0];
  g_assert_cmpuint (r->run, ==, 2);
  g_assert_cmpstr (r->reason, ==, "schedule");
  g_assert_cmpstr (r->trigger, ==, "nightly");
  g_assert_cmpuint (r->uid, ==, JOBD_UID_NONE);
  g_assert_cmpint (r->start_usec, ==, 1000);
  g_assert_cmpint (r->end_usec, ==, 5000);
  g_assert_cmpstr (r->result, ==, "signal");
  g_assert_cmpint (r->exit_signal, ==, 9);
  g_assert_cmpstr (r->stop_cause, ==, "runtime-max");
  g_assert_true (r->killed);
  g_assert_cmpuint (r->peak_memory, ==, 1 << 20);
  g_assert_cmpstr (r->peak_memory_source, ==, "memory.peak");
  g_assert_cmpuint (r->stdout_lines, ==, 5);
  g_assert_cmpuint (r->stderr_lines, ==, 2);
  r = list->pdata[1];
  g_assert_cmpuint (r->run, ==, 1);
  g_assert_cmpuint (r->uid, ==, 1000);
  g_assert_cmpint (r->exit_code, ==, 3);
  g_assert_null (r->stop_cause);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = jobd_history_list (again, "a", 1);
  g_assert_cmpuint (list->len, ==, 1);
}

static void
test_open_run_lost (Fixture *f, gconstpointer data)
{
  g_autoptr(JobdHistory) h = jobd_history_new (f->state_dir);
  g_autoptr(JobdHistory) again = NULL;
  g_autoptr(GPtrArray) list = NULL;
  JobdRunCause cause = JOBD_RUN_CAUSE (JOBD_REASON_AUTOSTART);

  jobd_history_run_started (h, "b", 100, &cause, 1000);
  again = jobd_history_new (f->state_dir);
  list = jobd_history_list (again, "b", 0);
  g_assert_cmpint (((JobdRunRecord *) list->pdata[0])->end_usec, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  jobd_history_runs_lost (again, "b", 100);
  list = jobd_history_list (again, "b", 0);
  g_assert_cmpstr (((JobdRunRecord *) list->pdata[0])->result, ==, "unknown");
  g_assert_cmpint (((JobdRunRecord *) list->pdata[0])->end_usec, >, 1000);
}

static void
test_bounded (Fixture *f, gconstpointer data)
{
  g_autoptr(JobdHistory) h = jobd_history_new (f->state_dir);
  g_autoptr(JobdHistory) again = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *path = g_build_filename (f->history_dir, "c.jsonl", NULL);

  for (int i = 0; i < 100; i++)
    {
      run (h, "c", 10, 0);
      g_assert_cmpuint (count_lines (path), <=, 20);
    }
  list = jobd_history_list (h, "c", 0);
  g_assert_cmpuint (list->len, ==, 10);
  g_assert_cmpuint (((JobdRunRecord *) list->pdata[0])->run, ==, 100);
  g_clear_pointer (&list, g_ptr_array_unref);
  /* A smaller size answers fewer at once, before any run. */
  again = jobd_history_new (f->state_dir);
  jobd_history_set_size (again, "c", 4);
  list = jobd_history_list (again, "c", 0);
  g_assert_cmpuint (list->len, ==, 4);
  g_assert_cmpuint (((JobdRunRecord *) list->pdata[3])->run, ==, 97);

  jobd_history_remove_job (again, "c");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&list, g_ptr_array_unref);
  list = jobd_history_list (again, "c", 0);
  g_assert_cmpuint (list->len, ==, 0);
}

static void
test_corrupt_moved_aside (Fixture *f, gconstpointer data)
{
  g_autoptr(JobdHistory) h = jobd_history_new (f->state_dir);
  g_autoptr(JobdHistory) again = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *path = g_build_filename (f->history_dir, "d.jsonl", NULL);
  g_autofree char *aside = g_strconcat (path, ".corrupt", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *damaged = NULL;

  run (h, "d", 100, 0);
  run (h, "d", 100, 1);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  /* Garbage first, then the good lines, then half a line. */
  damaged = g_strconcat ("not json\n{\"run\":\"x\"}\n", contents, "{\"run\":3,\"sta", NULL);
  g_assert_true (g_file_set_contents (path, damaged, -1, NULL));

  again = jobd_history_new (f->state_dir);
  list = jobd_history_list (again, "d", 0);
  g_assert_cmpuint (count_logged ("*3 unreadable line*"), ==, 1);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_true (g_file_test (aside, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  /* The next write makes a whole file again. */
  run (again, "d", 100, 2);
  g_clear_pointer (&list, g_ptr_array_unref);
  g_clear_pointer (&again, jobd_history_free);
  again = jobd_history_new (f->state_dir);
  list = jobd_history_list (again, "d", 0);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpuint (((JobdRunRecord *) list->pdata[0])->run, ==, 3);
}

static void
test_write_failure_said_once (Fixture *f, gconstpointer data)
{
  g_autoptr(JobdHistory) h = jobd_history_new (f->state_dir);
  g_autoptr(GPtrArray) list = NULL;

  /* The history folder cannot be made: every write fails. */
  g_assert_true (g_file_set_contents (f->history_dir, "", 0, NULL));
  for (int i = 0; i < 20; i++)
    run (h, "e", 100, 0);
  g_assert_cmpuint (count_logged ("*cannot write*said once*"), ==, 1);
  g_assert_cmpuint (jobd_history_get_write_errors_logged (h), ==, 1);
  /* Kept in memory meanwhile. */
  list = jobd_history_list (h, "e", 0);
  g_assert_cmpuint (list->len, ==, 20);
  /* Writable again: the next write brings the whole file. */
  g_assert_cmpint (g_unlink (f->history_dir), ==, 0);
  run (h, "e", 100, 0);
  g_assert_cmpuint (count_logged ("*writing works again*"), ==, 1);
  {
    g_autofree char *path = g_build_filename (f->history_dir, "e.jsonl", NULL);
    g_autoptr(JobdHistory) again = jobd_history_new (f->state_dir);
    g_autoptr(GPtrArray) back = jobd_history_list (again, "e", 0);
    g_assert_cmpuint (back->len, ==, 21);
    g_assert_cmpuint (count_lines (path), <=, 22);
  }
}

static void
write_file (const char *root, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_cgroup_peak (Fixture *f, gconstpointer data)
{
  const char *source = NULL;
  guint64 bytes = 0;

  /* Unified at the root: memory.peak. */
  write_file (f->state_dir, "v2/jobd.slice/a.scope/memory.peak", "52428800\n");
  g_assert_true (jobd_cgroup_get_peak_memory (f->state_dir, "/v2/jobd.slice/a.scope",
                                              &bytes, &source));
  g_assert_cmpuint (bytes, ==, 52428800);
  g_assert_cmpstr (source, ==, "memory.peak");
  /* Hybrid: unified/ has no memory controller, v1 has the max usage. */
  write_file (f->state_dir, "unified/jobd.slice/b.scope/cgroup.procs", "");
  write_file (f->state_dir, "memory/jobd.slice/b.scope/memory.max_usage_in_bytes", "1234\n");
  g_assert_true (jobd_cgroup_get_peak_memory (f->state_dir, "/jobd.slice/b.scope",
                                              &bytes, &source));
  g_assert_cmpuint (bytes, ==, 1234);
  g_assert_cmpstr (source, ==, "memory.max_usage_in_bytes");
  /* Neither: no figure (the caller falls back). */
  g_assert_false (jobd_cgroup_get_peak_memory (f->state_dir, "/jobd.slice/c.scope",
                                               &bytes, &source));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Warnings are what some cases check, not failures. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  logged = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (record_message, NULL, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/history/records-round-trip", test_records_round_trip);
  ADD ("/history/open-run-lost", test_open_run_lost);
  ADD ("/history/bounded", test_bounded);
  ADD ("/history/corrupt-moved-aside", test_corrupt_moved_aside);
  ADD ("/history/write-failure-said-once", test_write_failure_said_once);
  ADD ("/history/cgroup-peak", test_cgroup_peak);
#undef ADD
  return g_test_run ();
}
