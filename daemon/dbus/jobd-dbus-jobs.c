/* SPDX-License-Identifier: MIT */
/* jobd-dbus-jobs.c — the org.jobd1.Job objects and every signal jobd sends.
 *
 * Job objects are a subtree (/org/jobd1/job/<escaped name>) answered from
 * the manager's jobs when asked, so a new connection costs one
 * registration whatever the number of jobs, and nothing here holds a job.
 * The manager's GObject signals become D-Bus signals here: JobAdded,
 * JobRemoved, JobStateChanged on the Manager, PropertiesChanged on a job.
 * Environment values are secrets: they go only to whom may read them.
 */
#include "config.h"

#include "jobd-dbus-jobs.h"

#include <string.h>

#include "jobd-auth.h"
#include "jobd-dbus-client.h"
#include "jobd-dbus-service-private.h"

/* ---- settings, with secrets hidden from who may not read them ---- */

/* The job's settings as caller_uid may see them: environment values are
 * for the owner, the admin group and root; others get the names, each
 * value replaced by JOBD_HIDDEN_VALUE. */
#define JOBD_HIDDEN_VALUE "(hidden)"

static GVariant *
hide_environment (GVariant *settings)
{
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (g_str_equal (key, "environment") && g_variant_is_of_type (value, G_VARIANT_TYPE ("a{ss}")))
        {
          GVariantBuilder env;
          GVariantIter env_iter;
          const char *name;

          g_variant_builder_init (&env, G_VARIANT_TYPE ("a{ss}"));
          g_variant_iter_init (&env_iter, value);
          while (g_variant_iter_next (&env_iter, "{&s&s}", &name, NULL))
            g_variant_builder_add (&env, "{ss}", name, JOBD_HIDDEN_VALUE);
          g_variant_builder_add (&builder, "{sv}", key, g_variant_builder_end (&env));
        }
      else
        g_variant_builder_add (&builder, "{sv}", key, value);
    }
  g_variant_unref (settings);
  return g_variant_builder_end (&builder);
}

GVariant *
jobd_dbus_settings_variant (JobdJob *job, gboolean may_read_secrets)
{
  GVariant *settings = jobd_settings_to_variant (jobd_job_get_settings (job));

  if (may_read_secrets)
    return settings;
  return hide_environment (g_variant_ref_sink (settings));
}

gboolean
jobd_dbus_may_read_secrets (JobdDBusService *self, guint uid, JobdJob *job)
{
  JobdConfig *config = jobd_manager_get_config (self->manager);

  return jobd_auth_may_read_secrets (uid, config->admin_group, job);
}

/* ---- object paths ---- */

char *
jobd_dbus_job_path (const char *name)
{
  return jobd_job_object_path (name);
}

char *
jobd_dbus_job_name_from_node (const char *node)
{
  GString *name = g_string_new (NULL);

  for (const char *p = node; *p != '\0'; p++)
    {
      if (*p != '_')
        {
          g_string_append_c (name, *p);
          continue;
        }
      if (!g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]))
        {
          g_string_free (name, TRUE);
          return NULL;
        }
      g_string_append_c (name, (char) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
      p += 2;
    }
  return g_string_free (name, FALSE);
}

static JobdJob *
job_for_node (JobdDBusService *self, const char *node)
{
  g_autofree char *name = node != NULL ? jobd_dbus_job_name_from_node (node) : NULL;

  return name != NULL ? jobd_manager_lookup_job (self->manager, name, NULL) : NULL;
}

static GVariant *
job_property_value (JobdJob *job, const char *property, gboolean may_read_secrets)
{
  JobdProcess *process = jobd_job_get_process (job);
  const char *unit = process != NULL ? jobd_process_get_unit (process) : NULL;
  const char *reason = jobd_job_get_last_restart_reason (job);
  const char *error = jobd_job_get_last_error (job);

  if (g_str_equal (property, "Name"))
    return g_variant_new_string (jobd_job_get_name (job));
  if (g_str_equal (property, "State"))
    return g_variant_new_string (jobd_state_to_string (jobd_job_get_state (job)));
  if (g_str_equal (property, "MainPID"))
    return g_variant_new_uint32 (jobd_job_get_pid (job));
  if (g_str_equal (property, "StartedAt"))
    return g_variant_new_uint64 (jobd_job_get_started_at (job));
  if (g_str_equal (property, "ExitCode"))
    return g_variant_new_int32 (jobd_job_get_exit_code (job));
  if (g_str_equal (property, "ExitSignal"))
    return g_variant_new_int32 (jobd_job_get_exit_signal (job));
  if (g_str_equal (property, "Restarts"))
    return g_variant_new_uint32 (jobd_job_get_restarts (job));
  if (g_str_equal (property, "LastRestartReason"))
    return g_variant_new_string (reason != NULL ? reason : "");
  if (g_str_equal (property, "LastError"))
    return g_variant_new_string (error != NULL ? error : "");
  if (g_str_equal (property, "NextStartAt"))
    return g_variant_new_uint64 (jobd_job_get_next_start_at (job));
  if (g_str_equal (property, "OwnerUID"))
    return g_variant_new_uint32 (jobd_job_get_owner_uid (job));
  if (g_str_equal (property, "Unit"))
    return g_variant_new_string (unit != NULL ? unit : "");
  if (g_str_equal (property, "StatusText"))
    return g_variant_new_string (jobd_job_get_status_text (job) ? jobd_job_get_status_text (job) : "");
  if (g_str_equal (property, "Settings"))
    return jobd_dbus_settings_variant (job, may_read_secrets);
  return NULL;
}

