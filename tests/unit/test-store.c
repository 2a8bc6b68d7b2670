/* SPDX-License-Identifier: MIT */
/* test-store.c — unit tests of JobdStore: save/load round trip, atomic
 * saving, and what loading does with missing, corrupt and partly bad files. */
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "jobd-error.h"
#include "jobd-store.h"
#include "test-fs-util.h"

typedef struct {
  char *dir;
  JobdStore *store;
  GPtrArray *warnings;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("jobd-test-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->store = jobd_store_new (fx->dir);
  fx->warnings = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  jobd_store_free (fx->store);
  g_ptr_array_unref (fx->warnings);
  test_remove_tree (fx->dir);
  g_free (fx->dir);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The folder's entries, sorted, joined by spaces. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
write_file (const char *path, const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* The one file whose name starts with prefix, or NULL. */
static char *
find_file (const char *dir_path, const char *prefix, guint *count)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  char *found = NULL;
  const char *name;

  *count = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        (*count)++;
        g_free (found);
        found = g_build_filename (dir_path, name, NULL);
      }
  return found;
}

static JobdStoredJob *
stored_job_new (const char *name, const char *settings_asv, guint uid, gboolean up)
{
  g_autoptr(JobdStoredJob) job = g_new0 (JobdStoredJob, 1);
  g_autoptr(GVariant) asv = g_variant_parse (G_VARIANT_TYPE_VARDICT, settings_asv, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (asv);
  job->name = g_strdup (name);
  job->settings = jobd_settings_new ();
  job->owner_uid = uid;
  job->wanted_up = up;
  g_assert_true (jobd_settings_merge_variant (job->settings, asv,
                                              JOBD_SETTINGS_FLAGS_PRIVILEGED, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&job);
}

static GPtrArray *
jobs_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
}

static GPtrArray *
load_ok (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *jobs = jobd_store_load (fx->store, fx->warnings, &error);

  g_assert_no_error (error);
  g_assert_nonnull (jobs);
  return jobs;
}

static char *
settings_print (const JobdSettings *settings)
{
  g_autoptr(GVariant) asv = g_variant_ref_sink (jobd_settings_to_variant (settings));

  return g_variant_print (asv, TRUE);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_missing (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) jobs = load_ok (fx);
  g_autofree char *listing = list_dir (fx->dir);
  g_autofree char *nowhere = g_build_filename (fx->dir, "not", "there", NULL);
  g_autoptr(JobdStore) missing_dir = jobd_store_new (nowhere);
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (jobs->len, ==, 0);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
  g_assert_cmpstr (listing, ==, "");

  /* A state folder that does not exist yet is an empty registry too. */
  none = jobd_store_load (missing_dir, fx->warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
}

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) jobs = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) runtime = json_from_string ("{\"pid\": 1234, \"unit\": \"jobd-web.scope\"}", NULL);
  JobdStoredJob *web;

  /* Names chosen so that file order differs from sorted order. */
  web = stored_job_new ("web", "{'command': <'/usr/bin/web'>, 'args': <['-p', '80']>,"
                               " 'environment': <{'A': 'b'}>, 'user': <'www-data'>,"
                               " 'memory-max': <'1G'>, 'stop-signal': <'INT'>,"
                               " 'extra': <{'legacy': <'yes'>}>}", 1000, TRUE);
  web->runtime = json_object_ref (json_node_get_object (runtime));
  g_ptr_array_add (jobs, web);
  g_ptr_array_add (jobs, stored_job_new ("a-cron", "{'command': <'run.php'>, 'params': <'--x 1'>,"
                                                   " 'interpreter': <'php'>}", 0, FALSE));

  g_assert_true (jobd_store_save (fx->store, jobs, &error));
  g_assert_no_error (error);
  loaded = load_ok (fx);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
  g_assert_cmpuint (loaded->len, ==, 2);

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdStoredJob *want = g_ptr_array_index (jobs, i);
      JobdStoredJob *got = g_ptr_array_index (loaded, i);
      g_autofree char *want_settings = settings_print (want->settings);
      g_autofree char *got_settings = settings_print (got->settings);

      g_assert_cmpstr (got->name, ==, want->name);
      g_assert_cmpstr (got_settings, ==, want_settings);
      g_assert_cmpuint (got->owner_uid, ==, want->owner_uid);
      g_assert_cmpint (got->wanted_up, ==, want->wanted_up);
      g_assert_true ((got->runtime == NULL) == (want->runtime == NULL));
      if (want->runtime != NULL)
        g_assert_true (json_object_equal (got->runtime, want->runtime));
    }
}

