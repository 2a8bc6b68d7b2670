/* SPDX-License-Identifier: MIT */
/* jobd-auth.h — who may do what: one default-deny table.
 *
 * Every D-Bus method is listed in jobd-dbus-service.c with the access it
 * needs; this file decides whether a caller (by uid) has it:
 *   READ   anyone;
 *   CREATE anyone (a non-root caller's job runs as that caller);
 *   MODIFY root, a member of the configured admin group, or the job's owner;
 *   ADMIN  root or a member of the admin group (server-wide changes).
 * A method missing from the table is refused.
 */
#pragma once

#include <glib.h>

#include "jobd-job.h"

G_BEGIN_DECLS

typedef enum {
  JOBD_ACCESS_DENY = 0,   /* the zero value: unlisted means refused */
  JOBD_ACCESS_READ,
  JOBD_ACCESS_CREATE,
  JOBD_ACCESS_MODIFY,
  JOBD_ACCESS_ADMIN,
} JobdAccess;

/* admin_group may be NULL. job is needed for MODIFY. */
gboolean jobd_auth_check (JobdAccess access,
                          guint caller_uid,
                          const char *admin_group,
                          JobdJob *job,
                          GError **error);

/* Whether caller_uid may read a job's secret values (its environment):
 * root, the job's owner, or a member of admin_group (may be NULL). Others
 * see the variables' names only. */
gboolean jobd_auth_may_read_secrets (guint caller_uid, const char *admin_group, JobdJob *job);

/* Whether uid belongs to the group (primary or supplementary). */
gboolean jobd_auth_uid_in_group (guint uid, const char *group);

G_END_DECLS
