/* SPDX-License-Identifier: MIT */
/* jobd-dirwatch.c — recursive inotify watches of directory trees.
 *
 * ONE inotify descriptor (a Queue) per job owner, shared by every
 * JobdDirWatch of that owner's jobs, read through jobd_fd_watch_add() in
 * bounded slices: jobd runs as root, and the kernel counts inotify
 * instances (fs.inotify.max_user_instances, 128) and watches per uid, so an
 * instance per watched job let any local user with 128 watched jobs use up
 * root's instances (systemd's, jobd's memory events). Not one for all: an
 * instance has one event queue, and a user flooding events in a folder of
 * their own would overflow it, which is a change for every job on it; an
 * owner's flood reaches that owner's jobs only. Each watched directory is a Node of its JobdDirWatch (its watch
 * descriptor, its parent, its name); a file is never remembered: its path
 * is rebuilt from the event's name and the node's ancestors.
 *
 * Sharing: inotify hands out one watch descriptor per inode and
 * descriptor, so two watches of one directory share a wd. A queue's
 * table maps a wd to the JobdDirWatches that have a node for it (its
 * owners); an event goes to each owner, IN_IGNORED too (every owner forgets
 * its node), IN_Q_OVERFLOW to every JobdDirWatch of the queue (their
 * events were lost); the kernel's watch is removed when its last owner lets go.
 *
 * Budget: the directories watched by the jobs of one owner (each job's
 * count, a directory two jobs watch counts twice) are at most
 * jobd_dir_watch_set_max_per_owner()'s value, root's excepted.
 */
#include "config.h"

#include "jobd-dirwatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-fdwatch.h"

/* What every watch asks for (the same everywhere: a directory watched
 * twice keeps one mask). Files: created, written, deleted, moved, touched;
 * the directory itself: removed or moved away. */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE \
                    | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW \
                    | IN_ONLYDIR | IN_EXCL_UNLINK)
#define READS_PER_WAKEUP 16

typedef struct _Node Node;
struct _Node {
  int wd;
  Node *parent;      /* NULL for a root */
  char *name;        /* a root: its absolute path; else the entry's name */
  int root;          /* index of its root */
  gboolean in_tree;  /* FALSE: only a root's parent, waiting for it */
  int waiting_root;  /* index + 1 of a removed root expected here, 0 = none */
  gboolean has_match; /* a matching file was seen in it */
};

typedef struct _Queue Queue;

typedef struct {
  GPatternSpec *spec;
  gboolean on_path;  /* has a '/': matched against the relative path */
} Glob;

struct _JobdDirWatch {
  char **roots;
  Node **root_nodes;     /* per root, NULL while it is gone */
  GHashTable *nodes;     /* wd → Node* (owned) */
  GHashTable *children;  /* "PARENTWD/name" → Node* */
  GArray *globs;         /* Glob */
  GArray *excludes;      /* Glob */
  uid_t uid;
  Queue *queue;          /* the owner's inotify descriptor */
  gid_t gid;
  gid_t *groups;
  int n_groups;
  JobdDirWatchChangeFunc changed;
  JobdDirWatchErrorFunc failed;
  gpointer user_data;
};

/* ---- one inotify descriptor per owner ------------------------------------ */

struct _Queue {
  int fd;
  JobdFdWatch *source;
  GHashTable *owners;     /* wd → GPtrArray of JobdDirWatch* */
  GPtrArray *all;         /* its JobdDirWatches alive (an overflow is theirs) */
  guint used;             /* directories its jobs watch (each job's count) */
};

/* uid → Queue*, made at an owner's first watch and kept for jobd's life:
 * at most one per user that ever had a watched job. */
static GHashTable *queues;
static guint max_per_owner = JOBD_DIR_WATCH_MAX_PER_OWNER_DEFAULT;   /* 0: the kernel's */

static gboolean on_readable (int fd, GIOCondition condition, gpointer user_data);

void
jobd_dir_watch_set_max_per_owner (guint max)
{
  max_per_owner = max;
}

