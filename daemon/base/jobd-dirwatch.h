/* SPDX-License-Identifier: MIT */
/* jobd-dirwatch.h — tell when a file changes under some directory trees
 * (inotify, no polling).
 *
 * Each root is watched recursively: one inotify watch per directory, new
 * subdirectories included (their files are scanned when the watch is
 * added, so a file created before the watch is not missed). Memory is per
 * directory (a small node), never per file. Symbolic links inside the tree
 * are not followed (no loops); a directory reached twice (a bind mount of
 * its own ancestor) is watched once.
 *
 * A change is a file created, written and closed, deleted, moved in or
 * out, or touched (its attributes changed), whose name matches an include
 * glob (none: every file) and no exclude glob. A glob with a '/' is
 * matched against the path relative to its root, one without against the
 * name; an exclude glob also matches any directory on the way, whose whole
 * subtree is then not watched. JOBD_DIR_WATCH_BUILTIN_EXCLUDES are always
 * excluded (version control folders and editors' swap files).
 *
 * Access: for an owner other than root, a directory is only watched if the
 * owner may read and search it (and search every directory above a root),
 * judged from the mode bits, the owner's uid and groups; so a job's owner
 * learns nothing about files they could not list themselves.
 *
 * A root removed (or moved away) counts as a change; it is watched again
 * when a directory of that name reappears in its parent. A kernel queue
 * overflow counts as one change and the trees are walked again.
 *
 * The JobdDirWatches of one owner share ONE inotify descriptor (the kernel
 * counts instances and watches against jobd's uid, root, whoever owns the
 * job): a queue overflow is one change for every watch of that owner, and
 * never reaches another owner's. The
 * directories watched for one owner (summed over their watches) are at
 * most jobd_dir_watch_set_max_per_owner(), except for root's: past it a
 * watch fails (at the start: nothing watched) with an error naming the
 * limit, as when the kernel runs out of watches.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_DIR_WATCH_BUILTIN_EXCLUDES ".git", ".hg", ".svn", "*.swp", "*.swx", "*~", ".#*"

/* MaxWatchesPerUser= (jobd.conf) when not set. */
#define JOBD_DIR_WATCH_MAX_PER_OWNER_DEFAULT 8192u

typedef struct _JobdDirWatch JobdDirWatch;

/* path: the changed file's absolute path; NULL when the kernel's queue
 * overflowed (something changed, what is not known). */
typedef void (*JobdDirWatchChangeFunc) (const char *path, gpointer user_data);
/* A watch that could not be added after the start (out of inotify
 * watches, or past the owner's budget): the tree is watched only in part
 * from now on. */
typedef void (*JobdDirWatchErrorFunc) (const GError *error, gpointer user_data);

/* roots: absolute paths of directories. Fails (JOBD_ERROR_INVALID_ARGS,
 * ACCESS_DENIED, FAILED) when a root is not a directory the owner may
 * read, or when the kernel runs out of watches or the owner past their
 * budget (the message names the limit and its value): nothing is watched
 * then. */
JobdDirWatch *jobd_dir_watch_new (const char * const *roots,
                                  const char * const *globs,
                                  const char * const *excludes,
                                  guint owner_uid,
                                  JobdDirWatchChangeFunc changed,
                                  JobdDirWatchErrorFunc failed,
                                  gpointer user_data,
                                  GError **error);
void jobd_dir_watch_free (JobdDirWatch *watch);
/* Directories watched now. */
guint jobd_dir_watch_get_n_dirs (JobdDirWatch *watch);

/* The most directories the watches of one owner other than root may
 * watch at once (0: no bound but the kernel's); applies to directories
 * added from now on. */
void jobd_dir_watch_set_max_per_owner (guint max);

/* May owner_uid reach path (search every directory above it) and read
 * and search it? Errors: ACCESS_DENIED when not (saying nothing about
 * what lies beyond), INVALID_ARGS when it does not exist or is not a
 * directory. Root may reach everything. */
gboolean jobd_dir_watch_check_root (const char *path, guint owner_uid, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdDirWatch, jobd_dir_watch_free)

G_END_DECLS
