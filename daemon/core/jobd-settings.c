/* SPDX-License-Identifier: MIT */
/* jobd-settings.c — validation and conversion of a job's settings.
 *
 * One table (settings_fields) describes every setting: its key, its kind,
 * where it lives in JobdSettings and its range. Values arrive either as a
 * GVariant (D-Bus) or a JsonNode (state file, legacy protocol); the small
 * value_* readers hide that difference, so each kind is validated by one
 * function whatever the source. Output goes through a{sv} only: the JSON
 * form is its json-glib serialization, which keeps both forms in step.
 */
#include "jobd-settings.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "jobd-error.h"
#include "jobd-names.h"
#include "jobd-schedule.h"
#include "jobd-probe.h"
#include "jobd-ready.h"
#include "jobd-deps.h"
#include "jobd-signal.h"

#define MS_PER_DAY (24u * 60u * 60u * 1000u)
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* ---- restart policies ------------------------------------------------ */

static const char * const restart_policy_names[] = {
  [JOBD_RESTART_NO] = "no",
  [JOBD_RESTART_ON_FAILURE] = "on-failure",
  [JOBD_RESTART_ALWAYS] = "always",
};

const char *
jobd_restart_policy_to_string (JobdRestartPolicy policy)
{
  g_return_val_if_fail (policy < G_N_ELEMENTS (restart_policy_names), NULL);
  return restart_policy_names[policy];
}

gboolean
jobd_restart_policy_from_string (const char *text,
                                 JobdRestartPolicy *policy,
                                 GError **error)
{
  for (gsize i = 0; text != NULL && i < G_N_ELEMENTS (restart_policy_names); i++)
    if (g_str_equal (text, restart_policy_names[i]))
      {
        *policy = (JobdRestartPolicy) i;
        return TRUE;
      }
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "unknown restart policy '%s': use no, on-failure or always",
               text != NULL ? text : "");
  return FALSE;
}

/* ---- overlap policies ------------------------------------------------- */

static const char * const overlap_names[] = {
  [JOBD_OVERLAP_SKIP] = "skip",
  [JOBD_OVERLAP_RESTART] = "restart",
  [JOBD_OVERLAP_QUEUE] = "queue",
};

const char *
jobd_overlap_to_string (JobdOverlap overlap)
{
  g_return_val_if_fail (overlap < G_N_ELEMENTS (overlap_names), NULL);
  return overlap_names[overlap];
}

gboolean
jobd_overlap_from_string (const char *text, JobdOverlap *overlap, GError **error)
{
  for (gsize i = 0; text != NULL && i < G_N_ELEMENTS (overlap_names); i++)
    if (g_str_equal (text, overlap_names[i]))
      {
        *overlap = (JobdOverlap) i;
        return TRUE;
      }
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "unknown overlap policy '%s': use skip, restart or queue",
               text != NULL ? text : "");
  return FALSE;
}

/* ---- life cycle --------------------------------------------------------- */

static GHashTable *
environment_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

JobdSettings *
jobd_settings_new (void)
{
  JobdSettings *settings = g_new0 (JobdSettings, 1);

  settings->environment = environment_new ();
  settings->buffer_size = JOBD_BUFFER_SIZE_DEFAULT;
  settings->restart = JOBD_RESTART_NO;
  settings->restart_delay_ms = 1000;
  settings->restart_delay_max_ms = 60000;
  settings->restart_reset_ms = 30000;
  settings->start_limit_burst = 5;
  settings->start_limit_interval_ms = 60000;
  settings->stop_signal = SIGTERM;
  settings->stop_timeout_ms = 10000;
  settings->reload_signal = SIGHUP;
  settings->history_size = JOBD_HISTORY_SIZE_DEFAULT;
  settings->ready = g_strdup (JOBD_READY_DEFAULT);
  settings->ready_timeout_ms = JOBD_READY_TIMEOUT_DEFAULT_MS;
  settings->health_interval_ms = JOBD_HEALTH_INTERVAL_DEFAULT_MS;
  settings->health_timeout_ms = JOBD_HEALTH_TIMEOUT_DEFAULT_MS;
  settings->health_failures = JOBD_HEALTH_FAILURES_DEFAULT;
  settings->instances = 1;
  settings->watch_action = g_strdup ("restart");
  settings->watch_debounce_ms = JOBD_WATCH_DEBOUNCE_DEFAULT_MS;
  settings->extra = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  return settings;
}

JobdSettings *
jobd_settings_copy (const JobdSettings *settings)
{
  JobdSettings *copy = g_new (JobdSettings, 1);
  GHashTableIter iter;
  gpointer key, value;

  *copy = *settings;
  copy->command = g_strdup (settings->command);
  copy->args = g_strdupv (settings->args);
  copy->params = g_strdup (settings->params);
  copy->working_directory = g_strdup (settings->working_directory);
  copy->user = g_strdup (settings->user);
  copy->group = g_strdup (settings->group);
  copy->interpreter = g_strdup (settings->interpreter);
  copy->source_file = g_strdup (settings->source_file);
  copy->ready = g_strdup (settings->ready);
  copy->health = g_strdup (settings->health);
  copy->requires = g_strdupv (settings->requires);
  copy->after = g_strdupv (settings->after);
  copy->watch = g_strdupv (settings->watch);
  copy->watch_glob = g_strdupv (settings->watch_glob);
  copy->watch_exclude = g_strdupv (settings->watch_exclude);
  copy->watch_action = g_strdup (settings->watch_action);
  copy->extra = g_variant_ref (settings->extra);
  copy->schedules = jobd_schedule_entries_copy (settings->schedules);
  copy->environment = environment_new ();
  if (settings->environment != NULL)
    {
      g_hash_table_iter_init (&iter, settings->environment);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (copy->environment, g_strdup (key), g_strdup (value));
    }
  return copy;
}

void
jobd_settings_free (JobdSettings *settings)
{
  if (settings == NULL)
    return;
  g_free (settings->command);
  g_strfreev (settings->args);
  g_free (settings->params);
  g_free (settings->working_directory);
  g_clear_pointer (&settings->environment, g_hash_table_unref);
  g_free (settings->user);
  g_free (settings->group);
  g_free (settings->interpreter);
  g_free (settings->source_file);
  g_free (settings->ready);
  g_free (settings->health);
  g_strfreev (settings->requires);
  g_strfreev (settings->after);
  g_strfreev (settings->watch);
  g_strfreev (settings->watch_glob);
  g_strfreev (settings->watch_exclude);
  g_free (settings->watch_action);
  g_clear_pointer (&settings->extra, g_variant_unref);
  g_clear_pointer (&settings->schedules, g_ptr_array_unref);
  g_free (settings);
}

