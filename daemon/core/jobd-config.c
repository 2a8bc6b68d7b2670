/* SPDX-License-Identifier: MIT */
/* jobd-config.c — jobd.conf and the folders jobd works in. */
#include "config.h"

#include "jobd-config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <systemd/sd-daemon.h>

#include "jobd-config-effective.h"
#include "jobd-dirwatch.h"
#include "jobd-error.h"
#include "jobd-ini.h"
#include "jobd-names.h"
#include "jobd-parse.h"

JobdConfig *
jobd_config_new (void)
{
  JobdConfig *config = g_new0 (JobdConfig, 1);

  config->keyfile = g_key_file_new ();
  config->backend = g_strdup ("auto");
  /* Jobs outlive jobd by default: a restart or upgrade takes them back. */
  config->stop_jobs_on_exit = FALSE;
  config->restore_jobs = TRUE;
  config->memory_restart_interval_ms = 5000;
  config->dbus_max_queued_bytes = 8 * 1024 * 1024;
  config->dbus_max_connections_per_user = 64;
  config->dbus_max_connections = 1024;
  config->dbus_auth_timeout_sec = 5;
  config->max_instances = JOBD_MAX_INSTANCES_DEFAULT;
  config->max_jobs_per_user = JOBD_MAX_JOBS_PER_USER_DEFAULT;
  config->max_settings_per_user = JOBD_MAX_SETTINGS_PER_USER_DEFAULT;
  config->max_watches_per_user = JOBD_DIR_WATCH_MAX_PER_OWNER_DEFAULT;
  return config;
}

void
jobd_config_free (JobdConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->config_file);
  g_key_file_unref (config->keyfile);
  g_free (config->state_dir);
  g_free (config->runtime_dir);
  g_free (config->log_dir);
  g_free (config->backend);
  g_free (config->admin_group);
  g_free (config->time_zone);
  g_free (config->jobs_directory);
  g_clear_pointer (&config->entries, g_ptr_array_unref);
  g_free (config);
}

char *
jobd_config_default_runtime_dir (JobdBusMode bus)
{
  if (bus == JOBD_BUS_SESSION || (bus == JOBD_BUS_NONE && getuid () != 0))
    return g_build_filename (g_get_user_runtime_dir (), JOBD_RUNTIME_SUBDIR, NULL);
  return g_strdup (JOBD_SYSTEM_RUNTIME_DIR);
}

/* systemd's StateDirectory= etc. hand over colon-separated lists; take the first. */
static char *
dir_from_systemd (const char *variable)
{
  const char *value = g_getenv (variable);
  g_auto(GStrv) parts = NULL;

  if (value == NULL || *value == '\0')
    return NULL;
  parts = g_strsplit (value, ":", 2);
  return g_strdup (parts[0]);
}

static void
set_default_dir (char **field, const char *systemd_variable, char *fallback)
{
  g_autofree char *owned_fallback = fallback;

  g_free (*field);
  *field = dir_from_systemd (systemd_variable);
  if (*field == NULL)
    *field = g_steal_pointer (&owned_fallback);
}

void
jobd_config_set_defaults (JobdConfig *config, JobdBusMode bus)
{
  gboolean per_user = bus == JOBD_BUS_SESSION || (bus == JOBD_BUS_NONE && getuid () != 0);

  config->bus = bus;
  if (per_user)
    {
      set_default_dir (&config->state_dir, "STATE_DIRECTORY",
                       g_build_filename (g_get_user_state_dir (), "jobd", NULL));
      set_default_dir (&config->log_dir, "LOGS_DIRECTORY",
                       g_build_filename (g_get_user_state_dir (), "jobd", "log", NULL));
    }
  else
    {
      set_default_dir (&config->state_dir, "STATE_DIRECTORY",
                       g_build_filename (JOBD_LOCALSTATEDIR, "lib", "jobd", NULL));
      set_default_dir (&config->log_dir, "LOGS_DIRECTORY",
                       g_build_filename (JOBD_LOCALSTATEDIR, "log", "jobd", NULL));
    }
  set_default_dir (&config->runtime_dir, "RUNTIME_DIRECTORY",
                   jobd_config_default_runtime_dir (bus));
}

