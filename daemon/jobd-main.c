/* SPDX-License-Identifier: MIT */
/* jobd-main.c — parse options, wire the parts together, run the main loop.
 *
 * Nothing here but wiring: configuration (jobd-config.c), the spawner
 * (jobd-spawner-*.c), the manager (jobd-manager.c), the front ends
 * (jobd-dbus-service.c, the legacy TCP server) and systemd notification.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <systemd/sd-daemon.h>

#include "jobd-child.h"
#include "jobd-config.h"
#include "jobd-dbus-service.h"
#include "jobd-error.h"
#include "jobd-fdstore.h"
#include "jobd-jobs-dir.h"
#include "jobd-legacy-import.h"
#include "jobd-legacy-server.h"
#include "jobd-logretention.h"
#include "jobd-manager.h"
#include "jobd-names.h"
#include "jobd-serverlog.h"
#include "jobd-spawner-direct.h"
#include "jobd-spawner-scope.h"

typedef struct {
  GMainLoop *loop;
  JobdConfig *config;
  JobdManager *manager;
  JobdDBusService *dbus;
  JobdLegacyServer *legacy;
  JobdLogRetention *log_retention;
  int exit_status;
  gboolean shutting_down;
  int lock_fd;
  int state_lock_fd;
  GError *startup_error;
  gboolean ready;
  guint status_idle;     /* STATUS= update pending (end of turn, or a timeout) */
  gint64 status_sent;    /* monotonic µs of the last STATUS= */
} Daemon;

static struct {
  gboolean system;
  gboolean user;
  char *config_file;
  char *state_dir;
  char *runtime_dir;
  char *log_dir;
  char *backend;
  gboolean verbose;
  gboolean version;
  char *import_legacy;
  gboolean force;
} opts;

static const GOptionEntry option_entries[] = {
  { "system", 0, 0, G_OPTION_ARG_NONE, &opts.system, N_("Serve on the system bus (as a system service)"), NULL },
  { "user", 0, 0, G_OPTION_ARG_NONE, &opts.user, N_("Serve on the session bus, jobs in the user's systemd manager"), NULL },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opts.config_file, N_("Read configuration from FILE"), N_("FILE") },
  { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts.state_dir, N_("Keep the job registry in DIR"), N_("DIR") },
  { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts.runtime_dir, N_("Put the private socket and output FIFOs in DIR"), N_("DIR") },
  { "log-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts.log_dir, N_("Write log files under DIR"), N_("DIR") },
  { "backend", 0, 0, G_OPTION_ARG_STRING, &opts.backend, N_("How to run jobs: auto, systemd or direct"), N_("BACKEND") },
  { "import-legacy", 0, 0, G_OPTION_ARG_FILENAME, &opts.import_legacy, N_("Import an old php-backend-server data folder and exit"), N_("DIR") },
  { "force", 0, 0, G_OPTION_ARG_NONE, &opts.force, N_("With --import-legacy: replace jobs that exist"), NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose, N_("Log debug messages"), NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opts.version, N_("Print the version and exit"), NULL },
  { NULL }
};

static char *
default_config_path (JobdBusMode bus)
{
  if (bus == JOBD_BUS_SESSION || (bus == JOBD_BUS_NONE && getuid () != 0))
    return g_build_filename (g_get_user_config_dir (), "jobd", "jobd.conf", NULL);
  return g_build_filename (JOBD_SYSCONFDIR, "jobd", "jobd.conf", NULL);
}

static gboolean
setup_config (JobdConfig *config, GError **error)
{
  JobdBusMode bus = opts.system ? JOBD_BUS_SYSTEM : opts.user ? JOBD_BUS_SESSION : JOBD_BUS_NONE;
  g_autofree char *path = NULL;

  if (opts.system && opts.user)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "--system and --user exclude each other");
      return FALSE;
    }
  jobd_config_set_defaults (config, bus);
  path = opts.config_file != NULL ? g_strdup (opts.config_file) : default_config_path (bus);
  if (!jobd_config_load (config, path, opts.config_file != NULL, error))
    return FALSE;

