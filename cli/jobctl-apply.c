/* SPDX-License-Identifier: MIT */
/* jobctl-apply.c — job files: `apply` makes the registry match them,
 * `export` and `cat` write jobs back as files (common/jobd-jobfile.c reads
 * and writes them, for jobd's JobsDirectory= too).
 *
 * apply works in two steps: a plan (what to add, update, restart and
 * remove, from the files and GetSettings of every job), printed, then
 * carried out unless --dry-run. Only settings that differ are sent, and a
 * running job restarts only when one of them applies at the next start.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "jobctl.h"
#include "jobd-error.h"
#include "jobd-dep-order.h"
#include "jobd-jobfile.h"
#include "jobd-parse.h"

typedef enum {
  ACTION_NONE,
  ACTION_ADD,
  ACTION_UPDATE,
  ACTION_REMOVE,
} Action;

typedef struct {
  char *name;
  Action action;
  GVariant *settings;     /* ADD: the file's; UPDATE: what changed */
  GVariant *previous;     /* UPDATE: the job's values of those settings (--json) */
  GPtrArray *changed;     /* file keys (static strings) */
  gboolean restart;       /* UPDATE of a running job that needs it */
  gboolean start;         /* ADD of an AutoStart=yes job */
  gboolean active;        /* the job runs now (REMOVE stops it first) */
} Step;

static void
step_free (Step *step)
{
  g_free (step->name);
  g_clear_pointer (&step->settings, g_variant_unref);
  g_clear_pointer (&step->previous, g_variant_unref);
  g_clear_pointer (&step->changed, g_ptr_array_unref);
  g_free (step);
}

static gboolean
state_is_active (const char *state)
{
  return g_strcmp0 (state, "up") == 0 || g_strcmp0 (state, "starting") == 0
         || g_strcmp0 (state, "stopping") == 0;
}

/* ---- calls in flight together ----
 * One call after the other costs a round trip each (and jobd syncs its
 * journal per change): 1 000 jobs would take seconds. A batch keeps up to
 * BATCH_WINDOW calls in flight on the one connection; jobd answers them in
 * order and writes their changes to disk together. */

#define BATCH_WINDOW 128

typedef struct _Batch Batch;

typedef struct {
  Batch *batch;
  char *method;
  GVariant *params;   /* sunk */
  GVariant *reply;    /* NULL on error */
  GError *error;
  gpointer data;      /* the caller's (a Step, a name) */
} Call;

struct _Batch {
  JobdDBusManager *manager;
  GPtrArray *calls;   /* Call * */
  guint next;
  guint pending;
  GMainLoop *loop;
};

static void
call_free (Call *call)
{
  g_free (call->method);
  g_clear_pointer (&call->params, g_variant_unref);
  g_clear_pointer (&call->reply, g_variant_unref);
  g_clear_error (&call->error);
  g_free (call);
}

static Batch *
batch_new (Jobctl *jobctl)
{
  Batch *batch = g_new0 (Batch, 1);

  batch->manager = jobctl->manager;
  batch->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);
  return batch;
}

static void
batch_free (Batch *batch)
{
  g_ptr_array_unref (batch->calls);
  g_clear_pointer (&batch->loop, g_main_loop_unref);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Batch, batch_free)

/* params is floating or NULL. */
static void
batch_add (Batch *batch, const char *method, GVariant *params, gpointer data)
{
  Call *call = g_new0 (Call, 1);

  call->batch = batch;
  call->method = g_strdup (method);
  call->params = params != NULL ? g_variant_ref_sink (params) : NULL;
  call->data = data;
  g_ptr_array_add (batch->calls, call);
}

static void batch_send_more (Batch *batch);

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  Batch *batch = call->batch;

  call->reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &call->error);
  if (call->error != NULL)
    g_dbus_error_strip_remote_error (call->error);
  batch->pending--;
  batch_send_more (batch);
  if (batch->pending == 0 && batch->next == batch->calls->len)
    g_main_loop_quit (batch->loop);
}

