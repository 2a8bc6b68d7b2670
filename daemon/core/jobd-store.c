/* SPDX-License-Identifier: MIT */
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
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-error.h"

#define STORE_FILE "jobs.json"
#define PREV_FILE "jobs.json.prev"
#define JOURNAL_FILE "jobs.journal"
#define PREV_JOURNAL_FILE "jobs.journal.prev"
/* Fold the journal in once it is this much bigger than the snapshot. */
#define JOURNAL_SLACK (256 * 1024)
#define STORE_VERSION 1
/* jobs_to_data's frame around its lines of one job each */
#define SNAPSHOT_HEAD "{\n  \"version\" : %d,\n  \"jobs\" : {"
#define SNAPSHOT_INDENT "    "
#define SNAPSHOT_TAIL "  }\n}\n"
#define STORED_SETTINGS_FLAGS (JOBD_SETTINGS_FLAGS_PRIVILEGED | JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN \
                               | JOBD_SETTINGS_FLAGS_STORED)

struct _JobdStore {
  char *state_dir;
  char *path;
  char *prev_path;
  char *journal_path;
  char *prev_journal_path;
  int journal_fd;          /* open for appending, -1 until the first change */
  off_t journal_length;    /* the file's length after the last whole change */
  gboolean journal_torn;   /* a failed append could not be cut back */
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
  store->prev_path = g_build_filename (state_dir, PREV_FILE, NULL);
  store->journal_path = g_build_filename (state_dir, JOURNAL_FILE, NULL);
  store->prev_journal_path = g_build_filename (state_dir, PREV_JOURNAL_FILE, NULL);
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
  g_free (store->prev_path);
  g_free (store->journal_path);
  g_free (store->prev_journal_path);
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

/* json-glib writes a NaN or an infinity as "nan.0"/"inf.0", which no JSON
 * parser (json-glib included) reads back: refuse such a value instead of
 * writing a registry jobd cannot load. */
static gboolean
check_writable (JsonNode *node, const char *job_name, GError **error)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, NULL, &member))
          if (!check_writable (member, job_name, error))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!check_writable (json_array_get_element (array, i), job_name, error))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE && !isfinite (json_node_get_double (node)))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "job '%s': %g cannot be stored (JSON has no NaN or infinity)",
                       job_name, json_node_get_double (node));
          return FALSE;
        }
      return TRUE;
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

static JsonNode *
stored_job_to_json (JobdStoredJob *job, GError **error)
{
  JsonObject *entry = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_member (entry, "settings", jobd_settings_to_json (job->settings));
  json_object_set_int_member (entry, "owner-uid", job->owner_uid);
  json_object_set_string_member (entry, "wanted", job->wanted_up ? "up" : "down");
  if (job->runtime != NULL)
    json_object_set_object_member (entry, "runtime", json_object_ref (job->runtime));
  json_node_take_object (node, entry);
  if (!check_writable (node, job->name, error))
    {
      json_node_unref (node);
      return NULL;
    }
  return node;
}

/* The snapshot is written one entry at a time, each entry's tree freed
 * once it is text: a tree of every job at once cost several kB per job at
 * each save, and what the heap grew to then stayed jobd's private dirty
 * memory. One job per line; the file reads as one JSON object. */
static char *
jobs_to_data (GPtrArray *jobs, gsize *len, GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_string_append_printf (out, SNAPSHOT_HEAD, STORE_VERSION);
  for (guint i = 0; i < jobs->len; i++)
    {
      JobdStoredJob *job = g_ptr_array_index (jobs, i);
      g_autoptr(JsonNode) entry = stored_job_to_json (job, error);
      g_autoptr(JsonNode) key = NULL;
      g_autofree char *key_text = NULL;
      g_autofree char *entry_text = NULL;

      if (entry == NULL)
        return NULL;
      key = json_node_init_string (json_node_alloc (), job->name);
      key_text = jobd_json_to_string (key, FALSE);
      entry_text = jobd_json_to_string (entry, FALSE);
      g_string_append_printf (out, "%s\n" SNAPSHOT_INDENT "%s : %s", i > 0 ? "," : "",
                              key_text, entry_text);
    }
  g_string_append (out, "\n" SNAPSHOT_TAIL);
  *len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
read_entries (JsonObject *by_name, GPtrArray *jobs, GPtrArray *warnings);
static JsonObject *
parse_root (JsonParser *parser, const char *data, gsize len, char **problem);

/* One line of jobs_to_data's, `"NAME" : {ENTRY}` (a comma after it but on
 * the last), read back as a registry of that one job: NULL, or the problem. */
static char *
verify_entry_line (const char *line, gboolean *comma)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  gsize len = strlen (line);
  JsonNode *root;

  *comma = len > 0 && line[len - 1] == ',';
  text = g_strdup_printf ("{%.*s}", (int) (len - (*comma ? 1 : 0)), line);
  if (!json_parser_load_from_data (parser, text, -1, &local))
    return g_strdup_printf ("cannot parse: %s", local->message);
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_strdup ("an entry is not an object");
  if (read_entries (json_node_get_object (root), jobs, warnings) || jobs->len != 1)
    return g_strdup (warnings->len > 0 ? (const char *) warnings->pdata[0] : "an entry is empty");
  return NULL;
}