static gboolean
read_string (GKeyFile *keyfile, const char *key, char **field, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *value = g_key_file_get_string (keyfile, "Daemon", key, &local_error);

  if (value == NULL)
    {
      if (g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
          g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        {
          jobd_config_effective_note ("Daemon", key, *field);
          return TRUE;
        }
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "[Daemon] %s: ", key);
      return FALSE;
    }
  g_strstrip (value);
  g_free (*field);
  *field = *value != '\0' ? g_steal_pointer (&value) : NULL;
  jobd_config_effective_note ("Daemon", key, *field);
  return TRUE;
}

static gboolean
read_bool (GKeyFile *keyfile, const char *key, gboolean *field, GError **error)
{
  g_autofree char *text = NULL;
  gboolean value;

  if (!g_key_file_has_key (keyfile, "Daemon", key, NULL))
    {
      jobd_config_effective_note_bool ("Daemon", key, *field);
      return TRUE;
    }
  /* As systemd: yes/no, true/false, on/off, 1/0. */
  text = g_strstrip (g_key_file_get_value (keyfile, "Daemon", key, NULL));
  if (!jobd_parse_bool (text, &value, NULL))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Daemon] %s: expected yes or no (true/false, on/off, 1/0), not '%s'",
                   key, text);
      return FALSE;
    }
  *field = value;
  jobd_config_effective_note_bool ("Daemon", key, value);
  return TRUE;
}

/* A number with an optional unit suffix from `units` (name, factor; the
 * first entry, "", is the unit of a bare number). Empty is 0. */
typedef struct {
  const char *suffix;
  guint64 factor;
} Unit;

static gboolean
parse_with_unit (const char *value, const Unit *units, guint64 *out)
{
  g_autofree char *text = g_strstrip (g_strdup (value));
  guint64 number;
  char *end;

  if (*text == '\0')
    {
      *out = 0;
      return TRUE;
    }
  if (!g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  number = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  while (g_ascii_isspace (*end))
    end++;
  for (const Unit *u = units; u->suffix != NULL; u++)
    {
      if (g_ascii_strcasecmp (end, u->suffix) != 0)
        continue;
      if (number > G_MAXUINT64 / u->factor)
        return FALSE;
      *out = number * u->factor;
      return TRUE;
    }
  return FALSE;
}

static const Unit size_units[] = {
  { "", 1 }, { "B", 1 }, { "K", 1024 }, { "M", 1024 * 1024 },
  { "G", G_GUINT64_CONSTANT (1024) * 1024 * 1024 },
  { "T", G_GUINT64_CONSTANT (1024) * 1024 * 1024 * 1024 }, { NULL, 0 },
};
static const Unit ms_units[] = {
  { "", 1 }, { "ms", 1 }, { "s", 1000 }, { "sec", 1000 }, { "min", 60000 }, { NULL, 0 },
};
static const Unit time_units[] = {
  { "", 1 }, { "s", 1 }, { "sec", 1 }, { "min", 60 }, { "h", 3600 },
  { "d", 24 * 3600 }, { "w", 7 * 24 * 3600 }, { NULL, 0 },
};

static const Unit count_units[] = { { "", 1 }, { NULL, 0 } };

/* [Daemon] Key=N[unit], noted as the number in the bare unit. */
static gboolean
read_daemon_amount (GKeyFile *keyfile, const char *key, const Unit *units,
                    const char *expected, guint64 *field, GError **error)
{
  g_autofree char *value = g_key_file_get_string (keyfile, "Daemon", key, NULL);
  guint64 parsed;

  if (value != NULL && !parse_with_unit (value, units, &parsed))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Daemon] %s: expected %s, not '%s'", key, expected, value);
      return FALSE;
    }
  if (value != NULL)
    *field = parsed;
  jobd_config_effective_note_uint ("Daemon", key, *field);
  return TRUE;
}

