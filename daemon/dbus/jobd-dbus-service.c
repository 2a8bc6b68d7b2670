/* jobd-dbus-service.c — org.jobd1 over D-Bus: method table, authorization,
 * connections, job objects. */
#include "config.h"

#include "jobd-dbus-service.h"

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "jobd-auth.h"
#include "jobd-dbus-client.h"
#include "jobd-dbus-generated.h"
#include "jobd-dbus-listener.h"
#include "jobd-dbus-peer.h"
#include "jobd-error.h"
#include "jobd-memory.h"
#include "jobd-serverlog.h"
#include "jobd-variant.h"

/* Owning the bus name: attempts before giving up, and the pause between. */
#define NAME_OWN_ATTEMPTS 20
#define NAME_OWN_RETRY_MSEC 250

typedef struct _MethodBinding MethodBinding;

struct _JobdDBusService {
  GObject parent_instance;

  JobdManager *manager;
  JobdDBusManager *skeleton;
  JobdDBusListener *listener;
  char *socket_path;
  GPtrArray *connections;       /* GDBusConnection*, every one we serve */
  GHashTable *subtree_ids;      /* GDBusConnection* → registration id */
  GHashTable *bus_uid_cache;    /* unique name → uid, for bus callers */
  guint own_name_id;
  guint own_retry_id;
  guint own_attempts;
  gboolean name_owned;
  GBusType bus_type;
  GCallback on_name_acquired;
  GCallback on_name_lost;
  gpointer on_name_data;
  MethodBinding *bindings;
};

G_DEFINE_FINAL_TYPE (JobdDBusService, jobd_dbus_service, G_TYPE_OBJECT)

typedef void (*MethodImpl) (JobdDBusService *self,
                            GDBusMethodInvocation *invocation,
                            guint caller_uid,
                            JobdJob *job);

/* ---- the method table: every method, the access it needs, its code ---- */

typedef struct {
  const char *signal;     /* the skeleton's handle-* signal */
  JobdAccess access;
  gboolean takes_job;     /* first argument is a job name, looked up first */
  MethodImpl impl;
} MethodEntry;

struct _MethodBinding {
  JobdDBusService *service;
  const MethodEntry *entry;
};

