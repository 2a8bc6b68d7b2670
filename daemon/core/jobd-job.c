/* SPDX-License-Identifier: MIT */
/* jobd-job.c — a job's state machine: start, stop, exits, restart policy. */
#include "config.h"

#include "jobd-job.h"

#include <errno.h>
#include <signal.h>

#include "jobd-error.h"
#include "jobd-history.h"
#include "jobd-instances.h"
#include "jobd-journal.h"
#include "jobd-launch.h"
#include "jobd-log.h"
#include "jobd-notify.h"
#include "jobd-readiness.h"
#include "jobd-signal.h"
#include "jobd-spawner.h"

struct _JobdJob {
  GObject parent_instance;

  char *name;
  JobdSettings *settings;
  guint owner_uid;
  const JobdJobContext *context;

  JobdState state;
  gboolean wanted_up;
  JobdProcess *process;
  gulong exited_handler;
  JobdOutput *output;

  gint64 started_at;          /* real time, µs */
  gint64 started_mono;        /* monotonic, µs */
  int exit_code;              /* -1 = none */
  int exit_signal;            /* 0 = none */
  guint restarts;
  char *last_restart_reason;
  char *last_error;

  /* Starting */
  GCancellable *start_cancellable;
  GList *start_tasks;         /* GTask*, completed when the start settles */
  char *start_reason;         /* the current run's cause (see JobdRunCause) */
  guint start_uid;
  char *start_trigger;
  JobdRunCause start_cause;   /* a view of the three above */

  /* Stopping */
  gboolean stop_requested;
  guint kill_timer;
  GList *down_waiters;        /* GTask* */
  gboolean disposed;          /* removed or jobd exiting: a late start is killed */

  /* The current run, as its record in the history will say */
  const char *stop_cause;     /* JOBD_STOP_CAUSE_*; NULL = jobd did not stop it */
  gboolean stop_killed;       /* the stop timeout ran out: SIGKILL */
  guint64 peak_sampled;       /* highest memory reading jobd took in this run */
  guint64 memory_seen;        /* the last memory reading of this run (List) */
  guint64 run_lines[2];       /* the output's line counts when the run began */
  guint runtime_timer;        /* runtime-max-ms */

  /* Automatic restarts */
  guint restart_timer;
  gint64 next_start_at;       /* real time, µs */
  char *pending_restart_reason;
  guint backoff_attempt;
  GQueue restart_times;       /* monotonic µs of recent automatic restarts */

  /* Readiness, sd_notify and the watchdog (jobd-ready.h, jobd-notify.h) */
  JobdReadySpec ready;        /* of the current start */
  JobdReadiness *readiness;   /* log/tcp/exec-probe waiter, until ready */
  JobdNotifySocket *notify;   /* while a ready=notify or watchdog job runs */
  guint ready_timer;
  gint64 ready_deadline;      /* monotonic µs */
  guint watchdog_timer;
  guint64 watchdog_usec;      /* in force: the setting, or WATCHDOG_USEC= */
  char *status_text;          /* STATUS= */
  GPid notify_main_pid;       /* MAINPID= */
  gboolean reloading;         /* RELOADING=1 until READY=1 */
  char *fault_reason;         /* ready-timeout, watchdog: the stop under way is a failure */
  char *renew_trigger;        /* jobd_job_restart_for(): the stop under way is a */
  gboolean renew;             /* graceful restart, started again at its exit */
  gint64 foreign_logged_at;   /* monotonic µs: the "ignored" line is rate-limited */
  guint foreign_ignored;

  /* Several instances (jobd-instances.h): the set runs them, this job is
   * the whole. NULL for a job of one (and for an instance). */
  JobdInstances *instances;
  guint instance;             /* an instance's number (1..N), 0 otherwise */
  char *io_name;              /* an instance's "NAME#I" (FIFOs, notify socket) */
};

G_DEFINE_FINAL_TYPE (JobdJob, jobd_job, G_TYPE_OBJECT)

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void job_spawn (JobdJob *self);
static void stop_up (JobdJob *self, const char *cause, const char *reason);
static void arm_runtime_max (JobdJob *self);
static void stop_waiting (JobdJob *self);
static void close_notify (JobdJob *self);
static gboolean open_notify (JobdJob *self, GError **error);
static void arm_watchdog (JobdJob *self);
static void announce_up (JobdJob *self);
static void await_ready (JobdJob *self);
static void fail_pending_start (JobdJob *self);
static void exit_after_fault (JobdJob *self, const char *fault, gint64 uptime_usec);
static gboolean prepare_child (JobdJob *self, JobdChildSpec *child, GError **error);
static void listen_notify (JobdJob *self);
static gboolean use_instances (JobdJob *self);
static void start_instances (JobdJob *self, GTask *task, const JobdRunCause *cause);

/* What names the job's FIFOs, containment and notify socket. */
static const char *
io_name (JobdJob *self)
{
  return self->io_name != NULL ? self->io_name : self->name;
}

const char *
jobd_state_to_string (JobdState state)
{
  switch (state)
    {
    case JOBD_STATE_DOWN: return "down";
    case JOBD_STATE_STARTING: return "starting";
    case JOBD_STATE_UP: return "up";
    case JOBD_STATE_STOPPING: return "stopping";
    case JOBD_STATE_FAILED: return "failed";
    default: g_return_val_if_reached ("unknown");
    }
}

/* ---- small helpers ---- */

static void
set_string (char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

/* settings_changed: the settings are among what changed (they are the
 * bulk of a job's properties, and a state change leaves them alone). */
static void
emit_changed (JobdJob *self, gboolean settings_changed)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, settings_changed);
}

/* Why, in words, for the state-change line: "exit code 3", "signal
 * SIGTERM", "restart after exit-code in 100 ms", "spawn-error: ...". */
static char *
describe_details (GVariant *details)
{
  g_autoptr(GString) why = g_string_new (NULL);
  const char *reason = NULL, *restart_reason = NULL, *error = NULL;
  gint32 code = -1, signo = 0;
  guint32 delay_ms = 0;

  g_variant_lookup (details, "reason", "&s", &reason);
  g_variant_lookup (details, "restart-reason", "&s", &restart_reason);
  g_variant_lookup (details, "error", "&s", &error);
  g_variant_lookup (details, "exit-code", "i", &code);
  g_variant_lookup (details, "exit-signal", "i", &signo);
  g_variant_lookup (details, "delay-ms", "u", &delay_ms);

  if (restart_reason != NULL)
    g_string_append_printf (why, "restart after %s in %u ms", restart_reason, delay_ms);
  else if (signo > 0)
    {
      const char *name = jobd_signal_to_string (signo);
      if (g_strcmp0 (reason, JOBD_REASON_SIGNAL) != 0 && reason != NULL)
        g_string_append_printf (why, "%s, ", reason);
      if (name != NULL)
        g_string_append_printf (why, "signal %s", name);
      else
        g_string_append_printf (why, "signal %d", (int) signo);
    }
  else if (code >= 0)
    {
      if (g_strcmp0 (reason, JOBD_REASON_EXIT_CODE) != 0 && reason != NULL)
        g_string_append_printf (why, "%s, ", reason);
      g_string_append_printf (why, "exit code %d", (int) code);
    }
  else if (reason != NULL)
    g_string_append (why, reason);
  if (error != NULL && *error != '\0')
    g_string_append_printf (why, "%s%s", why->len > 0 ? ": " : "", error);
  return g_string_free (g_steal_pointer (&why), FALSE);
}

/* "job demo: up -> down (exit code 3)", with MESSAGE_ID and JOBD_REASON. */
static void
log_state_change (JobdJob *self, JobdState old, GVariant *details)
{
  g_autofree char *why = describe_details (details);
  const char *reason = NULL;
  const char *id = JOBD_MESSAGE_ID_STATE_CHANGED;

  g_variant_lookup (details, "reason", "&s", &reason);
  if (g_variant_lookup (details, "restart-reason", "&s", NULL))
    id = JOBD_MESSAGE_ID_RESTART_SCHEDULED;
  jobd_job_log (G_LOG_LEVEL_MESSAGE, self->name, id, reason,
                "job %s: %s -> %s%s%s%s", self->name,
                jobd_state_to_string (old), jobd_state_to_string (self->state),
                *why != '\0' ? " (" : "", why, *why != '\0' ? ")" : "");
}

/* Move to a new state; details (a{sv}, floating or NULL) go with the event. */
static void
set_state (JobdJob *self, JobdState state, GVariant *details)
{
  g_autoptr(GVariant) owned_details = NULL;
  JobdState old = self->state;

  if (details == NULL)
    details = g_variant_new ("a{sv}", NULL);
  owned_details = g_variant_ref_sink (details);

  self->state = state;
  log_state_change (self, old, owned_details);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, (int) old, (int) state,
                 owned_details);
  emit_changed (self, FALSE);
}

