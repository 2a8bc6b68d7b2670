/* SPDX-License-Identifier: MIT */
/* jobd-jobfile.h — job files: a job described in a systemd-style INI file.
 *
 * One job per file: NAME.job holds a [Job] section whose keys are the job's
 * settings in CamelCase (Command=, Restart=, Environment=, MemoryMax=, …;
 * the table in jobd-jobfile.c, documented in jobd.job(5)). A file turns
 * into the job's name and an a{sv} of settings as org.jobd1.Manager.Add
 * takes them, and a job's settings (GetSettings) turn back into a file.
 * jobctl (apply, export, cat) and jobd (JobsDirectory=) share this code,
 * so both read a file the same way.
 *
 * Errors are JOBD_ERROR_INVALID_ARGS and read "PATH:LINE: Key: what is
 * wrong"; unknown keys and sections are warnings ("PATH:LINE: Unknown key
 * name 'Foo' in section 'Job', ignoring."), as systemd words them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_JOB_FILE_SUFFIX ".job"
#define JOBD_JOB_FILE_GROUP "Job"
/* The setting that marks a job as coming from a file: the file's absolute
 * path. `apply --prune` and JobsDirectory= remove only jobs that have it. */
#define JOBD_SETTING_SOURCE_FILE "source-file"

typedef struct {
  char *path;           /* as given */
  char *name;           /* the file's name without ".job" */
  GVariant *settings;   /* a{sv}: what the file sets, plus source-file */
  GPtrArray *warnings;  /* char *, "PATH:LINE: …" */
} JobdJobFile;

/* text is the file's contents; path names it in messages and gives the
 * job's name, and relative EnvironmentFile= paths are read from its folder. */
JobdJobFile *jobd_job_file_parse (const char *path, const char *text, gsize length,
                                  GError **error);
JobdJobFile *jobd_job_file_load (const char *path, GError **error);
void jobd_job_file_free (JobdJobFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdJobFile, jobd_job_file_free)

/* Every NAME.job in dir, sorted by name (JobdJobFile *, free with
 * g_ptr_array_unref). A file that cannot be read or parsed is left out,
 * its error (GError *) added to errors and its job's name (char *) to
 * failed (may be NULL): one bad file does not stop the others. NULL with
 * error when dir cannot be read. */
GPtrArray *jobd_job_file_load_dir (const char *dir, GPtrArray *errors, GPtrArray *failed,
                                   GError **error);

/* A job's settings (as GetSettings returns them) as a job file. Settings
 * at their default are left out. Settings that have no job-file key, or
 * whose value a file cannot hold, are named in a comment and added to
 * unwritable (char *; may be NULL). */
char *jobd_job_file_write (const char *name, GVariant *settings, GPtrArray *unwritable);

/* What Update must send to make `have` (GetSettings) match `want` (a job
 * file's settings; what the file leaves out is the default): an a{sv}
 * (a new reference) of the changed settings, or NULL when nothing differs.
 * changed (may be NULL) receives the changed file keys (static strings,
 * "Command", "Environment"); *restart (may be NULL) is TRUE when one of
 * them applies only at the job's next start. Extra settings (X-* keys) are
 * only added or changed, never removed. */
GVariant *jobd_job_file_diff (GVariant *want, GVariant *have, GPtrArray *changed,
                              gboolean *restart);

/* "Restart" ↔ "restart", "MemoryMax" ↔ "memory-max" (case-insensitive for
 * file keys); NULL when there is none. */
const char *jobd_job_file_key_to_setting (const char *file_key);
const char *jobd_job_file_setting_to_key (const char *setting);

/* A command line split as systemd splits ExecStart=: blanks separate
 * words, "…" and '…' quote, C escapes (\n, \t, \xNN, \\, \", \s …) work
 * inside and outside quotes. NULL with error on an unterminated quote or a
 * bad escape. */
char **jobd_job_file_split (const char *text, GError **error);
/* The other way round: words joined, each quoted when it needs to be. */
char *jobd_job_file_join (const char * const *words);

G_END_DECLS