/* One line of the file: the frame's (kept in frame, compared whole at the
 * end) or one job's, read back; NULL, or the problem. */
static char *
verify_snapshot_line (const char *line, GString *frame, gboolean *comma, guint *read)
{
  char *problem;

  if (!g_str_has_prefix (line, SNAPSHOT_INDENT))
    {
      g_string_append_printf (frame, "%s\n", line);
      return NULL;
    }
  if (*read > 0 && !*comma)
    return g_strdup ("a comma missing between entries");
  problem = verify_entry_line (line + strlen (SNAPSHOT_INDENT), comma);
  if (problem == NULL)
    (*read)++;
  return problem;
}

/* Read a written snapshot back as the next jobd will, before it replaces
 * anything: a registry jobd cannot load is never put in place. The file is
 * jobs_to_data's: its frame, then one job per line, each read back alone
 * (the tree of one entry at a time, not of the whole registry). */
static gboolean
verify_snapshot (const char *path, guint expected, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, error);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GString) frame = g_string_new (NULL);
  g_autofree char *problem = NULL;
  g_autofree char *expected_frame = g_strdup_printf (SNAPSHOT_HEAD "\n" SNAPSHOT_TAIL, STORE_VERSION);
  gboolean comma = FALSE;
  guint read = 0;
  char *line;

  if (in == NULL)
    return FALSE;
  lines = g_data_input_stream_new (G_INPUT_STREAM (in));
  while (problem == NULL &&
         (line = g_data_input_stream_read_line (lines, NULL, NULL, error)) != NULL)
    {
      problem = verify_snapshot_line (line, frame, &comma, &read);
      g_free (line);
    }
  if (problem == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (problem == NULL && (comma || !g_str_equal (frame->str, expected_frame)))
    problem = g_strdup ("not a jobd registry (its frame)");
  if (problem == NULL && read != expected)
    problem = g_strdup ("jobs missing");
  if (problem != NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "the registry written to %s does not read back: %s", path, problem);
      return FALSE;
    }
  return TRUE;
}

/* Replace target with a hard link to source (both in the state folder). */
static gboolean
link_over (const char *source, const char *target, GError **error)
{
  g_autofree char *tmp = g_strconcat (target, ".tmp", NULL);

  g_unlink (tmp);
  if (link (source, tmp) < 0)
    return set_error_errno (error, errno, "cannot link", tmp);
  if (g_rename (tmp, target) < 0)
    {
      int saved_errno = errno;
      g_unlink (tmp);
      return set_error_errno (error, saved_errno, "cannot replace", target);
    }
  /* A rename between two links of one file does nothing, tmp included. */
  g_unlink (tmp);
  return TRUE;
}

/* The journal's changes are in the new snapshot (and in jobs.json.prev plus
 * this file): the next change starts a new jobs.journal. */
static gboolean
retire_journal (JobdStore *store, GError **error)
{
  if (store->journal_fd >= 0)
    {
      close (store->journal_fd);
      store->journal_fd = -1;
    }
  store->journal_bytes = 0;
  store->journal_length = 0;
  store->journal_torn = FALSE;
  if (g_rename (store->journal_path, store->prev_journal_path) < 0 && errno != ENOENT)
    return set_error_errno (error, errno, "cannot move", store->journal_path);
  return TRUE;
}

