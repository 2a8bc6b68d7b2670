/* SPDX-License-Identifier: MIT */
/* jobd-dbus-methods.h — the code of each org.jobd1.Manager method.
 *
 * Called only through the access table (jobd-dbus-access.c), after the
 * caller's access was checked; job is the looked-up job for a method whose
 * first argument names one, NULL otherwise.
 */
#pragma once

#include "jobd-dbus-access.h"

G_BEGIN_DECLS

/* Replies: an error outside JOBD_ERROR goes out as JOBD_ERROR_FAILED. */
void jobd_dbus_return_error (GDBusMethodInvocation *invocation, const GError *error);
void jobd_dbus_return_ok_or_error (GDBusMethodInvocation *invocation, gboolean ok,
                                   const GError *error);

void jobd_dbus_method_add (JobdDBusService *self, GDBusMethodInvocation *invocation,
                           guint caller_uid, JobdJob *job);
void jobd_dbus_method_remove (JobdDBusService *self, GDBusMethodInvocation *invocation,
                              guint caller_uid, JobdJob *job);
void jobd_dbus_method_remove_with_options (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                           guint caller_uid, JobdJob *job);
void jobd_dbus_method_update (JobdDBusService *self, GDBusMethodInvocation *invocation,
                              guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_job (JobdDBusService *self, GDBusMethodInvocation *invocation,
                               guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_settings (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                    guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_runtime (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                   guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_history (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                   guint caller_uid, JobdJob *job);
void jobd_dbus_method_list (JobdDBusService *self, GDBusMethodInvocation *invocation,
                            guint caller_uid, JobdJob *job);
void jobd_dbus_method_status (JobdDBusService *self, GDBusMethodInvocation *invocation,
                              guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_status_texts (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                        guint uid, JobdJob *unused);
void jobd_dbus_method_status_all (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                  guint caller_uid, JobdJob *job);
void jobd_dbus_method_start (JobdDBusService *self, GDBusMethodInvocation *invocation,
                             guint caller_uid, JobdJob *job);
void jobd_dbus_method_stop (JobdDBusService *self, GDBusMethodInvocation *invocation,
                            guint caller_uid, JobdJob *job);
void jobd_dbus_method_restart (JobdDBusService *self, GDBusMethodInvocation *invocation,
                               guint caller_uid, JobdJob *job);
void jobd_dbus_method_reload (JobdDBusService *self, GDBusMethodInvocation *invocation,
                              guint caller_uid, JobdJob *job);
void jobd_dbus_method_kill (JobdDBusService *self, GDBusMethodInvocation *invocation,
                            guint caller_uid, JobdJob *job);
void jobd_dbus_method_scale (JobdDBusService *self, GDBusMethodInvocation *invocation,
                            guint caller_uid, JobdJob *job);
void jobd_dbus_method_read_output (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                   guint caller_uid, JobdJob *job);
void jobd_dbus_method_follow_output (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                     guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_usage (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                 guint uid, JobdJob *unused);
void jobd_dbus_method_read_log (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                guint caller_uid, JobdJob *job);
void jobd_dbus_method_follow_log (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                  guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_memory (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                  guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_server_memory (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                         guint caller_uid, JobdJob *job);
void jobd_dbus_method_get_timers (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                  guint uid, JobdJob *unused);
void jobd_dbus_method_get_server_log (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                      guint caller_uid, JobdJob *job);
void jobd_dbus_method_reload_config (JobdDBusService *self, GDBusMethodInvocation *invocation,
                                     guint caller_uid, JobdJob *job);

G_END_DECLS
