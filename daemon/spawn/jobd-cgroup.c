/* SPDX-License-Identifier: MIT */
/* jobd-cgroup.c — memory of a cgroup: v2, v1, or the processes it lists.
 *
 * Everything here is a small synchronous read of a pseudo file, which the
 * kernel answers without blocking, so it is fine on the main loop.
 */
#include "config.h"

#include "jobd-cgroup.h"

#include <dirent.h>
#include <errno.h>

#include <gio/gio.h>

#include <fcntl.h>

#include "jobd-error.h"
#include "jobd-memory.h"

/* Hierarchies that may hold the cgroup's processes, in order: pure v2 at
 * the root, the unified tree of a hybrid layout, v1's name=systemd. */
static const char *const procs_hierarchies[] = { "", "unified", "systemd" };

static char *
hierarchy_dir (const char *root, const char *hierarchy, const char *cgroup_path)
{
  return g_build_filename (root, hierarchy, cgroup_path, NULL);
}

/* Read a file holding one unsigned decimal number. *missing is set (and
 * FALSE returned without error) when the file does not exist or cannot be
 * read, so the caller tries the next source; a file that exists but does
 * not hold a number is an error. */
static gboolean
read_u64_file (const char *path, guint64 *value, gboolean *missing, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local = NULL;
  char *end = NULL;

  *missing = FALSE;
  if (!g_file_get_contents (path, &contents, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
          g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_ACCES) ||
          g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_PERM) ||
          g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
        {
          *missing = TRUE;
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_strchomp (contents);
  *value = g_ascii_strtoull (contents, &end, 10);
  if (contents[0] < '0' || contents[0] > '9' || end == NULL || *end != '\0')
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "%s does not hold a number: \"%s\"", path, contents);
      return FALSE;
    }
  return TRUE;
}

/* Append the PIDs of one cgroup.procs file. */
static gboolean
append_procs_file (const char *path, GArray *pids, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 pid;

      /* "0": a process outside jobd's PID namespace, or one so far into
       * its exit that it has no PID left here; nothing jobd can signal. */
      if (lines[i][0] == '\0' || g_str_equal (lines[i], "0"))
        continue;
      if (!g_ascii_string_to_unsigned (lines[i], 10, 1, G_MAXINT32, &pid, NULL))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                       "%s holds a bad PID: \"%s\"", path, lines[i]);
          return FALSE;
        }
      GPid p = (GPid) pid;
      g_array_append_val (pids, p);
    }
  return TRUE;
}

/* cgroup.procs of dir and of every cgroup below it (a job may make its own
 * sub-cgroups when delegated). */
static gboolean
collect_pids (const char *dir, GArray *pids, guint depth, GError **error)
{
  g_autofree char *procs = g_build_filename (dir, "cgroup.procs", NULL);
  struct dirent *entry;
  gboolean ok = TRUE;
  DIR *d;

  if (!append_procs_file (procs, pids, error))
    return FALSE;
  if (depth >= 32)
    return TRUE;   /* deeper nesting is not worth a stack */
  d = opendir (dir);
  if (d == NULL)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot read %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  while (ok && (entry = readdir (d)) != NULL)
    {
      g_autofree char *child = NULL;
      g_autofree char *child_procs = NULL;

      /* The control files (a few dozen per cgroup) are not cgroups: the
       * type from readdir saves a stat of each, on every memory reading. */
      if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN)
        continue;
      if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
        continue;
      child = g_build_filename (dir, entry->d_name, NULL);
      child_procs = g_build_filename (child, "cgroup.procs", NULL);
      if (entry->d_name[0] == '.' || (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN))
        continue;
      child = g_build_filename (dir, entry->d_name, NULL);
      child_procs = g_build_filename (child, "cgroup.procs", NULL);
      if (!g_file_test (child_procs, G_FILE_TEST_IS_REGULAR))
        continue;
      ok = collect_pids (child, pids, depth + 1, error);
    }
  closedir (d);
  return ok;
}

GArray *
jobd_cgroup_dir_pids (const char *dir, GError **error)
{
  g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (GPid));

  if (!collect_pids (dir, pids, 0, error))
    return NULL;
  return g_steal_pointer (&pids);
}

GArray *
jobd_cgroup_get_pids (const char *root, const char *cgroup_path, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (procs_hierarchies); i++)
    {
      g_autofree char *dir = hierarchy_dir (root, procs_hierarchies[i], cgroup_path);
      g_autofree char *procs = g_build_filename (dir, "cgroup.procs", NULL);
      g_autoptr(GArray) pids = NULL;

      if (!g_file_test (procs, G_FILE_TEST_IS_REGULAR))
        continue;
      pids = g_array_new (FALSE, FALSE, sizeof (GPid));
      if (!collect_pids (dir, pids, 0, error))
        return NULL;
      return g_steal_pointer (&pids);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "cgroup %s not found under %s", cgroup_path, root);
  return NULL;
}