/* ---- the table of settings ---------------------------------------------- */

typedef enum {
  KIND_STRING,
  KIND_STRV,
  KIND_ENV,
  KIND_UINT,    /* guint, 'u' */
  KIND_UINT64,  /* guint64, 't' */
  KIND_SIZE,    /* guint64 bytes, 't', or a string with a K/M/G/T suffix */
  KIND_BOOL,
  KIND_RESTART,
  KIND_SIGNAL,
  KIND_EXTRA,
  KIND_SCHEDULES,
  KIND_OVERLAP,
} FieldKind;

typedef enum {
  FIELD_NON_EMPTY = 1 << 0,      /* "" is an error */
  FIELD_EMPTY_IS_UNSET = 1 << 1, /* "" stores NULL */
  FIELD_PRIVILEGED = 1 << 2,     /* needs JOBD_SETTINGS_FLAGS_PRIVILEGED */
  FIELD_ACCOUNT = 1 << 3,        /* a user or group name */
  FIELD_ZERO_OK = 1 << 4,        /* 0 (no limit) besides min..max */
  FIELD_READY = 1 << 5,          /* a readiness (jobd-ready.h) */
  FIELD_PROBE = 1 << 6,          /* a liveness probe (jobd-probe.h) */
  FIELD_DEPS = 1 << 7,           /* a requires/after list (jobd-deps.h) */
  FIELD_WATCH_ACTION = 1 << 8,   /* restart or reload */
} FieldFlags;

typedef struct {
  const char *key;
  FieldKind kind;
  gsize offset;
  FieldFlags flags;
  guint64 min, max;
} Field;

#define OFF(member) G_STRUCT_OFFSET (JobdSettings, member)

/* In the order of JobdSettings; to_variant keeps it. JSON numbers are
 * int64, hence the G_MAXINT64 caps. */
static const Field settings_fields[] = {
  { "command", KIND_STRING, OFF (command), FIELD_NON_EMPTY, 0, 0 },
  { "args", KIND_STRV, OFF (args), 0, 0, 0 },
  { "params", KIND_STRING, OFF (params), FIELD_EMPTY_IS_UNSET, 0, 0 },
  { "working-directory", KIND_STRING, OFF (working_directory), FIELD_EMPTY_IS_UNSET, 0, 0 },
  { "environment", KIND_ENV, OFF (environment), 0, 0, 0 },
  { "buffer-size", KIND_UINT, OFF (buffer_size), 0, 1, JOBD_BUFFER_SIZE_MAX },
  { "write-log", KIND_BOOL, OFF (write_log), 0, 0, 0 },
  { "autostart", KIND_BOOL, OFF (autostart), 0, 0, 0 },
  { "restart", KIND_RESTART, OFF (restart), 0, 0, 0 },
  { "restart-delay-ms", KIND_UINT, OFF (restart_delay_ms), 0, 0, MS_PER_DAY },
  { "restart-delay-max-ms", KIND_UINT, OFF (restart_delay_max_ms), 0, 0, MS_PER_DAY },
  { "restart-reset-ms", KIND_UINT, OFF (restart_reset_ms), 0, 0, MS_PER_DAY },
  { "start-limit-burst", KIND_UINT, OFF (start_limit_burst), 0, 1, G_MAXINT32 },
  /* 0 turns the start limit off, like systemd's StartLimitIntervalSec=0. */
  { "start-limit-interval-ms", KIND_UINT, OFF (start_limit_interval_ms), 0, 0, MS_PER_DAY },
  { "stop-signal", KIND_SIGNAL, OFF (stop_signal), 0, 1, JOBD_SIGNAL_MAX },
  { "stop-timeout-ms", KIND_UINT, OFF (stop_timeout_ms), 0, 0, MS_PER_DAY },
  { "reload-signal", KIND_SIGNAL, OFF (reload_signal), 0, 1, JOBD_SIGNAL_MAX },
  { "user", KIND_STRING, OFF (user), FIELD_EMPTY_IS_UNSET | FIELD_PRIVILEGED | FIELD_ACCOUNT, 0, 0 },
  { "group", KIND_STRING, OFF (group), FIELD_EMPTY_IS_UNSET | FIELD_PRIVILEGED | FIELD_ACCOUNT, 0, 0 },
  { "interpreter", KIND_STRING, OFF (interpreter), FIELD_EMPTY_IS_UNSET, 0, 0 },
  { "memory-max", KIND_SIZE, OFF (memory_max), 0, 0, G_MAXINT64 },
  { "cpu-quota", KIND_UINT, OFF (cpu_quota), FIELD_ZERO_OK, 1, 100000 },
  { "tasks-max", KIND_UINT64, OFF (tasks_max), 0, 0, G_MAXINT64 },
  { "schedules", KIND_SCHEDULES, OFF (schedules), 0, 0, 0 },
  { "overlap", KIND_OVERLAP, OFF (overlap), 0, 0, 0 },
  { "persistent", KIND_BOOL, OFF (persistent), 0, 0, 0 },
  { "randomized-delay", KIND_UINT, OFF (randomized_delay_ms), 0, 0, MS_PER_DAY },
  { "runtime-max-ms", KIND_UINT, OFF (runtime_max_ms), 0, 0, G_MAXUINT32 },
  { "history-size", KIND_UINT, OFF (history_size), 0, 0, JOBD_HISTORY_SIZE_MAX },
  /* Marks a job that `jobctl apply` or JobsDirectory= made from a file. */
  { "source-file", KIND_STRING, OFF (source_file), FIELD_EMPTY_IS_UNSET, 0, 0 },
  { "ready", KIND_STRING, OFF (ready), FIELD_NON_EMPTY | FIELD_READY, 0, 0 },
  { "ready-timeout-ms", KIND_UINT, OFF (ready_timeout_ms), 0, 0, MS_PER_DAY },
  /* At least 10 ms: a watchdog jobd must wake up for more often is a spin. */
  { "watchdog-ms", KIND_UINT, OFF (watchdog_ms), FIELD_ZERO_OK, 10, MS_PER_DAY },
  { "health", KIND_STRING, OFF (health), FIELD_EMPTY_IS_UNSET | FIELD_PROBE, 0, 0 },
  /* Probing more often than 10 times a second is a spin, not a check. */
  { "health-interval-ms", KIND_UINT, OFF (health_interval_ms), 0, 100, MS_PER_DAY },
  { "health-timeout-ms", KIND_UINT, OFF (health_timeout_ms), 0, 10, MS_PER_DAY },
  { "health-failures", KIND_UINT, OFF (health_failures), 0, 1, 1000 },
  { "memory-restart", KIND_SIZE, OFF (memory_restart), 0, 0, G_MAXINT64 },
  /* 0 is refused (stop the job instead); the daemon's MaxInstances= bounds it too. */
  { "instances", KIND_UINT, OFF (instances), 0, 1, JOBD_INSTANCES_MAX },
  { "requires", KIND_STRV, OFF (requires), FIELD_DEPS, 0, 0 },
  { "after", KIND_STRV, OFF (after), FIELD_DEPS, 0, 0 },
  /* Lists: max is the number of entries allowed; no entry may be empty. */
  { "watch", KIND_STRV, OFF (watch), FIELD_NON_EMPTY, 0, JOBD_WATCH_LIST_MAX },
  { "watch-glob", KIND_STRV, OFF (watch_glob), FIELD_NON_EMPTY, 0, JOBD_WATCH_LIST_MAX },
  { "watch-exclude", KIND_STRV, OFF (watch_exclude), FIELD_NON_EMPTY, 0, JOBD_WATCH_LIST_MAX },
  { "watch-action", KIND_STRING, OFF (watch_action), FIELD_NON_EMPTY | FIELD_WATCH_ACTION, 0, 0 },
  { "watch-debounce-ms", KIND_UINT, OFF (watch_debounce_ms), 0, 0, 60u * 60u * 1000u },
  { "extra", KIND_EXTRA, OFF (extra), 0, 0, 0 },
};

