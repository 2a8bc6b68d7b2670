/* SPDX-License-Identifier: MIT */
/* jobctl-remote.h — reaching jobd on another host over ssh (jobctl -H). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What -H accepts: [user@]host[:port], host may be [IPv6] (with a port) or
 * a bare IPv6 address (without). destination is what ssh gets after `--`
 * (user@host); port is NULL when none was given. */
gboolean jobctl_remote_parse_host (const char *text, char **destination, char **port,
                                   GError **error);

/* The ssh command line (argv, NULL-terminated) that runs
 * systemd-stdio-bridge on the host, connected to address there. ssh is
 * $JOBD_SSH split like a shell (default "ssh"). */
char **jobctl_remote_ssh_argv (const char *destination, const char *port,
                               const char *address, GError **error);

/* Starts ssh to host ([user@]host[:port]) and speaks D-Bus over its
 * stdin/stdout to jobd's address on that host (a private socket, or with bus
 * a message bus). On failure, error says which part failed: ssh itself
 * (unreachable, authentication), systemd-stdio-bridge missing there, or
 * nothing answering at address there. */
GDBusConnection *jobctl_remote_connect (const char *host, const char *address,
                                        gboolean bus, GError **error);

/* FALSE (error set) when connection cannot carry file descriptors, as over
 * ssh, so a verb that needs one (`logs -f`, named by verb) says so before
 * jobd sends one and the bridge drops the connection. */
gboolean jobctl_remote_check_fd_passing (GDBusConnection *connection, const char *verb,
                                         GError **error);

/* The "Remote control" paragraph of `jobctl --help`. */
const char *jobctl_remote_help (void);

G_END_DECLS
