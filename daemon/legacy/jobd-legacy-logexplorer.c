/* SPDX-License-Identifier: MIT */
/* jobd-legacy-logexplorer.c — the legacy "logexplorer" plugin.
 *
 * Deliberate difference from the old server, which joined dirname and
 * filename into a path unchecked (so "../.." read any file): names are
 * single components, and the walk uses openat(O_NOFOLLOW) step by step.
 */
#include "jobd-legacy-logexplorer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-error.h"

#define NAME_MAX_LEN 255

gboolean
jobd_legacy_log_name_is_safe (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  return len > 0 && len <= NAME_MAX_LEN
    && strchr (name, '/') == NULL
    && !g_str_equal (name, ".") && !g_str_equal (name, "..");
}

static gboolean
set_errno_error (GError **error, int saved, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
               "%s: %s", what, g_strerror (saved));
  return FALSE;
}

/* Open LOG_DIR/components[0]/.../components[n-1] as a directory. */
static int
open_dir (const char *log_dir, const char *const *components, guint n, GError **error)
{
  int fd = open (log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      set_errno_error (error, errno, log_dir);
      return -1;
    }
  for (guint i = 0; i < n; i++)
    {
      int next;

      if (!jobd_legacy_log_name_is_safe (components[i]))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "unsafe name \"%s\"", components[i]);
          close (fd);
          return -1;
        }
      next = openat (fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        {
          set_errno_error (error, errno, components[i]);
          close (fd);
          return -1;
        }
      close (fd);
      fd = next;
    }
  return fd;
}

static gint
compare_desc (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) b, *(const char *const *) a);
}

GPtrArray *
jobd_legacy_log_list (const char *log_dir,
                      const char *const *components,
                      gboolean want_dirs,
                      GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int fd = open_dir (log_dir, components, g_strv_length ((char **) components), error);
  DIR *dir;
  struct dirent *entry;

  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      set_errno_error (error, errno, "fdopendir");
      close (fd);
      return NULL;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      struct stat st;

      if (!jobd_legacy_log_name_is_safe (entry->d_name)
          || fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      /* Symlinks are neither: they are never listed nor followed. */
      if (want_dirs ? S_ISDIR (st.st_mode) : S_ISREG (st.st_mode))
        g_ptr_array_add (names, g_strdup (entry->d_name));
    }
  closedir (dir);
  g_ptr_array_sort (names, compare_desc);
  return g_steal_pointer (&names);
}

/* Open LOG_DIR/<components...>, a regular file of at most
 * JOBD_LEGACY_LOG_READ_MAX bytes; its size in *size. */
static int
open_log_file (const char *log_dir, const char *const *components, gsize *size,
               GError **error)
{
  guint n = g_strv_length ((char **) components);
  struct stat st;
  int dfd, fd;

  g_return_val_if_fail (n > 0, -1);
  if (!jobd_legacy_log_name_is_safe (components[n - 1]))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "unsafe name \"%s\"", components[n - 1]);
      return -1;
    }
  dfd = open_dir (log_dir, components, n - 1, error);
  if (dfd < 0)
    return -1;
  fd = openat (dfd, components[n - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dfd);
  if (fd < 0)
    {
      set_errno_error (error, errno, components[n - 1]);
      return -1;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > JOBD_LEGACY_LOG_READ_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: not a readable log file", components[n - 1]);
      close (fd);
      return -1;
    }
  *size = st.st_size;
  return fd;
}

/* Read up to len bytes at offset; the count, or -1 with errno. */
static gssize
pread_full (int fd, guint8 *buf, gsize len, goffset offset)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t r = pread (fd, buf + done, len - done, offset + done);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;   /* truncated meanwhile */
      done += r;
    }
  return done;
}

char *
jobd_legacy_log_read (const char *log_dir,
                      const char *const *components,
                      GError **error)
{
  g_autofree char *data = NULL;
  gsize size = 0;
  gssize done;
  int fd = open_log_file (log_dir, components, &size, error);

  if (fd < 0)
    return NULL;
  data = g_malloc (size + 1);
  done = pread_full (fd, (guint8 *) data, size, 0);
  if (done < 0)
    {
      set_errno_error (error, errno, "read");
      close (fd);
      return NULL;
    }
  close (fd);
  data[done] = '\0';
  /* JSON strings hold valid UTF-8 without NUL. */
  for (gssize i = 0; i < done; i++)
    if (data[i] == '\0')
      data[i] = ' ';
  return g_utf8_make_valid (data, done);
}