static void
test_atomic_save (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) jobs = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  GStatBuf st;

  g_ptr_array_add (jobs, stored_job_new ("one", "{'command': <'/bin/true'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, jobs, &error));
  g_ptr_array_add (jobs, stored_job_new ("two", "{'command': <'/bin/false'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, jobs, &error));
  g_assert_no_error (error);

  listing = list_dir (fx->dir);
  g_assert_cmpstr (listing, ==, "jobs.json jobs.json.prev");
  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 2);
  /* The registry may hold secrets (environment): owner only. */
  g_assert_cmpint (g_stat (jobd_store_get_path (fx->store), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* Saving must fail and leave no temp file: the folder holds only jobs.json. */
static GError *
save_must_fail (Fixture *fx)
{
  g_autoptr(GPtrArray) jobs = jobs_new ();
  g_autofree char *listing = NULL;
  GError *error = NULL;

  g_ptr_array_add (jobs, stored_job_new ("one", "{'command': <'/bin/true'>}", 0, FALSE));
  g_assert_false (jobd_store_save (fx->store, jobs, &error));
  g_assert_nonnull (error);
  listing = list_dir (fx->dir);
  g_assert_cmpstr (listing, ==, "jobs.json");
  return error;
}

/* The rename fails: a folder stands where the file goes. */
static void
test_failed_rename (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (jobd_store_get_path (fx->store), 0700), ==, 0);
  error = save_must_fail (fx);
  g_assert_true (g_file_test (jobd_store_get_path (fx->store), G_FILE_TEST_IS_DIR));
}

/* The write fails half-way (here: the file size limit); the registry keeps
 * its old contents. */
static void
test_failed_write (Fixture *fx, gconstpointer data)
{
  static const char old_contents[] = "{\"version\": 1, \"jobs\": {}}";
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  struct rlimit saved, small;

  write_file (jobd_store_get_path (fx->store), old_contents);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = 16;
  signal (SIGXFSZ, SIG_IGN); /* get EFBIG instead of being killed */
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  error = save_must_fail (fx);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, SIG_DFL);

  g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
  contents = test_read_text (jobd_store_get_path (fx->store));
  g_assert_cmpstr (contents, ==, old_contents);
}

static void
assert_moved_aside (Fixture *fx, const char *contents, const char *problem)
{
  g_autoptr(GPtrArray) jobs = NULL;
  g_autofree char *aside = NULL;
  g_autofree char *kept = NULL;
  guint count;

  write_file (jobd_store_get_path (fx->store), contents);
  jobs = load_ok (fx);
  g_assert_cmpuint (jobs->len, ==, 0);

  g_assert_false (g_file_test (jobd_store_get_path (fx->store), G_FILE_TEST_EXISTS));
  aside = find_file (fx->dir, "jobs.json.corrupt-", &count);
  g_assert_cmpuint (count, ==, 1);
  kept = test_read_text (aside);
  g_assert_cmpstr (kept, ==, contents);

  g_assert_cmpuint (fx->warnings->len, ==, 1);
  g_test_message ("warning: %s", (char *) fx->warnings->pdata[0]);
  g_assert_nonnull (strstr (fx->warnings->pdata[0], problem));
  g_assert_nonnull (strstr (fx->warnings->pdata[0], aside));
}

static void
test_corrupt (Fixture *fx, gconstpointer data)
{
  assert_moved_aside (fx, "{\"version\": 1, \"jobs\": {\"a\": ", "cannot parse");
}

static void
test_wrong_shape (Fixture *fx, gconstpointer data)
{
  static const char * const shapes[] = {
    "[1, 2]", "{\"version\": 1}", "{\"jobs\": []}", "",
    "{\"version\": 2, \"jobs\": {}}",
  };
  static const char * const problems[] = {
    "not a jobd registry", "not a jobd registry", "not a jobd registry",
    "not a jobd registry", "unknown version 2",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      assert_moved_aside (fx, shapes[i], problems[i]);
      /* Start the next case from an empty folder. */
      test_remove_tree (fx->dir);
      g_assert_cmpint (g_mkdir (fx->dir, 0700), ==, 0);
      g_ptr_array_set_size (fx->warnings, 0);
    }
}

/* An earlier corrupt copy from the same second is never overwritten. */
static void
test_corrupt_name_taken (Fixture *fx, gconstpointer data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GPtrArray) jobs = NULL;
  g_autofree char *newest = NULL;
  guint count;

  /* Occupy the names for this second and the next (the clock may tick). */
  for (int delta = 0; delta <= 1; delta++)
    {
      g_autoptr(GDateTime) t = g_date_time_add_seconds (now, delta);
      g_autofree char *stamp = g_date_time_format (t, "%Y%m%d-%H%M%S");
      g_autofree char *path = g_strdup_printf ("%s.corrupt-%s", jobd_store_get_path (fx->store), stamp);
      write_file (path, "earlier");
    }
  write_file (jobd_store_get_path (fx->store), "garbage");
  jobs = load_ok (fx);
  g_assert_cmpuint (jobs->len, ==, 0);

  newest = find_file (fx->dir, "jobs.json.corrupt-", &count);
  g_assert_cmpuint (count, ==, 3);
  {
    g_autoptr(GDir) dir = g_dir_open (fx->dir, 0, NULL);
    const char *name;
    guint garbage = 0;

    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (fx->dir, name, NULL);
        g_autofree char *contents = test_read_text (path);
        if (g_str_equal (contents, "garbage"))
          {
            garbage++;
            g_assert_true (g_str_has_suffix (name, ".1"));
          }
        else
          g_assert_cmpstr (contents, ==, "earlier");
      }
    g_assert_cmpuint (garbage, ==, 1);
  }
}

static void
test_bad_entries (Fixture *fx, gconstpointer data)
{
  static const char contents[] =
    "{\"version\": 1, \"jobs\": {"
    " \"good\": {\"settings\": {\"command\": \"/bin/true\", \"buffersize-legacy\": \"5\","
    "            \"user\": \"nobody\"}, \"owner-uid\": 42, \"wanted\": \"up\"},"
    " \"bad name\": {\"settings\": {\"command\": \"/bin/true\"}},"
    " \"bad-settings\": {\"settings\": {\"command\": \"/bin/true\", \"buffer-size\": 0}},"
    " \"no-command\": {\"settings\": {}},"
    " \"bad-owner\": {\"settings\": {\"command\": \"x\"}, \"owner-uid\": -1},"
    " \"not-object\": 5,"
    " \"also-good\": {\"settings\": {\"command\": \"/bin/false\"}}}}";
  g_autoptr(GPtrArray) jobs = NULL;
  g_autofree char *still = NULL;
  g_autofree char *aside = NULL;
  g_autofree char *kept = NULL;
  JobdStoredJob *good;
  guint count;

  write_file (jobd_store_get_path (fx->store), contents);
  jobs = load_ok (fx);

  g_assert_cmpuint (jobs->len, ==, 2);
  good = g_ptr_array_index (jobs, 0);
  g_assert_cmpstr (good->name, ==, "good");
  g_assert_cmpuint (good->owner_uid, ==, 42);
  g_assert_true (good->wanted_up);
  g_assert_cmpstr (good->settings->user, ==, "nobody");
  /* Unknown keys from the file are kept, not fatal. */
  g_assert_true (g_variant_lookup (good->settings->extra, "buffersize-legacy", "&s", NULL));
  g_assert_cmpstr (((JobdStoredJob *) g_ptr_array_index (jobs, 1))->name, ==, "also-good");

  /* One warning per skipped entry, naming it and the reason, plus where the
   * original file is kept. */
  g_assert_cmpuint (fx->warnings->len, ==, 6);
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "'bad name'"));
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "invalid job name"));
  g_assert_nonnull (strstr (fx->warnings->pdata[1], "buffer-size: must be between 1 and 100000 (got 0)"));
  g_assert_nonnull (strstr (fx->warnings->pdata[2], "command: is required"));
  g_assert_nonnull (strstr (fx->warnings->pdata[3], "owner-uid"));
  g_assert_nonnull (strstr (fx->warnings->pdata[4], "'not-object'"));

  /* The file itself is untouched and a copy of it is kept: the next save
   * will drop the skipped entries. */
  still = test_read_text (jobd_store_get_path (fx->store));
  g_assert_cmpstr (still, ==, contents);
  aside = find_file (fx->dir, "jobs.json.corrupt-", &count);
  g_assert_cmpuint (count, ==, 1);
  kept = test_read_text (aside);
  g_assert_cmpstr (kept, ==, contents);
  g_assert_nonnull (strstr (fx->warnings->pdata[5], aside));
}


