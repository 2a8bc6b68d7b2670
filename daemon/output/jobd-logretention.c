/* SPDX-License-Identifier: MIT */
/* jobd-logretention.c — expire job log files by age and size.
 *
 * The walk is done with openat(O_NOFOLLOW | O_DIRECTORY) and
 * fstatat(AT_SYMLINK_NOFOLLOW) from the log directory down, so a symlink
 * planted anywhere in the tree (by a job that writes its own log folder,
 * say) can never make jobd delete a file outside it.
 */
#include "jobd-logretention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

typedef struct {
  char *day;
  char *name;
  gint64 mtime;
  guint64 size;
} LogEntry;

static void
log_entry_free (gpointer data)
{
  LogEntry *entry = data;

  g_free (entry->day);
  g_free (entry->name);
  g_free (entry);
}

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

static gboolean
delete_file (int folder, const char *day, const char *name, guint *removed)
{
  int dfd = open_subdir (folder, day);
  gboolean ok;

  if (dfd < 0)
    return FALSE;
  ok = unlinkat (dfd, name, 0) == 0;
  if (ok)
    (*removed)++;
  else
    g_warning ("log retention: cannot delete %s/%s: %s", day, name, g_strerror (errno));
  close (dfd);
  return ok;
}

/* The regular files of one day folder: expired ones go, the others are
 * added to `kept` (for the size limit). */
static void
scan_day (int folder, const char *day, const JobdLogPrune *rule,
          GPtrArray *kept, guint *removed)
{
  g_autoptr(GPtrArray) files = NULL;
  struct stat st;
  int dfd = open_subdir (folder, day);

  if (dfd < 0)
    return;
  files = list_entries (dfd);
  for (guint i = 0; i < files->len; i++)
    {
      const char *name = files->pdata[i];
      LogEntry *entry;

      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (st.st_mtime < rule->older_than && st.st_mtime < rule->keep_since)
        {
          if (unlinkat (dfd, name, 0) == 0)
            (*removed)++;
          else
            g_warning ("log retention: cannot delete %s/%s: %s", day, name, g_strerror (errno));
          continue;
        }
      entry = g_new0 (LogEntry, 1);
      entry->day = g_strdup (day);
      entry->name = g_strdup (name);
      entry->mtime = st.st_mtime;
      entry->size = st.st_size;
      g_ptr_array_add (kept, entry);
    }
  close (dfd);
}

static gint
by_age (gconstpointer a, gconstpointer b)
{
  const LogEntry *x = *(const LogEntry *const *) a;
  const LogEntry *y = *(const LogEntry *const *) b;
  int c;

  if (x->mtime != y->mtime)
    return x->mtime < y->mtime ? -1 : 1;
  c = g_strcmp0 (x->day, y->day);
  return c != 0 ? c : g_strcmp0 (x->name, y->name);
}

/* Oldest first until the folder's files take at most max_bytes. */
static void
enforce_size (int folder, GPtrArray *kept, const JobdLogPrune *rule, guint *removed)
{
  guint64 total = 0;

  for (guint i = 0; i < kept->len; i++)
    total += ((LogEntry *) kept->pdata[i])->size;
  if (rule->max_bytes == 0 || total <= rule->max_bytes)
    return;
  g_ptr_array_sort (kept, by_age);
  for (guint i = 0; i < kept->len && total > rule->max_bytes; i++)
    {
      LogEntry *entry = kept->pdata[i];

      /* Sorted by age: the rest is newer still, and protected too. */
      if (entry->mtime >= rule->keep_since)
        break;
      if (delete_file (folder, entry->day, entry->name, removed))
        total -= entry->size;
    }
}

/* Day folders left empty go when they were old enough before this pass
 * deleted their files (which touched them): a fresh empty one is about to
 * receive today's log. rmdir refuses a folder that is not empty. */
static void
remove_empty_days (int folder, GPtrArray *days, const gint64 *day_mtimes,
                   const JobdLogPrune *rule, guint *removed)
{
  for (guint i = 0; i < days->len; i++)
    if (day_mtimes[i] < rule->empty_dirs_before
        && unlinkat (folder, days->pdata[i], AT_REMOVEDIR) == 0)
      (*removed)++;
}

