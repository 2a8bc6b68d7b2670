/* SPDX-License-Identifier: MIT */
/* jobctl.h — what the files of jobctl share: the run's state (options and
 * the connection to jobd), the verb table entry, exit codes, and the helpers
 * every verb uses to parse its arguments, reach jobd and report errors.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "jobd-dbus-generated.h"

G_BEGIN_DECLS

/* Exit codes, as `jobctl --help` documents them. */
typedef enum {
  JOBCTL_EXIT_OK = 0,
  JOBCTL_EXIT_FAILURE = 1,     /* failure, jobd not reachable, access denied */
  JOBCTL_EXIT_USAGE = 2,       /* bad usage or an invalid setting */
  JOBCTL_EXIT_NOT_UP = 3,      /* status: the job is not up */
  JOBCTL_EXIT_NO_SUCH_JOB = 4, /* the named job does not exist */
} JobctlExit;

typedef struct {
  /* Global options; every verb accepts them too. */
  char *address;
  char *host;                  /* -H: jobd on another host, over ssh */
  gboolean bus;
  gboolean json;
  gboolean no_legend;
  gboolean no_pager;
  gboolean full;               /* -l: no ellipsizing */
  /* Colour on stdout: a tty and NO_COLOR unset. */
  gboolean color;

  /* Set by jobctl_connect (). */
  GDBusConnection *connection;
  char *bus_name;              /* NULL on a peer-to-peer connection */
  JobdDBusManager *manager;
} Jobctl;

typedef struct _JobctlVerb JobctlVerb;
typedef int (*JobctlVerbFunc) (Jobctl *jobctl, const JobctlVerb *verb,
                               int argc, char **argv);
/* The generated call of a method that takes only a job's name. */
typedef gboolean (*JobctlNameCall) (JobdDBusManager *proxy, const gchar *name,
                                    GCancellable *cancellable, GError **error);

struct _JobctlVerb {
  const char *name;
  JobctlVerbFunc handler;
  const char *params;   /* positional arguments for --help, e.g. "NAME" */
  const char *summary;  /* N_() marked */
  JobctlNameCall call;  /* for jobctl_verb_simple () */
};

/* Begins a verb: parses its options (entries may be NULL; group, if not
 * NULL, becomes the main group and is consumed) plus the global ones, checks
 * that between min_args and max_args positional arguments remain (max_args
 * -1: no limit). It does not connect: verbs check their own arguments
 * first, then call jobctl_connect (). argv[0] is the verb's name; on
 * success argc and argv hold it and the positional arguments. */
gboolean jobctl_parse_verb (Jobctl *jobctl, const JobctlVerb *verb,
                            const GOptionEntry *entries, GOptionGroup *group,
                            int min_args, int max_args,
                            int *argc, char ***argv, GError **error);

/* Connects to jobd (see jobctl-connect.c) and makes jobctl->manager. */
gboolean jobctl_connect (Jobctl *jobctl, GError **error);

/* Prints "jobctl: MESSAGE" on stderr and returns the exit code for error. */
int jobctl_fail (GError *error);
/* Same, for an error about job name (NULL: unknown): jobd's errors are
 * shown in the user's language (jobctl-errors.c). */
int jobctl_fail_job (const char *name, GError *error);
/* jobctl-errors.c: the message to show for error (from jobd or not). */
char *jobctl_error_message (const char *job, const GError *error);

/* A usage error (exit code 2). */
void jobctl_set_usage_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Prints node as pretty JSON on stdout, followed by a newline. */
void jobctl_print_json (JsonNode *node);
/* Same, on one line (for streams of JSON objects). */
void jobctl_print_json_line (JsonNode *node);
/* Prints a variant (a{sv} becomes an object) as pretty JSON; consumes a
 * floating reference. */
void jobctl_print_variant (GVariant *value);

/* Colour: text wrapped in an SGR sequence when jobctl->color is set. */
char *jobctl_colorize (gboolean color, const char *sgr, const char *text);
/* The SGR sequence for a job state: green up, red failed, yellow between. */
const char *jobctl_state_sgr (const char *state);

/* An aligned table (jobctl-format.c); header texts are N_() marked. */
typedef struct _JobctlTable JobctlTable;
JobctlTable *jobctl_table_new (guint n_columns, guint32 right_aligned,
                               const char *const *header);
void jobctl_table_free (JobctlTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobctlTable, jobctl_table_free)
/* Adds the next cell, row by row; sgr colours it (may be NULL). */
void jobctl_table_add (JobctlTable *table, const char *text, const char *sgr);
void jobctl_table_take (JobctlTable *table, char *text);
void jobctl_table_print (JobctlTable *table, gboolean legend, gboolean color);

/* "Label: value" lines, labels right-aligned (jobctl-format.c). */
GArray *jobctl_fields_new (void);
/* Takes value; label must outlive the array; sgr colours the value. */
void jobctl_fields_add (GArray *fields, const char *label, char *value, const char *sgr);
void jobctl_fields_print (GArray *fields, gboolean color);