static void
batch_send_more (Batch *batch)
{
  while (batch->pending < BATCH_WINDOW && batch->next < batch->calls->len)
    {
      Call *call = batch->calls->pdata[batch->next++];

      batch->pending++;
      g_dbus_proxy_call (G_DBUS_PROXY (batch->manager), call->method, call->params,
                         G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done, call);
    }
}

/* Sends every call, returns once all are answered (each has its reply or
 * its error). */
static void
batch_run (Batch *batch)
{
  if (batch->calls->len == 0)
    return;
  batch->loop = g_main_loop_new (NULL, FALSE);
  batch_send_more (batch);
  g_main_loop_run (batch->loop);
}

/* ---- reading the files ---- */

typedef struct {
  GPtrArray *files;      /* JobdJobFile * */
  GHashTable *dirs;      /* folders the files came from (prune looks there) */
} FileSet;

static void
file_set_clear (FileSet *set)
{
  g_clear_pointer (&set->files, g_ptr_array_unref);
  g_clear_pointer (&set->dirs, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FileSet, file_set_clear)

static char *
canonical_dir (const char *path, gboolean is_dir)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *full = g_canonicalize_filename (path, cwd);

  return is_dir ? g_steal_pointer (&full) : g_path_get_dirname (full);
}

static gboolean
load_path (FileSet *set, const char *path, GPtrArray *errors)
{
  GError *local = NULL;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GPtrArray) files = jobd_job_file_load_dir (path, errors, NULL, &local);

      if (files == NULL)
        {
          g_ptr_array_add (errors, local);
          return FALSE;
        }
      g_hash_table_add (set->dirs, canonical_dir (path, TRUE));
      for (guint i = 0; i < files->len; i++)
        g_ptr_array_add (set->files, g_steal_pointer (&files->pdata[i]));
      return TRUE;
    }
  {
    JobdJobFile *file = jobd_job_file_load (path, &local);

    if (file == NULL)
      {
        g_ptr_array_add (errors, local);
        return FALSE;
      }
    g_hash_table_add (set->dirs, canonical_dir (path, FALSE));
    g_ptr_array_add (set->files, file);
  }
  return TRUE;
}

/* Every file, warnings printed; FALSE after printing every error. */
static gboolean
load_files (FileSet *set, char **paths, int n_paths)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  set->files = g_ptr_array_new_with_free_func ((GDestroyNotify) jobd_job_file_free);
  set->dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < n_paths; i++)
    load_path (set, paths[i], errors);
  for (guint i = 0; i < set->files->len; i++)
    {
      JobdJobFile *file = set->files->pdata[i];
      JobdJobFile *other = g_hash_table_lookup (names, file->name);

      for (guint w = 0; w < file->warnings->len; w++)
        g_printerr ("%s\n", (char *) file->warnings->pdata[w]);
      if (other != NULL)
        g_ptr_array_add (errors, g_error_new (JOBD_ERROR, JOBD_ERROR_INVALID_ARGS,
                                              _("%s: job %s is also in %s"),
                                              file->path, file->name, other->path));
      g_hash_table_insert (names, file->name, file);
    }
  for (guint i = 0; i < errors->len; i++)
    g_printerr ("jobctl: %s\n", ((GError *) errors->pdata[i])->message);
  return errors->len == 0;
}

/* ---- the plan ---- */

typedef struct {
  char *state;
  GVariant *settings;
} Current;

static void
current_free (Current *current)
{
  g_free (current->state);
  g_clear_pointer (&current->settings, g_variant_unref);
  g_free (current);
}