static GVariant *
details_new (const char *reason, const char *error)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (reason != NULL)
    g_variant_builder_add (&builder, "{sv}", "reason", g_variant_new_string (reason));
  if (error != NULL)
    g_variant_builder_add (&builder, "{sv}", "error", g_variant_new_string (error));
  return g_variant_builder_end (&builder);
}

/* "starting" says why, who asked and what fired, where known. */
static GVariant *
starting_details (JobdJob *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "reason",
                         g_variant_new_string (self->start_reason ? self->start_reason : JOBD_REASON_MANUAL));
  if (self->start_uid != JOBD_UID_NONE)
    g_variant_builder_add (&builder, "{sv}", "caller-uid", g_variant_new_uint32 (self->start_uid));
  if (self->start_trigger != NULL)
    g_variant_builder_add (&builder, "{sv}", "trigger", g_variant_new_string (self->start_trigger));
  return g_variant_builder_end (&builder);
}

static void
complete_task_list (GList **tasks, const GError *error)
{
  GList *list = g_steal_pointer (tasks);

  for (GList *l = list; l != NULL; l = l->next)
    {
      GTask *task = l->data;
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
  g_list_free_full (list, g_object_unref);
}

static void
settle_down_waiters (JobdJob *self)
{
  if (self->state == JOBD_STATE_DOWN || self->state == JOBD_STATE_FAILED)
    complete_task_list (&self->down_waiters, NULL);
}

static void
cancel_restart_timer (JobdJob *self)
{
  g_clear_handle_id (&self->restart_timer, g_source_remove);
  self->next_start_at = 0;
  g_clear_pointer (&self->pending_restart_reason, g_free);
}

/* exit-code and exit-signal of the last exit, for every change after one. */
static void
add_exit_details (JobdJob *self, GVariantBuilder *b)
{
  g_variant_builder_add (b, "{sv}", "exit-code", g_variant_new_int32 (self->exit_code));
  g_variant_builder_add (b, "{sv}", "exit-signal", g_variant_new_int32 (self->exit_signal));
}

/* ---- run records (jobd-history.h) and the run-time limit ---- */

static gboolean
on_runtime_max (gpointer user_data)
{
  JobdJob *self = user_data;

  self->runtime_timer = 0;
  if (self->state != JOBD_STATE_UP || self->process == NULL)
    return G_SOURCE_REMOVE;
  jobd_job_message (self->name, "job %s: ran longer than its runtime-max-ms (%u ms), stopping it",
                    self->name, self->settings->runtime_max_ms);
  stop_up (self, JOBD_STOP_CAUSE_RUNTIME_MAX, JOBD_REASON_RUNTIME_MAX);
  return G_SOURCE_REMOVE;
}

/* The limit counts from the run's start (an adopted run's too). */
static void
arm_runtime_max (JobdJob *self)
{
  gint64 left_ms;

  g_clear_handle_id (&self->runtime_timer, g_source_remove);
  if (self->settings->runtime_max_ms == 0 || self->process == NULL)
    return;
  left_ms = (gint64) self->settings->runtime_max_ms -
            (g_get_real_time () - self->started_at) / 1000;
  self->runtime_timer = g_timeout_add ((guint) CLAMP (left_ms, 1, (gint64) G_MAXUINT),
                                       on_runtime_max, self);
}

/* The process runs: a new run (new_run) or an adopted one going on. */
static void
run_began (JobdJob *self, gboolean new_run)
{
  self->stop_cause = NULL;
  self->stop_killed = FALSE;
  self->peak_sampled = 0;
  self->memory_seen = 0;
  self->run_lines[0] = jobd_output_get_stream_lines (self->output, JOBD_STREAM_STDOUT);
  self->run_lines[1] = jobd_output_get_stream_lines (self->output, JOBD_STREAM_STDERR);
  arm_runtime_max (self);
  if (new_run && self->context->history != NULL)
    jobd_history_run_started (self->context->history, self->name, self->settings->history_size,
                              jobd_job_get_start_cause (self), self->started_at);
}

/* One reading of the job's memory for the run's peak, while it still runs
 * (a stop may end the process tree before jobd can look again). */
static void
sample_memory (JobdJob *self)
{
  guint64 bytes = 0, peak = 0;
  const char *source;

  if (self->process == NULL)
    return;
  /* (A test's fake process may measure nothing.) */
  if (JOBD_PROCESS_GET_CLASS (self->process)->get_memory != NULL &&
      jobd_process_get_memory (self->process, NULL, &bytes, &source, NULL))
    self->peak_sampled = MAX (self->peak_sampled, bytes);
  if (jobd_process_get_peak_memory (self->process, &peak, &source))
    self->peak_sampled = MAX (self->peak_sampled, peak);
}

/* Called with the process still attached and the output drained. */
static void
run_ended (JobdJob *self, int code, int signo)
{
  guint64 kernel_peak = 0;
  const char *kernel_source = NULL;
  JobdRunEnd end = {
    .end_usec = g_get_real_time (),
    .result = signo > 0 ? JOBD_RUN_RESULT_SIGNAL
              : code >= 0 ? JOBD_RUN_RESULT_EXIT_CODE : JOBD_RUN_RESULT_UNKNOWN,
    .exit_code = code >= 0 ? code : -1,
    .exit_signal = signo > 0 ? signo : 0,
    .stop_cause = self->stop_cause,
    .killed = self->stop_killed,
  };

  g_clear_handle_id (&self->runtime_timer, g_source_remove);
  if (self->context->history == NULL)
    return;
  /* The kernel's figure where it has one (a cgroup's peak covers the whole
   * job); the highest reading jobd took when that is more (children that
   * left the main process are not in its rusage). */
  if (self->process != NULL &&
      jobd_process_get_peak_memory (self->process, &kernel_peak, &kernel_source) &&
      (kernel_peak >= self->peak_sampled || !g_str_equal (kernel_source, JOBD_PEAK_SOURCE_RUSAGE)))
    {
      end.peak_memory = kernel_peak;
      end.peak_memory_source = kernel_source;
    }
  else if (self->peak_sampled > 0)
    {
      end.peak_memory = self->peak_sampled;
      end.peak_memory_source = JOBD_PEAK_SOURCE_SAMPLED;
    }
  end.stdout_lines = jobd_output_get_stream_lines (self->output, JOBD_STREAM_STDOUT) - self->run_lines[0];
  end.stderr_lines = jobd_output_get_stream_lines (self->output, JOBD_STREAM_STDERR) - self->run_lines[1];
  jobd_history_run_ended (self->context->history, self->name, self->settings->history_size, &end);
}

/* ---- construction and accessors ---- */

JobdJob *
jobd_job_new (const char *name,
              JobdSettings *settings,
              guint owner_uid,
              const JobdJobContext *context)
{
  JobdJob *self = g_object_new (JOBD_TYPE_JOB, NULL);

  self->name = g_strdup (name);
  self->owner_uid = owner_uid;
  self->context = context;
  self->output = jobd_output_new (name, settings->buffer_size);
  if (context->journal)
    jobd_output_set_line_sink (self->output, jobd_journal_line_sink, self->output);
  jobd_job_set_settings (self, settings);
  return self;
}

const char *
jobd_job_get_name (JobdJob *self)
{
  return self->name;
}

const JobdSettings *
jobd_job_get_settings (JobdJob *self)
{
  return self->settings;
}

static gboolean
limits_differ (const JobdSettings *a, const JobdSettings *b)
{
  return a->memory_max != b->memory_max || a->cpu_quota != b->cpu_quota ||
         a->tasks_max != b->tasks_max || a->memory_restart != b->memory_restart;
}

static void
on_limits_applied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!jobd_process_set_limits_finish (JOBD_PROCESS (source), result, &error))
    jobd_job_warning (name, "job %s: cannot apply the new limits to the running job: %s", name,
                      error->message);
  else
    jobd_job_message (name, "job %s: new limits applied to the running job", name);
}

/* A running job gets changed limits at once where its backend can (a
 * systemd scope; the direct backend's memory cgroup); where it cannot, it
 * says why and they apply from the next start. */
static void
apply_limits_now (JobdJob *self)
{
  JobdLimits limits;

  if (self->process == NULL || !jobd_process_can_set_limits (self->process))
    return;
  limits = jobd_launch_limits (self->settings);
  jobd_process_set_limits_async (self->process, &limits, NULL,
                                 on_limits_applied, g_strdup (self->name));
}

/* Limits the backend cannot enforce are said, not silently kept: a log
 * line here (every front end sets settings through this), and
 * "limits-not-enforced" in the runtime properties for clients. */
static void
warn_unenforced_limits (JobdJob *self)
{
  JobdLimits limits = jobd_launch_limits (self->settings);
  g_auto(GStrv) names = jobd_spawner_unenforced_limits (self->context->spawner, &limits);
  g_autofree char *list = NULL;

  if (names[0] == NULL)
    return;
  list = g_strjoinv (", ", names);
  jobd_job_warning (self->name, "job %s: %s not enforced by the %s backend", self->name, list,
                    jobd_spawner_get_name (self->context->spawner));
}

