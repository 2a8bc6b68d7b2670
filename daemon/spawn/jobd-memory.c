/* SPDX-License-Identifier: MIT */
/* jobd-memory.c — resident memory of processes and sessions from /proc. */
#include "config.h"

#include "jobd-memory.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "jobd-error.h"

struct _JobdMemorySnapshot {
  /* GINT_TO_POINTER(sid) → guint64* bytes; read from /proc on first use:
   * jobs in cgroups of their own never need it. */
  GHashTable *rss_by_session;
  gpointer data;                /* a backend's own table, built on demand */
  GDestroyNotify data_destroy;
};

/* Reads a small /proc file (path relative to dir_fd, or absolute) into buf,
 * NUL-terminated: its length, or -1 with errno set. */
static ssize_t
read_proc_file (int dir_fd, const char *path, char *buf, gsize size)
{
  ssize_t n;
  int fd, saved_errno;

  fd = openat (dir_fd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  do
    n = read (fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  saved_errno = errno;
  close (fd);
  errno = saved_errno;
  if (n >= 0)
    buf[n] = '\0';
  return n;
}

/* Session ID (field 6) and RSS pages (field 24) from /proc/PID/stat. */
static gboolean
read_stat_fields (int proc_fd, const char *pid_name, GPid *sid, guint64 *rss_pages)
{
  char path[64];
  char buf[1024];
  const char *p;
  int field;

  g_snprintf (path, sizeof path, "%s/stat", pid_name);
  if (read_proc_file (proc_fd, path, buf, sizeof buf) <= 0)
    return FALSE;

  /* The command name may contain spaces: count fields after the last ')'.
   * After it comes field 3 (state). */
  p = strrchr (buf, ')');
  if (p == NULL)
    return FALSE;
  p++;
  for (field = 2; *p != '\0'; p++)
    {
      if (*p != ' ')
        continue;
      field++;
      if (field == 6)
        *sid = (GPid) strtol (p + 1, NULL, 10);
      else if (field == 24)
        {
          *rss_pages = g_ascii_strtoull (p + 1, NULL, 10);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
scan_proc (GHashTable *by_session, GPid only_sid, guint64 *only_total, GError **error)
{
  guint64 page_size = (guint64) sysconf (_SC_PAGESIZE);
  DIR *dir = opendir ("/proc");
  struct dirent *entry;

  if (dir == NULL)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot read /proc: %s", g_strerror (saved));
      return FALSE;
    }

  while ((entry = readdir (dir)) != NULL)
    {
      GPid sid = 0;
      guint64 pages = 0;

      if (!g_ascii_isdigit (entry->d_name[0]))
        continue;
      /* Processes vanish while we scan: skipping them is right. */
      if (!read_stat_fields (dirfd (dir), entry->d_name, &sid, &pages))
        continue;
      if (only_total != NULL)
        {
          if (sid == only_sid)
            *only_total += pages * page_size;
          continue;
        }
      if (sid > 0)
        {
          guint64 *total = g_hash_table_lookup (by_session, GINT_TO_POINTER (sid));
          if (total == NULL)
            {
              total = g_new0 (guint64, 1);
              g_hash_table_insert (by_session, GINT_TO_POINTER (sid), total);
            }
          *total += pages * page_size;
        }
    }
  closedir (dir);
  return TRUE;
}

JobdMemorySnapshot *
jobd_memory_snapshot_new (GError **error)
{
  JobdMemorySnapshot *snapshot = g_new0 (JobdMemorySnapshot, 1);

  if (!g_file_test ("/proc/self/stat", G_FILE_TEST_EXISTS))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "cannot read /proc");
      g_free (snapshot);
      return NULL;
    }
  return snapshot;
}

void
jobd_memory_snapshot_free (JobdMemorySnapshot *snapshot)
{
  if (snapshot == NULL)
    return;
  g_clear_pointer (&snapshot->rss_by_session, g_hash_table_unref);
  if (snapshot->data_destroy != NULL)
    snapshot->data_destroy (snapshot->data);
  g_free (snapshot);
}

gpointer
jobd_memory_snapshot_get_data (JobdMemorySnapshot *snapshot)
{
  return snapshot->data;
}

void
jobd_memory_snapshot_set_data (JobdMemorySnapshot *snapshot, gpointer data, GDestroyNotify destroy)
{
  if (snapshot->data_destroy != NULL)
    snapshot->data_destroy (snapshot->data);
  snapshot->data = data;
  snapshot->data_destroy = destroy;
}

guint64
jobd_memory_snapshot_session_rss (JobdMemorySnapshot *snapshot, GPid sid)
{
  guint64 *total;

  if (snapshot->rss_by_session == NULL)
    {
      g_autoptr(GError) error = NULL;

      snapshot->rss_by_session = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      if (!scan_proc (snapshot->rss_by_session, 0, NULL, &error))
        g_debug ("memory snapshot: %s", error->message);
    }
  total = g_hash_table_lookup (snapshot->rss_by_session, GINT_TO_POINTER (sid));
  return total != NULL ? *total : 0;
}

gboolean
jobd_memory_session_rss (GPid sid, guint64 *bytes, GError **error)
{
  *bytes = 0;
  return scan_proc (NULL, sid, bytes, error);
}

gboolean
jobd_memory_process_rss (GPid pid, guint64 *bytes, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/statm", (int) pid);
  char contents[128];
  g_auto(GStrv) fields = NULL;

  if (read_proc_file (AT_FDCWD, path, contents, sizeof contents) < 0)
    {
      int saved_errno = errno;

      /* A process on its way out answers ESRCH rather than ENOENT: to the
       * caller both mean it is gone. */
      g_set_error (error, G_FILE_ERROR,
                   saved_errno == ESRCH ? G_FILE_ERROR_NOENT
                                        : g_file_error_from_errno (saved_errno),
                   "cannot read %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  fields = g_strsplit (contents, " ", 3);
  if (g_strv_length (fields) < 2)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "cannot parse %s", path);
      return FALSE;
    }
  *bytes = g_ascii_strtoull (fields[1], NULL, 10) * (guint64) sysconf (_SC_PAGESIZE);
  return TRUE;
}