/* name → Current for every job jobd has. */
static GHashTable *
read_registry (Jobctl *jobctl, GError **error)
{
  g_autoptr(GHashTable) jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                      (GDestroyNotify) current_free);
  g_autoptr(GVariant) list = NULL;
  g_autoptr(Batch) batch = batch_new (jobctl);
  GVariantIter iter;
  const char *name, *state;

  if (!jobctl_list_jobs (jobctl, &list, error))
    return NULL;
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(&s&suttuo)", &name, &state, NULL, NULL, NULL, NULL, NULL))
    batch_add (batch, "GetSettings", g_variant_new ("(s)", name), (gpointer) state);
  batch_run (batch);
  for (guint i = 0; i < batch->calls->len; i++)
    {
      Call *call = batch->calls->pdata[i];
      Current *current;

      /* A job removed meanwhile is simply not there. */
      if (g_error_matches (call->error, JOBD_ERROR, JOBD_ERROR_NO_SUCH_JOB))
        continue;
      if (call->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&call->error));
          return NULL;
        }
      current = g_new0 (Current, 1);
      current->state = g_strdup (call->data);
      g_variant_get (call->reply, "(@a{sv})", &current->settings);
      g_variant_get (call->params, "(&s)", &name);
      g_hash_table_insert (jobs, g_strdup (name), current);
    }
  return g_steal_pointer (&jobs);
}

/* have's values of the settings in update (those it has), for --json's
 * "previous": what a diff shows as before. */
static GVariant *
previous_values (GVariant *update, GVariant *have)
{
  g_auto(GVariantDict) previous;
  GVariantIter iter;
  const char *key;

  g_variant_dict_init (&previous, NULL);
  g_variant_iter_init (&iter, update);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (have, key, NULL);

      if (value != NULL)
        g_variant_dict_insert_value (&previous, key, value);
    }
  return g_variant_ref_sink (g_variant_dict_end (&previous));
}

static Step *
plan_file (JobdJobFile *file, Current *current)
{
  Step *step = g_new0 (Step, 1);
  gboolean autostart = FALSE, restart = FALSE;

  step->name = g_strdup (file->name);
  step->changed = g_ptr_array_new ();
  if (current == NULL)
    {
      step->action = ACTION_ADD;
      step->settings = g_variant_ref (file->settings);
      step->start = g_variant_lookup (file->settings, "autostart", "b", &autostart) && autostart;
      return step;
    }
  step->active = state_is_active (current->state);
  step->settings = jobd_job_file_diff (file->settings, current->settings, step->changed,
                                       &restart);
  step->action = step->settings != NULL ? ACTION_UPDATE : ACTION_NONE;
  if (step->settings != NULL)
    step->previous = previous_values (step->settings, current->settings);
  step->restart = restart && step->active;
  return step;
}

/* A job comes from files the apply covers: its source-file is in one of
 * the folders given (or the folders of the files given). */
static gboolean
covered_by (GVariant *settings, GHashTable *dirs)
{
  g_autofree char *source = NULL;
  g_autofree char *dir = NULL;

  if (!g_variant_lookup (settings, JOBD_SETTING_SOURCE_FILE, "s", &source))
    return FALSE;
  dir = g_path_get_dirname (source);
  return g_hash_table_contains (dirs, dir);
}

static const char *
step_name (gpointer item)
{
  return ((Step *) item)->name;
}

static GPtrArray *
step_deps (gpointer item, gpointer registry)
{
  Current *current = g_hash_table_lookup (registry, ((Step *) item)->name);

  return jobd_dep_order_names_in (current != NULL ? current->settings : NULL);
}

static GPtrArray *
make_plan (FileSet *set, GHashTable *registry, gboolean prune)
{
  GPtrArray *plan = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) removals = g_ptr_array_new ();
  g_autoptr(GList) names = NULL;

  /* jobd answers calls in the order they were sent: a job is added or
   * updated after the jobs it names, and removed before them. */
  jobd_dep_order_job_files (set->files);
  for (guint i = 0; i < set->files->len; i++)
    {
      JobdJobFile *file = set->files->pdata[i];

      g_hash_table_add (named, file->name);
      g_ptr_array_add (plan, plan_file (file, g_hash_table_lookup (registry, file->name)));
    }
  if (!prune)
    return plan;
  names = g_list_sort (g_hash_table_get_keys (registry), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    {
      Current *current = g_hash_table_lookup (registry, l->data);
      Step *step;

      if (g_hash_table_contains (named, l->data) || !covered_by (current->settings, set->dirs))
        continue;
      step = g_new0 (Step, 1);
      step->name = g_strdup (l->data);
      step->action = ACTION_REMOVE;
      step->active = state_is_active (current->state);
      g_ptr_array_add (removals, step);
    }
  jobd_dep_order_sort (removals, step_name, step_deps, registry, TRUE);
  g_ptr_array_extend_and_steal (plan, g_steal_pointer (&removals));
  return plan;
}