static void method_add (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_remove (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_update (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_job (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_settings (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_runtime (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_list (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_status (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_status_all (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_start (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_stop (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_restart (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_reload (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_kill (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_read_output (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_follow_output (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_memory (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_server_memory (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_get_server_log (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);
static void method_reload_config (JobdDBusService *, GDBusMethodInvocation *, guint, JobdJob *);

static const MethodEntry method_table[] = {
  { "handle-add",               JOBD_ACCESS_CREATE, FALSE, method_add },
  { "handle-remove",            JOBD_ACCESS_MODIFY, TRUE,  method_remove },
  { "handle-update",            JOBD_ACCESS_MODIFY, TRUE,  method_update },
  { "handle-get-job",           JOBD_ACCESS_READ,   TRUE,  method_get_job },
  { "handle-get-settings",      JOBD_ACCESS_READ,   TRUE,  method_get_settings },
  { "handle-get-runtime",       JOBD_ACCESS_READ,   TRUE,  method_get_runtime },
  { "handle-list",              JOBD_ACCESS_READ,   FALSE, method_list },
  { "handle-status",            JOBD_ACCESS_READ,   TRUE,  method_status },
  { "handle-status-all",        JOBD_ACCESS_READ,   FALSE, method_status_all },
  { "handle-start",             JOBD_ACCESS_MODIFY, TRUE,  method_start },
  { "handle-stop",              JOBD_ACCESS_MODIFY, TRUE,  method_stop },
  { "handle-restart",           JOBD_ACCESS_MODIFY, TRUE,  method_restart },
  { "handle-reload",            JOBD_ACCESS_MODIFY, TRUE,  method_reload },
  { "handle-kill",              JOBD_ACCESS_MODIFY, TRUE,  method_kill },
  { "handle-read-output",       JOBD_ACCESS_READ,   TRUE,  method_read_output },
  { "handle-follow-output",     JOBD_ACCESS_READ,   TRUE,  method_follow_output },
  { "handle-get-memory",        JOBD_ACCESS_READ,   TRUE,  method_get_memory },
  { "handle-get-server-memory", JOBD_ACCESS_READ,   FALSE, method_get_server_memory },
  { "handle-get-server-log",    JOBD_ACCESS_READ,   FALSE, method_get_server_log },
  { "handle-reload-config",     JOBD_ACCESS_ADMIN,  FALSE, method_reload_config },
};

/* ---- replies ---- */

static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  g_autoptr(GError) failed = NULL;

  if (error->domain != JOBD_ERROR)
    error = failed = g_error_new_literal (JOBD_ERROR, JOBD_ERROR_FAILED, error->message);
  jobd_dbus_client_return_gerror (invocation, error);
}

static void
return_ok_or_error (GDBusMethodInvocation *invocation, gboolean ok, const GError *error)
{
  if (ok)
    jobd_dbus_client_return_value (invocation, NULL, NULL);
  else
    return_error (invocation, error);
}

/* ---- dispatch: caller → access check → implementation ---- */

static void
dispatch_call (const MethodBinding *binding, GDBusMethodInvocation *invocation, guint uid)
{
  JobdDBusService *self = binding->service;
  JobdConfig *config = jobd_manager_get_config (self->manager);
  g_autoptr(GError) error = NULL;
  JobdJob *job = NULL;

  if (binding->entry->takes_job)
    {
      const char *name = NULL;
      g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 0, "&s", &name);
      job = jobd_manager_lookup_job (self->manager, name, &error);
      if (job == NULL)
        {
          g_autoptr(GError) name_error = NULL;
          /* A malformed name deserves that answer rather than "no such job". */
          return_error (invocation, jobd_name_validate (name, &name_error) ? error : name_error);
          return;
        }
    }
  if (!jobd_auth_check (binding->entry->access, uid, config->admin_group, job, &error))
    {
      return_error (invocation, error);
      return;
    }
  binding->entry->impl (self, invocation, uid, job);
}

typedef struct {
  const MethodBinding *binding;
  GDBusMethodInvocation *invocation;
  char *sender;
} PendingCaller;

static void
on_bus_caller_uid (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PendingCaller *pending = user_data;
  JobdDBusService *self = pending->binding->service;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint uid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_method_invocation_return_error (pending->invocation, JOBD_ERROR,
                                             JOBD_ERROR_ACCESS_DENIED,
                                             "cannot identify the caller: %s", error->message);
    }
  else
    {
      g_variant_get (reply, "(u)", &uid);
      /* Unique names are never reused on a bus: caching is safe. Bounded. */
      if (g_hash_table_size (self->bus_uid_cache) > 4096)
        g_hash_table_remove_all (self->bus_uid_cache);
      g_hash_table_insert (self->bus_uid_cache, g_strdup (pending->sender), GUINT_TO_POINTER (uid + 1));
      dispatch_call (pending->binding, pending->invocation, uid);
    }
  g_object_unref (pending->invocation);
  g_free (pending->sender);
  g_object_unref (self);
  g_free (pending);
}

/* Every skeleton method lands here (connected swapped, so the binding comes
 * first and the per-method arguments, read from the invocation, are ignored). */
static gboolean
on_method_call (MethodBinding *binding, GDBusMethodInvocation *invocation)
{
  JobdDBusService *self = binding->service;
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  PendingCaller *pending;
  gpointer cached;

  if (sender == NULL)
    {
      /* Peer-to-peer: the kernel told us who is on the other end. */
      JobdDBusClient *client = jobd_dbus_client_get (connection);

      if (client == NULL)
        g_dbus_method_invocation_return_error_literal (invocation, JOBD_ERROR,
                                                       JOBD_ERROR_ACCESS_DENIED,
                                                       "cannot identify the caller");
      else
        dispatch_call (binding, invocation, jobd_dbus_client_get_uid (client));
      return TRUE;
    }

  cached = g_hash_table_lookup (self->bus_uid_cache, sender);
  if (cached != NULL)
    {
      dispatch_call (binding, invocation, GPOINTER_TO_UINT (cached) - 1);
      return TRUE;
    }

  pending = g_new0 (PendingCaller, 1);
  pending->binding = binding;
  pending->invocation = g_object_ref (invocation);
  pending->sender = g_strdup (sender);
  g_object_ref (self);
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_bus_caller_uid, pending);
  return TRUE;
}

/* ---- the methods ---- */

static JobdSettingsFlags
settings_flags_for (guint caller_uid)
{
  return caller_uid == 0 ? JOBD_SETTINGS_FLAGS_PRIVILEGED : JOBD_SETTINGS_FLAGS_NONE;
}

static void
method_add (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  const char *name = NULL;
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s@a{sv})", &name, &asv);
  if (!jobd_name_validate (name, &error) ||
      !jobd_settings_merge_variant (settings, asv, settings_flags_for (uid), &error) ||
      jobd_manager_add_job (self->manager, name, g_steal_pointer (&settings), uid, &error) == NULL)
    {
      return_error (invocation, error);
      return;
    }
  path = jobd_dbus_job_path (name);
  jobd_dbus_client_return_value (invocation, g_variant_new ("(o)", path), NULL);
}

static void
method_remove (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_remove_job (self->manager, jobd_job_get_name (job), &error);

  return_ok_or_error (invocation, ok, error);
}

static void
method_update (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GVariant) asv = NULL;
  g_autoptr(JobdSettings) settings = jobd_settings_copy (jobd_job_get_settings (job));
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "@a{sv}", &asv);
  ok = jobd_settings_merge_variant (settings, asv, settings_flags_for (uid), &error) &&
       jobd_manager_update_job (self->manager, jobd_job_get_name (job),
                                g_steal_pointer (&settings), &error);
  return_ok_or_error (invocation, ok, error);
}

static void
method_get_job (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autofree char *path = jobd_dbus_job_path (jobd_job_get_name (job));

  jobd_dbus_client_return_value (invocation, g_variant_new ("(o)", path), NULL);
}

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

static GVariant *
settings_variant (JobdJob *job, gboolean may_read_secrets)
{
  GVariant *settings = jobd_settings_to_variant (jobd_job_get_settings (job));

  if (may_read_secrets)
    return settings;
  return hide_environment (g_variant_ref_sink (settings));
}

static gboolean
may_read_secrets (JobdDBusService *self, guint uid, JobdJob *job)
{
  JobdConfig *config = jobd_manager_get_config (self->manager);

  return jobd_auth_may_read_secrets (uid, config->admin_group, job);
}

static void
method_get_settings (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  GVariant *settings = settings_variant (job, may_read_secrets (self, uid, job));

  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&settings, 1), NULL);
}

static void
method_get_runtime (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  GVariant *runtime = jobd_job_get_runtime_variant (job);

  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&runtime, 1), NULL);
}

/* Fills row; the path is allocated into paths, which owns it. */
static void
list_row (JobdJob *job, JobdMemorySnapshot **snapshot, GPtrArray *paths, JobdListRow *row)
{
  char *path = jobd_dbus_job_path (jobd_job_get_name (job));
  guint64 memory = 0;
  const char *source;

  if (jobd_job_get_process (job) != NULL)
    {
      /* One /proc scan for the whole list, made only if something runs. */
      if (*snapshot == NULL)
        *snapshot = jobd_memory_snapshot_new (NULL);
      jobd_job_get_memory (job, *snapshot, &memory, &source, NULL);
    }
  g_ptr_array_add (paths, path);
  *row = (JobdListRow) {
    .name = jobd_job_get_name (job),
    .state = jobd_state_to_string (jobd_job_get_state (job)),
    .pid = (guint32) jobd_job_get_pid (job),
    .memory = memory,
    .started_at = (guint64) jobd_job_get_started_at (job),
    .restarts = jobd_job_get_restarts (job),
    .path = path,
  };
}

static void
method_list (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  g_autoptr(JobdMemorySnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_full (jobs->len, g_free);
  g_autofree JobdListRow *rows = g_new (JobdListRow, jobs->len + 1);
  GVariant *list;

  /* Serialized in one piece, like StatusAll: a GVariant per field of every
   * job cost more than the rest of the call. */
  for (guint i = 0; i < jobs->len; i++)
    list_row (jobs->pdata[i], &snapshot, paths, &rows[i]);
  list = jobd_variant_new_list_rows (rows, jobs->len);
  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&list, 1), NULL);
}

static void
method_status (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  jobd_dbus_client_return_value (invocation,
      g_variant_new ("(s)", jobd_state_to_string (jobd_job_get_state (job))), NULL);
}

static void
method_status_all (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GPtrArray) jobs = jobd_manager_list_jobs (self->manager);
  g_autofree const char **names = g_new (const char *, jobs->len + 1);
  g_autofree const char **states = g_new (const char *, jobs->len + 1);
  GVariant *dict;

  /* Serialized in one piece rather than as a GVariant per string: this is
   * the call that must stay cheap with thousands of jobs (job names are
   * ASCII: jobd_name_validate() admits no other name). */
  for (guint i = 0; i < jobs->len; i++)
    {
      names[i] = jobd_job_get_name (jobs->pdata[i]);
      states[i] = jobd_state_to_string (jobd_job_get_state (jobs->pdata[i]));
    }
  dict = jobd_variant_new_string_dict (names, states, jobs->len);
  jobd_dbus_client_return_value (invocation, g_variant_new_tuple (&dict, 1), NULL);
}

static void
on_start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_start_job_finish (JOBD_MANAGER (source), result, &error);

  return_ok_or_error (invocation, ok, error);
}

static void
method_start (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  jobd_manager_start_job_async (self->manager, jobd_job_get_name (job), NULL,
                                on_start_done, g_object_ref (invocation));
}

static void
method_stop (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_stop_job (self->manager, jobd_job_get_name (job), &error);

  return_ok_or_error (invocation, ok, error);
}

static void
on_restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_restart_job_finish (JOBD_MANAGER (source), result, &error);

  return_ok_or_error (invocation, ok, error);
}

static void
method_restart (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  jobd_manager_restart_job_async (self->manager, jobd_job_get_name (job), NULL,
                                  on_restart_done, g_object_ref (invocation));
}

static void
method_reload (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_manager_reload_job (self->manager, jobd_job_get_name (job), &error);

  return_ok_or_error (invocation, ok, error);
}

static void
method_kill (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  gint32 signo = 0;
  gboolean ok;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "i", &signo);
  ok = jobd_manager_kill_job (self->manager, jobd_job_get_name (job), signo, &error);
  return_ok_or_error (invocation, ok, error);
}

static void
method_read_output (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GPtrArray) lines = NULL;
  GVariantBuilder builder;
  guint32 max_lines = 0;

  g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 1, "u", &max_lines);
  lines = jobd_output_read (jobd_job_get_output (job), max_lines);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tss)"));
  for (guint i = 0; i < lines->len; i++)
    {
      JobdLine *line = lines->pdata[i];
      g_variant_builder_add (&builder, "(tss)", (guint64) line->time_usec,
                             jobd_stream_to_string (line->stream), line->text);
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(a(tss))", &builder), NULL);
}

