/* SPDX-License-Identifier: MIT */
/* jobd-legacy-codec.c — framing and messages of the legacy TCP protocol.
 *
 * Every byte here may come from a hostile client: lengths are checked
 * before use, payloads are validated (UTF-8, no NUL, bounded JSON nesting)
 * before json-glib sees them.
 */
#include "jobd-legacy-codec.h"
#include "jobd-json.h"

#include <math.h>
#include <string.h>

/* json-glib's parser recurses per nesting level; a megabyte of '[' would
 * overflow the stack. Legacy parameters are at most three levels deep. */
#define JOBD_LEGACY_JSON_DEPTH_MAX 32

G_DEFINE_QUARK (jobd-legacy-codec-error-quark, jobd_legacy_codec_error)

const char *
jobd_legacy_code_to_string (JobdLegacyCode code)
{
  switch (code)
    {
    case JOBD_LEGACY_CODE_OK:
      return "OK";
    case JOBD_LEGACY_CODE_FAILED:
      return "FAILED";
    case JOBD_LEGACY_CODE_DENIED:
      return "DENIED";
    case JOBD_LEGACY_CODE_UNKNOWN:
      return "UNKNOWN";
    default:
      g_return_val_if_reached ("FAILED");
    }
}

JobdLegacyFrameStatus
jobd_legacy_frame_check (const guint8 *buf,
                         gsize len,
                         gsize max_payload,
                         gsize *payload_len)
{
  guint32 announced;

  *payload_len = 0;
  if (len < JOBD_LEGACY_FRAME_HEADER)
    return JOBD_LEGACY_FRAME_INCOMPLETE;

  /* Assemble by hand: no alignment or host byte order assumptions. */
  announced = (guint32) buf[0]
    | ((guint32) buf[1] << 8)
    | ((guint32) buf[2] << 16)
    | ((guint32) buf[3] << 24);
  *payload_len = announced;

  if (announced > max_payload)
    return JOBD_LEGACY_FRAME_TOO_LARGE;
  if (len - JOBD_LEGACY_FRAME_HEADER < announced)
    return JOBD_LEGACY_FRAME_INCOMPLETE;
  return JOBD_LEGACY_FRAME_COMPLETE;
}

void
jobd_legacy_frame_header (guint8 header[JOBD_LEGACY_FRAME_HEADER], gsize len)
{
  g_return_if_fail (len <= G_MAXUINT32);

  header[0] = len & 0xff;
  header[1] = (len >> 8) & 0xff;
  header[2] = (len >> 16) & 0xff;
  header[3] = (len >> 24) & 0xff;
}

void
jobd_legacy_request_free (JobdLegacyRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->command);
  g_clear_pointer (&request->params, json_object_unref);
  g_free (request);
}

gboolean
jobd_legacy_command_is_valid (const char *word, gsize len)
{
  gboolean part_empty = TRUE;

  if (len == 0 || len > JOBD_LEGACY_COMMAND_MAX)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = word[i];

      if (c == '.')
        {
          if (part_empty)
            return FALSE;
          part_empty = TRUE;
          continue;
        }
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
        return FALSE;
      part_empty = FALSE;
    }
  return !part_empty;
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v';
}

/* The old protocol's JSON is RFC 8259, and json-glib accepts more than that
 * (single-quoted strings, comments, hex and leading-zero numbers, raw
 * control characters in strings) and reads some numbers wrongly (1e400 is
 * infinity, which it writes back as "inf.0"; integers beyond int64 wrap).
 * So the text is checked here first, strictly, and json-glib only ever sees
 * JSON it reads the way any other JSON reader would. Also bounded: at most
 * JOBD_LEGACY_JSON_DEPTH_MAX levels, no "\u0000" (it would reach us as a C
 * string cut short: "a\u0000/../x" must not quietly become "a"), no lone
 * surrogates (no UTF-8 for them). */
typedef struct {
  const char *p, *end;
  const char *problem;   /* why the text was refused */
} Strict;

static gboolean
strict_fail (Strict *st, const char *problem)
{
  if (st->problem == NULL)
    st->problem = problem;
  return FALSE;
}

static void
strict_space (Strict *st)
{
  while (st->p < st->end && (*st->p == ' ' || *st->p == '\t' || *st->p == '\n' || *st->p == '\r'))
    st->p++;
}

static gboolean
strict_hex4 (Strict *st, guint *value)
{
  *value = 0;
  if (st->end - st->p < 4)
    return strict_fail (st, "a \\u escape needs four hex digits");
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (st->p[i]);

      if (digit < 0)
        return strict_fail (st, "a \\u escape needs four hex digits");
      *value = *value * 16 + (guint) digit;
    }
  st->p += 4;
  return TRUE;
}