#define OVERRIDE(field, value) \
  if ((value) != NULL) { g_free (config->field); config->field = g_canonicalize_filename ((value), NULL); }
  OVERRIDE (state_dir, opts.state_dir);
  OVERRIDE (runtime_dir, opts.runtime_dir);
  OVERRIDE (log_dir, opts.log_dir);
#undef OVERRIDE
  if (opts.backend != NULL)
    {
      g_free (config->backend);
      config->backend = g_strdup (opts.backend);
    }
  return jobd_config_ensure_dirs (config, error);
}

/* One writer per state directory: a second jobd, or an --import-legacy,
 * on the same registry would replace files the other is appending to, and
 * acknowledged changes would be lost. The lock is on the directory itself,
 * so it holds whatever runtime directory each one was given, and works on a
 * read-only state directory too. */
static gboolean
take_state_lock (Daemon *daemon, GError **error)
{
  const char *dir = daemon->config->state_dir;

  daemon->state_lock_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (daemon->state_lock_fd < 0 || flock (daemon->state_lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   saved == EWOULDBLOCK ? "another jobd (or an import) is using state directory %s"
                                        : "cannot lock %s: %s",
                   dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* One jobd per runtime directory: a second one would fight over the socket
 * and the jobs. */
static gboolean
take_instance_lock (Daemon *daemon, GError **error)
{
  g_autofree char *path = g_build_filename (daemon->config->runtime_dir, "jobd.lock", NULL);

  daemon->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (daemon->lock_fd < 0 || flock (daemon->lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_BUSY,
                   saved == EWOULDBLOCK ? "another jobd is already running with runtime directory %s"
                                        : "cannot lock %s: %s",
                   saved == EWOULDBLOCK ? daemon->config->runtime_dir : path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Backend=systemd needs a systemd manager on the bus (the system manager,
 * or the user manager with --user); auto uses it when it answers. Probed
 * once at start-up, before the main loop serves anyone. */
static JobdSpawner *
create_spawner (JobdConfig *config, GError **error)
{
  GBusType bus_type = config->bus == JOBD_BUS_SESSION ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM;
  gboolean required = g_str_equal (config->backend, "systemd");
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) bus_error = NULL;

  if (g_str_equal (config->backend, "direct"))
    return jobd_spawner_direct_new ();

  bus = g_bus_get_sync (bus_type, NULL, &bus_error);
  if (bus != NULL && jobd_spawner_scope_available (bus, 2000))
    return jobd_spawner_scope_new (bus);

  if (required)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "Backend=systemd, but no systemd manager answers on the %s bus%s%s",
                   bus_type == G_BUS_TYPE_SESSION ? "session" : "system",
                   bus_error != NULL ? ": " : "", bus_error != NULL ? bus_error->message : "");
      return NULL;
    }
  g_message ("no systemd manager answers: running jobs directly");
  return jobd_spawner_direct_new ();
}

/* Each running job holds a few descriptors (output FIFOs, pidfd): take the
 * hard limit as the soft one, as the default 1024 would cap jobd at a few
 * hundred jobs. Jobs get the usual soft limit back (jobd-child.c). */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      jobd_child_set_fd_soft_limit (limit.rlim_cur);
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) < 0)
        g_debug ("cannot raise the descriptor limit: %s", g_strerror (errno));
    }
}

static void
notify_status (Daemon *daemon)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (daemon->manager);
  guint up = 0;

  g_clear_handle_id (&daemon->status_idle, g_source_remove);
  daemon->status_sent = g_get_monotonic_time ();
  for (guint i = 0; i < jobs->len; i++)
    if (jobd_job_get_state (jobs->pdata[i]) == JOBD_STATE_UP)
      up++;
  sd_notifyf (0, "STATUS=%u of %u jobs up", up, jobs->len);
}

