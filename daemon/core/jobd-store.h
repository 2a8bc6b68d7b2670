/* SPDX-License-Identifier: MIT */
/* jobd-store.h — the job registry on disk.
 *
 * STATE_DIR/jobs.json (the snapshot) and STATE_DIR/jobs.journal (changes
 * since, one JSON object a line: {"put": {"name": …, "entry": {…}}} or
 * {"remove": "name"}), so a change costs one appended line, not a rewrite
 * of every job. The snapshot:
 *   { "version": 1,
 *     "jobs": { "<name>": { "settings": {...}, "owner-uid": N,
 *                           "wanted": "up"|"down", "runtime": {...} } } }
 * "runtime" is what re-adopting a running job needs (pid, its start time,
 * unit, restart counters); it is opaque to the store (a JSON object).
 *
 * Saving is atomic: write a temp file in the same folder, fsync it, read
 * it back, rename it over, fsync the folder. Two generations are kept: the
 * snapshot before is jobs.json.prev and the journal that followed it
 * jobs.journal.prev. Loading a file that cannot be read or parsed never
 * overwrites it: it is renamed to jobs.json.corrupt-<YYYYmmdd-HHMMSS>, and
 * the registry is rebuilt from jobs.json.prev plus both journals, with a
 * warning saying what came from where. A single bad job entry is skipped
 * (and reported), not fatal. Nothing is written that cannot be read back: a
 * NaN or infinity anywhere in a job fails the write (INVALID_ARGS).
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

/* Atomically replace the file with these jobs (element type JobdStoredJob),
 * folding the journal in (it is emptied). */
gboolean jobd_store_save (JobdStore *store, GPtrArray *jobs, GError **error);

/* The journal: one change appended to STATE_DIR/jobs.journal, at a cost that
 * does not grow with the number of jobs. With sync (and always for a
 * remove) it is fdatasync'd before returning: durable even across a power
 * loss. Without, it is in the kernel's hands (it survives jobd being killed,
 * not the machine losing power), for runtime records that change often.
 * On failure nothing was appended: a partial write is cut back to the last
 * whole change (if even that fails, the next change starts on a new line).
 * jobd_store_load() replays it over jobs.json; a torn last line (a write
 * cut short by a crash, never acknowledged) is ignored, and a piece of a
 * line glued to a whole change does not take that change with it. */
gboolean jobd_store_put (JobdStore *store, GPtrArray *jobs, gboolean sync, GError **error);
gboolean jobd_store_remove (JobdStore *store, const char *name, GError **error);
/* TRUE once the journal outgrows the registry: time for jobd_store_save(). */
gboolean jobd_store_wants_compaction (JobdStore *store);
/* TRUE when the last load replayed a non-empty journal. */
gboolean jobd_store_has_journal (JobdStore *store);

G_END_DECLS
