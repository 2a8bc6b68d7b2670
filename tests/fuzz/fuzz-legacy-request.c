/* fuzz-legacy-request.c — libFuzzer target for the legacy request path:
 * frame check, request parser and the dispatcher (with a real manager on a
 * throw-away state folder). START and RESTART are left out so the fuzzer
 * never runs programs it made up; every other command runs for real.
 *
 * Seed corpus: tests/fuzz/corpus-legacy/ (valid frames' payloads).
 */
#include <stdint.h>

#include "jobd-legacy-auth.h"
#include "jobd-legacy-codec.h"
#include "jobd-legacy-dispatch.h"
#include "jobd-manager.h"
#include "jobd-spawner-direct.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static JobdLegacy *legacy;

static void
setup (void)
{
  JobdConfig *config = jobd_config_new ();   /* lives for the process */
  g_autofree char *dir = g_dir_make_tmp ("jobd-fuzz-XXXXXX", NULL);
  g_autoptr(JobdSpawner) spawner = jobd_spawner_direct_new ();
  g_autoptr(JobdManager) manager = NULL;
  g_autoptr(GError) error = NULL;

  g_assert (dir != NULL);
  jobd_config_set_defaults (config, JOBD_BUS_NONE);
  g_free (config->state_dir);
  config->state_dir = g_build_filename (dir, "state", NULL);
  g_free (config->runtime_dir);
  config->runtime_dir = g_build_filename (dir, "run", NULL);
  g_free (config->log_dir);
  config->log_dir = g_build_filename (dir, "logs", NULL);
  g_key_file_set_string (config->keyfile, "Legacy", "User", g_get_user_name ());
  if (!jobd_config_ensure_dirs (config, &error))
    g_error ("%s", error->message);

  manager = jobd_manager_new (config, spawner);
  legacy = jobd_legacy_new (manager, config, &error);
  if (legacy == NULL)
    g_error ("%s", error->message);
  g_hash_table_remove (legacy->commands, "START");
  g_hash_table_remove (legacy->commands, "RESTART");
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **response = user_data;
  gsize len;

  *response = jobd_legacy_dispatch_finish (legacy, result, &len);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize payload_len, response_len;
  g_autofree char *response = NULL;

  if (legacy == NULL)
    setup ();

  /* The input is a frame stream: check the header like the server does. */
  if (jobd_legacy_frame_check (data, size, JOBD_LEGACY_FRAME_MAX_DEFAULT, &payload_len)
      == JOBD_LEGACY_FRAME_COMPLETE)
    {
      data += JOBD_LEGACY_FRAME_HEADER;
      size = payload_len;
    }

  response = jobd_legacy_dispatch (legacy, JOBD_LEGACY_PEER_UNKNOWN, data, size, &response_len, NULL, done_cb,
                                   &response);
  while (response == NULL)   /* not answered at once: done_cb sets it */
    g_main_context_iteration (NULL, TRUE);
  g_assert (g_utf8_validate (response, -1, NULL));
  return 0;
}
