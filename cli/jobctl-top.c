/* SPDX-License-Identifier: MIT */
/* jobctl-top.c — `jobctl top`: every job's state, PID, CPU %, memory,
 * uptime and restarts, full screen, refreshed in place.
 *
 * What jobd is asked, and when (so that watching costs jobd little):
 *   - List once at the start;
 *   - the Manager's signals: a JobStateChanged updates the row at once and
 *     asks GetRuntime of that job only (its start time, restarts), a
 *     JobAdded/JobRemoved adds or drops the row;
 *   - every --delay, ONE GetUsage call for the running jobs on screen
 *     (CPU time and memory); CPU % is the difference of two such samples
 *     over the time between them (100 % = one core, like top). Sorted by
 *     CPU or memory, every fifth poll asks for all jobs, so that jobs off
 *     screen find their place too.
 * The terminal: raw mode through termios (no echo, no line buffering, no
 * signals from keys: Ctrl-C arrives as a key and quits like q), the
 * alternate screen and ANSI escapes; restored on every way out (q, Ctrl-C,
 * SIGINT, SIGTERM, SIGHUP, jobd going away). SIGWINCH redraws at the new
 * size. When stdin or stdout is not a terminal, top prints one snapshot
 * (CPU % over one --delay) and exits: `jobctl top | cat`, or --json.
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "jobctl.h"
#include "jobd-names.h"
#include "jobd-parse.h"

#define FULL_POLL_EVERY 5

typedef enum { SORT_CPU, SORT_MEMORY, SORT_NAME, SORT_STATE } TopSort;

typedef struct {
  char *name;
  char *state;
  guint32 pid;
  guint64 memory;
  guint64 started_at;
  guint32 restarts;
  guint64 cpu_usec;     /* the last sample */
  gint64 cpu_at;        /* monotonic time of that sample, 0: none */
  double cpu_percent;   /* < 0: not known yet */
} TopRow;

typedef struct {
  Jobctl *jobctl;
  GMainLoop *loop;
  GHashTable *rows;     /* name → TopRow */
  GPtrArray *order;     /* TopRow *, sorted, borrowed from rows */
  TopSort sort;
  guint scroll;
  guint width, height;
  guint delay_ms;
  gboolean interactive;
  struct termios saved;
  gboolean raw;
  guint subscription;
  GHashTable *changed;  /* names whose runtime to fetch */
  guint changed_id;
  guint ticks;
  gboolean polling;
  gboolean supported;   /* jobd answers GetUsage */
  int status;
} Top;

static void
top_row_free (gpointer data)
{
  TopRow *row = data;

  g_free (row->name);
  g_free (row->state);
  g_free (row);
}

static TopRow *
row_get (Top *top, const char *name)
{
  TopRow *row = g_hash_table_lookup (top->rows, name);

  if (row == NULL)
    {
      row = g_new0 (TopRow, 1);
      row->name = g_strdup (name);
      row->state = g_strdup ("down");
      row->cpu_percent = -1;
      g_hash_table_insert (top->rows, row->name, row);
    }
  return row;
}

static void
row_set_pid (TopRow *row, guint32 pid)
{
  if (row->pid == pid)
    return;
  /* Another run: its CPU time starts again from 0. */
  row->pid = pid;
  row->cpu_at = 0;
  row->cpu_percent = -1;
  if (pid == 0)
    row->memory = 0;
}

/* ---- ordering ---- */

static int
state_rank (const char *state)
{
  static const char *const ranks[] = { "failed", "starting", "stopping", "up", "down" };

  for (guint i = 0; i < G_N_ELEMENTS (ranks); i++)
    if (g_strcmp0 (state, ranks[i]) == 0)
      return (int) i;
  return G_N_ELEMENTS (ranks);
}

static TopSort sort_key;

static int
compare_rows (gconstpointer a, gconstpointer b)
{
  const TopRow *x = *(TopRow *const *) a, *y = *(TopRow *const *) b;
  int by = 0;

  switch (sort_key)
    {
    case SORT_CPU:
      by = (y->cpu_percent > x->cpu_percent) - (y->cpu_percent < x->cpu_percent);
      break;
    case SORT_MEMORY:
      by = (y->memory > x->memory) - (y->memory < x->memory);
      break;
    case SORT_STATE:
      by = state_rank (x->state) - state_rank (y->state);
      break;
    case SORT_NAME:
      break;
    }
  return by != 0 ? by : strcmp (x->name, y->name);
}