static char *
describe_step (const Step *step, gboolean dry_run)
{
  g_autofree char *keys = NULL;

  switch (step->action)
    {
    case ACTION_ADD:
      if (step->start)
        return g_strdup_printf (dry_run ? _("%s: would add and start") : _("%s: added, started"),
                                step->name);
      return g_strdup_printf (dry_run ? _("%s: would add") : _("%s: added"), step->name);
    case ACTION_UPDATE:
      g_ptr_array_add (step->changed, NULL);
      keys = step->changed->len > 1 ? g_strjoinv (", ", (char **) step->changed->pdata)
                                    : g_strdup (JOBD_SETTING_SOURCE_FILE);
      g_ptr_array_set_size (step->changed, step->changed->len - 1);
      if (step->restart)
        return g_strdup_printf (dry_run ? _("%s: would update (%s) and restart")
                                        : _("%s: updated (%s), restarted"), step->name, keys);
      return g_strdup_printf (dry_run ? _("%s: would update (%s)") : _("%s: updated (%s)"),
                              step->name, keys);
    case ACTION_REMOVE:
      if (step->active)
        return g_strdup_printf (dry_run ? _("%s: would stop and remove") : _("%s: stopped, removed"),
                                step->name);
      return g_strdup_printf (dry_run ? _("%s: would remove") : _("%s: removed"), step->name);
    case ACTION_NONE:
    default:
      return NULL;
    }
}

/* ---- carrying it out ---- */

/* name → state of every job, one call. */
static GVariant *
all_states (Jobctl *jobctl, GError **error)
{
  GVariant *states = NULL;

  if (!jobd_dbus_manager_call_status_all_sync (jobctl->manager, &states, NULL, error))
    return NULL;
  return states;
}

typedef enum {
  WANT_UP,     /* started or restarted: up (down or failed again: it did not) */
  WANT_DOWN,   /* stopped before its removal */
} Want;

/* Polls StatusAll until every step with data TRUE in wanted reached what
 * it wants, or the deadline; a step that did not is reported and its data
 * set to FALSE. Returns whether all did. */
static gboolean
wait_for_states (Jobctl *jobctl, GPtrArray *steps, Want want, gint64 deadline)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) states = all_states (jobctl, &error);
      gboolean waiting = FALSE, late = g_get_monotonic_time () >= deadline, ok = TRUE;

      if (states == NULL)
        {
          g_printerr ("jobctl: %s\n", error->message);
          return FALSE;
        }
      for (guint i = 0; i < steps->len; i++)
        {
          Step *step = steps->pdata[i];
          const char *state = "gone";
          gboolean reached, hopeless;

          g_variant_lookup (states, step->name, "&s", &state);
          reached = want == WANT_UP ? g_str_equal (state, "up") : !state_is_active (state);
          hopeless = want == WANT_UP && (g_str_equal (state, "failed")
                                         || g_str_equal (state, "down")
                                         || g_str_equal (state, "gone"));
          if (reached)
            continue;
          if (hopeless || late)
            {
              g_printerr (want == WANT_UP ? _("jobctl: %s: did not come up (%s)\n")
                                          : _("jobctl: %s: did not stop in time (%s)\n"),
                          step->name, state);
              g_ptr_array_remove_index (steps, i--);
              ok = FALSE;
              continue;
            }
          waiting = TRUE;
        }
      if (!waiting)
        return ok;
      g_usleep (20 * 1000);
    }
}

static void
report_failure (Step *step, Call *call)
{
  g_printerr ("jobctl: %s: %s\n", step->name, call->error->message);
  step->action = ACTION_NONE;
  step->start = step->restart = FALSE;
}

