/* SPDX-License-Identifier: MIT */
/* jobd-containment.c — a direct job's processes: its own cgroup, or the
 * processes it tagged while jobd is their subreaper (see the header). */
#include "config.h"

#include "jobd-containment.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "jobd-cgroup.h"
#include "jobd-cpu.h"
#include "jobd-error.h"
#include "jobd-memory.h"
#include "jobd-process.h"

#define TAG_VAR "JOBD_JOB_TAG"

struct _JobdContainment {
  JobdContainMode kind;
  char *cgroup_dir;     /* cgroup: the job's v2 cgroup directory */
  char *memcg_dir;      /* cgroup: its memory cgroup (v1) when it has a limit */
  int fds[2];           /* cgroup.procs of both, open during a spawn */
  char *tag;            /* subreaper: JOBD_JOB_TAG's value */
};

static gboolean v2_memory_delegated (void);

/* What jobd_containment_setup() found. */
static struct {
  gboolean done;
  JobdContainMode mode;
  char *v2_dir;         /* jobd's own cgroup on the v2 hierarchy, writable */
  char *v1_memory_dir;  /* jobd's own v1 memory cgroup, writable */
  int sigchld_pipe[2];
} setup = { FALSE, JOBD_CONTAIN_SUBREAPER, NULL, NULL, { -1, -1 } };

const char *
jobd_containment_mode_name (JobdContainMode mode)
{
  return mode == JOBD_CONTAIN_CGROUP ? "cgroup" : "subreaper";
}

/* ---- probing ---- */

/* The mount point of the first mount of fstype whose super options
 * contain option (NULL: any), from /proc/self/mountinfo. */
static char *
find_mount (const char *fstype, const char *option)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* ID parent major:minor root mount-point options [optional...] - type source super */
      const char *sep = strstr (lines[i], " - ");
      g_auto(GStrv) head = NULL, tail = NULL;

      if (sep == NULL)
        continue;
      head = g_strsplit (lines[i], " ", 6);
      tail = g_strsplit (sep + 3, " ", 3);
      if (g_strv_length (head) < 6 || g_strv_length (tail) < 3 ||
          !g_str_equal (tail[0], fstype) || !g_str_equal (head[3], "/"))
        continue;
      if (option != NULL)
        {
          g_auto(GStrv) opts = g_strsplit (tail[2], ",", -1);
          if (!g_strv_contains ((const char *const *) opts, option))
            continue;
        }
      return g_strdup (head[4]);
    }
  return NULL;
}

/* jobd's own cgroup path in the hierarchy whose /proc/self/cgroup
 * controller field is controller ("" = the unified one, "0::"). */
static char *
own_cgroup (const char *controller)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/cgroup", &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], ":", 3);
      g_auto(GStrv) controllers = NULL;

      if (g_strv_length (fields) < 3 || fields[2][0] != '/')
        continue;
      if (controller[0] == '\0')
        {
          if (g_str_equal (fields[0], "0") && fields[1][0] == '\0')
            return g_strdup (fields[2]);
          continue;
        }
      controllers = g_strsplit (fields[1], ",", -1);
      if (g_strv_contains ((const char *const *) controllers, controller))
        return g_strdup (fields[2]);
    }
  return NULL;
}

/* <mount of the hierarchy><jobd's cgroup there>, when jobd may create
 * cgroups in it and move processes (root, or a delegated subtree). */
static char *
writable_own_dir (const char *fstype, const char *option, const char *controller)
{
  g_autofree char *mount = find_mount (fstype, option);
  g_autofree char *own = own_cgroup (controller);
  g_autofree char *dir = NULL;
  g_autofree char *procs = NULL;

  if (mount == NULL || own == NULL)
    return NULL;
  dir = g_build_filename (mount, own, NULL);
  procs = g_build_filename (dir, "cgroup.procs", NULL);
  if (access (dir, W_OK) < 0 || access (procs, W_OK) < 0)
    return NULL;
  return g_steal_pointer (&dir);
}

