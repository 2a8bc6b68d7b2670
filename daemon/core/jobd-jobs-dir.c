/* SPDX-License-Identifier: MIT */
/* jobd-jobs-dir.c — JobsDirectory= (see jobd-jobs-dir.h). */
#include "config.h"

#include "jobd-jobs-dir.h"

#include <string.h>
#include <unistd.h>

#include "jobd-dep-order.h"
#include "jobd-error.h"
#include "jobd-jobfile.h"
#include "jobd-log.h"

static void
on_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_job_warning (name, "job %s (from its job file): cannot start: %s", name, error->message);
}

static void
on_restarted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_manager_restart_job_finish (JOBD_MANAGER (source), result, &error))
    jobd_job_warning (name, "job %s (from its job file): cannot restart: %s", name,
                      error->message);
}

static void
add_job (JobdManager *manager, JobdJobFile *file, gboolean start_new)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;

  if (!jobd_settings_merge_variant (settings, file->settings, JOBD_SETTINGS_FLAGS_PRIVILEGED,
                                    &error)
      || jobd_manager_add_job (manager, file->name, jobd_settings_copy (settings),
                               (guint) getuid (), &error) == NULL)
    {
      jobd_job_warning (file->name, "%s: cannot add job %s: %s", file->path, file->name, error->message);
      return;
    }
  jobd_job_message (file->name, "job %s added from %s", file->name, file->path);
  if (start_new && settings->autostart)
    jobd_manager_start_job_async (manager, file->name, &JOBD_RUN_CAUSE (JOBD_REASON_AUTOSTART),
                                  NULL, on_started, g_strdup (file->name));
}

static char *
join_keys (GPtrArray *keys)
{
  g_ptr_array_add (keys, NULL);
  return keys->len > 1 ? g_strjoinv (", ", (char **) keys->pdata) : g_strdup (JOBD_SETTING_SOURCE_FILE);
}

static void
update_job (JobdManager *manager, JobdJob *job, JobdJobFile *file)
{
  const JobdSettings *current = jobd_job_get_settings (job);
  g_autoptr(GVariant) have = g_variant_ref_sink (jobd_settings_to_variant (current));
  g_autoptr(GPtrArray) changed = g_ptr_array_new ();
  g_autoptr(GVariant) update = NULL;
  g_autoptr(JobdSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *keys = NULL;
  gboolean restart = FALSE;

  if (current->source_file == NULL)
    {
      jobd_job_warning (file->name, "%s: job %s exists and was not made from a job file; leaving it alone",
                        file->path, file->name);
      return;
    }
  update = jobd_job_file_diff (file->settings, have, changed, &restart);
  if (update == NULL)
    return;
  settings = jobd_settings_copy (current);
  if (!jobd_settings_merge_variant (settings, update, JOBD_SETTINGS_FLAGS_PRIVILEGED, &error)
      || !jobd_manager_update_job (manager, file->name, g_steal_pointer (&settings), &error))
    {
      jobd_job_warning (file->name, "%s: cannot update job %s: %s", file->path, file->name, error->message);
      return;
    }
  keys = join_keys (changed);
  restart = restart && jobd_job_is_active (job);
  jobd_job_message (file->name, "job %s updated from %s (%s)%s", file->name, file->path, keys,
                    restart ? ", restarting it" : "");
  if (restart)
    {
      JobdRunCause cause = { JOBD_REASON_JOB_FILE, JOBD_UID_NONE, file->path };

      jobd_manager_restart_job_async (manager, file->name, &cause, NULL, on_restarted,
                                      g_strdup (file->name));
    }
}

typedef struct {
  JobdManager *manager;
  char *name;
} Removal;

static void
on_down_remove (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Removal *removal = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_job_wait_down_finish (JOBD_JOB (source), result, &error)
      || !jobd_manager_remove_job (removal->manager, removal->name, &error))
    jobd_job_warning (removal->name, "job %s (its job file is gone): cannot remove: %s",
                      removal->name, error->message);
  g_object_unref (removal->manager);
  g_free (removal->name);
  g_free (removal);
}

static void
prune_job (JobdManager *manager, JobdJob *job)
{
  const char *name = jobd_job_get_name (job);
  g_autoptr(GError) error = NULL;
  Removal *removal;

  jobd_job_message (name, "job %s: its job file %s is gone; removing it", name,
                    jobd_job_get_settings (job)->source_file);
  if (!jobd_job_is_active (job))
    {
      if (!jobd_manager_remove_job (manager, name, &error))
        jobd_job_warning (name, "job %s: cannot remove: %s", name, error->message);
      return;
    }
  removal = g_new0 (Removal, 1);
  removal->manager = g_object_ref (manager);
  removal->name = g_strdup (name);
  if (!jobd_manager_stop_job (manager, name, &error))
    jobd_job_debug (name, "job %s: stop: %s", name, error->message);
  jobd_job_wait_down_async (job, NULL, on_down_remove, removal);
}

static GPtrArray *
job_deps (gpointer item, gpointer unused)
{
  const JobdSettings *settings = jobd_job_get_settings (item);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (char **spec = settings->requires; spec != NULL && *spec != NULL; spec++)
    g_ptr_array_add (names, jobd_dep_order_job_name (*spec));
  for (char **spec = settings->after; spec != NULL && *spec != NULL; spec++)
    g_ptr_array_add (names, jobd_dep_order_job_name (*spec));
  return names;
}

static const char *
job_name (gpointer item)
{
  return jobd_job_get_name (item);
}

static gboolean
from_dir (JobdJob *job, const char *dir)
{
  const char *source = jobd_job_get_settings (job)->source_file;
  g_autofree char *parent = source != NULL ? g_path_get_dirname (source) : NULL;

  return parent != NULL && g_str_equal (parent, dir);
}

void
jobd_jobs_dir_apply (JobdManager *manager, gboolean start_new)
{
  const char *configured = jobd_manager_get_config (manager)->jobs_directory;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) jobs = NULL;
  /* A skipped file's job stays: the file is still there, only wrong. */
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  if (configured == NULL)
    return;
  dir = g_canonicalize_filename (configured, "/");
  files = jobd_job_file_load_dir (dir, errors, failed, &error);
  if (files == NULL)
    {
      /* A folder that cannot be read names nothing: prune nothing either. */
      g_warning ("JobsDirectory=%s: %s; no job changed", dir, error->message);
      return;
    }
  for (guint i = 0; i < errors->len; i++)
    g_warning ("%s (file skipped)", ((GError *) errors->pdata[i])->message);
  for (guint i = 0; i < failed->len; i++)
    g_hash_table_add (named, failed->pdata[i]);
  /* Each add or update is checked against the registry as it is then: a
   * job after the jobs it names, and removed before them. */
  jobd_dep_order_job_files (files);
  for (guint i = 0; i < files->len; i++)
    {
      JobdJobFile *file = files->pdata[i];
      JobdJob *job = jobd_manager_lookup_job (manager, file->name, NULL);

      for (guint w = 0; w < file->warnings->len; w++)
        g_warning ("%s", (char *) file->warnings->pdata[w]);
      g_hash_table_add (named, file->name);
      if (job == NULL)
        add_job (manager, file, start_new);
      else
        update_job (manager, job, file);
    }
  jobs = jobd_manager_list_jobs (manager);
  jobd_dep_order_sort (jobs, job_name, job_deps, NULL, TRUE);
  for (guint i = 0; i < jobs->len; i++)
    {
      JobdJob *job = jobs->pdata[i];

      if (!g_hash_table_contains (named, jobd_job_get_name (job)) && from_dir (job, dir))
        prune_job (manager, job);
    }
}