static void
sort_rows (Top *top)
{
  GHashTableIter iter;
  gpointer row;

  g_ptr_array_set_size (top->order, 0);
  g_hash_table_iter_init (&iter, top->rows);
  while (g_hash_table_iter_next (&iter, NULL, &row))
    g_ptr_array_add (top->order, row);
  sort_key = top->sort;
  g_ptr_array_sort (top->order, compare_rows);
}

static const char *
sort_name (TopSort sort)
{
  switch (sort)
    {
    case SORT_CPU: return "cpu";
    case SORT_MEMORY: return "mem";
    case SORT_STATE: return "state";
    case SORT_NAME: break;
    }
  return "name";
}

static gboolean
parse_sort (const char *text, TopSort *sort, GError **error)
{
  static const struct { const char *name; TopSort sort; } keys[] = {
    { "cpu", SORT_CPU }, { "mem", SORT_MEMORY }, { "memory", SORT_MEMORY },
    { "name", SORT_NAME }, { "state", SORT_STATE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_ascii_strcasecmp (text, keys[i].name) == 0)
      {
        *sort = keys[i].sort;
        return TRUE;
      }
  jobctl_set_usage_error (error, _("--sort: unknown key “%s” (cpu, mem, name, state)"), text);
  return FALSE;
}

/* ---- drawing ---- */

/* Rows of jobs that fit between the title, the header and the key line. */
static guint
visible_rows (Top *top)
{
  if (!top->interactive)
    return top->order->len;
  return top->height > 3 ? top->height - 3 : 1;
}

static void
clamp_scroll (Top *top)
{
  guint shown = visible_rows (top);

  if (top->order->len <= shown)
    top->scroll = 0;
  else if (top->scroll > top->order->len - shown)
    top->scroll = top->order->len - shown;
}

static char *
format_percent (const TopRow *row)
{
  if (row->pid == 0 || row->cpu_percent < 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.1f", row->cpu_percent);
}

/* One line of the table, the name cut to name_width. */
static void
append_row (GString *out, const TopRow *row, guint name_width, gint64 now, gboolean color)
{
  g_autofree char *name = name_width > 0 ? jobctl_ellipsize (row->name, name_width)
                                         : g_strdup (row->name);
  g_autofree char *state = g_strdup_printf ("%-8s", row->state);
  g_autofree char *shown_state = jobctl_colorize (color, jobctl_state_sgr (row->state), state);
  g_autofree char *pid = row->pid != 0 ? g_strdup_printf ("%u", row->pid) : g_strdup ("-");
  g_autofree char *cpu = format_percent (row);
  g_autofree char *memory = row->pid != 0 ? jobd_format_size (row->memory) : g_strdup ("-");
  g_autofree char *uptime = row->pid != 0 && row->started_at != 0
                            ? jobd_format_uptime (row->started_at, now) : g_strdup ("-");
  gsize pad = name_width > jobd_display_width (name) ? name_width - jobd_display_width (name) : 0;

  g_string_append_printf (out, "%s%*s  %s %8s %6s %8s %9s %8u", name, (int) pad, "",
                          shown_state, pid, cpu, memory, uptime, row->restarts);
}

static guint
name_column_width (Top *top)
{
  /* The fixed columns take 56; the name the rest, at least 8. */
  guint widest = 4;

  for (guint i = 0; i < top->order->len; i++)
    widest = MAX (widest, jobd_display_width (((TopRow *) top->order->pdata[i])->name));
  if (top->width == 0)
    return widest;
  return MIN (widest, top->width > 56 + 8 ? top->width - 56 : 8);
}

/* text padded to width display columns (translated headers may be wide
 * characters, which printf's widths count in bytes). */
static void
append_padded (GString *out, const char *text, gsize width, gboolean right)
{
  gsize used = jobd_display_width (text);
  gsize pad = width > used ? width - used : 0;

  if (right)
    g_string_append_printf (out, "%*s", (int) pad, "");
  g_string_append (out, text);
  if (!right)
    g_string_append_printf (out, "%*s", (int) pad, "");
}

static void
append_header (GString *out, guint name_width)
{
  append_padded (out, _("NAME"), name_width, FALSE);
  g_string_append (out, "  ");
  append_padded (out, _("STATE"), 8, FALSE);
  g_string_append_c (out, ' ');
  append_padded (out, _("PID"), 8, TRUE);
  g_string_append_c (out, ' ');
  append_padded (out, _("CPU%"), 6, TRUE);
  g_string_append_c (out, ' ');
  append_padded (out, _("MEMORY"), 8, TRUE);
  g_string_append_c (out, ' ');
  append_padded (out, _("UPTIME"), 9, TRUE);
  g_string_append_c (out, ' ');
  append_padded (out, _("RESTARTS"), 8, TRUE);
}

static char *
title_line (Top *top)
{
  guint up = 0, failed = 0;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = g_date_time_format (now, "%H:%M:%S");

  for (guint i = 0; i < top->order->len; i++)
    {
      const char *state = ((TopRow *) top->order->pdata[i])->state;

      up += g_str_equal (state, "up");
      failed += g_str_equal (state, "failed");
    }
  /* TRANSLATORS: jobctl top's first line: jobs, how many are up and failed,
   * the sort key, the time. */
  return g_strdup_printf (_("jobd: %u jobs, %u up, %u failed   sort: %s   %s"),
                          top->order->len, up, failed, sort_name (top->sort), clock);
}

static void
draw (Top *top)
{
  g_autoptr(GString) out = g_string_new ("\033[H");
  g_autofree char *title = NULL;
  guint name_width, shown;
  gint64 now = g_get_real_time ();

  sort_rows (top);
  clamp_scroll (top);
  name_width = name_column_width (top);
  shown = visible_rows (top);
  title = title_line (top);
  {
    g_autofree char *cut = jobctl_ellipsize (title, top->width);
    g_string_append_printf (out, "%s\033[K\r\n\033[7m", cut);
  }
  append_header (out, name_width);
  g_string_append (out, "\033[K\033[0m\r\n");
  for (guint i = top->scroll; i < top->order->len && i < top->scroll + shown; i++)
    {
      append_row (out, top->order->pdata[i], name_width, now, top->jobctl->color);
      g_string_append (out, "\033[K\r\n");
    }
  g_string_append (out, "\033[J");
  /* The key line at the bottom. */
  g_string_append_printf (out, "\033[%u;1H\033[7m%s\033[K\033[0m", top->height,
                          _("q quit  c cpu  m memory  n name  s state  arrows PgUp PgDn scroll"));
  fwrite (out->str, 1, out->len, stdout);
  fflush (stdout);
}

static void
redraw (Top *top)
{
  if (top->interactive)
    draw (top);
}

/* ---- the terminal ---- */

static void
read_size (Top *top)
{
  struct winsize size = { 0 };

  top->width = 80;
  top->height = 24;
  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0)
    {
      top->width = size.ws_col;
      top->height = size.ws_row;
    }
}

static gboolean
terminal_enter (Top *top, GError **error)
{
  struct termios raw;

  if (tcgetattr (STDIN_FILENO, &top->saved) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot read the terminal's settings: %s"), g_strerror (saved));
      return FALSE;
    }
  raw = top->saved;
  /* No echo, keys one by one, Ctrl-C as a key; output processing stays
   * (\n still moves down). */
  raw.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
  raw.c_iflag &= ~(IXON | ICRNL);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr (STDIN_FILENO, TCSAFLUSH, &raw) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot set the terminal's mode: %s"), g_strerror (saved));
      return FALSE;
    }
  top->raw = TRUE;
  /* The alternate screen, cursor hidden, no wrapping (a line wider than
   * the screen is cut, it does not push the frame down). */
  fputs ("\033[?1049h\033[?25l\033[?7l\033[H\033[2J", stdout);
  fflush (stdout);
  return TRUE;
}