static void
method_follow_output (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fd_list = NULL;
  int fd = jobd_output_follow (jobd_job_get_output (job), &error);
  int index;

  if (fd < 0)
    {
      return_error (invocation, error);
      return;
    }
  fd_list = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fd_list, fd, &error);
  close (fd);
  if (index < 0)
    {
      return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(h)", index), fd_list);
}

static void
method_get_memory (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *job)
{
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  guint64 bytes = 0;

  if (!jobd_job_get_memory (job, NULL, &bytes, &source, &error))
    {
      return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(ts)", bytes, source), NULL);
}

static void
method_get_server_memory (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;

  if (!jobd_memory_process_rss (getpid (), &bytes, &error))
    {
      return_error (invocation, error);
      return;
    }
  jobd_dbus_client_return_value (invocation, g_variant_new ("(t)", bytes), NULL);
}

static void
method_get_server_log (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_auto(GStrv) lines = NULL;
  guint32 max_lines = 0;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(u)", &max_lines);
  lines = jobd_server_log_get_lines (max_lines);
  jobd_dbus_client_return_value (invocation,
      g_variant_new ("(^as)", lines), NULL);
}

static void
method_reload_config (JobdDBusService *self, GDBusMethodInvocation *invocation, guint uid, JobdJob *unused)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = jobd_config_reload (jobd_manager_get_config (self->manager), &error);

  return_ok_or_error (invocation, ok, error);
}

