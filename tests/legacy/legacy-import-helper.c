/* SPDX-License-Identifier: MIT */
/* legacy-import-helper.c — run the legacy import the way
 * `jobd --import-legacy DIR [--force]` does, for test_import.py while jobd
 * itself does not have the option:
 *   legacy-import-helper --state-dir S --runtime-dir R --log-dir L
 *                        [--config FILE] [--force] DIR
 */
#include <stdlib.h>

#include "jobd-config.h"
#include "jobd-legacy-import.h"
#include "jobd-manager.h"
#include "jobd-spawner-direct.h"

static char *state_dir, *runtime_dir, *log_dir, *config_file;
static gboolean force;

static const GOptionEntry entries[] = {
  { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "state directory", "DIR" },
  { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &runtime_dir, "runtime directory", "DIR" },
  { "log-dir", 0, 0, G_OPTION_ARG_FILENAME, &log_dir, "log directory", "DIR" },
  { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file, "configuration file", "FILE" },
  { "force", 0, 0, G_OPTION_ARG_NONE, &force, "replace existing jobs", NULL },
  { NULL },
};

static void
set_path (char **field, const char *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("DIR");
  g_autoptr(JobdConfig) config = jobd_config_new ();
  g_autoptr(JobdSpawner) spawner = NULL;
  g_autoptr(JobdManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("usage: %s [options] DIR%s%s\n", argv[0], error != NULL ? ": " : "",
                  error != NULL ? error->message : "");
      return 2;
    }
  jobd_config_set_defaults (config, JOBD_BUS_NONE);
  if (config_file != NULL && !jobd_config_load (config, config_file, TRUE, &error))
    goto fail;
  set_path (&config->state_dir, state_dir);
  set_path (&config->runtime_dir, runtime_dir);
  set_path (&config->log_dir, log_dir);
  if (!jobd_config_ensure_dirs (config, &error))
    goto fail;

  spawner = jobd_spawner_direct_new ();
  manager = jobd_manager_new (config, spawner);
  if (!jobd_manager_load (manager, &error))
    goto fail;
  status = jobd_legacy_import_main (config, manager, argv[1], force);
  g_object_run_dispose (G_OBJECT (manager));
  return status;

fail:
  g_printerr ("legacy-import-helper: %s\n", error->message);
  return EXIT_FAILURE;
}
