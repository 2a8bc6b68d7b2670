/* SPDX-License-Identifier: MIT */
/* jobd-cpu.h — CPU time a job has used: user + system, cumulative, in µs.
 *
 * Sources, best first:
 *   "cpu.stat"       usage_usec of the job's cgroup on the unified hierarchy
 *                    (present in every v2 cgroup, no controller needed): the
 *                    whole job, exited processes included;
 *   "cpuacct.usage"  the v1 cpuacct controller's figure for the cgroup;
 *   "process-tree"   utime + stime + cutime + cstime from /proc/PID/stat of
 *                    each process of the job: the children a process of the
 *                    job waited for are counted, a process that exits without
 *                    being waited for by one of them is lost (orphans that
 *                    jobd reaps), so the figure can go down by that much.
 * Small synchronous reads of pseudo files, fine on the main loop.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JOBD_CPU_SOURCE_CGROUP "cpu.stat"
#define JOBD_CPU_SOURCE_CPUACCT "cpuacct.usage"
#define JOBD_CPU_SOURCE_PROCESSES "process-tree"

/* usage_usec from DIR/cpu.stat; FALSE when it cannot be read. */
gboolean jobd_cpu_cgroup_dir_usage (const char *v2_dir, guint64 *usec);

/* The cgroup cgroup_path ("/jobd.slice/jobd-w.scope") under the cgroup file
 * system root: cpu.stat (pure v2 or hybrid "unified"), else v1 cpuacct,
 * else the sum over the processes its cgroup.procs list. */
gboolean jobd_cpu_cgroup_usage (const char *root,
                                const char *cgroup_path,
                                guint64 *usec,
                                const char **source,
                                GError **error);

/* One process, with its waited-for children; FALSE when it is gone. */
gboolean jobd_cpu_process_usage (GPid pid, guint64 *usec);
/* The sum over pids (processes gone meanwhile count 0). */
guint64 jobd_cpu_pids_usage (GArray *pids);
/* The sum over the processes whose session ID is sid, scanning /proc. */
gboolean jobd_cpu_session_usage (GPid sid, guint64 *usec, GError **error);

/* The stat line's text after the command name: fields 14-17 (utime,
 * stime, cutime, cstime) summed, in clock ticks; and the session ID
 * (field 6). Exposed for the unit test. */
gboolean jobd_cpu_parse_stat (const char *contents, guint64 *ticks, GPid *sid);

G_END_DECLS
