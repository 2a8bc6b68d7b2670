/* jobd-legacy-logcleaner.c — delete expired legacy log files.
 *
 * The walk is done with openat(O_NOFOLLOW | O_DIRECTORY) and
 * fstatat(AT_SYMLINK_NOFOLLOW) from the log directory down, so a symlink
 * planted anywhere in the tree (by a job that writes its own log folder,
 * say) can never make jobd delete a file outside it.
 */
#include "jobd-legacy-logcleaner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-error.h"

#define DAY_SECONDS (24 * 3600)

struct _JobdLegacyLogCleaner {
  char *log_dir;
  gint64 expire_sec;
  guint interval_sec;
  guint timeout_id;
  GThread *thread;           /* the pass in progress, or NULL */
  gint done;                 /* atomic: the thread has finished */
};

/* Open name under dfd as a directory, never through a symlink. */
static int
open_subdir (int dfd, const char *name)
{
  return openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Names of the entries of a directory fd (the fd stays open). */
static GPtrArray *
list_entries (int dfd)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int copy = fcntl (dfd, F_DUPFD_CLOEXEC, 0);
  DIR *dir = copy >= 0 ? fdopendir (copy) : NULL;
  struct dirent *entry;

  if (dir == NULL)
    {
      if (copy >= 0)
        close (copy);
      return names;
    }
  while ((entry = readdir (dir)) != NULL)
    if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, ".."))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  closedir (dir);
  return names;
}

/* A day folder: expired regular files go, then the folder if it is empty
 * and old itself (a fresh empty one is about to receive today's log). */
static void
clean_day (int parent, const char *day, gint64 older_than, guint *removed)
{
  g_autoptr(GPtrArray) files = NULL;
  struct stat st;
  int dfd = open_subdir (parent, day);

  if (dfd < 0)
    return;
  files = list_entries (dfd);
  for (guint i = 0; i < files->len; i++)
    {
      const char *name = files->pdata[i];

      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode)
          || st.st_mtime >= older_than)
        continue;
      if (unlinkat (dfd, name, 0) == 0)
        (*removed)++;
      else
        g_warning ("logcleaner: cannot delete %s/%s: %s", day, name, g_strerror (errno));
    }
  close (dfd);

  if (fstatat (parent, day, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode)
      && st.st_mtime < older_than && unlinkat (parent, day, AT_REMOVEDIR) == 0)
    (*removed)++;
}

/* Every real subdirectory of `folder` (under dfd) is a day folder. */
static void
clean_days_of (int dfd, const char *folder, gint64 older_than, guint *removed)
{
  g_autoptr(GPtrArray) days = NULL;
  int fd = open_subdir (dfd, folder);

  if (fd < 0)
    return;
  days = list_entries (fd);
  for (guint i = 0; i < days->len; i++)
    clean_day (fd, days->pdata[i], older_than, removed);
  close (fd);
}

gboolean
jobd_legacy_log_clean (const char *log_dir,
                       gint64 older_than,
                       guint *removed,
                       GError **error)
{
  g_autoptr(GPtrArray) jobs = NULL;
  int root, jobs_fd;

  *removed = 0;
  /* The log directory itself is the administrator's: it may be a symlink. */
  root = open (log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    {
      int saved = errno;

      if (saved == ENOENT)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", log_dir, g_strerror (saved));
      return FALSE;
    }
  clean_days_of (root, "server", older_than, removed);
  jobs_fd = open_subdir (root, "jobs");
  if (jobs_fd >= 0)
    {
      jobs = list_entries (jobs_fd);
      for (guint i = 0; i < jobs->len; i++)
        clean_days_of (jobs_fd, jobs->pdata[i], older_than, removed);
      close (jobs_fd);
    }
  close (root);
  return TRUE;
}

static gpointer
clean_thread (gpointer data)
{
  JobdLegacyLogCleaner *cleaner = data;
  g_autoptr(GError) error = NULL;
  gint64 older_than = g_get_real_time () / G_USEC_PER_SEC - cleaner->expire_sec;
  guint removed = 0;

  if (!jobd_legacy_log_clean (cleaner->log_dir, older_than, &removed, &error))
    g_warning ("logcleaner: %s", error->message);
  else if (removed > 0)
    g_message ("logcleaner: removed %u expired log files and folders", removed);
  g_atomic_int_set (&cleaner->done, 1);
  return NULL;
}

static void
join_finished (JobdLegacyLogCleaner *cleaner, gboolean wait)
{
  if (cleaner->thread == NULL || (!wait && !g_atomic_int_get (&cleaner->done)))
    return;
  g_thread_join (g_steal_pointer (&cleaner->thread));
}

static gboolean
tick (gpointer user_data)
{
  JobdLegacyLogCleaner *cleaner = user_data;

  join_finished (cleaner, FALSE);
  /* A pass still running (a huge tree) is not doubled. */
  if (cleaner->thread != NULL)
    return G_SOURCE_CONTINUE;
  g_atomic_int_set (&cleaner->done, 0);
  cleaner->thread = g_thread_new ("jobd-logcleaner", clean_thread, cleaner);
  return G_SOURCE_CONTINUE;
}

JobdLegacyLogCleaner *
jobd_legacy_logcleaner_new (const char *log_dir, guint64 expire_days, guint64 interval_sec)
{
  JobdLegacyLogCleaner *cleaner = g_new0 (JobdLegacyLogCleaner, 1);

  cleaner->log_dir = g_strdup (log_dir);
  cleaner->expire_sec = (gint64) expire_days * DAY_SECONDS;
  cleaner->interval_sec = (guint) interval_sec;
  return cleaner;
}

void
jobd_legacy_logcleaner_start (JobdLegacyLogCleaner *cleaner)
{
  if (cleaner->timeout_id != 0)
    return;
  tick (cleaner);
  cleaner->timeout_id = g_timeout_add_seconds (cleaner->interval_sec, tick, cleaner);
}

void
jobd_legacy_logcleaner_free (JobdLegacyLogCleaner *cleaner)
{
  if (cleaner == NULL)
    return;
  g_clear_handle_id (&cleaner->timeout_id, g_source_remove);
  /* A pass is bounded by the tree; wait so it never outlives its data. */
  join_finished (cleaner, TRUE);
  g_free (cleaner->log_dir);
  g_free (cleaner);
}
