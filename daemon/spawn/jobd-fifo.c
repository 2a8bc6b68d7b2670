/* SPDX-License-Identifier: MIT */
/* jobd-fifo.c — output FIFOs in the runtime directory. */
#include "config.h"

#include "jobd-fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-error.h"
#include "jobd-fdstore.h"
#include "jobd-log.h"

/* A bigger pipe buffer gives a job more room while jobd is away. */
#define FIFO_PIPE_SIZE (1024 * 1024)

char *
jobd_fifo_path (const char *runtime_dir, const char *job_name, const char *stream)
{
  g_autofree char *file = g_strdup_printf ("%s.%s", job_name, stream);
  return g_build_filename (runtime_dir, "output", file, NULL);
}

static int
fifo_open (const char *path, GError **error)
{
  int fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISFIFO (st.st_mode))
    {
      int saved = fd < 0 ? errno : EINVAL;
      if (fd >= 0)
        close (fd);
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot open output FIFO %s: %s", path, g_strerror (saved));
      return -1;
    }
  if (fcntl (fd, F_SETPIPE_SZ, FIFO_PIPE_SIZE) < 0)
    g_debug ("cannot enlarge %s: %s", path, g_strerror (errno));
  return fd;
}

/* A fresh FIFO at path; the output folder is made when it is missing (the
 * first start, or someone removed it), not looked at on every start. */
static gboolean
fifo_create (const char *path)
{
  g_autofree char *dir = NULL;

  if (g_unlink (path) < 0 && errno != ENOENT)
    return FALSE;
  if (mkfifo (path, 0600) == 0)
    return TRUE;
  if (errno != ENOENT)
    return FALSE;
  dir = g_path_get_dirname (path);
  return g_mkdir_with_parents (dir, 0700) == 0 && mkfifo (path, 0600) == 0;
}

int
jobd_fifo_channel_new (const char *runtime_dir,
                       const char *job_name,
                       const char *stream,
                       int *job_fd,
                       GError **error)
{
  g_autofree char *path = jobd_fifo_path (runtime_dir, job_name, stream);
  int read_fd;

  if (!fifo_create (path))
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot create output FIFO %s: %s", path, g_strerror (saved));
      return -1;
    }
  read_fd = fifo_open (path, error);
  if (read_fd < 0)
    return -1;
  *job_fd = open (path, O_RDWR | O_CLOEXEC);
  if (*job_fd < 0)
    {
      int saved = errno;
      close (read_fd);
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot open output FIFO %s: %s", path, g_strerror (saved));
      return -1;
    }
  return read_fd;
}

char *
jobd_fifo_store_name (const char *job_name, const char *stream)
{
  /* fd store names may not hold ':' (job names may): escape it as '%'. */
  g_autofree char *escaped = g_strdelimit (g_strdup (job_name), ":", '%');
  char *name = g_strdup_printf ("%s:%s", stream, escaped);

  /* ':' after the stream is ours to split on, not allowed either: */
  name[strlen (stream)] = '-';
  if (strlen (name) > 255)
    {
      g_free (name);
      return NULL;
    }
  return name;
}

int
jobd_fifo_reopen (const char *runtime_dir, const char *job_name, const char *stream)
{
  g_autofree char *store_name = jobd_fifo_store_name (job_name, stream);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int fd = store_name != NULL ? jobd_fdstore_take (store_name) : -1;

  if (fd >= 0)
    {
      jobd_job_debug (job_name, "job %s: %s taken back from the fd store", job_name, stream);
      return fd;
    }
  path = jobd_fifo_path (runtime_dir, job_name, stream);
  fd = fifo_open (path, &error);
  if (fd < 0)
    jobd_job_warning (job_name, "job %s: its %s is lost: %s", job_name, stream, error->message);
  return fd;
}