void
jobd_job_set_settings (JobdJob *self, JobdSettings *settings)
{
  gboolean new_limits = self->settings != NULL && limits_differ (self->settings, settings);
  gboolean first = self->settings == NULL;

  g_clear_pointer (&self->settings, jobd_settings_free);
  self->settings = settings;
  if (new_limits)
    apply_limits_now (self);
  if (new_limits || first)
    warn_unenforced_limits (self);
  if (self->process != NULL)
    arm_runtime_max (self);
  if (self->context->history != NULL)
    jobd_history_set_size (self->context->history, self->name, settings->history_size);
  jobd_output_set_buffer_size (self->output, settings->buffer_size);
  jobd_output_set_log_dir (self->output,
                           settings->write_log ? self->context->log_dir : NULL);
  if (self->instances != NULL)
    jobd_instances_apply_settings (self->instances, settings,
                                   self->wanted_up && jobd_job_is_active (self));
  else if (!first && self->instance == 0 && settings->instances > 1 &&
           self->state == JOBD_STATE_UP && self->wanted_up)
    {
      /* Its one process becomes instance 1 of N: it starts again as such
       * (with JOBD_INSTANCE), the others with it. */
      g_autofree char *message = g_strdup_printf ("scaled to %u instances", settings->instances);
      jobd_job_restart_for (self, JOBD_REASON_SCALE, NULL, message, NULL);
    }
  emit_changed (self, TRUE);
}

guint
jobd_job_get_owner_uid (JobdJob *self)
{
  return self->owner_uid;
}

JobdState
jobd_job_get_state (JobdJob *self)
{
  return self->state;
}

gboolean
jobd_job_is_active (JobdJob *self)
{
  return self->state == JOBD_STATE_STARTING ||
         self->state == JOBD_STATE_UP ||
         self->state == JOBD_STATE_STOPPING;
}

gboolean
jobd_job_get_wanted_up (JobdJob *self)
{
  return self->wanted_up;
}

/* Of several instances: the lowest one that runs speaks for the job's
 * process, PID and start time (the legacy protocol sees one job). */
static JobdJob *
speaker (JobdJob *self)
{
  JobdJob *first = self->instances != NULL ? jobd_instances_first_running (self->instances) : NULL;

  return first != NULL ? first : self;
}

JobdProcess *
jobd_job_get_process (JobdJob *self)
{
  return speaker (self)->process;
}

GPid
jobd_job_get_pid (JobdJob *self)
{
  JobdJob *job = speaker (self);

  return job->process != NULL ? jobd_process_get_pid (job->process) : 0;
}

gint64
jobd_job_get_started_at (JobdJob *self)
{
  JobdJob *job = speaker (self);

  return job->process != NULL ? job->started_at : 0;
}

gint64
jobd_job_get_next_start_at (JobdJob *self)
{
  return self->next_start_at;
}

int
jobd_job_get_exit_code (JobdJob *self)
{
  return self->exit_code;
}

int
jobd_job_get_exit_signal (JobdJob *self)
{
  return self->exit_signal;
}

guint
jobd_job_get_restarts (JobdJob *self)
{
  return self->instances != NULL ? jobd_instances_get_restarts (self->instances) : self->restarts;
}

const char *
jobd_job_get_last_restart_reason (JobdJob *self)
{
  return self->last_restart_reason;
}

const JobdRunCause *
jobd_job_get_start_cause (JobdJob *self)
{
  self->start_cause = (JobdRunCause) {
    self->start_reason ? self->start_reason : JOBD_REASON_MANUAL,
    self->start_uid,
    self->start_trigger,
  };
  return &self->start_cause;
}

static void
set_start_cause (JobdJob *self, const JobdRunCause *cause)
{
  set_string (&self->start_reason, cause != NULL ? cause->reason : JOBD_REASON_MANUAL);
  self->start_uid = cause != NULL ? cause->uid : JOBD_UID_NONE;
  set_string (&self->start_trigger, cause != NULL ? cause->trigger : NULL);
}

const char *
jobd_job_get_last_error (JobdJob *self)
{
  return self->last_error;
}

const char *
jobd_job_get_status_text (JobdJob *self)
{
  return self->status_text;
}

JobdOutput *
jobd_job_get_output (JobdJob *self)
{
  return self->output;
}

GVariant *
jobd_job_get_runtime_variant (JobdJob *self)
{
  GVariantBuilder b;
  JobdProcess *process = jobd_job_get_process (self);
  const char *unit = process != NULL ? jobd_process_get_unit (process) : NULL;
  JobdLimits limits = jobd_launch_limits (self->settings);
  g_auto(GStrv) unenforced = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "state",
                         g_variant_new_string (jobd_state_to_string (self->state)));
  g_variant_builder_add (&b, "{sv}", "main-pid", g_variant_new_uint32 (jobd_job_get_pid (self)));
  g_variant_builder_add (&b, "{sv}", "started-at",
                         g_variant_new_uint64 (jobd_job_get_started_at (self)));
  g_variant_builder_add (&b, "{sv}", "exit-code", g_variant_new_int32 (self->exit_code));
  g_variant_builder_add (&b, "{sv}", "exit-signal", g_variant_new_int32 (self->exit_signal));
  g_variant_builder_add (&b, "{sv}", "restarts", g_variant_new_uint32 (jobd_job_get_restarts (self)));
  g_variant_builder_add (&b, "{sv}", "last-restart-reason",
                         g_variant_new_string (self->last_restart_reason ? self->last_restart_reason : ""));
  g_variant_builder_add (&b, "{sv}", "last-error",
                         g_variant_new_string (self->last_error ? self->last_error : ""));
  g_variant_builder_add (&b, "{sv}", "next-start-at", g_variant_new_uint64 (self->next_start_at));
  g_variant_builder_add (&b, "{sv}", "owner-uid", g_variant_new_uint32 (self->owner_uid));
  g_variant_builder_add (&b, "{sv}", "unit", g_variant_new_string (unit ? unit : ""));
  g_variant_builder_add (&b, "{sv}", "wanted-up", g_variant_new_boolean (self->wanted_up));
  g_variant_builder_add (&b, "{sv}", "status-text",
                         g_variant_new_string (self->status_text ? self->status_text : ""));
  g_variant_builder_add (&b, "{sv}", "reloading", g_variant_new_boolean (self->reloading));
  unenforced = jobd_spawner_unenforced_limits (self->context->spawner, &limits);
  if (unenforced[0] != NULL)
    g_variant_builder_add (&b, "{sv}", "limits-not-enforced",
                           g_variant_new_strv ((const char *const *) unenforced, -1));
  if (self->instances != NULL)
    jobd_instances_add_runtime (self->instances, &b);
  return g_variant_builder_end (&b);
}

/* ---- exits and the restart policy ---- */

static gboolean
exit_wants_restart (JobdJob *self)
{
  switch (self->settings->restart)
    {
    case JOBD_RESTART_ALWAYS:
      return TRUE;
    case JOBD_RESTART_ON_FAILURE:
      return self->exit_code != 0 || self->exit_signal != 0;
    case JOBD_RESTART_NO:
    default:
      return FALSE;
    }
}

/* Record an automatic restart; FALSE when the start limit is hit. */
static gboolean
start_limit_allows (JobdJob *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 window = (gint64) self->settings->start_limit_interval_ms * 1000;

  while (!g_queue_is_empty (&self->restart_times))
    {
      gint64 oldest = *(gint64 *) g_queue_peek_head (&self->restart_times);
      if (now - oldest < window)
        break;
      g_free (g_queue_pop_head (&self->restart_times));
    }
  if (self->settings->start_limit_burst > 0 &&
      g_queue_get_length (&self->restart_times) >= self->settings->start_limit_burst)
    return FALSE;
  g_queue_push_tail (&self->restart_times, g_memdup2 (&now, sizeof now));
  return TRUE;
}

static guint
next_backoff_delay_ms (JobdJob *self, gint64 uptime_usec)
{
  guint64 delay;

  if (uptime_usec >= (gint64) self->settings->restart_reset_ms * 1000)
    self->backoff_attempt = 0;
  delay = self->settings->restart_delay_ms;
  for (guint i = 0; i < self->backoff_attempt && delay < self->settings->restart_delay_max_ms; i++)
    delay *= 2;
  delay = MIN (delay, self->settings->restart_delay_max_ms);
  self->backoff_attempt++;
  return (guint) delay;
}