static void
on_sigchld (int signo)
{
  int saved = errno;
  ssize_t unused G_GNUC_UNUSED = write (setup.sigchld_pipe[1], "c", 1);
  errno = saved;
}

/* Reap every child of jobd that no JobdProcess waits for: orphans of jobs
 * that were re-parented to jobd, the subreaper. The main processes of jobs
 * are reaped through their pidfds (jobd-process.c). */
static void
reap_orphans (void)
{
  g_autoptr(GDir) tasks = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;

  while (tasks != NULL && (tid = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/children", tid);
      g_autofree char *contents = NULL;
      g_auto(GStrv) pids = NULL;

      if (!g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      pids = g_strsplit (g_strstrip (contents), " ", -1);
      for (guint i = 0; pids[i] != NULL; i++)
        {
          GPid pid = (GPid) g_ascii_strtoll (pids[i], NULL, 10);

          if (pid > 0 && !jobd_process_is_watched_child (pid) &&
              waitpid (pid, NULL, WNOHANG) == pid)
            g_debug ("reaped orphan PID %d", (int) pid);
        }
    }
}

static gboolean
on_sigchld_pipe (int fd, GIOCondition condition, gpointer user_data)
{
  char buf[64];

  while (read (fd, buf, sizeof buf) > 0)
    ;
  reap_orphans ();
  return G_SOURCE_CONTINUE;
}

static gboolean
become_subreaper (void)
{
  struct sigaction action = { 0 };

  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    {
      g_warning ("cannot become a child subreaper: %s; a job's orphans escape stop",
                 g_strerror (errno));
      return FALSE;
    }
  if (pipe2 (setup.sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      g_warning ("cannot set up reaping orphans: %s", g_strerror (errno));
      return FALSE;
    }
  g_unix_fd_add (setup.sigchld_pipe[0], G_IO_IN, on_sigchld_pipe, NULL);
  action.sa_handler = on_sigchld;
  action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset (&action.sa_mask);
  sigaction (SIGCHLD, &action, NULL);
  return TRUE;
}

JobdContainMode
jobd_containment_setup (void)
{
  const char *forced = g_getenv ("JOBD_DIRECT_CONTAINMENT");

  if (setup.done)
    return setup.mode;
  setup.done = TRUE;

  setup.v2_dir = writable_own_dir ("cgroup2", NULL, "");
  if (forced != NULL && g_str_equal (forced, "subreaper"))
    g_clear_pointer (&setup.v2_dir, g_free);
  else if (forced != NULL && g_str_equal (forced, "cgroup") && setup.v2_dir == NULL)
    g_warning ("JOBD_DIRECT_CONTAINMENT=cgroup, but no writable cgroup v2 hierarchy");

  if (setup.v2_dir != NULL)
    {
      setup.mode = JOBD_CONTAIN_CGROUP;
      setup.v1_memory_dir = writable_own_dir ("cgroup", "memory", "memory");
    }
  else
    {
      setup.mode = JOBD_CONTAIN_SUBREAPER;
      become_subreaper ();
    }
  g_message ("direct backend: jobs are contained by %s%s%s",
             setup.mode == JOBD_CONTAIN_CGROUP ? "a cgroup of their own under " :
             "jobd as child subreaper and a tag in their environment",
             setup.v2_dir ? setup.v2_dir : "",
             setup.v1_memory_dir ? " (memory-max through the v1 memory controller)" : "");
  return setup.mode;
}

/* ---- limits ---- */

static gboolean
v2_memory_delegated (void)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) controllers = NULL;

  if (setup.v2_dir == NULL)
    return FALSE;
  path = g_build_filename (setup.v2_dir, "cgroup.controllers", NULL);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  controllers = g_strsplit_set (g_strstrip (contents), " ", -1);
  return g_strv_contains ((const char *const *) controllers, "memory");
}

char **
jobd_containment_unenforced_limits (const JobdLimits *limits)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  jobd_containment_setup ();
  if (limits->memory_max > 0 && setup.v1_memory_dir == NULL && !v2_memory_delegated ())
    g_strv_builder_add (builder, "memory-max");
  if (limits->cpu_quota > 0)
    g_strv_builder_add (builder, "cpu-quota");
  if (limits->tasks_max > 0)
    g_strv_builder_add (builder, "tasks-max");
  return g_strv_builder_end (builder);
}

