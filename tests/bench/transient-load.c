/* SPDX-License-Identifier: MIT */
/* transient-load.c — systemd's own floor for many scopes: a minimal sd-bus
 * client making StartTransientUnit calls back to back (the reference of the
 * scope bench, tests/bench/scope.py).
 *
 *   transient-load [--count N] [--window W] [--prefix P]
 *
 * Forks N `/bin/sleep 100000` children and puts each in a transient scope
 * PREFIX-I.scope with the properties jobd gives its scopes (PIDs,
 * MemoryAccounting, TasksAccounting, CollectMode=inactive-or-failed), in a
 * slice of its own (PREFIX.slice, empty as jobd.slice is: systemd's cost of
 * a new unit grows with its siblings), at most W units in flight (called,
 * and their systemd job not yet ended: as jobd, which waits for JobRemoved
 * before it answers a Start), until every start job ended. Then StopUnit of
 * every scope, W in flight, until every stop job ended, and the children
 * are reaped. Prints one line:
 *   "count=N errors=E started_s=… stopped_s=…"
 * (seconds from the first fork until the last start job ended; from the
 * first StopUnit until the last stop job ended), and start_p50_ms, the median
 * time from a StartTransientUnit call to its JobRemoved (with --window 1:
 * what one scope costs, systemd's floor for a scoped start). Bounded: 300 s
 * per phase.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define SD_NAME "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define PHASE_TIMEOUT_NS (300LL * 1000000000LL)

typedef struct {
  sd_bus *bus;
  const char *prefix;
  int count, window;
  int next, in_flight;   /* calls of this phase */
  int ended;             /* our units' systemd jobs that ended */
  int errors;
  pid_t *pids;
  long long *called_ns;  /* when each unit's StartTransientUnit was sent */
  double *start_ms;      /* call → JobRemoved, in the order they ended */
  int n_start_ms;
  int stopping;
} Load;

static long long
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
ours (const Load *load, const char *unit)
{
  size_t n = strlen (load->prefix);

  return strncmp (unit, load->prefix, n) == 0 && unit[n] == '-';
}

static int
on_job_removed (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  Load *load = userdata;
  const char *path, *unit, *result;
  uint32_t id;

  if (sd_bus_message_read (m, "uoss", &id, &path, &unit, &result) < 0 || !ours (load, unit))
    return 0;
  load->ended++;
  load->in_flight--;
  if (strcmp (result, "done") != 0)
    load->errors++;
  else if (!load->stopping)
    {
      int i = atoi (unit + strlen (load->prefix) + 1);

      if (i >= 0 && i < load->count && load->n_start_ms < load->count)
        load->start_ms[load->n_start_ms++] = (now_ns () - load->called_ns[i]) / 1e6;
    }
  return 0;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
start_p50_ms (Load *load)
{
  if (load->n_start_ms == 0)
    return 0;
  qsort (load->start_ms, (size_t) load->n_start_ms, sizeof (double), compare_doubles);
  return load->start_ms[load->n_start_ms / 2];
}

static int
on_reply (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  Load *load = userdata;
  const sd_bus_error *e = sd_bus_message_get_error (m);

  if (e != NULL)
    {
      if (load->errors++ == 0)
        fprintf (stderr, "transient-load: %s: %s\n", e->name, e->message);
      load->ended++;   /* no job will end for it */
      load->in_flight--;
    }
  return 0;
}

static int
call_start (Load *load, int i)
{
  sd_bus_message *m = NULL;
  char unit[256], description[64], slice[256];
  uint32_t pid;
  int r;

  pid = (uint32_t) (load->pids[i] = fork ());
  if (load->pids[i] == 0)
    {
      execl ("/bin/sleep", "sleep", "100000", (char *) NULL);
      _exit (127);
    }
  snprintf (unit, sizeof unit, "%s-%d.scope", load->prefix, i);
  snprintf (description, sizeof description, "bench scope %d", i);
  snprintf (slice, sizeof slice, "%s.slice", load->prefix);
  r = sd_bus_message_new_method_call (load->bus, &m, SD_NAME, SD_PATH, SD_MANAGER,
                                      "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", unit, "fail");
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sv)", 6,
                               "Description", "s", description,
                               "Slice", "s", slice,
                               "PIDs", "au", 1, pid,
                               "MemoryAccounting", "b", 1,
                               "TasksAccounting", "b", 1,
                               "CollectMode", "s", "inactive-or-failed");
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);
  load->called_ns[i] = now_ns ();
  if (r >= 0)
    r = sd_bus_call_async (load->bus, NULL, m, on_reply, load, 0);
  sd_bus_message_unref (m);
  return r;
}