static gboolean
on_restart_timer (gpointer user_data)
{
  JobdJob *self = user_data;
  g_autofree char *reason = g_steal_pointer (&self->pending_restart_reason);

  self->restart_timer = 0;
  self->next_start_at = 0;
  self->restarts++;
  set_string (&self->last_restart_reason, reason);
  set_start_cause (self, &JOBD_RUN_CAUSE (JOBD_REASON_POLICY));
  job_spawn (self);
  return G_SOURCE_REMOVE;
}

/* Too many automatic restarts within the start limit's interval: failed. */
static void
fail_start_limit (JobdJob *self)
{
  GVariantBuilder b;
  g_autofree char *msg =
    g_strdup_printf ("restarted %u times within %u ms; not restarting again",
                     self->settings->start_limit_burst,
                     self->settings->start_limit_interval_ms);

  set_string (&self->last_error, msg);
  jobd_job_log (G_LOG_LEVEL_WARNING, self->name, JOBD_MESSAGE_ID_START_LIMIT,
                JOBD_REASON_START_LIMIT, "job %s: %s", self->name, msg);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (JOBD_REASON_START_LIMIT));
  g_variant_builder_add (&b, "{sv}", "error", g_variant_new_string (msg));
  add_exit_details (self, &b);
  set_state (self, JOBD_STATE_FAILED, g_variant_builder_end (&b));
  settle_down_waiters (self);
}

static void
schedule_restart (JobdJob *self, const char *why, gint64 uptime_usec)
{
  GVariantBuilder b;
  guint delay_ms;

  if (!start_limit_allows (self))
    {
      fail_start_limit (self);
      return;
    }

  delay_ms = next_backoff_delay_ms (self, uptime_usec);
  self->pending_restart_reason = g_strdup (why);
  self->next_start_at = g_get_real_time () + (gint64) delay_ms * 1000;
  self->restart_timer = g_timeout_add (delay_ms, on_restart_timer, self);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (JOBD_REASON_POLICY));
  g_variant_builder_add (&b, "{sv}", "restart-reason", g_variant_new_string (why));
  g_variant_builder_add (&b, "{sv}", "delay-ms", g_variant_new_uint32 (delay_ms));
  g_variant_builder_add (&b, "{sv}", "next-start-at", g_variant_new_uint64 (self->next_start_at));
  add_exit_details (self, &b);
  set_state (self, JOBD_STATE_STARTING, g_variant_builder_end (&b));
}

static void
release_process (JobdJob *self, gboolean forget_fds)
{
  g_clear_handle_id (&self->kill_timer, g_source_remove);
  g_clear_handle_id (&self->runtime_timer, g_source_remove);
  stop_waiting (self);
  close_notify (self);
  if (self->process == NULL)
    return;
  if (forget_fds)
    jobd_process_forget_output (self->process);
  g_clear_signal_handler (&self->exited_handler, self->process);
  if (forget_fds)
    jobd_output_detach (self->output);
  else
    jobd_output_release (self->output);   /* a line in flight stays in its FIFO */
  g_clear_object (&self->process);
}

/* The run jobd_job_restart_for() stopped has ended: the next one starts
 * at once (no backoff: nothing failed), within the start limit. */
static void
renew_run (JobdJob *self, const char *reason, const char *trigger)
{
  if (!start_limit_allows (self))
    {
      fail_start_limit (self);
      return;
    }
  self->restarts++;
  set_string (&self->last_restart_reason, reason);
  set_start_cause (self, &(JobdRunCause) { reason, JOBD_UID_NONE, trigger });
  if (use_instances (self))
    start_instances (self, NULL, &(JobdRunCause) { reason, JOBD_UID_NONE, trigger });
  else
    job_spawn (self);
}

static void
on_process_exited (JobdProcess *process, int code, int signo, gpointer user_data)
{
  JobdJob *self = user_data;
  g_autofree char *exit_line = NULL;
  g_autofree char *fault = NULL;
  g_autofree char *renew_trigger = NULL;
  gboolean renew;
  const char *why;
  gint64 uptime = g_get_monotonic_time () - self->started_mono;
  gboolean requested = self->stop_requested;
  GVariantBuilder b;

  g_object_ref (self);

  /* Read what the job wrote before it died, before the exit line; detach
   * (not just drain) so a last line without a newline comes first too. */
  jobd_output_detach (self->output);
  self->exit_code = code;
  self->exit_signal = signo > 0 ? signo : 0;
  why = self->exit_signal > 0 ? JOBD_REASON_SIGNAL : JOBD_REASON_EXIT_CODE;
  /* The legacy exit line, only in the legacy log files (where the old
   * server wrote it), not in the job's own output; worded as the API has it. */
  if (self->exit_signal > 0)
    exit_line = g_strdup_printf ("Process \"%s\" killed by signal %d.", self->name,
                                 self->exit_signal);
  else
    exit_line = g_strdup_printf ("Process \"%s\" exit with code %d.", self->name, code);
  jobd_output_log_only (self->output, JOBD_STREAM_STDOUT, exit_line);
  run_ended (self, code, signo);
  release_process (self, TRUE);
  self->stop_requested = FALSE;
  fault = g_steal_pointer (&self->fault_reason);
  renew_trigger = g_steal_pointer (&self->renew_trigger);
  renew = self->renew;
  self->renew = FALSE;
  fail_pending_start (self);

  if (!requested && fault != NULL && renew)
    renew_run (self, fault, renew_trigger);
  else if (!requested && fault != NULL)
    exit_after_fault (self, fault, uptime);
  else if (!requested && self->wanted_up && exit_wants_restart (self))
    schedule_restart (self, why, uptime);
  else
    {
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "reason",
                             g_variant_new_string (!requested ? why
                                                   : g_strcmp0 (self->stop_cause, JOBD_STOP_CAUSE_RUNTIME_MAX) == 0
                                                   ? JOBD_REASON_RUNTIME_MAX
                                                   : g_strcmp0 (self->stop_cause, JOBD_REASON_DEPENDENCY) == 0
                                                   ? JOBD_REASON_DEPENDENCY : JOBD_REASON_MANUAL));
      add_exit_details (self, &b);
      if (self->stop_cause != NULL)
        g_variant_builder_add (&b, "{sv}", "stop-cause", g_variant_new_string (self->stop_cause));
      if (!requested)
        self->wanted_up = FALSE;
      set_state (self, JOBD_STATE_DOWN, g_variant_builder_end (&b));
      settle_down_waiters (self);
    }
  g_object_unref (self);
}

/* ---- starting ---- */

static void
start_failed (JobdJob *self, const GError *error)
{
  set_string (&self->last_error, error->message);
  jobd_job_warning (self->name, "job %s: cannot start: %s", self->name, error->message);
  if (self->context->history != NULL)
    jobd_history_run_failed (self->context->history, self->name, self->settings->history_size,
                             jobd_job_get_start_cause (self), error->message);
  self->wanted_up = FALSE;
  set_state (self, JOBD_STATE_FAILED, details_new (JOBD_REASON_SPAWN_ERROR, error->message));
  complete_task_list (&self->start_tasks, error);
  settle_down_waiters (self);
}

static void
attach_process (JobdJob *self, JobdProcess *process)
{
  int out_fd, err_fd;

  self->process = g_object_ref (process);
  self->exited_handler = g_signal_connect (process, "exited",
                                           G_CALLBACK (on_process_exited), self);
  /* Taking them keeps them in the fd store while the job runs. */
  out_fd = jobd_process_steal_stdout (process);
  err_fd = jobd_process_steal_stderr (process);
  if (out_fd >= 0)
    jobd_output_attach (self->output, JOBD_STREAM_STDOUT, out_fd);
  if (err_fd >= 0)
    jobd_output_attach (self->output, JOBD_STREAM_STDERR, err_fd);
  listen_notify (self);
}

/* The process may have ended before attach_process() connected to
 * "exited" (its pidfd woke the main loop before the spawner's result was
 * delivered): handle that exit now. TRUE when it had ended. */
static gboolean
handle_early_exit (JobdJob *self)
{
  int code, signo;

  if (self->process == NULL ||
      !jobd_process_get_exit_status (self->process, &code, &signo))
    return FALSE;
  on_process_exited (self->process, code, signo, self);
  return TRUE;
}

