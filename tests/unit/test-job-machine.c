/* SPDX-License-Identifier: MIT */
/* test-job-machine.c — the job state machine (core/jobd-job.c) against a
 * fake spawner: every transition, the restart backoff and the start limit.
 *
 * No process is forked. The fake spawner hands back a FakeProcess (a
 * JobdProcess with no PID) from the next main-loop iteration, or fails, as
 * the test says; the test ends that process by emitting "exited" itself.
 * No clock hook is needed: restart delays are a few milliseconds and the
 * backoff is read from the "delay-ms" the job announces with each
 * scheduled restart; every wait iterates the main context until the event,
 * with a deadline.
 *
 * Last, the manager's restore decisions: a registry written as the last
 * jobd left it (crash, reboot, stopped through the API, failed), loaded
 * and restored with the same fake spawner, which cannot adopt. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "jobd-error.h"
#include "jobd-history.h"
#include "jobd-job.h"
#include "jobd-manager.h"
#include "jobd-store.h"
#include "test-fs-util.h"

/* ---- a fake JobdProcess ---- */

#define FAKE_TYPE_PROCESS (fake_process_get_type ())
G_DECLARE_FINAL_TYPE (FakeProcess, fake_process, FAKE, PROCESS, JobdProcess)

struct _FakeProcess {
  JobdProcess parent_instance;
  GArray *signals_sent;   /* int: every kill_all signal */
};

G_DEFINE_FINAL_TYPE (FakeProcess, fake_process, JOBD_TYPE_PROCESS)

static gboolean
fake_process_kill_all (JobdProcess *process, int signo, GError **error)
{
  FakeProcess *self = FAKE_PROCESS (process);

  g_array_append_val (self->signals_sent, signo);
  return TRUE;
}

static void
fake_process_finalize (GObject *object)
{
  g_array_unref (FAKE_PROCESS (object)->signals_sent);
  G_OBJECT_CLASS (fake_process_parent_class)->finalize (object);
}

static void
fake_process_class_init (FakeProcessClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_process_finalize;
  JOBD_PROCESS_CLASS (klass)->kill_all = fake_process_kill_all;
}

static void
fake_process_init (FakeProcess *self)
{
  self->signals_sent = g_array_new (FALSE, FALSE, sizeof (int));
}

/* What the job sees when its main process ends. */
static void
fake_process_exit (FakeProcess *self, int code, int signo)
{
  g_signal_emit_by_name (self, "exited", code, signo);
}

/* ---- a fake JobdSpawner ---- */

#define FAKE_TYPE_SPAWNER (fake_spawner_get_type ())
G_DECLARE_FINAL_TYPE (FakeSpawner, fake_spawner, FAKE, SPAWNER, GObject)

struct _FakeSpawner {
  GObject parent_instance;
  gboolean fail;          /* the next spawns fail with SPAWN_FAILED */
  guint spawns;
  FakeProcess *last;      /* the last process handed out (owned) */
};

static void fake_spawner_iface_init (JobdSpawnerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakeSpawner, fake_spawner, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOBD_TYPE_SPAWNER, fake_spawner_iface_init))

static const char *
fake_spawner_get_name (JobdSpawner *spawner)
{
  return "fake";
}

/* Like the real spawners: the result comes in a later main-loop iteration,
 * and a cancelled start ends in an error. */
static gboolean
fake_spawn_complete (gpointer user_data)
{
  GTask *task = user_data;
  FakeSpawner *self = g_task_get_source_object (task);

  if (g_task_return_error_if_cancelled (task))
    return G_SOURCE_REMOVE;
  if (self->fail)
    {
      g_task_return_new_error (task, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED, "fake spawn failure");
      return G_SOURCE_REMOVE;
    }
  g_clear_object (&self->last);
  self->last = g_object_new (FAKE_TYPE_PROCESS, NULL);
  g_task_return_pointer (task, g_object_ref (self->last), g_object_unref);
  return G_SOURCE_REMOVE;
}

