/* SPDX-License-Identifier: MIT */
/* fuzz-legacy-request.c — libFuzzer target for the legacy request path:
 * frame check, request parser and the dispatcher (with a real manager on a
 * throw-away state folder). START and RESTART are left out so the fuzzer
 * never runs programs it made up; every other command runs for real.
 *
 * An input is a session: a stream of frames (4-byte little-endian length,
 * payload), each dispatched in turn, at most MAX_FRAMES; bytes that do not
 * make a whole frame are dispatched as one raw payload. Every input starts
 * from a fresh jobd (empty state folder, new manager and plugins), so an
 * input that turns auth on or deletes everything cannot lock the later ones
 * out: what an input reaches depends on that input alone.
 *
 * Differential check of the request parser's hand-written fast path: for
 * every payload the fast path accepts, json-glib must read the same command
 * and the same members (names, order, values); any disagreement aborts.
 *
 * Every answer must be strict JSON (RFC 8259, strict-json.h) of the form
 * {"code": OK|FAILED|DENIED|UNKNOWN[, "data": …]}; anything else aborts.
 *
 * Seed corpus: tests/fuzz/corpus-legacy/ (made by tests/fuzz/make-seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>

#include "jobd-legacy-codec.h"
#include "jobd-legacy-dispatch.h"
#include "jobd-manager.h"
#include "jobd-spawner-direct.h"
#include "strict-json.h"

#define MAX_FRAMES 32

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static JobdConfig *config;
static JobdSpawner *spawner;
static char *top;

static void
make_log (const char *relative)
{
  g_autofree char *path = g_build_filename (config->log_dir, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert (g_mkdir_with_parents (dir, 0755) == 0);
  g_assert (g_file_set_contents (path, "[2024-01-01 00:00:00] line\n", -1, NULL));
}

static void
setup (void)
{

  top = g_dir_make_tmp ("jobd-fuzz-XXXXXX", NULL);
  g_assert (top != NULL);
  config = jobd_config_new ();
  jobd_config_set_defaults (config, JOBD_BUS_NONE);
  g_free (config->state_dir);
  config->state_dir = g_build_filename (top, "state", NULL);
  g_free (config->runtime_dir);
  config->runtime_dir = g_build_filename (top, "run", NULL);
  g_free (config->log_dir);
  config->log_dir = g_build_filename (top, "logs", NULL);
  g_key_file_set_string (config->keyfile, "Legacy", "User", g_get_user_name ());
  spawner = jobd_spawner_direct_new ();
  /* Logs are only read by the commands fuzzed here, so they stay. */
  make_log ("a/20240101/2024010100.log");
  make_log ("a/20240101/2024010101.log");
  make_log ("jobd/20240101/2024010100.log");
}

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children =
    g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                               G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;
  GFile *child;

  while (children != NULL
         && g_file_enumerator_iterate (children, &info, &child, NULL, NULL)
         && info != NULL)
    if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      remove_tree (child);
    else
      g_file_delete (child, NULL, NULL);
  g_file_delete (file, NULL, NULL);
}

/* A jobd as it is after its first start: no jobs, no auth users, no
 * schedules, every plugin loaded. */