static void
terminal_leave (Top *top)
{
  if (!top->raw)
    return;
  fputs ("\033[0m\033[?7h\033[?25h\033[?1049l", stdout);
  fflush (stdout);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &top->saved);
  top->raw = FALSE;
}

static void
quit (Top *top, int status)
{
  top->status = status;
  g_main_loop_quit (top->loop);
}

static void
scroll_by (Top *top, int delta)
{
  int to = (int) top->scroll + delta;

  top->scroll = to < 0 ? 0 : (guint) to;
  redraw (top);
}

static void
set_sort (Top *top, TopSort sort)
{
  top->sort = sort;
  top->scroll = 0;
  redraw (top);
}

/* One read's worth of keys; escape sequences arrive whole in one read. */
static void
handle_keys (Top *top, const char *keys, gssize n)
{
  int page = (int) visible_rows (top);

  for (gssize i = 0; i < n; i++)
    {
      if (keys[i] == '\033' && i + 2 < n && keys[i + 1] == '[')
        {
          char code = keys[i + 2];

          i += 2;
          if (code == 'A')
            scroll_by (top, -1);
          else if (code == 'B')
            scroll_by (top, 1);
          else if ((code == '5' || code == '6') && i + 1 < n && keys[i + 1] == '~')
            {
              i++;
              scroll_by (top, code == '5' ? -page : page);
            }
          continue;
        }
      switch (keys[i])
        {
        case 'q': case 'Q': case 0x03: case 0x04:
          quit (top, JOBCTL_EXIT_OK);
          return;
        case 'c': case 'C': case 'P': set_sort (top, SORT_CPU); break;
        case 'm': case 'M': set_sort (top, SORT_MEMORY); break;
        case 'n': case 'N': set_sort (top, SORT_NAME); break;
        case 's': case 'S': set_sort (top, SORT_STATE); break;
        case 'j': scroll_by (top, 1); break;
        case 'k': scroll_by (top, -1); break;
        case ' ': scroll_by (top, page); break;
        default: break;
        }
    }
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer user_data)
{
  Top *top = user_data;
  char keys[64];
  gssize n = read (fd, keys, sizeof keys);

  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
    {
      quit (top, JOBCTL_EXIT_OK);   /* the terminal is gone */
      return G_SOURCE_REMOVE;
    }
  if (n > 0)
    handle_keys (top, keys, n);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  quit (user_data, JOBCTL_EXIT_OK);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_winch (gpointer user_data)
{
  Top *top = user_data;

  read_size (top);
  /* Clear: the old frame's lines may be wider than the new screen. */
  fputs ("\033[H\033[2J", stdout);
  redraw (top);
  return G_SOURCE_CONTINUE;
}

/* ---- what jobd says ---- */

static void
load_list (Top *top, GVariant *jobs)
{
  GVariantIter iter;
  const char *name, *state;
  guint32 pid, restarts;
  guint64 memory, started_at;

  g_variant_iter_init (&iter, jobs);
  while (g_variant_iter_next (&iter, "(&s&suttu&o)", &name, &state, &pid, &memory,
                              &started_at, &restarts, NULL))
    {
      TopRow *row = row_get (top, name);

      g_free (row->state);
      row->state = g_strdup (state);
      row_set_pid (row, pid);
      row->memory = memory;
      row->started_at = started_at;
      row->restarts = restarts;
    }
}

/* A sample of CPU time: the CPU % since the last one of the same run. */
static void
take_sample (TopRow *row, guint64 cpu, guint64 memory, gint64 at)
{
  if (row->pid == 0)
    return;
  if (row->cpu_at != 0 && at > row->cpu_at)
    /* Summed over processes the figure can drop when one exits unwaited
     * for (jobd-cpu.h): no negative percentages. */
    row->cpu_percent = cpu >= row->cpu_usec
                       ? (double) (cpu - row->cpu_usec) * 100.0 / (double) (at - row->cpu_at)
                       : 0.0;
  row->cpu_usec = cpu;
  row->cpu_at = at;
  row->memory = memory;
}

static void
load_usage (Top *top, GVariant *usage)
{
  gint64 at = g_get_monotonic_time ();
  GVariantIter iter;
  const char *name;
  guint64 cpu, memory;

  g_variant_iter_init (&iter, usage);
  while (g_variant_iter_next (&iter, "(&stt)", &name, &cpu, &memory))
    {
      TopRow *row = g_hash_table_lookup (top->rows, name);

      if (row != NULL)
        take_sample (row, cpu, memory, at);
    }
}

/* The running jobs on screen (all running jobs when all is set). */
static GPtrArray *
names_to_poll (Top *top, gboolean all)
{
  GPtrArray *names = g_ptr_array_new ();
  guint first = all ? 0 : top->scroll;
  guint end = all ? top->order->len : MIN (top->order->len, top->scroll + visible_rows (top));

  for (guint i = first; i < end; i++)
    {
      TopRow *row = top->order->pdata[i];

      if (row->pid != 0)
        g_ptr_array_add (names, row->name);
    }
  g_ptr_array_add (names, NULL);
  return names;
}

static void
on_usage (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Top *top = user_data;
  g_autoptr(GVariant) usage = NULL;
  g_autoptr(GError) error = NULL;

  top->polling = FALSE;
  if (!jobd_dbus_manager_call_get_usage_finish (JOBD_DBUS_MANAGER (source), &usage,
                                                result, &error))
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
        top->supported = FALSE;   /* an older jobd: no CPU figures */
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
        quit (top, jobctl_fail (g_steal_pointer (&error)));
      return;
    }
  load_usage (top, usage);
  redraw (top);
}