static void
on_spawned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(JobdJob) self = user_data;
  g_autoptr(JobdProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  /* A launch request that could not be made fails here too, so that
   * "starting" goes out before "failed" whichever step said no. */
  if (g_async_result_is_tagged (result, job_spawn))
    process = g_task_propagate_pointer (G_TASK (result), &error);
  else
    process = jobd_spawner_spawn_finish (JOBD_SPAWNER (source), result, &error);
  g_clear_object (&self->start_cancellable);

  if (self->disposed)
    {
      /* Removed, or jobd is going away, while this start was under way:
       * nobody will track the process any more, so it must not run on. */
      if (process != NULL)
        jobd_process_kill_all (process, SIGKILL, NULL);
      return;
    }

  if (process == NULL)
    {
      close_notify (self);
      if (self->stop_requested)
        {
          /* Stopped while starting: the spawner gave up, as asked. */
          self->stop_requested = FALSE;
          set_state (self, JOBD_STATE_DOWN, details_new (JOBD_REASON_MANUAL, NULL));
          complete_task_list (&self->start_tasks, error);
          settle_down_waiters (self);
          return;
        }
      start_failed (self, error);
      return;
    }

  self->started_at = g_get_real_time ();
  self->started_mono = g_get_monotonic_time ();
  self->exit_code = -1;
  self->exit_signal = 0;
  g_clear_pointer (&self->last_error, g_free);
  attach_process (self, process);
  run_began (self, TRUE);

  if (self->ready.mode == JOBD_READY_EXEC)
    announce_up (self);
  else
    await_ready (self);
  if (handle_early_exit (self))
    return;

  /* A stop that arrived while the start was under way (between the
   * spawner's work and its report, or while systemd set up the scope):
   * it stops the process this start created, never leaves it running. */
  if (self->stop_requested)
    {
      self->stop_requested = FALSE;
      jobd_job_stop (self, NULL);
    }
}

static void
job_spawn (JobdJob *self)
{
  g_auto(JobdChildSpec) child = { 0 };
  g_autoptr(GError) error = NULL;
  JobdSpawnRequest request = {
    .job_name = io_name (self),
    .instance = self->instance,
    .runtime_dir = self->context->runtime_dir,
    .child = &child,
    .limits = jobd_launch_limits (self->settings),
  };

  self->wanted_up = TRUE;
  self->stop_requested = FALSE;
  self->start_cancellable = g_cancellable_new ();
  if (prepare_child (self, &child, &error))
    jobd_spawner_spawn_async (self->context->spawner, &request, self->start_cancellable,
                              on_spawned, g_object_ref (self));
  else
    g_task_report_error (self, on_spawned, g_object_ref (self), job_spawn,
                         g_steal_pointer (&error));
  /* Announced once the spawner is at work: the log line and the D-Bus
   * signals are not in the way of the program starting. The spawner's
   * result comes in a later main-loop iteration (GTask), so "starting"
   * still goes out before "up" or "failed". */
  if (self->state != JOBD_STATE_STARTING)
    set_state (self, JOBD_STATE_STARTING, starting_details (self));
}

void
jobd_job_start_async (JobdJob *self,
                      const JobdRunCause *cause,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, jobd_job_start_async);

  if (self->restart_timer != 0)
    {
      /* Waiting to restart: a start request means now. */
      cancel_restart_timer (self);
    }
  else if (jobd_job_is_active (self))
    {
      g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING,
                               "job '%s' is already %s", self->name,
                               jobd_state_to_string (self->state));
      return;
    }

  if (use_instances (self))
    {
      start_instances (self, g_steal_pointer (&task), cause);
      return;
    }
  self->start_tasks = g_list_append (self->start_tasks, g_steal_pointer (&task));
  set_start_cause (self, cause);
  /* A manual start clears the history of automatic restarts. */
  self->backoff_attempt = 0;
  g_queue_clear_full (&self->restart_times, g_free);
  job_spawn (self);
}

gboolean
jobd_job_start_finish (JobdJob *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- stopping and signals ---- */

static gboolean
on_kill_timer (gpointer user_data)
{
  JobdJob *self = user_data;
  g_autoptr(GError) error = NULL;

  self->kill_timer = 0;
  self->stop_killed = TRUE;
  jobd_job_warning (self->name, "job %s: did not stop within %u ms, sending SIGKILL",
                    self->name, self->settings->stop_timeout_ms);
  if (self->process != NULL && !jobd_process_kill_all (self->process, SIGKILL, &error))
    jobd_job_warning (self->name, "job %s: %s", self->name, error->message);
  return G_SOURCE_REMOVE;
}

/* ---- readiness, sd_notify and the watchdog ---- */

static gboolean
needs_notify (const JobdSettings *settings)
{
  return g_strcmp0 (settings->ready, "notify") == 0 || settings->watchdog_ms > 0;
}

static void on_notify (const JobdNotifyMessage *message, GPid pid, uid_t uid, gpointer user_data);

/* Before the program runs, so that a message it sends at once finds the
 * socket; paused until jobd knows the job's PID (listen_notify). */
static gboolean
open_notify (JobdJob *self, GError **error)
{
  g_autofree char *dir = g_build_filename (self->context->runtime_dir, "notify", NULL);
  g_autofree char *path = g_build_filename (dir, io_name (self), NULL);

  if (self->notify != NULL || !needs_notify (self->settings))
    return TRUE;
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int saved = errno;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED, "cannot create %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  self->notify = jobd_notify_socket_new (path, on_notify, self, error);
  if (self->notify != NULL)
    jobd_notify_socket_set_paused (self->notify, TRUE);
  return self->notify != NULL;
}

/* The process is known: senders can be checked, read what waits. */
static void
listen_notify (JobdJob *self)
{
  g_autoptr(GError) error = NULL;

  self->watchdog_usec = (guint64) self->settings->watchdog_ms * 1000;
  if (self->notify == NULL && !open_notify (self, &error))
    jobd_job_warning (self->name, "job %s: %s", self->name, error->message);
  if (self->notify != NULL)
    jobd_notify_socket_set_paused (self->notify, FALSE);
}

static void
close_notify (JobdJob *self)
{
  g_clear_pointer (&self->notify, jobd_notify_socket_free);
}

/* The start-time part of the readiness: the spec, NOTIFY_SOCKET. */
static gboolean
prepare_child (JobdJob *self, JobdChildSpec *child, GError **error)
{
  jobd_ready_spec_clear (&self->ready);
  if (!jobd_ready_spec_parse (self->settings->ready, &self->ready, error) ||
      !jobd_launch_child_spec_init (child, self->name, self->settings, self->owner_uid, error))
    return FALSE;
  g_clear_pointer (&self->status_text, g_free);
  g_clear_pointer (&self->fault_reason, g_free);
  self->reloading = FALSE;
  self->notify_main_pid = 0;
  close_notify (self);
  if (!open_notify (self, error))
    {
      jobd_child_spec_clear (child);
      return FALSE;
    }
  if (self->notify != NULL)
    child->envp = g_environ_setenv (child->envp, "NOTIFY_SOCKET",
                                    jobd_notify_socket_get_path (self->notify), TRUE);
  if (self->settings->watchdog_ms > 0)
    {
      g_autofree char *usec = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                               (guint64) self->settings->watchdog_ms * 1000);
      child->envp = g_environ_setenv (child->envp, "WATCHDOG_USEC", usec, TRUE);
    }
  return TRUE;
}

/* Nothing more to wait for: readiness, its timeout, the watchdog. */
static void
stop_waiting (JobdJob *self)
{
  g_clear_pointer (&self->readiness, jobd_readiness_free);
  g_clear_handle_id (&self->ready_timer, g_source_remove);
  g_clear_handle_id (&self->watchdog_timer, g_source_remove);
}

/* The state change of a started job that is ready: at exec for ready=exec. */
static void
announce_up (JobdJob *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "reason",
                         g_variant_new_string (self->start_reason ? self->start_reason : JOBD_REASON_MANUAL));
  g_variant_builder_add (&b, "{sv}", "main-pid",
                         g_variant_new_uint32 (jobd_process_get_pid (self->process)));
  set_state (self, JOBD_STATE_UP, g_variant_builder_end (&b));
  complete_task_list (&self->start_tasks, NULL);
  arm_watchdog (self);
}

static void
become_ready (JobdJob *self)
{
  if (self->state != JOBD_STATE_STARTING || self->process == NULL || self->stop_requested ||
      self->fault_reason != NULL)
    return;
  stop_waiting (self);
  announce_up (self);
}

static void
on_readiness (gpointer user_data)
{
  become_ready (user_data);
}

/* jobd stops the job for a failure of its own finding (ready-timeout,
 * watchdog); the exit that follows is that failure (exit_after_fault). */
static void
fail_running (JobdJob *self, const char *reason, const char *message)
{
  g_autoptr(GError) kill_error = NULL;

  stop_waiting (self);
  set_string (&self->fault_reason, reason);
  set_string (&self->last_error, message);
  jobd_job_log (G_LOG_LEVEL_WARNING, self->name, JOBD_MESSAGE_ID_STATE_CHANGED, reason,
                "job %s: %s, stopping it", self->name, message);
  set_state (self, JOBD_STATE_STOPPING, details_new (reason, message));
  if (!jobd_process_kill_all (self->process, self->settings->stop_signal, &kill_error))
    jobd_job_warning (self->name, "job %s: %s", self->name, kill_error->message);
  g_clear_handle_id (&self->kill_timer, g_source_remove);
  self->kill_timer = g_timeout_add (MAX (self->settings->stop_timeout_ms, 1), on_kill_timer, self);
}