static JobdLegacy *
fresh_legacy (void)
{
  g_autoptr(GFile) state = g_file_new_for_path (config->state_dir);
  g_autoptr(GFile) run = g_file_new_for_path (config->runtime_dir);
  g_autoptr(JobdManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  JobdLegacy *legacy;

  remove_tree (state);
  remove_tree (run);
  if (!jobd_config_ensure_dirs (config, &error))
    g_error ("%s", error->message);
  manager = jobd_manager_new (config, spawner);
  legacy = jobd_legacy_new (manager, config, &error);
  if (legacy == NULL)
    g_error ("%s", error->message);
  if (!jobd_legacy_unregister (legacy, "START") || !jobd_legacy_unregister (legacy, "RESTART"))
    g_error ("START and RESTART are not legacy commands any more: fix the fuzz target");
  return legacy;
}

/* Abort unless the answer is {"code": CODE} or {"code": CODE, "data": …}
 * in strict JSON. json-glib reads the shape once strictness is settled. */
static void
check_answer (const char *answer, gsize len)
{
  const char *problem = NULL;
  gsize offset = 0;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  const char *code;

  if (!strict_json_check (answer, len, &problem, &offset))
    {
      fprintf (stderr, "answer is not strict JSON (%s at byte %zu): %.*s\n",
               problem, offset, (int) MIN (len, 4096), answer);
      abort ();
    }
  if (!json_parser_load_from_data (parser, answer, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      fprintf (stderr, "answer is not a JSON object: %.*s\n", (int) MIN (len, 4096), answer);
      abort ();
    }
  object = json_node_get_object (json_parser_get_root (parser));
  code = json_object_get_string_member_with_default (object, "code", "");
  if (!g_str_equal (code, "OK") && !g_str_equal (code, "FAILED")
      && !g_str_equal (code, "DENIED") && !g_str_equal (code, "UNKNOWN"))
    {
      fprintf (stderr, "answer has no valid code: %.*s\n", (int) MIN (len, 4096), answer);
      abort ();
    }
  if (json_object_get_size (object) != (json_object_has_member (object, "data") ? 2u : 1u))
    {
      fprintf (stderr, "answer has keys besides code and data: %.*s\n",
               (int) MIN (len, 4096), answer);
      abort ();
    }
}

static void
fast_path_disagrees (const guint8 *payload, gsize len, const char *what)
{
  fprintf (stderr, "fast path and json-glib disagree (%s) on: %.*s\n",
           what, (int) MIN (len, 4096), (const char *) payload);
  abort ();
}

/* Whenever the fast path accepts a payload, json-glib must agree with it. */
static void
check_fast_path (const guint8 *payload, gsize len)
{
  g_autoptr(JobdLegacyRequest) fast =
    jobd_legacy_request_parse_path (payload, len, JOBD_LEGACY_PARSE_FAST, NULL);
  g_autoptr(JobdLegacyRequest) slow = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) fast_node = NULL, slow_node = NULL;
  g_autofree char *fast_text = NULL, *slow_text = NULL;

  if (fast == NULL)
    return;
  slow = jobd_legacy_request_parse_path (payload, len, JOBD_LEGACY_PARSE_JSON_GLIB, &error);
  if (slow == NULL)
    fast_path_disagrees (payload, len, error->message);
  if (!g_str_equal (fast->command, slow->command))
    fast_path_disagrees (payload, len, "command");
  fast_node = json_node_init_object (json_node_alloc (), fast->params);
  slow_node = json_node_init_object (json_node_alloc (), slow->params);
  if (!json_node_equal (fast_node, slow_node))
    fast_path_disagrees (payload, len, "members");
  fast_text = json_to_string (fast_node, FALSE);
  slow_text = json_to_string (slow_node, FALSE);
  if (!g_str_equal (fast_text, slow_text))
    fast_path_disagrees (payload, len, "member order");
}

typedef struct {
  JobdLegacy *legacy;
  char *answer;
  gsize len;
} Pending;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *pending = user_data;

  pending->answer = jobd_legacy_dispatch_finish (pending->legacy, result, &pending->len);
}

static void
dispatch (JobdLegacy *legacy, const guint8 *payload, gsize len)
{
  Pending pending = { legacy, NULL, 0 };

  check_fast_path (payload, len);
  pending.answer = jobd_legacy_dispatch (legacy, JOBD_LEGACY_PEER_UNKNOWN, payload, len, &pending.len, NULL,
                                         done_cb, &pending);
  while (pending.answer == NULL)   /* not answered at once: done_cb sets it */
    g_main_context_iteration (NULL, TRUE);
  check_answer (pending.answer, pending.len);
  g_free (pending.answer);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(JobdLegacy) legacy = NULL;
  JobdManager *manager;
  guint frames = 0;

  if (config == NULL)
    setup ();
  legacy = fresh_legacy ();

  while (size > 0 && frames++ < MAX_FRAMES)
    {
      gsize payload_len;

      if (jobd_legacy_frame_check (data, size, JOBD_LEGACY_FRAME_MAX_DEFAULT, &payload_len)
          == JOBD_LEGACY_FRAME_COMPLETE)
        {
          dispatch (legacy, data + JOBD_LEGACY_FRAME_HEADER, payload_len);
          data += JOBD_LEGACY_FRAME_HEADER + payload_len;
          size -= JOBD_LEGACY_FRAME_HEADER + payload_len;
        }
      else
        {
          dispatch (legacy, data, size);
          size = 0;
        }
    }
  /* Let anything the commands queued (saves, timers due now) run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* Nothing may keep this jobd alive into the next input. */
  manager = legacy->manager;
  g_object_add_weak_pointer (G_OBJECT (manager), (gpointer *) &manager);
  g_clear_pointer (&legacy, jobd_legacy_free);
  if (manager != NULL)
    {
      fprintf (stderr, "the manager outlives its input (%u references)\n",
               G_OBJECT (manager)->ref_count);
      abort ();
    }
  return 0;
}
