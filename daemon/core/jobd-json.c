/* SPDX-License-Identifier: MIT */
/* jobd-json.c — JSON text as jobd writes it (see jobd-json.h). */
#include "config.h"

#include "jobd-json.h"

#include <string.h>

/* 0x1F is ASCII: in json-glib's output it can only be a raw character
 * inside a string, never part of a multi-byte sequence or of the syntax. */
static char *
escape_unit_separators (char *text, gsize *len)
{
  gsize length = len != NULL ? *len : strlen (text);
  GString *out;

  if (memchr (text, 0x1f, length) == NULL)
    return text;
  out = g_string_sized_new (length + 16);
  for (gsize i = 0; i < length; i++)
    if (text[i] == 0x1f)
      g_string_append (out, "\\u001f");
    else
      g_string_append_c (out, text[i]);
  g_free (text);
  if (len != NULL)
    *len = out->len;
  return g_string_free (out, FALSE);
}

char *
jobd_json_generator_to_data (JsonGenerator *generator, gsize *len)
{
  return escape_unit_separators (json_generator_to_data (generator, len), len);
}

char *
jobd_json_to_string (JsonNode *node, gboolean pretty)
{
  return escape_unit_separators (json_to_string (node, pretty), NULL);
}
