/* SPDX-License-Identifier: MIT */
/* jobd-deps-run.c — starting a job after what it requires.
 *
 * One start is a sequence over jobd_deps_start_order(): for each job, wait
 * until every edge it has is satisfied (requires: its condition; after:
 * only while the other job is being started), then start it. Waiting
 * follows the other job's "state-changed": no polling, no timer (a
 * readiness has its own timeout, a failed start ends the wait).
 */
#include "config.h"

#include "jobd-deps-run.h"

#include "jobd-auth.h"
#include "jobd-deps.h"
#include "jobd-error.h"
#include "jobd-log.h"

gboolean
jobd_deps_run_get (const char *name,
                   const char * const **requires,
                   const char * const **after,
                   gpointer manager)
{
  JobdJob *job = jobd_manager_lookup_job (manager, name, NULL);
  const JobdSettings *settings;

  if (job == NULL)
    return FALSE;
  settings = jobd_job_get_settings (job);
  *requires = (const char * const *) settings->requires;
  *after = (const char * const *) settings->after;
  return TRUE;
}

typedef enum { EDGE_MET, EDGE_WAIT, EDGE_FAILED } EdgeState;

typedef struct {
  JobdManager *manager;
  GTask *task;
  JobdJob *target;
  char *reason;
  guint uid;
  char *trigger;
  GPtrArray *order;        /* names; the target last */
  guint index;             /* the job of order being prepared */
  guint edge;              /* its next edge (requires, then after) */
  JobdJob *waiting;        /* the other job of the edge waited for */
  gulong waiting_handler;
} Sequence;

static void sequence_step (Sequence *seq);

static void
sequence_stop_waiting (Sequence *seq)
{
  if (seq->waiting != NULL)
    {
      g_clear_signal_handler (&seq->waiting_handler, seq->waiting);
      g_clear_object (&seq->waiting);
    }
}

static void
sequence_free (Sequence *seq)
{
  sequence_stop_waiting (seq);
  g_clear_object (&seq->target);
  g_free (seq->reason);
  g_free (seq->trigger);
  g_clear_pointer (&seq->order, g_ptr_array_unref);
  g_free (seq);
}