static GVariant *
job_get_property (GDBusConnection *connection,
                  const char *sender,
                  const char *object_path,
                  const char *interface_name,
                  const char *property_name,
                  GError **error,
                  gpointer user_data)
{
  JobdDBusService *self = user_data;
  const char *node = strrchr (object_path, '/') + 1;
  JobdJob *job = job_for_node (self, node);
  gboolean secrets = FALSE;
  GVariant *value;
  guint uid;

  /* A property getter cannot wait: a bus caller jobd does not know yet sees
   * no secret values (GetSettings asks the bus who it is). */
  if (job != NULL && g_str_equal (property_name, "Settings") &&   /* the group lookup only where it matters */
      jobd_dbus_caller_uid_now (self, connection, sender, &uid))
    secrets = jobd_dbus_may_read_secrets (self, uid, job);
  value = job != NULL ? job_property_value (job, property_name, secrets) : NULL;

  if (value == NULL)
    g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
                 "no property %s on %s", property_name, object_path);
  return value;
}

static const GDBusInterfaceVTable job_vtable = {
  .get_property = job_get_property,
};

static char **
subtree_enumerate (GDBusConnection *connection,
                   const char *sender,
                   const char *object_path,
                   gpointer user_data)
{
  JobdDBusService *self = user_data;
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  GPtrArray *nodes = g_ptr_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      g_autofree char *path = jobd_dbus_job_path (jobd_job_get_name (jobs->pdata[i]));
      g_ptr_array_add (nodes, g_strdup (strrchr (path, '/') + 1));
    }
  g_ptr_array_add (nodes, NULL);
  return (char **) g_ptr_array_free (nodes, FALSE);
}

static GDBusInterfaceInfo **
subtree_introspect (GDBusConnection *connection,
                    const char *sender,
                    const char *object_path,
                    const char *node,
                    gpointer user_data)
{
  JobdDBusService *self = user_data;
  GDBusInterfaceInfo **infos;

  if (job_for_node (self, node) == NULL)
    return NULL;
  infos = g_new0 (GDBusInterfaceInfo *, 2);
  infos[0] = g_dbus_interface_info_ref (jobd_dbus_job_interface_info ());
  return infos;
}

static const GDBusInterfaceVTable *
subtree_dispatch (GDBusConnection *connection,
                  const char *sender,
                  const char *object_path,
                  const char *interface_name,
                  const char *node,
                  gpointer *out_user_data,
                  gpointer user_data)
{
  JobdDBusService *self = user_data;

  if (g_strcmp0 (interface_name, "org.jobd1.Job") != 0 || job_for_node (self, node) == NULL)
    return NULL;
  *out_user_data = self;
  return &job_vtable;
}

static const GDBusSubtreeVTable subtree_vtable = {
  .enumerate = subtree_enumerate,
  .introspect = subtree_introspect,
  .dispatch = subtree_dispatch,
};

/* The job's properties, all of them or all but Settings. */
static GVariant *
job_properties (JobdJob *job, gboolean with_settings, gboolean may_read_secrets)
{
  GDBusInterfaceInfo *info = jobd_dbus_job_interface_info ();
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; info->properties[i] != NULL; i++)
    {
      const char *name = info->properties[i]->name;

      if (with_settings || !g_str_equal (name, "Settings"))
        g_variant_builder_add (&builder, "{sv}", name,
                               job_property_value (job, name, may_read_secrets));
    }
  return g_variant_builder_end (&builder);
}