/* Adds and updates, then starts and restarts, then removals (stopping
 * first): each phase a batch. FALSE when something failed (said on
 * stderr; that step counts as unchanged). */
static gboolean
carry_out (Jobctl *jobctl, GPtrArray *plan, gint64 deadline)
{
  g_autoptr(Batch) changes = batch_new (jobctl);
  g_autoptr(Batch) starts = batch_new (jobctl);
  g_autoptr(Batch) stops = batch_new (jobctl);
  g_autoptr(Batch) removals = batch_new (jobctl);
  g_autoptr(GPtrArray) stopping = g_ptr_array_new ();
  gboolean ok = TRUE;

  for (guint i = 0; i < plan->len; i++)
    {
      Step *step = plan->pdata[i];

      if (step->action == ACTION_ADD)
        batch_add (changes, "Add", g_variant_new ("(s@a{sv})", step->name, step->settings), step);
      else if (step->action == ACTION_UPDATE)
        batch_add (changes, "Update", g_variant_new ("(s@a{sv})", step->name, step->settings),
                   step);
      else if (step->action == ACTION_REMOVE && step->active)
        batch_add (stops, "Stop", g_variant_new ("(s)", step->name), step);
    }
  batch_run (changes);
  for (guint i = 0; i < changes->calls->len; i++)
    {
      Call *call = changes->calls->pdata[i];
      Step *step = call->data;

      if (call->error != NULL)
        {
          report_failure (step, call);
          ok = FALSE;
        }
      else if (step->start)
        batch_add (starts, "Start", g_variant_new ("(s)", step->name), step);
      else if (step->restart)
        batch_add (starts, "Restart", g_variant_new ("(s)", step->name), step);
    }
  batch_run (starts);
  for (guint i = 0; i < starts->calls->len; i++)
    {
      Call *call = starts->calls->pdata[i];

      if (call->error != NULL)
        {
          g_printerr ("jobctl: %s: %s\n", ((Step *) call->data)->name, call->error->message);
          ((Step *) call->data)->start = ((Step *) call->data)->restart = FALSE;
          ok = FALSE;
        }
    }

  batch_run (stops);
  for (guint i = 0; i < stops->calls->len; i++)
    {
      Call *call = stops->calls->pdata[i];

      /* Stopped by itself meanwhile: fine, it is down. */
      if (call->error == NULL || g_error_matches (call->error, JOBD_ERROR, JOBD_ERROR_NOT_RUNNING))
        g_ptr_array_add (stopping, call->data);
      else
        {
          report_failure (call->data, call);
          ok = FALSE;
        }
    }
  if (stopping->len > 0 && !wait_for_states (jobctl, stopping, WANT_DOWN, deadline))
    ok = FALSE;
  for (guint i = 0; i < plan->len; i++)
    {
      Step *step = plan->pdata[i];

      if (step->action == ACTION_REMOVE
          && (!step->active || g_ptr_array_find (stopping, step, NULL)))
        batch_add (removals, "Remove", g_variant_new ("(s)", step->name), step);
      else if (step->action == ACTION_REMOVE)
        step->action = ACTION_NONE;
    }
  batch_run (removals);
  for (guint i = 0; i < removals->calls->len; i++)
    {
      Call *call = removals->calls->pdata[i];

      if (call->error != NULL)
        {
          report_failure (call->data, call);
          ok = FALSE;
        }
    }
  return ok;
}

/* --wait: jobs apply started or restarted are up. */
static gboolean
wait_steps (Jobctl *jobctl, GPtrArray *plan, gint64 deadline)
{
  g_autoptr(GPtrArray) steps = g_ptr_array_new ();

  for (guint i = 0; i < plan->len; i++)
    {
      Step *step = plan->pdata[i];

      if (step->start || step->restart)
        g_ptr_array_add (steps, step);
    }
  return steps->len == 0 || wait_for_states (jobctl, steps, WANT_UP, deadline);
}

