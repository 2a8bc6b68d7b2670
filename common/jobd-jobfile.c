/* SPDX-License-Identifier: MIT */
/* jobd-jobfile.c — job files (see jobd-jobfile.h and jobd.job(5)).
 *
 * One table (job_file_keys) lists every key of a job file: its name in the
 * file, the setting it fills, how its value is written, whether a change
 * needs the job to start again, and its default (in the file's syntax, so
 * the default is parsed by the same code as a value). A new setting is one
 * row. Reading walks the file's lines (jobd-ini.c: GKeyFile checks the
 * syntax, the walk keeps line numbers and repeated keys); writing and
 * comparing go through the same table.
 */
#include "config.h"

#include "jobd-jobfile.h"

#include <string.h>

#include "jobd-error.h"
#include "jobd-ini.h"
#include "jobd-names.h"
#include "jobd-parse.h"
#include "jobd-signal.h"

typedef enum {
  TYPE_COMMAND,   /* command s + args as, split like ExecStart= */
  TYPE_STRING,    /* s, the raw value; empty = unset */
  TYPE_PATH,      /* s, a folder; relative = to the job file's folder */
  TYPE_STRV,      /* as, one raw value per line, repeatable; empty resets */
  TYPE_ENV,       /* a{ss}, KEY=VALUE words, repeatable; empty resets */
  TYPE_ENV_FILE,  /* read into environment when the file is read */
  TYPE_BOOL,      /* b, yes/no/true/false/on/off/1/0 */
  TYPE_COUNT,     /* u */
  TYPE_DURATION,  /* u, milliseconds; "500ms", "2s", "1min"; plain = seconds */
  TYPE_SIZE,      /* t, bytes; "64M"; infinity = 0 */
  TYPE_PERCENT,   /* u; "50%"; infinity = 0 */
  TYPE_LIMIT,     /* t; infinity = 0 */
  TYPE_RESTART,   /* s, no/on-failure/always */
  TYPE_SIGNAL,    /* s, "SIGTERM" as jobd returns it */
  TYPE_SCHEDULES, /* aa{sv} of {spec}, one expression per line, repeatable; empty resets */
  TYPE_WORDS,     /* as, space-separated words, repeatable (adds); empty resets */
} KeyType;

typedef enum {
  KEY_RESTART = 1 << 0,  /* a change applies at the job's next start only */
} KeyFlags;

typedef struct {
  const char *file_key;  /* NULL: a setting a file does not name itself */
  const char *setting;   /* NULL: read into another setting */
  KeyType type;
  KeyFlags flags;
  const char *default_text;  /* in the file's syntax; NULL = no default */
} JobFileKey;

/* In the order `export` writes them. */
static const JobFileKey job_file_keys[] = {
  { "Command", "command", TYPE_COMMAND, KEY_RESTART, NULL },
  { "Params", "params", TYPE_STRING, KEY_RESTART, "" },
  { "WorkingDirectory", "working-directory", TYPE_PATH, KEY_RESTART, "" },
  { "Environment", "environment", TYPE_ENV, KEY_RESTART, "" },
  { "EnvironmentFile", NULL, TYPE_ENV_FILE, KEY_RESTART, NULL },
  { "User", "user", TYPE_STRING, KEY_RESTART, "" },
  { "Group", "group", TYPE_STRING, KEY_RESTART, "" },
  { "Interpreter", "interpreter", TYPE_STRING, KEY_RESTART, "" },
  { "AutoStart", "autostart", TYPE_BOOL, 0, "no" },
  { "Restart", "restart", TYPE_RESTART, 0, "no" },
  { "RestartDelay", "restart-delay-ms", TYPE_DURATION, 0, "1s" },
  { "RestartDelayMax", "restart-delay-max-ms", TYPE_DURATION, 0, "1min" },
  { "RestartReset", "restart-reset-ms", TYPE_DURATION, 0, "30s" },
  { "StartLimitBurst", "start-limit-burst", TYPE_COUNT, 0, "5" },
  { "StartLimitInterval", "start-limit-interval-ms", TYPE_DURATION, 0, "1min" },
  { "StopSignal", "stop-signal", TYPE_SIGNAL, 0, "SIGTERM" },
  { "StopTimeout", "stop-timeout-ms", TYPE_DURATION, 0, "10s" },
  { "ReloadSignal", "reload-signal", TYPE_SIGNAL, 0, "SIGHUP" },
  /* Limits reach a running job at once where the backend can (systemd). */
  { "MemoryMax", "memory-max", TYPE_SIZE, 0, "infinity" },
  { "CPUQuota", "cpu-quota", TYPE_PERCENT, 0, "infinity" },
  { "TasksMax", "tasks-max", TYPE_LIMIT, 0, "infinity" },
  { "MemoryRestart", "memory-restart", TYPE_SIZE, 0, "infinity" },
  { "WriteLog", "write-log", TYPE_BOOL, 0, "no" },
  { "BufferSize", "buffer-size", TYPE_COUNT, 0, "20" },
  /* 0 = no limit (a plain number is seconds, as everywhere in job files). */
  { "RuntimeMax", "runtime-max-ms", TYPE_DURATION, 0, "0" },
  { "HistorySize", "history-size", TYPE_COUNT, 0, "100" },
  { "Ready", "ready", TYPE_STRING, 0, "exec" },
  { "ReadyTimeout", "ready-timeout-ms", TYPE_DURATION, 0, "90s" },
  { "Watchdog", "watchdog-ms", TYPE_DURATION, 0, "0" },
  { "Health", "health", TYPE_STRING, 0, "" },
  { "HealthInterval", "health-interval-ms", TYPE_DURATION, 0, "10s" },
  { "HealthTimeout", "health-timeout-ms", TYPE_DURATION, 0, "5s" },
  { "HealthFailures", "health-failures", TYPE_COUNT, 0, "3" },
  /* A change scales a running job at once (as `jobctl scale`). */
  { "Instances", "instances", TYPE_COUNT, 0, "1" },
  /* Watch= and the globs: one per line, repeatable; an empty one resets. */
  { "Watch", "watch", TYPE_STRV, 0, NULL },
  { "WatchGlob", "watch-glob", TYPE_STRV, 0, NULL },
  { "WatchExclude", "watch-exclude", TYPE_STRV, 0, NULL },
  { "WatchAction", "watch-action", TYPE_STRING, 0, "restart" },
  { "WatchDebounce", "watch-debounce-ms", TYPE_DURATION, 0, "500ms" },
  /* Schedule= is repeatable; jobd keeps the ids of unchanged expressions. */
  { "Schedule", "schedules", TYPE_SCHEDULES, 0, NULL },
  /* Space-separated JOB or JOB:CONDITION, like systemd's Requires=/After=. */
  { "Requires", "requires", TYPE_WORDS, 0, NULL },
  { "After", "after", TYPE_WORDS, 0, NULL },
  { "Overlap", "overlap", TYPE_STRING, 0, "skip" },
  { "Persistent", "persistent", TYPE_BOOL, 0, "no" },
  { "RandomizedDelay", "randomized-delay", TYPE_DURATION, 0, "0" },
};

