/* SPDX-License-Identifier: MIT */
/* jobd-config.h — jobd.conf (GKeyFile) and the paths jobd uses.
 *
 * [Daemon]
 * Backend=auto|systemd|direct
 * AdminGroup=            group whose members may change any job
 * StopJobsOnExit=false   stop running jobs when jobd shuts down
 * RestoreJobs=true       start again the jobs that were running last time
 * TimeZone=              for log file names and prefixes (default: local)
 * LogMaxSize=0, LogMaxAge=0  job log file retention (0: none)
 * JobsDirectory=         job files jobd applies at start and reload (jobd-jobs-dir.c)
 * [Legacy] ...           the TCP protocol (jobd-legacy-*.c)
 * [DBus]                 limits of the private socket (jobd-dbus-listener.c)
 * MaxQueuedBytes=8388608 what jobd holds for one client that does not read
 * MaxConnectionsPerUser=64, MaxConnections=1024
 * AuthTimeoutSec=5       a connection not authenticated by then is closed
 *
 * Paths come from the mode (system / user / embedded), systemd's
 * STATE_DIRECTORY / LOGS_DIRECTORY / RUNTIME_DIRECTORY, and --state-dir,
 * --runtime-dir, --log-dir, in increasing priority.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JOBD_BUS_NONE,     /* private socket only */
  JOBD_BUS_SYSTEM,
  JOBD_BUS_SESSION,
} JobdBusMode;

typedef struct {
  char *config_file;     /* NULL when none was read */
  GKeyFile *keyfile;     /* the whole file, for plugins; never NULL */
  JobdBusMode bus;
  char *state_dir;
  char *runtime_dir;
  char *log_dir;
  char *backend;         /* "auto", "systemd", "direct" */
  char *admin_group;     /* NULL = none */
  gboolean stop_jobs_on_exit;
  gboolean restore_jobs;  /* start again what ran when jobd/the host went down */
  char *time_zone;       /* NULL = local */
  guint64 log_max_size;  /* bytes of log files per job, 0 = no limit */
  guint64 log_max_age_sec; /* log files not written for longer go, 0 = never */
  char *jobs_directory;  /* job files applied at start and reload; NULL = off */
  /* How often jobd measures a job with memory-restart that the kernel
   * cannot watch for it (no own cgroup v2 memory controller). */
  guint64 memory_restart_interval_ms;
  guint64 max_instances; /* highest `instances` a job may have (MaxInstances=) */
  guint64 max_jobs_per_user; /* jobs (instances counted) one user may own; 0: no bound */
  guint64 max_settings_per_user; /* bytes of settings one user's jobs may hold; 0: no bound */
  /* Directories the watched jobs of one owner but root may watch
   * (MaxWatchesPerUser=, 0: no bound but the kernel's). */
  guint64 max_watches_per_user;
  GPtrArray *entries;    /* the file's lines (JobdIniEntry), for FILE:LINE messages */

  /* [DBus]: per-client bounds of the private socket */
  guint64 dbus_max_queued_bytes;
  guint dbus_max_connections_per_user;
  guint dbus_max_connections;
  guint dbus_auth_timeout_sec;

  /* A front end's part of the file ([Legacy]), read again on reload. */
  struct _JobdConfigReloadHookSlot {
    gboolean (*hook) (GKeyFile *, GPtrArray *, gpointer, GError **);
    gpointer user_data;
  } reload_hook;
} JobdConfig;

/* Called by jobd_config_reload() with the new key file once the core's keys
 * are known good, before any is applied. It returns FALSE with error when a
 * value of its own is wrong (then nothing at all is applied); else it
 * applies what it can and adds to restart_keys (strings, "[Group] Key")
 * the changed keys that only a restart of jobd applies. */
typedef gboolean (*JobdConfigReloadHook) (GKeyFile *keyfile,
                                          GPtrArray *restart_keys,
                                          gpointer user_data,
                                          GError **error);
/* One hook (the legacy server); hook NULL removes it. */
void jobd_config_set_reload_hook (JobdConfig *config, JobdConfigReloadHook hook, gpointer user_data);

JobdConfig *jobd_config_new (void);
void jobd_config_free (JobdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdConfig, jobd_config_free)

/* Fill the defaults for a mode (paths, backend). */
void jobd_config_set_defaults (JobdConfig *config, JobdBusMode bus);
/* Read a key file over the defaults; a missing file at the default path is
 * fine, a missing explicit file or a bad value is an error. */
gboolean jobd_config_load (JobdConfig *config,
                           const char *path,
                           gboolean explicit_path,
                           GError **error);
/* "FILE:LINE: Unknown key name …" for every key of the file no reader
 * took (jobd-config-effective.h knows those), as systemd warns. Call once
 * every part of jobd has read its keys. */
void jobd_config_warn_unknown_keys (JobdConfig *config);
/* Make the state, runtime and log folders (0755; the runtime socket folder
 * is world-traversable so non-root clients can connect). */
gboolean jobd_config_ensure_dirs (JobdConfig *config, GError **error);

/* Re-read the file jobd started with (SIGHUP, ReloadConfig), telling
 * systemd RELOADING=1 … READY=1 around it. Running jobs are untouched;
 * paths and the backend need a restart. On error the old values stay.
 * Changed keys that need a restart (the reload hook's) are logged and
 * named in an error (the rest is applied), so ReloadConfig says so too.
 * Every failure is logged here. */
gboolean jobd_config_reload (JobdConfig *config, GError **error);

/* The default runtime directory for a mode (jobctl uses it to find jobd). */
char *jobd_config_default_runtime_dir (JobdBusMode bus);

G_END_DECLS
