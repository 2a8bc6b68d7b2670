/* SPDX-License-Identifier: MIT */
/* jobctl-logview.c — `logs`: jobs' output history and, with -f, what follows.
 *
 * The history comes from jobd (ReadLog: the log files, the journal or the
 * ring, whichever keeps the job's output) a page at a time; several jobs
 * are merged in time order, each line prefixed with its job's name, like
 * `pm2 logs`. With -f, each job's follow pipe and the cursor of its history
 * are taken in one call (FollowLog), so the pipe's first line is the one
 * after the history's last: the pipes are read from the start (their lines
 * wait in memory while the history prints), and nothing is lost or shown
 * twice at the switch.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <string.h>

#include "jobctl.h"
#include "jobctl-remote.h"
#include "jobd-error.h"
#include "jobd-timestamp.h"

#define NAME_SGR "36"

typedef struct _View View;

typedef struct {
  View *view;
  char *name;
  gboolean first;        /* the first page is still to ask, with the options */
  char *cursor;          /* the next page; NULL: no more */
  GVariant *page;        /* a(tssa{sv}) */
  gsize idx, n;
  /* Following. */
  GDataInputStream *input;
  GQueue pending;        /* live lines that came while the history printed */
  gboolean closed;
} Source;

struct _View {
  Jobctl *jobctl;
  gboolean timestamps;
  gboolean prefix;       /* several jobs: each line says whose */
  gboolean following;
  guint64 lines;
  gint64 since, until;
  gsize name_width;
  GPtrArray *sources;
  gboolean history_done;
  GQueue tail;           /* merged -n N: the last N lines so far (GVariant) */
  GVariantBuilder *json; /* --json without -f: one array at the end */
  GMainLoop *loop;
  GCancellable *cancellable;
  guint open_pipes;
  int status;
  gboolean old_jobd;     /* no ReadLog: the ring, as before */
};

static void
source_free (Source *s)
{
  g_free (s->name);
  g_free (s->cursor);
  g_clear_pointer (&s->page, g_variant_unref);
  g_clear_object (&s->input);
  g_queue_clear_full (&s->pending, g_free);
  g_free (s);
}

/* A jobd from before ReadLog (jobctl -H to an older host). */
static gboolean
is_unknown_method (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD);
}

/* ---- printing --------------------------------------------------------- */

static void
emit (View *view, const char *name, guint64 usec, const char *stream, const char *text,
      GVariant *extra)
{
  Jobctl *jobctl = view->jobctl;
  g_autofree char *who = NULL;
  guint32 instance;
  gboolean has_instance = extra != NULL && g_variant_lookup (extra, "instance", "u", &instance);

  if (jobctl->json)
    {
      GVariantBuilder b;
      g_autoptr(GVariant) line = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      if (view->prefix)
        g_variant_builder_add (&b, "{sv}", "job", g_variant_new_string (name));
      g_variant_builder_add (&b, "{sv}", "time", g_variant_new_uint64 (usec));
      g_variant_builder_add (&b, "{sv}", "stream", g_variant_new_string (stream));
      g_variant_builder_add (&b, "{sv}", "text", g_variant_new_string (text));
      if (has_instance)
        g_variant_builder_add (&b, "{sv}", "instance", g_variant_new_uint32 (instance));
      line = g_variant_ref_sink (g_variant_builder_end (&b));
      if (view->json != NULL)
        {
          g_variant_builder_add_value (view->json, line);
          return;
        }
      node = json_gvariant_serialize (line);
      jobctl_print_json_line (node);
      return;
    }

  if (view->prefix)
    who = has_instance ? g_strdup_printf ("%s[%u]", name, instance) : g_strdup (name);
  else if (has_instance)
    who = g_strdup_printf ("[%u]", instance);
  if (who != NULL)
    {
      g_autofree char *padded = g_strdup_printf ("%-*s |", (int) view->name_width, who);
      g_autofree char *colored = jobctl_colorize (jobctl->color, NAME_SGR, padded);

      g_print ("%s ", colored);
    }
  jobctl_print_output_text (jobctl, view->timestamps, usec, stream, text);
}