/* Settings that are not keys of their own: args is part of Command=,
 * extra is the X-* keys, source-file is set by whoever reads the file. */
#define EXTRA_PREFIX "X-"

static const JobFileKey *
key_by_file_key (const char *file_key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (job_file_keys); i++)
    if (g_ascii_strcasecmp (job_file_keys[i].file_key, file_key) == 0)
      return &job_file_keys[i];
  return NULL;
}

static const JobFileKey *
key_by_setting (const char *setting)
{
  for (gsize i = 0; i < G_N_ELEMENTS (job_file_keys); i++)
    if (g_strcmp0 (job_file_keys[i].setting, setting) == 0)
      return &job_file_keys[i];
  return NULL;
}

const char *
jobd_job_file_key_to_setting (const char *file_key)
{
  const JobFileKey *key = key_by_file_key (file_key);

  return key != NULL ? key->setting : NULL;
}

const char *
jobd_job_file_setting_to_key (const char *setting)
{
  const JobFileKey *key;

  if (g_strcmp0 (setting, "args") == 0)
    return "Command";
  key = key_by_setting (setting);
  return key != NULL ? key->file_key : NULL;
}

/* ---- words, as systemd splits ExecStart= ---------------------------------- */

static int
hex_value (char c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* After a backslash at *p: appends the character it stands for. */
static gboolean
unescape_one (const char **p, GString *word, GError **error)
{
  /* "\ " is a blank inside the word, as ExecStart= reads it. */
  static const char simple_from[] = "abfnrtvs\\\"' ";
  static const char simple_to[] = "\a\b\f\n\r\t\v \\\"' ";
  const char *hit = **p != '\0' ? strchr (simple_from, **p) : NULL;
  gunichar value = 0;
  int digits = 0, base = 16;

  if (hit != NULL)
    {
      g_string_append_c (word, simple_to[hit - simple_from]);
      (*p)++;
      return TRUE;
    }
  switch (**p)
    {
    case 'x': digits = 2; (*p)++; break;
    case 'u': digits = 4; (*p)++; break;
    case 'U': digits = 8; (*p)++; break;
    default:
      if (**p >= '0' && **p <= '7')
        {
          digits = 3;
          base = 8;
        }
      break;
    }
  for (int i = 0; i < digits; i++)
    {
      int d = hex_value ((*p)[0]);

      if (d < 0 || d >= base)
        {
          digits = 0;
          break;
        }
      value = value * (gunichar) base + (gunichar) d;
      (*p)++;
    }
  if (digits == 0 || value == 0 || !g_unichar_validate (value))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "bad escape sequence after \\");
      return FALSE;
    }
  if (base == 16 && digits == 2)
    g_string_append_c (word, (char) value);
  else
    g_string_append_unichar (word, value);
  return TRUE;
}

char **
jobd_job_file_split (const char *text, GError **error)
{
  g_autoptr(GStrvBuilder) words = g_strv_builder_new ();
  const char *p = text;

  for (;;)
    {
      g_autoptr(GString) word = NULL;
      char quote = 0;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      word = g_string_new (NULL);
      while (*p != '\0' && (quote != 0 || !g_ascii_isspace (*p)))
        {
          char c = *p++;

          if (quote == 0 && (c == '"' || c == '\''))
            quote = c;
          else if (quote != 0 && c == quote)
            quote = 0;
          else if (c == '\\' && !unescape_one (&p, word, error))
            return NULL;
          else if (c != '\\')
            g_string_append_c (word, c);
        }
      if (quote != 0)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "unterminated %c quote", quote);
          return NULL;
        }
      g_strv_builder_add (words, word->str);
    }
  return g_strv_builder_end (words);
}

static gboolean
needs_quotes (const char *word)
{
  if (*word == '\0')
    return TRUE;
  for (const char *p = word; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p) || strchr ("\"'\\", *p) != NULL)
      return TRUE;
  return FALSE;
}