static void
fake_spawner_spawn_async (JobdSpawner *spawner,
                          const JobdSpawnRequest *request,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  FakeSpawner *self = FAKE_SPAWNER (spawner);
  GTask *task = g_task_new (spawner, cancellable, callback, user_data);

  self->spawns++;
  g_idle_add_full (G_PRIORITY_DEFAULT, fake_spawn_complete, task, g_object_unref);
}

static JobdProcess *
fake_spawner_spawn_finish (JobdSpawner *spawner, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_spawner_iface_init (JobdSpawnerInterface *iface)
{
  iface->get_name = fake_spawner_get_name;
  iface->spawn_async = fake_spawner_spawn_async;
  iface->spawn_finish = fake_spawner_spawn_finish;
}

static void
fake_spawner_dispose (GObject *object)
{
  g_clear_object (&FAKE_SPAWNER (object)->last);
  G_OBJECT_CLASS (fake_spawner_parent_class)->dispose (object);
}

static void
fake_spawner_class_init (FakeSpawnerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = fake_spawner_dispose;
}

static void
fake_spawner_init (FakeSpawner *self)
{
}

/* ---- fixture ---- */

typedef struct {
  FakeSpawner *spawner;
  JobdJobContext context;
  JobdJob *job;
  GArray *states;         /* JobdState: every new state, in order */
  GArray *delays;         /* guint32: delay-ms of every scheduled restart */
  char *last_reason;      /* "reason" of the last state change */
  gboolean start_done;
  GError *start_error;
} Fixture;

static void
on_state_changed (JobdJob *job, int old_state, int new_state, GVariant *details, gpointer user_data)
{
  Fixture *f = user_data;
  JobdState state = new_state;
  guint32 delay;
  const char *reason = NULL;

  g_array_append_val (f->states, state);
  if (g_variant_lookup (details, "delay-ms", "u", &delay))
    g_array_append_val (f->delays, delay);
  g_variant_lookup (details, "reason", "&s", &reason);
  g_free (f->last_reason);
  f->last_reason = g_strdup (reason);
}

static JobdSettings *
settings_new (JobdRestartPolicy restart)
{
  JobdSettings *settings = jobd_settings_new ();

  g_free (settings->command);
  settings->command = g_strdup ("/bin/true");
  settings->restart = restart;
  settings->restart_delay_ms = 1;
  settings->restart_delay_max_ms = 8;
  settings->restart_reset_ms = 86400000;    /* never "up long enough" (the maximum) */
  settings->start_limit_burst = 1000;       /* more than any test needs */
  settings->start_limit_interval_ms = 3600 * 1000;
  settings->write_log = FALSE;
  return settings;
}

static void
fixture_init (Fixture *f, JobdSettings *settings)
{
  memset (f, 0, sizeof *f);
  f->spawner = g_object_new (FAKE_TYPE_SPAWNER, NULL);
  f->context.spawner = JOBD_SPAWNER (f->spawner);
  f->states = g_array_new (FALSE, FALSE, sizeof (JobdState));
  f->delays = g_array_new (FALSE, FALSE, sizeof (guint32));
  f->job = jobd_job_new ("machine", settings, getuid (), &f->context);
  g_signal_connect (f->job, "state-changed", G_CALLBACK (on_state_changed), f);
}

static void
fixture_clear (Fixture *f)
{
  g_signal_handlers_disconnect_by_data (f->job, f);
  g_object_run_dispose (G_OBJECT (f->job));
  g_clear_object (&f->job);
  g_clear_object (&f->spawner);
  g_array_unref (f->states);
  g_array_unref (f->delays);
  g_free (f->last_reason);
  g_clear_error (&f->start_error);
}

/* Iterate the default main context until cond holds; fail after 5 s. */
#define WAIT_UNTIL(cond) G_STMT_START {                                   \
    gint64 deadline_ = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;      \
    while (!(cond))                                                       \
      {                                                                   \
        if (g_get_monotonic_time () > deadline_)                          \
          g_error ("timed out waiting for: %s", #cond);                   \
        g_main_context_iteration (NULL, FALSE);                           \
        if (!(cond))                                                      \
          g_usleep (100);                                                 \
      }                                                                   \
  } G_STMT_END

static void
on_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;

  jobd_job_start_finish (JOBD_JOB (source), result, &f->start_error);
  f->start_done = TRUE;
}

