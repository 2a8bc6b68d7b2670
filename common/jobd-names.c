/* SPDX-License-Identifier: MIT */
/* jobd-names.c — what a job may be called, and its object's path. */
#include "jobd-names.h"

#include <string.h>

#include "jobd-error.h"

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

gboolean
jobd_name_validate (const char *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;
  g_autofree char *shown = NULL;

  if (len >= 1 && len <= JOBD_NAME_MAX && strspn (name, ALNUM "-_.:@") == len)
    {
      /* Made of valid characters, but they name folders. */
      if (!g_str_equal (name, ".") && !g_str_equal (name, ".."))
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                   "invalid job name '%s': . and .. are reserved", name);
      return FALSE;
    }

  /* The name may come from a TCP client: keep the message valid UTF-8, as
   * it may travel in a D-Bus error. */
  shown = g_utf8_make_valid (name != NULL ? name : "", -1);
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
               "invalid job name '%s': use letters, digits and - _ . : @ "
               "(at most %d bytes)", shown, JOBD_NAME_MAX);
  return FALSE;
}

char *
jobd_job_object_path (const char *name)
{
  GString *path = g_string_new (JOBD_DBUS_JOB_PATH_PREFIX "/");

  for (const char *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (path, *p);
      else
        g_string_append_printf (path, "_%02x", (guchar) *p);
    }
  return g_string_free (path, FALSE);
}