/* A signal to every connection that asked for signals: on a peer
 * connection that is one that called AddMatch (jobd-dbus-peer.c); on a bus,
 * the bus routes by match rules. Each goes through jobd_dbus_client_send(),
 * so what waits for a peer that does not read is bounded. */
static void
emit_to (GDBusConnection *connection, const char *path, const char *interface,
         const char *member, GVariant *parameters)
{
  g_autoptr(GDBusMessage) message = g_dbus_message_new_signal (path, interface, member);

  g_dbus_message_set_body (message, parameters);
  jobd_dbus_client_send (connection, message);
}

static void
emit_signal (JobdDBusService *self, const char *path, const char *interface,
             const char *member, GVariant *parameters)
{
  g_autoptr(GVariant) sunk = g_variant_ref_sink (parameters);

  for (guint i = 0; i < self->connections->len; i++)
    if (jobd_dbus_client_wants_signals (self->connections->pdata[i]))
      emit_to (self->connections->pdata[i], path, interface, member, sunk);
}

/* Settings, the bulk of the properties, go out only when they changed:
 * a start announces two state changes. With settings, environment values
 * go only to peers that may read them; a bus broadcasts to everyone, so
 * there they are always hidden. */
static void
emit_job_properties_changed (JobdDBusService *self, JobdJob *job, gboolean settings_changed)
{
  g_autofree char *path = NULL;
  g_autoptr(GVariant) hidden = NULL;
  g_autoptr(GVariant) full = NULL;

  if (self->connections->len == 0)
    return;
  path = jobd_dbus_job_path (jobd_job_get_name (job));
  for (guint i = 0; i < self->connections->len; i++)
    {
      GDBusConnection *connection = self->connections->pdata[i];
      JobdDBusClient *client = jobd_dbus_client_get (connection);
      gboolean secrets = client != NULL && settings_changed &&
                         jobd_dbus_may_read_secrets (self, jobd_dbus_client_get_uid (client), job);
      GVariant **parameters = secrets ? &full : &hidden;

      if (!jobd_dbus_client_wants_signals (connection))
        continue;
      if (*parameters == NULL)
        *parameters = g_variant_ref_sink (g_variant_new ("(s@a{sv}as)", "org.jobd1.Job",
                                                         job_properties (job, settings_changed, secrets),
                                                         NULL));
      emit_to (connection, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
               *parameters);
    }
}

/* ---- manager events → signals ---- */

static void
on_job_added (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  JobdDBusService *self = user_data;
  g_autofree char *path = jobd_dbus_job_path (jobd_job_get_name (job));

  emit_signal (self, JOBD_DBUS_PATH, "org.jobd1.Manager", "JobAdded",
               g_variant_new ("(so)", jobd_job_get_name (job), path));
}

static void
on_job_removed (JobdManager *manager, JobdJob *job, gpointer user_data)
{
  JobdDBusService *self = user_data;
  g_autofree char *path = jobd_dbus_job_path (jobd_job_get_name (job));

  emit_signal (self, JOBD_DBUS_PATH, "org.jobd1.Manager", "JobRemoved",
               g_variant_new ("(so)", jobd_job_get_name (job), path));
}

static void
on_job_state_changed (JobdManager *manager, JobdJob *job, int old_state, int new_state,
                      GVariant *details, gpointer user_data)
{
  JobdDBusService *self = user_data;

  emit_signal (self, JOBD_DBUS_PATH, "org.jobd1.Manager", "JobStateChanged",
               g_variant_new ("(sss@a{sv})", jobd_job_get_name (job),
                              jobd_state_to_string (old_state),
                              jobd_state_to_string (new_state), details));
}

static void
on_job_changed (JobdManager *manager, JobdJob *job, gboolean settings_changed,
                gpointer user_data)
{
  emit_job_properties_changed (user_data, job, settings_changed);
}

void
jobd_dbus_jobs_connect_manager (JobdDBusService *self)
{
  g_signal_connect_object (self->manager, "job-added", G_CALLBACK (on_job_added), self, 0);
  g_signal_connect_object (self->manager, "job-removed", G_CALLBACK (on_job_removed), self, 0);
  g_signal_connect_object (self->manager, "job-state-changed", G_CALLBACK (on_job_state_changed), self, 0);
  g_signal_connect_object (self->manager, "job-changed", G_CALLBACK (on_job_changed), self, 0);
}

guint
jobd_dbus_jobs_register_on (JobdDBusService *self, GDBusConnection *connection, GError **error)
{
  return g_dbus_connection_register_subtree (connection, JOBD_DBUS_JOB_PATH_PREFIX,
                                             &subtree_vtable,
                                             G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                             self, NULL, error);
}