/* Two generations: jobs.json.prev is the snapshot before jobs.json, and
 * jobs.journal.prev the changes between them, so when jobs.json cannot be
 * read, jobs.json.prev + jobs.journal.prev + jobs.journal is the registry.
 * Replaying changes over a snapshot that already holds them changes
 * nothing (puts carry whole entries, removes are idempotent), which makes
 * every moment of this sequence loadable:
 *   jobs.json → jobs.json.prev (a link), jobs.journal → jobs.journal.prev,
 *   sync, the new snapshot → jobs.json, sync.
 * With no jobs.json yet (a fresh folder, a corrupt one moved aside), the
 * new snapshot goes in first and becomes its own previous generation. */
gboolean
jobd_store_save (JobdStore *store, GPtrArray *jobs, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *tmp = NULL;
  gboolean had_snapshot;
  gsize len;

  g_return_val_if_fail (store != NULL && jobs != NULL, FALSE);
  data = jobs_to_data (jobs, &len, error);
  if (data == NULL)
    return FALSE;
  if (g_mkdir_with_parents (store->state_dir, 0700) < 0)
    return set_error_errno (error, errno, "cannot create", store->state_dir);
  tmp = write_temp_file (store, data, len, error);
  if (tmp == NULL)
    return FALSE;
  g_clear_pointer (&data, g_free);    /* not held while the file is read back */
  if (!verify_snapshot (tmp, jobs->len, error))
    goto fail;
  had_snapshot = g_file_test (store->path, G_FILE_TEST_EXISTS);
  if (had_snapshot &&
      (!link_over (store->path, store->prev_path, error) ||
       !retire_journal (store, error) || !sync_dir (store->state_dir, error)))
    goto fail;
  if (g_rename (tmp, store->path) < 0)
    {
      set_error_errno (error, errno, "cannot replace", store->path);
      goto fail;
    }
  if (!sync_dir (store->state_dir, error))
    return FALSE;
  store->snapshot_bytes = len;
  if (!had_snapshot &&
      (!link_over (store->path, store->prev_path, error) ||
       !retire_journal (store, error)))
    return FALSE;
  return sync_dir (store->state_dir, error);

fail:
  g_unlink (tmp);
  return FALSE;
}

/* ---- the journal ---------------------------------------------------------- */