/* A job stopped for ready-timeout is a failed start: restarted when its
 * restart policy restarts failures, else failed. A watchdog miss restarts
 * (that is what a watchdog is for), within the start limit. */
static void
exit_after_fault (JobdJob *self, const char *fault, gint64 uptime_usec)
{
  gboolean restart = self->wanted_up &&
    (g_str_equal (fault, JOBD_REASON_WATCHDOG) || self->settings->restart != JOBD_RESTART_NO);

  if (restart)
    {
      schedule_restart (self, fault, uptime_usec);
      return;
    }
  self->wanted_up = FALSE;
  set_state (self, JOBD_STATE_FAILED, details_new (fault, self->last_error));
  settle_down_waiters (self);
}

/* The process ended before it was ready: who waits for the start hears it. */
static void
fail_pending_start (JobdJob *self)
{
  g_autoptr(GError) error = NULL;

  if (self->start_tasks == NULL)
    return;
  if (self->fault_reason != NULL && self->last_error != NULL)
    error = g_error_new (JOBD_ERROR, JOBD_ERROR_FAILED, "job '%s': %s", self->name, self->last_error);
  else
    error = g_error_new (JOBD_ERROR, JOBD_ERROR_FAILED, "job '%s' ended before it was ready",
                         self->name);
  complete_task_list (&self->start_tasks, error);
}

static gboolean
on_ready_timeout (gpointer user_data)
{
  JobdJob *self = user_data;
  gint64 left = self->ready_deadline - g_get_monotonic_time ();
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;

  self->ready_timer = 0;
  if (left > 1000)
    {
      /* Moved by EXTEND_TIMEOUT_USEC= */
      self->ready_timer = g_timeout_add ((guint) MIN (left / 1000, G_MAXUINT), on_ready_timeout, self);
      return G_SOURCE_REMOVE;
    }
  message = g_strdup_printf ("not ready within %u ms (ready=%s)",
                             self->settings->ready_timeout_ms, self->settings->ready);
  fail_running (self, JOBD_REASON_READY_TIMEOUT, message);
  error = g_error_new (JOBD_ERROR, JOBD_ERROR_FAILED, "job '%s': %s", self->name, message);
  complete_task_list (&self->start_tasks, error);
  return G_SOURCE_REMOVE;
}

/* starting → starting with the main PID: the program runs. A state change,
 * so that clients learn the PID and the manager records the process (a
 * jobd restarted now takes it back, still waiting for it to be ready). */
static void
announce_running (JobdJob *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "reason",
                         g_variant_new_string (self->start_reason ? self->start_reason : JOBD_REASON_MANUAL));
  g_variant_builder_add (&b, "{sv}", "main-pid",
                         g_variant_new_uint32 (jobd_process_get_pid (self->process)));
  set_state (self, JOBD_STATE_STARTING, g_variant_builder_end (&b));
}

/* Running, not ready yet: the job stays starting until its readiness says
 * so, or its ready-timeout-ms is over. */
static void
await_ready (JobdJob *self)
{
  g_auto(JobdChildSpec) probe_child = { 0 };
  g_autoptr(GError) error = NULL;
  guint timeout_ms = self->settings->ready_timeout_ms;

  announce_running (self);
  jobd_job_debug (self->name, "job %s: running, waiting until ready (%s)", self->name,
                  self->settings->ready);
  if (timeout_ms > 0)
    {
      self->ready_deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
      self->ready_timer = g_timeout_add (timeout_ms, on_ready_timeout, self);
    }
  if (self->ready.mode == JOBD_READY_NOTIFY)
    return;
  if (self->ready.mode == JOBD_READY_EXEC_PROBE &&
      !jobd_launch_child_spec_init (&probe_child, self->name, self->settings, self->owner_uid,
                                    &error))
    {
      jobd_job_warning (self->name, "job %s: cannot run the readiness probe: %s", self->name,
                        error->message);
      return;   /* the ready-timeout decides */
    }
  self->readiness = jobd_readiness_new (self->name, &self->ready, self->output, &probe_child,
                                        jobd_job_get_pid (self), on_readiness, self);
}

static gboolean
on_watchdog_timeout (gpointer user_data)
{
  JobdJob *self = user_data;
  g_autofree char *message = g_strdup_printf ("no WATCHDOG=1 within %" G_GUINT64_FORMAT " ms",
                                              self->watchdog_usec / 1000);

  self->watchdog_timer = 0;
  fail_running (self, JOBD_REASON_WATCHDOG, message);
  return G_SOURCE_REMOVE;
}

/* (Re)start the watchdog period: when up, at every WATCHDOG=1. */
static void
arm_watchdog (JobdJob *self)
{
  g_clear_handle_id (&self->watchdog_timer, g_source_remove);
  if (self->watchdog_usec == 0 || self->state != JOBD_STATE_UP || self->process == NULL)
    return;
  self->watchdog_timer = g_timeout_add ((guint) MAX (1, MIN (self->watchdog_usec / 1000, G_MAXUINT)),
                                        on_watchdog_timeout, self);
}

/* A sender that is not one of the job's processes: ignored, and said in
 * the log at most once every 10 s (a foreign flood must not flood the log). */
static void
note_foreign_sender (JobdJob *self, GPid pid, uid_t uid)
{
  gint64 now = g_get_monotonic_time ();

  self->foreign_ignored++;
  if (self->foreign_logged_at != 0 && now - self->foreign_logged_at < 10 * G_USEC_PER_SEC)
    return;
  self->foreign_logged_at = now;
  jobd_job_warning (self->name,
                    "job %s: ignored a notify message from PID %d (uid %u): not a process of "
                    "the job (%u ignored so far)", self->name, (int) pid, (guint) uid,
                    self->foreign_ignored);
}

static void
set_status_text (JobdJob *self, const char *text)
{
  if (g_strcmp0 (self->status_text, text) == 0)
    return;
  set_string (&self->status_text, *text != '\0' ? text : NULL);
  emit_changed (self, FALSE);
}

static void
extend_ready_timeout (JobdJob *self, guint64 usec)
{
  gint64 wanted = g_get_monotonic_time () + (gint64) MIN (usec, (guint64) G_MAXINT64 / 2);

  if (self->ready_timer == 0 || wanted <= self->ready_deadline)
    return;
  self->ready_deadline = wanted;   /* on_ready_timeout re-arms to it */
  jobd_job_debug (self->name, "job %s: ready-timeout extended by %" G_GUINT64_FORMAT " µs",
                  self->name, usec);
}

static void
on_notify_reloading (JobdJob *self, gboolean reloading)
{
  if (self->reloading == reloading)
    return;
  self->reloading = reloading;
  jobd_job_message (self->name, "job %s: %s", self->name,
                    reloading ? "reloading (RELOADING=1)" : "reloaded (READY=1)");
  emit_changed (self, FALSE);
}

static void
on_notify (const JobdNotifyMessage *m, GPid pid, uid_t uid, gpointer user_data)
{
  JobdJob *self = user_data;

  if (self->process == NULL || !jobd_process_owns_pid (self->process, pid))
    {
      note_foreign_sender (self, pid, uid);
      return;
    }
  if (m->status != NULL)
    set_status_text (self, m->status);
  if (m->main_pid > 0 && m->main_pid != self->notify_main_pid &&
      jobd_process_owns_pid (self->process, m->main_pid))
    self->notify_main_pid = m->main_pid;
  if (m->extend_timeout_usec > 0)
    extend_ready_timeout (self, m->extend_timeout_usec);
  if (m->reloading)
    on_notify_reloading (self, TRUE);
  if (m->stopping)
    {
      /* Shutting down on its own: no pings are owed any more. */
      jobd_job_message (self->name, "job %s: stopping (STOPPING=1)", self->name);
      g_clear_handle_id (&self->watchdog_timer, g_source_remove);
      self->watchdog_usec = 0;
    }
  if (m->watchdog_usec > 0 && !m->stopping)
    self->watchdog_usec = m->watchdog_usec;
  if (m->ready)
    {
      on_notify_reloading (self, FALSE);
      if (self->ready.mode == JOBD_READY_NOTIFY)
        become_ready (self);
    }
  if (m->watchdog_trigger && self->state == JOBD_STATE_UP)
    fail_running (self, JOBD_REASON_WATCHDOG, "the job asked for it (WATCHDOG=trigger)");
  else if ((m->watchdog || m->watchdog_usec > 0) && self->watchdog_timer != 0)
    arm_watchdog (self);
}

static gboolean stop_with_reason (JobdJob *self, const char *reason, GError **error);

gboolean
jobd_job_stop (JobdJob *self, GError **error)
{
  return stop_with_reason (self, JOBD_REASON_MANUAL, error);
}

