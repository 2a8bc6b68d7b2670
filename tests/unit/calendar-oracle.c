/* SPDX-License-Identifier: MIT */
/* calendar-oracle.c — the next elapses of calendar expressions, as jobd
 * computes them, for calendar-oracle.py to compare with systemd-analyze.
 *
 * calendar-oracle ZONE BASE_SECONDS ITERATIONS < expressions
 *
 * For each line of stdin (an expression), prints one line:
 *   EXPR <TAB> ok <TAB> NORMALIZED <TAB> T1 T2 ... (µs since the epoch; fewer
 *   than ITERATIONS when it stops elapsing)
 *   EXPR <TAB> error <TAB> MESSAGE
 * Local time is ZONE (an IANA name or UTC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd-calendar.h"

int
main (int argc, char **argv)
{
  g_autoptr(GTimeZone) tz = NULL;
  char line[4096];
  gint64 base;
  int iterations;

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s ZONE BASE_SECONDS ITERATIONS < expressions\n", argv[0]);
      return 2;
    }
  tz = g_time_zone_new_identifier (argv[1]);
  if (tz == NULL)
    {
      fprintf (stderr, "unknown zone %s\n", argv[1]);
      return 2;
    }
  base = g_ascii_strtoll (argv[2], NULL, 10) * G_USEC_PER_SEC;
  iterations = atoi (argv[3]);
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      g_autoptr(JobdCalendar) calendar = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;
      gint64 t = base;

      line[strcspn (line, "\n")] = '\0';
      calendar = jobd_calendar_parse (line, &error);
      if (calendar == NULL)
        {
          printf ("%s\terror\t%s\n", line, error->message);
          continue;
        }
      normalized = jobd_calendar_to_string (calendar);
      printf ("%s\tok\t%s\t", line, normalized);
      for (int i = 0; i < iterations; i++)
        {
          t = jobd_calendar_next (calendar, t, tz);
          if (t < 0)
            break;
          printf ("%s%" G_GINT64_FORMAT, i > 0 ? " " : "", t);
        }
      printf ("\n");
    }
  return 0;
}