static gboolean
sum_rss (GArray *pids, guint64 *bytes, GError **error)
{
  guint64 total = 0;

  for (guint i = 0; i < pids->len; i++)
    {
      GPid pid = g_array_index (pids, GPid, i);
      g_autoptr(GError) local = NULL;
      guint64 rss = 0;

      if (!jobd_memory_process_rss (pid, &rss, &local))
        {
          /* Exited between the listing and now: it uses nothing. */
          if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      total += rss;
    }
  *bytes = total;
  return TRUE;
}

int
jobd_cgroup_open_procs (const char *root, const char *cgroup_path)
{
  static const char *const v2_hierarchies[] = { "", "unified" };
  int fd = -1;

  for (guint i = 0; i < G_N_ELEMENTS (v2_hierarchies) && fd < 0; i++)
    {
      g_autofree char *dir = hierarchy_dir (root, v2_hierarchies[i], cgroup_path);
      g_autofree char *path = g_build_filename (dir, "cgroup.procs", NULL);

      fd = open (path, O_WRONLY | O_CLOEXEC);
    }
  return fd;
}

gboolean
jobd_cgroup_get_memory (const char *root,
                        const char *cgroup_path,
                        guint64 *bytes,
                        const char **source,
                        GError **error)
{
  static const char *const v2_hierarchies[] = { "", "unified" };
  g_autofree char *v1 = NULL;
  g_autoptr(GArray) pids = NULL;
  gboolean missing;

  g_return_val_if_fail (cgroup_path != NULL && cgroup_path[0] == '/', FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (v2_hierarchies); i++)
    {
      g_autofree char *dir = hierarchy_dir (root, v2_hierarchies[i], cgroup_path);
      g_autofree char *path = g_build_filename (dir, "memory.current", NULL);

      if (read_u64_file (path, bytes, &missing, error))
        {
          *source = JOBD_CGROUP_SOURCE_V2;
          return TRUE;
        }
      if (!missing)
        return FALSE;
    }

  v1 = g_build_filename (root, "memory", cgroup_path, "memory.usage_in_bytes", NULL);
  if (read_u64_file (v1, bytes, &missing, error))
    {
      *source = JOBD_CGROUP_SOURCE_V1;
      return TRUE;
    }
  if (!missing)
    return FALSE;

  pids = jobd_cgroup_get_pids (root, cgroup_path, error);
  if (pids == NULL || !sum_rss (pids, bytes, error))
    return FALSE;
  *source = JOBD_CGROUP_SOURCE_PROCS;
  return TRUE;
}

char *
jobd_cgroup_memory_events_path (const char *root, const char *cgroup_path)
{
  static const char *const v2_hierarchies[] = { "", "unified" };

  for (guint i = 0; cgroup_path != NULL && i < G_N_ELEMENTS (v2_hierarchies); i++)
    {
      g_autofree char *dir = hierarchy_dir (root, v2_hierarchies[i], cgroup_path);
      g_autofree char *high = g_build_filename (dir, "memory.high", NULL);
      g_autofree char *events = g_build_filename (dir, "memory.events", NULL);

      if (g_file_test (high, G_FILE_TEST_EXISTS) && g_file_test (events, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&events);
    }
  return NULL;
}

gboolean
jobd_cgroup_dir_peak_memory (const char *v2_dir,
                             const char *v1_memory_dir,
                             guint64 *bytes,
                             const char **source)
{
  gboolean missing;

  if (v2_dir != NULL)
    {
      g_autofree char *path = g_build_filename (v2_dir, "memory.peak", NULL);
      if (read_u64_file (path, bytes, &missing, NULL))
        {
          *source = JOBD_PEAK_SOURCE_MEMORY_PEAK;
          return TRUE;
        }
    }
  if (v1_memory_dir != NULL)
    {
      g_autofree char *path = g_build_filename (v1_memory_dir, "memory.max_usage_in_bytes", NULL);
      if (read_u64_file (path, bytes, &missing, NULL))
        {
          *source = JOBD_PEAK_SOURCE_MAX_USAGE;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
jobd_cgroup_get_peak_memory (const char *root,
                             const char *cgroup_path,
                             guint64 *bytes,
                             const char **source)
{
  static const char *const v2_hierarchies[] = { "", "unified" };
  g_autofree char *v1 = NULL;

  g_return_val_if_fail (cgroup_path != NULL && cgroup_path[0] == '/', FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (v2_hierarchies); i++)
    {
      g_autofree char *dir = hierarchy_dir (root, v2_hierarchies[i], cgroup_path);
      if (jobd_cgroup_dir_peak_memory (dir, NULL, bytes, source))
        return TRUE;
    }
  v1 = g_build_filename (root, "memory", cgroup_path, NULL);
  return jobd_cgroup_dir_peak_memory (NULL, v1, bytes, source);
}

char *
jobd_cgroup_parse_proc_cgroup (const char *contents, GError **error)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autofree char *named = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* hierarchy-ID:controller-list:path; the path may contain ':'. */
      g_auto(GStrv) fields = g_strsplit (lines[i], ":", 3);

      if (g_strv_length (fields) < 3 || fields[2][0] != '/')
        continue;
      if (g_str_equal (fields[0], "0") && fields[1][0] == '\0')
        return g_strdup (fields[2]);
      if (named == NULL && g_str_equal (fields[1], "name=systemd"))
        named = g_strdup (fields[2]);
    }
  if (named != NULL)
    return g_steal_pointer (&named);
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
               "no unified or name=systemd cgroup in /proc/PID/cgroup");
  return NULL;
}

char *
jobd_cgroup_path_of_pid (GPid pid, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", (int) pid);
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  return jobd_cgroup_parse_proc_cgroup (contents, error);
}