#undef OFF

static const Field *
field_lookup (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (settings_fields); i++)
    if (g_str_equal (settings_fields[i].key, key))
      return &settings_fields[i];
  return NULL;
}

/* ---- reading a value, whatever its source -------------------------------- */

typedef struct {
  GVariant *variant; /* exactly one of the two is set */
  JsonNode *json;
} Value;

static gboolean
json_holds (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static char *
value_describe (const Value *v)
{
  if (v->variant != NULL)
    return g_strdup_printf ("a value of type '%s'", g_variant_get_type_string (v->variant));
  switch (json_node_get_node_type (v->json))
    {
    case JSON_NODE_OBJECT: return g_strdup ("an object");
    case JSON_NODE_ARRAY: return g_strdup ("an array");
    case JSON_NODE_NULL: return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      if (json_holds (v->json, G_TYPE_STRING))
        return g_strdup_printf ("'%s'", json_node_get_string (v->json));
      if (json_holds (v->json, G_TYPE_BOOLEAN))
        return g_strdup ("a boolean");
      return g_strdup ("a number");
    }
}

static const char * const kind_expects[] = {
  [KIND_STRING] = "a string",
  [KIND_STRV] = "an array of strings",
  [KIND_ENV] = "a dictionary of strings",
  [KIND_UINT] = "an unsigned integer",
  [KIND_UINT64] = "an unsigned integer",
  [KIND_SIZE] = "a size in bytes, optionally with a K, M, G or T suffix",
  [KIND_BOOL] = "a boolean",
  [KIND_RESTART] = "a string",
  [KIND_SIGNAL] = "a signal name or number",
  [KIND_EXTRA] = "a dictionary",
  [KIND_SCHEDULES] = "an array of dictionaries {id, spec, enabled}",
  [KIND_OVERLAP] = "a string",
};

static gboolean
type_error (const Field *f, const Value *v, GError **error)
{
  g_autofree char *got = value_describe (v);

  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "%s: expected %s (got %s)", f->key, kind_expects[f->kind], got);
  return FALSE;
}

static const char *
value_peek_string (const Value *v)
{
  if (v->variant != NULL)
    return g_variant_is_of_type (v->variant, G_VARIANT_TYPE_STRING)
      ? g_variant_get_string (v->variant, NULL) : NULL;
  return json_holds (v->json, G_TYPE_STRING) ? json_node_get_string (v->json) : NULL;
}

/* Integers travel as sign + magnitude so that every width and signedness a
 * client may choose is range-checked by the same code. */
typedef struct {
  gboolean negative;
  guint64 magnitude;
} Integer;

static Integer
integer_from_signed (gint64 value)
{
  return (Integer) { value < 0, value < 0 ? 0 - (guint64) value : (guint64) value };
}

static gboolean
variant_get_integer (GVariant *v, Integer *out)
{
  gint64 value;

  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_BYTE: value = g_variant_get_byte (v); break;
    case G_VARIANT_CLASS_INT16: value = g_variant_get_int16 (v); break;
    case G_VARIANT_CLASS_UINT16: value = g_variant_get_uint16 (v); break;
    case G_VARIANT_CLASS_INT32: value = g_variant_get_int32 (v); break;
    case G_VARIANT_CLASS_UINT32: value = g_variant_get_uint32 (v); break;
    case G_VARIANT_CLASS_INT64: value = g_variant_get_int64 (v); break;
    case G_VARIANT_CLASS_UINT64:
      *out = (Integer) { FALSE, g_variant_get_uint64 (v) };
      return TRUE;
    default:
      return FALSE;
    }
  *out = integer_from_signed (value);
  return TRUE;
}

static gboolean
range_error (const Field *f, const char *got, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "%s: must be %sbetween %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " (got %s)",
               f->key, (f->flags & FIELD_ZERO_OK) ? "0 (no limit) or " : "", f->min, f->max, got);
  return FALSE;
}

static gboolean
check_range (const Field *f, Integer value, GError **error)
{
  g_autofree char *got = NULL;

  if (!value.negative
      && ((value.magnitude >= f->min && value.magnitude <= f->max)
          || (value.magnitude == 0 && (f->flags & FIELD_ZERO_OK))))
    return TRUE;
  got = g_strdup_printf ("%s%" G_GUINT64_FORMAT, value.negative ? "-" : "", value.magnitude);
  return range_error (f, got, error);
}