static void
start (Fixture *f)
{
  f->start_done = FALSE;
  g_clear_error (&f->start_error);
  jobd_job_start_async (f->job, &JOBD_RUN_CAUSE (JOBD_REASON_MANUAL), NULL, on_started, f);
}

static JobdState
state_at (Fixture *f, guint i)
{
  g_assert_cmpuint (i, <, f->states->len);
  return g_array_index (f->states, JobdState, i);
}

static void
assert_states (Fixture *f, const JobdState *expected, guint n)
{
  g_assert_cmpuint (f->states->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (jobd_state_to_string (state_at (f, i)), ==, jobd_state_to_string (expected[i]));
}

/* Start the job and wait until it is up. */
static void
start_up (Fixture *f)
{
  start (f);
  g_assert_cmpint (jobd_job_get_state (f->job), ==, JOBD_STATE_STARTING);
  WAIT_UNTIL (f->start_done);
  g_assert_no_error (f->start_error);
  g_assert_cmpint (jobd_job_get_state (f->job), ==, JOBD_STATE_UP);
}

/* ---- transitions ---- */

static void
test_start_stop (void)
{
  Fixture f;
  const JobdState expected[] = {
    JOBD_STATE_STARTING, JOBD_STATE_UP, JOBD_STATE_STOPPING, JOBD_STATE_DOWN,
  };
  g_autoptr(GError) error = NULL;
  FakeProcess *process;

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  start_up (&f);
  process = f.spawner->last;
  g_assert_true (jobd_job_get_process (f.job) == JOBD_PROCESS (process));
  g_assert_true (jobd_job_get_wanted_up (f.job));

  /* A second start while up is refused. */
  start (&f);
  WAIT_UNTIL (f.start_done);
  g_assert_error (f.start_error, JOBD_ERROR, JOBD_ERROR_ALREADY_RUNNING);

  g_assert_true (jobd_job_stop (f.job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STOPPING);
  g_assert_cmpuint (process->signals_sent->len, ==, 1);
  g_assert_cmpint (g_array_index (process->signals_sent, int, 0), ==, SIGTERM);

  fake_process_exit (process, -1, SIGTERM);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_MANUAL);
  g_assert_null (jobd_job_get_process (f.job));
  g_assert_false (jobd_job_get_wanted_up (f.job));
  /* A requested stop is no crash: restart=always does not restart it. */
  g_assert_cmpuint (f.delays->len, ==, 0);
  g_assert_cmpuint (f.spawner->spawns, ==, 1);
  assert_states (&f, expected, G_N_ELEMENTS (expected));

  g_assert_false (jobd_job_stop (f.job, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING);
  fixture_clear (&f);
}

static void
test_spawn_error (void)
{
  Fixture f;
  const JobdState expected[] = { JOBD_STATE_STARTING, JOBD_STATE_FAILED };

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  f.spawner->fail = TRUE;
  start (&f);
  WAIT_UNTIL (f.start_done);
  g_assert_error (f.start_error, JOBD_ERROR, JOBD_ERROR_SPAWN_FAILED);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_FAILED);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_SPAWN_ERROR);
  g_assert_cmpstr (jobd_job_get_last_error (f.job), ==, "fake spawn failure");
  g_assert_false (jobd_job_get_wanted_up (f.job));
  assert_states (&f, expected, G_N_ELEMENTS (expected));

  /* failed is not a dead end: the next start works. */
  f.spawner->fail = FALSE;
  start_up (&f);
  g_assert_null (jobd_job_get_last_error (f.job));
  fixture_clear (&f);
}

