/* jobd-store.c — the job registry on disk (STATE_DIR/jobs.json).
 *
 * The file is the only memory jobd has of its jobs across restarts, so it is
 * never half-written (temp file, fsync, rename, fsync of the folder) and
 * never overwritten when it cannot be understood: such a file is moved aside
 * with its bytes intact before jobd starts with what it could read.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2 */
#endif
#include "jobd-store.h"
#include "jobd-json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-error.h"

#define STORE_FILE "jobs.json"
#define JOURNAL_FILE "jobs.journal"
/* Fold the journal in once it is this much bigger than the snapshot. */
#define JOURNAL_SLACK (256 * 1024)
#define STORE_VERSION 1
#define STORED_SETTINGS_FLAGS (JOBD_SETTINGS_FLAGS_PRIVILEGED | JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN)

struct _JobdStore {
  char *state_dir;
  char *path;
  char *journal_path;
  int journal_fd;          /* open for appending, -1 until the first change */
  gsize journal_bytes;
  gsize snapshot_bytes;
  gboolean journal_replayed;
};

void
jobd_stored_job_free (JobdStoredJob *job)
{
  if (job == NULL)
    return;
  g_free (job->name);
  jobd_settings_free (job->settings);
  g_clear_pointer (&job->runtime, json_object_unref);
  g_free (job);
}

JobdStore *
jobd_store_new (const char *state_dir)
{
  JobdStore *store = g_new0 (JobdStore, 1);

  store->state_dir = g_strdup (state_dir);
  store->path = g_build_filename (state_dir, STORE_FILE, NULL);
  store->journal_path = g_build_filename (state_dir, JOURNAL_FILE, NULL);
  store->journal_fd = -1;
  return store;
}

void
jobd_store_free (JobdStore *store)
{
  if (store == NULL)
    return;
  if (store->journal_fd >= 0)
    close (store->journal_fd);
  g_free (store->state_dir);
  g_free (store->path);
  g_free (store->journal_path);
  g_free (store);
}

const char *
jobd_store_get_path (JobdStore *store)
{
  return store->path;
}

static gboolean
set_error_errno (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/* ---- writing ------------------------------------------------------------ */

static gboolean
write_all (int fd, const char *data, gsize len, const char *path, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return set_error_errno (error, errno, "cannot write", path);
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Writes data to a new STORE_FILE.tmp-XXXXXX in the state folder, synced to
 * disk; returns its path. Nothing is left behind on failure. */
static char *
write_temp_file (JobdStore *store, const char *data, gsize len, GError **error)
{
  g_autofree char *tmp = g_build_filename (store->state_dir, STORE_FILE ".tmp-XXXXXX", NULL);
  int fd;
  gboolean ok;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_error_errno (error, errno, "cannot create", tmp);
      return NULL;
    }
  ok = write_all (fd, data, len, tmp, error);
  if (ok && fsync (fd) < 0)
    ok = set_error_errno (error, errno, "cannot sync", tmp);
  if (close (fd) < 0 && ok)
    ok = set_error_errno (error, errno, "cannot close", tmp);
  if (!ok)
    {
      g_unlink (tmp);
      return NULL;
    }
  return g_steal_pointer (&tmp);
}

/* A rename is durable only once the folder holding it is synced. */
static gboolean
sync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved_errno;

  if (fd < 0)
    return set_error_errno (error, errno, "cannot open", dir);
  if (fsync (fd) < 0)
    {
      saved_errno = errno;
      close (fd);
      return set_error_errno (error, saved_errno, "cannot sync", dir);
    }
  close (fd);
  return TRUE;
}

static JsonNode *
stored_job_to_json (JobdStoredJob *job)
{
  JsonObject *entry = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_member (entry, "settings", jobd_settings_to_json (job->settings));
  json_object_set_int_member (entry, "owner-uid", job->owner_uid);
  json_object_set_string_member (entry, "wanted", job->wanted_up ? "up" : "down");
  if (job->runtime != NULL)
    json_object_set_object_member (entry, "runtime", json_object_ref (job->runtime));
  json_node_take_object (node, entry);
  return node;
}

