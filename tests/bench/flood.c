/* SPDX-License-Identifier: MIT */
/* flood.c — a job that writes numbered lines as fast as its reader takes them.
 *
 *   flood SECONDS [MAX_LINES [REPORT_FILE]]
 *
 * Writes "1\n", "2\n", … to stdout (64 kB writes) until SECONDS have passed
 * or MAX_LINES lines are out, then prints "flood: lines=K seconds=S" on
 * stderr and, when given, into REPORT_FILE (written whole, then renamed into
 * place), so the bench learns K without depending on the order in which a
 * reader drains stdout and stderr. The writes block when the reader is
 * slower, so K/S is the rate the reader sustained.
 *
 *   flood --check K FILE…
 *
 * Reads the files in order (log lines may carry a "[time] " prefix), and
 * prints "lines=N lost=L disorder=D": L of the numbers 1…K that never came,
 * D lines that were not the successor of the previous number (a gap,
 * a duplicate, reordering). Written in C because a run leaves tens of millions
 * of lines to check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
write_all (const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (STDOUT_FILENO, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= n;
    }
  return 0;
}

static int
write_report (const char *path, unsigned long long lines, double seconds)
{
  char tmp[4096];
  FILE *f;

  if (snprintf (tmp, sizeof tmp, "%s.tmp", path) >= (int) sizeof tmp)
    return -1;
  f = fopen (tmp, "w");
  if (f == NULL)
    return -1;
  fprintf (f, "lines=%llu seconds=%.3f\n", lines, seconds);
  if (fclose (f) != 0)
    return -1;
  return rename (tmp, path);
}

/* The number on a line, after an optional "[…] " prefix; 0 if none. */
static unsigned long long
line_number (const char *line)
{
  const char *p = line;
  char *end;
  unsigned long long n;

  if (*p == '[')
    {
      p = strstr (p, "] ");
      if (p == NULL)
        return 0;
      p += 2;
    }
  if (*p < '0' || *p > '9')
    return 0;
  n = strtoull (p, &end, 10);
  return *end == '\n' || *end == '\0' ? n : 0;
}

static int
check (unsigned long long total, char **files, int n_files)
{
  static char line[65536];
  unsigned long long lines = 0, disorder = 0, distinct = 0, last = 0;
  unsigned char *seen = calloc (total / 8 + 1, 1);

  if (seen == NULL)
    {
      perror ("flood: check");
      return 1;
    }

  for (int i = 0; i < n_files; i++)
    {
      FILE *f = fopen (files[i], "r");

      if (f == NULL)
        {
          perror (files[i]);
          free (seen);
          return 1;
        }
      while (fgets (line, sizeof line, f) != NULL)
        {
          unsigned long long n = line_number (line);

          if (n == 0)
            continue;    /* jobd's own lines, such as the exit notice */
          lines++;
          if (n != last + 1)
            disorder++;
          last = n;
          if (n <= total && !(seen[n / 8] & (1u << (n % 8))))
            {
              seen[n / 8] |= 1u << (n % 8);
              distinct++;
            }
        }
      fclose (f);
    }
  free (seen);
  printf ("lines=%llu lost=%llu disorder=%llu\n", lines, total - distinct, disorder);
  return 0;
}

int
main (int argc, char **argv)
{
  static char buf[CHUNK + 32];
  double seconds;
  unsigned long long max_lines = argc > 2 ? strtoull (argv[2], NULL, 10) : 100000000ULL;
  unsigned long long line = 0;
  double t0 = now_s (), deadline;
  size_t used = 0;

  if (argc > 2 && strcmp (argv[1], "--check") == 0)
    return check (strtoull (argv[2], NULL, 10), argv + 3, argc - 3);
  seconds = argc > 1 ? atof (argv[1]) : 3.0;
  deadline = t0 + seconds;

  if (seconds <= 0 || seconds > 600 || max_lines == 0)
    {
      fprintf (stderr, "usage: flood SECONDS(0..600] [MAX_LINES]\n");
      return 2;
    }
  while (line < max_lines)
    {
      used += sprintf (buf + used, "%llu\n", ++line);
      if (used >= CHUNK)
        {
          if (write_all (buf, used) < 0)
            {
              perror ("flood: write");
              return 1;
            }
          used = 0;
          /* Checking the clock once per chunk keeps it out of the profile. */
          if (now_s () >= deadline)
            break;
        }
    }
  if (used > 0 && write_all (buf, used) < 0)
    {
      perror ("flood: write");
      return 1;
    }
  fprintf (stderr, "flood: lines=%llu seconds=%.3f\n", line, now_s () - t0);
  if (argc > 3 && write_report (argv[3], line, now_s () - t0) < 0)
    {
      perror ("flood: report");
      return 1;
    }
  return 0;
}