static void
test_stop_during_start (void)
{
  Fixture f;
  const JobdState expected[] = { JOBD_STATE_STARTING, JOBD_STATE_DOWN };
  g_autoptr(GError) error = NULL;

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  start (&f);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  g_assert_true (jobd_job_stop (f.job, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (f.start_done);
  g_assert_error (f.start_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_MANUAL);
  g_assert_false (jobd_job_get_wanted_up (f.job));
  g_assert_null (f.spawner->last);
  assert_states (&f, expected, G_N_ELEMENTS (expected));
  fixture_clear (&f);
}

static void
test_exit_while_up (void)
{
  Fixture f;
  const JobdState expected[] = { JOBD_STATE_STARTING, JOBD_STATE_UP, JOBD_STATE_DOWN };

  fixture_init (&f, settings_new (JOBD_RESTART_NO));
  start_up (&f);
  fake_process_exit (f.spawner->last, 3, 0);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_cmpint (jobd_job_get_exit_code (f.job), ==, 3);
  g_assert_cmpint (jobd_job_get_exit_signal (f.job), ==, 0);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_EXIT_CODE);
  /* It ended on its own: it is no longer wanted up (restore leaves it). */
  g_assert_false (jobd_job_get_wanted_up (f.job));
  g_assert_null (jobd_job_get_process (f.job));
  assert_states (&f, expected, G_N_ELEMENTS (expected));
  fixture_clear (&f);
}

static void
test_on_failure_clean_exit (void)
{
  Fixture f;

  /* restart=on-failure: exit code 0 is not a failure, a signal is. */
  fixture_init (&f, settings_new (JOBD_RESTART_ON_FAILURE));
  start_up (&f);
  fake_process_exit (f.spawner->last, 0, 0);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_cmpuint (f.delays->len, ==, 0);

  start_up (&f);
  fake_process_exit (f.spawner->last, -1, SIGSEGV);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  g_assert_cmpuint (f.delays->len, ==, 1);
  WAIT_UNTIL (jobd_job_get_state (f.job) == JOBD_STATE_UP);
  g_assert_cmpuint (jobd_job_get_restarts (f.job), ==, 1);
  g_assert_cmpstr (jobd_job_get_last_restart_reason (f.job), ==, JOBD_REASON_SIGNAL);

  /* A backend that learns of a death by signal without an exit status
   * (code 0, signal set) still reports a failure. */
  fake_process_exit (f.spawner->last, 0, SIGTERM);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  g_assert_cmpuint (f.delays->len, ==, 2);
  fixture_clear (&f);
}

/* ---- restart policy ---- */

/* Crash the running process n times, each time waiting for the automatic
 * restart to bring it up again. */
static void
crash_and_restart (Fixture *f, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      guint spawns = f->spawner->spawns;

      fake_process_exit (f->spawner->last, 1, 0);
      g_assert_cmpint (jobd_job_get_state (f->job), ==, JOBD_STATE_STARTING);
      g_assert_cmpint (jobd_job_get_next_start_at (f->job), >, 0);
      WAIT_UNTIL (jobd_job_get_state (f->job) == JOBD_STATE_UP);
      g_assert_cmpuint (f->spawner->spawns, ==, spawns + 1);
      g_assert_cmpint (jobd_job_get_next_start_at (f->job), ==, 0);
    }
}