static char *
jobs_to_data (GPtrArray *jobs, gsize *len)
{
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(JsonNode) root_node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  JsonObject *by_name = json_object_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdStoredJob *job = g_ptr_array_index (jobs, i);
      json_object_set_member (by_name, job->name, stored_job_to_json (job));
    }
  json_object_set_int_member (root, "version", STORE_VERSION);
  json_object_set_object_member (root, "jobs", by_name);
  json_node_set_object (root_node, root);
  json_generator_set_root (generator, root_node);
  json_generator_set_pretty (generator, TRUE);
  return jobd_json_generator_to_data (generator, len);
}

gboolean
jobd_store_save (JobdStore *store, GPtrArray *jobs, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *tmp = NULL;
  gsize len;

  g_return_val_if_fail (store != NULL && jobs != NULL, FALSE);
  data = jobs_to_data (jobs, &len);
  if (g_mkdir_with_parents (store->state_dir, 0700) < 0)
    return set_error_errno (error, errno, "cannot create", store->state_dir);
  tmp = write_temp_file (store, data, len, error);
  if (tmp == NULL)
    return FALSE;
  if (g_rename (tmp, store->path) < 0)
    {
      int saved_errno = errno;
      g_unlink (tmp);
      return set_error_errno (error, saved_errno, "cannot replace", store->path);
    }
  if (!sync_dir (store->state_dir, error))
    return FALSE;
  store->snapshot_bytes = len;
  /* The snapshot holds everything now. A crash before the unlink replays
   * the old journal over it, which changes nothing: puts carry whole
   * entries and removes are idempotent. */
  if (store->journal_fd >= 0)
    {
      close (store->journal_fd);
      store->journal_fd = -1;
    }
  store->journal_bytes = 0;
  if (g_unlink (store->journal_path) < 0 && errno != ENOENT)
    return set_error_errno (error, errno, "cannot remove", store->journal_path);
  return sync_dir (store->state_dir, error);
}

/* ---- the journal ---------------------------------------------------------- */

static gboolean
journal_open (JobdStore *store, GError **error)
{
  if (store->journal_fd >= 0)
    return TRUE;
  if (g_mkdir_with_parents (store->state_dir, 0700) < 0)
    return set_error_errno (error, errno, "cannot create", store->state_dir);
  store->journal_fd = open (store->journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (store->journal_fd < 0)
    return set_error_errno (error, errno, "cannot open", store->journal_path);
  /* The file's name must be durable too before a line in it counts. */
  return sync_dir (store->state_dir, error);
}

static gboolean
journal_append (JobdStore *store, GString *lines, gboolean sync, GError **error)
{
  if (!journal_open (store, error) ||
      !write_all (store->journal_fd, lines->str, lines->len, store->journal_path, error))
    return FALSE;
  if (sync && fdatasync (store->journal_fd) < 0)
    return set_error_errno (error, errno, "cannot sync", store->journal_path);
  store->journal_bytes += lines->len;
  return TRUE;
}

static void
append_json_line (GString *lines, JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  text = jobd_json_generator_to_data (generator, NULL);
  g_string_append (lines, text);
  g_string_append_c (lines, '\n');
}

gboolean
jobd_store_put (JobdStore *store, GPtrArray *jobs, gboolean sync, GError **error)
{
  g_autoptr(GString) lines = g_string_new (NULL);

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdStoredJob *job = g_ptr_array_index (jobs, i);
      g_autoptr(JsonNode) line = json_node_new (JSON_NODE_OBJECT);
      JsonObject *change = json_object_new ();
      JsonObject *put = json_object_new ();

      json_object_set_string_member (put, "name", job->name);
      json_object_set_member (put, "entry", stored_job_to_json (job));
      json_object_set_object_member (change, "put", put);
      json_node_take_object (line, change);
      append_json_line (lines, line);
    }
  return lines->len == 0 || journal_append (store, lines, sync, error);
}