/* A history line: printed, or kept while the merged last N are not known. */
static void
emit_history (View *view, Source *s, GVariant *line)
{
  guint64 usec;
  const char *stream, *text;
  g_autoptr(GVariant) extra = NULL;

  if (view->prefix && view->lines > 0)
    {
      g_queue_push_tail (&view->tail, g_variant_new ("(s@(tssa{sv}))", s->name, line));
      if (view->tail.length > view->lines)
        g_variant_unref (g_queue_pop_head (&view->tail));
      return;
    }
  g_variant_get (line, "(t&s&s@a{sv})", &usec, &stream, &text, &extra);
  emit (view, s->name, usec, stream, text, extra);
}

static void
flush_tail (View *view)
{
  GVariant *item;

  while ((item = g_queue_pop_head (&view->tail)) != NULL)
    {
      const char *name, *stream, *text;
      guint64 usec;
      g_autoptr(GVariant) extra = NULL;

      g_variant_get (item, "(&s(t&s&s@a{sv}))", &name, &usec, &stream, &text, &extra);
      emit (view, name, usec, stream, text, extra);
      g_variant_unref (item);
    }
}

/* ---- following ---------------------------------------------------------- */

/* "STREAM\tUSEC\tTEXT" */
static void
print_live (View *view, Source *s, const char *line)
{
  g_auto(GStrv) fields = g_strsplit (line, "\t", 3);

  if (g_strv_length (fields) != 3)
    {
      g_printerr (_("jobctl: ignoring a malformed output line from jobd\n"));
      return;
    }
  if (strcmp (fields[0], "dropped") == 0)
    {
      g_printerr (_("jobctl: jobd stopped sending output because this reader did not "
                    "keep up; later lines were not shown\n"));
      view->status = JOBCTL_EXIT_FAILURE;
      return;
    }
  emit (view, s->name, g_ascii_strtoull (fields[1], NULL, 10), fields[0], fields[2], NULL);
}

static void read_next_line (Source *s);

static void
pipe_closed (View *view)
{
  if (--view->open_pipes == 0 && view->history_done)
    g_main_loop_quit (view->loop);
}

static void
line_read_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  Source *s = data;
  View *view = s->view;
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object),
                                                          result, NULL, &error);

  if (line != NULL)
    {
      if (view->history_done)
        {
          print_live (view, s, line);
          g_free (line);
        }
      else
        g_queue_push_tail (&s->pending, line);
      read_next_line (s);
      return;
    }
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    view->status = jobctl_fail (g_steal_pointer (&error));
  s->closed = TRUE;
  pipe_closed (view);
}

static void
read_next_line (Source *s)
{
  g_data_input_stream_read_line_async (s->input, G_PRIORITY_DEFAULT, s->view->cancellable,
                                       line_read_cb, s);
}

static GVariant *
query_options (View *view)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (view->lines > 0)
    g_variant_builder_add (&b, "{sv}", "lines", g_variant_new_uint64 (view->lines));
  if (view->since != G_MININT64)
    g_variant_builder_add (&b, "{sv}", "since", g_variant_new_int64 (view->since));
  if (view->until != G_MAXINT64)
    g_variant_builder_add (&b, "{sv}", "until", g_variant_new_int64 (view->until));
  return g_variant_builder_end (&b);
}

/* The follow pipe and the history's cursor, taken together by jobd. */
static gboolean
open_follow (View *view, Source *s, GError **error)
{
  g_autoptr(GVariant) handle = NULL;
  g_autoptr(GUnixFDList) fd_list = NULL;
  g_autoptr(GInputStream) pipe = NULL;
  int fd;

  if (!jobd_dbus_manager_call_follow_log_sync (view->jobctl->manager, s->name,
                                               query_options (view), NULL, &handle,
                                               &s->cursor, &fd_list, NULL, error))
    return FALSE;
  s->first = FALSE;
  if (fd_list == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("jobd sent no file descriptor to follow the output"));
      return FALSE;
    }
  fd = g_unix_fd_list_get (fd_list, g_variant_get_handle (handle), error);
  if (fd < 0)
    return FALSE;
  pipe = g_unix_input_stream_new (fd, TRUE);
  s->input = g_data_input_stream_new (pipe);
  view->open_pipes++;
  read_next_line (s);
  return TRUE;
}