static void
append_word (GString *out, const char *word)
{
  if (!needs_quotes (word))
    {
      g_string_append (out, word);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = word; *p != '\0'; p++)
    switch (*p)
      {
      case '"': g_string_append (out, "\\\""); break;
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\t': g_string_append (out, "\\t"); break;
      case '\r': g_string_append (out, "\\r"); break;
      default:
        if (g_ascii_iscntrl (*p))
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
        else
          g_string_append_c (out, *p);
      }
  g_string_append_c (out, '"');
}

char *
jobd_job_file_join (const char * const *words)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; words != NULL && words[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      append_word (out, words[i]);
    }
  return g_string_free (out, FALSE);
}

/* ---- values ---------------------------------------------------------------- */

static gboolean
is_infinity (const char *text)
{
  return g_ascii_strcasecmp (text, "infinity") == 0 || *text == '\0';
}

/* Plain numbers are seconds, as in systemd's *Sec= settings. */
static gboolean
parse_duration (const char *text, guint32 *ms, GError **error)
{
  guint64 seconds;

  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32 / 1000, &seconds, NULL))
    {
      *ms = (guint32) seconds * 1000;
      return TRUE;
    }
  return jobd_parse_duration_ms (text, ms, error);
}

static GVariant *
parse_signal (const char *text, GError **error)
{
  const char *name;
  int signo;

  if (!jobd_parse_signal (text, &signo, error))
    return NULL;
  name = jobd_signal_to_string (signo);
  if (name != NULL)
    return g_variant_new_string (name);
  return g_variant_new_take_string (g_strdup_printf ("%d", signo));
}

/* A scalar value (floating), or NULL with error. */
static GVariant *
parse_scalar (const JobFileKey *key, const char *text, GError **error)
{
  static const char *const policies[] = { "no", "on-failure", "always", NULL };
  gboolean flag;
  guint32 u32;
  guint64 u64;

  switch (key->type)
    {
    case TYPE_STRING:
    case TYPE_PATH:
      return g_variant_new_string (text);
    case TYPE_BOOL:
      return jobd_parse_bool (text, &flag, error) ? g_variant_new_boolean (flag) : NULL;
    case TYPE_COUNT:
      return jobd_parse_uint (text, G_MAXUINT32, FALSE, &u64, error)
             ? g_variant_new_uint32 ((guint32) u64) : NULL;
    case TYPE_DURATION:
      return parse_duration (text, &u32, error) ? g_variant_new_uint32 (u32) : NULL;
    case TYPE_SIZE:
      if (is_infinity (text))
        return g_variant_new_uint64 (0);
      return jobd_parse_size (text, &u64, error) ? g_variant_new_uint64 (u64) : NULL;
    case TYPE_PERCENT:
      if (is_infinity (text))
        return g_variant_new_uint32 (0);
      return jobd_parse_percent (text, &u32, error) ? g_variant_new_uint32 (u32) : NULL;
    case TYPE_LIMIT:
      if (is_infinity (text))
        return g_variant_new_uint64 (0);
      return jobd_parse_uint (text, G_MAXINT64, TRUE, &u64, error)
             ? g_variant_new_uint64 (u64) : NULL;
    case TYPE_RESTART:
      if (g_strv_contains (policies, text))
        return g_variant_new_string (text);
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "“%s” is not no, on-failure or always", text);
      return NULL;
    case TYPE_SIGNAL:
      return parse_signal (text, error);
    case TYPE_COMMAND:
    case TYPE_STRV:
    case TYPE_WORDS:
    case TYPE_SCHEDULES:
    case TYPE_ENV:
    case TYPE_ENV_FILE:
    default:
      g_assert_not_reached ();
    }
}

/* ---- reading ----------------------------------------------------------------- */

typedef struct {
  const char *path;
  GVariantDict dict;
  GHashTable *environment;  /* from Environment= */
  GPtrArray *env_files;     /* char *, from EnvironmentFile= */
  GHashTable *strv;         /* setting → GPtrArray of char * (TYPE_STRV) */
  GVariantDict *extra;      /* NULL until an X- key */
  gboolean have_group;
  gboolean have_command;
  GPtrArray *warnings;
} Reader;

static void
reader_clear (Reader *r)
{
  g_variant_dict_clear (&r->dict);
  g_clear_pointer (&r->environment, g_hash_table_unref);
  g_clear_pointer (&r->env_files, g_ptr_array_unref);
  g_clear_pointer (&r->strv, g_hash_table_unref);
  g_clear_pointer (&r->extra, g_variant_dict_unref);
  g_clear_pointer (&r->warnings, g_ptr_array_unref);
}

static gboolean
line_error (GError **error, const char *path, const JobdIniEntry *entry, GError *cause)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s:%u: %s: %s",
               path, entry->line, entry->key, cause->message);
  g_error_free (cause);
  return FALSE;
}

static gboolean
env_name_is_valid (const char *name)
{
  if (*name == '\0' || g_ascii_isdigit (*name))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
env_assign (GHashTable *env, const char *word, GError **error)
{
  const char *equals = strchr (word, '=');
  g_autofree char *name = equals != NULL ? g_strndup (word, (gsize) (equals - word)) : NULL;

  if (name == NULL || !env_name_is_valid (name))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "“%s” is not an assignment NAME=VALUE (NAME: letters, digits and _, "
                   "not starting with a digit)", word);
      return FALSE;
    }
  g_hash_table_replace (env, g_steal_pointer (&name), g_strdup (equals + 1));
  return TRUE;
}

