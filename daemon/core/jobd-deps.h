/* SPDX-License-Identifier: MIT */
/* jobd-deps.h — the dependency graph between jobs (settings requires/after).
 *
 * Each entry of `requires` and `after` is "JOB" or "JOB:CONDITION" with
 * CONDITION started | ready (the default) | succeeded. `requires` starts
 * the other job first and stops this one when it goes; `after` only orders
 * two starts under way. This file knows names and edges only (no job, no
 * manager): parsing, the checks made at add/update (the job itself, a
 * missing requirement, a cycle, named as "a -> b -> a"), the order to start
 * a job's requirements in and the reverse lookups. The manager drives it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JOBD_DEP_STARTED,     /* its process runs */
  JOBD_DEP_READY,       /* state up (its readiness said so) */
  JOBD_DEP_SUCCEEDED,   /* it ran to exit code 0 (a one-shot) */
} JobdDepCondition;

/* At most this many entries in requires or after (a bound on the graph). */
#define JOBD_DEPS_MAX 64

const char *jobd_dep_condition_to_string (JobdDepCondition condition);

/* "JOB[:CONDITION]": FALSE with JOBD_ERROR_INVALID_ARGS naming key and
 * entry. name (optional) receives a new string. */
gboolean jobd_dep_parse (const char *key,
                         const char *spec,
                         char **name,
                         JobdDepCondition *condition,
                         GError **error);

/* A whole requires/after list: every entry parses, no job twice, at most
 * JOBD_DEPS_MAX entries. */
gboolean jobd_deps_validate_list (const char *key, const char * const *specs, GError **error);

/* A job's edges, borrowed; FALSE when there is no such job. */
typedef gboolean (*JobdDepsGetFunc) (const char *name,
                                     const char * const **requires,
                                     const char * const **after,
                                     gpointer user_data);

/* The checks of an add/update of job `name` with these lists (the other
 * jobs as get() sees them): a dependency on itself, a requirement that does
 * not exist (when check_missing; `after` may name a job that does not
 * exist, as systemd's After=), a cycle through requires and after. */
gboolean jobd_deps_check (const char *name,
                          const char * const *requires,
                          const char * const *after,
                          JobdDepsGetFunc get,
                          gpointer user_data,
                          gboolean check_missing,
                          GError **error);

/* The jobs to start for `name`: what it requires, transitively, ordered so
 * that every job comes after what it requires or is ordered after, and
 * `name` last (new strings). Missing jobs are left out; a cycle (which
 * add/update refuse) cannot loop. */
GPtrArray *jobd_deps_start_order (const char *name, JobdDepsGetFunc get, gpointer user_data);

/* The jobs among `names` whose `requires` (key "requires") or `after`
 * (key "after") name `name` (new strings, in the order of names). With
 * key "requires" and skip_succeeded, edges with condition succeeded are
 * left out (a one-shot ending is not a reason to stop its dependents). */
GPtrArray *jobd_deps_reverse (const char *name,
                              const char *key,
                              gboolean skip_succeeded,
                              const char * const *names,
                              JobdDepsGetFunc get,
                              gpointer user_data);

/* The jobs to stop before `name`, transitively over reverse requires
 * (not succeeded), those furthest from `name` first; `name` itself is not
 * in it (new strings). */
GPtrArray *jobd_deps_stop_order (const char *name,
                                 const char * const *names,
                                 JobdDepsGetFunc get,
                                 gpointer user_data);

G_END_DECLS