/* ---- one job's cgroups ---- */

static gboolean
write_file (const char *dir, const char *file, const char *value, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  n = write (fd, value, strlen (value));
  if (n < 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot write %s to %s: %s", value, path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* dir/<jobd instance>/job-<name>: the instance part keeps two jobds with
 * other runtime directories apart; the same job reuses its directory. */
static char *
job_cgroup_dir (const char *base, const char *runtime_dir, const char *job_name, GError **error)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, runtime_dir, -1);
  g_autofree char *instance = g_strdup_printf ("jobd-%.12s", hash);
  g_autofree char *parent = g_build_filename (base, instance, NULL);
  g_autofree char *leaf = g_strconcat ("job-", job_name, NULL);
  g_autofree char *dir = g_build_filename (parent, leaf, NULL);

  if ((mkdir (parent, 0755) < 0 && errno != EEXIST) ||
      (mkdir (dir, 0755) < 0 && errno != EEXIST))
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot create the job's cgroup %s: %s", dir, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&dir);
}

/* Anything still in a cgroup the job is about to reuse is left over from an
 * earlier run of it: it goes. */
static void
clear_leftovers (JobdContainment *c)
{
  g_autoptr(GArray) pids = jobd_cgroup_dir_pids (c->cgroup_dir, NULL);

  if (pids != NULL && pids->len > 0)
    {
      g_debug ("cgroup %s still held %u processes of an earlier run; killing them",
                 c->cgroup_dir, pids->len);
      jobd_containment_kill (c, 0, FALSE, SIGKILL, NULL);
    }
}

static gboolean
setup_memory_limit (JobdContainment *c, const JobdLimits *limits,
                    const char *runtime_dir, const char *job_name, GError **error)
{
  g_autofree char *value = NULL;

  /* memory.high (memory-restart) exists only where v2 has the memory
   * controller; elsewhere jobd measures (jobd_containment_memory_events). */
  if (limits->memory_high > 0 && v2_memory_delegated ())
    {
      g_autofree char *parent = g_path_get_dirname (c->cgroup_dir);
      g_autofree char *high = g_strdup_printf ("%" G_GUINT64_FORMAT, limits->memory_high);

      write_file (parent, "cgroup.subtree_control", "+memory", NULL);
      if (!write_file (c->cgroup_dir, "memory.high", high, error))
        return FALSE;
    }
  if (limits->memory_max == 0)
    return TRUE;
  value = g_strdup_printf ("%" G_GUINT64_FORMAT, limits->memory_max);
  if (v2_memory_delegated ())
    {
      g_autofree char *parent = g_path_get_dirname (c->cgroup_dir);
      /* Best effort: a parent that already delegates memory says nothing. */
      write_file (parent, "cgroup.subtree_control", "+memory", NULL);
      return write_file (c->cgroup_dir, "memory.max", value, error);
    }
  if (setup.v1_memory_dir == NULL)
    return TRUE;   /* reported as not enforced */
  c->memcg_dir = job_cgroup_dir (setup.v1_memory_dir, runtime_dir, job_name, error);
  if (c->memcg_dir == NULL)
    return FALSE;
  /* Swap too where it is accounted, so the limit is not a swap quota. */
  write_file (c->memcg_dir, "memory.memsw.limit_in_bytes", "-1", NULL);
  if (!write_file (c->memcg_dir, "memory.limit_in_bytes", value, error))
    return FALSE;
  write_file (c->memcg_dir, "memory.memsw.limit_in_bytes", value, NULL);
  return TRUE;
}

