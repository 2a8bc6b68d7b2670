/* SPDX-License-Identifier: MIT */
/* jobd-legacy-config.c — [Legacy] of jobd.conf: read, noted, compared. */
#include "config.h"

#include "jobd-legacy-config.h"

#include <string.h>

#include "jobd-config-effective.h"
#include "jobd-parse.h"
#include "jobd-error.h"

static const struct {
  const char *name;
  JobdLegacyPlugins flag;
} plugin_names[] = {
  { "auth", JOBD_LEGACY_PLUGIN_AUTH },
  { "logexplorer", JOBD_LEGACY_PLUGIN_LOGEXPLORER },
  { "scheduler", JOBD_LEGACY_PLUGIN_SCHEDULER },
  { "logcleaner", JOBD_LEGACY_PLUGIN_LOGCLEANER },
};

/* [Legacy] KEY as a number in [min, max]; *value untouched when absent. */
static gboolean
read_uint (GKeyFile *keyfile, const char *key, guint64 min, guint64 max,
           guint64 *value, GError **error)
{
  g_autofree char *text = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, key, NULL);

  if (text != NULL && !g_ascii_string_to_unsigned (g_strstrip (text), 10, min, max, value, NULL))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "[Legacy] %s=%s: expected a number from %" G_GUINT64_FORMAT
                   " to %" G_GUINT64_FORMAT, key, text, min, max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_enable (GKeyFile *keyfile, gboolean *enable, GError **error)
{
  g_autofree char *text = g_key_file_get_value (keyfile, JOBD_LEGACY_GROUP, "Enable", NULL);

  *enable = TRUE;
  /* yes/no, true/false, on/off, 1/0, as every boolean of jobd.conf. */
  if (text == NULL || jobd_parse_bool (g_strstrip (text), enable, NULL))
    return TRUE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "[Legacy] Enable: expected yes or no (true/false, on/off, 1/0), not '%s'", text);
  return FALSE;
}

/* Default: every plugin, as the old server's "*". Documented as a comma
 * list; GKeyFile's own ';' separator works too. Unknown names are ignored. */
static JobdLegacyPlugins
read_plugins (GKeyFile *keyfile)
{
  g_autofree char *value = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, "Plugins", NULL);
  g_auto(GStrv) words = NULL;
  JobdLegacyPlugins plugins = 0;

  if (value == NULL)
    return JOBD_LEGACY_PLUGIN_ALL;
  words = g_strsplit_set (value, ",;", 0);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_strstrip (words[i]);
      if (g_str_equal (words[i], "*"))
        plugins = JOBD_LEGACY_PLUGIN_ALL;
      for (guint p = 0; p < G_N_ELEMENTS (plugin_names); p++)
        if (g_str_equal (words[i], plugin_names[p].name))
          plugins |= plugin_names[p].flag;
    }
  return plugins;
}

static gboolean
read_numbers (GKeyFile *keyfile, JobdLegacyConfig *conf, GError **error)
{
  return read_uint (keyfile, "MaxFrameSize", 64, G_MAXUINT32, &conf->max_frame, error)
         && read_uint (keyfile, "ReadTimeoutSec", 1, 3600, &conf->read_timeout_sec, error)
         && read_uint (keyfile, "MaxConnections", 1, 65536, &conf->max_connections, error)
         && read_uint (keyfile, "MaxAnswerSize", 4096, G_MAXUINT32, &conf->max_answer, error)
         && read_uint (keyfile, "MaxQueuedAnswerBytes", 4096, G_MAXSIZE, &conf->max_queued, error)
         && read_uint (keyfile, "LogExpireDays", 1, 100000, &conf->log_expire_days, error)
         && read_uint (keyfile, "LogCleanIntervalSec", 1, G_MAXUINT32,
                       &conf->log_clean_interval_sec, error);
}

