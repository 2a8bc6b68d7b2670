/* SPDX-License-Identifier: MIT */
/* jobd-watch.c — a job's file watch: attach, debounce, act. */
#include "config.h"

#include "jobd-watch.h"

#include "jobd-dirwatch.h"
#include "jobd-error.h"
#include "jobd-log.h"

typedef struct {
  JobdJob *job;            /* not a reference: the watch lives as long as the job */
  const JobdConfig *config;
  char *name;
  JobdSettings *watched;   /* the settings the current watch was made from */
  JobdDirWatch *dirs;      /* NULL while not watching */
  char *first_path;        /* the first change since the last action */
  guint n_changes;
  gint64 first_at;         /* monotonic µs of first_path */
  gint64 last_at;          /* monotonic µs of the latest change */
  char **roots;            /* the absolute paths watched */
  guint timer;
} JobdWatch;

static gboolean
has_watch (const JobdSettings *settings)
{
  return settings->watch != NULL && settings->watch[0] != NULL;
}

/* The absolute paths to watch; NULL with error when a relative one has
 * nothing to be relative to. */
static char **
resolve_paths (const JobdSettings *settings, GError **error)
{
  g_autofree char *base = jobd_settings_get_working_directory (settings);
  g_autoptr(GStrvBuilder) paths = g_strv_builder_new ();

  for (guint i = 0; settings->watch != NULL && settings->watch[i] != NULL; i++)
    {
      const char *path = settings->watch[i];
      g_autofree char *joined = NULL;
      g_autoptr(GFile) file = NULL;

      if (!g_path_is_absolute (path) && (base == NULL || !g_path_is_absolute (base)))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "watch: relative path '%s' needs an absolute working directory", path);
          return NULL;
        }
      joined = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (base, path, NULL);
      /* Lexically: "a/../b" → "b", "./x" → "x", no trailing '/'. */
      file = g_file_new_for_path (joined);
      g_free (joined);
      joined = g_file_get_path (file);
      g_strv_builder_add (paths, joined);
    }
  return g_strv_builder_end (paths);
}

gboolean
jobd_watch_check_settings (const JobdSettings *settings, guint owner_uid, GError **error)
{
  g_auto(GStrv) paths = NULL;

  if (!has_watch (settings))
    return TRUE;
  paths = resolve_paths (settings, error);
  if (paths == NULL)
    return FALSE;
  for (guint i = 0; paths[i] != NULL; i++)
    if (!jobd_dir_watch_check_root (paths[i], owner_uid, error))
      {
        g_prefix_error (error, "watch: ");
        return FALSE;
      }
  return TRUE;
}

static gboolean watch_differs (const JobdSettings *a, const JobdSettings *b);

gboolean
jobd_watch_check_settings_changed (const JobdSettings *old,
                                   const JobdSettings *settings,
                                   guint owner_uid,
                                   GError **error)
{
  return !watch_differs (old, settings) || jobd_watch_check_settings (settings, owner_uid, error);
}

/* ---- acting ---------------------------------------------------------------- */

/* A run to act on: one whose process runs and is not being stopped. */
static gboolean
job_is_running (JobdJob *job)
{
  JobdState state = jobd_job_get_state (job);

  return (state == JOBD_STATE_UP || state == JOBD_STATE_STARTING)
    && jobd_job_get_process (job) != NULL;
}

static void
forget_changes (JobdWatch *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_pointer (&self->first_path, g_free);
  self->n_changes = 0;
}

static void act (JobdWatch *self);

/* The timer is armed once per burst, not once per change: when it fires
 * early (changes came meanwhile) it is armed again for the rest. */
static guint
quiet_delay_ms (JobdWatch *self, gint64 now)
{
  const JobdSettings *settings = jobd_job_get_settings (self->job);
  guint debounce = settings->watch_debounce_ms;
  gint64 max_delay = MAX (JOBD_WATCH_MAX_DELAY_MS, debounce);
  gint64 since_last = (now - self->last_at) / 1000;
  gint64 since_first = (now - self->first_at) / 1000;
  gint64 wait = (gint64) debounce - since_last;

  /* Trailing, but at most max_delay after the first change, so a file
   * written all the time cannot hold the action off for ever. */
  wait = MIN (wait, max_delay - since_first);
  return wait > 0 ? (guint) wait : 0;
}

static gboolean
on_quiet (gpointer user_data)
{
  JobdWatch *self = user_data;
  guint delay = quiet_delay_ms (self, g_get_monotonic_time ());

  if (delay > 0)
    {
      self->timer = g_timeout_add (delay, on_quiet, self);
      return G_SOURCE_REMOVE;
    }
  self->timer = 0;
  act (self);
  return G_SOURCE_REMOVE;
}

static void
act (JobdWatch *self)
{
  g_autofree char *path = g_steal_pointer (&self->first_path);
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  guint n = self->n_changes;
  const JobdSettings *settings = jobd_job_get_settings (self->job);

  self->n_changes = 0;
  if (path == NULL || !job_is_running (self->job))
    return;
  if (n > 1)
    message = g_strdup_printf ("%s changed (and %u more changes)", path, n - 1);
  else
    message = g_strdup_printf ("%s changed", path);
  if (g_strcmp0 (settings->watch_action, "reload") == 0)
    {
      jobd_job_message (self->name, "job %s: %s, reloading it", self->name, message);
      if (!jobd_job_reload (self->job, &error))
        jobd_job_warning (self->name, "job %s: cannot reload: %s", self->name, error->message);
    }
  else if (!jobd_job_restart_for (self->job, JOBD_REASON_FILE_CHANGE, path, message, &error))
    jobd_job_debug (self->name, "job %s: no restart for %s: %s", self->name, message,
                    error->message);
}