/* ---- the journal ---------------------------------------------------------- */

static void
put_one (Fixture *fx, JobdStoredJob *job)
{
  g_autoptr(GPtrArray) jobs = jobs_new ();
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (jobs, job);
  g_assert_true (jobd_store_put (fx->store, jobs, TRUE, &error));
  g_assert_no_error (error);
}

static char *
journal_path (Fixture *fx)
{
  return g_build_filename (fx->dir, "jobs.journal", NULL);
}

/* Changes after the snapshot come back from the journal alone, in order:
 * a put replaces, a remove removes, a new name is appended. */
static void
test_journal_replay (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) snapshot = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(JobdStore) again = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (snapshot, stored_job_new ("a", "{'command': <'/bin/a'>}", 0, FALSE));
  g_ptr_array_add (snapshot, stored_job_new ("b", "{'command': <'/bin/b'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, snapshot, &error));
  g_assert_no_error (error);

  put_one (fx, stored_job_new ("a", "{'command': <'/bin/a2'>}", 7, TRUE));
  g_assert_true (jobd_store_remove (fx->store, "b", &error));
  put_one (fx, stored_job_new ("c", "{'command': <'/bin/c'>}", 0, FALSE));
  g_assert_true (jobd_store_remove (fx->store, "never-there", &error));
  g_assert_no_error (error);

  again = jobd_store_new (fx->dir);
  loaded = jobd_store_load (again, fx->warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
  g_assert_true (jobd_store_has_journal (again));
  g_assert_cmpuint (loaded->len, ==, 2);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "a");
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->settings->command, ==, "/bin/a2");
  g_assert_cmpuint (((JobdStoredJob *) loaded->pdata[0])->owner_uid, ==, 7);
  g_assert_true (((JobdStoredJob *) loaded->pdata[0])->wanted_up);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[1])->name, ==, "c");
}