static void
assert_delays (Fixture *f, const guint32 *expected, guint n)
{
  g_assert_cmpuint (f->delays->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (g_array_index (f->delays, guint32, i), ==, expected[i]);
}

static void
test_backoff_doubles_to_cap (void)
{
  Fixture f;
  const guint32 expected[] = { 1, 2, 4, 8, 8, 8 };

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  start_up (&f);
  crash_and_restart (&f, G_N_ELEMENTS (expected));
  assert_delays (&f, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (jobd_job_get_restarts (f.job), ==, G_N_ELEMENTS (expected));
  g_assert_cmpstr (jobd_job_get_last_restart_reason (f.job), ==, JOBD_REASON_EXIT_CODE);
  fixture_clear (&f);
}

static void
test_backoff_resets_after_uptime (void)
{
  Fixture f;
  JobdSettings *settings = settings_new (JOBD_RESTART_ALWAYS);
  const guint32 expected[] = { 1, 1, 1, 1 };

  /* Every run counts as long enough: each crash starts from restart-delay. */
  settings->restart_reset_ms = 0;
  fixture_init (&f, settings);
  start_up (&f);
  crash_and_restart (&f, G_N_ELEMENTS (expected));
  assert_delays (&f, expected, G_N_ELEMENTS (expected));
  fixture_clear (&f);
}

static void
test_manual_start_resets_backoff (void)
{
  Fixture f;
  const guint32 expected[] = { 1, 2, 4, 1 };

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  start_up (&f);
  crash_and_restart (&f, 3);
  g_assert_true (jobd_job_stop (f.job, NULL));
  fake_process_exit (f.spawner->last, -1, SIGTERM);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  start_up (&f);
  crash_and_restart (&f, 1);
  assert_delays (&f, expected, G_N_ELEMENTS (expected));
  fixture_clear (&f);
}

static void
test_start_limit (void)
{
  Fixture f;
  JobdSettings *settings = settings_new (JOBD_RESTART_ALWAYS);

  settings->start_limit_burst = 3;
  fixture_init (&f, settings);
  start_up (&f);
  crash_and_restart (&f, 3);
  g_assert_cmpuint (f.spawner->spawns, ==, 4);

  /* The 4th automatic restart within the interval is one too many. */
  fake_process_exit (f.spawner->last, 1, 0);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_FAILED);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_START_LIMIT);
  g_assert_nonnull (jobd_job_get_last_error (f.job));
  g_assert_nonnull (strstr (jobd_job_get_last_error (f.job), "restarted 3 times"));
  g_assert_cmpint (jobd_job_get_next_start_at (f.job), ==, 0);
  /* And it stays failed: no timer is left to start it. */
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f.spawner->spawns, ==, 4);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_FAILED);

  /* A manual start clears the history: three more restarts are allowed. */
  start_up (&f);
  crash_and_restart (&f, 3);
  fixture_clear (&f);
}

static void
test_stop_pending_restart (void)
{
  Fixture f;
  JobdSettings *settings = settings_new (JOBD_RESTART_ALWAYS);
  guint spawns;

  /* A restart delay long enough that the stop comes first. */
  settings->restart_delay_ms = 60 * 1000;
  settings->restart_delay_max_ms = 60 * 1000;
  fixture_init (&f, settings);
  start_up (&f);
  spawns = f.spawner->spawns;
  fake_process_exit (f.spawner->last, 1, 0);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  g_assert_true (jobd_job_stop (f.job, NULL));
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_false (jobd_job_get_wanted_up (f.job));
  g_assert_cmpint (jobd_job_get_next_start_at (f.job), ==, 0);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f.spawner->spawns, ==, spawns);

  /* And a start while a restart is pending starts at once. */
  start_up (&f);
  fake_process_exit (f.spawner->last, 1, 0);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  start (&f);
  WAIT_UNTIL (f.start_done);
  g_assert_no_error (f.start_error);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_UP);
  fixture_clear (&f);
}

/* ---- jobd_job_restart_for(): a restart jobd decides itself ---- */

static int
last_signal (FakeProcess *process)
{
  g_assert_cmpuint (process->signals_sent->len, >, 0);
  return g_array_index (process->signals_sent, int, process->signals_sent->len - 1);
}

/* Stop signal, then at the exit a new run at once (no backoff, even with a
 * long restart delay); counted, its cause and the history say why. */