static Queue *
queue_for (guint uid, GError **error)
{
  Queue *queue = queues != NULL ? g_hash_table_lookup (queues, GUINT_TO_POINTER (uid)) : NULL;
  int fd;

  if (queue != NULL)
    return queue;
  fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "cannot start watching (inotify): %s%s", g_strerror (saved),
                   saved == EMFILE ? " (the limit is fs.inotify.max_user_instances)" : "");
      return NULL;
    }
  queue = g_new0 (Queue, 1);
  queue->fd = fd;
  queue->source = jobd_fd_watch_add (NULL, fd, G_IO_IN, on_readable, queue, error);
  if (queue->source == NULL)
    {
      close (fd);
      g_free (queue);
      return NULL;
    }
  queue->owners = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  queue->all = g_ptr_array_new ();
  if (queues == NULL)
    queues = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (queues, GUINT_TO_POINTER (uid), queue);
  return queue;
}

/* self may watch one more directory? Root's jobs are bound only by the
 * kernel (it is root's own budget); every other owner by max_per_owner. */
static gboolean
owner_may_add (JobdDirWatch *self, const char *path, GError **error)
{
  struct passwd *pw;

  if (self->uid == 0 || max_per_owner == 0 || self->queue->used < max_per_owner)
    return TRUE;
  pw = getpwuid (self->uid);
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
               "too many watched directories at '%s': the jobs of %s (uid %u) watch %u "
               "directories (%u by this job), and the limit is MaxWatchesPerUser = %u in "
               "jobd.conf; watch fewer directories (watch-exclude) or raise it",
               path, pw != NULL ? pw->pw_name : "?", self->uid, self->queue->used,
               g_hash_table_size (self->nodes), max_per_owner);
  return FALSE;
}

/* node (a new one, its wd set) is self's: in its table, and self an owner
 * of the wd. */
static void
node_insert (JobdDirWatch *self, Node *node)
{
  GPtrArray *owners = g_hash_table_lookup (self->queue->owners, GINT_TO_POINTER (node->wd));

  if (owners == NULL)
    {
      owners = g_ptr_array_new ();
      g_hash_table_insert (self->queue->owners, GINT_TO_POINTER (node->wd), owners);
    }
  g_ptr_array_add (owners, self);
  self->queue->used++;
  g_hash_table_insert (self->nodes, GINT_TO_POINTER (node->wd), node);
}

/* Frees self's node of wd; the kernel's watch goes with its last owner
 * (already gone after IN_IGNORED: the call fails harmlessly, wds are
 * handed out cyclically and not reused meanwhile). */
static void
node_remove (JobdDirWatch *self, int wd)
{
  GPtrArray *owners = g_hash_table_lookup (self->queue->owners, GINT_TO_POINTER (wd));

  if (!g_hash_table_remove (self->nodes, GINT_TO_POINTER (wd)))
    return;
  self->queue->used--;
  if (owners == NULL || !g_ptr_array_remove (owners, self) || owners->len > 0)
    return;
  inotify_rm_watch (self->queue->fd, wd);
  g_hash_table_remove (self->queue->owners, GINT_TO_POINTER (wd));
}

/* ---- access of the owner ---------------------------------------------- */

typedef struct {
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int n_groups;
} Identity;

static void
identity_init (Identity *id, guint uid)
{
  struct passwd *pw = getpwuid (uid);
  int n = 64;

  id->uid = uid;
  id->gid = pw != NULL ? pw->pw_gid : (gid_t) -1;
  id->groups = NULL;
  id->n_groups = 0;
  if (pw == NULL || uid == 0)
    return;
  id->groups = g_new (gid_t, n);
  if (getgrouplist (pw->pw_name, pw->pw_gid, id->groups, &n) < 0)
    {
      id->groups = g_renew (gid_t, id->groups, n);
      if (getgrouplist (pw->pw_name, pw->pw_gid, id->groups, &n) < 0)
        n = 0;
    }
  id->n_groups = n;
}

static gboolean
identity_in_group (const Identity *id, gid_t gid)
{
  if (gid == id->gid)
    return TRUE;
  for (int i = 0; i < id->n_groups; i++)
    if (id->groups[i] == gid)
      return TRUE;
  return FALSE;
}