gboolean
jobd_containment_set_memory_high (JobdContainment *c, guint64 bytes, GError **error)
{
  g_autofree char *value = bytes > 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT, bytes) : NULL;
  g_autofree char *parent = NULL;

  jobd_containment_setup ();
  if (c->kind != JOBD_CONTAIN_CGROUP || c->cgroup_dir == NULL || !v2_memory_delegated ())
    return TRUE;   /* nothing to write: jobd measures this job instead */
  /* A job started without any memory setting has no memory controller
   * yet; its parent holds no process, so it may get one now. */
  parent = g_path_get_dirname (c->cgroup_dir);
  if (value != NULL)
    write_file (parent, "cgroup.subtree_control", "+memory", NULL);
  else
    {
      g_autofree char *high = g_build_filename (c->cgroup_dir, "memory.high", NULL);

      if (!g_file_test (high, G_FILE_TEST_EXISTS))
        return TRUE;   /* no controller, no threshold to lift */
    }
  return write_file (c->cgroup_dir, "memory.high", value ? value : "max", error);
}

char *
jobd_containment_memory_events (JobdContainment *c)
{
  g_autofree char *high = NULL;
  g_autofree char *events = NULL;

  jobd_containment_setup ();
  if (c->kind != JOBD_CONTAIN_CGROUP || c->cgroup_dir == NULL || !v2_memory_delegated ())
    return NULL;
  high = g_build_filename (c->cgroup_dir, "memory.high", NULL);
  events = g_build_filename (c->cgroup_dir, "memory.events", NULL);
  if (!g_file_test (high, G_FILE_TEST_EXISTS) || !g_file_test (events, G_FILE_TEST_EXISTS))
    return NULL;
  return g_steal_pointer (&events);
}

gboolean
jobd_containment_set_memory_max (JobdContainment *c, guint64 bytes, GError **error)
{
  g_autofree char *value = bytes > 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT, bytes) : NULL;

  jobd_containment_setup ();
  if (c->kind == JOBD_CONTAIN_CGROUP && c->cgroup_dir != NULL && v2_memory_delegated ())
    return write_file (c->cgroup_dir, "memory.max", value ? value : "max", error);
  if (c->memcg_dir != NULL)
    {
      /* memsw may never be below the limit: lift it, set the limit, then
       * bring it down to match (as at the start). */
      write_file (c->memcg_dir, "memory.memsw.limit_in_bytes", "-1", NULL);
      if (!write_file (c->memcg_dir, "memory.limit_in_bytes", value ? value : "-1", error))
        return FALSE;
      if (value != NULL)
        write_file (c->memcg_dir, "memory.memsw.limit_in_bytes", value, NULL);
      return TRUE;
    }
  if (bytes == 0)
    return TRUE;   /* no limit, and none to lift (memory-restart changed alone) */
  g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "the job has no memory cgroup of its own (it started without a "
                       "memory limit, or without cgroup containment); the limit applies "
                       "from its next start");
  return FALSE;
}

static int
open_procs (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "cgroup.procs", NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED,
                   "cannot open %s: %s", path, g_strerror (saved));
    }
  return fd;
}

static JobdContainment *
containment_alloc (JobdContainMode kind)
{
  JobdContainment *c = g_new0 (JobdContainment, 1);

  c->kind = kind;
  c->fds[0] = c->fds[1] = -1;
  return c;
}