/* --json: one object per job that changes (or would):
 * {"name", "action": "add"|"update"|"remove", "changed": [keys], "restart": bool,
 *  "start": bool, "dry-run": bool}, and for add and update "settings" (what
 * is sent, as GetSettings keys) and for update "previous" (the job's values
 * of those settings), from which a tool shows a diff. */
static void
add_variant_member (JsonBuilder *builder, const char *member, GVariant *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, member);
  json_builder_add_value (builder, json_gvariant_serialize (value));
}

static void
print_summary_json (GPtrArray *plan, gboolean dry_run)
{
  static const char *const actions[] = { "none", "add", "update", "remove" };
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (builder);
  for (guint i = 0; i < plan->len; i++)
    {
      const Step *step = plan->pdata[i];

      if (step->action == ACTION_NONE)
        continue;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, step->name);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, actions[step->action]);
      json_builder_set_member_name (builder, "changed");
      json_builder_begin_array (builder);
      for (guint k = 0; step->changed != NULL && k < step->changed->len; k++)
        json_builder_add_string_value (builder, step->changed->pdata[k]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "restart");
      json_builder_add_boolean_value (builder, step->restart);
      json_builder_set_member_name (builder, "start");
      json_builder_add_boolean_value (builder, step->start);
      json_builder_set_member_name (builder, "dry-run");
      json_builder_add_boolean_value (builder, dry_run);
      add_variant_member (builder, "settings", step->settings);
      add_variant_member (builder, "previous", step->previous);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  jobctl_print_json (root);
}

static void
print_summary (GPtrArray *plan, gboolean dry_run)
{
  guint counts[4] = { 0 };

  for (guint i = 0; i < plan->len; i++)
    {
      const Step *step = plan->pdata[i];
      g_autofree char *line = describe_step (step, dry_run);

      counts[step->action]++;
      if (line != NULL)
        g_print ("%s\n", line);
    }
  g_print (dry_run ? _("dry run: %u to add, %u to update, %u to remove, %u unchanged\n")
                   : _("%u added, %u updated, %u removed, %u unchanged\n"),
           counts[ACTION_ADD], counts[ACTION_UPDATE], counts[ACTION_REMOVE],
           counts[ACTION_NONE]);
}

int
jobctl_verb_apply (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(FileSet) set = { 0 };
  g_autoptr(GHashTable) registry = NULL;
  g_autoptr(GPtrArray) plan = NULL;
  gboolean prune = FALSE, dry_run = FALSE, wait = FALSE;
  g_autofree char *timeout_text = NULL;
  guint32 timeout_ms = 90000;
  gint64 deadline;
  gboolean ok = TRUE;
  const GOptionEntry entries[] = {
    { "prune", 0, 0, G_OPTION_ARG_NONE, &prune,
      N_("Remove jobs made from files in these folders that no file names any more"), NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
      N_("Print what would change, change nothing"), NULL },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait,
      N_("Return once every started or restarted job is up (exit 1 if one is not)"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      N_("How long --wait and stopping pruned jobs may take (default: 90s)"), N_("DURATION") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 1, -1, &argc, &argv, &error))
    return jobctl_fail (error);
  if (timeout_text != NULL && !jobd_parse_duration_ms (timeout_text, &timeout_ms, &error))
    {
      g_prefix_error (&error, "--timeout: ");
      return jobctl_fail (error);
    }
  if (!load_files (&set, argv + 1, argc - 1))
    return JOBCTL_EXIT_USAGE;
  if (!jobctl_connect (jobctl, &error)
      || (registry = read_registry (jobctl, &error)) == NULL)
    return jobctl_fail (error);
  /* Restart waits for the job's exit, which may take its stop timeout. */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (jobctl->manager), G_MAXINT);

  plan = make_plan (&set, registry, prune);
  if (dry_run)
    {
      if (jobctl->json)
        print_summary_json (plan, TRUE);
      else
        print_summary (plan, TRUE);
      return JOBCTL_EXIT_OK;
    }
  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  ok = carry_out (jobctl, plan, deadline);
  if (jobctl->json)
    print_summary_json (plan, FALSE);
  else
    print_summary (plan, FALSE);
  if (wait && !wait_steps (jobctl, plan, deadline))
    ok = FALSE;
  return ok ? JOBCTL_EXIT_OK : JOBCTL_EXIT_FAILURE;
}