static void
poll_usage (Top *top)
{
  g_autoptr(GPtrArray) names = NULL;
  gboolean all;

  if (top->polling || !top->supported)
    return;
  sort_rows (top);
  clamp_scroll (top);
  all = (top->sort == SORT_CPU || top->sort == SORT_MEMORY) && top->ticks % FULL_POLL_EVERY == 0;
  names = names_to_poll (top, all || !top->interactive);
  top->ticks++;
  if (names->len == 1)
    return;   /* nothing runs on screen: nothing to ask */
  top->polling = TRUE;
  jobd_dbus_manager_call_get_usage (top->jobctl->manager,
                                    (const char *const *) names->pdata, NULL,
                                    on_usage, top);
}

static gboolean
on_tick (gpointer user_data)
{
  Top *top = user_data;

  poll_usage (top);
  redraw (top);   /* the uptimes and the clock move on */
  return G_SOURCE_CONTINUE;
}

static void
on_runtime (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GVariant) runtime = NULL;
  Top *top = g_object_get_data (source, "jobctl-top");
  TopRow *row;
  const char *state;
  guint32 pid = 0, restarts = 0;
  guint64 started_at = 0;

  if (!jobd_dbus_manager_call_get_runtime_finish (JOBD_DBUS_MANAGER (source), &runtime,
                                                  result, NULL) || top == NULL)
    return;   /* removed meanwhile (JobRemoved drops it), or top is over */
  row = g_hash_table_lookup (top->rows, name);
  if (row == NULL)
    return;
  if (g_variant_lookup (runtime, "state", "&s", &state))
    {
      g_free (row->state);
      row->state = g_strdup (state);
    }
  g_variant_lookup (runtime, "main-pid", "u", &pid);
  g_variant_lookup (runtime, "started-at", "t", &started_at);
  g_variant_lookup (runtime, "restarts", "u", &restarts);
  row_set_pid (row, pid);
  row->started_at = started_at;
  row->restarts = restarts;
  redraw (top);
}