JobdContainment *
jobd_containment_new (const char *job_name,
                      const char *runtime_dir,
                      const JobdLimits *limits,
                      GError **error)
{
  g_autoptr(JobdContainment) c = containment_alloc (jobd_containment_setup ());

  if (c->kind == JOBD_CONTAIN_SUBREAPER)
    {
      g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, runtime_dir, -1);
      c->tag = g_strdup_printf ("%s@%.12s", job_name, hash);
      return g_steal_pointer (&c);
    }

  c->cgroup_dir = job_cgroup_dir (setup.v2_dir, runtime_dir, job_name, error);
  if (c->cgroup_dir == NULL)
    return NULL;
  clear_leftovers (c);
  if (!setup_memory_limit (c, limits, runtime_dir, job_name, error))
    return NULL;
  c->fds[0] = open_procs (c->cgroup_dir, error);
  if (c->fds[0] < 0)
    return NULL;
  if (c->memcg_dir != NULL)
    {
      c->fds[1] = open_procs (c->memcg_dir, error);
      if (c->fds[1] < 0)
        return NULL;
    }
  return g_steal_pointer (&c);
}

JobdContainment *
jobd_containment_from_record (JsonObject *record)
{
  const char *kind = json_object_get_string_member_with_default (record, "containment", NULL);
  JobdContainment *c;

  if (g_strcmp0 (kind, "cgroup") == 0)
    {
      const char *dir = json_object_get_string_member_with_default (record, "cgroup", NULL);
      const char *memcg = json_object_get_string_member_with_default (record, "memcg", NULL);

      if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
        return NULL;
      c = containment_alloc (JOBD_CONTAIN_CGROUP);
      c->cgroup_dir = g_strdup (dir);
      if (memcg != NULL && g_file_test (memcg, G_FILE_TEST_IS_DIR))
        c->memcg_dir = g_strdup (memcg);
      return c;
    }
  if (g_strcmp0 (kind, "subreaper") == 0)
    {
      const char *tag = json_object_get_string_member_with_default (record, "tag", NULL);

      if (tag == NULL)
        return NULL;
      c = containment_alloc (JOBD_CONTAIN_SUBREAPER);
      c->tag = g_strdup (tag);
      return c;
    }
  return NULL;
}

void
jobd_containment_spawned (JobdContainment *c)
{
  for (guint i = 0; i < G_N_ELEMENTS (c->fds); i++)
    if (c->fds[i] >= 0)
      {
        close (c->fds[i]);
        c->fds[i] = -1;
      }
}

/* ---- removing a job's cgroups once they are empty ---- */

/* Job cgroups to remove once empty: inotify watch descriptor of their
 * cgroup.events (which changes when "populated" does) → a strv of the v2
 * directory and, when there is one, the v1 memory cgroup of the same
 * processes. */
static int empty_watch_fd = -1;
static GHashTable *empty_watches;

/* rmdir dir, and its parent (jobd's per-instance directory) when that was
 * the last job in it. */
static gboolean
remove_cgroup (const char *dir)
{
  g_autofree char *parent = NULL;

  if (g_rmdir (dir) < 0)
    return errno == ENOENT;
  parent = g_path_get_dirname (dir);
  g_rmdir (parent);
  return TRUE;
}

/* The v2 cgroup first: once it is empty the memory cgroup, holding the
 * same processes, is too. */
static gboolean
remove_cgroups (char **dirs)
{
  if (!remove_cgroup (dirs[0]))
    return FALSE;
  if (dirs[1] != NULL)
    remove_cgroup (dirs[1]);
  return TRUE;
}

static gboolean
on_cgroup_events (int fd, GIOCondition condition, gpointer user_data)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;
         p += sizeof (struct inotify_event) + ((struct inotify_event *) p)->len)
      {
        const struct inotify_event *event = (const struct inotify_event *) p;
        char **dirs = g_hash_table_lookup (empty_watches, GINT_TO_POINTER (event->wd));

        if (event->mask & IN_IGNORED)
          g_hash_table_remove (empty_watches, GINT_TO_POINTER (event->wd));
        else if (dirs != NULL && remove_cgroups (dirs))
          {
            g_hash_table_remove (empty_watches, GINT_TO_POINTER (event->wd));
            inotify_rm_watch (fd, event->wd);
          }
      }
  return G_SOURCE_CONTINUE;
}