static gboolean
stop_with_reason (JobdJob *self, const char *reason, GError **error)
{
  if (self->instances != NULL)
    {
      if (!jobd_job_is_active (self))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                       "job '%s' is not running", self->name);
          return FALSE;
        }
      self->wanted_up = FALSE;
      jobd_instances_stop (self->instances);
      return TRUE;
    }
  if (self->restart_timer != 0)
    {
      cancel_restart_timer (self);
      self->wanted_up = FALSE;
      set_state (self, JOBD_STATE_DOWN, details_new (reason, NULL));
      settle_down_waiters (self);
      return TRUE;
    }

  switch (self->state)
    {
    case JOBD_STATE_DOWN:
    case JOBD_STATE_FAILED:
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    case JOBD_STATE_STOPPING:
      /* A stop jobd began (ready-timeout, watchdog) is now the user's. */
      self->stop_requested = TRUE;
      self->wanted_up = FALSE;
      return TRUE;
    case JOBD_STATE_STARTING:
      if (self->process != NULL)
        break;   /* running, not ready yet: stopped like a job that is up */
      /* The spawner is still at work: cancel it; on_spawned finishes. */
      self->stop_requested = TRUE;
      self->wanted_up = FALSE;
      g_cancellable_cancel (self->start_cancellable);
      return TRUE;
    case JOBD_STATE_UP:
    default:
      break;
    }

  /* A stop for a reason of jobd's own (dependency) is its stop cause. */
  stop_up (self, g_str_equal (reason, JOBD_REASON_MANUAL) ? JOBD_STOP_CAUSE_REQUEST : g_intern_string (reason),
           reason);
  return TRUE;
}

/* Stop signal to every process, SIGKILL after the stop timeout. */
static void
stop_up (JobdJob *self, const char *cause, const char *reason)
{
  g_autoptr(GError) kill_error = NULL;

  self->stop_requested = TRUE;
  self->wanted_up = FALSE;
  self->stop_cause = cause;
  g_clear_handle_id (&self->runtime_timer, g_source_remove);
  stop_waiting (self);
  sample_memory (self);
  set_state (self, JOBD_STATE_STOPPING, details_new (reason, NULL));
  if (!jobd_process_kill_all (self->process, self->settings->stop_signal, &kill_error))
    jobd_job_warning (self->name, "job %s: %s", self->name, kill_error->message);
  self->kill_timer = g_timeout_add (MAX (self->settings->stop_timeout_ms, 1),
                                    on_kill_timer, self);
}

gboolean
jobd_job_restart_for (JobdJob *self,
                      const char *reason,
                      const char *trigger,
                      const char *message,
                      GError **error)
{
  g_autoptr(GError) kill_error = NULL;

  if (self->instances != NULL)
    {
      /* Every instance that runs, each on its own. */
      if (self->wanted_up && jobd_job_is_active (self) &&
          jobd_instances_restart_for (self->instances, reason, trigger, message))
        return TRUE;
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    }
  if (self->process == NULL || !self->wanted_up || self->stop_requested ||
      self->state == JOBD_STATE_STOPPING)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    }
  stop_waiting (self);
  g_clear_handle_id (&self->runtime_timer, g_source_remove);
  sample_memory (self);
  self->stop_cause = g_intern_string (reason);
  set_string (&self->fault_reason, reason);
  set_string (&self->renew_trigger, trigger);
  self->renew = TRUE;
  jobd_job_log (G_LOG_LEVEL_MESSAGE, self->name, JOBD_MESSAGE_ID_STATE_CHANGED, reason,
                "job %s: %s, restarting it", self->name, message);
  set_state (self, JOBD_STATE_STOPPING, details_new (reason, message));
  if (!jobd_process_kill_all (self->process, self->settings->stop_signal, &kill_error))
    jobd_job_warning (self->name, "job %s: %s", self->name, kill_error->message);
  g_clear_handle_id (&self->kill_timer, g_source_remove);
  self->kill_timer = g_timeout_add (MAX (self->settings->stop_timeout_ms, 1), on_kill_timer, self);
  return TRUE;
}

void
jobd_job_wait_down_async (JobdJob *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, jobd_job_wait_down_async);
  self->down_waiters = g_list_append (self->down_waiters, g_steal_pointer (&task));
  if (self->restart_timer == 0)
    settle_down_waiters (self);
}

gboolean
jobd_job_wait_down_finish (JobdJob *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
require_process (JobdJob *self, GError **error)
{
  if (self->process == NULL || self->state != JOBD_STATE_UP)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    }
  return TRUE;
}

gboolean
jobd_job_reload (JobdJob *self, GError **error)
{
  if (self->instances != NULL)
    {
      if (self->state != JOBD_STATE_UP)
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                       "job '%s' is not running", self->name);
          return FALSE;
        }
      return jobd_instances_reload (self->instances, error);
    }
  return require_process (self, error) &&
         jobd_process_kill_main (self->process, self->settings->reload_signal, error);
}

gboolean
jobd_job_kill (JobdJob *self, int signo, GError **error)
{
  if (self->instances != NULL)
    return jobd_instances_kill (self->instances, signo, error);
  if (self->process == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    }
  return jobd_process_kill_all (self->process, signo, error);
}

gboolean
jobd_job_get_memory (JobdJob *self,
                     JobdMemorySnapshot *snapshot,
                     guint64 *bytes,
                     const char **source,
                     GError **error)
{
  if (self->instances != NULL && jobd_instances_get_memory (self->instances, snapshot, bytes, source))
    {
      self->memory_seen = *bytes;
      return TRUE;
    }
  if (self->process == NULL)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING,
                   "job '%s' is not running", self->name);
      return FALSE;
    }
  if (!jobd_process_get_memory (self->process, snapshot, bytes, source, error))
    return FALSE;
  self->peak_sampled = MAX (self->peak_sampled, *bytes);
  self->memory_seen = *bytes;
  return TRUE;
}

guint64
jobd_job_get_memory_seen (JobdJob *self)
{
  return self->memory_seen;
}

guint64
jobd_job_get_cpu_usage (JobdJob *self, JobdMemorySnapshot *snapshot)
{
  const char *source = NULL;
  guint64 usec = 0;

  if (self->instances != NULL)
    return jobd_instances_get_cpu_usage (self->instances, snapshot);
  if (self->process == NULL ||
      !jobd_process_get_cpu_usage (self->process, snapshot, &usec, &source, NULL))
    return 0;
  return usec;
}

gboolean
jobd_job_stop_for (JobdJob *self, const char *reason, GError **error)
{
  return stop_with_reason (self, reason, error);
}

/* ---- surviving a jobd restart ---- */

/* No process: what still has to survive a jobd restart is the restart
 * counter and a start limit hit (failed stays failed in this boot). */
static JsonObject *
save_idle_record (JobdJob *self)
{
  JsonObject *record;

  if (self->restarts == 0 && self->last_restart_reason == NULL &&
      self->state != JOBD_STATE_FAILED)
    return NULL;
  record = json_object_new ();
  json_object_set_int_member (record, "restarts", self->restarts);
  if (self->last_restart_reason != NULL)
    json_object_set_string_member (record, "last-restart-reason", self->last_restart_reason);
  if (self->state == JOBD_STATE_FAILED)
    {
      json_object_set_boolean_member (record, "failed", TRUE);
      if (self->last_error != NULL)
        json_object_set_string_member (record, "last-error", self->last_error);
    }
  return record;
}

JsonObject *
jobd_job_save_record (JobdJob *self)
{
  JsonObject *record;

  if (self->instances != NULL)
    {
      record = jobd_instances_save_record (self->instances);
      if (record != NULL && self->last_restart_reason != NULL)
        json_object_set_string_member (record, "last-restart-reason", self->last_restart_reason);
      return record != NULL ? record : save_idle_record (self);
    }
  if (self->process == NULL)
    return save_idle_record (self);
  record = json_object_new ();
  jobd_process_save_record (self->process, record);
  json_object_set_int_member (record, "started-at", self->started_at);
  json_object_set_int_member (record, "restarts", self->restarts);
  if (self->last_restart_reason != NULL)
    json_object_set_string_member (record, "last-restart-reason", self->last_restart_reason);
  /* Running, not ready yet: the next jobd waits for its readiness too. */
  if (self->state == JOBD_STATE_STARTING)
    json_object_set_boolean_member (record, "not-ready", TRUE);
  return record;
}

void
jobd_job_restore_counters (JobdJob *self, JsonObject *record)
{
  self->restarts = (guint) json_object_get_int_member_with_default (record, "restarts", 0);
  set_string (&self->last_restart_reason,
              json_object_get_string_member_with_default (record, "last-restart-reason", NULL));
}

void
jobd_job_restore_failed (JobdJob *self, JsonObject *record)
{
  const char *error = json_object_get_string_member_with_default (record, "last-error", NULL);

  g_return_if_fail (self->process == NULL);
  jobd_job_restore_counters (self, record);
  set_string (&self->last_error, error);
  self->wanted_up = json_object_get_boolean_member_with_default (record, "wanted-up", FALSE);
  set_state (self, JOBD_STATE_FAILED, details_new (JOBD_REASON_RESTORE, error));
}