gboolean
jobd_store_remove (JobdStore *store, const char *name, GError **error)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(JsonNode) line = json_node_new (JSON_NODE_OBJECT);
  JsonObject *change = json_object_new ();

  json_object_set_string_member (change, "remove", name);
  json_node_take_object (line, change);
  append_json_line (lines, line);
  return journal_append (store, lines, TRUE, error);
}

gboolean
jobd_store_wants_compaction (JobdStore *store)
{
  return store->journal_bytes > store->snapshot_bytes + JOURNAL_SLACK;
}

gboolean
jobd_store_has_journal (JobdStore *store)
{
  return store->journal_replayed;
}

/* ---- keeping what cannot be read ---------------------------------------- */

/* Renames path to jobs.json.corrupt-<time>[.N] without ever replacing an
 * existing file (an earlier corrupt copy is evidence too). */
static char *
move_aside (JobdStore *store, const char *path, GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint n = 0; n < 1000; n++)
    {
      g_autofree char *target = n == 0
        ? g_strdup_printf ("%s.corrupt-%s", store->path, stamp)
        : g_strdup_printf ("%s.corrupt-%s.%u", store->path, stamp, n);
      int r = renameat2 (AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE);

      /* Some file systems cannot promise "no replace": check, then rename. */
      if (r < 0 && (errno == EINVAL || errno == ENOSYS))
        {
          if (g_file_test (target, G_FILE_TEST_EXISTS))
            continue;
          r = g_rename (path, target);
        }
      if (r == 0)
        return g_steal_pointer (&target);
      if (errno != EEXIST)
        {
          set_error_errno (error, errno, "cannot move aside", path);
          return NULL;
        }
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
               "cannot move aside %s: too many corrupt copies", path);
  return NULL;
}

/* The whole file is unusable: move it aside and start empty. Fails only when
 * it cannot be moved (a later save would then destroy it). */
static gboolean
set_aside_corrupt (JobdStore *store, const char *problem, GPtrArray *warnings,
                   GError **error)
{
  g_autofree char *aside = move_aside (store, store->path, error);

  if (aside == NULL)
    return FALSE;
  g_ptr_array_add (warnings, g_strdup_printf ("%s; moved aside to %s, starting with no jobs",
                                              problem, aside));
  return TRUE;
}

/* Some entries were skipped: the next save drops them, so keep a copy of the
 * file as it was. */
static void
keep_copy (JobdStore *store, const char *data, gsize len, GPtrArray *warnings)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *tmp = write_temp_file (store, data, len, &local);
  g_autofree char *aside = tmp != NULL ? move_aside (store, tmp, &local) : NULL;

  if (aside != NULL)
    g_ptr_array_add (warnings, g_strdup_printf ("the file as it was is kept in %s", aside));
  else
    g_ptr_array_add (warnings, g_strdup_printf ("cannot keep a copy of the file: %s",
                                                local->message));
  if (tmp != NULL && aside == NULL)
    g_unlink (tmp);
}

/* ---- reading ------------------------------------------------------------ */

static gboolean
entry_error (GError **error, const char *problem)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s", problem);
  return FALSE;
}

static gboolean
entry_get_meta (JsonObject *entry, JobdStoredJob *job, GError **error)
{
  JsonNode *uid = json_object_get_member (entry, "owner-uid");
  JsonNode *wanted = json_object_get_member (entry, "wanted");
  JsonNode *runtime = json_object_get_member (entry, "runtime");
  const char *wanted_text = wanted != NULL && JSON_NODE_HOLDS_VALUE (wanted)
    && json_node_get_value_type (wanted) == G_TYPE_STRING ? json_node_get_string (wanted) : NULL;

  if (uid != NULL && !(JSON_NODE_HOLDS_VALUE (uid) && json_node_get_value_type (uid) == G_TYPE_INT64
                       && json_node_get_int (uid) >= 0 && json_node_get_int (uid) <= G_MAXUINT32))
    return entry_error (error, "owner-uid: expected a user id");
  if (wanted != NULL && g_strcmp0 (wanted_text, "up") != 0 && g_strcmp0 (wanted_text, "down") != 0)
    return entry_error (error, "wanted: expected \"up\" or \"down\"");
  if (runtime != NULL && !JSON_NODE_HOLDS_OBJECT (runtime))
    return entry_error (error, "runtime: expected an object");

  job->owner_uid = uid != NULL ? (guint) json_node_get_int (uid) : 0;
  job->wanted_up = g_strcmp0 (wanted_text, "up") == 0;
  job->runtime = runtime != NULL ? json_object_ref (json_node_get_object (runtime)) : NULL;
  return TRUE;
}