/* The processes of a job that just ended may still be dying: its cgroups
 * go when the kernel says they are empty, without polling. A job still
 * running while jobd exits keeps them (and the next jobd takes them). */
static void
remove_cgroups_when_empty (const char *dir, const char *memcg)
{
  char *dirs[3] = { (char *) dir, (char *) memcg, NULL };
  g_autofree char *events = NULL;
  int wd;

  if (remove_cgroups (dirs) || errno != EBUSY)
    return;
  if (empty_watch_fd < 0)
    {
      empty_watch_fd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
      if (empty_watch_fd < 0)
        return;
      empty_watches = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_strfreev);
      g_unix_fd_add (empty_watch_fd, G_IO_IN, on_cgroup_events, NULL);
    }
  events = g_build_filename (dir, "cgroup.events", NULL);
  wd = inotify_add_watch (empty_watch_fd, events, IN_MODIFY);
  if (wd < 0)
    return;
  g_hash_table_replace (empty_watches, GINT_TO_POINTER (wd), g_strdupv (dirs));
  /* It may have emptied before the watch was in place. */
  if (remove_cgroups (dirs))
    {
      g_hash_table_remove (empty_watches, GINT_TO_POINTER (wd));
      inotify_rm_watch (empty_watch_fd, wd);
    }
}

void
jobd_containment_free (JobdContainment *c)
{
  if (c == NULL)
    return;
  jobd_containment_spawned (c);
  if (c->cgroup_dir != NULL)
    remove_cgroups_when_empty (c->cgroup_dir, c->memcg_dir);
  g_free (c->cgroup_dir);
  g_free (c->memcg_dir);
  g_free (c->tag);
  g_free (c);
}

const char *
jobd_containment_get_tag (JobdContainment *c)
{
  return c->tag;
}

void
jobd_containment_child_fds (JobdContainment *c, int fds[2])
{
  fds[0] = c->fds[0];
  fds[1] = c->fds[1];
}

void
jobd_containment_save_record (JobdContainment *c, JsonObject *record)
{
  json_object_set_string_member (record, "containment", jobd_containment_mode_name (c->kind));
  if (c->cgroup_dir != NULL)
    json_object_set_string_member (record, "cgroup", c->cgroup_dir);
  if (c->memcg_dir != NULL)
    json_object_set_string_member (record, "memcg", c->memcg_dir);
  if (c->tag != NULL)
    json_object_set_string_member (record, "tag", c->tag);
}

/* ---- the set of processes (subreaper) ---- */

typedef struct {
  GPid pid, ppid, sid;
  char *tag;            /* JOBD_JOB_TAG's value, or NULL */
  int member;           /* -1 unknown, 0 no, 1 yes */
} ProcEntry;

/* Every process but jobd: what deciding membership needs, read once. */
typedef struct {
  GArray *entries;      /* ProcEntry */
  GHashTable *by_pid;   /* pid → index + 1 */
} ProcTable;

static void
proc_table_free (ProcTable *table)
{
  for (guint i = 0; i < table->entries->len; i++)
    g_free (g_array_index (table->entries, ProcEntry, i).tag);
  g_array_unref (table->entries);
  g_hash_table_unref (table->by_pid);
  g_free (table);
}

static gboolean
read_stat (const char *pid_name, ProcEntry *entry)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid_name);
  g_autofree char *contents = NULL;
  const char *p;
  char state;
  int ppid, pgrp, sid;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  p = strrchr (contents, ')');
  if (p == NULL || sscanf (p + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) != 4)
    return FALSE;
  if (state == 'Z' || state == 'X')
    return FALSE;   /* nothing to signal or to measure */
  entry->pid = (GPid) g_ascii_strtoll (pid_name, NULL, 10);
  entry->ppid = ppid;
  entry->sid = sid;
  entry->member = -1;
  entry->tag = NULL;
  return TRUE;
}

