/* SPDX-License-Identifier: MIT */
/* jobctl-logs.c — `read` and `logs`: a job's buffered output lines, and
 * with `logs -f` the lines that follow, read from the pipe FollowOutput
 * hands back (so live output never floods the bus). Follow ends at EOF
 * (jobd closed the pipe) or on SIGINT/SIGTERM, cleanly; when jobd cut this
 * reader off for not keeping up, its last line says so ("dropped\t...") and
 * jobctl says why and fails.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <stdlib.h>
#include <string.h>

#include "jobctl.h"
#include "jobctl-remote.h"
#include "jobd-parse.h"

#define STDERR_SGR "31"

typedef struct {
  Jobctl *jobctl;
  gboolean timestamps;

  /* Following. */
  GMainLoop *loop;
  GCancellable *cancellable;
  GDataInputStream *input;
  int status;
  /* The follow pipe opens before the buffer is read, so its first lines may
   * repeat the buffer's last ones: skipped until one is newer. */
  guint64 last_usec;
  char *last_text;
} Output;

static void
output_clear (Output *output)
{
  g_clear_pointer (&output->loop, g_main_loop_unref);
  g_clear_object (&output->cancellable);
  g_clear_object (&output->input);
  g_clear_pointer (&output->last_text, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Output, output_clear)

/* One line as JSON wants it (floating a{sv}). */
static GVariant *
line_to_variant (guint64 usec, const char *stream, const char *text)
{
  return g_variant_new_parsed ("{'time': <%t>, 'stream': <%s>, 'text': <%s>}",
                               usec, stream, text);
}

void
jobctl_print_output_text (Jobctl *jobctl, gboolean timestamps, guint64 usec,
                          const char *stream, const char *text)
{
  gboolean is_stderr = g_strcmp0 (stream, "stderr") == 0;
  g_autofree char *shown = jobctl_colorize (jobctl->color, is_stderr ? STDERR_SGR : NULL, text);

  if (timestamps)
    {
      g_autofree char *when = jobctl_format_timestamp (usec, TRUE);

      g_print ("%s %-6s %s\n", when, stream, shown);
    }
  else
    g_print ("%s\n", shown);
}

static void
print_line (Output *output, guint64 usec, const char *stream, const char *text)
{
  if (output->jobctl->json)
    {
      g_autoptr(GVariant) line = g_variant_ref_sink (line_to_variant (usec, stream, text));
      g_autoptr(JsonNode) node = json_gvariant_serialize (line);

      jobctl_print_json_line (node);
      return;
    }

  jobctl_print_output_text (output->jobctl, output->timestamps, usec, stream, text);
}

/* Prints the last max_lines buffered lines (0 = all). */
static gboolean
print_buffered (Output *output, const char *name, guint max_lines, gboolean as_array,
                GError **error)
{
  g_autoptr(GVariant) lines = NULL;
  GVariantIter iter;
  guint64 usec;
  const char *stream, *text;

  if (!jobd_dbus_manager_call_read_output_sync (output->jobctl->manager, name,
                                                max_lines, &lines, NULL, error))
    return FALSE;

  g_variant_iter_init (&iter, lines);
  if (as_array)
    {
      GVariantBuilder array;

      g_variant_builder_init (&array, G_VARIANT_TYPE ("aa{sv}"));
      while (g_variant_iter_next (&iter, "(t&s&s)", &usec, &stream, &text))
        g_variant_builder_add_value (&array, line_to_variant (usec, stream, text));
      jobctl_print_variant (g_variant_builder_end (&array));
      return TRUE;
    }

  while (g_variant_iter_next (&iter, "(t&s&s)", &usec, &stream, &text))
    {
      print_line (output, usec, stream, text);
      output->last_usec = usec;
      g_free (output->last_text);
      output->last_text = g_strdup (text);
    }
  return TRUE;
}

static gboolean
is_repeat (Output *output, guint64 usec, const char *text)
{
  if (output->last_text == NULL)
    return FALSE;
  if (usec < output->last_usec
      || (usec == output->last_usec && strcmp (text, output->last_text) == 0))
    return TRUE;
  g_clear_pointer (&output->last_text, g_free);
  return FALSE;
}

/* "STREAM\tUSEC\tTEXT" */
static void
handle_follow_line (Output *output, const char *line)
{
  g_auto(GStrv) fields = g_strsplit (line, "\t", 3);
  guint64 usec;

  if (g_strv_length (fields) != 3)
    {
      g_printerr (_("jobctl: ignoring a malformed output line from jobd\n"));
      return;
    }
  if (strcmp (fields[0], "dropped") == 0)
    {
      /* jobd's last word: output went on, this reader was too slow for it. */
      g_printerr (_("jobctl: jobd stopped sending output because this reader did not "
                    "keep up; later lines were not shown\n"));
      output->status = JOBCTL_EXIT_FAILURE;
      return;
    }
  usec = g_ascii_strtoull (fields[1], NULL, 10);
  if (!is_repeat (output, usec, fields[2]))
    print_line (output, usec, fields[0], fields[2]);
}

static void read_next_line (Output *output);

static void
line_read_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Output *output = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, &error);

  if (line != NULL)
    {
      handle_follow_line (output, line);
      read_next_line (output);
      return;
    }
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    output->status = jobctl_fail (error);
  g_main_loop_quit (output->loop);
}