/* Streaming: LOGEXPLORER.GET answers a file of up to 16 MiB, which as one
 * JSON string would be up to 6 times that in memory per client, built on
 * the main loop. Instead a thread measures the answer slice by slice (its
 * frame header needs the length first), and the server then produces each
 * slice when the client has taken the previous one. Each slice ends on a
 * character boundary, so escaping slices one by one gives exactly what
 * escaping the whole file would. */
#define SLICE_SIZE (16 * 1024)
#define ENVELOPE_HEAD "{\"code\":\"OK\",\"data\":\""
#define ENVELOPE_TAIL "\"}"

typedef struct {
  guint32 in_len;      /* bytes of the file */
  guint32 out_len;     /* bytes of escaped JSON string contents */
} Slice;

/* A log file's contents as a streamed answer (jobd-legacy-stream.h). */
typedef struct {
  JobdLegacyStream parent;
  int fd;
  GArray *slices;      /* Slice */
  guint next;          /* the next slice to produce */
  goffset offset;      /* its offset in the file */
  gsize total;         /* bytes of the whole payload */
  gboolean head_done;
  gboolean tail_done;
  guint8 *buf;         /* SLICE_SIZE */
} LogStream;

static const guint8 replacement[] = { 0xef, 0xbf, 0xbd };   /* U+FFFD */

static inline void
emit (GByteArray *out, const void *data, gsize len)
{
  if (out != NULL)
    g_byte_array_append (out, data, len);
}

/* Escape one ASCII byte as a JSON string needs; its length. */
static gsize
escape_ascii (guint8 c, GByteArray *out)
{
  char esc[8];
  const char *text = NULL;

  switch (c)
    {
    case '"': text = "\\\""; break;
    case '\\': text = "\\\\"; break;
    case '\b': text = "\\b"; break;
    case '\f': text = "\\f"; break;
    case '\n': text = "\\n"; break;
    case '\r': text = "\\r"; break;
    case '\t': text = "\\t"; break;
    case '\0': text = " "; break;       /* as jobd_legacy_log_read() */
    default:
      if (c < 0x20 || c == 0x7f)
        {
          g_snprintf (esc, sizeof esc, "\\u%04x", c);
          emit (out, esc, 6);
          return 6;
        }
      emit (out, &c, 1);
      return 1;
    }
  emit (out, text, strlen (text));
  return strlen (text);
}

/* The JSON string contents for bytes that end on a character boundary
 * (or at the end of the file): invalid UTF-8 becomes U+FFFD per byte, as
 * g_utf8_make_valid() does. Appended to out unless NULL; the length. */
static gsize
escape_slice (const guint8 *in, gsize len, GByteArray *out)
{
  gsize pos = 0, total = 0;

  while (pos < len)
    {
      const gchar *end = NULL;
      gsize valid;

      g_utf8_validate_len ((const gchar *) in + pos, len - pos, &end);
      valid = (const guint8 *) end - (in + pos);
      for (gsize i = pos; i < pos + valid; )
        {
          gsize run = i;

          /* Runs of bytes that need nothing are copied at once. */
          while (run < pos + valid && in[run] >= 0x20 && in[run] != '"' && in[run] != '\\'
                 && in[run] != 0x7f)
            run++;
          emit (out, in + i, run - i);
          total += run - i;
          if (run < pos + valid)
            total += escape_ascii (in[run++], out);
          i = run;
        }
      pos += valid;
      if (pos < len)
        {
          if (in[pos] == '\0')
            total += escape_ascii (0, out);
          else
            {
              emit (out, replacement, sizeof replacement);
              total += sizeof replacement;
            }
          pos++;
        }
    }
  return total;
}

/* Where to cut n bytes read from the middle of a file so that no
 * character is split: before a lead byte whose sequence does not fit. */
static gsize
slice_cut (const guint8 *buf, gsize n)
{
  for (gsize back = 1; back <= 3 && back <= n; back++)
    {
      guint8 c = buf[n - back];
      gsize need;

      if (c < 0xc0)
        continue;
      need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 1;
      return need > back ? n - back : n;
    }
  return n;
}

static void
log_stream_free (JobdLegacyStream *base)
{
  LogStream *stream = (LogStream *) base;

  if (stream->fd >= 0)
    close (stream->fd);
  g_clear_pointer (&stream->slices, g_array_unref);
  g_free (stream->buf);
  g_free (stream);
}


static gsize
log_stream_size (JobdLegacyStream *base)
{
  return ((LogStream *) base)->total;
}

static gboolean
log_stream_done (JobdLegacyStream *base)
{
  return ((LogStream *) base)->tail_done;
}