/* At the opening quote. The text is valid UTF-8 already. */
static gboolean
strict_string (Strict *st)
{
  st->p++;
  while (st->p < st->end)
    {
      guchar c = (guchar) *st->p++;
      guint unit, low;

      if (c == '"')
        return TRUE;
      if (c < 0x20)
        return strict_fail (st, "a control character inside a string");
      if (c != '\\')
        continue;
      if (st->p == st->end)
        break;
      c = (guchar) *st->p++;
      if (strchr ("\"\\/bfnrt", c) != NULL && c != '\0')
        continue;
      if (c != 'u')
        return strict_fail (st, "an invalid escape in a string");
      if (!strict_hex4 (st, &unit))
        return FALSE;
      if (unit == 0)
        return strict_fail (st, "parameters contain a NUL character");
      if (unit >= 0xdc00 && unit <= 0xdfff)
        return strict_fail (st, "a lone surrogate in a string");
      if (unit >= 0xd800 && unit <= 0xdbff)
        {
          if (st->end - st->p < 2 || st->p[0] != '\\' || st->p[1] != 'u')
            return strict_fail (st, "a lone surrogate in a string");
          st->p += 2;
          if (!strict_hex4 (st, &low))
            return FALSE;
          if (low < 0xdc00 || low > 0xdfff)
            return strict_fail (st, "a lone surrogate in a string");
        }
    }
  return strict_fail (st, "an unterminated string");
}

static gboolean
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* RFC 8259's number grammar, and a value that survives being read and
 * written again: integers within int64, other numbers finite as doubles. */
static gboolean
strict_number (Strict *st)
{
  const char *start = st->p;
  gboolean integer = TRUE;
  g_autofree char *copy = NULL;

  if (st->p < st->end && *st->p == '-')
    st->p++;
  if (st->p == st->end || !is_digit (*st->p))
    return strict_fail (st, "an invalid value");
  if (*st->p == '0')
    st->p++;
  else
    while (st->p < st->end && is_digit (*st->p))
      st->p++;
  if (st->p < st->end && *st->p == '.')
    {
      integer = FALSE;
      st->p++;
      if (st->p == st->end || !is_digit (*st->p))
        return strict_fail (st, "a number without digits after the point");
      while (st->p < st->end && is_digit (*st->p))
        st->p++;
    }
  if (st->p < st->end && (*st->p == 'e' || *st->p == 'E'))
    {
      integer = FALSE;
      st->p++;
      if (st->p < st->end && (*st->p == '+' || *st->p == '-'))
        st->p++;
      if (st->p == st->end || !is_digit (*st->p))
        return strict_fail (st, "a number without exponent digits");
      while (st->p < st->end && is_digit (*st->p))
        st->p++;
    }

  copy = g_strndup (start, st->p - start);
  if (integer)
    {
      gint64 value;

      if (!g_ascii_string_to_signed (copy, 10, G_MININT64, G_MAXINT64, &value, NULL))
        return strict_fail (st, "an integer out of range");
    }
  else if (!isfinite (g_ascii_strtod (copy, NULL)))
    return strict_fail (st, "a number out of range");
  return TRUE;
}

static gboolean
strict_literal (Strict *st, const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (st->end - st->p) < len || memcmp (st->p, word, len) != 0)
    return strict_fail (st, "an invalid value");
  st->p += len;
  return TRUE;
}

static gboolean strict_value (Strict *st, guint depth);

/* At '{' or '['. */
static gboolean
strict_container (Strict *st, guint depth)
{
  gboolean object = *st->p == '{';
  char close = object ? '}' : ']';

  if (depth >= JOBD_LEGACY_JSON_DEPTH_MAX)
    return strict_fail (st, "parameters nested too deep");
  st->p++;
  strict_space (st);
  if (st->p < st->end && *st->p == close)
    {
      st->p++;
      return TRUE;
    }
  for (;;)
    {
      if (object)
        {
          if (st->p == st->end || *st->p != '"')
            return strict_fail (st, "a member name that is not a string");
          if (!strict_string (st))
            return FALSE;
          strict_space (st);
          if (st->p == st->end || *st->p != ':')
            return strict_fail (st, "a missing ':'");
          st->p++;
          strict_space (st);
        }
      if (!strict_value (st, depth + 1))
        return FALSE;
      strict_space (st);
      if (st->p < st->end && *st->p == close)
        {
          st->p++;
          return TRUE;
        }
      if (st->p == st->end || *st->p != ',')
        return strict_fail (st, "a missing ',' or closing bracket");
      st->p++;
      strict_space (st);
    }
}