static void
sequence_fail (Sequence *seq, GError *error)
{
  GTask *task = seq->task;

  sequence_stop_waiting (seq);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* A requirement's condition, or for an `after` edge, whether the other
 * job is still on its way. why: set when EDGE_FAILED. */
static EdgeState
edge_state (JobdJob *other, JobdDepCondition condition, gboolean ordering_only, char **why)
{
  JobdState state = jobd_job_get_state (other);
  const char *name = jobd_job_get_name (other);

  switch (state)
    {
    case JOBD_STATE_FAILED:
      if (ordering_only)
        return EDGE_MET;
      *why = g_strdup_printf ("required job '%s' failed%s%s", name,
                              jobd_job_get_last_error (other) != NULL ? ": " : "",
                              jobd_job_get_last_error (other) != NULL ? jobd_job_get_last_error (other) : "");
      return EDGE_FAILED;
    case JOBD_STATE_DOWN:
      if (ordering_only)
        return EDGE_MET;
      if (condition == JOBD_DEP_SUCCEEDED && jobd_job_get_exit_code (other) == 0 &&
          jobd_job_get_exit_signal (other) == 0)
        return EDGE_MET;
      if (condition == JOBD_DEP_SUCCEEDED && jobd_job_get_exit_signal (other) > 0)
        *why = g_strdup_printf ("required job '%s' did not succeed (killed by signal %d)", name,
                                jobd_job_get_exit_signal (other));
      else if (condition == JOBD_DEP_SUCCEEDED)
        *why = g_strdup_printf ("required job '%s' did not succeed (exit code %d)", name,
                                jobd_job_get_exit_code (other));
      else
        *why = g_strdup_printf ("required job '%s' stopped before it was %s", name,
                                jobd_dep_condition_to_string (condition));
      return EDGE_FAILED;
    case JOBD_STATE_UP:
      return condition == JOBD_DEP_SUCCEEDED ? EDGE_WAIT : EDGE_MET;
    case JOBD_STATE_STARTING:
      return condition == JOBD_DEP_STARTED && jobd_job_get_pid (other) > 0 ? EDGE_MET : EDGE_WAIT;
    case JOBD_STATE_STOPPING:
    default:
      return EDGE_WAIT;
    }
}

static void
on_waited_state (Sequence *seq)
{
  sequence_stop_waiting (seq);
  sequence_step (seq);
}

/* The n-th edge of job (requires first, then after); FALSE past the last. */
static gboolean
nth_edge (JobdJob *job, guint n, char **name, JobdDepCondition *condition, gboolean *ordering_only)
{
  const JobdSettings *s = jobd_job_get_settings (job);
  guint n_requires = s->requires != NULL ? g_strv_length (s->requires) : 0;
  guint n_after = s->after != NULL ? g_strv_length (s->after) : 0;

  if (n >= n_requires + n_after)
    return FALSE;
  *ordering_only = n >= n_requires;
  jobd_dep_parse ("", *ordering_only ? s->after[n - n_requires] : s->requires[n], name, condition, NULL);
  return TRUE;
}

/* The job of order (after index) that requires order[index]: the trigger
 * of its start. */
static const char *
requiring_job (Sequence *seq)
{
  const char *name = seq->order->pdata[seq->index];

  for (guint k = seq->index + 1; k < seq->order->len; k++)
    {
      JobdJob *job = jobd_manager_lookup_job (seq->manager, seq->order->pdata[k], NULL);
      const JobdSettings *s = job != NULL ? jobd_job_get_settings (job) : NULL;

      for (guint i = 0; s != NULL && s->requires != NULL && s->requires[i] != NULL; i++)
        {
          g_autofree char *dep = NULL;
          if (jobd_dep_parse ("", s->requires[i], &dep, NULL, NULL) && g_str_equal (dep, name))
            return seq->order->pdata[k];
        }
    }
  return jobd_job_get_name (seq->target);
}

static void
on_required_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  /* The job that waits for it sees the failure in its state. */
  if (!jobd_job_start_finish (JOBD_JOB (source), result, &error))
    jobd_job_debug (jobd_job_get_name (JOBD_JOB (source)), "job %s: start as a dependency: %s",
                    jobd_job_get_name (JOBD_JOB (source)), error->message);
}