static gboolean
log_stream_next (JobdLegacyStream *base, GByteArray *out, GError **error)
{
  LogStream *stream = (LogStream *) base;
  const Slice *slice;
  gssize n;
  gsize before = out->len;

  if (!stream->head_done)
    {
      g_byte_array_append (out, (const guint8 *) ENVELOPE_HEAD, strlen (ENVELOPE_HEAD));
      stream->head_done = TRUE;
      return TRUE;
    }
  if (stream->next == stream->slices->len)
    {
      if (!stream->tail_done)
        g_byte_array_append (out, (const guint8 *) ENVELOPE_TAIL, strlen (ENVELOPE_TAIL));
      stream->tail_done = TRUE;
      return TRUE;
    }
  slice = &g_array_index (stream->slices, Slice, stream->next);
  n = pread_full (stream->fd, stream->buf, slice->in_len, stream->offset);
  if (n < 0)
    return set_errno_error (error, errno, "read");
  /* The frame's length is sent already: the file must still read the same
   * way (appending to it is fine, rewriting it is not). */
  if ((gsize) n != slice->in_len || escape_slice (stream->buf, n, out) != slice->out_len)
    {
      g_byte_array_set_size (out, before);
      g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                           "the log file changed while it was being sent");
      return FALSE;
    }
  stream->next++;
  stream->offset += n;
  return TRUE;
}

static const JobdLegacyStreamFuncs log_stream_funcs = {
  log_stream_size,
  log_stream_next,
  log_stream_done,
  log_stream_free,
};

JobdLegacyStream *
jobd_legacy_log_stream_open (const char *log_dir,
                             const char *const *components,
                             GError **error)
{
  LogStream *stream = g_new0 (LogStream, 1);
  g_autoptr(JobdLegacyStream) owned = &stream->parent;
  gsize size = 0;
  goffset offset = 0;

  stream->parent.funcs = &log_stream_funcs;
  stream->fd = -1;
  stream->fd = open_log_file (log_dir, components, &size, error);
  if (stream->fd < 0)
    return NULL;
  stream->slices = g_array_new (FALSE, FALSE, sizeof (Slice));
  stream->buf = g_malloc (SLICE_SIZE);
  stream->total = strlen (ENVELOPE_HEAD) + strlen (ENVELOPE_TAIL);
  while ((gsize) offset < size)
    {
      gsize want = MIN (SLICE_SIZE, size - offset);
      gssize n = pread_full (stream->fd, stream->buf, want, offset);
      Slice slice;

      if (n < 0)
        {
          set_errno_error (error, errno, "read");
          return NULL;
        }
      if (n == 0)
        break;     /* truncated meanwhile: answer what there is */
      slice.in_len = (gsize) n == want && (gsize) offset + n < size
                     ? slice_cut (stream->buf, n) : (gsize) n;
      slice.out_len = escape_slice (stream->buf, slice.in_len, NULL);
      g_array_append_val (stream->slices, slice);
      stream->total += slice.out_len;
      offset += slice.in_len;
    }
  return g_steal_pointer (&owned);
}

static JsonNode *
names_node (GPtrArray *names)
{
  g_autoptr(JsonArray) array = json_array_sized_new (names->len);

  for (guint i = 0; i < names->len; i++)
    json_array_add_string_element (array, names->pdata[i]);
  return json_node_init_array (json_node_alloc (), array);
}

static void
answer_list (JobdLegacy *legacy, GTask *task, const char *command,
             const char *const *components, gboolean want_dirs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = jobd_legacy_log_list (legacy->log_dir, components,
                                                     want_dirs, &error);

  if (names == NULL)
    jobd_legacy_fail (task, command, error);
  else
    jobd_legacy_return (task, JOBD_LEGACY_CODE_OK, names_node (names));
}

typedef struct {
  char *log_dir;
  char **components;
  const char *command;
} ReadJob;

static void
read_job_free (gpointer data)
{
  ReadJob *job = data;

  g_free (job->log_dir);
  g_strfreev (job->components);
  g_free (job);
}

/* On a worker thread: open and measure (reads the whole file once). */
static void
read_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ReadJob *job = task_data;
  GError *error = NULL;
  JobdLegacyStream *stream = jobd_legacy_log_stream_open (job->log_dir,
                                                             (const char *const *) job->components,
                                                             &error);

  if (stream == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, stream, (GDestroyNotify) jobd_legacy_stream_free);
}

/* Measuring runs on two threads of its own at a lower priority: many
 * clients asking for large files must not take the CPU from the main loop
 * (GLib's shared pool would run ten at a time). Lives as long as jobd. */
#define MEASURE_THREADS 2
static GThreadPool *measure_pool;

