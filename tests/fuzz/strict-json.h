/* SPDX-License-Identifier: MIT */
/* strict-json.h — is a text exactly RFC 8259 JSON, as a strict reader (PHP's
 * json_decode) takes it? json-glib's parser is lenient (single quotes, bare
 * words, comments), so the fuzz targets check answers with this instead.
 *
 * Beyond the grammar it refuses what a strict reader chokes on or reads
 * differently: invalid UTF-8, a lone UTF-16 surrogate escape, a duplicate key
 * in one object, a number that is not a finite double, nesting deeper than
 * STRICT_JSON_MAX_DEPTH.
 */
#pragma once

#include <glib.h>

#define STRICT_JSON_MAX_DEPTH 512

/* TRUE when text[0..len) is one JSON value (surrounded by optional
 * whitespace); else FALSE with *problem (static text) and *offset set. */
gboolean strict_json_check (const char *text, gsize len, const char **problem, gsize *offset);
