/* jobd-store.h — the job registry on disk.
 *
 * STATE_DIR/jobs.json:
 *   { "version": 1,
 *     "jobs": { "<name>": { "settings": {...}, "owner-uid": N,
 *                           "wanted": "up"|"down", "runtime": {...} } } }
 * "runtime" is what re-adopting a running job needs (pid, its start time,
 * unit, restart counters); it is opaque to the store (a JSON object).
 *
 * Saving is atomic: write a temp file in the same folder, fsync it, rename
 * it over, fsync the folder. Loading a file that cannot be read or parsed
 * never overwrites it: it is renamed to jobs.json.corrupt-<YYYYmmdd-HHMMSS>,
 * the problem is reported through error-as-warning, and what could be read
 * is returned. A single bad job entry is skipped (and reported), not fatal.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobd-settings.h"

G_BEGIN_DECLS

typedef struct {
  char *name;
  JobdSettings *settings;
  guint owner_uid;
  gboolean wanted_up;
  JsonObject *runtime;   /* may be NULL */
} JobdStoredJob;

void jobd_stored_job_free (JobdStoredJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdStoredJob, jobd_stored_job_free)

typedef struct _JobdStore JobdStore;

JobdStore *jobd_store_new (const char *state_dir);
void jobd_store_free (JobdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdStore, jobd_store_free)

const char *jobd_store_get_path (JobdStore *store);

/* Returns the jobs (element type JobdStoredJob) in file order. A missing file
 * is an empty registry. Problems that lost data (a corrupt file moved aside,
 * skipped entries) are appended to *warnings as human-readable messages;
 * returns NULL with error only when the state folder itself is unusable. */
GPtrArray *jobd_store_load (JobdStore *store, GPtrArray *warnings, GError **error);

/* Atomically replace the file with these jobs (element type JobdStoredJob). */
gboolean jobd_store_save (JobdStore *store, GPtrArray *jobs, GError **error);

G_END_DECLS