/* want: a mask of 4 (read) and 1 (search). Mode bits only: an ACL may
 * grant more, never less than the group bits show, so this errs on the
 * side of refusing. */
static gboolean
identity_may (const Identity *id, const struct stat *st, unsigned want)
{
  unsigned bits;

  if (id->uid == 0)
    return TRUE;
  if (st->st_uid == id->uid)
    bits = (st->st_mode >> 6) & 7;
  else if (identity_in_group (id, st->st_gid))
    bits = (st->st_mode >> 3) & 7;
  else
    bits = st->st_mode & 7;
  return (bits & want) == want;
}

static gboolean
denied (const char *path, guint uid, GError **error)
{
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
               "'%s': the job's owner (uid %u) may not read it", path, uid);
  return FALSE;
}

/* Every directory from / down to path must be searchable (checked before
 * anything is said about what lies below, so nothing leaks), path itself
 * readable and searchable. */
static gboolean
check_path_as (const char *path, const Identity *id, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr(GString) prefix = g_string_new ("/");
  struct stat st;

  if (stat ("/", &st) < 0 || !identity_may (id, &st, 1))
    return denied (path, id->uid, error);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (*parts[i] == '\0')
        continue;
      if (prefix->len > 1)
        g_string_append_c (prefix, '/');
      g_string_append (prefix, parts[i]);
      if (stat (prefix->str, &st) < 0)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "'%s' does not exist", path);
          return FALSE;
        }
      if (!S_ISDIR (st.st_mode))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                       "'%s' is not a directory (watch the directory it is in, "
                       "with a glob for its name)", path);
          return FALSE;
        }
      if (!identity_may (id, &st, parts[i + 1] != NULL ? 1 : 5))
        return denied (path, id->uid, error);
    }
  return TRUE;
}

static gboolean
check_root_as (const char *path, const Identity *id, GError **error)
{
  g_autofree char *real = NULL;

  if (!g_path_is_absolute (path))
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "'%s' is not an absolute path", path);
      return FALSE;
    }
  if (!check_path_as (path, id, error))
    return FALSE;
  /* Through a symbolic link: the directories of its target count too. */
  real = realpath (path, NULL);
  if (real == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "'%s': %s", path, g_strerror (errno));
      return FALSE;
    }
  return g_str_equal (real, path) || check_path_as (real, id, error);
}

gboolean
jobd_dir_watch_check_root (const char *path, guint owner_uid, GError **error)
{
  Identity id;
  gboolean ok;

  identity_init (&id, owner_uid);
  ok = check_root_as (path, &id, error);
  g_free (id.groups);
  return ok;
}

static const Identity *
watch_identity (JobdDirWatch *self, Identity *id)
{
  *id = (Identity) { self->uid, self->gid, self->groups, self->n_groups };
  return id;
}

/* ---- globs -------------------------------------------------------------- */

static GArray *
globs_new (const char * const *patterns, gboolean builtin)
{
  static const char * const builtins[] = { JOBD_DIR_WATCH_BUILTIN_EXCLUDES, NULL };
  GArray *globs = g_array_new (FALSE, FALSE, sizeof (Glob));

  for (guint pass = builtin ? 0 : 1; pass < 2; pass++)
    {
      const char * const *list = pass == 0 ? builtins : patterns;

      for (guint i = 0; list != NULL && list[i] != NULL; i++)
        {
          const char *p = list[i];
          Glob g;

          while (p[0] == '.' && p[1] == '/')  /* "./src/x.php" is "src/x.php" */
            p += 2;
          g.spec = g_pattern_spec_new (p);
          g.on_path = strchr (p, '/') != NULL;
          g_array_append_val (globs, g);
        }
    }
  return globs;
}

static void
globs_free (GArray *globs)
{
  for (guint i = 0; globs != NULL && i < globs->len; i++)
    g_pattern_spec_free (g_array_index (globs, Glob, i).spec);
  if (globs != NULL)
    g_array_unref (globs);
}