static gboolean
on_status_idle (gpointer user_data)
{
  Daemon *daemon = user_data;

  daemon->status_idle = 0;
  notify_status (daemon);
  return G_SOURCE_REMOVE;
}

/* Counting walks every job, and each STATUS= costs PID 1 a message to parse
 * and a PropertiesChanged to send (1 000 adds made it do 3 s of work): at
 * most one every STATUS_INTERVAL_MSEC, at the end of a main-loop turn
 * however many jobs changed in it, the last state always told, and only to
 * a service manager that listens. */
#define STATUS_INTERVAL_MSEC 250

static void
notify_status_soon (Daemon *daemon)
{
  gint64 since_ms;

  if (daemon->status_idle != 0 || g_getenv ("NOTIFY_SOCKET") == NULL)
    return;
  since_ms = (g_get_monotonic_time () - daemon->status_sent) / 1000;
  if (since_ms >= STATUS_INTERVAL_MSEC)
    daemon->status_idle = g_idle_add_full (G_PRIORITY_LOW, on_status_idle, daemon, NULL);
  else
    daemon->status_idle = g_timeout_add_full (G_PRIORITY_LOW,
                                              (guint) (STATUS_INTERVAL_MSEC - since_ms),
                                              on_status_idle, daemon, NULL);
}

static void
on_job_state_changed (JobdManager *manager, JobdJob *job, int old_state, int new_state,
                      GVariant *details, gpointer user_data)
{
  notify_status_soon (user_data);
}

/* STATUS= counts jobs too: adding or removing one changes "N of M". */
static void
on_job_added_or_removed (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  notify_status_soon (user_data);
}

static void
on_shutdown_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Daemon *daemon = user_data;

  jobd_manager_shutdown_finish (JOBD_MANAGER (source), result, NULL);
  g_main_loop_quit (daemon->loop);
}

static void
begin_shutdown (Daemon *daemon, const char *why)
{
  if (daemon->shutting_down)
    {
      g_message ("%s again: exiting now", why);
      g_main_loop_quit (daemon->loop);
      return;
    }
  daemon->shutting_down = TRUE;
  g_message ("%s: shutting down", why);
  sd_notify (0, "STOPPING=1");
  if (daemon->config->stop_jobs_on_exit)
    jobd_manager_shutdown_async (daemon->manager, NULL, on_shutdown_done, daemon);
  else
    {
      g_autoptr(GError) error = NULL;

      /* Jobs run on: leave the registry whole (journal folded in) for the
       * next jobd, or for an administrator reading jobs.json. */
      if (!jobd_manager_save (daemon->manager, &error))
        g_warning ("cannot save the job registry: %s", error->message);
      g_main_loop_quit (daemon->loop);
    }
}

static gboolean
on_sigterm (gpointer user_data)
{
  begin_shutdown (user_data, "SIGTERM");
  return G_SOURCE_CONTINUE;
}

