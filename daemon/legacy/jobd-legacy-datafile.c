/* SPDX-License-Identifier: MIT */
/* jobd-legacy-datafile.c — plugin data files. */
#include "config.h"

#include "jobd-legacy-datafile.h"
#include "jobd-json.h"

#include <errno.h>

#include <glib/gstdio.h>

#include "jobd-error.h"

gboolean
jobd_legacy_datafile_load (const char *path,
                           JsonParser *parser,
                           JsonObject **object,
                           GError **error)
{
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  *object = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "%s: not a JSON object", path);
      return FALSE;
    }
  *object = json_node_get_object (root);
  return TRUE;
}

gboolean
jobd_legacy_datafile_save (const char *path, JsonNode *root, GError **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;
  gsize len;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = jobd_json_generator_to_data (generator, &len);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "%s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents_full (path, text, len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}