/* A save folds the journal in: the file is gone, the snapshot has it all. */
static void
test_journal_folded_by_save (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) all = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autofree char *journal = journal_path (fx);
  g_autoptr(GError) error = NULL;

  put_one (fx, stored_job_new ("x", "{'command': <'/bin/x'>}", 0, FALSE));
  g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));
  g_ptr_array_add (all, stored_job_new ("x", "{'command': <'/bin/x'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, all, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  /* Appending still works after the fold. */
  put_one (fx, stored_job_new ("y", "{'command': <'/bin/y'>}", 0, FALSE));
  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 2);
}

/* A crash mid-append leaves an unfinished last line: it was never
 * acknowledged, so it is ignored (with a warning), and nothing is lost. */
static void
test_journal_torn_last_line (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) loaded = NULL;
  g_autofree char *journal = journal_path (fx);
  g_autofree char *contents = NULL;
  g_autofree char *torn = NULL;

  put_one (fx, stored_job_new ("ok", "{'command': <'/bin/ok'>}", 0, FALSE));
  g_assert_true (g_file_get_contents (journal, &contents, NULL, NULL));
  torn = g_strconcat (contents, "{\"put\": {\"name\": \"half", NULL);
  write_file (journal, torn);

  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 1);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "ok");
  g_assert_cmpuint (fx->warnings->len, ==, 1);
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "unfinished"));
}

/* A bad line in the middle is not a crash's doing: it is skipped, loudly,
 * and the journal as it was is kept aside; the lines around it count. */
static void
test_journal_bad_line (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) loaded = NULL;
  g_autofree char *journal = journal_path (fx);
  g_autofree char *kept = NULL;
  g_autofree char *kept_contents = NULL;
  const char *text =
    "{\"put\": {\"name\": \"one\", \"entry\": {\"settings\": {\"command\": \"/bin/1\"}}}}\n"
    "garbage\n"
    "{\"put\": {\"name\": \"bad name\", \"entry\": {\"settings\": {\"command\": \"/bin/x\"}}}}\n"
    "{\"put\": {\"name\": \"two\", \"entry\": {\"settings\": {\"command\": \"/bin/2\"}}}}\n";
  guint count;

  write_file (journal, text);
  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 2);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "one");
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[1])->name, ==, "two");
  g_assert_cmpuint (fx->warnings->len, ==, 3);   /* two skipped lines, one copy kept */
  kept = find_file (fx->dir, "jobs.json.corrupt-", &count);
  g_assert_cmpuint (count, ==, 1);
  g_assert_true (g_file_get_contents (kept, &kept_contents, NULL, NULL));
  g_assert_cmpstr (kept_contents, ==, text);
}