static void
read_next_line (Output *output)
{
  g_data_input_stream_read_line_async (output->input, G_PRIORITY_DEFAULT,
                                       output->cancellable, line_read_cb, output);
}

static gboolean
interrupted_cb (gpointer data)
{
  Output *output = data;

  g_cancellable_cancel (output->cancellable);
  return G_SOURCE_CONTINUE;
}

/* The read end of the follow pipe, as a line reader. */
static GDataInputStream *
open_follow (Jobctl *jobctl, const char *name, GError **error)
{
  g_autoptr(GVariant) handle = NULL;
  g_autoptr(GUnixFDList) fd_list = NULL;
  g_autoptr(GInputStream) pipe = NULL;
  int fd;

  if (!jobctl_remote_check_fd_passing (jobctl->connection, "logs -f", error))
    return NULL;
  if (!jobd_dbus_manager_call_follow_output_sync (jobctl->manager, name, NULL,
                                                  &handle, &fd_list, NULL, error))
    return NULL;
  if (fd_list == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("jobd sent no file descriptor to follow the output"));
      return NULL;
    }
  fd = g_unix_fd_list_get (fd_list, g_variant_get_handle (handle), error);
  if (fd < 0)
    return NULL;
  pipe = g_unix_input_stream_new (fd, TRUE);
  return g_data_input_stream_new (pipe);
}

static int
follow (Output *output, const char *name, guint max_lines)
{
  g_autoptr(GError) error = NULL;
  guint sigint_id, sigterm_id;

  output->input = open_follow (output->jobctl, name, &error);
  if (output->input == NULL
      || !print_buffered (output, name, max_lines, FALSE, &error))
    return jobctl_fail (error);

  output->loop = g_main_loop_new (NULL, FALSE);
  output->cancellable = g_cancellable_new ();
  sigint_id = g_unix_signal_add (SIGINT, interrupted_cb, output);
  sigterm_id = g_unix_signal_add (SIGTERM, interrupted_cb, output);
  read_next_line (output);
  g_main_loop_run (output->loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  return output->status;
}

static gboolean
check_lines (int lines, GError **error)
{
  if (lines >= 0)
    return TRUE;
  jobctl_set_usage_error (error, _("--lines: “%d” is not a number of lines"), lines);
  return FALSE;
}

/* read: the ring only, as it always was. */
int
jobctl_verb_read (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_auto(Output) output = { .jobctl = jobctl };
  g_autoptr(GError) error = NULL;
  int lines = 0;
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT, &lines,
      N_("Show the last N buffered lines (0: all)"), N_("N") },
    { "timestamps", 0, 0, G_OPTION_ARG_NONE, &output.timestamps,
      N_("Show when each line arrived and its stream"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, 1, &argc, &argv, &error)
      || !check_lines (lines, &error)
      || !jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  if (!print_buffered (&output, argv[1], (guint) lines, jobctl->json, &error))
    return jobctl_fail (error);
  return JOBCTL_EXIT_OK;
}

/* Older jobd (no ReadLog): the ring, and FollowOutput. */
int
jobctl_logs_ring_fallback (Jobctl *jobctl, const char *name, guint lines, gboolean timestamps,
                           gboolean following)
{
  g_auto(Output) output = { .jobctl = jobctl, .timestamps = timestamps };
  g_autoptr(GError) error = NULL;

  if (following)
    return follow (&output, name, lines);
  if (!print_buffered (&output, name, lines, jobctl->json, &error))
    return jobctl_fail (error);
  return JOBCTL_EXIT_OK;
}