static gboolean
journal_open (JobdStore *store, GError **error)
{
  struct stat st;
  char last = '\n';

  if (store->journal_fd >= 0)
    return TRUE;
  if (g_mkdir_with_parents (store->state_dir, 0700) < 0)
    return set_error_errno (error, errno, "cannot create", store->state_dir);
  store->journal_fd = open (store->journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (store->journal_fd < 0)
    return set_error_errno (error, errno, "cannot open", store->journal_path);
  if (fstat (store->journal_fd, &st) < 0)
    {
      int saved_errno = errno;
      close (store->journal_fd);
      store->journal_fd = -1;
      return set_error_errno (error, saved_errno, "cannot stat", store->journal_path);
    }
  store->journal_length = st.st_size;
  /* A crash mid-append left a piece of a line: start ours on a new one. */
  if (st.st_size > 0)
    {
      int fd = open (store->journal_path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || pread (fd, &last, 1, st.st_size - 1) != 1)
        last = '\0';
      if (fd >= 0)
        close (fd);
    }
  store->journal_torn = last != '\n';
  /* The file's name must be durable too before a line in it counts. */
  return sync_dir (store->state_dir, error);
}

/* A change that could not be written whole, or not synced, was not made:
 * cut the file back to its last whole change, so the next change is not
 * glued to a piece of this one. When even that fails, the next change
 * starts on a new line (replay skips the piece). */
static void
journal_cut_back (JobdStore *store)
{
  if (ftruncate (store->journal_fd, store->journal_length) < 0)
    {
      g_debug ("cannot cut %s back: %s", store->journal_path, g_strerror (errno));
      store->journal_torn = TRUE;
    }
}

static gboolean
journal_append (JobdStore *store, GString *lines, gboolean sync, GError **error)
{
  gboolean ok;

  if (!journal_open (store, error))
    return FALSE;
  if (store->journal_torn)
    g_string_prepend_c (lines, '\n');
  ok = write_all (store->journal_fd, lines->str, lines->len, store->journal_path, error);
  if (ok && sync && fdatasync (store->journal_fd) < 0)
    ok = set_error_errno (error, errno, "cannot sync", store->journal_path);
  if (!ok)
    {
      journal_cut_back (store);
      return FALSE;
    }
  store->journal_torn = FALSE;
  store->journal_length += (off_t) lines->len;
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

static gboolean
replay_line (GPtrArray *jobs, GHashTable *index, const char *line, char **problem);

/* A change a caller is waiting for is read back as replay will read it
 * before it is written (runtime records, written often and without sync,
 * change no settings and skip this). */
static gboolean
verify_lines (const char *lines, GError **error)
{
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) split = g_strsplit (lines, "\n", -1);

  for (guint i = 0; split[i] != NULL; i++)
    {
      g_autofree char *problem = NULL;

      if (*split[i] != '\0' && !replay_line (jobs, index, split[i], &problem))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "this change would not read back: %s", problem);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
jobd_store_put (JobdStore *store, GPtrArray *jobs, gboolean sync, GError **error)
{
  g_autoptr(GString) lines = g_string_new (NULL);

  for (guint i = 0; i < jobs->len; i++)
    {
      JobdStoredJob *job = g_ptr_array_index (jobs, i);
      g_autoptr(JsonNode) line = json_node_new (JSON_NODE_OBJECT);
      JsonObject *change, *put;
      JsonNode *entry = stored_job_to_json (job, error);

      if (entry == NULL)
        return FALSE;
      change = json_object_new ();
      put = json_object_new ();
      json_object_set_string_member (put, "name", job->name);
      json_object_set_member (put, "entry", entry);
      json_object_set_object_member (change, "put", put);
      json_node_take_object (line, change);
      append_json_line (lines, line);
    }
  if (sync && !verify_lines (lines->str, error))
    return FALSE;
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

/* A failed append that could not be cut back leaves a piece of a change
 * with the next change glued to it ("{"put": {"na{"put": …}"): find where
 * a whole change starts in the line and apply that one. */
static gboolean
replay_glued (GPtrArray *jobs, GHashTable *index, const char *line)
{
  for (const char *p = strchr (line + 1, '{'); p != NULL; p = strchr (p + 1, '{'))
    {
      const char *q = p + 1;
      g_autofree char *problem = NULL;

      while (g_ascii_isspace (*q))
        q++;
      if ((g_str_has_prefix (q, "\"put\"") || g_str_has_prefix (q, "\"remove\"")) &&
          replay_line (jobs, index, p, &problem))
        return TRUE;
    }
  return FALSE;
}

/* Replay one journal file over jobs; returns how many lines were bad (not
 * counting an unfinished last line). */
static guint
replay_file (const char *path, GPtrArray *jobs, GPtrArray *warnings, guint *applied,
             char **contents, gsize *contents_len)
{
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *data = NULL;
  g_autofree char *file = g_path_get_basename (path);
  g_auto(GStrv) lines = NULL;
  gsize len = 0;
  guint bad = 0, n;

  *applied = 0;
  if (!g_file_get_contents (path, &data, &len, NULL) || len == 0)
    return 0;
  for (guint i = 0; i < jobs->len; i++)
    if (g_ptr_array_index (jobs, i) != NULL)
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
        {
          (*applied)++;
          continue;
        }
      /* Only a line without its newline can be a crash's torn write. */
      if (last)
        {
          g_ptr_array_add (warnings, g_strdup_printf ("%s: ignoring an unfinished last change (%s)",
                                                      file, problem));
          continue;
        }
      bad++;
      if (replay_glued (jobs, index, lines[i]))
        {
          (*applied)++;
          g_ptr_array_add (warnings, g_strdup_printf ("%s: line %u: a piece of an unsaved change "
                                                      "skipped, the change after it kept",
                                                      file, i + 1));
        }
      else
        g_ptr_array_add (warnings, g_strdup_printf ("%s: line %u skipped: %s",
                                                    file, i + 1, problem));
    }
  *contents = g_steal_pointer (&data);
  *contents_len = len;
  return bad;
}

static void
drop_removed (GPtrArray *jobs)
{
  for (guint i = jobs->len; i > 0; i--)
    if (g_ptr_array_index (jobs, i - 1) == NULL)
      g_ptr_array_remove_index (jobs, i - 1);
}

/* Replay a journal over jobs; a bad line keeps a copy of the file. With
 * quiet, the journal is only being replayed again over a snapshot that
 * should hold it already: problems were reported when it was current. */
static guint
replay_journal (JobdStore *store, const char *path, GPtrArray *jobs, GPtrArray *warnings,
                gboolean quiet)
{
  g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *data = NULL;
  gsize len = 0;
  guint applied = 0;
  guint bad = replay_file (path, jobs, quiet ? scratch : warnings, &applied, &data, &len);

  if (bad > 0 && !quiet)
    keep_copy (store, data, len, warnings);
  drop_removed (jobs);
  return applied;
}

typedef enum { SNAPSHOT_LOADED, SNAPSHOT_MISSING, SNAPSHOT_BAD } SnapshotResult;

static SnapshotResult
load_snapshot (JobdStore *store, const char *path, GPtrArray *jobs, GPtrArray *warnings,
               char **problem)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  JsonObject *by_name;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return SNAPSHOT_MISSING;
      *problem = g_strdup_printf ("cannot read: %s", local->message);
      return SNAPSHOT_BAD;
    }
  by_name = parse_root (parser, data, len, problem);
  if (by_name == NULL)
    return SNAPSHOT_BAD;
  store->snapshot_bytes = len;
  if (read_entries (by_name, jobs, warnings))
    keep_copy (store, data, len, warnings);
  return SNAPSHOT_LOADED;
}