/* ---- the history, merged ----------------------------------------------- */

static void pump (View *view);

static void
history_done (View *view)
{
  view->history_done = TRUE;
  flush_tail (view);
  if (view->json != NULL)
    {
      g_autoptr(GVariant) all = g_variant_ref_sink (g_variant_builder_end (view->json));

      jobctl_print_variant (all);
    }
  for (guint i = 0; i < view->sources->len; i++)
    {
      Source *s = view->sources->pdata[i];
      char *line;

      while ((line = g_queue_pop_head (&s->pending)) != NULL)
        {
          print_live (view, s, line);
          g_free (line);
        }
    }
  if (view->open_pipes == 0)
    g_main_loop_quit (view->loop);
}

static void
drop_source (View *view, Source *s)
{
  if (s->input != NULL && !s->closed)
    {
      /* Its pipe read is cancelled with the view; just stop counting it. */
      s->closed = TRUE;
      view->open_pipes--;
    }
  g_clear_pointer (&s->cursor, g_free);
  s->first = FALSE;
  s->idx = s->n = 0;
}

static void
page_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  Source *s = data;
  View *view = s->view;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) lines = NULL;
  g_autoptr(GVariant) info = NULL;
  const char *next = NULL;

  g_clear_pointer (&s->cursor, g_free);
  if (!jobd_dbus_manager_call_read_log_finish (JOBD_DBUS_MANAGER (object), &lines, &info,
                                               result, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL && is_unknown_method (error) && view->sources->len == 1)
    {
      view->old_jobd = TRUE;
      drop_source (view, s);
      g_main_loop_quit (view->loop);
      return;
    }
  if (error != NULL)
    {
      jobctl_note_failure (&view->status, jobctl_fail_job (s->name, g_steal_pointer (&error)));
      drop_source (view, s);
      pump (view);
      return;
    }
  g_clear_pointer (&s->page, g_variant_unref);
  s->page = g_steal_pointer (&lines);
  s->idx = 0;
  s->n = g_variant_n_children (s->page);
  if (g_variant_lookup (info, "cursor", "&s", &next))
    s->cursor = g_strdup (next);
  pump (view);
}

static void
fetch (View *view, Source *s)
{
  GVariant *options;

  if (s->first)
    options = query_options (view);
  else
    {
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "cursor", g_variant_new_string (s->cursor));
      options = g_variant_builder_end (&b);
    }
  s->first = FALSE;
  jobd_dbus_manager_call_read_log (view->jobctl->manager, s->name, options,
                                   view->cancellable, page_cb, s);
}

static guint64
head_time (Source *s)
{
  guint64 usec;

  g_variant_get_child (s->page, s->idx, "(tssa{sv})", &usec, NULL, NULL, NULL);
  return usec;
}

/* Print the oldest line of all jobs' heads until one job needs its next
 * page (asked, and pump runs again with it) or every history ended. */
static void
pump (View *view)
{
  for (;;)
    {
      Source *best = NULL;
      guint64 best_time = G_MAXUINT64;
      g_autoptr(GVariant) line = NULL;

      for (guint i = 0; i < view->sources->len; i++)
        {
          Source *s = view->sources->pdata[i];

          if (s->idx == s->n && (s->first || s->cursor != NULL))
            {
              fetch (view, s);
              return;
            }
          if (s->idx < s->n && head_time (s) < best_time)
            {
              best = s;
              best_time = head_time (s);
            }
        }
      if (best == NULL)
        {
          history_done (view);
          return;
        }
      line = g_variant_get_child_value (best->page, best->idx++);
      emit_history (view, best, line);
    }
}

static gboolean
interrupted_cb (gpointer data)
{
  View *view = data;

  g_cancellable_cancel (view->cancellable);
  g_main_loop_quit (view->loop);
  return G_SOURCE_CONTINUE;
}

/* ---- the verb ------------------------------------------------------------ */

