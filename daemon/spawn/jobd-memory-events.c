/* SPDX-License-Identifier: MIT */
/* jobd-memory-events.c — inotify on memory.events files (see the header). */
#include "config.h"

#include "jobd-memory-events.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "jobd-error.h"

struct _JobdMemoryEvents {
  char *path;
  int wd;               /* -1 once the file went away */
  guint64 high;         /* the count last seen */
  JobdMemoryEventsFunc func;
  gpointer user_data;
};

/* inotify hands out one watch descriptor per inode: two watches of one
 * file (a job's next run reusing its cgroup before the last one's watch
 * went) share it. wd → GPtrArray of JobdMemoryEvents. */
static int inotify_fd = -1;
static GHashTable *by_wd;

gboolean
jobd_memory_events_parse_high (const char *contents, guint64 *high)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "high "))
      return g_ascii_string_to_unsigned (lines[i] + 5, 10, 0, G_MAXUINT64, high, NULL);
  return FALSE;
}

static gboolean
read_high (const char *path, guint64 *high, GError **error)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  if (!jobd_memory_events_parse_high (contents, high))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "%s has no \"high\" count", path);
      return FALSE;
    }
  return TRUE;
}

static void
dispatch (GPtrArray *watches, gboolean ignored)
{
  /* A callback may free its own watch (and so shrink the array). */
  g_autoptr(GPtrArray) copy = g_ptr_array_copy (watches, NULL, NULL);

  for (guint i = 0; i < copy->len; i++)
    {
      JobdMemoryEvents *w = copy->pdata[i];
      guint64 high = 0;

      if (!g_ptr_array_find (watches, w, NULL))
        continue;
      if (ignored || !read_high (w->path, &high, NULL))
        {
          /* Gone, or unreadable for good (the cgroup is being removed). */
          g_ptr_array_remove (watches, w);
          w->wd = -1;
          w->func (w->high, TRUE, w->user_data);
          continue;
        }
      if (high > w->high)
        {
          w->high = high;
          w->func (high, FALSE, w->user_data);
        }
    }
}

static gboolean
on_inotify (int fd, GIOCondition condition, gpointer user_data)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;
         p += sizeof (struct inotify_event) + ((struct inotify_event *) p)->len)
      {
        const struct inotify_event *event = (const struct inotify_event *) p;
        GPtrArray *watches = g_hash_table_lookup (by_wd, GINT_TO_POINTER (event->wd));

        if (watches == NULL)
          continue;
        /* Hold it: the last watch freed from a callback removes the entry. */
        g_ptr_array_ref (watches);
        dispatch (watches, (event->mask & IN_IGNORED) != 0);
        if (g_hash_table_lookup (by_wd, GINT_TO_POINTER (event->wd)) == watches &&
            (watches->len == 0 || (event->mask & IN_IGNORED)))
          {
            if (!(event->mask & IN_IGNORED))
              inotify_rm_watch (fd, event->wd);
            g_hash_table_remove (by_wd, GINT_TO_POINTER (event->wd));
          }
        g_ptr_array_unref (watches);
      }
  return G_SOURCE_CONTINUE;
}

static gboolean
ensure_inotify (GError **error)
{
  if (inotify_fd >= 0)
    return TRUE;
  inotify_fd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "inotify_init1: %s", g_strerror (saved));
      return FALSE;
    }
  by_wd = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_unix_fd_add (inotify_fd, G_IO_IN, on_inotify, NULL);
  return TRUE;
}

JobdMemoryEvents *
jobd_memory_events_watch (const char *path,
                          JobdMemoryEventsFunc func,
                          gpointer user_data,
                          GError **error)
{
  g_autoptr(JobdMemoryEvents) w = g_new0 (JobdMemoryEvents, 1);
  GPtrArray *watches;

  w->path = g_strdup (path);
  w->wd = -1;
  w->func = func;
  w->user_data = user_data;
  if (!ensure_inotify (error))
    return NULL;
  w->wd = inotify_add_watch (inotify_fd, path, IN_MODIFY);
  if (w->wd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot watch %s: %s", path, g_strerror (saved));
      return NULL;
    }
  watches = g_hash_table_lookup (by_wd, GINT_TO_POINTER (w->wd));
  if (watches == NULL)
    {
      watches = g_ptr_array_new ();
      g_hash_table_insert (by_wd, GINT_TO_POINTER (w->wd), watches);
    }
  g_ptr_array_add (watches, w);
  /* The baseline, read after the watch is in place: a change in between
   * is not lost, it is counted in it or notified after it. */
  if (!read_high (path, &w->high, error))
    return NULL;
  return g_steal_pointer (&w);
}

void
jobd_memory_events_free (JobdMemoryEvents *w)
{
  GPtrArray *watches;

  if (w == NULL)
    return;
  watches = w->wd >= 0 ? g_hash_table_lookup (by_wd, GINT_TO_POINTER (w->wd)) : NULL;
  if (watches != NULL)
    {
      g_ptr_array_remove (watches, w);
      if (watches->len == 0)
        {
          inotify_rm_watch (inotify_fd, w->wd);
          g_hash_table_remove (by_wd, GINT_TO_POINTER (w->wd));
        }
    }
  g_free (w->path);
  g_free (w);
}