/* JSON has only doubles beyond int64; accept them when they are whole. */
static gboolean
double_to_integer (const Field *f, double d, Integer *out, GError **error)
{
  double magnitude = d < 0 ? -d : d;
  g_autofree char *got = g_strdup_printf ("%g", d);

  if (!(magnitude < 18446744073709551616.0))
    return range_error (f, got, error);
  if ((double) (guint64) magnitude != magnitude)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: must be a whole number (got %s)", f->key, got);
      return FALSE;
    }
  *out = (Integer) { d < 0, (guint64) magnitude };
  return TRUE;
}

static gboolean
text_error (const Field *f, const char *text, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "%s: expected %s (got '%s')", f->key, kind_expects[f->kind], text);
  return FALSE;
}

/* Legacy clients send numbers as strings ("buffersize": "20"). */
static gboolean
text_to_integer (const Field *f, const char *text, Integer *out, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  gint64 negative;

  out->negative = FALSE;
  if (g_ascii_string_to_unsigned (trimmed, 10, 0, G_MAXUINT64, &out->magnitude, NULL))
    return TRUE;
  if (g_ascii_string_to_signed (trimmed, 10, G_MININT64, -1, &negative, NULL))
    {
      *out = integer_from_signed (negative);
      return TRUE;
    }
  return text_error (f, text, error);
}

static gboolean
value_get_integer (const Field *f, const Value *v, Integer *out, GError **error)
{
  if (v->variant != NULL)
    return variant_get_integer (v->variant, out) || type_error (f, v, error);

  if (json_holds (v->json, G_TYPE_INT64))
    {
      *out = integer_from_signed (json_node_get_int (v->json));
      return TRUE;
    }
  if (json_holds (v->json, G_TYPE_DOUBLE))
    return double_to_integer (f, json_node_get_double (v->json), out, error);
  if (json_holds (v->json, G_TYPE_STRING))
    return text_to_integer (f, json_node_get_string (v->json), out, error);
  return type_error (f, v, error);
}

/* "64M" → 64 MiB; 1024-based like systemd's MemoryMax=. */
static gboolean
text_to_size (const Field *f, const char *text, Integer *out, GError **error)
{
  static const char suffixes[] = "KMGT";
  g_autofree char *number = g_strstrip (g_strdup (text));
  gsize len = strlen (number);
  const char *suffix = len > 1 ? strchr (suffixes, g_ascii_toupper (number[len - 1])) : NULL;
  guint shift = 0;

  if (suffix != NULL && *suffix != '\0')
    {
      shift = 10 * (guint) (suffix - suffixes + 1);
      number[len - 1] = '\0';
    }
  if (!text_to_integer (f, number, out, NULL))
    return text_error (f, text, error);
  if (out->negative || out->magnitude > (G_MAXUINT64 >> shift))
    return range_error (f, text, error);
  out->magnitude <<= shift;
  return TRUE;
}

/* ---- merging ------------------------------------------------------------ */

typedef struct {
  JobdSettings *settings;  /* the copy being changed */
  JobdSettingsFlags flags;
  GHashTable *extra;       /* key → GVariant, becomes settings->extra */
} Merge;

#define SLOT(m, f, type) ((type *) G_STRUCT_MEMBER_P ((m)->settings, (f)->offset))

/* Printable ASCII names without separators; numeric ids are fine too. */
static gboolean
account_name_is_valid (const char *name)
{
  return strlen (name) <= 256 && name[0] != '-'
    && strspn (name, ALNUM "-_.$") == strlen (name);
}

static gboolean
merge_string (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *text = value_peek_string (v);
  char **slot = SLOT (m, f, char *);
  const char *stored;

  if (text == NULL)
    return type_error (f, v, error);
  stored = (*text == '\0' && (f->flags & FIELD_EMPTY_IS_UNSET)) ? NULL : text;
  if (*text == '\0' && (f->flags & FIELD_NON_EMPTY))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s: must not be empty", f->key);
      return FALSE;
    }
  /* Sending back an unchanged value (GetSettings → Update) chooses nothing. */
  if ((f->flags & FIELD_PRIVILEGED) && !(m->flags & JOBD_SETTINGS_FLAGS_PRIVILEGED)
      && g_strcmp0 (stored, *slot) != 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                   "%s: only root may choose the %s a job runs as", f->key, f->key);
      return FALSE;
    }
  if (stored != NULL && (f->flags & FIELD_ACCOUNT) && !account_name_is_valid (stored))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: invalid name '%s'", f->key, stored);
      return FALSE;
    }
  if (stored != NULL && (f->flags & FIELD_READY) && !jobd_ready_spec_parse (stored, NULL, error))
    return FALSE;
  if (stored != NULL && (f->flags & FIELD_PROBE) && !jobd_probe_spec_parse (stored, NULL, error))
    return FALSE;
  if (stored != NULL && (f->flags & FIELD_WATCH_ACTION)
      && !g_str_equal (stored, "restart") && !g_str_equal (stored, "reload"))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: unknown action '%s': use restart or reload", f->key, stored);
      return FALSE;
    }
  g_free (*slot);
  *slot = g_strdup (stored);
  return TRUE;
}

/* A list with a maximum (watch…): bounded, and no empty entry. */
static gboolean
strv_check (const Field *f, GStrvBuilder *builder, GError **error)
{
  g_auto(GStrv) strv = NULL;
  guint n;

  if (f->max == 0)
    return TRUE;
  strv = g_strv_builder_end (builder);
  g_strv_builder_addv (builder, (const char **) strv);
  n = g_strv_length (strv);
  if (n > f->max)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: at most %" G_GUINT64_FORMAT " entries (got %u)", f->key, f->max, n);
      return FALSE;
    }
  for (guint i = 0; i < n && (f->flags & FIELD_NON_EMPTY); i++)
    if (*strv[i] == '\0')
      {
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                     "%s: an entry must not be empty", f->key);
        return FALSE;
      }
  return TRUE;
}