/* MaxInstances=: the bound of every job's `instances` (1..JOBD_INSTANCES_MAX);
 * a reload applies it to later adds, updates and scales. */
static gboolean
read_max_instances (JobdConfig *config, GError **error)
{
  guint64 max = config->max_instances;

  if (!read_daemon_amount (config->keyfile, "MaxInstances", count_units, "a number",
                           &max, error))
    return FALSE;
  if (max < 1 || max > JOBD_INSTANCES_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Daemon] MaxInstances: expected 1 to %u, not %" G_GUINT64_FORMAT,
                   JOBD_INSTANCES_MAX, max);
      return FALSE;
    }
  config->max_instances = max;
  return TRUE;
}

/* MaxWatchesPerUser=: the inotify watches of jobd count against root's
 * kernel budget whoever owns the job; a reload applies it to later starts. */
static gboolean
read_max_watches (JobdConfig *config, GError **error)
{
  if (!read_daemon_amount (config->keyfile, "MaxWatchesPerUser", count_units, "a number",
                           &config->max_watches_per_user, error))
    return FALSE;
  if (config->max_watches_per_user > G_MAXUINT)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Daemon] MaxWatchesPerUser: expected 0 to %u, not %" G_GUINT64_FORMAT,
                   G_MAXUINT, config->max_watches_per_user);
      return FALSE;
    }
  return TRUE;
}

/* ---- [DBus]: bounds of the private socket ---- */

static gboolean
read_dbus_uint (GKeyFile *keyfile, const char *key, guint64 min, guint64 max,
                guint64 *field, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 value;

  if (!g_key_file_has_key (keyfile, "DBus", key, NULL))
    {
      jobd_config_effective_note_uint ("DBus", key, *field);
      return TRUE;
    }
  value = g_key_file_get_uint64 (keyfile, "DBus", key, &local_error);
  if (local_error != NULL || value < min || value > max)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[DBus] %s: expected a number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   key, min, max);
      return FALSE;
    }
  *field = value;
  jobd_config_effective_note_uint ("DBus", key, value);
  return TRUE;
}

static gboolean
read_dbus_limits (JobdConfig *config, GError **error)
{
  guint64 queued = config->dbus_max_queued_bytes;
  guint64 per_user = config->dbus_max_connections_per_user;
  guint64 total = config->dbus_max_connections;
  guint64 auth = config->dbus_auth_timeout_sec;

  if (!read_dbus_uint (config->keyfile, "MaxQueuedBytes", 65536, G_GUINT64_CONSTANT (1) << 32, &queued, error) ||
      !read_dbus_uint (config->keyfile, "MaxConnectionsPerUser", 1, 65536, &per_user, error) ||
      !read_dbus_uint (config->keyfile, "MaxConnections", 1, 65536, &total, error) ||
      !read_dbus_uint (config->keyfile, "AuthTimeoutSec", 1, 3600, &auth, error))
    return FALSE;
  config->dbus_max_queued_bytes = queued;
  config->dbus_max_connections_per_user = (guint) per_user;
  config->dbus_max_connections = (guint) total;
  config->dbus_auth_timeout_sec = (guint) auth;
  return TRUE;
}

/* "[Group] Key…" errors get "FILE:LINE: " (of the key's last line). */
static void
prefix_with_place (JobdConfig *config, GError **error)
{
  guint line = 0;

  for (guint i = 0; error != NULL && *error != NULL && i < config->entries->len; i++)
    {
      const JobdIniEntry *entry = config->entries->pdata[i];
      g_autofree char *where = entry->key != NULL
                               ? g_strdup_printf ("[%s] %s", entry->group, entry->key) : NULL;

      if (where != NULL && g_str_has_prefix ((*error)->message, where)
          && strchr (":= ", (*error)->message[strlen (where)]) != NULL)
        line = entry->line;
    }
  if (line > 0)
    g_prefix_error (error, "%s:%u: ", config->config_file, line);
  else
    g_prefix_error (error, "%s: ", config->config_file);
}