gboolean
jobd_legacy_config_read (GKeyFile *keyfile, JobdLegacyConfig *conf, GError **error)
{
  g_autofree char *interpreter = NULL;

  jobd_legacy_config_clear (conf);
  conf->max_frame = JOBD_LEGACY_FRAME_MAX_DEFAULT;
  conf->read_timeout_sec = 10;
  conf->max_connections = 512;
  conf->max_answer = JOBD_LEGACY_ANSWER_MAX_DEFAULT;
  conf->max_queued = JOBD_LEGACY_QUEUED_MAX_DEFAULT;
  conf->log_expire_days = JOBD_LEGACY_LOG_EXPIRE_DAYS_DEFAULT;
  conf->log_clean_interval_sec = JOBD_LEGACY_LOG_CLEAN_INTERVAL_DEFAULT;
  if (!read_enable (keyfile, &conf->enable, error) || !read_numbers (keyfile, conf, error))
    {
      jobd_legacy_config_clear (conf);
      return FALSE;
    }
  conf->listen = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, "Listen", NULL);
  if (conf->listen == NULL)
    conf->listen = g_strdup (JOBD_LEGACY_LISTEN_DEFAULT);
  conf->user = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, "User", NULL);
  interpreter = g_key_file_get_string (keyfile, JOBD_LEGACY_GROUP, "Interpreter", NULL);
  conf->interpreter = g_strdup (interpreter != NULL && *interpreter != '\0' ? interpreter : "php");
  conf->plugins = read_plugins (keyfile);
  return TRUE;
}

void
jobd_legacy_config_note (const JobdLegacyConfig *conf)
{
  g_autoptr(GPtrArray) enabled = g_ptr_array_new_null_terminated (G_N_ELEMENTS (plugin_names),
                                                                  NULL, TRUE);
  g_autofree char *plugins = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (plugin_names); i++)
    if (conf->plugins & plugin_names[i].flag)
      g_ptr_array_add (enabled, (gpointer) plugin_names[i].name);
  plugins = g_strjoinv (",", (char **) enabled->pdata);

  jobd_config_effective_note_bool (JOBD_LEGACY_GROUP, "Enable", conf->enable);
  jobd_config_effective_note (JOBD_LEGACY_GROUP, "Listen", conf->listen);
  /* Empty means the automatic choice (jobd-legacy, else nobody; yourself when not root). */
  jobd_config_effective_note (JOBD_LEGACY_GROUP, "User", conf->user);
  jobd_config_effective_note (JOBD_LEGACY_GROUP, "Interpreter", conf->interpreter);
  jobd_config_effective_note (JOBD_LEGACY_GROUP, "Plugins", plugins);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "MaxFrameSize", conf->max_frame);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "ReadTimeoutSec", conf->read_timeout_sec);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "MaxConnections", conf->max_connections);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "MaxAnswerSize", conf->max_answer);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "MaxQueuedAnswerBytes", conf->max_queued);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "LogExpireDays", conf->log_expire_days);
  jobd_config_effective_note_uint (JOBD_LEGACY_GROUP, "LogCleanIntervalSec",
                                   conf->log_clean_interval_sec);
}

void
jobd_legacy_config_clear (JobdLegacyConfig *conf)
{
  g_free (conf->listen);
  g_free (conf->user);
  g_free (conf->interpreter);
  memset (conf, 0, sizeof *conf);
}

void
jobd_legacy_config_apply_live (JobdLegacyConfig *conf, const JobdLegacyConfig *fresh)
{
  g_free (conf->interpreter);
  conf->interpreter = g_strdup (fresh->interpreter);
  conf->max_frame = fresh->max_frame;
  conf->read_timeout_sec = fresh->read_timeout_sec;
  conf->max_connections = fresh->max_connections;
  conf->max_answer = fresh->max_answer;
  conf->max_queued = fresh->max_queued;
}

GPtrArray *
jobd_legacy_config_restart_keys (const JobdLegacyConfig *conf, const JobdLegacyConfig *fresh)
{
  GPtrArray *keys = g_ptr_array_new ();

  if (conf->enable != fresh->enable)
    g_ptr_array_add (keys, "Enable");
  if (g_strcmp0 (conf->listen, fresh->listen) != 0)
    g_ptr_array_add (keys, "Listen");
  if (g_strcmp0 (conf->user, fresh->user) != 0)
    g_ptr_array_add (keys, "User");
  if (conf->plugins != fresh->plugins)
    g_ptr_array_add (keys, "Plugins");
  if (conf->log_expire_days != fresh->log_expire_days)
    g_ptr_array_add (keys, "LogExpireDays");
  if (conf->log_clean_interval_sec != fresh->log_clean_interval_sec)
    g_ptr_array_add (keys, "LogCleanIntervalSec");
  return keys;
}
