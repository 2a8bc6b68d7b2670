/* SPDX-License-Identifier: MIT */
/* jobd-dbus-service-private.h — what the files of the D-Bus front end share.
 *
 * JobdDBusService is one object whose code is split by concern:
 *   jobd-dbus-service.c      the object: construction, wiring, teardown
 *   jobd-dbus-connections.c  connections we serve, exporting, the bus name
 *   jobd-dbus-access.c       who is calling, the access table, dispatch
 *   jobd-dbus-methods.c      what each org.jobd1.Manager method does
 *   jobd-dbus-jobs.c         the org.jobd1.Job objects and every signal
 * Only these files include this header; the rest of jobd sees
 * jobd-dbus-service.h.
 */
#pragma once

#include "jobd-dbus-generated.h"
#include "jobd-dbus-listener.h"
#include "jobd-dbus-service.h"

G_BEGIN_DECLS

typedef struct _JobdDBusBinding JobdDBusBinding;

struct _JobdDBusService {
  GObject parent_instance;

  JobdManager *manager;
  JobdDBusManager *skeleton;
  JobdDBusListener *listener;
  char *socket_path;
  GPtrArray *connections;       /* GDBusConnection*, every one we serve */
  GHashTable *subtree_ids;      /* GDBusConnection* → registration id */
  GHashTable *bus_uid_cache;    /* unique name → uid + 1, for bus callers */
  GHashTable *log_reads;        /* uid → its ReadLog calls in flight */
  guint own_name_id;
  guint own_retry_id;
  guint own_attempts;
  gboolean name_owned;
  GBusType bus_type;
  JobdDBusNameFunc on_name_acquired;
  JobdDBusNameFunc on_name_lost;
  gpointer on_name_data;
  JobdDBusBinding *bindings;    /* one per access-table row (jobd-dbus-access.c) */
};

/* jobd-dbus-access.c: connect every row of the access table to the
 * skeleton; FALSE (and nothing connected) when the table does not match the
 * interface XML. */
gboolean jobd_dbus_access_bind (JobdDBusService *self, GError **error);
void jobd_dbus_access_unbind (JobdDBusService *self);
/* The uid of a caller on a connection, if known without waiting: the
 * kernel's word on a peer connection, the cache on a bus. */
gboolean jobd_dbus_caller_uid_now (JobdDBusService *self, GDBusConnection *connection,
                                   const char *sender, guint *uid);

/* jobd-dbus-jobs.c */
guint jobd_dbus_jobs_register_on (JobdDBusService *self, GDBusConnection *connection,
                                  GError **error);
void jobd_dbus_jobs_connect_manager (JobdDBusService *self);
gboolean jobd_dbus_may_read_secrets (JobdDBusService *self, guint uid, JobdJob *job);
/* The job's settings as a{sv}, environment values hidden unless
 * may_read_secrets (floating). */
GVariant *jobd_dbus_settings_variant (JobdJob *job, gboolean may_read_secrets);

G_END_DECLS