/* ---- job objects: a subtree, so a new connection costs one registration
 * whatever the number of jobs ---- */

char *
jobd_dbus_job_path (const char *name)
{
  GString *path = g_string_new (JOBD_DBUS_JOB_PATH_PREFIX "/");

  for (const char *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (path, *p);
      else
        g_string_append_printf (path, "_%02x", (guchar) *p);
    }
  return g_string_free (path, FALSE);
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
  if (g_str_equal (property, "Settings"))
    return settings_variant (job, may_read_secrets);
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
  JobdDBusClient *client = jobd_dbus_client_get (connection);
  gpointer cached = sender != NULL ? g_hash_table_lookup (self->bus_uid_cache, sender) : NULL;
  gboolean secrets = FALSE;
  GVariant *value;

  /* A property getter cannot wait: a bus caller jobd does not know yet sees
   * no secret values (GetSettings asks the bus who it is). */
  if (job == NULL || !g_str_equal (property_name, "Settings"))
    ;   /* the group lookup only where it matters */
  else if (client != NULL)
    secrets = may_read_secrets (self, jobd_dbus_client_get_uid (client), job);
  else if (cached != NULL)
    secrets = may_read_secrets (self, GPOINTER_TO_UINT (cached) - 1, job);
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

/* Settings, the bulk of the properties, go out only when they changed:
 * a start announces two state changes. */
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
                         may_read_secrets (self, jobd_dbus_client_get_uid (client), job);
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

/* ---- connections ---- */

static gboolean
export_on (JobdDBusService *self, GDBusConnection *connection, GError **error)
{
  guint subtree_id;

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                         connection, JOBD_DBUS_PATH, error))
    return FALSE;
  subtree_id = g_dbus_connection_register_subtree (connection, JOBD_DBUS_JOB_PATH_PREFIX,
                                                   &subtree_vtable,
                                                   G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                                   self, NULL, error);
  if (subtree_id == 0)
    {
      g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                                          connection);
      return FALSE;
    }
  g_hash_table_insert (self->subtree_ids, g_object_ref (connection), GUINT_TO_POINTER (subtree_id));
  g_ptr_array_add (self->connections, g_object_ref (connection));
  return TRUE;
}

