/* SPDX-License-Identifier: MIT */
/* jobd-legacy-codec.h — framing and messages of the legacy TCP protocol.
 *
 * A frame is a 4-byte little-endian length followed by that many bytes.
 * A request payload is "CMD" or "CMD {json object}"; a response payload is
 * {"code": CODE} or {"code": CODE, "data": DATA}. Everything here is a pure
 * function of its input (no I/O, no main loop), so it is unit-tested and
 * fuzzed directly. See /work/shared/legacy-protocol.md.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define JOBD_LEGACY_FRAME_HEADER 4
#define JOBD_LEGACY_FRAME_MAX_DEFAULT (1024 * 1024)
/* Longest command word accepted ("LOGEXPLORER.SERVERLISTFILE" is 26). */
#define JOBD_LEGACY_COMMAND_MAX 64

typedef enum {
  JOBD_LEGACY_CODE_OK,
  JOBD_LEGACY_CODE_FAILED,
  JOBD_LEGACY_CODE_DENIED,
  JOBD_LEGACY_CODE_UNKNOWN,
} JobdLegacyCode;

const char *jobd_legacy_code_to_string (JobdLegacyCode code);

typedef enum {
  JOBD_LEGACY_FRAME_INCOMPLETE,  /* need more bytes */
  JOBD_LEGACY_FRAME_COMPLETE,    /* a whole frame is in the buffer */
  JOBD_LEGACY_FRAME_TOO_LARGE,   /* the header announces more than max */
} JobdLegacyFrameStatus;

/* Look at the start of buf: is there a whole frame? On COMPLETE,
 * *payload_len is the payload size (the frame takes
 * JOBD_LEGACY_FRAME_HEADER + *payload_len bytes). On TOO_LARGE and
 * INCOMPLETE with a full header, *payload_len is the announced size. */
JobdLegacyFrameStatus jobd_legacy_frame_check (const guint8 *buf,
                                               gsize len,
                                               gsize max_payload,
                                               gsize *payload_len);

/* The header of a frame with a payload of len bytes (at most G_MAXUINT32). */
void jobd_legacy_frame_header (guint8 header[JOBD_LEGACY_FRAME_HEADER], gsize len);

#define JOBD_LEGACY_CODEC_ERROR (jobd_legacy_codec_error_quark ())
GQuark jobd_legacy_codec_error_quark (void);

typedef enum {
  /* The command word is missing, too long, or not [A-Z0-9_.] — UNKNOWN. */
  JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND,
  /* The parameters are not a JSON object — FAILED. */
  JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
  /* Only from JOBD_LEGACY_PARSE_FAST: the fast path does not take these
   * parameters (not a flat object of plain strings); json-glib would. */
  JOBD_LEGACY_CODEC_ERROR_NOT_PLAIN,
} JobdLegacyCodecError;

typedef struct {
  char *command;       /* validated command word */
  JsonObject *params;  /* never NULL (empty object when none were sent) */
} JobdLegacyRequest;

void jobd_legacy_request_free (JobdLegacyRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyRequest, jobd_legacy_request_free)

/* Command words: upper-case letters, digits and '_', in dot-separated
 * non-empty parts ("ADD", "AUTH.ADD"), at most JOBD_LEGACY_COMMAND_MAX. */
gboolean jobd_legacy_command_is_valid (const char *word, gsize len);

/* Parse a request payload (any bytes: NULs, invalid UTF-8 are rejected).
 * Surrounding ASCII whitespace is ignored, as the old server trimmed it. */
JobdLegacyRequest *jobd_legacy_request_parse (const void *payload,
                                              gsize len,
                                              GError **error);

/* Which reader turns the parameters into a JsonObject. AUTO is what
 * jobd_legacy_request_parse does: the hand-written fast path for flat
 * objects of plain strings, json-glib for everything else. FAST and
 * JSON_GLIB force one of them, so that tests and the fuzz target can check
 * that both agree wherever the fast path accepts (the fast path declines
 * with JOBD_LEGACY_CODEC_ERROR_NOT_PLAIN). Requests without parameters and
 * rejected command words or bytes take the same code in every mode. */
typedef enum {
  JOBD_LEGACY_PARSE_AUTO,
  JOBD_LEGACY_PARSE_FAST,
  JOBD_LEGACY_PARSE_JSON_GLIB,
} JobdLegacyParsePath;

JobdLegacyRequest *jobd_legacy_request_parse_path (const void *payload,
                                                   gsize len,
                                                   JobdLegacyParsePath path,
                                                   GError **error);

/* The response payload (JSON text, not framed). data may be NULL (then no
 * "data" key); it is not consumed. */
char *jobd_legacy_response_build (JobdLegacyCode code,
                                  JsonNode *data,
                                  gsize *len);

/* Typed parameter access: each returns FALSE and sets error
 * (JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS) when the key is missing and required,
 * or has the wrong JSON type; a missing optional key leaves *value alone.
 * Strings must be JSON strings without NUL. Booleans also accept the
 * integers PHP code often sends for them (0 false, anything else true). */
gboolean jobd_legacy_param_string (JsonObject *params,
                                   const char *key,
                                   gboolean required,
                                   const char **value,
                                   GError **error);
gboolean jobd_legacy_param_bool (JsonObject *params,
                                 const char *key,
                                 gboolean required,
                                 gboolean *value,
                                 GError **error);
gboolean jobd_legacy_param_object (JsonObject *params,
                                   const char *key,
                                   gboolean required,
                                   JsonObject **value,
                                   GError **error);

G_END_DECLS