static void
test_restart_for_graceful (void)
{
  g_autofree char *dir = g_dir_make_tmp ("jobd-restart-for-XXXXXX", NULL);
  g_autoptr(JobdHistory) history = jobd_history_new (dir);
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GError) error = NULL;
  JobdSettings *settings = settings_new (JOBD_RESTART_NO);
  const JobdRunRecord *newest, *ended;
  FakeProcess *first;
  Fixture f;

  settings->restart_delay_ms = 60 * 1000;    /* a backoff would show as a pending start */
  settings->restart_delay_max_ms = 60 * 1000;
  settings->stop_signal = SIGUSR2;
  fixture_init (&f, settings);
  f.context.history = history;
  start_up (&f);
  first = g_object_ref (f.spawner->last);

  g_assert_true (jobd_job_restart_for (f.job, JOBD_REASON_HEALTH, "probe", "probe failed", &error));
  g_assert_no_error (error);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STOPPING);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_HEALTH);
  g_assert_cmpint (last_signal (first), ==, SIGUSR2);
  g_assert_cmpuint (f.spawner->spawns, ==, 1);
  /* Only one at a time: a second one while it stops is refused. */
  g_assert_false (jobd_job_restart_for (f.job, JOBD_REASON_MEMORY, NULL, "again", &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING);
  g_clear_error (&error);

  fake_process_exit (first, -1, SIGUSR2);
  /* restart=no, and yet a new run: it was not an exit the policy judges. */
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STARTING);
  g_assert_cmpint (jobd_job_get_next_start_at (f.job), ==, 0);
  WAIT_UNTIL (jobd_job_get_state (f.job) == JOBD_STATE_UP);
  g_assert_cmpuint (f.spawner->spawns, ==, 2);
  g_assert_cmpuint (f.delays->len, ==, 0);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_HEALTH);
  g_assert_cmpuint (jobd_job_get_restarts (f.job), ==, 1);
  g_assert_cmpstr (jobd_job_get_last_restart_reason (f.job), ==, JOBD_REASON_HEALTH);
  g_assert_cmpstr (jobd_job_get_start_cause (f.job)->reason, ==, JOBD_REASON_HEALTH);
  g_assert_cmpstr (jobd_job_get_start_cause (f.job)->trigger, ==, "probe");
  g_assert_cmpuint (jobd_job_get_start_cause (f.job)->uid, ==, JOBD_UID_NONE);
  g_assert_true (jobd_job_get_wanted_up (f.job));

  runs = jobd_history_list (history, "machine", 0);
  g_assert_cmpuint (runs->len, ==, 2);
  newest = runs->pdata[0];
  ended = runs->pdata[1];
  g_assert_cmpstr (newest->reason, ==, JOBD_REASON_HEALTH);
  g_assert_cmpstr (newest->trigger, ==, "probe");
  g_assert_null (newest->result);
  g_assert_cmpstr (ended->reason, ==, JOBD_REASON_MANUAL);
  g_assert_cmpstr (ended->stop_cause, ==, JOBD_REASON_HEALTH);
  g_assert_cmpstr (ended->result, ==, JOBD_RUN_RESULT_SIGNAL);

  g_object_unref (first);
  fixture_clear (&f);
  g_clear_pointer (&history, jobd_history_free);
  test_remove_tree (dir);
}

/* A job that keeps failing its probe: the start limit ends the loop. */
static void
test_restart_for_start_limit (void)
{
  JobdSettings *settings = settings_new (JOBD_RESTART_ALWAYS);
  Fixture f;

  settings->start_limit_burst = 2;
  fixture_init (&f, settings);
  start_up (&f);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (jobd_job_restart_for (f.job, JOBD_REASON_HEALTH, NULL, "failing", NULL));
      fake_process_exit (f.spawner->last, -1, SIGTERM);
      WAIT_UNTIL (jobd_job_get_state (f.job) == JOBD_STATE_UP);
    }
  g_assert_cmpuint (f.spawner->spawns, ==, 3);
  g_assert_true (jobd_job_restart_for (f.job, JOBD_REASON_HEALTH, NULL, "failing", NULL));
  fake_process_exit (f.spawner->last, -1, SIGTERM);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_FAILED);
  g_assert_cmpstr (f.last_reason, ==, JOBD_REASON_START_LIMIT);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f.spawner->spawns, ==, 3);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_FAILED);
  fixture_clear (&f);
}

/* A user's stop while the graceful stop runs wins: the job stays down. */
static void
test_restart_for_user_stop_wins (void)
{
  g_autoptr(GError) error = NULL;
  Fixture f;

  fixture_init (&f, settings_new (JOBD_RESTART_ALWAYS));
  start_up (&f);
  g_assert_true (jobd_job_restart_for (f.job, JOBD_REASON_HEALTH, NULL, "failing", NULL));
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_STOPPING);
  jobd_job_stop (f.job, &error);
  g_assert_no_error (error);
  g_assert_false (jobd_job_get_wanted_up (f.job));
  fake_process_exit (f.spawner->last, -1, SIGTERM);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f.spawner->spawns, ==, 1);
  g_assert_cmpint (jobd_job_get_state (f.job), ==, JOBD_STATE_DOWN);
  g_assert_cmpuint (jobd_job_get_restarts (f.job), ==, 0);
  /* And nothing to restart once down. */
  g_assert_false (jobd_job_restart_for (f.job, JOBD_REASON_HEALTH, NULL, "failing", &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING);
  fixture_clear (&f);
}