static void
unexport_from (JobdDBusService *self, GDBusConnection *connection)
{
  guint subtree_id = GPOINTER_TO_UINT (g_hash_table_lookup (self->subtree_ids, connection));

  if (subtree_id == 0)
    return;
  g_dbus_connection_unregister_subtree (connection, subtree_id);
  g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                                      connection);
  g_hash_table_remove (self->subtree_ids, connection);
  g_ptr_array_remove (self->connections, connection);
}

static void
on_peer_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
                gpointer user_data)
{
  unexport_from (user_data, connection);
}

static void
on_new_connection (GDBusConnection *connection, GSocket *socket, guint uid, gpointer user_data)
{
  JobdDBusService *self = user_data;
  JobdConfig *config = jobd_manager_get_config (self->manager);
  g_autoptr(GError) error = NULL;

  jobd_dbus_client_attach (connection, socket, uid, config->dbus_max_queued_bytes);
  if (!export_on (self, connection, &error) ||
      jobd_dbus_peer_register_bus_driver (connection, &error) == 0)
    {
      g_warning ("cannot serve a new client: %s", error->message);
      unexport_from (self, connection);
      g_dbus_connection_close (connection, NULL, NULL, NULL);
      return;
    }
  g_signal_connect_object (connection, "closed", G_CALLBACK (on_peer_closed), self, 0);
}

