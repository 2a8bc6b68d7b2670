/* SPDX-License-Identifier: MIT */
/* jobd-cgroup.h — a job's memory from its (scope's) cgroup.
 *
 * Three sources, tried in this order:
 *   "cgroup-v2"    memory.current of the cgroup on the unified hierarchy;
 *   "cgroup-v1"    memory.usage_in_bytes of the v1 memory controller, when
 *                  it is mounted and holds the cgroup;
 *   "cgroup-procs" the sum of the resident memory of every process listed
 *                  in cgroup.procs (the cgroup and its descendants) on the
 *                  unified or name=systemd hierarchy: hybrid hosts and
 *                  containers, where the memory controller is not ours.
 * The cgroup file system root is a parameter so tests can use a fake tree.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_CGROUP_ROOT "/sys/fs/cgroup"

#define JOBD_CGROUP_SOURCE_V2 "cgroup-v2"
#define JOBD_CGROUP_SOURCE_V1 "cgroup-v1"
#define JOBD_CGROUP_SOURCE_PROCS "cgroup-procs"

/* cgroup_path is as systemd's ControlGroup property shows it
 * ("/jobd.slice/jobd-w.scope"). *source is a static string. Fails with
 * G_IO_ERROR_NOT_FOUND when no hierarchy under root knows the cgroup. */
gboolean jobd_cgroup_get_memory (const char *root,
                                 const char *cgroup_path,
                                 guint64 *bytes,
                                 const char **source,
                                 GError **error);

/* The kernel's peak memory of the cgroup: memory.peak on the unified
 * hierarchy (Linux 5.19+, source "memory.peak"), else the v1 memory
 * controller's memory.max_usage_in_bytes (source
 * "memory.max_usage_in_bytes"). FALSE when neither can be read. */
gboolean jobd_cgroup_get_peak_memory (const char *root,
                                      const char *cgroup_path,
                                      guint64 *bytes,
                                      const char **source);
/* The memory.events file of the cgroup on the unified hierarchy when the
 * memory controller is on there (memory.high exists), else NULL. */
char *jobd_cgroup_memory_events_path (const char *root, const char *cgroup_path);

/* The same for cgroup directories given as full paths (either may be NULL). */
gboolean jobd_cgroup_dir_peak_memory (const char *v2_dir,
                                      const char *v1_memory_dir,
                                      guint64 *bytes,
                                      const char **source);

/* Every PID in the cgroup and its descendants, from cgroup.procs of the
 * first hierarchy that has it (unified, then name=systemd). */
GArray *jobd_cgroup_get_pids (const char *root,
                              const char *cgroup_path,
                              GError **error);

/* The same for a cgroup directory given as a full path. */
GArray *jobd_cgroup_dir_pids (const char *dir, GError **error);

/* cgroup.procs of a cgroup of the v2 hierarchy (pure, or the unified tree
 * of a hybrid host) opened for writing a PID into it; -1 (errno set) when
 * there is none or it cannot be opened. */
int jobd_cgroup_open_procs (const char *root, const char *cgroup_path);

/* The cgroup path of a process from the text of /proc/PID/cgroup: the
 * unified ("0::") entry, else the name=systemd one. */
char *jobd_cgroup_parse_proc_cgroup (const char *contents, GError **error);
/* Same, reading /proc/PID/cgroup. */
char *jobd_cgroup_path_of_pid (GPid pid, GError **error);

G_END_DECLS