static gboolean
globs_match (GArray *globs, const char *name, const char *rel)
{
  for (guint i = 0; i < globs->len; i++)
    {
      const Glob *g = &g_array_index (globs, Glob, i);

      if (g_pattern_spec_match_string (g->spec, g->on_path ? rel : name))
        return TRUE;
    }
  return FALSE;
}

/* Only the entry itself: the folders above it were checked when they
 * were watched (an excluded folder never is), so each event costs one
 * match per glob, not one per glob and folder. */
static gboolean
is_excluded (JobdDirWatch *self, const char *name, const char *rel)
{
  return globs_match (self->excludes, name, rel);
}

static gboolean
file_matches (JobdDirWatch *self, const char *name, const char *rel)
{
  if (is_excluded (self, name, rel))
    return FALSE;
  return self->globs->len == 0 || globs_match (self->globs, name, rel);
}

/* ---- nodes ---------------------------------------------------------------- */

/* The node's path relative to its root ("" for the root itself). */
static void
node_rel_path (Node *node, GString *out)
{
  if (node->parent == NULL)
    return;
  node_rel_path (node->parent, out);
  if (out->len > 0)
    g_string_append_c (out, '/');
  g_string_append (out, node->name);
}

static char *
node_path (JobdDirWatch *self, Node *node, const char *name)
{
  g_autoptr(GString) rel = g_string_new (NULL);

  node_rel_path (node, rel);
  if (name != NULL)
    {
      if (rel->len > 0)
        g_string_append_c (rel, '/');
      g_string_append (rel, name);
    }
  if (rel->len == 0)
    return g_strdup (self->roots[node->root]);
  return g_build_filename (self->roots[node->root], rel->str, NULL);
}

static char *
node_rel_child (Node *node, const char *name)
{
  g_autoptr(GString) rel = g_string_new (NULL);

  node_rel_path (node, rel);
  if (rel->len > 0)
    g_string_append_c (rel, '/');
  g_string_append (rel, name);
  return g_string_free (g_steal_pointer (&rel), FALSE);
}

static char *
child_key (int parent_wd, const char *name)
{
  return g_strdup_printf ("%d/%s", parent_wd, name);
}

static void
node_free (gpointer data)
{
  Node *node = data;

  g_free (node->name);
  g_free (node);
}

/* Forgets node, removing the kernel's watch when no other JobdDirWatch
 * has it. */
static void
forget_node (JobdDirWatch *self, Node *node)
{
  g_autofree char *key = NULL;

  if (node->parent != NULL)
    {
      key = child_key (node->parent->wd, node->name);
      if (g_hash_table_lookup (self->children, key) == node)
        g_hash_table_remove (self->children, key);
    }
  else if (node->in_tree && self->root_nodes[node->root] == node)
    self->root_nodes[node->root] = NULL;
  node_remove (self, node->wd);
}

static gboolean
node_is_below (Node *node, Node *ancestor)
{
  for (Node *n = node->parent; n != NULL; n = n->parent)
    if (n == ancestor)
      return TRUE;
  return FALSE;
}

/* Removes node's subtree; TRUE when a file matching was seen in it. */
static gboolean
forget_tree (JobdDirWatch *self, Node *top)
{
  g_autoptr(GPtrArray) below = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  gboolean matched = top->has_match;

  g_hash_table_iter_init (&iter, self->nodes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Node *) value)->in_tree && node_is_below (value, top))
      g_ptr_array_add (below, value);
  /* Unlink everything first: a child's key names its parent's wd. */
  for (guint i = 0; i < below->len; i++)
    {
      Node *n = below->pdata[i];
      g_autofree char *key = child_key (n->parent->wd, n->name);

      matched |= n->has_match;
      g_hash_table_remove (self->children, key);
    }
  for (guint i = 0; i < below->len; i++)
    {
      Node *n = below->pdata[i];

      n->parent = NULL;
      n->in_tree = FALSE;
      if (n->waiting_root != 0)
        continue;   /* a removed root's parent: still waited in */
      node_remove (self, n->wd);
    }
  if (top->waiting_root != 0)
    {
      if (top->parent != NULL)
        {
          g_autofree char *key = child_key (top->parent->wd, top->name);
          g_hash_table_remove (self->children, key);
        }
      else if (self->root_nodes[top->root] == top)
        self->root_nodes[top->root] = NULL;
      top->parent = NULL;
      top->in_tree = FALSE;
      return matched;
    }
  forget_node (self, top);
  return matched;
}