static gboolean
fetch_changed (gpointer user_data)
{
  Top *top = user_data;
  GHashTableIter iter;
  gpointer name;

  top->changed_id = 0;
  g_hash_table_iter_init (&iter, top->changed);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      jobd_dbus_manager_call_get_runtime (top->jobctl->manager, name, NULL,
                                          on_runtime, g_strdup (name));
      g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_REMOVE;
}

/* Ask for name's runtime soon: a burst of signals about a job makes one
 * call. */
static void
mark_changed (Top *top, const char *name)
{
  g_hash_table_add (top->changed, g_strdup (name));
  if (top->changed_id == 0)
    top->changed_id = g_timeout_add (100, fetch_changed, top);
}

static void
on_signal (GDBusConnection *connection, const char *sender, const char *path,
           const char *interface, const char *member, GVariant *parameters,
           gpointer user_data)
{
  Top *top = user_data;
  const char *name = NULL;

  if (g_str_equal (member, "JobStateChanged") &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sssa{sv})")))
    {
      g_autoptr(GVariant) details = NULL;
      const char *state;
      guint32 pid;
      TopRow *row;

      g_variant_get (parameters, "(&s&s&s@a{sv})", &name, NULL, &state, &details);
      row = row_get (top, name);
      g_free (row->state);
      row->state = g_strdup (state);
      if (g_variant_lookup (details, "main-pid", "u", &pid))
        row_set_pid (row, pid);
      if (g_str_equal (state, "down") || g_str_equal (state, "failed"))
        row_set_pid (row, 0);
      mark_changed (top, name);
      redraw (top);
    }
  else if (g_str_equal (member, "JobAdded") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
    {
      g_variant_get (parameters, "(&s&o)", &name, NULL);
      row_get (top, name);
      mark_changed (top, name);
      redraw (top);
    }
  else if (g_str_equal (member, "JobRemoved") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
    {
      g_variant_get (parameters, "(&s&o)", &name, NULL);
      g_hash_table_remove (top->changed, name);
      g_hash_table_remove (top->rows, name);
      redraw (top);
    }
}

static gboolean
subscribe (Top *top, GError **error)
{
  Jobctl *jobctl = top->jobctl;
  g_autoptr(GVariant) reply = NULL;

  top->subscription =
    g_dbus_connection_signal_subscribe (jobctl->connection, jobctl->bus_name,
                                        "org.jobd1.Manager", NULL, JOBD_DBUS_PATH, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_signal, top, NULL);
  /* On the private socket jobd sends signals only to peers that asked. */
  if (jobctl->bus_name != NULL)
    return TRUE;
  reply = g_dbus_connection_call_sync (jobctl->connection, NULL, "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "AddMatch",
                                       g_variant_new ("(s)", "type='signal',"
                                                      "interface='org.jobd1.Manager'"),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  return reply != NULL;
}

static void
on_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
           gpointer user_data)
{
  Top *top = user_data;

  terminal_leave (top);
  g_printerr ("jobctl: %s\n", _("the connection to jobd was closed"));
  quit (top, JOBCTL_EXIT_FAILURE);
}

/* ---- the snapshot (not a terminal) ---- */

static void
print_snapshot_json (Top *top)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (builder);
  for (guint i = 0; i < top->order->len; i++)
    {
      TopRow *row = top->order->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, row->name);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, row->state);
      json_builder_set_member_name (builder, "pid");
      json_builder_add_int_value (builder, row->pid);
      json_builder_set_member_name (builder, "cpu-percent");
      if (row->pid != 0 && row->cpu_percent >= 0)
        json_builder_add_double_value (builder, row->cpu_percent);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "cpu-usage-usec");
      json_builder_add_int_value (builder, (gint64) row->cpu_usec);
      json_builder_set_member_name (builder, "memory");
      json_builder_add_int_value (builder, (gint64) row->memory);
      json_builder_set_member_name (builder, "started-at");
      json_builder_add_int_value (builder, (gint64) row->started_at);
      json_builder_set_member_name (builder, "restarts");
      json_builder_add_int_value (builder, row->restarts);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  jobctl_print_json (root);
}

