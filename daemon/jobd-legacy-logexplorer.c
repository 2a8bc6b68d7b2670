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

char *
jobd_legacy_log_read (const char *log_dir,
                      const char *const *components,
                      GError **error)
{
  guint n = g_strv_length ((char **) components);
  g_autofree char *data = NULL;
  struct stat st;
  gsize done = 0;
  int dfd, fd;

  g_return_val_if_fail (n > 0, NULL);
  if (!jobd_legacy_log_name_is_safe (components[n - 1]))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "unsafe name \"%s\"", components[n - 1]);
      return NULL;
    }
  dfd = open_dir (log_dir, components, n - 1, error);
  if (dfd < 0)
    return NULL;
  fd = openat (dfd, components[n - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dfd);
  if (fd < 0)
    {
      set_errno_error (error, errno, components[n - 1]);
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > JOBD_LEGACY_LOG_READ_MAX)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "%s: not a readable log file", components[n - 1]);
      close (fd);
      return NULL;
    }
  data = g_malloc (st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      ssize_t r = read (fd, data + done, st.st_size - done);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          set_errno_error (error, errno, components[n - 1]);
          close (fd);
          return NULL;
        }
      if (r == 0)
        break;   /* truncated meanwhile */
      done += r;
    }
  close (fd);
  data[done] = '\0';
  /* JSON strings hold valid UTF-8 without NUL. */
  for (gsize i = 0; i < done; i++)
    if (data[i] == '\0')
      data[i] = ' ';
  return g_utf8_make_valid (data, done);
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

static void
answer_read (JobdLegacy *legacy, GTask *task, const char *command,
             const char *const *components)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = jobd_legacy_log_read (legacy->log_dir, components, &error);

  if (text == NULL)
    jobd_legacy_fail (task, command, error);
  else
    jobd_legacy_return_string (task, JOBD_LEGACY_CODE_OK, text);
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