static gboolean
merge_strv (Merge *m, const Field *f, const Value *v, GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  char ***slot = SLOT (m, f, char **);
  JsonArray *array;

  if (v->variant != NULL && g_variant_is_of_type (v->variant, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **strv = g_variant_get_strv (v->variant, NULL);
      g_strv_builder_addv (builder, strv);
    }
  else if (v->json != NULL && JSON_NODE_HOLDS_ARRAY (v->json))
    {
      array = json_node_get_array (v->json);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          if (!json_holds (element, G_TYPE_STRING))
            return type_error (f, v, error);
          g_strv_builder_add (builder, json_node_get_string (element));
        }
    }
  else
    return type_error (f, v, error);

  if (f->flags & FIELD_DEPS)
    {
      g_auto(GStrv) list = g_strv_builder_end (builder);
      if (!jobd_deps_validate_list (f->key, (const char * const *) list, error))
        return FALSE;
      g_strfreev (*slot);
      *slot = g_steal_pointer (&list);
      if (**slot == NULL)
        g_clear_pointer (slot, g_strfreev);
      return TRUE;
    }
  if (!strv_check (f, builder, error))
    return FALSE;
  g_strfreev (*slot);
  *slot = g_strv_builder_end (builder);
  if (**slot == NULL) /* an empty array clears args */
    g_clear_pointer (slot, g_strfreev);
  return TRUE;
}

static gboolean
env_name_is_valid (const char *name)
{
  return name[0] != '\0' && !g_ascii_isdigit (name[0])
    && strspn (name, ALNUM "_") == strlen (name);
}

static gboolean
env_insert (const Field *f, GHashTable *env, const char *name, const char *value,
            GError **error)
{
  if (!env_name_is_valid (name))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: invalid variable name '%s': use letters, digits and _, "
                   "not starting with a digit", f->key, name);
      return FALSE;
    }
  g_hash_table_insert (env, g_strdup (name), g_strdup (value));
  return TRUE;
}

static gboolean
merge_env (Merge *m, const Field *f, const Value *v, GError **error)
{
  g_autoptr(GHashTable) env = environment_new ();
  GHashTable **slot = SLOT (m, f, GHashTable *);
  const char *name, *value;
  JsonNode *node;

  if (v->variant != NULL && g_variant_is_of_type (v->variant, G_VARIANT_TYPE ("a{ss}")))
    {
      GVariantIter iter;
      g_variant_iter_init (&iter, v->variant);
      while (g_variant_iter_next (&iter, "{&s&s}", &name, &value))
        if (!env_insert (f, env, name, value, error))
          return FALSE;
    }
  else if (v->json != NULL && JSON_NODE_HOLDS_OBJECT (v->json))
    {
      JsonObjectIter iter;
      json_object_iter_init (&iter, json_node_get_object (v->json));
      while (json_object_iter_next (&iter, &name, &node))
        {
          if (!json_holds (node, G_TYPE_STRING))
            return type_error (f, v, error);
          if (!env_insert (f, env, name, json_node_get_string (node), error))
            return FALSE;
        }
    }
  else
    return type_error (f, v, error);

  g_clear_pointer (slot, g_hash_table_unref);
  *slot = g_steal_pointer (&env);
  return TRUE;
}

static gboolean
merge_integer (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *text = value_peek_string (v);
  Integer value;

  if (f->kind == KIND_SIZE && text != NULL)
    {
      if (!text_to_size (f, text, &value, error))
        return FALSE;
    }
  else if (!value_get_integer (f, v, &value, error))
    return FALSE;
  if (!check_range (f, value, error))
    return FALSE;

  if (f->kind == KIND_UINT)
    *SLOT (m, f, guint) = (guint) value.magnitude;
  else
    *SLOT (m, f, guint64) = value.magnitude;
  return TRUE;
}

/* JSON booleans, and what legacy clients send instead: 0/1, "true"/"false",
 * "1"/"0". */