static void
print_snapshot (Top *top)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gint64 now = g_get_real_time ();
  guint name_width;

  sort_rows (top);
  if (top->jobctl->json)
    {
      print_snapshot_json (top);
      return;
    }
  name_width = name_column_width (top);
  if (!top->jobctl->no_legend)
    {
      append_header (out, name_width);
      g_string_append_c (out, '\n');
    }
  for (guint i = 0; i < top->order->len; i++)
    {
      append_row (out, top->order->pdata[i], name_width, now, FALSE);
      g_string_append_c (out, '\n');
    }
  fwrite (out->str, 1, out->len, stdout);
}

static gboolean
on_snapshot_done (gpointer user_data)
{
  Top *top = user_data;

  if (top->polling)
    return G_SOURCE_CONTINUE;   /* the second sample is still on its way */
  quit (top, JOBCTL_EXIT_OK);
  return G_SOURCE_REMOVE;
}

static gboolean
on_second_sample (gpointer user_data)
{
  Top *top = user_data;

  poll_usage (top);
  g_timeout_add (10, on_snapshot_done, top);
  return G_SOURCE_REMOVE;
}

/* ---- the verb ---- */

static gboolean
start_interactive (Top *top, GError **error)
{
  if (!subscribe (top, error) || !terminal_enter (top, error))
    return FALSE;
  g_signal_connect (top->jobctl->connection, "closed", G_CALLBACK (on_closed), top);
  g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, top);
  g_unix_signal_add (SIGINT, on_quit_signal, top);
  g_unix_signal_add (SIGTERM, on_quit_signal, top);
  g_unix_signal_add (SIGHUP, on_quit_signal, top);
  g_unix_signal_add (SIGWINCH, on_winch, top);
  g_timeout_add (top->delay_ms, on_tick, top);
  poll_usage (top);
  draw (top);
  return TRUE;
}