/* ---- adding watches --------------------------------------------------- */

static gboolean
out_of_watches (JobdDirWatch *self, const char *path, GError **error)
{
  g_autofree char *global = NULL;
  g_autofree char *user = NULL;
  g_autoptr(GString) message = g_string_new (NULL);

  g_file_get_contents ("/proc/sys/fs/inotify/max_user_watches", &global, NULL, NULL);
  g_file_get_contents ("/proc/sys/user/max_inotify_watches", &user, NULL, NULL);
  if (global != NULL)
    g_strstrip (global);
  if (user != NULL)
    g_strstrip (user);
  g_string_printf (message,
                   "out of inotify watches at '%s' (%u directories watched by this job): "
                   "the limit is fs.inotify.max_user_watches = %s",
                   path, g_hash_table_size (self->nodes), global != NULL ? global : "?");
  /* A user namespace may have a lower limit of its own. */
  if (user != NULL && global != NULL
      && g_ascii_strtoull (user, NULL, 10) < g_ascii_strtoull (global, NULL, 10))
    g_string_append_printf (message, " (user.max_inotify_watches = %s in jobd's user namespace)",
                            user);
  g_string_append (message, "; raise it (sysctl) or watch fewer directories");
  g_set_error_literal (error, JOBD_ERROR, JOBD_ERROR_FAILED, message->str);
  return FALSE;
}

typedef struct {
  char *path;
  Node *parent;   /* NULL: a root */
  char *name;
} Pending;

static void
pending_free (gpointer data)
{
  Pending *p = data;

  g_free (p->path);
  g_free (p->name);
  g_free (p);
}

/* Adds a watch on one directory; NULL (no error) when it is not to be
 * watched: gone meanwhile, not readable by the owner, already watched. */
static Node *
add_dir (JobdDirWatch *self, const Pending *p, int root, GError **error)
{
  Identity id;
  struct stat st;
  Node *node;
  int wd;

  if (self->uid != 0)
    {
      if (stat (p->path, &st) < 0 || !S_ISDIR (st.st_mode)
          || !identity_may (watch_identity (self, &id), &st, 5))
        return NULL;
    }
  if (!owner_may_add (self, p->path, error))
    return NULL;
  wd = inotify_add_watch (self->queue->fd, p->path, WATCH_MASK);
  if (wd < 0)
    {
      if (errno == ENOSPC)
        out_of_watches (self, p->path, error);
      else if (errno != ENOENT && errno != ENOTDIR && errno != EACCES && errno != ELOOP)
        g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED, "cannot watch '%s': %s",
                     p->path, g_strerror (errno));
      return NULL;
    }
  node = g_hash_table_lookup (self->nodes, GINT_TO_POINTER (wd));
  if (node != NULL && node->in_tree)
    return NULL;   /* the same directory by another way: watched already */
  if (node == NULL)
    {
      node = g_new0 (Node, 1);
      node->wd = wd;
      node_insert (self, node);
    }
  g_free (node->name);
  node->name = g_strdup (p->parent != NULL ? p->name : self->roots[root]);
  node->parent = p->parent;
  node->root = root;
  node->in_tree = TRUE;
  if (p->parent != NULL)
    g_hash_table_insert (self->children, child_key (p->parent->wd, p->name), node);
  else
    self->root_nodes[root] = node;
  return node;
}

/* Queues node's subdirectories; returns the first matching file, when
 * report (a new directory: its files appeared without their own events). */