static char *
read_tag (const char *pid_name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/environ", pid_name);
  g_autofree char *contents = NULL;
  gsize size, len = strlen (TAG_VAR "=");

  if (!g_file_get_contents (path, &contents, &size, NULL))
    return NULL;
  for (gsize at = 0; at < size; at += strlen (contents + at) + 1)
    if (strncmp (contents + at, TAG_VAR "=", len) == 0)
      return g_strdup (contents + at + len);
  return NULL;
}

static ProcTable *
proc_table_new (void)
{
  ProcTable *table = g_new0 (ProcTable, 1);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  GPid self = getpid ();
  const char *name;

  table->entries = g_array_new (FALSE, FALSE, sizeof (ProcEntry));
  table->by_pid = g_hash_table_new (NULL, NULL);
  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      ProcEntry entry;

      if (!g_ascii_isdigit (name[0]) || !read_stat (name, &entry) || entry.pid == self)
        continue;
      entry.tag = read_tag (name);
      g_array_append_val (table->entries, entry);
      g_hash_table_insert (table->by_pid, GINT_TO_POINTER (entry.pid),
                           GUINT_TO_POINTER (table->entries->len));
    }
  return table;
}

static int
resolve_member (ProcTable *table, ProcEntry *entry, guint depth)
{
  guint parent;

  if (entry->member >= 0)
    return entry->member;
  parent = depth < 64 ? GPOINTER_TO_UINT (g_hash_table_lookup (table->by_pid,
                                                               GINT_TO_POINTER (entry->ppid)))
                      : 0;
  entry->member = parent > 0
    ? resolve_member (table, &g_array_index (table->entries, ProcEntry, parent - 1), depth + 1)
    : 0;
  return entry->member;
}

/* The job: its main process and session while the main process lives,
 * the processes with its tag, and the descendants of all these. */
static GArray *
proc_table_members (ProcTable *table, const char *tag, GPid main_pid, gboolean main_alive)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  GPid self = getpid ();

  for (guint i = 0; i < table->entries->len; i++)
    {
      ProcEntry *e = &g_array_index (table->entries, ProcEntry, i);

      e->member = -1;
      if ((main_alive && (e->pid == main_pid || e->sid == main_pid)) ||
          g_strcmp0 (e->tag, tag) == 0)
        e->member = 1;
      else if (e->ppid == self || e->ppid <= 1)
        e->member = 0;   /* other jobs' main processes, and orphans */
    }
  for (guint i = 0; i < table->entries->len; i++)
    {
      ProcEntry *e = &g_array_index (table->entries, ProcEntry, i);
      if (resolve_member (table, e, 0) == 1)
        g_array_append_val (pids, e->pid);
    }
  return pids;
}

/* snapshot: one table for every job measured in it (List, StatusAll). */
static GArray *
tracked_pids (JobdContainment *c, GPid main_pid, gboolean main_alive,
              JobdMemorySnapshot *snapshot)
{
  ProcTable *table = snapshot != NULL ? jobd_memory_snapshot_get_data (snapshot) : NULL;
  GArray *pids;

  if (table == NULL)
    {
      table = proc_table_new ();
      if (snapshot != NULL)
        jobd_memory_snapshot_set_data (snapshot, table, (GDestroyNotify) proc_table_free);
    }
  pids = proc_table_members (table, c->tag, main_pid, main_alive);
  if (snapshot == NULL)
    proc_table_free (table);
  return pids;
}

/* ---- the set, stop, kill, memory ---- */

GArray *
jobd_containment_pids (JobdContainment *c, GPid main_pid, gboolean main_alive)
{
  if (c->kind == JOBD_CONTAIN_CGROUP)
    {
      GArray *pids = jobd_cgroup_dir_pids (c->cgroup_dir, NULL);
      return pids != NULL ? pids : g_array_new (FALSE, FALSE, sizeof (GPid));
    }
  return tracked_pids (c, main_pid, main_alive, NULL);
}