/* A job taken back before it was ready goes on waiting (a fresh
 * ready-timeout-ms); TRUE when it does. */
static gboolean
adopt_not_ready (JobdJob *self, JsonObject *record)
{
  if (!json_object_get_boolean_member_with_default (record, "not-ready", FALSE))
    return FALSE;
  jobd_ready_spec_clear (&self->ready);
  if (!jobd_ready_spec_parse (self->settings->ready, &self->ready, NULL) ||
      self->ready.mode == JOBD_READY_EXEC)
    return FALSE;
  set_string (&self->start_reason, JOBD_REASON_ADOPTED);
  await_ready (self);   /* → starting, reason adopted, with the main PID */
  return TRUE;
}

void
jobd_job_adopt (JobdJob *self, JobdProcess *process, JsonObject *record)
{
  gint64 started_at = json_object_get_int_member_with_default (record, "started-at", 0);
  GVariantBuilder b;

  g_return_if_fail (self->process == NULL);

  jobd_job_restore_counters (self, record);
  self->started_at = started_at > 0 ? started_at : g_get_real_time ();
  /* Uptime so far counts toward resetting the backoff. */
  self->started_mono = g_get_monotonic_time () - MAX (0, g_get_real_time () - self->started_at);
  /* Not wanted: it was being stopped (an acknowledged Stop) when the last
   * jobd went; its exit must not look like a crash to the restart policy. */
  self->wanted_up = json_object_get_boolean_member_with_default (record, "wanted-up", TRUE);
  attach_process (self, process);
  /* The run goes on: its record (opened by the last jobd) stays open. */
  run_began (self, FALSE);

  if (!adopt_not_ready (self, record))
    {
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (JOBD_REASON_ADOPTED));
      g_variant_builder_add (&b, "{sv}", "main-pid", g_variant_new_uint32 (jobd_process_get_pid (process)));
      set_state (self, JOBD_STATE_UP, g_variant_builder_end (&b));
    }
  if (handle_early_exit (self))
    return;
  arm_watchdog (self);
  if (self->wanted_up)
    return;
  jobd_job_message (self->name, "job %s: it was being stopped, stopping it again", self->name);
  jobd_job_stop (self, NULL);
}

/* ---- GObject ---- */

/* A monitor of the running job (a file watch…) failed: its message is the
 * job's last error until the next start. */
void
jobd_job_set_last_error (JobdJob *self, const char *message)
{
  set_string (&self->last_error, message);
  emit_changed (self, FALSE);
}

static void
jobd_job_dispose (GObject *object)
{
  JobdJob *self = JOBD_JOB (object);
  g_autoptr(GError) error = g_error_new (JOBD_ERROR, JOBD_ERROR_FAILED, "job removed");

  self->disposed = TRUE;
  cancel_restart_timer (self);
  if (self->start_cancellable != NULL)
    g_cancellable_cancel (self->start_cancellable);
  complete_task_list (&self->start_tasks, error);
  complete_task_list (&self->down_waiters, error);
  /* jobd exiting is not the job exiting: the next jobd takes the fds back. */
  g_clear_pointer (&self->instances, jobd_instances_free);
  release_process (self, FALSE);
  g_clear_object (&self->output);

  G_OBJECT_CLASS (jobd_job_parent_class)->dispose (object);
}

static void
jobd_job_finalize (GObject *object)
{
  JobdJob *self = JOBD_JOB (object);

  g_free (self->name);
  g_clear_pointer (&self->settings, jobd_settings_free);
  g_clear_object (&self->start_cancellable);
  g_free (self->last_restart_reason);
  g_free (self->last_error);
  g_free (self->start_reason);
  g_free (self->start_trigger);
  g_free (self->status_text);
  g_free (self->fault_reason);
  g_free (self->renew_trigger);
  g_free (self->io_name);
  jobd_ready_spec_clear (&self->ready);
  g_queue_clear_full (&self->restart_times, g_free);

  G_OBJECT_CLASS (jobd_job_parent_class)->finalize (object);
}

static void
jobd_job_class_init (JobdJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jobd_job_dispose;
  object_class->finalize = jobd_job_finalize;

  /* state-changed (int old, int new, GVariant a{sv} details) */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_INT, G_TYPE_INT, G_TYPE_VARIANT);
  /* changed: settings or runtime properties changed */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
jobd_job_init (JobdJob *self)
{
  self->state = JOBD_STATE_DOWN;
  self->exit_code = -1;
  self->start_uid = JOBD_UID_NONE;
  g_queue_init (&self->restart_times);
}

/* ---- several instances (jobd-instances.h) ---- */

/* Decided when the job starts from nothing: a set for instances > 1, none
 * (today's code path) for one. An instance never has a set. */
static gboolean
use_instances (JobdJob *self)
{
  if (self->instance > 0)
    return FALSE;
  if (self->settings->instances > 1 && self->instances == NULL)
    self->instances = jobd_instances_new (self, self->context);
  else if (self->settings->instances <= 1 && self->instances != NULL)
    g_clear_pointer (&self->instances, jobd_instances_free);
  return self->instances != NULL;
}

static void
start_instances (JobdJob *self, GTask *task, const JobdRunCause *cause)
{
  if (task != NULL)
    self->start_tasks = g_list_append (self->start_tasks, task);
  set_start_cause (self, cause);
  self->wanted_up = TRUE;
  self->exit_code = -1;
  self->exit_signal = 0;
  g_clear_pointer (&self->last_error, g_free);
  jobd_instances_start (self->instances, self->settings->instances, cause);
}

void
jobd_job_set_instance (JobdJob *self, guint instance, const char *io)
{
  self->instance = instance;
  set_string (&self->io_name, io);
}

/* A start settles once no instance is starting: all up, or it failed. */
static void
settle_instances (JobdJob *self, JobdState state)
{
  const char *why = jobd_instances_last_error (self->instances);

  if (self->start_tasks != NULL && !jobd_instances_any_starting (self->instances))
    {
      g_autoptr(GError) error = NULL;

      if (state != JOBD_STATE_UP ||
          jobd_instances_count_up (self->instances) < jobd_instances_count (self->instances))
        error = g_error_new (JOBD_ERROR, state == JOBD_STATE_FAILED ? JOBD_ERROR_SPAWN_FAILED
                                                                     : JOBD_ERROR_FAILED,
                             "job '%s': not every instance started%s%s", self->name,
                             why != NULL ? ": " : "", why != NULL ? why : "");
      complete_task_list (&self->start_tasks, error);
    }
  if (state == JOBD_STATE_DOWN || state == JOBD_STATE_FAILED)
    {
      if (state == JOBD_STATE_FAILED)
        set_string (&self->last_error, why);
      self->wanted_up = FALSE;
      settle_down_waiters (self);
    }
}

/* An instance changed state: the job's is the set's; a change of it goes
 * out with the instance's details, its number and how many are up. */
void
jobd_job_instance_changed (JobdJob *self, guint instance, GVariant *details)
{
  JobdState state;
  const char *restart_reason = NULL;
  gint32 code, signo;

  if (self->instances == NULL)
    return;
  state = jobd_instances_get_state (self->instances);
  if (g_variant_lookup (details, "exit-code", "i", &code))
    self->exit_code = code;
  if (g_variant_lookup (details, "exit-signal", "i", &signo))
    self->exit_signal = signo;
  if (g_variant_lookup (details, "restart-reason", "&s", &restart_reason))
    set_string (&self->last_restart_reason, restart_reason);
  if (state != self->state)
    {
      GVariantBuilder b;
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_iter_init (&iter, details);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          g_variant_builder_add (&b, "{sv}", key, value);
          g_variant_unref (value);
        }
      g_variant_builder_add (&b, "{sv}", "instance", g_variant_new_uint32 (instance));
      g_variant_builder_add (&b, "{sv}", "instances-up",
                             g_variant_new_uint32 (jobd_instances_count_up (self->instances)));
      set_state (self, state, g_variant_builder_end (&b));
    }
  else
    emit_changed (self, FALSE);
  settle_instances (self, state);
}

gboolean
jobd_job_record_has_instances (JsonObject *record)
{
  return json_object_has_member (record, "instances");
}

void
jobd_job_adopt_instances (JobdJob *self,
                          JsonObject *record,
                          void (*done) (JobdJob *job, guint adopted, gpointer user_data),
                          gpointer user_data)
{
  gboolean wanted = json_object_get_boolean_member_with_default (record, "wanted-up", TRUE);

  if (self->instances == NULL)
    self->instances = jobd_instances_new (self, self->context);
  self->wanted_up = wanted;
  set_string (&self->last_restart_reason,
              json_object_get_string_member_with_default (record, "last-restart-reason", NULL));
  jobd_instances_adopt (self->instances, record, wanted, done, user_data);
}