static void
measure_thread (gpointer data, gpointer user_data)
{
  GTask *task = data;

  (void) setpriority (PRIO_PROCESS, (id_t) gettid (), 10);
  read_thread (task, NULL, g_task_get_task_data (task), NULL);
  g_object_unref (task);
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) outer = user_data;
  ReadJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  JobdLegacyStream *stream = g_task_propagate_pointer (G_TASK (result), &error);

  if (stream == NULL)
    jobd_legacy_fail (outer, job->command, error);
  else
    jobd_legacy_return_stream (outer, stream);
}

static void
answer_read (JobdLegacy *legacy, GTask *task, const char *command,
             const char *const *components)
{
  g_autoptr(GTask) thread_task = g_task_new (NULL, NULL, read_done, g_object_ref (task));
  ReadJob *job = g_new0 (ReadJob, 1);

  job->log_dir = g_strdup (legacy->log_dir);
  job->components = g_strdupv ((char **) components);
  job->command = command;
  g_task_set_task_data (thread_task, job, read_job_free);
  if (measure_pool == NULL)
    measure_pool = g_thread_pool_new (measure_thread, NULL, MEASURE_THREADS, FALSE, NULL);
  g_thread_pool_push (measure_pool, g_steal_pointer (&thread_task), NULL);
}

/* Fetch the named string parameters; FALSE (task answered) on error. */
static gboolean
get_names (JsonObject *params, GTask *task, const char *command,
           const char **jobname, const char **dirname, const char **filename)
{
  g_autoptr(GError) error = NULL;

  if ((jobname != NULL && !jobd_legacy_param_string (params, "jobname", TRUE, jobname, &error))
      || (dirname != NULL && !jobd_legacy_param_string (params, "dirname", TRUE, dirname, &error))
      || (filename != NULL && !jobd_legacy_param_string (params, "filename", TRUE, filename, &error)))
    {
      jobd_legacy_fail (task, command, error);
      return FALSE;
    }
  return TRUE;
}

static void
cmd_listdir (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *jobname;

  if (get_names (params, task, "LOGEXPLORER.LISTDIR", &jobname, NULL, NULL))
    {
      const char *components[] = { "jobs", jobname, NULL };
      answer_list (legacy, task, "LOGEXPLORER.LISTDIR", components, TRUE);
    }
}

static void
cmd_listfile (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *jobname, *dirname;

  if (get_names (params, task, "LOGEXPLORER.LISTFILE", &jobname, &dirname, NULL))
    {
      const char *components[] = { "jobs", jobname, dirname, NULL };
      answer_list (legacy, task, "LOGEXPLORER.LISTFILE", components, FALSE);
    }
}

static void
cmd_get (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *jobname, *dirname, *filename;

  if (get_names (params, task, "LOGEXPLORER.GET", &jobname, &dirname, &filename))
    {
      const char *components[] = { "jobs", jobname, dirname, filename, NULL };
      answer_read (legacy, task, "LOGEXPLORER.GET", components);
    }
}

static void
cmd_serverlistdir (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *components[] = { "server", NULL };

  answer_list (legacy, task, "LOGEXPLORER.SERVERLISTDIR", components, TRUE);
}

static void
cmd_serverlistfile (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *dirname;

  if (get_names (params, task, "LOGEXPLORER.SERVERLISTFILE", NULL, &dirname, NULL))
    {
      const char *components[] = { "server", dirname, NULL };
      answer_list (legacy, task, "LOGEXPLORER.SERVERLISTFILE", components, FALSE);
    }
}

static void
cmd_serverget (JobdLegacy *legacy, JsonObject *params, GTask *task)
{
  const char *dirname, *filename;

  if (get_names (params, task, "LOGEXPLORER.SERVERGET", NULL, &dirname, &filename))
    {
      const char *components[] = { "server", dirname, filename, NULL };
      answer_read (legacy, task, "LOGEXPLORER.SERVERGET", components);
    }
}

static const JobdLegacyCommand logexplorer_commands[] = {
  { "LOGEXPLORER.LISTDIR", cmd_listdir, FALSE },
  { "LOGEXPLORER.LISTFILE", cmd_listfile, FALSE },
  { "LOGEXPLORER.GET", cmd_get, FALSE },
  { "LOGEXPLORER.SERVERLISTDIR", cmd_serverlistdir, FALSE },
  { "LOGEXPLORER.SERVERLISTFILE", cmd_serverlistfile, FALSE },
  { "LOGEXPLORER.SERVERGET", cmd_serverget, FALSE },
  { NULL },
};

const JobdLegacyCommand *
jobd_legacy_logexplorer_commands (void)
{
  return logexplorer_commands;
}
