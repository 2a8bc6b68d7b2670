/* SPDX-License-Identifier: MIT */
/* jobd-json.h — JSON text as jobd writes it (answers, state files).
 *
 * json-glib up to 1.6 writes U+001F (unit separator) raw inside strings
 * (json_strescape escapes only characters below 0x1F). RFC 8259 wants every
 * control character escaped, and strict readers such as PHP's json_decode()
 * refuse the whole text, so one job whose params hold that character broke
 * every GETALL answer. Everything jobd writes as JSON goes through here.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json_generator_to_data() with every control character escaped. */
char *jobd_json_generator_to_data (JsonGenerator *generator, gsize *len);
/* json_to_string() with every control character escaped. */
char *jobd_json_to_string (JsonNode *node, gboolean pretty);

G_END_DECLS