static void
on_target_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sequence *seq = user_data;
  GTask *task = seq->task;
  GError *error = NULL;

  if (jobd_job_start_finish (JOBD_JOB (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

/* Wait for the edges of order[index]; TRUE when they are all met now. */
static gboolean
sequence_edges_met (Sequence *seq, JobdJob *job)
{
  char *other_name = NULL;
  JobdDepCondition condition;
  gboolean ordering_only;

  while (nth_edge (job, seq->edge, &other_name, &condition, &ordering_only))
    {
      g_autofree char *name = other_name;
      g_autofree char *why = NULL;
      JobdJob *other = jobd_manager_lookup_job (seq->manager, name, NULL);

      if (other == NULL && !ordering_only)
        {
          sequence_fail (seq, g_error_new (JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB,
                                           "cannot start '%s': it requires '%s', which does not exist",
                                           jobd_job_get_name (job), name));
          return FALSE;
        }
      switch (other == NULL ? EDGE_MET : edge_state (other, condition, ordering_only, &why))
        {
        case EDGE_MET:
          seq->edge++;
          continue;
        case EDGE_FAILED:
          sequence_fail (seq, g_error_new (JOBD_ERROR, JOBD_ERROR_FAILED, "cannot start '%s': %s",
                                           jobd_job_get_name (job), why));
          return FALSE;
        case EDGE_WAIT:
        default:
          seq->waiting = g_object_ref (other);
          seq->waiting_handler = g_signal_connect_swapped (other, "state-changed",
                                                           G_CALLBACK (on_waited_state), seq);
          return FALSE;
        }
    }
  return TRUE;
}

static void
sequence_step (Sequence *seq)
{
  while (seq->index < seq->order->len)
    {
      const char *name = seq->order->pdata[seq->index];
      JobdJob *job = jobd_manager_lookup_job (seq->manager, name, NULL);

      if (job == NULL)
        {
          sequence_fail (seq, g_error_new (JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB,
                                           "cannot start '%s': job '%s' was removed",
                                           jobd_job_get_name (seq->target), name));
          return;
        }
      if (!sequence_edges_met (seq, job))
        return;
      if (job == seq->target)
        {
          JobdRunCause cause = { seq->reason, seq->uid, seq->trigger };
          jobd_job_start_async (job, &cause, NULL, on_target_started, seq);
          return;
        }
      if (!jobd_job_is_active (job))
        {
          JobdRunCause cause = { JOBD_REASON_DEPENDENCY, JOBD_UID_NONE, requiring_job (seq) };
          jobd_job_message (name, "job %s: starting it, %s requires it", name, cause.trigger);
          jobd_job_start_async (job, &cause, NULL, on_required_started, NULL);
        }
      seq->index++;
      seq->edge = 0;
    }
}

/* Whoever may not start a job must not get it started through another. */
static gboolean
sequence_check_access (Sequence *seq, GError **error)
{
  JobdConfig *config = jobd_manager_get_config (seq->manager);
  guint uid = seq->uid != JOBD_UID_NONE ? seq->uid : jobd_job_get_owner_uid (seq->target);

  for (guint i = 0; i + 1 < seq->order->len; i++)
    {
      JobdJob *job = jobd_manager_lookup_job (seq->manager, seq->order->pdata[i], NULL);
      g_autoptr(GError) local = NULL;

      if (job != NULL && !jobd_auth_check (JOBD_ACCESS_MODIFY, uid, config->admin_group, job, &local))
        {
          g_set_error (error, JOBD_ERROR, JOBD_ERROR_ACCESS_DENIED,
                       "cannot start '%s': it requires '%s' and %s",
                       jobd_job_get_name (seq->target), jobd_job_get_name (job), local->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
has_edges (JobdJob *job)
{
  const JobdSettings *s = jobd_job_get_settings (job);

  return s->requires != NULL || s->after != NULL;
}

static void
on_plain_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (jobd_job_start_finish (JOBD_JOB (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
jobd_deps_run_start_async (JobdManager *manager,
                           JobdJob *target,
                           const JobdRunCause *cause,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (target, cancellable, callback, user_data);
  Sequence *seq;
  GError *error = NULL;

  g_task_set_source_tag (task, jobd_deps_run_start_async);
  /* No edges, or already running (ALREADY_RUNNING, or a pending automatic
   * restart started at once): exactly the start jobd always did. */
  if (!has_edges (target) || jobd_job_is_active (target))
    {
      jobd_job_start_async (target, cause, cancellable, on_plain_started, task);
      return;
    }
  seq = g_new0 (Sequence, 1);
  seq->manager = manager;
  seq->task = task;
  seq->target = g_object_ref (target);
  seq->reason = g_strdup (cause != NULL ? cause->reason : JOBD_REASON_MANUAL);
  seq->uid = cause != NULL ? cause->uid : JOBD_UID_NONE;
  seq->trigger = g_strdup (cause != NULL ? cause->trigger : NULL);
  seq->order = jobd_deps_start_order (jobd_job_get_name (target), jobd_deps_run_get, manager);
  g_task_set_task_data (task, seq, (GDestroyNotify) sequence_free);
  if (!sequence_check_access (seq, &error))
    {
      sequence_fail (seq, error);
      return;
    }
  sequence_step (seq);
}

gboolean
jobd_deps_run_start_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

GPtrArray *
jobd_deps_run_active_dependents (JobdManager *manager, const char *name)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (manager);
  g_autofree const char **names = g_new0 (const char *, jobs->len + 1);
  g_autoptr(GPtrArray) order = NULL;
  GPtrArray *active = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < jobs->len; i++)
    names[i] = jobd_job_get_name (jobs->pdata[i]);
  order = jobd_deps_stop_order (name, names, jobd_deps_run_get, manager);
  for (guint i = 0; i < order->len; i++)
    {
      JobdJob *job = jobd_manager_lookup_job (manager, order->pdata[i], NULL);
      if (job != NULL && jobd_job_is_active (job))
        g_ptr_array_add (active, g_object_ref (job));
    }
  return active;
}