static gboolean
read_environment (Reader *r, const char *value, GError **error)
{
  g_auto(GStrv) words = NULL;

  if (*value == '\0')
    {
      g_hash_table_remove_all (r->environment);
      return TRUE;
    }
  words = jobd_job_file_split (value, error);
  if (words == NULL)
    return FALSE;
  for (gsize i = 0; words[i] != NULL; i++)
    if (!env_assign (r->environment, words[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
read_command (Reader *r, const char *value, GError **error)
{
  g_auto(GStrv) words = jobd_job_file_split (value, error);

  if (words == NULL)
    return FALSE;
  if (words[0] == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "the command line is empty");
      return FALSE;
    }
  g_variant_dict_insert (&r->dict, "command", "s", words[0]);
  g_variant_dict_insert_value (&r->dict, "args",
                               g_variant_new_strv ((const char * const *) words + 1, -1));
  r->have_command = TRUE;
  return TRUE;
}

/* Schedule= lines as the schedules setting: entries with a spec only. */
static GVariant *
schedules_from_specs (GPtrArray *specs)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < specs->len; i++)
    {
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "spec", g_variant_new_string (specs->pdata[i]));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}

static void
read_strv (Reader *r, const JobFileKey *key, const char *value)
{
  GPtrArray *values = g_hash_table_lookup (r->strv, key->setting);

  if (values == NULL)
    {
      values = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (r->strv, (gpointer) key->setting, values);
    }
  if (*value == '\0')
    g_ptr_array_set_size (values, 0);
  else
    g_ptr_array_add (values, g_strdup (value));
}

/* A relative folder is the job file's own (a job file kept beside its
 * program works wherever the tree is checked out), made absolute here:
 * jobd never sees where the file was. */
static void
read_path (Reader *r, const JobFileKey *key, const char *value)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;

  if (*value == '\0' || g_path_is_absolute (value))
    {
      g_variant_dict_insert (&r->dict, key->setting, "s", value);
      return;
    }
  dir = g_path_get_dirname (r->path);
  base = g_canonicalize_filename (dir, NULL);   /* a relative file: from jobctl's folder */
  path = g_canonicalize_filename (value, base);
  g_variant_dict_insert (&r->dict, key->setting, "s", path);
}

static void
read_words (Reader *r, const JobFileKey *key, const char *value)
{
  g_auto(GStrv) words = g_strsplit_set (value, " \t", -1);
  gboolean any = FALSE;

  for (gsize i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      {
        read_strv (r, key, words[i]);
        any = TRUE;
      }
  if (!any)
    read_strv (r, key, "");
}

static gboolean
read_key (Reader *r, const JobFileKey *key, const char *value, GError **error)
{
  GVariant *parsed;

  switch (key->type)
    {
    case TYPE_COMMAND:
      return read_command (r, value, error);
    case TYPE_ENV:
      return read_environment (r, value, error);
    case TYPE_ENV_FILE:
      if (*value == '\0')
        g_ptr_array_set_size (r->env_files, 0);
      else
        g_ptr_array_add (r->env_files, g_strdup (value));
      return TRUE;
    case TYPE_STRV:
    case TYPE_SCHEDULES:
      read_strv (r, key, value);
      return TRUE;
    case TYPE_PATH:
      read_path (r, key, value);
      return TRUE;
    case TYPE_WORDS:
      read_words (r, key, value);
      return TRUE;
    default:
      parsed = parse_scalar (key, value, error);
      if (parsed == NULL)
        return FALSE;
      g_variant_dict_insert_value (&r->dict, key->setting, parsed);
      return TRUE;
    }
}

static void
warn (Reader *r, guint line, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
warn (Reader *r, guint line, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (r->warnings, g_strdup_printf ("%s:%u: %s", r->path, line, text));
}

static gboolean
read_entry (Reader *r, const JobdIniEntry *entry, GError **error)
{
  const JobFileKey *key;
  GError *local = NULL;

  if (!g_str_equal (entry->group, JOBD_JOB_FILE_GROUP))
    {
      if (entry->key == NULL)
        warn (r, entry->line, "Unknown section '%s'. Ignoring.", entry->group);
      return TRUE;
    }
  if (entry->key == NULL)
    {
      r->have_group = TRUE;
      return TRUE;
    }
  if (g_str_has_prefix (entry->key, EXTRA_PREFIX) && entry->key[2] != '\0')
    {
      if (r->extra == NULL)
        r->extra = g_variant_dict_new (NULL);
      g_variant_dict_insert (r->extra, entry->key + 2, "s", entry->value);
      return TRUE;
    }
  key = key_by_file_key (entry->key);
  if (key == NULL)
    {
      warn (r, entry->line, "Unknown key name '%s' in section '%s', ignoring.",
            entry->key, entry->group);
      return TRUE;
    }
  if (!read_key (r, key, entry->value, &local))
    return line_error (error, r->path, entry, local);
  return TRUE;
}

/* systemd's EnvironmentFile= format: NAME=VALUE lines, # and ; comments,
 * values in "…" (backslash escapes) or '…' (literal) or bare (trimmed). */
static char *
env_file_value (const char *raw)
{
  gsize len = strlen (raw);
  GString *value;

  if (len < 2 || (raw[0] != '"' && raw[0] != '\'') || raw[len - 1] != raw[0])
    return g_strdup (raw);
  if (raw[0] == '\'')
    return g_strndup (raw + 1, len - 2);
  value = g_string_new (NULL);
  for (gsize i = 1; i < len - 1; i++)
    {
      if (raw[i] == '\\' && i + 1 < len - 1)
        i++;
      g_string_append_c (value, raw[i]);
    }
  return g_string_free (value, FALSE);
}

static gboolean
read_env_file (Reader *r, const char *spec, GError **error)
{
  gboolean optional = spec[0] == '-';
  const char *name = optional ? spec + 1 : spec;
  g_autofree char *dir = g_path_get_dirname (r->path);
  g_autofree char *path = g_path_is_absolute (name) ? g_strdup (name)
                                                    : g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      if (optional && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: EnvironmentFile: %s", r->path, local->message);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *equals = strchr (line, '=');
      g_autofree char *value = NULL;

      if (*line == '\0' || *line == '#' || *line == ';')
        continue;
      if (equals == NULL)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "%s:%u: not an assignment NAME=VALUE", path, i + 1);
          return FALSE;
        }
      *equals = '\0';
      g_strchomp (line);
      if (!env_name_is_valid (line))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "%s:%u: invalid variable name '%s'", path, i + 1, line);
          return FALSE;
        }
      value = env_file_value (g_strchug (equals + 1));
      g_hash_table_replace (r->environment, g_strdup (line), g_steal_pointer (&value));
    }
  return TRUE;
}