static char *
scan_dir (JobdDirWatch *self, Node *node, const char *path, GQueue *queue, gboolean report)
{
  char *first = NULL;
  struct dirent *entry;
  DIR *dir;
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      g_autofree char *rel = NULL;
      gboolean is_dir = entry->d_type == DT_DIR;
      gboolean is_file = entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN;
      struct stat st;

      if (g_str_equal (name, ".") || g_str_equal (name, ".."))
        continue;
      if (entry->d_type == DT_UNKNOWN && fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        {
          is_dir = S_ISDIR (st.st_mode);
          is_file = !is_dir;
        }
      rel = node_rel_child (node, name);
      if (is_dir && !is_excluded (self, name, rel))
        {
          Pending *p = g_new0 (Pending, 1);
          p->path = g_build_filename (path, name, NULL);
          p->parent = node;
          p->name = g_strdup (name);
          g_queue_push_tail (queue, p);
        }
      else if (is_file && file_matches (self, name, rel))
        {
          node->has_match = TRUE;
          if (report && first == NULL)
            first = g_build_filename (path, name, NULL);
        }
    }
  closedir (dir);
  return first;
}

/* Watches the tree at top (a root, or a new subdirectory). With report,
 * the first matching file found is returned (see scan_dir). FALSE with
 * error when the kernel refused a watch. */
static gboolean
add_tree (JobdDirWatch *self, Pending *top, int root, gboolean report, char **first,
          GError **error)
{
  GQueue queue = G_QUEUE_INIT;
  Pending *p;
  gboolean ok = TRUE;

  g_queue_push_tail (&queue, top);
  while (ok && (p = g_queue_pop_head (&queue)) != NULL)
    {
      GError *local = NULL;
      Node *node = add_dir (self, p, root, &local);

      if (local != NULL)
        {
          g_propagate_error (error, local);
          ok = FALSE;
        }
      else if (node != NULL)
        {
          char *found = scan_dir (self, node, p->path, &queue, report && *first == NULL);
          if (found != NULL && *first == NULL)
            *first = found;
          else
            g_free (found);
        }
      pending_free (p);
    }
  g_queue_clear_full (&queue, pending_free);
  return ok;
}

static gboolean
add_root (JobdDirWatch *self, int root, gboolean report, char **first, GError **error)
{
  Pending *top = g_new0 (Pending, 1);

  top->path = g_strdup (self->roots[root]);
  return add_tree (self, top, root, report, first, error);
}

/* A root went away: wait in its parent for a directory of its name. */
static void
wait_for_root (JobdDirWatch *self, int root)
{
  g_autofree char *parent = g_path_get_dirname (self->roots[root]);
  Identity id;
  GError *error = NULL;
  Node *node;
  int wd;

  /* The owner had to search the parent to name the root; still so? */
  if (!check_root_as (parent, watch_identity (self, &id), &error))
    {
      g_prefix_error (&error, "'%s' was removed and is no longer watched: ", self->roots[root]);
      self->failed (error, self->user_data);
      g_error_free (error);
      return;
    }
  if (!owner_may_add (self, parent, &error))
    {
      g_prefix_error (&error, "'%s' was removed and is no longer watched: ", self->roots[root]);
      self->failed (error, self->user_data);
      g_error_free (error);
      return;
    }
  wd = inotify_add_watch (self->queue->fd, parent, WATCH_MASK);
  if (wd < 0)
    {
      if (errno == ENOSPC)
        out_of_watches (self, parent, &error);
      else
        g_set_error (&error, JOBD_ERROR, JOBD_ERROR_FAILED,
                     "'%s' was removed and is no longer watched: %s",
                     self->roots[root], g_strerror (errno));
      self->failed (error, self->user_data);
      g_error_free (error);
      return;
    }
  node = g_hash_table_lookup (self->nodes, GINT_TO_POINTER (wd));
  if (node == NULL)
    {
      node = g_new0 (Node, 1);
      node->wd = wd;
      node->name = g_strdup (parent);
      node_insert (self, node);
    }
  node->waiting_root = root + 1;
}

/* ---- events ------------------------------------------------------------- */

static void
report (JobdDirWatch *self, const char *path)
{
  self->changed (path, self->user_data);
}

static void
report_error (JobdDirWatch *self, GError *error)
{
  self->failed (error, self->user_data);
  g_error_free (error);
}