/* µs since the epoch → local "YYYY-MM-DD HH:MM:SS[.mmm]". */
char *jobctl_format_timestamp (guint64 usec, gboolean with_ms);

/* jobctl-control.c: remove/start/stop/restart/reload, kill, status,
 * is-active, is-failed, mem. */
int jobctl_verb_simple (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_kill (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_scale (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_status (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_is_active (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_is_failed (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_mem (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* jobctl-settings.c */
int jobctl_verb_add (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_update (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* jobctl-format.c */
int jobctl_verb_list (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* List's columns turned into one row per job, a(ssuttuo): name, state,
 * main PID, memory, started-at, restarts and the job's object path (the
 * rows List itself returned before issue 16), so each verb reads a job at a
 * time. */
gboolean jobctl_list_jobs (Jobctl *jobctl, GVariant **rows, GError **error);
/* list --tree (jobctl-tree.c): jobs are jobctl_list_jobs()'s rows. */
int jobctl_print_tree (Jobctl *jobctl, GVariant *jobs);
int jobctl_verb_show (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* After add/update: say on stderr which limits jobd does not enforce. */
void jobctl_warn_unenforced_limits (Jobctl *jobctl, const char *name);
/* jobctl-logs.c */
int jobctl_verb_read (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_logs (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* One output line's text as logs prints it: stderr in red, after its time
 * and stream when timestamps (jobctl-logs.c). */
void jobctl_print_output_text (Jobctl *jobctl, gboolean timestamps, guint64 usec,
                               const char *stream, const char *text);
/* logs against a jobd without ReadLog: the ring (jobctl-logs.c). */
int jobctl_logs_ring_fallback (Jobctl *jobctl, const char *name, guint lines,
                               gboolean timestamps, gboolean following);
/* jobctl-history.c */
int jobctl_verb_history (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* jobctl-apply.c: job files */
int jobctl_verb_apply (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_export (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
int jobctl_verb_cat (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* jobctl-select.c: the jobs named by names, globs (fnmatch, against the
 * list jobd has) and --all, in order, without repeats. A glob that matches
 * nothing is reported on stderr and noted in *status (exit code 4);
 * NULL only when jobd could not be asked. */
GPtrArray *jobctl_select_jobs (Jobctl *jobctl, char **args, int n_args, gboolean all,
                               int *status, GError **error);
gboolean jobctl_is_glob (const char *pattern);
/* TRUE when patterns (NULL or empty: all) match name. */
gboolean jobctl_name_matches (const char *const *patterns, const char *name);
/* Keeps the first failure's code in *status. */
void jobctl_note_failure (int *status, int code);

/* jobctl-wait.c: --wait. Subscribe before acting, then wait per job. */
#define JOBCTL_WAIT_TIMEOUT_S 90
typedef struct _JobctlWaiter JobctlWaiter;
JobctlWaiter *jobctl_waiter_new (Jobctl *jobctl, GError **error);
void jobctl_waiter_free (JobctlWaiter *waiter);
/* Until the job is up (want_up) or down; FALSE with the job's last error
 * when it ends elsewhere (failed; down when up was wanted), or at deadline
 * (monotonic µs). */
gboolean jobctl_waiter_wait (JobctlWaiter *waiter, const char *name, gboolean want_up,
                             gint64 deadline, GError **error);

/* jobctl-pager.c: the pager for long output on a terminal (not with
 * --no-pager or --json), closed (waited for) before jobctl exits; the
 * width of the terminal on stdout (0: not a terminal, no limit). */
void jobctl_pager_open (Jobctl *jobctl);
void jobctl_pager_close (void);
guint jobctl_terminal_width (void);
/* jobctl-format.c: the width tables and fields are cut to (0: none). */
void jobctl_set_output_width (guint columns);
/* text cut to at most columns display columns, ending with "…" if cut. */
char *jobctl_ellipsize (const char *text, gsize columns);

/* jobctl-properties.c: show -p. The names given (split at commas), or
 * NULL (usage error) when there is none. */
GPtrArray *jobctl_properties_parse (char **given, GError **error);
/* Prints the asked properties of job; an unknown one is a usage error. */
int jobctl_properties_print (Jobctl *jobctl, const char *job, GPtrArray *asked,
                             GVariant *settings, GVariant *runtime, gboolean value_only);

/* jobctl-server.c */
int jobctl_verb_timers (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);
/* job → earliest next fire (µs, 0 = none) of every job with a schedule. */
GHashTable *jobctl_next_fires (Jobctl *jobctl);
/* "2026-12-05 03:00:00 (4s left)", or "-" for 0. */
char *jobctl_format_next_fire (guint64 usec);
int jobctl_verb_server (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);

/* jobctl-format.c: CPU time. "1.234s". */
char *jobctl_format_cpu_time (guint64 usec);
/* name → { cpu-usage-usec, memory bytes } (guint64[2]) of the jobs named
 * (NULL or empty: all) from one GetUsage call; NULL when jobd is older than
 * GetUsage. */
GHashTable *jobctl_fetch_cpu_usage (Jobctl *jobctl, const char *const *names);

/* jobctl-top.c */
int jobctl_verb_top (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv);

G_END_DECLS