static GVariant *
env_to_variant (GHashTable *env)
{
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (env), (GCompareFunc) strcmp);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (GList *l = keys; l != NULL; l = l->next)
    g_variant_builder_add (&builder, "{ss}", l->data, g_hash_table_lookup (env, l->data));
  return g_variant_builder_end (&builder);
}

/* Environment= lines first, then the files over them (as systemd). */
static gboolean
reader_finish (Reader *r, GError **error)
{
  GHashTableIter iter;
  gpointer setting, values;
  gboolean env_given = g_hash_table_size (r->environment) > 0 || r->env_files->len > 0;

  for (guint i = 0; i < r->env_files->len; i++)
    if (!read_env_file (r, r->env_files->pdata[i], error))
      return FALSE;
  if (env_given)
    g_variant_dict_insert_value (&r->dict, "environment", env_to_variant (r->environment));
  g_hash_table_iter_init (&iter, r->strv);
  while (g_hash_table_iter_next (&iter, &setting, &values))
    g_variant_dict_insert_value (&r->dict, setting,
        g_str_equal (setting, "schedules")
        ? schedules_from_specs (values)
        : g_variant_new_strv ((const char * const *) ((GPtrArray *) values)->pdata,
                              ((GPtrArray *) values)->len));
  if (r->extra != NULL)
    g_variant_dict_insert_value (&r->dict, "extra", g_variant_dict_end (r->extra));
  return TRUE;
}

static char *
name_from_path (const char *path, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(GError) local = NULL;

  if (!g_str_has_suffix (base, JOBD_JOB_FILE_SUFFIX))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: a job file is named NAME.job", path);
      return NULL;
    }
  base[strlen (base) - strlen (JOBD_JOB_FILE_SUFFIX)] = '\0';
  if (!jobd_name_validate (base, &local))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s: %s", path, local->message);
      return NULL;
    }
  return g_steal_pointer (&base);
}

static char *
absolute_path (const char *path)
{
  g_autofree char *cwd = NULL;

  if (g_path_is_absolute (path))
    return g_canonicalize_filename (path, NULL);
  cwd = g_get_current_dir ();
  return g_canonicalize_filename (path, cwd);
}

JobdJobFile *
jobd_job_file_parse (const char *path, const char *text, gsize length, GError **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *name = name_from_path (path, error);
  g_autofree char *source = NULL;
  g_autoptr(GError) local = NULL;
  Reader r = { .path = path };
  JobdJobFile *file;
  gboolean ok = TRUE;

  if (name == NULL)
    return NULL;
  entries = jobd_ini_parse (path, text, length, NULL, &local);
  if (entries == NULL)
    {
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, local->message);
      return NULL;
    }
  g_variant_dict_init (&r.dict, NULL);
  r.environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r.env_files = g_ptr_array_new_with_free_func (g_free);
  r.strv = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                  (GDestroyNotify) g_ptr_array_unref);
  r.warnings = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; ok && i < entries->len; i++)
    ok = read_entry (&r, entries->pdata[i], error);
  if (ok && !r.have_group)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: no [" JOBD_JOB_FILE_GROUP "] section", path);
      ok = FALSE;
    }
  else if (ok && !r.have_command)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: [" JOBD_JOB_FILE_GROUP "] has no Command=", path);
      ok = FALSE;
    }
  if (!ok || !reader_finish (&r, error))
    {
      reader_clear (&r);
      return NULL;
    }
  source = absolute_path (path);
  g_variant_dict_insert (&r.dict, JOBD_SETTING_SOURCE_FILE, "s", source);

  file = g_new0 (JobdJobFile, 1);
  file->path = g_strdup (path);
  file->name = g_steal_pointer (&name);
  file->settings = g_variant_ref_sink (g_variant_dict_end (&r.dict));
  file->warnings = g_steal_pointer (&r.warnings);
  reader_clear (&r);
  return file;
}

JobdJobFile *
jobd_job_file_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, &length, &local))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS, "%s", local->message);
      return NULL;
    }
  return jobd_job_file_parse (path, text, length, error);
}

