/* SPDX-License-Identifier: MIT */
/* jobd-launch.c — turn a job's settings into what a spawner carries out. */
#include "config.h"

#include "jobd-launch.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "jobd-error.h"

static char *
resolve_program (const char *program, const char *working_directory, GError **error)
{
  g_autofree char *path = NULL;

  if (strchr (program, '/') == NULL)
    {
      path = g_find_program_in_path (program);
      if (path == NULL)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                       "command '%s' not found in PATH", program);
          return NULL;
        }
    }
  else if (working_directory != NULL && g_path_is_absolute (working_directory))
    path = g_canonicalize_filename (program, working_directory);   /* ./run.sh: as a shell there */
  else
    path = g_canonicalize_filename (program, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "command '%s' does not exist", path);
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR) || access (path, X_OK) < 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "command '%s' is not executable", path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

static gboolean
resolve_credentials (JobdChildSpec *spec,
                     const JobdSettings *settings,
                     guint owner_uid,
                     GError **error)
{
  struct passwd *pw;
  int n_groups = 64;

  /* A job of jobd's own user: nothing to switch, nothing to look up. */
  if (settings->user == NULL && settings->group == NULL && owner_uid == getuid ())
    return TRUE;
  if (settings->user != NULL)
    pw = getpwnam (settings->user);
  else
    pw = getpwuid (owner_uid);

  if (pw == NULL)
    {
      if (settings->user != NULL)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                     "user '%s' does not exist", settings->user);
      else
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                     "user ID %u has no passwd entry", owner_uid);
      return FALSE;
    }

  if (pw->pw_uid == getuid () && settings->group == NULL)
    return TRUE;
  if (getuid () != 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "jobd does not run as root, so it cannot run a job as '%s'",
                   pw->pw_name);
      return FALSE;
    }

  spec->set_creds = TRUE;
  spec->uid = pw->pw_uid;
  spec->gid = pw->pw_gid;
  if (settings->group != NULL)
    {
      struct group *gr = getgrnam (settings->group);
      if (gr == NULL)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                       "group '%s' does not exist", settings->group);
          return FALSE;
        }
      spec->gid = gr->gr_gid;
    }

  spec->groups = g_new (gid_t, n_groups);
  if (getgrouplist (pw->pw_name, spec->gid, spec->groups, &n_groups) < 0)
    {
      spec->groups = g_renew (gid_t, spec->groups, n_groups);
      if (getgrouplist (pw->pw_name, spec->gid, spec->groups, &n_groups) < 0)
        n_groups = 0;
    }
  spec->n_groups = n_groups;
  return TRUE;
}

static char **
build_environment (const char *job_name,
                   const JobdSettings *settings,
                   const JobdChildSpec *spec)
{
  char **envp = g_get_environ ();
  GHashTableIter iter;
  gpointer key, value;

  /* jobd's own notify/activation variables are not the job's. */
  envp = g_environ_unsetenv (envp, "NOTIFY_SOCKET");
  envp = g_environ_unsetenv (envp, "LISTEN_FDS");
  envp = g_environ_unsetenv (envp, "LISTEN_PID");
  envp = g_environ_unsetenv (envp, "LISTEN_FDNAMES");
  envp = g_environ_unsetenv (envp, "WATCHDOG_USEC");
  envp = g_environ_unsetenv (envp, "WATCHDOG_PID");
  envp = g_environ_setenv (envp, "JOBD_JOB", job_name, TRUE);

  if (spec->set_creds)
    {
      struct passwd *pw = getpwuid (spec->uid);
      if (pw != NULL)
        {
          envp = g_environ_setenv (envp, "USER", pw->pw_name, TRUE);
          envp = g_environ_setenv (envp, "LOGNAME", pw->pw_name, TRUE);
          envp = g_environ_setenv (envp, "HOME", pw->pw_dir, TRUE);
        }
    }

  if (settings->environment != NULL)
    {
      g_hash_table_iter_init (&iter, settings->environment);
      while (g_hash_table_iter_next (&iter, &key, &value))
        envp = g_environ_setenv (envp, key, value, TRUE);
    }
  return envp;
}

gboolean
jobd_launch_child_spec_init (JobdChildSpec *spec,
                             const char *job_name,
                             const JobdSettings *settings,
                             guint owner_uid,
                             GError **error)
{
  g_auto(GStrv) argv = NULL;
  g_autofree char *program = NULL;
  g_autofree char *cwd = NULL;

  memset (spec, 0, sizeof *spec);
  spec->stdout_fd = -1;
  spec->stderr_fd = -1;
  spec->cgroup_fds[0] = spec->cgroup_fds[1] = -1;

  argv = jobd_settings_build_argv (settings, error);
  if (argv == NULL)
    return FALSE;
  program = resolve_program (argv[0], settings->working_directory, error);
  if (program == NULL)
    return FALSE;
  g_free (argv[0]);
  argv[0] = g_steal_pointer (&program);

  cwd = jobd_settings_get_working_directory (settings);
  if (cwd != NULL && !g_file_test (cwd, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "working directory '%s' does not exist", cwd);
      return FALSE;
    }

  if (!resolve_credentials (spec, settings, owner_uid, error))
    {
      jobd_child_spec_clear (spec);
      return FALSE;
    }

  spec->argv = g_steal_pointer (&argv);
  spec->cwd = g_steal_pointer (&cwd);
  spec->envp = build_environment (job_name, settings, spec);
  return TRUE;
}

JobdLimits
jobd_launch_limits (const JobdSettings *settings)
{
  JobdLimits limits = {
    .memory_max = settings->memory_max,
    .memory_high = settings->memory_restart,
    .cpu_quota = settings->cpu_quota,
    .tasks_max = settings->tasks_max,
  };

  return limits;
}