static gboolean
kill_each (GArray *pids, int signo, GError **error)
{
  for (guint i = 0; i < pids->len; i++)
    {
      GPid pid = g_array_index (pids, GPid, i);

      if (kill (pid, signo) < 0 && errno != ESRCH)
        {
          int saved = errno;
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                       "cannot signal PID %d: %s", (int) pid, g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
jobd_containment_kill (JobdContainment *c,
                       GPid main_pid,
                       gboolean main_alive,
                       int signo,
                       GError **error)
{
  /* SIGKILL again while new processes show up: one that forked between
   * the listing and the signal is caught by the next round. */
  guint rounds = signo == SIGKILL ? 4 : 1;

  if (c->kind == JOBD_CONTAIN_CGROUP && signo == SIGKILL &&
      write_file (c->cgroup_dir, "cgroup.kill", "1", NULL))
    return TRUE;   /* the kernel kills all of it, forks included */

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(GArray) pids = jobd_containment_pids (c, main_pid, main_alive);

      if (pids->len == 0)
        break;
      if (!kill_each (pids, signo, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
jobd_containment_peak_memory (JobdContainment *c, guint64 *bytes, const char **source)
{
  return jobd_cgroup_dir_peak_memory (c->cgroup_dir, c->memcg_dir, bytes, source);
}

gboolean
jobd_containment_cpu_usage (JobdContainment *c,
                            GPid main_pid,
                            gboolean main_alive,
                            JobdMemorySnapshot *snapshot,
                            guint64 *usec,
                            const char **source)
{
  g_autoptr(GArray) pids = NULL;

  if (c->cgroup_dir != NULL && jobd_cpu_cgroup_dir_usage (c->cgroup_dir, usec))
    {
      *source = JOBD_CPU_SOURCE_CGROUP;
      return TRUE;
    }
  pids = c->kind == JOBD_CONTAIN_SUBREAPER ? tracked_pids (c, main_pid, main_alive, snapshot)
                                           : jobd_containment_pids (c, main_pid, main_alive);
  *usec = jobd_cpu_pids_usage (pids);
  *source = JOBD_CPU_SOURCE_PROCESSES;
  return TRUE;
}

gboolean
jobd_containment_memory (JobdContainment *c,
                         GPid main_pid,
                         gboolean main_alive,
                         JobdMemorySnapshot *snapshot,
                         guint64 *bytes,
                         const char **source,
                         GError **error)
{
  g_autoptr(GArray) pids = NULL;
  guint64 total = 0;

  if (c->memcg_dir != NULL)
    {
      g_autofree char *path = g_build_filename (c->memcg_dir, "memory.usage_in_bytes", NULL);
      g_autofree char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL))
        {
          *bytes = g_ascii_strtoull (contents, NULL, 10);
          *source = JOBD_CGROUP_SOURCE_V1;
          return TRUE;
        }
    }
  if (c->cgroup_dir != NULL)
    {
      g_autofree char *path = g_build_filename (c->cgroup_dir, "memory.current", NULL);
      g_autofree char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL))
        {
          *bytes = g_ascii_strtoull (contents, NULL, 10);
          *source = JOBD_CGROUP_SOURCE_V2;
          return TRUE;
        }
    }

  pids = c->kind == JOBD_CONTAIN_SUBREAPER ? tracked_pids (c, main_pid, main_alive, snapshot)
                                           : jobd_containment_pids (c, main_pid, main_alive);
  for (guint i = 0; i < pids->len; i++)
    {
      guint64 rss = 0;
      if (jobd_memory_process_rss (g_array_index (pids, GPid, i), &rss, NULL))
        total += rss;
    }
  *bytes = total;
  /* The resident memory summed over the job's processes, as before. */
  *source = "process-tree";
  return TRUE;
}