/* ---- the manager's restore decisions ---- */

/* What the last jobd left in the registry for one job. */
typedef struct {
  const char *name;
  JobdRestartPolicy restart;
  gboolean wanted_up;
  gboolean had_process;     /* a PID in the record (not running now) */
  gboolean same_boot;
  gboolean failed;
  gboolean stopped_by_jobd;
  /* what restore must do */
  JobdState expected_state;
  const char *expected_reason;   /* of the start; NULL = not started */
} RestoreCase;

static const char *
boot_id (void)
{
  static char *id;

  if (id == NULL)
    {
      g_assert_true (g_file_get_contents ("/proc/sys/kernel/random/boot_id", &id, NULL, NULL));
      g_strstrip (id);
    }
  return id;
}

static JobdStoredJob *
stored_job_new (const RestoreCase *c)
{
  JobdStoredJob *job = g_new0 (JobdStoredJob, 1);

  job->name = g_strdup (c->name);
  job->settings = settings_new (c->restart);
  job->owner_uid = getuid ();
  job->wanted_up = c->wanted_up;
  job->runtime = json_object_new ();
  /* A PID that is no process now: the fake spawner cannot adopt anyway. */
  if (c->had_process)
    {
      json_object_set_int_member (job->runtime, "pid", G_MAXINT32 - 1);
      json_object_set_int_member (job->runtime, "start-ticks", 1);
    }
  json_object_set_string_member (job->runtime, "boot-id",
                                 c->same_boot ? boot_id () : "00000000-0000-0000-0000-000000000000");
  if (c->failed)
    json_object_set_boolean_member (job->runtime, "failed", TRUE);
  if (c->stopped_by_jobd)
    json_object_set_boolean_member (job->runtime, "stopped-by-jobd", TRUE);
  return job;
}

static void
on_manager_state_changed (JobdManager *manager, JobdJob *job, int old_state, int new_state,
                          GVariant *details, gpointer user_data)
{
  GHashTable *start_reasons = user_data;
  const char *reason = NULL;

  if (new_state == JOBD_STATE_UP && g_variant_lookup (details, "reason", "&s", &reason))
    g_hash_table_insert (start_reasons, g_strdup (jobd_job_get_name (job)), g_strdup (reason));
}

static void
on_restored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (jobd_manager_restore_finish (JOBD_MANAGER (source), result, NULL));
  *done = TRUE;
}

