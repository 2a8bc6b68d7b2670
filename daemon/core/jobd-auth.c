/* SPDX-License-Identifier: MIT */
/* jobd-auth.c — the access rules for jobd's API. */
#include "config.h"

#include "jobd-auth.h"

#include <grp.h>
#include <pwd.h>

#include "jobd-error.h"

gboolean
jobd_auth_uid_in_group (guint uid, const char *group)
{
  struct passwd *pw;
  struct group *gr;
  g_autofree gid_t *groups = NULL;
  int n_groups = 64;

  if (group == NULL || (gr = getgrnam (group)) == NULL || (pw = getpwuid (uid)) == NULL)
    return FALSE;
  if (pw->pw_gid == gr->gr_gid)
    return TRUE;

  groups = g_new (gid_t, n_groups);
  if (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n_groups) < 0)
    {
      groups = g_renew (gid_t, groups, n_groups);
      if (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n_groups) < 0)
        return FALSE;
    }
  for (int i = 0; i < n_groups; i++)
    if (groups[i] == gr->gr_gid)
      return TRUE;
  return FALSE;
}

gboolean
jobd_auth_check (JobdAccess access,
                 guint caller_uid,
                 const char *admin_group,
                 JobdJob *job,
                 GError **error)
{
  switch (access)
    {
    case JOBD_ACCESS_READ:
    case JOBD_ACCESS_CREATE:
      return TRUE;
    case JOBD_ACCESS_MODIFY:
      if (caller_uid == 0 ||
          (job != NULL && jobd_job_get_owner_uid (job) == caller_uid) ||
          jobd_auth_uid_in_group (caller_uid, admin_group))
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                   "permission denied: job '%s' belongs to another user",
                   job != NULL ? jobd_job_get_name (job) : "?");
      return FALSE;
    case JOBD_ACCESS_ADMIN:
      if (caller_uid == 0 || jobd_auth_uid_in_group (caller_uid, admin_group))
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                   "permission denied: only root or the admin group may do this");
      return FALSE;
    case JOBD_ACCESS_DENY:
    default:
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED, "permission denied");
      return FALSE;
    }
}

gboolean
jobd_auth_may_read_secrets (guint caller_uid, const char *admin_group, JobdJob *job)
{
  return caller_uid == 0 ||
         (job != NULL && jobd_job_get_owner_uid (job) == caller_uid) ||
         jobd_auth_uid_in_group (caller_uid, admin_group);
}