static int
call_stop (Load *load, int i)
{
  char unit[256];

  snprintf (unit, sizeof unit, "%s-%d.scope", load->prefix, i);
  return sd_bus_call_method_async (load->bus, NULL, SD_NAME, SD_PATH, SD_MANAGER, "StopUnit",
                                   on_reply, load, "ss", unit, "replace");
}

/* Issue the phase's calls, W in flight, until every job of systemd ended. */
static int
run_phase (Load *load, int (*call) (Load *, int), double *seconds)
{
  long long t0 = now_ns ();

  load->next = load->ended = load->in_flight = 0;
  while (load->ended < load->count)
    {
      int r;

      while (load->next < load->count && load->in_flight < load->window)
        {
          r = call (load, load->next++);
          if (r < 0)
            {
              fprintf (stderr, "transient-load: call: %s\n", strerror (-r));
              return -1;
            }
          load->in_flight++;
        }
      r = sd_bus_process (load->bus, NULL);
      if (r < 0)
        {
          fprintf (stderr, "transient-load: bus: %s\n", strerror (-r));
          return -1;
        }
      if (r == 0 && sd_bus_wait (load->bus, 1000000) < 0)
        return -1;
      if (now_ns () - t0 > PHASE_TIMEOUT_NS)
        {
          fprintf (stderr, "transient-load: %d of %d jobs ended in time\n", load->ended,
                   load->count);
          load->errors += load->count - load->ended;
          break;
        }
    }
  *seconds = (now_ns () - t0) / 1e9;
  return 0;
}

int
main (int argc, char **argv)
{
  Load load = { .prefix = "bench-transient", .count = 1000, .window = 64 };
  double started_s = 0, stopped_s = 0;
  int opt, r;

  static const struct option options[] = {
    { "count", required_argument, NULL, 'n' },
    { "window", required_argument, NULL, 'w' },
    { "prefix", required_argument, NULL, 'p' },
    { NULL, 0, NULL, 0 },
  };
  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    {
      if (opt == 'n')
        load.count = atoi (optarg);
      else if (opt == 'w')
        load.window = atoi (optarg);
      else if (opt == 'p')
        load.prefix = optarg;
      else
        return 2;
    }
  if (load.count < 1 || load.count > 100000 || load.window < 1)
    {
      fprintf (stderr, "transient-load: bad --count or --window\n");
      return 2;
    }
  load.pids = calloc ((size_t) load.count, sizeof (pid_t));
  load.called_ns = calloc ((size_t) load.count, sizeof (long long));
  load.start_ms = calloc ((size_t) load.count, sizeof (double));
  r = sd_bus_open_system (&load.bus);
  if (r >= 0)
    r = sd_bus_match_signal (load.bus, NULL, SD_NAME, SD_PATH, SD_MANAGER, "JobRemoved",
                             on_job_removed, &load);
  if (r >= 0)
    r = sd_bus_call_method (load.bus, SD_NAME, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, "");
  if (r < 0)
    {
      fprintf (stderr, "transient-load: system bus: %s\n", strerror (-r));
      return 1;
    }
  r = run_phase (&load, call_start, &started_s);
  load.stopping = 1;
  if (r < 0 || run_phase (&load, call_stop, &stopped_s) < 0)
    load.errors++;
  for (int i = 0; i < load.count; i++)
    if (load.pids[i] > 0)
      {
        kill (load.pids[i], SIGKILL);   /* already dead when the stop went well */
        while (waitpid (load.pids[i], NULL, 0) < 0 && errno == EINTR)
          ;
      }
  printf ("count=%d errors=%d started_s=%.3f stopped_s=%.3f start_p50_ms=%.3f\n", load.count,
          load.errors, started_s, stopped_s, start_p50_ms (&load));
  sd_bus_unref (load.bus);
  free (load.pids);
  free (load.called_ns);
  free (load.start_ms);
  return load.errors == 0 ? 0 : 1;
}