static gboolean
json_get_bool (JsonNode *node, gboolean *out)
{
  const char *text;

  if (json_holds (node, G_TYPE_BOOLEAN))
    {
      *out = json_node_get_boolean (node);
      return TRUE;
    }
  if (json_holds (node, G_TYPE_INT64))
    text = json_node_get_int (node) == 1 ? "1" : json_node_get_int (node) == 0 ? "0" : "";
  else if (json_holds (node, G_TYPE_STRING))
    text = json_node_get_string (node);
  else
    return FALSE;

  if (g_ascii_strcasecmp (text, "true") == 0 || g_str_equal (text, "1"))
    *out = TRUE;
  else if (g_ascii_strcasecmp (text, "false") == 0 || g_str_equal (text, "0"))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
merge_bool (Merge *m, const Field *f, const Value *v, GError **error)
{
  gboolean *slot = SLOT (m, f, gboolean);

  if (v->variant != NULL && g_variant_is_of_type (v->variant, G_VARIANT_TYPE_BOOLEAN))
    *slot = g_variant_get_boolean (v->variant);
  else if (v->json == NULL || !json_get_bool (v->json, slot))
    return type_error (f, v, error);
  return TRUE;
}

static gboolean
merge_restart (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *text = value_peek_string (v);
  g_autoptr(GError) local = NULL;

  if (text == NULL)
    return type_error (f, v, error);
  if (!jobd_restart_policy_from_string (text, SLOT (m, f, JobdRestartPolicy), &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", f->key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
merge_overlap (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *text = value_peek_string (v);
  g_autoptr(GError) local = NULL;

  if (text == NULL)
    return type_error (f, v, error);
  if (!jobd_overlap_from_string (text, SLOT (m, f, JobdOverlap), &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", f->key);
      return FALSE;
    }
  return TRUE;
}

/* One entry's members, whatever the source; FALSE on a wrong type. */
static gboolean
schedule_member (const Value *entry, const char *name, Value *out)
{
  if (entry->variant != NULL)
    {
      out->variant = g_variant_lookup_value (entry->variant, name, NULL);
      out->json = NULL;
      return out->variant != NULL;
    }
  out->variant = NULL;
  out->json = json_object_get_member (json_node_get_object (entry->json), name);
  return out->json != NULL;
}

static gboolean
schedule_entry_error (const Field *f, guint i, const char *what, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s[%u]: %s", f->key, i, what);
  return FALSE;
}

static gboolean
schedule_entry_keys_known (const Value *entry)
{
  static const char * const known[] = { "id", "spec", "enabled", NULL };
  g_autoptr(GList) members = NULL;
  GVariantIter iter;
  const char *key;

  if (entry->variant != NULL)
    {
      g_variant_iter_init (&iter, entry->variant);
      while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
        if (!g_strv_contains (known, key))
          return FALSE;
      return TRUE;
    }
  members = json_object_get_members (json_node_get_object (entry->json));
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      return FALSE;
  return TRUE;
}

/* The id an entry sent without one gets: the id of an old entry with the
 * same spec that no other entry claims (an unchanged entry keeps its id),
 * else a new UUID. */
static char *
schedule_reuse_id (const GPtrArray *old, GPtrArray *now, const char *spec)
{
  for (guint i = 0; old != NULL && i < old->len; i++)
    {
      const JobdScheduleEntry *e = old->pdata[i];
      gboolean taken = FALSE;

      if (!g_str_equal (e->spec, spec))
        continue;
      for (guint j = 0; j < now->len && !taken; j++)
        taken = g_strcmp0 (((JobdScheduleEntry *) now->pdata[j])->id, e->id) == 0;
      if (!taken)
        return g_strdup (e->id);
    }
  return g_uuid_string_random ();
}

static gboolean
schedule_entry_read (Merge *m, const Field *f, guint i, const Value *entry,
                     GPtrArray *out, GError **error)
{
  g_autoptr(JobdScheduleEntry) e = jobd_schedule_entry_new (NULL, NULL, TRUE);
  g_autoptr(JobdSpec) spec = NULL;
  g_autoptr(GError) local = NULL;
  Value member;
  const char *text;
  gboolean ok;

  if (!schedule_entry_keys_known (entry))
    return schedule_entry_error (f, i, "unknown key (use id, spec and enabled)", error);
  if (!schedule_member (entry, "spec", &member))
    return schedule_entry_error (f, i, "spec: is required", error);
  text = value_peek_string (&member);
  e->spec = g_strdup (text);
  g_clear_pointer (&member.variant, g_variant_unref);
  if (e->spec == NULL)
    return schedule_entry_error (f, i, "spec: expected a string", error);
  if (schedule_member (entry, "enabled", &member))
    {
      ok = member.variant != NULL
        ? g_variant_is_of_type (member.variant, G_VARIANT_TYPE_BOOLEAN)
        : json_get_bool (member.json, &e->enabled);
      if (member.variant != NULL && ok)
        e->enabled = g_variant_get_boolean (member.variant);
      g_clear_pointer (&member.variant, g_variant_unref);
      if (!ok)
        return schedule_entry_error (f, i, "enabled: expected a boolean", error);
    }
  if (schedule_member (entry, "id", &member))
    {
      e->id = g_strdup (value_peek_string (&member));
      g_clear_pointer (&member.variant, g_variant_unref);
      if (!jobd_schedule_id_is_valid (e->id))
        return schedule_entry_error (f, i, "id: expected a UUID", error);
      for (guint j = 0; j < out->len; j++)
        if (g_str_equal (((JobdScheduleEntry *) out->pdata[j])->id, e->id))
          return schedule_entry_error (f, i, "id: used twice", error);
    }
  spec = jobd_spec_parse (e->spec, (m->flags & JOBD_SETTINGS_FLAGS_STORED) ? 0 : g_get_real_time (),
                          &local);
  if (spec == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s[%u]: spec %s",
                   f->key, i, local->message);
      return FALSE;
    }
  g_ptr_array_add (out, g_steal_pointer (&e));
  return TRUE;
}

static gboolean
merge_schedules (Merge *m, const Field *f, const Value *v, GError **error)
{
  GPtrArray **slot = SLOT (m, f, GPtrArray *);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_schedule_entry_free);
  guint n;

  if (v->variant != NULL && g_variant_is_of_type (v->variant, G_VARIANT_TYPE ("aa{sv}")))
    n = (guint) g_variant_n_children (v->variant);
  else if (v->json != NULL && JSON_NODE_HOLDS_ARRAY (v->json))
    n = json_array_get_length (json_node_get_array (v->json));
  else
    return type_error (f, v, error);
  if (n > JOBD_SCHEDULES_PER_JOB_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s: at most %d per job",
                   f->key, JOBD_SCHEDULES_PER_JOB_MAX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      Value entry = { NULL, NULL };
      gboolean ok;

      if (v->variant != NULL)
        entry.variant = g_variant_get_child_value (v->variant, i);
      else
        {
          entry.json = json_array_get_element (json_node_get_array (v->json), i);
          if (!JSON_NODE_HOLDS_OBJECT (entry.json))
            return schedule_entry_error (f, i, "expected an object", error);
        }
      ok = schedule_entry_read (m, f, i, &entry, out, error);
      g_clear_pointer (&entry.variant, g_variant_unref);
      if (!ok)
        return FALSE;
    }
  /* Ids last, so an id sent explicitly is never handed to another entry. */
  for (guint i = 0; i < out->len; i++)
    {
      JobdScheduleEntry *e = out->pdata[i];
      if (e->id == NULL)
        e->id = schedule_reuse_id (*slot, out, e->spec);
    }
  g_clear_pointer (slot, g_ptr_array_unref);
  if (out->len > 0)
    *slot = g_steal_pointer (&out);
  return TRUE;
}

static gboolean
merge_signal (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *text = value_peek_string (v);
  g_autoptr(GError) local = NULL;
  Integer value;
  int signo;

  if (text != NULL)
    {
      signo = jobd_signal_from_string (text, &local);
      if (signo < 0)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", f->key);
          return FALSE;
        }
    }
  else if (value_get_integer (f, v, &value, error) && check_range (f, value, error))
    signo = (int) value.magnitude;
  else
    return FALSE;
  *SLOT (m, f, int) = signo;
  return TRUE;
}

/* Extras are written to the state file and to legacy answers as JSON and
 * read back from it: a value JSON cannot carry (NaN, ±Inf, a uint64 beyond
 * int64, which json-glib would write as a negative number) would make
 * those invalid or come back different. Refused here, at the edge. */
static gboolean
extra_type_may_fail (const GVariantType *type)
{
  const char *text = g_variant_type_peek_string (type);
  gsize len = g_variant_type_get_string_length (type);

  return memchr (text, 'd', len) != NULL || memchr (text, 't', len) != NULL
    || memchr (text, 'm', len) != NULL || memchr (text, 'v', len) != NULL;
}

/* Written as json-glib writes it, read back: the same number? (json-glib
 * 1.6 writes 1e17 as "1e+17.0", which no JSON reader takes.) */
static gboolean
double_round_trips (double d)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *text = NULL;
  JsonNode *root;

  if (!isfinite (d))
    return FALSE;
  node = json_node_init_double (json_node_alloc (), d);
  text = json_to_string (node, FALSE);
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  return root != NULL && json_holds (root, G_TYPE_DOUBLE) && json_node_get_double (root) == d;
}

static gboolean
extra_value_check (const char *key, GVariant *value, GError **error)
{
  const char *problem = NULL;
  GVariantIter iter;
  GVariant *child;

  if (!extra_type_may_fail (g_variant_get_type (value)))
    return TRUE;
  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_DOUBLE:
      if (!isfinite (g_variant_get_double (value)))
        problem = "NaN and infinite numbers cannot be stored";
      else if (!double_round_trips (g_variant_get_double (value)))
        problem = "this number would not read back the same from JSON";
      break;
    case G_VARIANT_CLASS_UINT64:
      if (g_variant_get_uint64 (value) > G_MAXINT64)
        problem = "integers above 2^63-1 cannot be stored";
      break;
    case G_VARIANT_CLASS_MAYBE:
    case G_VARIANT_CLASS_VARIANT:
    case G_VARIANT_CLASS_ARRAY:
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
      g_variant_iter_init (&iter, value);
      while ((child = g_variant_iter_next_value (&iter)) != NULL)
        {
          gboolean ok = extra_value_check (key, child, error);

          g_variant_unref (child);
          if (!ok)
            return FALSE;
        }
      break;
    default:
      break;
    }
  if (problem == NULL)
    return TRUE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s: %s", key, problem);
  return FALSE;
}

