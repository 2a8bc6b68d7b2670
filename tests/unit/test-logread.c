/* SPDX-License-Identifier: MIT */
/* test-logread.c — reading history back from log files (jobd-logread.h)
 * and the times users type (jobd-timestamp.h). */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "jobd-logread.h"
#include "jobd-output.h"
#include "jobd-timestamp.h"

#define USEC G_GINT64_CONSTANT (1000000)

/* Lines at Unix seconds into the hour file of the first one. */
static void
write_file (const char *dir, gboolean error_stream, const gint64 *secs, const char *const *texts)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (secs[0]);
  g_autofree char *day = g_date_time_format (t, "%Y%m%d");
  g_autofree char *hour = g_date_time_format (t, "%Y%m%d%H");
  g_autofree char *name = g_strconcat (hour, error_stream ? ".error.log" : ".log", NULL);
  g_autofree char *folder = g_build_filename (dir, day, NULL);
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; texts[i] != NULL; i++)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (secs[i]);
      g_autofree char *prefix = g_date_time_format (when, "[%y-%m-%d %H:%M:%S] ");

      g_string_append_printf (text, "%s%s\n", prefix, texts[i]);
    }
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text->str, text->len, NULL));
}

static char *
read_all (const char *dir, JobdLogCursor *cursor, guint page_lines, guint *pages)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean done = FALSE;

  *pages = 0;
  while (!done)
    {
      g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_line_free);

      done = jobd_log_read_page (dir, cursor, page_lines, G_MAXSIZE, lines);
      (*pages)++;
      for (guint i = 0; i < lines->len; i++)
        g_string_append_printf (out, "%s%s", out->len ? " " : "",
                                ((JobdLine *) lines->pdata[i])->text);
      g_assert_cmpuint (*pages, <, 100);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("logread-XXXXXX", NULL);
  gint64 base = (g_get_real_time () / USEC / 86400 - 2) * 86400 + 3600;
  const gint64 out1[] = { base + 1, base + 3, base + 5 };
  const char *const out1_t[] = { "o1", "o3", "o5", NULL };
  const gint64 err1[] = { base + 2, base + 5 };
  const char *const err1_t[] = { "e2", "e5", NULL };
  const gint64 out2[] = { base + 7200 };
  const char *const out2_t[] = { "o7", NULL };
  JobdLogCursor all = { { { "", 0 }, { "", 0 } },
                        { { "9999999999", G_MAXUINT64 }, { "9999999999", G_MAXUINT64 } } };
  JobdLogCursor c;
  g_autofree char *text = NULL;
  guint pages;

  write_file (dir, FALSE, out1, out1_t);
  write_file (dir, TRUE, err1, err1_t);
  write_file (dir, FALSE, out2, out2_t);

  /* Both streams by time, stdout first within a second; pages join. */
  c = all;
  text = read_all (dir, &c, 2, &pages);
  g_assert_cmpstr (text, ==, "o1 e2 o3 o5 e5 o7");
  g_assert_cmpuint (pages, ==, 3);
  g_clear_pointer (&text, g_free);

  /* The last 3, counted back across files. */
  c = all;
  jobd_log_read_locate (dir, &c, G_MININT64, G_MAXINT64, 3);
  text = read_all (dir, &c, 100, &pages);
  g_assert_cmpstr (text, ==, "o5 e5 o7");
  g_clear_pointer (&text, g_free);

  /* Since and until are inclusive; until with lines: the last before it. */
  c = all;
  jobd_log_read_locate (dir, &c, (base + 2) * USEC, (base + 5) * USEC, 0);
  text = read_all (dir, &c, 100, &pages);
  g_assert_cmpstr (text, ==, "e2 o3 o5 e5");
  g_clear_pointer (&text, g_free);
  c = all;
  jobd_log_read_locate (dir, &c, G_MININT64, (base + 4) * USEC, 2);
  text = read_all (dir, &c, 100, &pages);
  g_assert_cmpstr (text, ==, "e2 o3");
  g_clear_pointer (&text, g_free);

  /* A file gone meanwhile (retention) is skipped. */
  {
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (base);
    g_autofree char *day = g_date_time_format (t, "%Y%m%d");
    g_autofree char *hour = g_date_time_format (t, "%Y%m%d%H");
    g_autofree char *name = g_strconcat (hour, ".log", NULL);
    g_autofree char *path = g_build_filename (dir, day, name, NULL);

    c = all;
    g_assert_cmpint (g_unlink (path), ==, 0);
    text = read_all (dir, &c, 100, &pages);
    g_assert_cmpstr (text, ==, "e2 e5 o7");
  }
}

static void
test_timestamps (void)
{
  gint64 now = 1764900000 * USEC, t = 0;
  g_autoptr(GDateTime) local = g_date_time_new_local (2026, 12, 5, 10, 0, 30);

  g_assert_true (jobd_parse_timestamp ("@123", now, &t, NULL));
  g_assert_cmpint (t, ==, 123 * USEC);
  g_assert_true (jobd_parse_timestamp ("-1h", now, &t, NULL));
  g_assert_cmpint (t, ==, now - 3600 * USEC);
  g_assert_true (jobd_parse_timestamp ("+30m", now, &t, NULL));
  g_assert_cmpint (t, ==, now + 1800 * USEC);
  g_assert_true (jobd_parse_timestamp ("2h ago", now, &t, NULL));
  g_assert_cmpint (t, ==, now - 7200 * USEC);
  g_assert_true (jobd_parse_timestamp ("now", now, &t, NULL));
  g_assert_cmpint (t, ==, now);
  g_assert_true (jobd_parse_timestamp ("2026-12-05 10:00:30", now, &t, NULL));
  g_assert_cmpint (t, ==, g_date_time_to_unix (local) * USEC);
  g_assert_true (jobd_parse_timestamp ("2026-12-05T10:00:30", now, &t, NULL));
  g_assert_cmpint (t, ==, g_date_time_to_unix (local) * USEC);
  g_assert_true (jobd_parse_timestamp ("2026-12-05 10:00", now, &t, NULL));
  g_assert_cmpint (t, ==, (g_date_time_to_unix (local) - 30) * USEC);
  g_assert_true (jobd_parse_timestamp ("today", now, &t, NULL));
  g_assert_cmpint (t, <=, now);
  g_assert_cmpint (t, >, now - 86400 * USEC);
  {
    gint64 today = t;

    g_assert_true (jobd_parse_timestamp ("yesterday", now, &t, NULL));
    g_assert_cmpint (today - t, >=, 23 * 3600 * USEC);
    g_assert_cmpint (today - t, <=, 25 * 3600 * USEC);
  }
  for (const char *const *bad = (const char *const[]) { "", "soon", "2026-13-01", "10:61",
                                                        "@x", "-", "2026-12-05 10", NULL };
       *bad != NULL; bad++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (jobd_parse_timestamp (*bad, now, &t, &error));
      g_assert_nonnull (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/logread/files", test_files);
  g_test_add_func ("/logread/timestamps", test_timestamps);
  return g_test_run ();
}
