/* SPDX-License-Identifier: MIT */
/* jobd-dbus-access.c — who is calling, what they may call, and dispatch.
 *
 * Every method of the skeleton lands in on_method_call(): the caller's uid
 * is found (the kernel's word on the private socket, the bus's otherwise,
 * asynchronously and cached), the job argument is looked up, the row's
 * access is checked (jobd_auth_check) and only then does the method's code
 * run. Nothing else answers a method, so this table is the whole policy.
 */
#include "config.h"

#include "jobd-dbus-access.h"

#include "jobd-dbus-client.h"
#include "jobd-dbus-methods.h"
#include "jobd-dbus-service-private.h"
#include "jobd-error.h"

#define MANAGER "org.jobd1.Manager"

/* ---- the table: every method, the access it needs, its code ---- */

static const JobdDBusAccessRow access_table[] = {
  { MANAGER, "Add",             JOBD_ACCESS_CREATE, FALSE, jobd_dbus_method_add },
  { MANAGER, "Remove",          JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_remove },
  { MANAGER, "RemoveWithOptions", JOBD_ACCESS_MODIFY, TRUE, jobd_dbus_method_remove_with_options },
  { MANAGER, "Update",          JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_update },
  { MANAGER, "GetJob",          JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_get_job },
  { MANAGER, "GetSettings",     JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_get_settings },
  { MANAGER, "GetRuntime",      JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_get_runtime },
  { MANAGER, "GetHistory",      JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_get_history },
  { MANAGER, "List",            JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_list },
  { MANAGER, "Status",          JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_status },
  { MANAGER, "StatusAll",       JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_status_all },
  { MANAGER, "GetStatusTexts",  JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_get_status_texts },
  { MANAGER, "GetUsage",        JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_get_usage },
  { MANAGER, "Start",           JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_start },
  { MANAGER, "Stop",            JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_stop },
  { MANAGER, "Restart",         JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_restart },
  { MANAGER, "Reload",          JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_reload },
  { MANAGER, "Kill",            JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_kill },
  { MANAGER, "Scale",           JOBD_ACCESS_MODIFY, TRUE,  jobd_dbus_method_scale },
  { MANAGER, "ReadOutput",      JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_read_output },
  { MANAGER, "FollowOutput",    JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_follow_output },
  { MANAGER, "ReadLog",         JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_read_log },
  { MANAGER, "FollowLog",       JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_follow_log },
  { MANAGER, "GetMemory",       JOBD_ACCESS_READ,   TRUE,  jobd_dbus_method_get_memory },
  { MANAGER, "GetServerMemory", JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_get_server_memory },
  { MANAGER, "GetTimers",       JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_get_timers },
  { MANAGER, "GetServerLog",    JOBD_ACCESS_READ,   FALSE, jobd_dbus_method_get_server_log },
  { MANAGER, "ReloadConfig",    JOBD_ACCESS_ADMIN,  FALSE, jobd_dbus_method_reload_config },
};

const JobdDBusAccessRow *
jobd_dbus_access_table (gsize *n_rows)
{
  *n_rows = G_N_ELEMENTS (access_table);
  return access_table;
}

GDBusInterfaceInfo *const *
jobd_dbus_access_interfaces (void)
{
  static GDBusInterfaceInfo *interfaces[3];

  /* org.jobd1.Job has properties only today; it is listed so that a method
   * added to it must get a row too. */
  if (interfaces[0] == NULL)
    {
      interfaces[0] = jobd_dbus_manager_interface_info ();
      interfaces[1] = jobd_dbus_job_interface_info ();
    }
  return interfaces;
}

/* ---- the table against the XML ---- */

static guint
count_rows (const JobdDBusAccessRow *rows, gsize n_rows, const char *interface, const char *method)
{
  guint count = 0;

  for (gsize i = 0; i < n_rows; i++)
    if (g_str_equal (rows[i].interface, interface) && g_str_equal (rows[i].method, method))
      count++;
  return count;
}

static gboolean
row_in_xml (const JobdDBusAccessRow *row, GDBusInterfaceInfo *const *interfaces)
{
  for (gsize i = 0; interfaces[i] != NULL; i++)
    if (g_str_equal (interfaces[i]->name, row->interface))
      return g_dbus_interface_info_lookup_method (interfaces[i], row->method) != NULL;
  return FALSE;
}

gboolean
jobd_dbus_access_table_check (const JobdDBusAccessRow *rows,
                              gsize n_rows,
                              GDBusInterfaceInfo *const *interfaces,
                              GError **error)
{
  g_autoptr(GString) faults = g_string_new (NULL);

  for (gsize i = 0; interfaces[i] != NULL; i++)
    for (gsize m = 0; interfaces[i]->methods != NULL && interfaces[i]->methods[m] != NULL; m++)
      {
        const char *method = interfaces[i]->methods[m]->name;
        guint count = count_rows (rows, n_rows, interfaces[i]->name, method);

        if (count != 1)
          g_string_append_printf (faults, "; %s.%s has %u rows", interfaces[i]->name, method, count);
      }
  for (gsize i = 0; i < n_rows; i++)
    if (!row_in_xml (&rows[i], interfaces))
      g_string_append_printf (faults, "; the row %s.%s names no method of the interface XML",
                              rows[i].interface, rows[i].method);
  if (faults->len == 0)
    return TRUE;
  g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
               "the D-Bus access table does not match the interface XML "
               "(every method needs exactly one row)%s", faults->str);
  return FALSE;
}