void
jobd_job_file_free (JobdJobFile *file)
{
  if (file == NULL)
    return;
  g_free (file->path);
  g_free (file->name);
  g_clear_pointer (&file->settings, g_variant_unref);
  g_clear_pointer (&file->warnings, g_ptr_array_unref);
  g_free (file);
}

static int
compare_files (gconstpointer a, gconstpointer b)
{
  const JobdJobFile *fa = *(JobdJobFile * const *) a;
  const JobdJobFile *fb = *(JobdJobFile * const *) b;

  return strcmp (fa->name, fb->name);
}

GPtrArray *
jobd_job_file_load_dir (const char *dir, GPtrArray *errors, GPtrArray *failed,
                        GError **error)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) files = NULL;
  const char *entry;

  if (handle == NULL)
    return NULL;
  files = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_job_file_free);
  while ((entry = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = NULL;
      GError *local = NULL;
      JobdJobFile *file;

      if (!g_str_has_suffix (entry, JOBD_JOB_FILE_SUFFIX) || entry[0] == '.')
        continue;
      path = g_build_filename (dir, entry, NULL);
      file = jobd_job_file_load (path, &local);
      if (file != NULL)
        g_ptr_array_add (files, file);
      else
        {
          g_ptr_array_add (errors, local);
          if (failed != NULL)
            g_ptr_array_add (failed, g_strndup (entry, strlen (entry) - strlen (JOBD_JOB_FILE_SUFFIX)));
        }
    }
  g_ptr_array_sort (files, compare_files);
  return g_steal_pointer (&files);
}

/* ---- writing ------------------------------------------------------------------ */

/* Exact: 90061000 → "1d 1h 1min 1s"; parses back to the same number. */
static char *
format_duration (guint64 ms)
{
  static const struct { const char *unit; guint64 ms; } units[] = {
    { "d", 86400000 }, { "h", 3600000 }, { "min", 60000 }, { "s", 1000 }, { "ms", 1 },
  };
  GString *out = g_string_new (NULL);

  if (ms == 0)
    g_string_append (out, "0");
  for (gsize i = 0; i < G_N_ELEMENTS (units) && ms > 0; i++)
    if (ms >= units[i].ms)
      {
        g_string_append_printf (out, "%s%" G_GUINT64_FORMAT "%s", out->len > 0 ? " " : "",
                                ms / units[i].ms, units[i].unit);
        ms %= units[i].ms;
      }
  return g_string_free (out, FALSE);
}

static char *
format_size (guint64 bytes)
{
  static const char suffixes[] = "TGMK";

  for (gsize i = 0; i < 4; i++)
    {
      guint shift = 10 * (guint) (4 - i);

      if (bytes >= (G_GUINT64_CONSTANT (1) << shift)
          && bytes % (G_GUINT64_CONSTANT (1) << shift) == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes >> shift, suffixes[i]);
    }
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

/* A raw value survives the trip through an INI line: one line, no blanks
 * at its ends (they are trimmed when read). */
static gboolean
raw_value_ok (const char *text)
{
  gsize len = strlen (text);

  return strchr (text, '\n') == NULL && strchr (text, '\r') == NULL
         && (len == 0 || (!g_ascii_isspace (text[0]) && !g_ascii_isspace (text[len - 1])));
}

/* The value of a scalar setting as the file writes it; NULL when it
 * cannot be written. */
static char *
format_scalar (const JobFileKey *key, GVariant *value)
{
  switch (key->type)
    {
    case TYPE_STRING:
    case TYPE_PATH:
    case TYPE_RESTART:
    case TYPE_SIGNAL:
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        return NULL;
      return raw_value_ok (g_variant_get_string (value, NULL))
             ? g_variant_dup_string (value, NULL) : NULL;
    case TYPE_BOOL:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN)
             ? g_strdup (g_variant_get_boolean (value) ? "yes" : "no") : NULL;
    case TYPE_COUNT:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32)
             ? g_strdup_printf ("%u", g_variant_get_uint32 (value)) : NULL;
    case TYPE_DURATION:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32)
             ? format_duration (g_variant_get_uint32 (value)) : NULL;
    case TYPE_PERCENT:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32)
             ? g_strdup_printf ("%u%%", g_variant_get_uint32 (value)) : NULL;
    case TYPE_SIZE:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64)
             ? format_size (g_variant_get_uint64 (value)) : NULL;
    case TYPE_LIMIT:
      return g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64)
             ? g_strdup_printf ("%" G_GUINT64_FORMAT, g_variant_get_uint64 (value)) : NULL;
    case TYPE_COMMAND:
    case TYPE_STRV:
    case TYPE_WORDS:
    case TYPE_SCHEDULES:
    case TYPE_ENV:
    case TYPE_ENV_FILE:
    default:
      return NULL;
    }
}

/* The default of a setting as a value (floating), or NULL. */
static GVariant *
default_value (const JobFileKey *key)
{
  switch (key->type)
    {
    case TYPE_STRV:
    case TYPE_WORDS:
      return g_variant_new_strv (NULL, 0);
    case TYPE_SCHEDULES:
      return g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0);
    case TYPE_ENV:
      return g_variant_new_array (G_VARIANT_TYPE ("{ss}"), NULL, 0);
    case TYPE_COMMAND:
    case TYPE_ENV_FILE:
      return NULL;
    default:
      return key->default_text != NULL ? parse_scalar (key, key->default_text, NULL) : NULL;
    }
}