/* Compaction is due once the journal outgrows the snapshot, not before. */
static void
test_journal_compaction_due (Fixture *fx, gconstpointer data)
{
  guint puts = 0;

  g_assert_false (jobd_store_wants_compaction (fx->store));
  while (!jobd_store_wants_compaction (fx->store) && puts < 100000)
    {
      put_one (fx, stored_job_new ("churn", "{'command': <'/bin/churn'>}", 0, FALSE));
      puts++;
    }
  g_assert_true (jobd_store_wants_compaction (fx->store));
  g_assert_cmpuint (puts, >, 100);
}

/* ---- durability (issue 10) ------------------------------------------------ */

/* A failed append that left a piece of a line behind (an old jobd, or a cut
 * back that failed): the change glued to it is not lost with it. */
static void
test_journal_glued_line (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) loaded = NULL;
  g_autofree char *journal = journal_path (fx);
  const char *text =
    "{\"put\":{\"name\":\"one\",\"entry\":{\"settings\":{\"command\":\"/bin/1\"}}}}\n"
    "{\"put\":{\"name\":\"lo"
    "{\"put\":{\"name\":\"two\",\"entry\":{\"settings\":{\"command\":\"/bin/2\"}}}}\n"
    "{\"remove\":\"one\"}\n";

  write_file (journal, text);
  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 1);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "two");
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "line 2"));
}

/* An append that fails half-way (here: the file size limit) is cut back:
 * the change is refused, and the next one is a whole line of its own. */
static void
test_journal_failed_append_cut_back (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) big = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *journal = journal_path (fx);
  g_autofree char *args = g_strnfill (4000, 'a');
  g_autofree char *asv = g_strdup_printf ("{'command': <'/bin/big'>, 'args': <['%s']>}", args);
  struct rlimit saved, small;
  GStatBuf st;

  put_one (fx, stored_job_new ("first", "{'command': <'/bin/1'>}", 0, FALSE));
  g_assert_cmpint (g_stat (journal, &st), ==, 0);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = (rlim_t) st.st_size + 1000;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  g_ptr_array_add (big, stored_job_new ("big", asv, 0, FALSE));
  g_assert_false (jobd_store_put (fx->store, big, TRUE, &error));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, SIG_DFL);
  g_assert_nonnull (error);
  g_assert_cmpint (g_stat (journal, &st), ==, 0);

  put_one (fx, stored_job_new ("second", "{'command': <'/bin/2'>}", 0, FALSE));
  loaded = load_ok (fx);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
  g_assert_cmpuint (loaded->len, ==, 2);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "first");
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[1])->name, ==, "second");
}

static void
corrupt_file (const char *path, gboolean truncate)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  if (truncate)
    contents[len / 2] = '\0';
  else
    memset (contents, '#', len);
  write_file (path, contents);
}

/* jobs.json unreadable: the previous generation and both journals bring
 * every job back, and the warning says so. */
static void
check_previous_generation (Fixture *fx, gboolean truncate)
{
  g_autoptr(GPtrArray) first = jobs_new ();
  g_autoptr(GPtrArray) second = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(JobdStore) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *kinds = NULL;

  g_ptr_array_add (first, stored_job_new ("a", "{'command': <'/bin/a'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, first, &error));
  put_one (fx, stored_job_new ("b", "{'command': <'/bin/b'>}", 0, TRUE));
  g_ptr_array_add (second, stored_job_new ("a", "{'command': <'/bin/a'>}", 0, FALSE));
  g_ptr_array_add (second, stored_job_new ("b", "{'command': <'/bin/b'>}", 0, TRUE));
  g_assert_true (jobd_store_save (fx->store, second, &error));
  g_assert_no_error (error);
  put_one (fx, stored_job_new ("c", "{'command': <'/bin/c'>}", 0, FALSE));
  g_assert_true (jobd_store_remove (fx->store, "a", &error));

  corrupt_file (jobd_store_get_path (fx->store), truncate);
  again = jobd_store_new (fx->dir);
  loaded = jobd_store_load (again, fx->warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->len, ==, 2);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[0])->name, ==, "b");
  g_assert_true (((JobdStoredJob *) loaded->pdata[0])->wanted_up);
  g_assert_cmpstr (((JobdStoredJob *) loaded->pdata[1])->name, ==, "c");
  g_assert_cmpuint (fx->warnings->len, ==, 1);
  g_test_message ("warning: %s", (char *) fx->warnings->pdata[0]);
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "RECOVERED 2 jobs"));
  g_assert_nonnull (strstr (fx->warnings->pdata[0], "jobs.json.prev"));
  kinds = list_dir (fx->dir);
  g_assert_nonnull (strstr (kinds, "jobs.json.corrupt-"));
}

