/* SPDX-License-Identifier: MIT */
/* cgroup-probe.c — print what jobd-cgroup reads for a cgroup, so the system
 * test can hold it against the real kernel inside a booted container:
 *   cgroup-probe CGROUP   →  "SOURCE BYTES"
 */
#include "config.h"

#include <stdio.h>

#include <gio/gio.h>

#include "jobd-cgroup.h"

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  if (argc != 2)
    {
      fprintf (stderr, "usage: cgroup-probe CGROUP\n");
      return 2;
    }
  if (!jobd_cgroup_get_memory (JOBD_CGROUP_ROOT, argv[1], &bytes, &source, &error))
    {
      fprintf (stderr, "cgroup-probe: %s\n", error->message);
      return 1;
    }
  printf ("%s %" G_GUINT64_FORMAT "\n", source, bytes);
  return 0;
}
