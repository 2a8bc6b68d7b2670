/* SPDX-License-Identifier: MIT */
/* jobd-cpu.c — CPU time of cgroups and process trees (see the header). */
#include "config.h"

#include "jobd-cpu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "jobd-cgroup.h"
#include "jobd-error.h"

/* Reads a small pseudo file into buf, NUL-terminated; FALSE on failure. */
static gboolean
read_small (const char *path, char *buf, gsize size)
{
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return FALSE;
  do
    n = read (fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n < 0)
    return FALSE;
  buf[n] = '\0';
  return TRUE;
}

static guint64
ticks_to_usec (guint64 ticks)
{
  static long hz;

  if (hz <= 0)
    hz = sysconf (_SC_CLK_TCK);
  return hz > 0 ? ticks * (G_USEC_PER_SEC / (guint64) hz) : 0;
}

gboolean
jobd_cpu_cgroup_dir_usage (const char *v2_dir, guint64 *usec)
{
  g_autofree char *path = g_build_filename (v2_dir, "cpu.stat", NULL);
  char buf[4096];
  const char *p;

  if (!read_small (path, buf, sizeof buf))
    return FALSE;
  /* "usage_usec N" is the first line, but do not count on the order. */
  p = g_str_has_prefix (buf, "usage_usec ") ? buf : strstr (buf, "\nusage_usec ");
  if (p == NULL)
    return FALSE;
  p = strchr (p + 1, ' ');
  *usec = g_ascii_strtoull (p + 1, NULL, 10);
  return TRUE;
}

gboolean
jobd_cpu_parse_stat (const char *contents, guint64 *ticks, GPid *sid)
{
  /* The command name may hold spaces and ')': fields count from the last
   * ')', after which comes field 3 (state). */
  const char *p = strrchr (contents, ')');
  guint64 sum = 0;
  int field = 2;

  if (p == NULL)
    return FALSE;
  for (p++; *p != '\0' && field < 17; p++)
    {
      if (*p != ' ')
        continue;
      field++;
      if (field == 6 && sid != NULL)
        *sid = (GPid) strtol (p + 1, NULL, 10);
      else if (field >= 14 && field <= 17)
        sum += g_ascii_strtoull (p + 1, NULL, 10);
    }
  if (field < 17)
    return FALSE;
  *ticks = sum;
  return TRUE;
}

gboolean
jobd_cpu_process_usage (GPid pid, guint64 *usec)
{
  char path[64];
  char buf[1024];
  guint64 ticks;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if (!read_small (path, buf, sizeof buf) || !jobd_cpu_parse_stat (buf, &ticks, NULL))
    return FALSE;
  *usec = ticks_to_usec (ticks);
  return TRUE;
}

guint64
jobd_cpu_pids_usage (GArray *pids)
{
  guint64 total = 0;

  for (guint i = 0; i < pids->len; i++)
    {
      guint64 usec = 0;

      if (jobd_cpu_process_usage (g_array_index (pids, GPid, i), &usec))
        total += usec;
    }
  return total;
}

gboolean
jobd_cpu_session_usage (GPid sid, guint64 *usec, GError **error)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, error);
  guint64 ticks = 0;
  const char *name;

  if (proc == NULL)
    return FALSE;
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      char path[300];
      char buf[1024];
      guint64 t;
      GPid s = 0;

      if (!g_ascii_isdigit (name[0]))
        continue;
      g_snprintf (path, sizeof path, "/proc/%s/stat", name);
      /* Processes vanish while we scan: skipping them is right. */
      if (read_small (path, buf, sizeof buf) && jobd_cpu_parse_stat (buf, &t, &s) && s == sid)
        ticks += t;
    }
  *usec = ticks_to_usec (ticks);
  return TRUE;
}

static gboolean
read_cpuacct (const char *root, const char *cgroup_path, guint64 *usec)
{
  /* Debian mounts it as cpu,cpuacct; others apart. */
  static const char *const names[] = { "cpuacct", "cpu,cpuacct" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (root, names[i], cgroup_path,
                                                "cpuacct.usage", NULL);
      char buf[64];

      if (read_small (path, buf, sizeof buf) && g_ascii_isdigit (buf[0]))
        {
          *usec = g_ascii_strtoull (buf, NULL, 10) / 1000;   /* ns */
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
jobd_cpu_cgroup_usage (const char *root,
                       const char *cgroup_path,
                       guint64 *usec,
                       const char **source,
                       GError **error)
{
  static const char *const v2_hierarchies[] = { "", "unified" };
  g_autoptr(GArray) pids = NULL;

  g_return_val_if_fail (cgroup_path != NULL && cgroup_path[0] == '/', FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (v2_hierarchies); i++)
    {
      g_autofree char *dir = g_build_filename (root, v2_hierarchies[i], cgroup_path, NULL);

      if (jobd_cpu_cgroup_dir_usage (dir, usec))
        {
          *source = JOBD_CPU_SOURCE_CGROUP;
          return TRUE;
        }
    }
  if (read_cpuacct (root, cgroup_path, usec))
    {
      *source = JOBD_CPU_SOURCE_CPUACCT;
      return TRUE;
    }
  pids = jobd_cgroup_get_pids (root, cgroup_path, error);
  if (pids == NULL)
    return FALSE;
  *usec = jobd_cpu_pids_usage (pids);
  *source = JOBD_CPU_SOURCE_PROCESSES;
  return TRUE;
}