static void
on_root_back (JobdDirWatch *self, Node *waiting, const struct inotify_event *ev)
{
  int root = waiting->waiting_root - 1;
  g_autofree char *base = g_path_get_basename (self->roots[root]);
  g_autofree char *first = NULL;
  GError *error = NULL;

  if (!(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO))
      || ev->len == 0 || !g_str_equal (ev->name, base))
    return;
  waiting->waiting_root = 0;
  if (!waiting->in_tree)
    forget_node (self, waiting);
  if (!add_root (self, root, TRUE, &first, &error))
    report_error (self, error);
  report (self, first != NULL ? first : self->roots[root]);
}

static void
on_subdir_event (JobdDirWatch *self, Node *node, const struct inotify_event *ev,
                 const char *rel)
{
  g_autofree char *path = node_path (self, node, ev->name);
  g_autofree char *key = child_key (node->wd, ev->name);
  Node *child = g_hash_table_lookup (self->children, key);
  g_autofree char *first = NULL;
  GError *error = NULL;

  if (ev->mask & (IN_CREATE | IN_MOVED_TO))
    {
      Pending *p = g_new0 (Pending, 1);

      if (child != NULL)   /* replaced by a move over it */
        forget_tree (self, child);
      p->path = g_strdup (path);
      p->parent = node;
      p->name = g_strdup (ev->name);
      if (!add_tree (self, p, node->root, TRUE, &first, &error))
        report_error (self, error);
      if (first != NULL)
        report (self, first);
    }
  else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
    {
      /* Its files went with it, without events of their own. */
      gboolean matched = child != NULL ? forget_tree (self, child) : FALSE;
      if (matched || self->globs->len == 0 || globs_match (self->globs, ev->name, rel))
        report (self, path);
    }
  else if ((ev->mask & IN_ATTRIB) && child != NULL && self->uid != 0)
    {
      Identity id;
      struct stat st;

      /* chmod: no longer readable by the owner, no longer watched. */
      if (stat (path, &st) < 0 || !identity_may (watch_identity (self, &id), &st, 5))
        forget_tree (self, child);
    }
}

static void
on_event (JobdDirWatch *self, const struct inotify_event *ev)
{
  Node *node;

  if (ev->mask & IN_Q_OVERFLOW)
    {
      GError *error = NULL;

      /* Directories may have come meanwhile: walk everything again. */
      for (guint i = 0; self->roots[i] != NULL && error == NULL; i++)
        {
          g_autofree char *first = NULL;
          if (self->root_nodes[i] == NULL)
            continue;   /* gone: waited for */
          forget_tree (self, self->root_nodes[i]);
          add_root (self, (int) i, FALSE, &first, &error);
        }
      if (error != NULL)
        report_error (self, error);
      report (self, NULL);
      return;
    }
  node = g_hash_table_lookup (self->nodes, GINT_TO_POINTER (ev->wd));
  if (node == NULL)
    return;
  if (node->waiting_root != 0 && ev->len > 0)
    {
      on_root_back (self, node, ev);
      node = g_hash_table_lookup (self->nodes, GINT_TO_POINTER (ev->wd));
      if (node == NULL || !node->in_tree)
        return;
    }
  if (!node->in_tree)
    return;
  if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
    {
      /* A subdirectory's removal was seen in its parent. A root's is
       * the change itself. */
      if (node->parent == NULL && (ev->mask & (IN_IGNORED | IN_MOVE_SELF)))
        {
          int root = node->root;
          forget_tree (self, node);
          report (self, self->roots[root]);
          wait_for_root (self, root);
        }
      else if (ev->mask & IN_IGNORED)
        forget_tree (self, node);
      return;
    }
  if (ev->len == 0)
    return;
  {
    g_autofree char *rel = node_rel_child (node, ev->name);

    if (is_excluded (self, ev->name, rel))
      return;
    if (ev->mask & IN_ISDIR)
      on_subdir_event (self, node, ev, rel);
    else if (self->globs->len == 0 || globs_match (self->globs, ev->name, rel))
      {
        g_autofree char *path = node_path (self, node, ev->name);
        node->has_match = TRUE;
        report (self, path);
      }
  }
}

