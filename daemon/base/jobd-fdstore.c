/* SPDX-License-Identifier: MIT */
/* jobd-fdstore.c — socket activation and the systemd fd store. */
#include "config.h"

#include "jobd-fdstore.h"

#include <unistd.h>

#include <systemd/sd-daemon.h>

static GHashTable *passed;   /* name → GINT_TO_POINTER (fd) */

static gboolean
store_available (void)
{
  return g_getenv ("NOTIFY_SOCKET") != NULL;
}

void
jobd_fdstore_init (void)
{
  char **names = NULL;
  int n;

  g_return_if_fail (passed == NULL);
  passed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Unset the environment: jobs must not think the fds are theirs. */
  n = sd_listen_fds_with_names (1, &names);
  if (n < 0)
    g_warning ("cannot take the descriptors systemd passed: %s", g_strerror (-n));
  for (int i = 0; i < n; i++)
    {
      int fd = SD_LISTEN_FDS_START + i;
      const char *name = names != NULL && names[i] != NULL ? names[i] : "unknown";

      if (g_hash_table_contains (passed, name))
        {
          g_warning ("systemd passed two descriptors named %s; closing one", name);
          close (fd);
          continue;
        }
      g_hash_table_insert (passed, g_strdup (name), GINT_TO_POINTER (fd));
    }
  if (n > 0)
    g_message ("took %d descriptors from systemd", n);
  g_strfreev (names);
}

int
jobd_fdstore_take (const char *name)
{
  gpointer value;

  if (passed == NULL || !g_hash_table_lookup_extended (passed, name, NULL, &value))
    return -1;
  g_hash_table_remove (passed, name);
  return GPOINTER_TO_INT (value);
}

void
jobd_fdstore_keep (const char *name, int fd)
{
  g_autofree char *state = NULL;
  int r;

  if (!store_available ())
    return;
  /* Drop an older one of that name first: the store keeps duplicates. */
  jobd_fdstore_forget (name);
  state = g_strdup_printf ("FDSTORE=1\nFDNAME=%s", name);
  r = sd_pid_notify_with_fds (0, 0, state, &fd, 1);
  if (r < 0)
    g_warning ("cannot keep %s in systemd's fd store: %s", name, g_strerror (-r));
}

void
jobd_fdstore_forget (const char *name)
{
  g_autofree char *state = NULL;

  if (!store_available ())
    return;
  state = g_strdup_printf ("FDSTOREREMOVE=1\nFDNAME=%s", name);
  sd_notify (0, state);
}

void
jobd_fdstore_release_unclaimed (void)
{
  GHashTableIter iter;
  gpointer name, fd;

  if (passed == NULL)
    return;
  g_hash_table_iter_init (&iter, passed);
  while (g_hash_table_iter_next (&iter, &name, &fd))
    {
      g_debug ("dropping unclaimed descriptor %s", (const char *) name);
      close (GPOINTER_TO_INT (fd));
      jobd_fdstore_forget (name);
      g_hash_table_iter_remove (&iter);
    }
}
