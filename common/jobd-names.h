/* SPDX-License-Identifier: MIT */
/* jobd-names.h — the names jobd and jobctl agree on: the bus name and
 * object paths, the private socket, and what a job may be called.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* D-Bus: the well-known name, the manager object, one object per job. */
#define JOBD_DBUS_NAME "org.jobd1"
#define JOBD_DBUS_PATH "/org/jobd1"
#define JOBD_DBUS_JOB_PATH_PREFIX "/org/jobd1/job"

/* The private peer-to-peer socket: RUNTIME_DIR/bus, where RUNTIME_DIR is
 * /run/jobd for the system instance and $XDG_RUNTIME_DIR/jobd otherwise. */
#define JOBD_RUNTIME_SUBDIR "jobd"
#define JOBD_SYSTEM_RUNTIME_DIR "/run/jobd"
#define JOBD_SOCKET_NAME "bus"
#define JOBD_SYSTEM_SOCKET JOBD_SYSTEM_RUNTIME_DIR "/" JOBD_SOCKET_NAME

#define JOBD_NAME_MAX 128

/* A job's `instances`: 1..MaxInstances= (jobd.conf, default
 * JOBD_MAX_INSTANCES_DEFAULT), and MaxInstances= itself at most
 * JOBD_INSTANCES_MAX. */
#define JOBD_MAX_INSTANCES_DEFAULT 64
#define JOBD_INSTANCES_MAX 10000

/* MaxJobsPerUser= default: the jobs one unprivileged owner may have, each
 * instance counted (root, jobd's own user and AdminGroup are not bounded). */
#define JOBD_MAX_JOBS_PER_USER_DEFAULT 1000
/* MaxSettingsPerUser= default: the bytes the settings of one such owner's
 * jobs may take together (environment, extra keys…), 64 MiB. */
#define JOBD_MAX_SETTINGS_PER_USER_DEFAULT (64 * 1024 * 1024)

/* Names: letters, digits and -_.:@, 1..JOBD_NAME_MAX bytes. */
gboolean jobd_name_validate (const char *name, GError **error);

/* The object path of a job: JOBD_DBUS_JOB_PATH_PREFIX "/" and the name with
 * every byte outside [A-Za-z0-9] written _XX (lower-case hex). jobctl
 * computes it from List's names, which do not carry it. */
char *jobd_job_object_path (const char *name);

G_END_DECLS