int
jobctl_verb_top (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) jobs = NULL;
  g_autofree char *delay_text = NULL;
  g_autofree char *sort_text = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Top top = { 0 };
  guint32 delay_ms = 2000;
  const GOptionEntry entries[] = {
    { "delay", 'd', 0, G_OPTION_ARG_STRING, &delay_text,
      N_("Refresh CPU and memory every DURATION (default 2s, at least 200ms)"),
      N_("DURATION") },
    { "sort", 0, 0, G_OPTION_ARG_STRING, &sort_text,
      N_("Sort by cpu (default), mem, name or state; keys c, m, n, s change it"),
      N_("KEY") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, 0, &argc, &argv, &error))
    return jobctl_fail (error);
  if (delay_text != NULL && !jobd_parse_duration_ms (delay_text, &delay_ms, &error))
    {
      jobctl_set_usage_error (&error, _("--delay: “%s” is not a duration"), delay_text);
      return jobctl_fail (error);
    }
  top.sort = SORT_CPU;
  if (sort_text != NULL && !parse_sort (sort_text, &top.sort, &error))
    return jobctl_fail (error);
  if (!jobctl_connect (jobctl, &error)
      || !jobctl_list_jobs (jobctl, &jobs, &error))
    return jobctl_fail (error);

  top.jobctl = jobctl;
  top.loop = loop;
  top.delay_ms = MAX (delay_ms, 200);
  top.supported = TRUE;
  top.rows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, top_row_free);
  top.order = g_ptr_array_new ();
  top.changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  top.interactive = isatty (STDIN_FILENO) && isatty (STDOUT_FILENO) && !jobctl->json;
  g_object_set_data (G_OBJECT (jobctl->manager), "jobctl-top", &top);
  load_list (&top, jobs);

  if (top.interactive)
    {
      read_size (&top);
      if (!start_interactive (&top, &error))
        {
          terminal_leave (&top);
          top.status = jobctl_fail (g_steal_pointer (&error));
          goto out;
        }
    }
  else
    {
      /* Two samples one --delay apart make the CPU %. */
      poll_usage (&top);
      g_timeout_add (top.delay_ms, on_second_sample, &top);
    }
  g_main_loop_run (loop);
  terminal_leave (&top);
  if (!top.interactive && top.status == JOBCTL_EXIT_OK)
    print_snapshot (&top);

out:
  if (top.subscription != 0)
    g_dbus_connection_signal_unsubscribe (jobctl->connection, top.subscription);
  g_signal_handlers_disconnect_by_data (jobctl->connection, &top);
  if (top.changed_id != 0)
    g_source_remove (top.changed_id);
  g_object_set_data (G_OBJECT (jobctl->manager), "jobctl-top", NULL);
  g_hash_table_unref (top.changed);
  g_ptr_array_unref (top.order);
  g_hash_table_unref (top.rows);
  return top.status;
}