static JobdStoredJob *
entry_to_job (const char *name, JsonNode *node, GError **error)
{
  g_autoptr(JobdStoredJob) job = g_new0 (JobdStoredJob, 1);
  JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *settings = entry != NULL ? json_object_get_member (entry, "settings") : NULL;

  job->name = g_strdup (name);
  job->settings = jobd_settings_new ();
  if (!jobd_name_validate (name, error))
    return NULL;
  if (settings == NULL || !JSON_NODE_HOLDS_OBJECT (settings))
    {
      entry_error (error, "settings: expected an object");
      return NULL;
    }
  if (!jobd_settings_merge_json (job->settings, json_node_get_object (settings),
                                 STORED_SETTINGS_FLAGS, error)
      || !jobd_settings_validate (job->settings, error)
      || !entry_get_meta (entry, job, error))
    return NULL;
  return g_steal_pointer (&job);
}

/* Adds the good entries to jobs; returns whether any was skipped. */
static gboolean
read_entries (JsonObject *by_name, GPtrArray *jobs, GPtrArray *warnings)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  gboolean skipped = FALSE;

  json_object_iter_init_ordered (&iter, by_name);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      g_autoptr(GError) local = NULL;
      JobdStoredJob *job = entry_to_job (name, node, &local);
      g_autofree char *shown = NULL;

      if (job != NULL)
        {
          g_ptr_array_add (jobs, job);
          continue;
        }
      shown = g_utf8_make_valid (name, -1);
      g_ptr_array_add (warnings, g_strdup_printf ("job '%s' skipped: %s", shown, local->message));
      skipped = TRUE;
    }
  return skipped;
}