void
jobd_config_warn_unknown_keys (JobdConfig *config)
{
  GKeyFile *known = jobd_config_effective ();

  for (guint i = 0; config->entries != NULL && i < config->entries->len; i++)
    {
      const JobdIniEntry *entry = config->entries->pdata[i];

      if (entry->key == NULL && !g_key_file_has_group (known, entry->group))
        g_warning ("%s:%u: Unknown section '%s'. Ignoring.", config->config_file, entry->line,
                   entry->group);
      else if (entry->key != NULL && g_key_file_has_group (known, entry->group)
               && !g_key_file_has_key (known, entry->group, entry->key, NULL))
        g_warning ("%s:%u: Unknown key name '%s' in section '%s', ignoring.",
                   config->config_file, entry->line, entry->key, entry->group);
    }
}

gboolean
jobd_config_load (JobdConfig *config,
                  const char *path,
                  gboolean explicit_path,
                  GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *backend = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  GPtrArray *entries;
  GKeyFile *keyfile = NULL;

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      if (!explicit_path && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot read %s: ", path);
      return FALSE;
    }
  /* GKeyFile reads it; the lines are kept for messages that say where. */
  entries = jobd_ini_parse (path, text, length, &keyfile, &local_error);
  if (entries == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "cannot read ");
      return FALSE;
    }
  g_key_file_unref (config->keyfile);
  config->keyfile = keyfile;
  g_clear_pointer (&config->entries, g_ptr_array_unref);
  config->entries = entries;
  g_free (config->config_file);
  config->config_file = g_strdup (path);

  backend = g_strdup (config->backend);
  if (!read_string (config->keyfile, "Backend", &backend, error) ||
      !read_string (config->keyfile, "AdminGroup", &config->admin_group, error) ||
      !read_string (config->keyfile, "TimeZone", &config->time_zone, error) ||
      !read_string (config->keyfile, "JobsDirectory", &config->jobs_directory, error) ||
      !read_bool (config->keyfile, "StopJobsOnExit", &config->stop_jobs_on_exit, error) ||
      !read_bool (config->keyfile, "RestoreJobs", &config->restore_jobs, error) ||
      !read_daemon_amount (config->keyfile, "LogMaxSize", size_units,
                           "a size in bytes (suffix K, M, G or T)", &config->log_max_size, error) ||
      !read_daemon_amount (config->keyfile, "LogMaxAge", time_units,
                           "a time in seconds (suffix min, h, d or w)", &config->log_max_age_sec, error) ||
      !read_daemon_amount (config->keyfile, "MemoryRestartInterval", ms_units,
                           "a time in milliseconds (suffix s or min)",
                           &config->memory_restart_interval_ms, error) ||
      !read_max_instances (config, error) ||
      !read_daemon_amount (config->keyfile, "MaxJobsPerUser", count_units, "a number",
                           &config->max_jobs_per_user, error) ||
      !read_daemon_amount (config->keyfile, "MaxSettingsPerUser", size_units,
                           "a size in bytes (suffix K, M, G or T)",
                           &config->max_settings_per_user, error) ||
      !read_max_watches (config, error) ||
      !read_dbus_limits (config, error))
    {
      prefix_with_place (config, error);
      return FALSE;
    }
  if (backend == NULL)
    backend = g_strdup ("auto");
  if (!g_str_equal (backend, "auto") && !g_str_equal (backend, "systemd") &&
      !g_str_equal (backend, "direct"))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: [Daemon] Backend: expected auto, systemd or direct, not '%s'",
                   path, backend);
      return FALSE;
    }
  g_free (config->backend);
  config->backend = g_steal_pointer (&backend);
  return TRUE;
}