static gboolean
is_default (const JobFileKey *key, GVariant *value)
{
  g_autoptr(GVariant) def = default_value (key);

  if (def != NULL)
    g_variant_ref_sink (def);
  return def != NULL && g_variant_equal (def, value);
}

typedef struct {
  GString *out;
  GPtrArray *unwritable;
} Writer;

static void
unwritable (Writer *w, const char *setting, const char *why)
{
  g_string_append_printf (w->out, "# %s: %s\n", setting, why);
  if (w->unwritable != NULL)
    g_ptr_array_add (w->unwritable, g_strdup (setting));
}

static void
write_command (Writer *w, GVariant *settings)
{
  g_autofree char *command = NULL;
  g_autofree const char **args = NULL;
  g_autoptr(GStrvBuilder) words = g_strv_builder_new ();
  g_auto(GStrv) all = NULL;
  g_autofree char *line = NULL;

  if (!g_variant_lookup (settings, "command", "s", &command))
    return;
  g_variant_lookup (settings, "args", "^a&s", &args);
  g_strv_builder_add (words, command);
  if (args != NULL)
    g_strv_builder_addv (words, args);
  all = g_strv_builder_end (words);
  line = jobd_job_file_join ((const char * const *) all);
  g_string_append_printf (w->out, "Command=%s\n", line);
}

static void
write_environment (Writer *w, GVariant *env)
{
  GVariantIter iter;
  const char *name, *value;

  g_variant_iter_init (&iter, env);
  while (g_variant_iter_next (&iter, "{&s&s}", &name, &value))
    {
      g_autofree char *assignment = g_strconcat (name, "=", value, NULL);
      const char *word[] = { assignment, NULL };
      g_autofree char *quoted = jobd_job_file_join (word);

      g_string_append_printf (w->out, "Environment=%s\n", quoted);
    }
}

/* A disabled schedule cannot be written (a file has no way to say it). */
static void
write_schedules (Writer *w, const JobFileKey *key, GVariant *value)
{
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, value);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *spec = NULL;
      gboolean enabled = TRUE;

      g_variant_lookup (entry, "spec", "&s", &spec);
      g_variant_lookup (entry, "enabled", "b", &enabled);
      if (spec != NULL && enabled && raw_value_ok (spec) && *spec != '\0')
        g_string_append_printf (w->out, "%s=%s\n", key->file_key, spec);
      else
        unwritable (w, key->setting, "a disabled schedule or one a job file cannot hold");
      g_variant_unref (entry);
    }
}

static void
write_key (Writer *w, const JobFileKey *key, GVariant *settings)
{
  g_autoptr(GVariant) value = NULL;
  g_autofree char *text = NULL;

  if (key->type == TYPE_COMMAND)
    {
      write_command (w, settings);
      return;
    }
  if (key->setting == NULL
      || (value = g_variant_lookup_value (settings, key->setting, NULL)) == NULL
      || is_default (key, value))
    return;
  if (key->type == TYPE_ENV && g_variant_is_of_type (value, G_VARIANT_TYPE ("a{ss}")))
    write_environment (w, value);
  else if (key->type == TYPE_STRV && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **items = g_variant_get_strv (value, NULL);

      for (gsize i = 0; items[i] != NULL; i++)
        if (raw_value_ok (items[i]) && *items[i] != '\0')
          g_string_append_printf (w->out, "%s=%s\n", key->file_key, items[i]);
        else
          unwritable (w, key->setting, "a value a job file cannot hold");
    }
  else if (key->type == TYPE_WORDS && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **items = g_variant_get_strv (value, NULL);
      g_autofree char *line = g_strjoinv (" ", (char **) items);

      if (raw_value_ok (line) && strpbrk (line, "\t") == NULL)
        g_string_append_printf (w->out, "%s=%s\n", key->file_key, line);
      else
        unwritable (w, key->setting, "a value a job file cannot hold");
    }
  else if (key->type == TYPE_SCHEDULES && g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")))
    write_schedules (w, key, value);
  else if ((text = format_scalar (key, value)) != NULL)
    g_string_append_printf (w->out, "%s=%s\n", key->file_key, text);
  else
    unwritable (w, key->setting, "a value a job file cannot hold");
}

static gboolean
extra_key_ok (const char *name)
{
  return *name != '\0' && raw_value_ok (name) && strpbrk (name, "=[]#") == NULL;
}

static void
write_extra (Writer *w, GVariant *settings)
{
  g_autoptr(GVariant) extra = g_variant_lookup_value (settings, "extra", G_VARIANT_TYPE_VARDICT);
  GVariantIter iter;
  const char *name;
  GVariant *value;

  if (extra == NULL)
    return;
  g_variant_iter_init (&iter, extra);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autofree char *label = g_strconcat ("extra ", name, NULL);

      if (extra_key_ok (name) && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
          && raw_value_ok (g_variant_get_string (value, NULL)))
        g_string_append_printf (w->out, EXTRA_PREFIX "%s=%s\n", name,
                                g_variant_get_string (value, NULL));
      else
        unwritable (w, label, "only text extras with plain names can be written");
      g_variant_unref (value);
    }
}

static gboolean
setting_is_known (const char *setting)
{
  return key_by_setting (setting) != NULL || g_str_equal (setting, "args")
         || g_str_equal (setting, "extra") || g_str_equal (setting, JOBD_SETTING_SOURCE_FILE);
}