static gboolean
same_file (const char *a, const char *b)
{
  struct stat sa, sb;

  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* jobs.json is missing or unreadable: the previous generation plus both
 * journals is the registry. Says loudly what came from where. */
static void
load_previous (JobdStore *store, GPtrArray *jobs, GPtrArray *warnings, const char *why)
{
  g_autofree char *problem = NULL;
  SnapshotResult prev = load_snapshot (store, store->prev_path, jobs, warnings, &problem);
  guint from_prev = jobs->len, from_journals;

  if (prev == SNAPSHOT_BAD)
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *aside = move_aside (store, store->prev_path, &local);

      g_ptr_array_add (warnings, g_strdup_printf ("%s is unreadable too (%s); %s%s", PREV_FILE,
                                                  problem, aside != NULL ? "moved aside to " : "",
                                                  aside != NULL ? aside : local->message));
    }
  from_journals = replay_journal (store, store->prev_journal_path, jobs, warnings, FALSE);
  from_journals += replay_journal (store, store->journal_path, jobs, warnings, FALSE);
  store->journal_replayed = TRUE;
  if (prev == SNAPSHOT_LOADED)
    g_ptr_array_add (warnings,
                     g_strdup_printf ("%s; RECOVERED %u jobs: %u from %s, then %u changes "
                                      "from %s and %s", why, jobs->len, from_prev, PREV_FILE,
                                      from_journals, PREV_JOURNAL_FILE, JOURNAL_FILE));
  else
    g_ptr_array_add (warnings,
                     g_strdup_printf ("%s; no usable %s to fall back on: %u jobs from %u "
                                      "changes in %s and %s alone", why, PREV_FILE, jobs->len,
                                      from_journals, PREV_JOURNAL_FILE, JOURNAL_FILE));
}

GPtrArray *
jobd_store_load (JobdStore *store, GPtrArray *warnings, GError **error)
{
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  g_autofree char *problem = NULL;
  g_autofree char *why = NULL;
  g_autofree char *aside = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (warnings != NULL, NULL);

  switch (load_snapshot (store, store->path, jobs, warnings, &problem))
    {
    case SNAPSHOT_LOADED:
      /* Still the previous generation too: a save was cut short after
       * jobs.journal became jobs.journal.prev, so replay that one first. */
      if (same_file (store->path, store->prev_path))
        replay_journal (store, store->prev_journal_path, jobs, warnings, TRUE);
      if (replay_journal (store, store->journal_path, jobs, warnings, FALSE) > 0)
        store->journal_replayed = TRUE;
      return g_steal_pointer (&jobs);
    case SNAPSHOT_MISSING:
      if (!g_file_test (store->prev_path, G_FILE_TEST_EXISTS))
        {
          /* A fresh folder, or one older jobds wrote (no generations). */
          if (replay_journal (store, store->journal_path, jobs, warnings, FALSE) > 0)
            store->journal_replayed = TRUE;
          return g_steal_pointer (&jobs);
        }
      why = g_strdup_printf ("%s is missing", STORE_FILE);
      break;
    case SNAPSHOT_BAD:
    default:
      /* Never overwritten: its bytes stay for a human to look at. */
      aside = move_aside (store, store->path, error);
      if (aside == NULL)
        return NULL;
      why = g_strdup_printf ("%s: %s; moved aside to %s", STORE_FILE, problem, aside);
      break;
    }
  load_previous (store, jobs, warnings, why);
  return g_steal_pointer (&jobs);
}