gboolean
jobd_dbus_service_listen_private (JobdDBusService *self,
                                  const char *socket_path,
                                  GError **error)
{
  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);

  /* A socket file left by a jobd that died; we hold the runtime dir. */
  if (g_unlink (socket_path) < 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot remove stale socket %s: %s", socket_path, g_strerror (saved));
      return FALSE;
    }
  self->listener = jobd_dbus_listener_new (socket_path, jobd_manager_get_config (self->manager),
                                           on_new_connection, self, error);
  if (self->listener == NULL)
    return FALSE;
  self->socket_path = g_strdup (socket_path);
  g_message ("listening on %s", address);
  return TRUE;
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;
  g_autoptr(GError) error = NULL;

  /* Export everything before the name is ours, so no caller sees a half API. */
  if (!export_on (self, connection, &error))
    g_warning ("cannot export the API on the bus: %s", error->message);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;

  self->name_owned = TRUE;
  g_message ("owning %s on the bus", name);
  if (self->on_name_acquired != NULL)
    ((void (*) (gpointer)) self->on_name_acquired) (self->on_name_data);
}

static void on_own_retry (gpointer user_data);

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  JobdDBusService *self = user_data;

  if (connection != NULL)
    unexport_from (self, connection);

  /* Not owned yet: the bus may still be loading a new policy, or the jobd
   * we replace may still be letting go. Try again for a while. */
  if (!self->name_owned && connection != NULL && self->own_attempts < NAME_OWN_ATTEMPTS)
    {
      g_debug ("cannot own %s yet; trying again", name);
      g_clear_handle_id (&self->own_name_id, g_bus_unown_name);
      self->own_retry_id = g_timeout_add_once (NAME_OWN_RETRY_MSEC, on_own_retry, self);
      return;
    }

  g_warning ("cannot own %s on the bus (another jobd running, or not allowed by the bus policy)",
             name);
  if (self->on_name_lost != NULL)
    ((void (*) (gpointer)) self->on_name_lost) (self->on_name_data);
}

static void
request_name (JobdDBusService *self)
{
  self->own_attempts++;
  self->own_name_id = g_bus_own_name (self->bus_type, JOBD_DBUS_NAME,
                                      G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                      on_bus_acquired, on_name_acquired, on_name_lost,
                                      self, NULL);
}

static void
on_own_retry (gpointer user_data)
{
  JobdDBusService *self = user_data;

  self->own_retry_id = 0;
  request_name (self);
}

void
jobd_dbus_service_own_name (JobdDBusService *self,
                            GBusType bus_type,
                            GCallback on_acquired,
                            GCallback on_lost,
                            gpointer user_data)
{
  self->on_name_acquired = on_acquired;
  self->on_name_lost = on_lost;
  self->on_name_data = user_data;
  self->bus_type = bus_type;
  request_name (self);
}


/* What jobd sent before exiting reaches the clients that read; one that
 * does not must not hold jobd's exit (a flush waits for the queue to be
 * written): after FLUSH_MSEC the peers still behind are cut off, which
 * fails their stuck writes and ends the flush. */
#define FLUSH_MSEC 1000

typedef struct {
  GPtrArray *connections;
  GMutex lock;
  GCond cond;
  gboolean done;
} Flusher;

static gpointer
flush_thread (gpointer data)
{
  Flusher *flusher = data;

  for (guint i = 0; i < flusher->connections->len; i++)
    g_dbus_connection_flush_sync (flusher->connections->pdata[i], NULL, NULL);
  g_mutex_lock (&flusher->lock);
  flusher->done = TRUE;
  g_cond_signal (&flusher->cond);
  g_mutex_unlock (&flusher->lock);
  return NULL;
}