/* The "jobs" object of a well-formed file, or NULL with the problem. */
static JsonObject *
parse_root (JsonParser *parser, const char *data, gsize len, char **problem)
{
  g_autoptr(GError) local = NULL;
  JsonNode *root, *jobs;
  JsonObject *object;

  if (!json_parser_load_from_data (parser, data, (gssize) len, &local))
    {
      *problem = g_strdup_printf ("cannot parse: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  object = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  jobs = object != NULL ? json_object_get_member (object, "jobs") : NULL;
  if (jobs == NULL || !JSON_NODE_HOLDS_OBJECT (jobs))
    {
      *problem = g_strdup ("not a jobd registry (expected an object with a \"jobs\" object)");
      return NULL;
    }
  if (json_object_get_int_member_with_default (object, "version", STORE_VERSION) != STORE_VERSION)
    {
      *problem = g_strdup_printf ("unknown version %" G_GINT64_FORMAT " (this jobd reads %d)",
                                  json_object_get_int_member_with_default (object, "version", 0),
                                  STORE_VERSION);
      return NULL;
    }
  return json_node_get_object (jobs);
}

/* Apply one journal line to jobs; FALSE with the problem when it is not a
 * change this jobd wrote. */
static gboolean
replay_line (GPtrArray *jobs, GHashTable *index, const char *line, char **problem)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonObject *change, *put;
  const char *name;
  JobdStoredJob *job;
  gpointer at;

  if (!json_parser_load_from_data (parser, line, -1, &local) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *problem = g_strdup_printf ("cannot parse: %s", local != NULL ? local->message : "not an object");
      return FALSE;
    }
  change = json_node_get_object (json_parser_get_root (parser));
  if ((name = json_object_get_string_member_with_default (change, "remove", NULL)) != NULL)
    {
      if (g_hash_table_lookup_extended (index, name, NULL, &at))
        {
          /* The index's key is the job's own name: drop it first. */
          g_hash_table_remove (index, name);
          jobd_stored_job_free (g_ptr_array_index (jobs, GPOINTER_TO_INT (at)));
          g_ptr_array_index (jobs, GPOINTER_TO_INT (at)) = NULL;
        }
      return TRUE;
    }
  put = json_object_has_member (change, "put") ? json_object_get_object_member (change, "put") : NULL;
  name = put != NULL ? json_object_get_string_member_with_default (put, "name", NULL) : NULL;
  if (name == NULL || !json_object_has_member (put, "entry"))
    {
      *problem = g_strdup ("neither a put nor a remove");
      return FALSE;
    }
  job = entry_to_job (name, json_object_get_member (put, "entry"), &local);
  if (job == NULL)
    {
      *problem = g_strdup_printf ("job '%s': %s", name, local->message);
      return FALSE;
    }
  if (g_hash_table_lookup_extended (index, name, NULL, &at))
    {
      JobdStoredJob *old = g_ptr_array_index (jobs, GPOINTER_TO_INT (at));
      /* Re-key with the new job's name before the old one is freed. */
      g_hash_table_replace (index, job->name, at);
      jobd_stored_job_free (old);
      g_ptr_array_index (jobs, GPOINTER_TO_INT (at)) = job;
    }
  else
    {
      g_ptr_array_add (jobs, job);
      g_hash_table_insert (index, job->name, GINT_TO_POINTER (jobs->len - 1));
    }
  return TRUE;
}

/* Replay jobs.journal over the snapshot's jobs. */
static void
replay_journal (JobdStore *store, GPtrArray *jobs, GPtrArray *warnings)
{
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *data = NULL;
  g_auto(GStrv) lines = NULL;
  gsize len = 0;
  guint bad = 0, n;

  if (!g_file_get_contents (store->journal_path, &data, &len, NULL) || len == 0)
    return;
  store->journal_replayed = TRUE;
  for (guint i = 0; i < jobs->len; i++)
    g_hash_table_insert (index, ((JobdStoredJob *) g_ptr_array_index (jobs, i))->name,
                         GINT_TO_POINTER (i));

  lines = g_strsplit (data, "\n", -1);
  n = g_strv_length (lines);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *problem = NULL;
      gboolean last = i + 1 == n;

      if (*lines[i] == '\0')
        continue;
      if (replay_line (jobs, index, lines[i], &problem))
        continue;
      /* Only a line without its newline can be a crash's torn write. */
      if (last)
        g_ptr_array_add (warnings, g_strdup_printf ("%s: ignoring an unfinished last change (%s)",
                                                    JOURNAL_FILE, problem));
      else
        {
          g_ptr_array_add (warnings, g_strdup_printf ("%s: line %u skipped: %s",
                                                      JOURNAL_FILE, i + 1, problem));
          bad++;
        }
    }
  if (bad > 0)
    keep_copy (store, data, len, warnings);
  for (guint i = jobs->len; i > 0; i--)
    if (g_ptr_array_index (jobs, i - 1) == NULL)
      g_ptr_array_remove_index (jobs, i - 1);
}

GPtrArray *
jobd_store_load (JobdStore *store, GPtrArray *warnings, GError **error)
{
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  g_autofree char *problem = NULL;
  JsonObject *by_name;
  gsize len = 0;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (warnings != NULL, NULL);

  if (!g_file_get_contents (store->path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          replay_journal (store, jobs, warnings);
          return g_steal_pointer (&jobs);
        }
      problem = g_strdup_printf ("cannot read: %s", local->message);
    }
  else if ((by_name = parse_root (parser, data, len, &problem)) != NULL)
    {
      store->snapshot_bytes = len;
      if (read_entries (by_name, jobs, warnings))
        keep_copy (store, data, len, warnings);
      replay_journal (store, jobs, warnings);
      return g_steal_pointer (&jobs);
    }

  if (!set_aside_corrupt (store, problem, warnings, error))
    return NULL;
  replay_journal (store, jobs, warnings);
  return g_steal_pointer (&jobs);
}