static gboolean
parse_time_option (const char *option, const char *text, gint64 *out, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (text == NULL)
    return TRUE;
  if (jobd_parse_timestamp (text, g_get_real_time (), out, &local))
    return TRUE;
  jobctl_set_usage_error (error, "%s: %s", option, local->message);
  return FALSE;
}

int
jobctl_verb_logs (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) source_free);
  g_autofree char *since = NULL;
  g_autofree char *until = NULL;
  int lines = -1;
  View view = { .jobctl = jobctl, .since = G_MININT64, .until = G_MAXINT64 };
  guint sigint_id, sigterm_id;
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT, &lines,
      N_("Show the last N lines (0: all; default 10, or all with --since/--until)"), N_("N") },
    { "since", 'S', 0, G_OPTION_ARG_STRING, &since,
      N_("Show lines from this time on (“2026-12-05 10:00”, “-1h”, “today”, “@EPOCH”)"),
      N_("TIME") },
    { "until", 'U', 0, G_OPTION_ARG_STRING, &until,
      N_("Show lines up to this time"), N_("TIME") },
    { "timestamps", 0, 0, G_OPTION_ARG_NONE, &view.timestamps,
      N_("Show when each line arrived and its stream"), NULL },
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &view.following,
      N_("Keep printing new lines until interrupted"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, G_MAXINT, &argc, &argv, &error))
    return jobctl_fail (error);
  if (lines < -1)
    {
      jobctl_set_usage_error (&error, _("--lines: “%d” is not a number of lines"), lines);
      return jobctl_fail (error);
    }
  if (!parse_time_option ("--since", since, &view.since, &error)
      || !parse_time_option ("--until", until, &view.until, &error)
      || !jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  if (lines == -1)
    lines = since != NULL || until != NULL ? 0 : 10;
  view.lines = (guint64) lines;

  names = jobctl_select_jobs (jobctl, argv + 1, argc - 1, argc == 1, &view.status, &error);
  if (names == NULL)
    return jobctl_fail (error);
  view.prefix = argc != 2 || jobctl_is_glob (argv[1]);
  view.sources = sources;
  view.loop = g_main_loop_new (NULL, FALSE);
  view.cancellable = g_cancellable_new ();
  if (jobctl->json && !view.following)
    view.json = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));
  if (view.following && names->len > 0
      && !jobctl_remote_check_fd_passing (jobctl->connection, "logs -f", &error))
    return jobctl_fail (error);
  for (guint i = 0; i < names->len; i++)
    {
      Source *s = g_new0 (Source, 1);

      s->view = &view;
      s->name = g_strdup (names->pdata[i]);
      s->first = TRUE;
      g_queue_init (&s->pending);
      view.name_width = MAX (view.name_width, (gsize) g_utf8_strlen (s->name, -1));
      if (view.following && !open_follow (&view, s, &error))
        {
          if (is_unknown_method (error) && names->len == 1)
            {
              source_free (s);
              return jobctl_logs_ring_fallback (jobctl, names->pdata[0], view.lines,
                                                view.timestamps, TRUE);
            }
          jobctl_note_failure (&view.status, jobctl_fail_job (s->name, g_steal_pointer (&error)));
          source_free (s);
          continue;
        }
      g_ptr_array_add (sources, s);
    }

  sigint_id = g_unix_signal_add (SIGINT, interrupted_cb, &view);
  sigterm_id = g_unix_signal_add (SIGTERM, interrupted_cb, &view);
  pump (&view);
  if (!view.history_done || view.open_pipes > 0)
    g_main_loop_run (view.loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  /* Pending async calls hold sources: cancel, then let them finish. */
  g_cancellable_cancel (view.cancellable);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_queue_clear_full (&view.tail, (GDestroyNotify) g_variant_unref);
  g_clear_pointer (&view.json, g_variant_builder_unref);
  g_main_loop_unref (view.loop);
  g_object_unref (view.cancellable);
  if (view.old_jobd)
    return jobctl_logs_ring_fallback (jobctl, names->pdata[0], view.lines, view.timestamps,
                                      FALSE);
  return view.status;
}