char *
jobd_job_file_write (const char *name, GVariant *settings, GPtrArray *unwritable_out)
{
  Writer w = { g_string_new (NULL), unwritable_out };
  GVariantIter iter;
  const char *setting;

  g_string_append_printf (w.out, "# %s" JOBD_JOB_FILE_SUFFIX "\n[" JOBD_JOB_FILE_GROUP "]\n",
                          name);
  for (gsize i = 0; i < G_N_ELEMENTS (job_file_keys); i++)
    write_key (&w, &job_file_keys[i], settings);
  write_extra (&w, settings);
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_next (&iter, "{&sv}", &setting, NULL))
    if (!setting_is_known (setting))
      unwritable (&w, setting, "no job file key for this setting");
  return g_string_free (w.out, FALSE);
}

/* ---- comparing ------------------------------------------------------------------ */

/* The value of setting in settings, or its default (a new reference). */
static GVariant *
value_or_default (GVariant *settings, const JobFileKey *key, const char *setting)
{
  GVariant *value = g_variant_lookup_value (settings, setting, NULL);

  if (value == NULL && g_str_equal (setting, "args"))
    value = g_variant_new_strv (NULL, 0);
  if (value == NULL && key->type != TYPE_COMMAND)
    value = default_value (key);
  return value != NULL ? g_variant_ref_sink (value) : NULL;
}

static void
note_change (GPtrArray *changed, gboolean *restart, const JobFileKey *key)
{
  if (changed != NULL && !g_ptr_array_find_with_equal_func (changed, key->file_key,
                                                            g_str_equal, NULL))
    g_ptr_array_add (changed, (gpointer) key->file_key);
  if (key->flags & KEY_RESTART)
    *restart = TRUE;
}

/* The enabled specs of a schedules value, in order (compared without
 * the ids jobd gives). */
static GVariant *
enabled_specs (GVariant *schedules)
{
  g_autoptr(GPtrArray) specs = g_ptr_array_new ();
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, schedules);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *spec = NULL;
      gboolean enabled = TRUE;

      g_variant_lookup (entry, "spec", "&s", &spec);
      g_variant_lookup (entry, "enabled", "b", &enabled);
      if (spec != NULL && enabled)
        g_ptr_array_add (specs, (gpointer) spec);
      g_variant_unref (entry);
    }
  return g_variant_ref_sink (g_variant_new_strv ((const char *const *) specs->pdata, specs->len));
}

static void
diff_setting (GVariantDict *update, GVariant *want, GVariant *have, const JobFileKey *key,
              const char *setting, GPtrArray *changed, gboolean *restart)
{
  g_autoptr(GVariant) a = value_or_default (want, key, setting);
  g_autoptr(GVariant) b = value_or_default (have, key, setting);

  if (a != NULL && b != NULL && key->type == TYPE_SCHEDULES
      && g_variant_is_of_type (a, G_VARIANT_TYPE ("aa{sv}"))
      && g_variant_is_of_type (b, G_VARIANT_TYPE ("aa{sv}")))
    {
      g_autoptr(GVariant) sa = enabled_specs (a);
      g_autoptr(GVariant) sb = enabled_specs (b);

      if (g_variant_equal (sa, sb))
        return;
    }
  if (a == NULL || (b != NULL && g_variant_equal (a, b)))
    return;
  g_variant_dict_insert_value (update, setting, a);
  note_change (changed, restart, key);
}

/* Extras: only the keys the file names are compared (and sent). */
static void
diff_extra (GVariantDict *update, GVariant *want, GVariant *have, GPtrArray *changed)
{
  static const JobFileKey extra_key = { "X-*", "extra", TYPE_STRING, 0, NULL };
  g_autoptr(GVariant) wanted = g_variant_lookup_value (want, "extra", G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) had = g_variant_lookup_value (have, "extra", G_VARIANT_TYPE_VARDICT);
  GVariantIter iter;
  const char *name;
  GVariant *value;
  gboolean differs = FALSE, unused = FALSE;

  if (wanted == NULL)
    return;
  g_variant_iter_init (&iter, wanted);
  while (!differs && g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr(GVariant) old = had != NULL ? g_variant_lookup_value (had, name, NULL) : NULL;

      differs = old == NULL || !g_variant_equal (old, value);
      g_variant_unref (value);
    }
  if (!differs)
    return;
  g_variant_dict_insert_value (update, "extra", wanted);
  note_change (changed, &unused, &extra_key);
}

GVariant *
jobd_job_file_diff (GVariant *want, GVariant *have, GPtrArray *changed, gboolean *restart)
{
  static const JobFileKey source_key = { "source", JOBD_SETTING_SOURCE_FILE, TYPE_STRING, 0, "" };
  g_auto(GVariantDict) update;
  g_autoptr(GVariant) result = NULL;
  gboolean needs_restart = FALSE;

  g_variant_dict_init (&update, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (job_file_keys); i++)
    {
      const JobFileKey *key = &job_file_keys[i];

      if (key->setting == NULL)
        continue;
      diff_setting (&update, want, have, key, key->setting, changed, &needs_restart);
      if (key->type == TYPE_COMMAND)
        diff_setting (&update, want, have, key, "args", changed, &needs_restart);
    }
  diff_setting (&update, want, have, &source_key, JOBD_SETTING_SOURCE_FILE, NULL,
                &needs_restart);
  diff_extra (&update, want, have, changed);
  if (restart != NULL)
    *restart = needs_restart;
  result = g_variant_ref_sink (g_variant_dict_end (&update));
  return g_variant_n_children (result) > 0 ? g_steal_pointer (&result) : NULL;
}