/* Unknown JSON values are kept as json-glib types them (int64, av, a{sv}…),
 * which serialize back to the same JSON. */
static gboolean
merge_extra_json (Merge *m, const char *key, JsonNode *node, GError **error)
{
  g_autoptr(GError) local = NULL;
  GVariant *value = json_gvariant_deserialize (node, NULL, &local);

  if (value == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: cannot keep this value: %s", key, local->message);
      return FALSE;
    }
  g_variant_ref_sink (value);
  if (!extra_value_check (key, value, error))
    {
      g_variant_unref (value);
      return FALSE;
    }
  g_hash_table_insert (m->extra, g_strdup (key), value);
  return TRUE;
}

static gboolean
merge_extra (Merge *m, const Field *f, const Value *v, GError **error)
{
  const char *key;

  if (v->variant != NULL && g_variant_is_of_type (v->variant, G_VARIANT_TYPE_VARDICT))
    {
      GVariantIter iter;
      GVariant *value;
      g_variant_iter_init (&iter, v->variant);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          if (!extra_value_check (key, value, error))
            {
              g_variant_unref (value);
              return FALSE;
            }
          g_hash_table_insert (m->extra, g_strdup (key), value);
        }
    }
  else if (v->json != NULL && JSON_NODE_HOLDS_OBJECT (v->json))
    {
      JsonObjectIter iter;
      JsonNode *node;
      json_object_iter_init (&iter, json_node_get_object (v->json));
      while (json_object_iter_next (&iter, &key, &node))
        if (!merge_extra_json (m, key, node, error))
          return FALSE;
    }
  else
    return type_error (f, v, error);
  return TRUE;
}

typedef gboolean (*MergeFunc) (Merge *m, const Field *f, const Value *v, GError **error);

static const MergeFunc merge_funcs[] = {
  [KIND_STRING] = merge_string,
  [KIND_STRV] = merge_strv,
  [KIND_ENV] = merge_env,
  [KIND_UINT] = merge_integer,
  [KIND_UINT64] = merge_integer,
  [KIND_SIZE] = merge_integer,
  [KIND_BOOL] = merge_bool,
  [KIND_RESTART] = merge_restart,
  [KIND_SIGNAL] = merge_signal,
  [KIND_EXTRA] = merge_extra,
  [KIND_SCHEDULES] = merge_schedules,
  [KIND_OVERLAP] = merge_overlap,
};

static gboolean
merge_one (Merge *m, const char *key, const Value *v, GError **error)
{
  const Field *f = field_lookup (key);

  if (f != NULL)
    return merge_funcs[f->kind] (m, f, v, error);
  if (!(m->flags & JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "unknown setting '%s'", key);
      return FALSE;
    }
  if (v->json != NULL)
    return merge_extra_json (m, key, v->json, error);
  if (!extra_value_check (key, v->variant, error))
    return FALSE;
  g_hash_table_insert (m->extra, g_strdup (key), g_variant_ref (v->variant));
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Sorted keys keep the output (and the state file) stable. Free with g_free. */
static const char **
sorted_keys (GHashTable *table, guint *n_keys)
{
  const char **keys = (const char **) g_hash_table_get_keys_as_array (table, n_keys);

  qsort (keys, *n_keys, sizeof (char *), compare_strings);
  return keys;
}

static void
merge_begin (Merge *m, const JobdSettings *settings, JobdSettingsFlags flags)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  m->settings = jobd_settings_copy (settings);
  m->flags = flags;
  m->extra = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_variant_unref);
  g_variant_iter_init (&iter, settings->extra);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    g_hash_table_insert (m->extra, g_strdup (key), value);
}

/* On success the copy's contents replace settings' (all or nothing). */
static gboolean
merge_end (Merge *m, JobdSettings *settings, gboolean success)
{
  guint n_keys;
  g_autofree const char **keys = sorted_keys (m->extra, &n_keys);
  GVariantBuilder builder;
  JobdSettings swap;

  if (success)
    {
      g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
      for (guint i = 0; i < n_keys; i++)
        g_variant_builder_add (&builder, "{sv}", keys[i],
                               g_hash_table_lookup (m->extra, keys[i]));
      g_variant_unref (m->settings->extra);
      m->settings->extra = g_variant_ref_sink (g_variant_builder_end (&builder));

      swap = *settings;
      *settings = *m->settings;
      *m->settings = swap;
    }
  jobd_settings_free (m->settings);
  g_hash_table_unref (m->extra);
  return success;
}

/* Exactly one of asv and object is set. */
static gboolean
merge_all (JobdSettings *settings, GVariant *asv, JsonObject *object,
           JobdSettingsFlags flags, GError **error)
{
  const char *key;
  gboolean ok = TRUE;
  Merge m;

  merge_begin (&m, settings, flags);
  if (asv != NULL)
    {
      GVariantIter iter;
      GVariant *value;
      g_variant_iter_init (&iter, asv);
      while (ok && g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          ok = merge_one (&m, key, &(Value) { .variant = value }, error);
          g_variant_unref (value);
        }
    }
  else
    {
      JsonObjectIter iter;
      JsonNode *node;
      json_object_iter_init (&iter, object);
      while (ok && json_object_iter_next (&iter, &key, &node))
        ok = merge_one (&m, key, &(Value) { .json = node }, error);
    }
  return merge_end (&m, settings, ok);
}