static void
on_changed (const char *path, gpointer user_data)
{
  JobdWatch *self = user_data;
  gint64 now = g_get_monotonic_time ();

  /* Stopping, or waiting to start: the next run reads the files anew. */
  if (!job_is_running (self->job))
    return;
  if (self->first_path == NULL)
    {
      self->first_path = g_strdup (path != NULL ? path : self->roots[0]);
      self->first_at = now;
    }
  self->last_at = now;
  self->n_changes++;
  if (self->timer == 0)
    self->timer = g_timeout_add (quiet_delay_ms (self, now), on_quiet, self);
}

static void
on_failed (const GError *error, gpointer user_data)
{
  JobdWatch *self = user_data;
  g_autofree char *message = g_strdup_printf ("watch: %s", error->message);

  jobd_job_warning (self->name, "job %s: %s", self->name, message);
  jobd_job_set_last_error (self->job, message);
}

/* ---- attaching -------------------------------------------------------------- */

static void
stop_watching (JobdWatch *self)
{
  forget_changes (self);
  g_clear_pointer (&self->dirs, jobd_dir_watch_free);
  g_clear_pointer (&self->watched, jobd_settings_free);
  g_clear_pointer (&self->roots, g_strfreev);
}

static void
start_watching (JobdWatch *self)
{
  const JobdSettings *settings = jobd_job_get_settings (self->job);
  g_autoptr(GError) error = NULL;
  char **paths;

  self->watched = jobd_settings_copy (settings);
  if (!has_watch (settings))
    return;
  paths = self->roots = resolve_paths (settings, &error);
  jobd_dir_watch_set_max_per_owner ((guint) self->config->max_watches_per_user);
  if (paths != NULL)
    self->dirs = jobd_dir_watch_new ((const char * const *) paths,
                                     (const char * const *) settings->watch_glob,
                                     (const char * const *) settings->watch_exclude,
                                     jobd_job_get_owner_uid (self->job),
                                     on_changed, on_failed, self, &error);
  if (self->dirs == NULL)
    {
      on_failed (error, self);
      return;
    }
  jobd_job_debug (self->name, "job %s: watching %u directories", self->name,
                  jobd_dir_watch_get_n_dirs (self->dirs));
}

static gboolean
strv_equal (char **a, char **b)
{
  if (a == NULL || b == NULL)
    return (a == NULL || *a == NULL) && (b == NULL || *b == NULL);
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

/* Do the settings ask for another watch than the one in place? */
static gboolean
watch_differs (const JobdSettings *a, const JobdSettings *b)
{
  g_autofree char *dir_a = jobd_settings_get_working_directory (a);
  g_autofree char *dir_b = jobd_settings_get_working_directory (b);

  return !strv_equal (a->watch, b->watch) || !strv_equal (a->watch_glob, b->watch_glob)
    || !strv_equal (a->watch_exclude, b->watch_exclude) || g_strcmp0 (dir_a, dir_b) != 0;
}

static void
on_state_changed (JobdJob *job, int old_state, int new_state, GVariant *details,
                  gpointer user_data)
{
  JobdWatch *self = user_data;

  if (new_state == JOBD_STATE_DOWN || new_state == JOBD_STATE_FAILED)
    stop_watching (self);
  else if (self->watched == NULL && job_is_running (job))
    start_watching (self);
}

static void
on_job_changed (JobdJob *job, gboolean settings_changed, gpointer user_data)
{
  JobdWatch *self = user_data;

  /* A readiness other than exec: the process comes while "starting". */
  if (self->watched == NULL)
    {
      if (job_is_running (job) && jobd_job_get_state (job) != JOBD_STATE_STOPPING)
        start_watching (self);
      return;
    }
  if (!settings_changed || !watch_differs (self->watched, jobd_job_get_settings (job)))
    return;
  stop_watching (self);
  if (job_is_running (job))
    start_watching (self);
}

static void
jobd_watch_free (gpointer data)
{
  JobdWatch *self = data;

  stop_watching (self);
  g_free (self->name);
  g_free (self);
}

static void
on_job_gone (gpointer data, GObject *where_the_job_was)
{
  jobd_watch_free (data);
}

void
jobd_watch_attach (JobdJob *job, const JobdConfig *config)
{
  JobdWatch *self = g_new0 (JobdWatch, 1);

  self->job = job;
  self->config = config;
  self->name = g_strdup (jobd_job_get_name (job));
  g_signal_connect (job, "state-changed", G_CALLBACK (on_state_changed), self);
  g_signal_connect (job, "changed", G_CALLBACK (on_job_changed), self);
  /* Disposed (removed, or jobd exits): nothing to watch any more. */
  g_object_weak_ref (G_OBJECT (job), on_job_gone, self);
}