/* Hands ev to each JobdDirWatch in targets still in alive (a callback may
 * free a watch, its own or another job's). */
static void
dispatch (GPtrArray *targets, GPtrArray *alive, const struct inotify_event *ev)
{
  g_autoptr(GPtrArray) copy = g_ptr_array_copy (targets, NULL, NULL);

  for (guint i = 0; i < copy->len; i++)
    if (g_ptr_array_find (alive, copy->pdata[i], NULL))
      on_event (copy->pdata[i], ev);
}

static void
on_queue_event (Queue *queue, const struct inotify_event *ev)
{
  GPtrArray *owners;

  if (ev->mask & IN_Q_OVERFLOW)
    {
      dispatch (queue->all, queue->all, ev);
      return;
    }
  owners = g_hash_table_lookup (queue->owners, GINT_TO_POINTER (ev->wd));
  if (owners == NULL)
    return;   /* its last owner let go while the event was queued */
  /* Held: the last owner letting go removes the entry. */
  g_ptr_array_ref (owners);
  dispatch (owners, owners, ev);
  g_ptr_array_unref (owners);
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  char buffer[64 * 1024] __attribute__ ((aligned (__alignof__ (struct inotify_event))));

  for (int reads = 0; reads < READS_PER_WAKEUP; reads++)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n <= 0)
        break;
      for (char *p = buffer; p < buffer + n;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) (gpointer) p;
          on_queue_event (user_data, ev);
          p += sizeof (struct inotify_event) + ev->len;
        }
    }
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle --------------------------------------------------------- */

/* Lets go of every wd (the kernel's watch goes with its last owner). */
static void
forget_all (JobdDirWatch *self)
{
  g_autofree gpointer *wds = NULL;
  guint n = 0;

  if (self->nodes == NULL)
    return;
  wds = g_hash_table_get_keys_as_array (self->nodes, &n);
  for (guint i = 0; i < n; i++)
    node_remove (self, GPOINTER_TO_INT (wds[i]));
}

JobdDirWatch *
jobd_dir_watch_new (const char * const *roots,
                    const char * const *globs,
                    const char * const *excludes,
                    guint owner_uid,
                    JobdDirWatchChangeFunc changed,
                    JobdDirWatchErrorFunc failed,
                    gpointer user_data,
                    GError **error)
{
  g_autoptr(JobdDirWatch) self = g_new0 (JobdDirWatch, 1);
  Identity id;

  self->roots = g_strdupv ((char **) roots);
  self->root_nodes = g_new0 (Node *, g_strv_length (self->roots) + 1);
  self->nodes = g_hash_table_new_full (NULL, NULL, NULL, node_free);
  self->children = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->globs = globs_new (globs, FALSE);
  self->excludes = globs_new (excludes, TRUE);
  identity_init (&id, owner_uid);
  self->uid = id.uid;
  self->gid = id.gid;
  self->groups = id.groups;
  self->n_groups = id.n_groups;
  self->changed = changed;
  self->failed = failed;
  self->user_data = user_data;

  for (guint i = 0; self->roots[i] != NULL; i++)
    if (!check_root_as (self->roots[i], &id, error))
      return NULL;
  self->queue = queue_for (self->uid, error);
  if (self->queue == NULL)
    return NULL;
  g_ptr_array_add (self->queue->all, self);
  for (guint i = 0; self->roots[i] != NULL; i++)
    {
      g_autofree char *first = NULL;
      if (!add_root (self, (int) i, FALSE, &first, error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

guint
jobd_dir_watch_get_n_dirs (JobdDirWatch *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->nodes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((Node *) value)->in_tree;
  return n;
}

void
jobd_dir_watch_free (JobdDirWatch *self)
{
  if (self == NULL)
    return;
  if (self->queue != NULL)
    g_ptr_array_remove_fast (self->queue->all, self);
  forget_all (self);
  g_hash_table_unref (self->children);
  g_hash_table_unref (self->nodes);
  g_free (self->root_nodes);
  g_strfreev (self->roots);
  globs_free (self->globs);
  globs_free (self->excludes);
  g_free (self->groups);
  g_free (self);
}
