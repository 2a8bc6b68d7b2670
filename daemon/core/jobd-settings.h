/* SPDX-License-Identifier: MIT */
/* jobd-settings.h — a job's settings: the persisted part of a job.
 *
 * Settings arrive as a{sv} (D-Bus), as JSON (the state file, the legacy
 * protocol) and leave the same ways. Every field is validated here, once,
 * with one clear message per bad field; the rest of jobd trusts a
 * JobdSettings. Key names are the same in a{sv} and JSON (see
 * dbus/org.jobd1.Manager.xml).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* Job names and signal names are shared with jobctl (common/). */
#include "jobd-names.h"
#include "jobd-signal.h"

G_BEGIN_DECLS

#define JOBD_BUFFER_SIZE_DEFAULT 20
#define JOBD_BUFFER_SIZE_MAX 100000
#define JOBD_HISTORY_SIZE_DEFAULT 100
#define JOBD_HISTORY_SIZE_MAX 10000
#define JOBD_WATCH_DEBOUNCE_DEFAULT_MS 500
#define JOBD_WATCH_LIST_MAX 256        /* paths, globs and excludes, each */

typedef enum {
  JOBD_RESTART_NO,
  JOBD_RESTART_ON_FAILURE,
  JOBD_RESTART_ALWAYS,
} JobdRestartPolicy;

/* What a schedule's fire does while the job still runs. */
typedef enum {
  JOBD_OVERLAP_SKIP,
  JOBD_OVERLAP_RESTART,
  JOBD_OVERLAP_QUEUE,     /* start once the current run ends */
} JobdOverlap;

typedef struct {
  char *command;            /* program path (absolute, or resolved via PATH at start) */
  char **args;              /* explicit arguments (not including argv[0]); NULL or empty = none */
  char *params;             /* legacy argument string, split like a shell; used when args is empty */
  char *working_directory;  /* NULL = the folder of the command */
  GHashTable *environment;  /* char* → char*, additions to jobd's environment */
  guint buffer_size;        /* lines kept in the ring buffer (1..JOBD_BUFFER_SIZE_MAX) */
  gboolean write_log;
  gboolean autostart;
  JobdRestartPolicy restart;
  guint restart_delay_ms;        /* first automatic restart delay (default 1000) */
  guint restart_delay_max_ms;    /* cap of the exponential backoff (default 60000) */
  guint restart_reset_ms;        /* up this long resets the backoff (default 30000) */
  guint start_limit_burst;       /* automatic restarts allowed per interval (default 5) */
  guint start_limit_interval_ms; /* (default 60000) */
  int stop_signal;               /* default SIGTERM */
  guint stop_timeout_ms;         /* default 10000, then SIGKILL */
  int reload_signal;             /* default SIGHUP */
  char *user;                    /* NULL = the owner; only root may set */
  char *group;
  char *interpreter;             /* NULL = none; runs non-executable scripts (legacy) */
  guint64 memory_max;            /* bytes, 0 = no limit */
  guint cpu_quota;               /* percent of one CPU, 0 = no limit */
  guint64 tasks_max;             /* 0 = no limit */
  GPtrArray *schedules;          /* JobdScheduleEntry*, NULL = none (jobd-schedule.h) */
  JobdOverlap overlap;
  gboolean persistent;           /* a fire missed while jobd was down runs at start */
  guint randomized_delay_ms;     /* each fire delayed by a random 0..this */
  guint runtime_max_ms;          /* a run longer than this is stopped; 0 = no limit */
  guint history_size;            /* runs kept in the run history (default 100, 0..10000) */
  char *source_file;             /* the job file it came from (jobd-jobfile.h); NULL = none */
  char *ready;                   /* jobd-ready.h: exec (default), notify, log:, tcp:, exec-probe: */
  guint ready_timeout_ms;        /* not ready by then: a failed start (default 90000, 0 = none) */
  guint watchdog_ms;             /* WATCHDOG=1 expected this often, else restart (0 = off) */
  char *health;                  /* jobd-probe.h liveness probe; NULL = none */
  guint health_interval_ms;      /* between probes while up (default 10000) */
  guint health_timeout_ms;       /* a probe past it fails (default 5000) */
  guint health_failures;         /* failures in a row that restart the job (default 3) */
  guint64 memory_restart;        /* bytes: above it, a graceful restart (0 = off) */
  guint instances;               /* copies that run (default 1; jobd-instances.h) */
  char **requires;               /* jobd-deps.h: "JOB[:CONDITION]", NULL = none */
  char **after;                  /* same form, ordering only; NULL = none */
  char **watch;                  /* paths watched for changes (jobd-watch.h); NULL = none */
  char **watch_glob;             /* include globs; NULL = every file */
  char **watch_exclude;          /* exclude globs, besides the built-in ones */
  char *watch_action;            /* "restart" (default) or "reload" */
  guint watch_debounce_ms;       /* quiet time before acting (default 500) */
  GVariant *extra;               /* a{sv}, unknown keys kept unchanged; never NULL */
} JobdSettings;

typedef enum {
  JOBD_SETTINGS_FLAGS_NONE = 0,
  /* The caller may set user/group (root). */
  JOBD_SETTINGS_FLAGS_PRIVILEGED = 1 << 0,
  /* Keys not known to jobd go into extra instead of failing (legacy protocol,
   * the state file). Without it an unknown key is an InvalidArgs error,
   * except inside the explicit "extra" dictionary. */
  JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN = 1 << 1,
  /* Read back from the state file: a schedule that fired its last time
   * while jobd was down is kept, not refused. */
  JOBD_SETTINGS_FLAGS_STORED = 1 << 2,
} JobdSettingsFlags;

JobdSettings *jobd_settings_new (void);
JobdSettings *jobd_settings_copy (const JobdSettings *settings);
void jobd_settings_free (JobdSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdSettings, jobd_settings_free)

/* Merge the keys of an a{sv} into settings. Validates every key first; on
 * error settings is left untouched and the error (JOBD_ERROR_INVALID_ARGS)
 * names the field and why it is wrong. */
gboolean jobd_settings_merge_variant (JobdSettings *settings,
                                      GVariant *asv,
                                      JobdSettingsFlags flags,
                                      GError **error);
/* Same for a JSON object (values typed as JSON allows: numbers, strings,
 * booleans; "environment" an object of strings, "args" an array of strings). */
gboolean jobd_settings_merge_json (JobdSettings *settings,
                                   JsonObject *object,
                                   JobdSettingsFlags flags,
                                   GError **error);

/* Check what a merge cannot see alone: a command is set, delays are ordered. */
gboolean jobd_settings_validate (const JobdSettings *settings, GError **error);

/* Every setting, defaults included, as a{sv} (floating reference). */
GVariant *jobd_settings_to_variant (const JobdSettings *settings);
/* Every setting as a JSON object node (for the state file). */
JsonNode *jobd_settings_to_json (const JobdSettings *settings);

/* The argv to exec: [interpreter,] command, then args or the split params. */
char **jobd_settings_build_argv (const JobdSettings *settings, GError **error);
/* The working directory to use: the setting, or the command's folder. */
char *jobd_settings_get_working_directory (const JobdSettings *settings);

const char *jobd_overlap_to_string (JobdOverlap overlap);
gboolean jobd_overlap_from_string (const char *text, JobdOverlap *overlap, GError **error);

const char *jobd_restart_policy_to_string (JobdRestartPolicy policy);
gboolean jobd_restart_policy_from_string (const char *text,
                                          JobdRestartPolicy *policy,
                                          GError **error);

G_END_DECLS
