/* SPDX-License-Identifier: MIT */
/* jobd-dbus-jobs.h — naming of the org.jobd1.Job objects.
 *
 * One object per job under /org/jobd1/job/, served as a subtree so a new
 * connection costs one registration whatever the number of jobs. The rest
 * of jobd-dbus-jobs.c (properties, PropertiesChanged and the Manager's
 * signals) is private to the service (jobd-dbus-service-private.h).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Object path of a job: /org/jobd1/job/<name with non-alphanumerics as _XX>. */
char *jobd_dbus_job_path (const char *name);
/* The inverse of the escaping; NULL when node is not a valid escape. */
char *jobd_dbus_job_name_from_node (const char *node);

G_END_DECLS