static gboolean
strict_value (Strict *st, guint depth)
{
  if (st->p == st->end)
    return strict_fail (st, "a missing value");
  switch (*st->p)
    {
    case '{':
    case '[':
      return strict_container (st, depth);
    case '"':
      return strict_string (st);
    case 't':
      return strict_literal (st, "true");
    case 'f':
      return strict_literal (st, "false");
    case 'n':
      return strict_literal (st, "null");
    default:
      return strict_number (st);
    }
}

/* One JSON object as RFC 8259 has it, then nothing but whitespace. */
static gboolean
json_strict_ok (const char *text, gsize len, GError **error)
{
  Strict st = { text, text + len, NULL };

  if (len == 0 || text[0] != '{')
    st.problem = "parameters are not a JSON object";
  else if (strict_container (&st, 0))
    {
      strict_space (&st);
      if (st.p != st.end)
        st.problem = "unexpected data after the parameters";
    }
  if (st.problem == NULL)
    return TRUE;
  g_set_error (error, JOBD_LEGACY_CODEC_ERROR, JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
               "parameters are not strict JSON: %s (at byte %" G_GSIZE_FORMAT ")",
               st.problem, (gsize) (st.p - text));
  return FALSE;
}

static const char *
skip_json_space (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* A JSON string without escapes or control characters, whose text is its
 * value: a copy of it, *p moved past it. NULL when there is none. */
static char *
scan_plain_string (const char **p, const char *end)
{
  const char *start = *p + 1, *s = start;

  if (*p == end || **p != '"')
    return NULL;
  while (s < end && *s != '"' && *s != '\\' && (guchar) *s >= 0x20)
    s++;
  if (s == end || *s != '"')
    return NULL;
  *p = s + 1;
  return g_strndup (start, s - start);
}

/* Nearly every request carries one flat object of plain strings
 * ({"jobname":"x"}), and json-glib's parser costs more than all the rest of
 * a STATUS request, so those objects are read here. Anything else (escapes,
 * numbers, nesting, an empty or repeated name, a syntax error) gives NULL
 * and goes to json-glib, which has the last word. text is valid UTF-8 and
 * is strict JSON (json_strict_ok). */
static JsonObject *
parse_plain_object (const char *text, gsize len)
{
  const char *p = skip_json_space (text + 1, text + len), *end = text + len;
  g_autoptr(JsonObject) object = json_object_new ();

  if (p < end && *p == '}')
    return skip_json_space (p + 1, end) == end ? g_steal_pointer (&object) : NULL;
  for (;;)
    {
      g_autofree char *name = scan_plain_string (&p, end);
      g_autofree char *value = NULL;

      if (name == NULL || *name == '\0' || json_object_has_member (object, name))
        return NULL;
      p = skip_json_space (p, end);
      if (p == end || *p != ':')
        return NULL;
      p = skip_json_space (p + 1, end);
      value = scan_plain_string (&p, end);
      if (value == NULL)
        return NULL;
      json_object_set_string_member (object, name, value);
      p = skip_json_space (p, end);
      if (p < end && *p == '}')
        return skip_json_space (p + 1, end) == end ? g_steal_pointer (&object) : NULL;
      if (p == end || *p != ',')
        return NULL;
      p = skip_json_space (p + 1, end);
    }
}

static JsonObject *
parse_params (const char *text, gsize len, JobdLegacyParsePath path, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonObject *plain;
  JsonNode *root;

  if (!json_strict_ok (text, len, error))
    return NULL;
  if (path != JOBD_LEGACY_PARSE_JSON_GLIB)
    {
      plain = parse_plain_object (text, len);
      if (plain != NULL)
        return plain;
    }
  if (path == JOBD_LEGACY_PARSE_FAST)
    {
      g_set_error_literal (error, JOBD_LEGACY_CODEC_ERROR,
                           JOBD_LEGACY_CODEC_ERROR_NOT_PLAIN,
                           "parameters are not a flat object of plain strings");
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local_error))
    {
      g_set_error (error, JOBD_LEGACY_CODEC_ERROR,
                   JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
                   "parameters are not valid JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, JOBD_LEGACY_CODEC_ERROR,
                           JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
                           "parameters are not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

JobdLegacyRequest *
jobd_legacy_request_parse (const void *payload, gsize len, GError **error)
{
  return jobd_legacy_request_parse_path (payload, len, JOBD_LEGACY_PARSE_AUTO, error);
}

JobdLegacyRequest *
jobd_legacy_request_parse_path (const void *payload,
                                gsize len,
                                JobdLegacyParsePath path,
                                GError **error)
{
  const char *text = payload;
  gsize start = 0, end = len, word_end;
  g_autoptr(JobdLegacyRequest) request = NULL;

  while (start < end && is_space (text[start]))
    start++;
  while (end > start && is_space (text[end - 1]))
    end--;

  word_end = start;
  while (word_end < end && !is_space (text[word_end]))
    word_end++;

  if (!jobd_legacy_command_is_valid (text + start, word_end - start))
    {
      g_set_error_literal (error, JOBD_LEGACY_CODEC_ERROR,
                           JOBD_LEGACY_CODEC_ERROR_BAD_COMMAND,
                           "missing or malformed command word");
      return NULL;
    }

  request = g_new0 (JobdLegacyRequest, 1);
  request->command = g_strndup (text + start, word_end - start);

  if (word_end == end)
    {
      request->params = json_object_new ();
      return g_steal_pointer (&request);
    }

  /* The old client sends exactly one space; be lenient about more. */
  while (word_end < end && is_space (text[word_end]))
    word_end++;

  if (memchr (text + word_end, '\0', end - word_end) != NULL
      || !g_utf8_validate_len (text + word_end, end - word_end, NULL))
    {
      g_set_error_literal (error, JOBD_LEGACY_CODEC_ERROR,
                           JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
                           "parameters contain NUL bytes or invalid UTF-8");
      return NULL;
    }

  request->params = parse_params (text + word_end, end - word_end, path, error);
  if (request->params == NULL)
    return NULL;
  return g_steal_pointer (&request);
}

/* A string json-glib would write without escaping anything. */
static gboolean
needs_no_escape (const char *s)
{
  for (; *s != '\0'; s++)
    if (*s == '"' || *s == '\\' || (guchar) *s < 0x20 || *s == 0x7f)
      return FALSE;
  return TRUE;
}

/* What json_to_string() writes, without a JsonGenerator for the commonest
 * data, a short string (UP, DOWN). */
static void
append_json (GString *text, JsonNode *data)
{
  g_autofree char *json = NULL;

  if (JSON_NODE_HOLDS_VALUE (data) && json_node_get_value_type (data) == G_TYPE_STRING
      && needs_no_escape (json_node_get_string (data)))
    {
      g_string_append_c (text, '"');
      g_string_append (text, json_node_get_string (data));
      g_string_append_c (text, '"');
      return;
    }
  json = jobd_json_to_string (data, FALSE);
  g_string_append (text, json);
}

/* The envelope is written by hand: a JsonBuilder, a JsonGenerator and a
 * deep copy of data per answer cost more than the rest of a STATUS. */
char *
jobd_legacy_response_build (JobdLegacyCode code, JsonNode *data, gsize *len)
{
  GString *text = g_string_sized_new (64);

  g_string_append (text, "{\"code\":\"");
  g_string_append (text, jobd_legacy_code_to_string (code));
  g_string_append_c (text, '"');
  if (data != NULL)
    {
      g_string_append (text, ",\"data\":");
      append_json (text, data);
    }
  g_string_append_c (text, '}');
  *len = text->len;
  return g_string_free (text, FALSE);
}

static gboolean
param_error (GError **error, const char *key, const char *what)
{
  g_set_error (error, JOBD_LEGACY_CODEC_ERROR,
               JOBD_LEGACY_CODEC_ERROR_BAD_PARAMS,
               "parameter \"%s\" %s", key, what);
  return FALSE;
}

/* The member, or NULL when absent; a JSON null counts as absent, as PHP's
 * isset() treated it. */
static JsonNode *
get_member (JsonObject *params, const char *key)
{
  JsonNode *node = json_object_get_member (params, key);

  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

gboolean
jobd_legacy_param_string (JsonObject *params,
                          const char *key,
                          gboolean required,
                          const char **value,
                          GError **error)
{
  JsonNode *node = get_member (params, key);

  if (node == NULL)
    return required ? param_error (error, key, "is required") : TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return param_error (error, key, "must be a string");
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
jobd_legacy_param_bool (JsonObject *params,
                        const char *key,
                        gboolean required,
                        gboolean *value,
                        GError **error)
{
  JsonNode *node = get_member (params, key);
  GType type;

  if (node == NULL)
    return required ? param_error (error, key, "is required") : TRUE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_BOOLEAN)
    *value = json_node_get_boolean (node);
  else if (type == G_TYPE_INT64)
    *value = json_node_get_int (node) != 0;
  else
    return param_error (error, key, "must be a boolean");
  return TRUE;
}

gboolean
jobd_legacy_param_object (JsonObject *params,
                          const char *key,
                          gboolean required,
                          JsonObject **value,
                          GError **error)
{
  JsonNode *node = get_member (params, key);

  if (node == NULL)
    return required ? param_error (error, key, "is required") : TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return param_error (error, key, "must be an object");
  *value = json_node_get_object (node);
  return TRUE;
}
