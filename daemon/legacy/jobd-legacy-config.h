/* SPDX-License-Identifier: MIT */
/* jobd-legacy-config.h — the [Legacy] group of jobd.conf, typed and read in
 * one place.
 *
 * jobd_legacy_new() reads it once; the server, the plugins and the core
 * commands take their values from JobdLegacy.conf, never from the key file.
 * On ReloadConfig / SIGHUP the server reads it again: the limits on
 * connections and frames and the interpreter apply at once (to the next
 * connection, frame or job written); the other keys are fixed at start-up
 * (a socket, a user, loaded plugins, a timer) and the reload says which of
 * them changed and need a restart (jobd_legacy_config_restart_keys()).
 */
#pragma once

#include <glib.h>

#include "jobd-legacy-codec.h"  /* JOBD_LEGACY_FRAME_MAX_DEFAULT */

G_BEGIN_DECLS

#define JOBD_LEGACY_GROUP "Legacy"

#define JOBD_LEGACY_LISTEN_DEFAULT "127.0.0.1:13123"
#define JOBD_LEGACY_ANSWER_MAX_DEFAULT (64 * 1024 * 1024)
#define JOBD_LEGACY_QUEUED_MAX_DEFAULT (32 * 1024 * 1024)
#define JOBD_LEGACY_LOG_EXPIRE_DAYS_DEFAULT 7
#define JOBD_LEGACY_LOG_CLEAN_INTERVAL_DEFAULT 3600

typedef enum {
  JOBD_LEGACY_PLUGIN_AUTH        = 1 << 0,
  JOBD_LEGACY_PLUGIN_LOGEXPLORER = 1 << 1,
  JOBD_LEGACY_PLUGIN_SCHEDULER   = 1 << 2,
  JOBD_LEGACY_PLUGIN_LOGCLEANER  = 1 << 3,
  JOBD_LEGACY_PLUGIN_ALL         = 0xf,
} JobdLegacyPlugins;

typedef struct {
  /* Fixed at start-up: a change needs a restart. */
  gboolean enable;                 /* Enable= (default true) */
  char *listen;                    /* Listen= (never NULL) */
  char *user;                      /* User= as written; NULL = the automatic choice */
  JobdLegacyPlugins plugins;       /* Plugins= (default every plugin) */
  guint64 log_expire_days;         /* LogExpireDays= */
  guint64 log_clean_interval_sec;  /* LogCleanIntervalSec= */
  /* Applied by a reload. */
  char *interpreter;               /* Interpreter= for non-executable scripts (never NULL) */
  guint64 max_frame;               /* MaxFrameSize= */
  guint64 read_timeout_sec;        /* ReadTimeoutSec= */
  guint64 max_connections;         /* MaxConnections= */
  guint64 max_answer;              /* MaxAnswerSize= */
  guint64 max_queued;              /* MaxQueuedAnswerBytes= */
} JobdLegacyConfig;

/* Fill *conf (cleared first) from [Legacy] of keyfile over the defaults.
 * On error (a value out of range, a wrong boolean) *conf is left cleared. */
gboolean jobd_legacy_config_read (GKeyFile *keyfile, JobdLegacyConfig *conf, GError **error);
/* Record every value in the effective configuration (jobd-config-effective.h). */
void jobd_legacy_config_note (const JobdLegacyConfig *conf);
void jobd_legacy_config_clear (JobdLegacyConfig *conf);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobdLegacyConfig, jobd_legacy_config_clear)
/* Copy what a reload applies (the second half of the struct) from fresh. */
void jobd_legacy_config_apply_live (JobdLegacyConfig *conf, const JobdLegacyConfig *fresh);
/* The keys fixed at start-up whose value differs in fresh, in the order of
 * the struct ("Listen", "User", …); an empty array when none. */
GPtrArray *jobd_legacy_config_restart_keys (const JobdLegacyConfig *conf,
                                            const JobdLegacyConfig *fresh);

G_END_DECLS