static void
flush_all (GPtrArray *connections)
{
  Flusher flusher = { .connections = connections };
  gint64 deadline = g_get_monotonic_time () + FLUSH_MSEC * G_TIME_SPAN_MILLISECOND;
  GThread *thread;
  gboolean done;

  g_mutex_init (&flusher.lock);
  g_cond_init (&flusher.cond);
  thread = g_thread_new ("jobd-flush", flush_thread, &flusher);
  g_mutex_lock (&flusher.lock);
  while (!flusher.done && g_cond_wait_until (&flusher.cond, &flusher.lock, deadline))
    ;
  done = flusher.done;
  g_mutex_unlock (&flusher.lock);
  for (guint i = 0; !done && i < connections->len; i++)
    {
      JobdDBusClient *client = jobd_dbus_client_get (connections->pdata[i]);

      if (client != NULL)
        jobd_dbus_client_cut_off (client, "jobd is exiting and it does not read");
    }
  g_thread_join (thread);
  g_mutex_clear (&flusher.lock);
  g_cond_clear (&flusher.cond);
}

void
jobd_dbus_service_stop (JobdDBusService *self)
{
  g_clear_handle_id (&self->own_name_id, g_bus_unown_name);
  g_clear_handle_id (&self->own_retry_id, g_source_remove);
  if (self->listener != NULL)
    {
      g_clear_pointer (&self->listener, jobd_dbus_listener_free);
      if (self->socket_path != NULL)
        g_unlink (self->socket_path);
    }
  if (self->connections->len > 0)
    {
      g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < self->connections->len; i++)
        g_ptr_array_add (connections, g_object_ref (self->connections->pdata[i]));
      for (guint i = 0; i < connections->len; i++)
        unexport_from (self, connections->pdata[i]);
      flush_all (connections);
    }
}

/* ---- GObject ---- */

JobdDBusService *
jobd_dbus_service_new (JobdManager *manager)
{
  JobdDBusService *self = g_object_new (JOBD_TYPE_DBUS_SERVICE, NULL);

  self->manager = g_object_ref (manager);
  self->skeleton = jobd_dbus_manager_skeleton_new ();
  jobd_dbus_manager_set_version (self->skeleton, PACKAGE_VERSION);
  jobd_dbus_manager_set_backend (self->skeleton, jobd_manager_get_backend_name (manager));

  self->bindings = g_new0 (MethodBinding, G_N_ELEMENTS (method_table));
  for (gsize i = 0; i < G_N_ELEMENTS (method_table); i++)
    {
      self->bindings[i].service = self;
      self->bindings[i].entry = &method_table[i];
      g_signal_connect_swapped (self->skeleton, method_table[i].signal,
                                G_CALLBACK (on_method_call), &self->bindings[i]);
    }

  g_signal_connect_object (manager, "job-added", G_CALLBACK (on_job_added), self, 0);
  g_signal_connect_object (manager, "job-removed", G_CALLBACK (on_job_removed), self, 0);
  g_signal_connect_object (manager, "job-state-changed", G_CALLBACK (on_job_state_changed), self, 0);
  g_signal_connect_object (manager, "job-changed", G_CALLBACK (on_job_changed), self, 0);
  return self;
}

static void
jobd_dbus_service_dispose (GObject *object)
{
  JobdDBusService *self = JOBD_DBUS_SERVICE (object);

  if (self->connections != NULL)
    jobd_dbus_service_stop (self);
  if (self->skeleton != NULL)
    g_signal_handlers_disconnect_matched (self->skeleton, G_SIGNAL_MATCH_FUNC, 0, 0,
                                          NULL, on_method_call, NULL);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->manager);
  G_OBJECT_CLASS (jobd_dbus_service_parent_class)->dispose (object);
}

static void
jobd_dbus_service_finalize (GObject *object)
{
  JobdDBusService *self = JOBD_DBUS_SERVICE (object);

  g_ptr_array_unref (self->connections);
  g_hash_table_unref (self->subtree_ids);
  g_hash_table_unref (self->bus_uid_cache);
  g_free (self->socket_path);
  g_free (self->bindings);
  G_OBJECT_CLASS (jobd_dbus_service_parent_class)->finalize (object);
}

static void
jobd_dbus_service_class_init (JobdDBusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jobd_dbus_service_dispose;
  object_class->finalize = jobd_dbus_service_finalize;
}

static void
jobd_dbus_service_init (JobdDBusService *self)
{
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->subtree_ids = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->bus_uid_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}