static gboolean
ensure_dir (const char *path, int mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
jobd_config_ensure_dirs (JobdConfig *config, GError **error)
{
  if (!ensure_dir (config->state_dir, 0755, error) ||
      !ensure_dir (config->log_dir, 0755, error) ||
      !ensure_dir (config->runtime_dir, 0755, error))
    return FALSE;
  /* Non-root clients must reach the private socket inside. */
  if (g_chmod (config->runtime_dir, 0755) < 0)
    g_debug ("cannot chmod %s: %s", config->runtime_dir, g_strerror (errno));
  return TRUE;
}

void
jobd_config_set_reload_hook (JobdConfig *config, JobdConfigReloadHook hook, gpointer user_data)
{
  config->reload_hook.hook = hook;
  config->reload_hook.user_data = user_data;
}

static gboolean
run_reload_hook (JobdConfig *config, GKeyFile *keyfile, GPtrArray *restart_keys, GError **error)
{
  return config->reload_hook.hook == NULL
         || config->reload_hook.hook (keyfile, restart_keys, config->reload_hook.user_data, error);
}

/* Logged and returned: the file is applied but for restart_keys. */
static void
say_restart_keys (JobdConfig *config, GPtrArray *restart_keys, GError **error)
{
  g_autofree char *keys = NULL;
  g_autoptr(GError) local = NULL;

  g_ptr_array_add (restart_keys, NULL);
  keys = g_strjoinv (", ", (char **) restart_keys->pdata);
  g_set_error (&local, JOBD_ERROR, JOBD_ERROR_FAILED,
               "reloaded %s, but these keys changed and need a restart of jobd to take effect"
               " (their old values stay until then): %s", config->config_file, keys);
  g_warning ("%s", local->message);
  g_propagate_error (error, g_steal_pointer (&local));
}

gboolean
jobd_config_reload (JobdConfig *config, GError **error)
{
  g_autoptr(JobdConfig) fresh = jobd_config_new ();
  g_autoptr(GPtrArray) restart_keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local = NULL;
  gboolean ok = TRUE;

  sd_notifyf (0, "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time ());
  if (config->config_file == NULL)
    g_message ("no configuration file was read at start-up; nothing to reload");
  else if (!jobd_config_load (fresh, config->config_file, TRUE, &local)
           || !run_reload_hook (config, fresh->keyfile, restart_keys, &local))
    {
      g_warning ("keeping the old configuration: %s", local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      ok = FALSE;
    }
  else
    {
      g_free (config->admin_group);
      config->admin_group = g_steal_pointer (&fresh->admin_group);
      config->stop_jobs_on_exit = fresh->stop_jobs_on_exit;
      config->restore_jobs = fresh->restore_jobs;
      /* Schedules follow a new TimeZone= (the caller recomputes them). */
      g_free (config->time_zone);
      config->time_zone = g_steal_pointer (&fresh->time_zone);
      config->log_max_size = fresh->log_max_size;
      config->log_max_age_sec = fresh->log_max_age_sec;
      config->memory_restart_interval_ms = fresh->memory_restart_interval_ms;
      config->max_instances = fresh->max_instances;
      config->max_jobs_per_user = fresh->max_jobs_per_user;
      config->max_settings_per_user = fresh->max_settings_per_user;
      config->max_watches_per_user = fresh->max_watches_per_user;
      g_free (config->jobs_directory);
      config->jobs_directory = g_steal_pointer (&fresh->jobs_directory);
      config->dbus_max_queued_bytes = fresh->dbus_max_queued_bytes;
      config->dbus_max_connections_per_user = fresh->dbus_max_connections_per_user;
      config->dbus_max_connections = fresh->dbus_max_connections;
      config->dbus_auth_timeout_sec = fresh->dbus_auth_timeout_sec;
      g_key_file_unref (config->keyfile);
      config->keyfile = g_key_file_ref (fresh->keyfile);
      g_clear_pointer (&config->entries, g_ptr_array_unref);
      config->entries = g_steal_pointer (&fresh->entries);
      jobd_config_warn_unknown_keys (config);
      if (restart_keys->len == 0)
        g_message ("reloaded %s", config->config_file);
      else
        {
          say_restart_keys (config, restart_keys, error);
          ok = FALSE;
        }
    }
  sd_notify (0, "READY=1");
  return ok;
}