static void
test_previous_generation_truncated (Fixture *fx, gconstpointer data)
{
  check_previous_generation (fx, TRUE);
}

static void
test_previous_generation_garbage (Fixture *fx, gconstpointer data)
{
  check_previous_generation (fx, FALSE);
}

/* A save cut short after the journal moved to jobs.journal.prev and before
 * the new snapshot was in place: nothing of that journal is lost. */
static void
test_save_cut_short (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) first = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *journal = journal_path (fx);
  g_autofree char *prev_journal = g_strconcat (journal, ".prev", NULL);
  g_autofree char *prev = g_strconcat (jobd_store_get_path (fx->store), ".prev", NULL);

  g_ptr_array_add (first, stored_job_new ("a", "{'command': <'/bin/a'>}", 0, FALSE));
  g_assert_true (jobd_store_save (fx->store, first, &error));
  g_assert_true (jobd_store_save (fx->store, first, &error));
  put_one (fx, stored_job_new ("b", "{'command': <'/bin/b'>}", 0, FALSE));
  /* What jobd_store_save does before the new snapshot goes in. */
  g_assert_cmpint (g_unlink (prev), ==, 0);
  g_assert_cmpint (link (jobd_store_get_path (fx->store), prev), ==, 0);
  g_assert_cmpint (g_rename (journal, prev_journal), ==, 0);

  loaded = load_ok (fx);
  g_assert_cmpuint (fx->warnings->len, ==, 0);
  g_assert_cmpuint (loaded->len, ==, 2);
}

/* json-glib would write an infinity as "inf.0", which nothing reads back:
 * the store refuses it instead, and writes nothing. */
static void
test_non_finite_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) jobs = jobs_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  JobdStoredJob *job = stored_job_new ("inf", "{'command': <'/bin/inf'>}", 0, FALSE);
  GVariantBuilder extra;

  g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&extra, "{sv}", "ratio", g_variant_new_double (INFINITY));
  g_variant_unref (job->settings->extra);
  job->settings->extra = g_variant_ref_sink (g_variant_builder_end (&extra));
  g_ptr_array_add (jobs, job);

  g_assert_false (jobd_store_put (fx->store, jobs, TRUE, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (jobd_store_save (fx->store, jobs, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
  listing = list_dir (fx->dir);
  g_assert_cmpstr (listing, ==, "");
  loaded = load_ok (fx);
  g_assert_cmpuint (loaded->len, ==, 0);
}

static void
test_unusable_dir (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = g_build_filename (fx->dir, "plain-file", NULL);
  g_autoptr(JobdStore) store = NULL;
  g_autoptr(GPtrArray) jobs = NULL;
  g_autoptr(GError) error = NULL;

  write_file (file, "x");
  store = jobd_store_new (file);
  jobs = jobd_store_load (store, fx->warnings, &error);
  g_assert_null (jobs);
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/store/missing", test_missing);
  ADD ("/store/round-trip", test_round_trip);
  ADD ("/store/atomic-save", test_atomic_save);
  ADD ("/store/failed-rename", test_failed_rename);
  ADD ("/store/failed-write", test_failed_write);
  ADD ("/store/corrupt", test_corrupt);
  ADD ("/store/wrong-shape", test_wrong_shape);
  ADD ("/store/corrupt-name-taken", test_corrupt_name_taken);
  ADD ("/store/bad-entries", test_bad_entries);
  ADD ("/store/unusable-dir", test_unusable_dir);
  ADD ("/store/journal/replay", test_journal_replay);
  ADD ("/store/journal/folded-by-save", test_journal_folded_by_save);
  ADD ("/store/journal/torn-last-line", test_journal_torn_last_line);
  ADD ("/store/journal/bad-line", test_journal_bad_line);
  ADD ("/store/journal/glued-line", test_journal_glued_line);
  ADD ("/store/journal/failed-append-cut-back", test_journal_failed_append_cut_back);
  ADD ("/store/previous-generation/truncated", test_previous_generation_truncated);
  ADD ("/store/previous-generation/garbage", test_previous_generation_garbage);
  ADD ("/store/save-cut-short", test_save_cut_short);
  ADD ("/store/non-finite-refused", test_non_finite_refused);
  ADD ("/store/journal/compaction-due", test_journal_compaction_due);
#undef ADD

  return g_test_run ();
}