/* SIGHUP: re-read jobd.conf, as the ReloadConfig method does. */
static gboolean
on_sighup (gpointer user_data)
{
  Daemon *daemon = user_data;

  /* What went wrong, or which keys need a restart, is logged there. */
  (void) jobd_config_reload (daemon->config, NULL);
  if (daemon->manager != NULL)
    jobd_manager_time_zone_changed (daemon->manager);
  jobd_jobs_dir_apply (daemon->manager, TRUE);
  notify_status (daemon);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_watchdog (gpointer user_data)
{
  sd_notify (0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/* With WatchdogSec= in the unit, ping at half the interval: the main loop
 * turning is exactly what the watchdog should vouch for. */
static void
start_watchdog (void)
{
  uint64_t usec = 0;

  if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0)
    g_timeout_add ((guint) MAX (usec / 2000, 1), on_watchdog, NULL);
}

static gboolean
on_sigint (gpointer user_data)
{
  begin_shutdown (user_data, "SIGINT");
  return G_SOURCE_CONTINUE;
}

static void
on_bus_name_lost (gpointer user_data)
{
  Daemon *daemon = user_data;

  daemon->exit_status = EXIT_FAILURE;
  begin_shutdown (daemon, "bus name lost");
}

/* Serving every front end (and owning the bus name, in bus mode). */
static void
announce_ready (Daemon *daemon)
{
  /* Restore and the front ends have claimed their descriptors by now. */
  jobd_fdstore_release_unclaimed ();
  jobd_manager_start_autostart_jobs (daemon->manager);
  sd_notify (0, "READY=1");
  notify_status (daemon);
}

static void
on_bus_name_acquired (gpointer user_data)
{
  Daemon *daemon = user_data;

  if (!daemon->ready)
    {
      daemon->ready = TRUE;
      announce_ready (daemon);
    }
}

static gboolean
start_serving (Daemon *daemon, GError **error)
{
  g_autofree char *socket_path = g_build_filename (daemon->config->runtime_dir, JOBD_SOCKET_NAME, NULL);

  daemon->dbus = jobd_dbus_service_new (daemon->manager, error);
  if (daemon->dbus == NULL || !jobd_dbus_service_listen_private (daemon->dbus, socket_path, error))
    return FALSE;
  if (daemon->config->bus != JOBD_BUS_NONE)
    jobd_dbus_service_own_name (daemon->dbus,
                                daemon->config->bus == JOBD_BUS_SYSTEM ? G_BUS_TYPE_SYSTEM
                                                                       : G_BUS_TYPE_SESSION,
                                on_bus_name_acquired, on_bus_name_lost, daemon);
  /* legacy protocol */
  daemon->legacy = jobd_legacy_server_new (daemon->manager, daemon->config, error);
  if (daemon->legacy == NULL || !jobd_legacy_server_start (daemon->legacy, error))
    return FALSE;
  return TRUE;
}

static void
on_restored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Daemon *daemon = user_data;

  jobd_manager_restore_finish (daemon->manager, result, NULL);
  /* Before the autostart pass (announce_ready), which starts what it adds. */
  jobd_jobs_dir_apply (daemon->manager, FALSE);
  if (!start_serving (daemon, &daemon->startup_error))
    {
      g_main_loop_quit (daemon->loop);
      return;
    }
  /* Every front end has read its part of jobd.conf by now. */
  jobd_config_warn_unknown_keys (daemon->config);
  /* On a bus, ready means the name is ours (on_bus_name_acquired). */
  if (daemon->config->bus == JOBD_BUS_NONE)
    {
      daemon->ready = TRUE;
      announce_ready (daemon);
    }
}

/* [Daemon] LogMaxAge= and LogMaxSize=, read at each pass so a reload
 * applies. A file written to within the last hour may be the one open for
 * this hour: it is never deleted. */
static gboolean
log_retention_rule (JobdLogPrune *rule, gint64 now_sec, gpointer user_data)
{
  Daemon *daemon = user_data;
  guint64 max_age = daemon->config->log_max_age_sec;

  if (max_age == 0 && daemon->config->log_max_size == 0)
    return FALSE;
  rule->older_than = max_age == 0 || max_age > (guint64) now_sec ? G_MININT64
                     : now_sec - (gint64) max_age;
  rule->max_bytes = daemon->config->log_max_size;
  rule->keep_since = now_sec - 3600;
  rule->empty_dirs_before = now_sec - 3600;
  return TRUE;
}

static gboolean
run (Daemon *daemon, GError **error)
{
  g_autoptr(JobdSpawner) spawner = NULL;

  /* A D-Bus method without its one row in the access table: refuse early,
   * before any job is taken back. */
  if (!jobd_dbus_service_check_access_table (error))
    return FALSE;
  /* An import only writes the state directory: it needs that lock only. */
  if (!setup_config (daemon->config, error) || !take_state_lock (daemon, error) ||
      (opts.import_legacy == NULL && !take_instance_lock (daemon, error)))
    return FALSE;
  raise_fd_limit ();
  jobd_server_log_set_log_dir (daemon->config->log_dir);

  spawner = create_spawner (daemon->config, error);
  if (spawner == NULL)
    return FALSE;
  g_message ("jobd %s starting (backend %s, state %s, runtime %s, logs %s)",
             PACKAGE_VERSION, jobd_spawner_get_name (spawner), daemon->config->state_dir,
             daemon->config->runtime_dir, daemon->config->log_dir);

  daemon->manager = jobd_manager_new (daemon->config, spawner);
  if (!jobd_manager_load (daemon->manager, error))
    return FALSE;
  if (opts.import_legacy != NULL)
    {
      /* The state lock is held: no jobd writes this registry meanwhile. */
      daemon->exit_status = jobd_legacy_import_main (daemon->config, daemon->manager,
                                                     opts.import_legacy, opts.force);
      return TRUE;
    }

  g_signal_connect (daemon->manager, "job-state-changed", G_CALLBACK (on_job_state_changed), daemon);
  g_signal_connect (daemon->manager, "job-added", G_CALLBACK (on_job_added_or_removed), daemon);
  g_signal_connect (daemon->manager, "job-removed", G_CALLBACK (on_job_added_or_removed), daemon);
  g_unix_signal_add (SIGTERM, on_sigterm, daemon);
  g_unix_signal_add (SIGINT, on_sigint, daemon);
  g_unix_signal_add (SIGHUP, on_sighup, daemon);
  start_watchdog ();
  daemon->log_retention = jobd_log_retention_new (daemon->config->log_dir, "log retention", 3600,
                                                  log_retention_rule, daemon);
  jobd_log_retention_start (daemon->log_retention);

  /* Take back running jobs before anyone can ask to start them twice. */
  jobd_manager_restore_async (daemon->manager, NULL, on_restored, daemon);
  g_main_loop_run (daemon->loop);
  if (daemon->startup_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&daemon->startup_error));
      return FALSE;
    }

  if (daemon->dbus != NULL)
    jobd_dbus_service_stop (daemon->dbus);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Daemon daemon = { .lock_fd = -1, .state_lock_fd = -1, .exit_status = EXIT_SUCCESS };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* A client that goes away must not kill jobd. */
  signal (SIGPIPE, SIG_IGN);
  jobd_server_log_install ();
  jobd_fdstore_init ();
  (void) jobd_error_quark ();

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("jobd supervises long-running background jobs."));
  g_option_context_add_main_entries (context, option_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("jobd: %s\n", error->message);
      return 2;
    }
  if (opts.version)
    {
      g_print ("jobd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  jobd_server_log_set_verbose (opts.verbose);

  daemon.loop = g_main_loop_new (NULL, FALSE);
  daemon.config = jobd_config_new ();
  if (!run (&daemon, &error))
    {
      g_printerr ("jobd: %s\n", error->message);
      daemon.exit_status = EXIT_FAILURE;
    }

  g_clear_handle_id (&daemon.status_idle, g_source_remove);
  g_clear_pointer (&daemon.legacy, jobd_legacy_server_free);
  g_clear_pointer (&daemon.log_retention, jobd_log_retention_free);
  g_clear_object (&daemon.dbus);
  if (daemon.manager != NULL)
    g_object_run_dispose (G_OBJECT (daemon.manager));
  g_clear_object (&daemon.manager);
  jobd_config_free (daemon.config);
  g_main_loop_unref (daemon.loop);
  jobd_server_log_shutdown ();
  if (daemon.lock_fd >= 0)
    close (daemon.lock_fd);
  if (daemon.state_lock_fd >= 0)
    close (daemon.state_lock_fd);
  g_free (opts.config_file);
  g_free (opts.state_dir);
  g_free (opts.runtime_dir);
  g_free (opts.log_dir);
  g_free (opts.backend);
  g_free (opts.import_legacy);
  g_message ("jobd exited");
  return daemon.exit_status;
}
