/* SPDX-License-Identifier: MIT */
/* jobd-ini.h — the lines of a GKeyFile-style file, with their line numbers.
 *
 * GKeyFile checks the syntax but keeps neither line numbers nor repeated
 * keys (its lookup returns the last one). Job files need both (errors say
 * FILE:LINE; Environment= may be given many times, as in systemd), and so
 * do the unknown-key warnings of jobd.conf. So a file is loaded by GKeyFile
 * first (its syntax errors are the errors) and then walked line by line
 * here, in order.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *group;  /* the section the line is in */
  char *key;    /* trimmed; NULL on the "[group]" line itself */
  char *value;  /* raw: leading and trailing blanks removed, no unescaping */
  guint line;   /* 1-based */
} JobdIniEntry;

/* Every "[group]" and key=value line of text in order, as a GPtrArray of JobdIniEntry
 * (free with g_ptr_array_unref). NULL with a G_KEY_FILE_ERROR prefixed
 * with "PATH: " when GKeyFile rejects the text; keyfile (may be NULL)
 * receives GKeyFile's reading of it. */
GPtrArray *jobd_ini_parse (const char *path, const char *text, gsize length,
                           GKeyFile **keyfile, GError **error);

G_END_DECLS
