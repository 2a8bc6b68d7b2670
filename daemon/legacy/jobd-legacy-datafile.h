/* SPDX-License-Identifier: MIT */
/* jobd-legacy-datafile.h — what the legacy plugins share: their JSON data
 * files under STATE_DIR/plugins/ ([Legacy] settings: jobd-legacy-config.h).
 *
 * A data file is written whole and durably (temp file, fsync, rename) with
 * mode 0600 (the auth file holds password hashes); a missing file is an
 * empty plugin, an unreadable one an error that stops jobd rather than a
 * plugin silently starting empty and overwriting it.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The file's top-level object, borrowed from parser; *object is NULL (and
 * TRUE returned) when the file does not exist. */
gboolean jobd_legacy_datafile_load (const char *path,
                                    JsonParser *parser,
                                    JsonObject **object,
                                    GError **error);
gboolean jobd_legacy_datafile_save (const char *path, JsonNode *root, GError **error);

G_END_DECLS