gboolean
jobd_settings_merge_variant (JobdSettings *settings,
                             GVariant *asv,
                             JobdSettingsFlags flags,
                             GError **error)
{
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (asv != NULL && g_variant_is_of_type (asv, G_VARIANT_TYPE_VARDICT), FALSE);
  return merge_all (settings, asv, NULL, flags, error);
}

gboolean
jobd_settings_merge_json (JobdSettings *settings,
                          JsonObject *object,
                          JobdSettingsFlags flags,
                          GError **error)
{
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (object != NULL, FALSE);
  return merge_all (settings, NULL, object, flags, error);
}

gboolean
jobd_settings_validate (const JobdSettings *settings, GError **error)
{
  if (settings->command == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "command: is required");
      return FALSE;
    }
  if (settings->restart_delay_ms > settings->restart_delay_max_ms)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "restart-delay-ms: must not exceed restart-delay-max-ms (%u > %u)",
                   settings->restart_delay_ms, settings->restart_delay_max_ms);
      return FALSE;
    }
  /* At memory-max the kernel reclaims and then kills: a restart threshold
   * at or above it would never be reached before the OOM killer. */
  if (settings->memory_restart > 0 && settings->memory_max > 0 &&
      settings->memory_restart >= settings->memory_max)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "memory-restart: must be below memory-max (%" G_GUINT64_FORMAT
                   " >= %" G_GUINT64_FORMAT " bytes), or the job is killed before it "
                   "is restarted", settings->memory_restart, settings->memory_max);
      return FALSE;
    }
  return TRUE;
}

/* ---- output ------------------------------------------------------------- */

static GVariant *
env_to_variant (GHashTable *env)
{
  g_autofree const char **keys = NULL;
  guint n_keys = 0;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  if (env != NULL)
    keys = sorted_keys (env, &n_keys);
  for (guint i = 0; i < n_keys; i++)
    g_variant_builder_add (&builder, "{ss}", keys[i], g_hash_table_lookup (env, keys[i]));
  return g_variant_builder_end (&builder);
}

static GVariant *
signal_to_variant (int signo)
{
  const char *name = jobd_signal_to_string (signo);

  /* Real-time signals have no fixed name; the number reads back the same. */
  if (name == NULL)
    return g_variant_new_take_string (g_strdup_printf ("%d", signo));
  return g_variant_new_string (name);
}

static GVariant *
schedules_to_variant (const GPtrArray *schedules)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; schedules != NULL && i < schedules->len; i++)
    {
      const JobdScheduleEntry *e = schedules->pdata[i];

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_string (e->id));
      g_variant_builder_add (&builder, "{sv}", "spec", g_variant_new_string (e->spec));
      g_variant_builder_add (&builder, "{sv}", "enabled", g_variant_new_boolean (e->enabled));
      g_variant_builder_close (&builder);
    }
  return g_variant_builder_end (&builder);
}

/* NULL when the setting is omitted (unset strings). */
static GVariant *
field_to_variant (const JobdSettings *s, const Field *f)
{
  gconstpointer slot = G_STRUCT_MEMBER_P (s, f->offset);
  char * const *strv;

  switch (f->kind)
    {
    case KIND_STRING:
      return *(char * const *) slot != NULL ? g_variant_new_string (*(char * const *) slot) : NULL;
    case KIND_STRV:
      strv = *(char * const * const *) slot;
      return g_variant_new_strv ((const char * const *) strv, strv != NULL ? -1 : 0);
    case KIND_ENV:
      return env_to_variant (*(GHashTable * const *) slot);
    case KIND_UINT:
      return g_variant_new_uint32 (*(const guint *) slot);
    case KIND_UINT64:
    case KIND_SIZE:
      return g_variant_new_uint64 (*(const guint64 *) slot);
    case KIND_BOOL:
      return g_variant_new_boolean (*(const gboolean *) slot);
    case KIND_RESTART:
      return g_variant_new_string (jobd_restart_policy_to_string (*(const JobdRestartPolicy *) slot));
    case KIND_SIGNAL:
      return signal_to_variant (*(const int *) slot);
    case KIND_SCHEDULES:
      return schedules_to_variant (*(GPtrArray * const *) slot);
    case KIND_OVERLAP:
      return g_variant_new_string (jobd_overlap_to_string (*(const JobdOverlap *) slot));
    case KIND_EXTRA:
    default:
      return *(GVariant * const *) slot;
    }
}

GVariant *
jobd_settings_to_variant (const JobdSettings *settings)
{
  GVariantBuilder builder;

  g_return_val_if_fail (settings != NULL, NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (gsize i = 0; i < G_N_ELEMENTS (settings_fields); i++)
    {
      GVariant *value = field_to_variant (settings, &settings_fields[i]);
      if (value != NULL)
        g_variant_builder_add (&builder, "{sv}", settings_fields[i].key, value);
    }
  return g_variant_builder_end (&builder);
}

JsonNode *
jobd_settings_to_json (const JobdSettings *settings)
{
  g_autoptr(GVariant) asv = NULL;

  g_return_val_if_fail (settings != NULL, NULL);
  asv = g_variant_ref_sink (jobd_settings_to_variant (settings));
  return json_gvariant_serialize (asv);
}

/* ---- running ------------------------------------------------------------ */

char **
jobd_settings_build_argv (const JobdSettings *settings, GError **error)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_auto(GStrv) split = NULL;
  g_autoptr(GError) local = NULL;

  if (settings->command == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "command: is required");
      return NULL;
    }
  if (settings->interpreter != NULL)
    g_strv_builder_add (argv, settings->interpreter);
  g_strv_builder_add (argv, settings->command);

  if (settings->args != NULL && settings->args[0] != NULL)
    g_strv_builder_addv (argv, (const char **) settings->args);
  else if (settings->params != NULL
           && !g_shell_parse_argv (settings->params, NULL, &split, &local)
           /* blank params are no arguments, not an error */
           && !g_error_matches (local, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "params: %s", local->message);
      return NULL;
    }
  if (split != NULL)
    g_strv_builder_addv (argv, (const char **) split);
  return g_strv_builder_end (argv);
}

char *
jobd_settings_get_working_directory (const JobdSettings *settings)
{
  if (settings->working_directory != NULL)
    return g_strdup (settings->working_directory);
  if (settings->command != NULL && strchr (settings->command, '/') != NULL)
    return g_path_get_dirname (settings->command);
  return NULL;
}