/* ---- export and cat ---- */

static char *
settings_file_text (const char *name, GVariant *settings)
{
  g_autoptr(GPtrArray) unwritable = g_ptr_array_new_with_free_func (g_free);
  char *text = jobd_job_file_write (name, settings, unwritable);

  for (guint i = 0; i < unwritable->len; i++)
    g_printerr (_("jobctl: %s: setting %s is not in the job file\n"), name,
                (char *) unwritable->pdata[i]);
  return text;
}

static char *
job_file_text (Jobctl *jobctl, const char *name, GError **error)
{
  g_autoptr(GVariant) settings = NULL;

  if (!jobd_dbus_manager_call_get_settings_sync (jobctl->manager, name, &settings, NULL, error))
    return NULL;
  return settings_file_text (name, settings);
}

static GPtrArray *
all_job_names (Jobctl *jobctl, GError **error)
{
  g_autoptr(GVariant) list = NULL;
  GPtrArray *names;
  GVariantIter iter;
  const char *name;

  if (!jobctl_list_jobs (jobctl, &list, error))
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(&ssuttuo)", &name, NULL, NULL, NULL, NULL, NULL, NULL))
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

static gboolean
write_job_file (const char *dir, const char *name, const char *text, GError **error)
{
  g_autofree char *file = g_strconcat (name, JOBD_JOB_FILE_SUFFIX, NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);

  return g_file_set_contents (path, text, -1, error);
}

int
jobctl_verb_export (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(Batch) batch = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write NAME.job files into DIR (made if missing) instead of to stdout"), N_("DIR") },
    G_OPTION_ENTRY_NULL
  };

  if (!jobctl_parse_verb (jobctl, verb, entries, NULL, 0, -1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  if (output != NULL && g_mkdir_with_parents (output, 0755) < 0)
    {
      int saved = errno;

      g_printerr ("jobctl: %s: %s\n", output, g_strerror (saved));
      return JOBCTL_EXIT_FAILURE;
    }
  if (argc > 1)
    {
      names = g_ptr_array_new_with_free_func (g_free);
      for (int i = 1; i < argc; i++)
        g_ptr_array_add (names, g_strdup (argv[i]));
    }
  else if ((names = all_job_names (jobctl, &error)) == NULL)
    return jobctl_fail (error);

  batch = batch_new (jobctl);
  for (guint i = 0; i < names->len; i++)
    batch_add (batch, "GetSettings", g_variant_new ("(s)", (char *) names->pdata[i]),
               names->pdata[i]);
  batch_run (batch);
  for (guint i = 0; i < batch->calls->len; i++)
    {
      Call *call = batch->calls->pdata[i];
      const char *name = call->data;
      g_autoptr(GVariant) settings = NULL;
      g_autofree char *text = NULL;

      if (call->error != NULL)
        return jobctl_fail (call->error);
      g_variant_get (call->reply, "(@a{sv})", &settings);
      text = settings_file_text (name, settings);
      if (output != NULL && !write_job_file (output, name, text, &error))
        return jobctl_fail (error);
      if (output == NULL)
        g_print ("%s%s", i > 0 ? "\n" : "", text);
    }
  return JOBCTL_EXIT_OK;
}

int
jobctl_verb_cat (Jobctl *jobctl, const JobctlVerb *verb, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (!jobctl_parse_verb (jobctl, verb, NULL, NULL, 1, -1, &argc, &argv, &error)
      || !jobctl_connect (jobctl, &error))
    return jobctl_fail (error);
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *text = job_file_text (jobctl, argv[i], &error);

      if (text == NULL)
        return jobctl_fail (error);
      g_print ("%s%s", i > 1 ? "\n" : "", text);
    }
  return JOBCTL_EXIT_OK;
}
