/* SPDX-License-Identifier: MIT */
/* bench-dbus.h — the D-Bus connection every D-Bus bench client opens. */
#pragma once

#include <gio/gio.h>

/* A peer connection to jobd's private socket at address; NULL after
 * printing "PROGRAM: cannot connect to ADDRESS: why". */
GDBusConnection *bench_dbus_connect (const char *program, const char *address);
