/* SPDX-License-Identifier: MIT */
/* jobd-dep-order.h — putting jobs in the order their requires/after ask.
 *
 * Applying job files (jobctl apply, JobsDirectory=) adds, updates and
 * removes many jobs one call after the other, and jobd checks each call
 * against the registry as it is then: an Add of web with Requires=db must
 * come after db's, and a Remove of db after web's. Both appliers order
 * their work with this. (The daemon's graph itself is core/jobd-deps.c.)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The job an entry of requires or after names: "JOB" or "JOB:CONDITION"
 * with CONDITION started, ready or succeeded (a job name may hold ':'). */
char *jobd_dep_order_job_name (const char *spec);

/* The jobs named by the requires and after of an a{sv} of settings (may be
 * NULL): a new GPtrArray of strings. */
GPtrArray *jobd_dep_order_names_in (GVariant *settings);

typedef const char *(*JobdDepOrderNameFunc) (gpointer item);
/* The names item depends on: a new GPtrArray of strings. */
typedef GPtrArray *(*JobdDepOrderDepsFunc) (gpointer item, gpointer user_data);

/* Reorders items in place so that each comes after the items it names
 * (reversed: before them), keeping their order otherwise. Names that are
 * not among the items are ignored; a cycle is broken anywhere (jobd
 * refuses it and names it). */
void jobd_dep_order_sort (GPtrArray *items,
                          JobdDepOrderNameFunc name_of,
                          JobdDepOrderDepsFunc deps_of,
                          gpointer user_data,
                          gboolean reversed);

/* Job files (JobdJobFile *) in the order to add or update their jobs. */
void jobd_dep_order_job_files (GPtrArray *files);

G_END_DECLS