/* One job's folder (or server/): every real subdirectory is a day. */
static void
prune_folder (int parent, const char *name, const JobdLogPrune *rule, guint *removed)
{
  g_autoptr(GPtrArray) days = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (log_entry_free);
  g_autofree gint64 *day_mtimes = NULL;
  int folder = open_subdir (parent, name);

  if (folder < 0)
    return;
  days = list_entries (folder);
  day_mtimes = g_new (gint64, MAX (days->len, 1));
  for (guint i = 0; i < days->len; i++)
    {
      struct stat st;

      /* Only real folders; the rest is never removed. */
      day_mtimes[i] = fstatat (folder, days->pdata[i], &st, AT_SYMLINK_NOFOLLOW) == 0
                      && S_ISDIR (st.st_mode) ? st.st_mtime : G_MAXINT64;
      scan_day (folder, days->pdata[i], rule, kept, removed);
    }
  enforce_size (folder, kept, rule, removed);
  remove_empty_days (folder, days, day_mtimes, rule, removed);
  close (folder);
}

gboolean
jobd_log_prune (const char *log_dir,
                const JobdLogPrune *rule,
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
  prune_folder (root, "server", rule, removed);
  jobs_fd = open_subdir (root, "jobs");
  if (jobs_fd >= 0)
    {
      jobs = list_entries (jobs_fd);
      for (guint i = 0; i < jobs->len; i++)
        prune_folder (jobs_fd, jobs->pdata[i], rule, removed);
      close (jobs_fd);
    }
  close (root);
  return TRUE;
}

/* ---- the periodic pass ---- */

struct _JobdLogRetention {
  char *log_dir;
  char *what;
  guint interval_sec;
  JobdLogPruneRuleFunc rule_func;
  gpointer user_data;
  JobdLogPrune rule;         /* of the pass in progress */
  guint timeout_id;
  GThread *thread;           /* the pass in progress, or NULL */
  gint done;                 /* atomic: the thread has finished */
};

static gpointer
prune_thread (gpointer data)
{
  JobdLogRetention *retention = data;
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  if (!jobd_log_prune (retention->log_dir, &retention->rule, &removed, &error))
    g_warning ("%s: %s", retention->what, error->message);
  else if (removed > 0)
    g_message ("%s: removed %u expired log files and folders", retention->what, removed);
  g_atomic_int_set (&retention->done, 1);
  return NULL;
}

static void
join_finished (JobdLogRetention *retention, gboolean wait)
{
  if (retention->thread == NULL || (!wait && !g_atomic_int_get (&retention->done)))
    return;
  g_thread_join (g_steal_pointer (&retention->thread));
}

static gboolean
tick (gpointer user_data)
{
  JobdLogRetention *retention = user_data;

  join_finished (retention, FALSE);
  /* A pass still running (a huge tree) is not doubled. */
  if (retention->thread != NULL)
    return G_SOURCE_CONTINUE;
  if (!retention->rule_func (&retention->rule, g_get_real_time () / G_USEC_PER_SEC,
                             retention->user_data))
    return G_SOURCE_CONTINUE;
  g_atomic_int_set (&retention->done, 0);
  retention->thread = g_thread_new ("jobd-logprune", prune_thread, retention);
  return G_SOURCE_CONTINUE;
}

JobdLogRetention *
jobd_log_retention_new (const char *log_dir,
                        const char *what,
                        guint interval_sec,
                        JobdLogPruneRuleFunc rule,
                        gpointer user_data)
{
  JobdLogRetention *retention = g_new0 (JobdLogRetention, 1);

  retention->log_dir = g_strdup (log_dir);
  retention->what = g_strdup (what);
  retention->interval_sec = MAX (interval_sec, 1);
  retention->rule_func = rule;
  retention->user_data = user_data;
  return retention;
}

void
jobd_log_retention_start (JobdLogRetention *retention)
{
  if (retention->timeout_id != 0)
    return;
  tick (retention);
  retention->timeout_id = g_timeout_add_seconds (retention->interval_sec, tick, retention);
}

void
jobd_log_retention_free (JobdLogRetention *retention)
{
  if (retention == NULL)
    return;
  g_clear_handle_id (&retention->timeout_id, g_source_remove);
  /* A pass is bounded by the tree; wait so it never outlives its data. */
  join_finished (retention, TRUE);
  g_free (retention->log_dir);
  g_free (retention->what);
  g_free (retention);
}