char *
jobd_dbus_access_signal_name (const char *method)
{
  GString *signal = g_string_new ("handle");

  for (const char *p = method; *p != '\0'; p++)
    {
      if (g_ascii_isupper (*p))
        g_string_append_c (signal, '-');
      g_string_append_c (signal, g_ascii_tolower (*p));
    }
  return g_string_free (signal, FALSE);
}

/* ---- dispatch: caller → job → access check → implementation ---- */

struct _JobdDBusBinding {
  JobdDBusService *service;
  const JobdDBusAccessRow *row;
  gulong handler_id;
};

static void
dispatch_call (const JobdDBusBinding *binding, GDBusMethodInvocation *invocation, guint uid)
{
  JobdDBusService *self = binding->service;
  JobdConfig *config = jobd_manager_get_config (self->manager);
  g_autoptr(GError) error = NULL;
  JobdJob *job = NULL;

  if (binding->row->takes_job)
    {
      const char *name = NULL;
      g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 0, "&s", &name);
      job = jobd_manager_lookup_job (self->manager, name, &error);
      if (job == NULL)
        {
          g_autoptr(GError) name_error = NULL;
          /* A malformed name deserves that answer rather than "no such job". */
          jobd_dbus_return_error (invocation, jobd_name_validate (name, &name_error) ? error : name_error);
          return;
        }
    }
  if (!jobd_auth_check (binding->row->access, uid, config->admin_group, job, &error))
    {
      jobd_dbus_return_error (invocation, error);
      return;
    }
  binding->row->impl (self, invocation, uid, job);
}

typedef struct {
  const JobdDBusBinding *binding;
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

gboolean
jobd_dbus_caller_uid_now (JobdDBusService *self, GDBusConnection *connection,
                          const char *sender, guint *uid)
{
  JobdDBusClient *client = jobd_dbus_client_get (connection);
  gpointer cached = sender != NULL ? g_hash_table_lookup (self->bus_uid_cache, sender) : NULL;

  if (client != NULL)
    *uid = jobd_dbus_client_get_uid (client);
  else if (cached != NULL)
    *uid = GPOINTER_TO_UINT (cached) - 1;
  return client != NULL || cached != NULL;
}

/* Every skeleton method lands here (connected swapped, so the binding comes
 * first and the per-method arguments, read from the invocation, are ignored). */
static gboolean
on_method_call (JobdDBusBinding *binding, GDBusMethodInvocation *invocation)
{
  JobdDBusService *self = binding->service;
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  PendingCaller *pending;
  guint uid;

  if (jobd_dbus_caller_uid_now (self, connection, sender, &uid))
    {
      dispatch_call (binding, invocation, uid);
      return TRUE;
    }
  if (sender == NULL)
    {
      /* Peer-to-peer, and the listener did not vouch for the peer. */
      g_dbus_method_invocation_return_error_literal (invocation, JOBD_ERROR,
                                                     JOBD_ERROR_ACCESS_DENIED,
                                                     "cannot identify the caller");
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

/* Each row is bound to its method's handle-* signal on the skeleton. The
 * signals differ in their argument lists; the table's code reads the
 * arguments from the invocation, so one handler, connected swapped (the
 * binding first, then the invocation, the rest ignored), serves them all. */
static gboolean
bind_row (JobdDBusService *self, JobdDBusBinding *binding, const JobdDBusAccessRow *row,
          GError **error)
{
  g_autofree char *signal = jobd_dbus_access_signal_name (row->method);

  binding->service = self;
  binding->row = row;
  if (g_signal_lookup (signal, G_OBJECT_TYPE (self->skeleton)) == 0)
    {
      g_set_error (error, JOBD_ERROR, JOBD_ERROR_FAILED,
                   "the D-Bus access table names %s.%s, but the skeleton has no %s signal",
                   row->interface, row->method, signal);
      return FALSE;
    }
  binding->handler_id = g_signal_connect_swapped (self->skeleton, signal,
                                                  G_CALLBACK (on_method_call), binding);
  return TRUE;
}

gboolean
jobd_dbus_access_bind (JobdDBusService *self, GError **error)
{
  gsize n_rows = 0;
  const JobdDBusAccessRow *rows = jobd_dbus_access_table (&n_rows);

  if (!jobd_dbus_access_table_check (rows, n_rows, jobd_dbus_access_interfaces (), error))
    return FALSE;
  self->bindings = g_new0 (JobdDBusBinding, n_rows + 1);
  for (gsize i = 0; i < n_rows; i++)
    {
      /* Only Manager methods reach here: the check admits no other row
       * while org.jobd1.Job has no methods. */
      if (!bind_row (self, &self->bindings[i], &rows[i], error))
        {
          jobd_dbus_access_unbind (self);
          return FALSE;
        }
    }
  return TRUE;
}

void
jobd_dbus_access_unbind (JobdDBusService *self)
{
  if (self->bindings == NULL)
    return;
  for (JobdDBusBinding *binding = self->bindings; binding->service != NULL; binding++)
    if (binding->handler_id != 0 && self->skeleton != NULL)
      g_signal_handler_disconnect (self->skeleton, binding->handler_id);
  g_clear_pointer (&self->bindings, g_free);
}