static void
test_restore_decisions (void)
{
  const RestoreCase cases[] = {
    /* jobd crashed and the job died while it was away: restart policy */
    { "crash-always", JOBD_RESTART_ALWAYS, TRUE, TRUE, TRUE, FALSE, FALSE,
      JOBD_STATE_UP, JOBD_REASON_POLICY },
    { "crash-no", JOBD_RESTART_NO, TRUE, TRUE, TRUE, FALSE, FALSE,
      JOBD_STATE_DOWN, NULL },
    /* jobd stopped it on its way out: RestoreJobs= starts it again */
    { "jobd-stopped", JOBD_RESTART_NO, TRUE, TRUE, TRUE, FALSE, TRUE,
      JOBD_STATE_UP, JOBD_REASON_RESTORE },
    /* the host rebooted: RestoreJobs=, whatever the restart policy */
    { "reboot", JOBD_RESTART_NO, TRUE, TRUE, FALSE, FALSE, FALSE,
      JOBD_STATE_UP, JOBD_REASON_RESTORE },
    /* stopped through the API: stays down, even after a reboot */
    { "api-stopped", JOBD_RESTART_ALWAYS, FALSE, FALSE, TRUE, FALSE, FALSE,
      JOBD_STATE_DOWN, NULL },
    { "api-stopped-reboot", JOBD_RESTART_ALWAYS, FALSE, FALSE, FALSE, FALSE, FALSE,
      JOBD_STATE_DOWN, NULL },
    /* failed (start limit) in this boot: stays failed; a reboot forgives */
    { "failed", JOBD_RESTART_ALWAYS, TRUE, FALSE, TRUE, TRUE, FALSE,
      JOBD_STATE_FAILED, NULL },
    { "failed-reboot", JOBD_RESTART_ALWAYS, TRUE, FALSE, FALSE, TRUE, FALSE,
      JOBD_STATE_UP, JOBD_REASON_RESTORE },
  };
  g_autofree char *dir = g_dir_make_tmp ("test-job-machine-XXXXXX", NULL);
  g_autoptr(JobdConfig) config = jobd_config_new ();
  g_autoptr(FakeSpawner) spawner = g_object_new (FAKE_TYPE_SPAWNER, NULL);
  g_autoptr(GHashTable) start_reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_stored_job_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(JobdManager) manager = NULL;
  gboolean done = FALSE;

  g_assert_nonnull (dir);
  config->state_dir = g_build_filename (dir, "state", NULL);
  config->runtime_dir = g_build_filename (dir, "run", NULL);
  config->log_dir = g_build_filename (dir, "log", NULL);
  config->restore_jobs = TRUE;
  g_assert_cmpint (g_mkdir_with_parents (config->state_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (config->runtime_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (config->log_dir, 0700), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_ptr_array_add (stored, stored_job_new (&cases[i]));
  {
    g_autoptr(JobdStore) store = jobd_store_new (config->state_dir);
    jobd_store_save (store, stored, &error);
    g_assert_no_error (error);
  }

  manager = jobd_manager_new (config, JOBD_SPAWNER (spawner));
  g_signal_connect (manager, "job-state-changed", G_CALLBACK (on_manager_state_changed), start_reasons);
  g_assert_true (jobd_manager_load (manager, &error));
  g_assert_no_error (error);
  jobd_manager_restore_async (manager, NULL, on_restored, &done);
  WAIT_UNTIL (done);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const RestoreCase *c = &cases[i];
      JobdJob *job = jobd_manager_lookup_job (manager, c->name, &error);

      g_assert_no_error (error);
      g_test_message ("%s", c->name);
      g_assert_cmpstr (jobd_state_to_string (jobd_job_get_state (job)), ==,
                       jobd_state_to_string (c->expected_state));
      g_assert_cmpstr (g_hash_table_lookup (start_reasons, c->name), ==, c->expected_reason);
    }
  g_assert_cmpuint (spawner->spawns, ==, 4);

  g_signal_handlers_disconnect_by_data (manager, start_reasons);
  g_object_run_dispose (G_OBJECT (manager));
  g_clear_object (&manager);
  /* Remove the temporary tree. */
  g_assert_true (g_spawn_sync (NULL, (char *[]) { "rm", "-rf", dir, NULL }, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failed start and the start limit are logged as warnings, as they
   * should be; only criticals are bugs here. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add_func ("/job-machine/start-stop", test_start_stop);
  g_test_add_func ("/job-machine/spawn-error", test_spawn_error);
  g_test_add_func ("/job-machine/stop-during-start", test_stop_during_start);
  g_test_add_func ("/job-machine/exit-while-up", test_exit_while_up);
  g_test_add_func ("/job-machine/on-failure", test_on_failure_clean_exit);
  g_test_add_func ("/job-machine/backoff-doubles-to-cap", test_backoff_doubles_to_cap);
  g_test_add_func ("/job-machine/backoff-resets-after-uptime", test_backoff_resets_after_uptime);
  g_test_add_func ("/job-machine/manual-start-resets-backoff", test_manual_start_resets_backoff);
  g_test_add_func ("/job-machine/start-limit", test_start_limit);
  g_test_add_func ("/job-machine/stop-pending-restart", test_stop_pending_restart);
  g_test_add_func ("/job-machine/restore-decisions", test_restore_decisions);
  g_test_add_func ("/job-machine/restart-for-graceful", test_restart_for_graceful);
  g_test_add_func ("/job-machine/restart-for-start-limit", test_restart_for_start_limit);
  g_test_add_func ("/job-machine/restart-for-user-stop-wins", test_restart_for_user_stop_wins);
  return g_test_run ();
}
