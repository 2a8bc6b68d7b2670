/* SPDX-License-Identifier: MIT */
/* jobd-legacy-server.h — the legacy TCP listener (php-backend-server
 * compatible), in the main loop.
 *
 * [Legacy] in jobd.conf:
 *   Enable=true               listen at all (a socket handed over by systemd
 *                             is always used)
 *   Listen=127.0.0.1:13123    address:port ([::1]:13123 for IPv6)
 *   MaxFrameSize=1048576      largest request payload, bytes
 *   ReadTimeoutSec=10         a request must arrive whole within this time
 *   MaxConnections=512        open connections; the oldest idle one is
 *                             dropped to make room
 *   MaxAnswerSize=67108864    largest answer held in memory for one client
 *                             (bigger: FAILED; log files are streamed)
 *   MaxQueuedAnswerBytes=33554432  answers waiting for their clients, all
 *                             together; over it, requests wait unprocessed
 *   User=, Interpreter=php, Plugins=auth,logexplorer (jobd-legacy-dispatch.h)
 * All of them are read once, into JobdLegacy.conf (jobd-legacy-config.h).
 * On ReloadConfig / SIGHUP the server reads [Legacy] again: the limits
 * apply to the next connection or request; Enable= and Listen= (and User=,
 * Plugins=) need a restart, which the reload says.
 *
 * Non-blocking I/O on the main loop, no thread per client. A socket from
 * systemd (jobd-legacy.socket, FileDescriptorName=jobd-legacy) wins over
 * Listen=.
 */
#pragma once

#include <gio/gio.h>

#include "jobd-config.h"
#include "jobd-legacy-dispatch.h"
#include "jobd-manager.h"

G_BEGIN_DECLS

#define JOBD_LEGACY_SOCKET_NAME "jobd-legacy"

typedef struct _JobdLegacyServer JobdLegacyServer;

/* Builds the dispatcher (which reads [Legacy]; plugins load here) and
 * hooks the server into jobd_config_reload() until it is freed. */
JobdLegacyServer *jobd_legacy_server_new (JobdManager *manager,
                                          JobdConfig *config,
                                          GError **error);
void jobd_legacy_server_free (JobdLegacyServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobdLegacyServer, jobd_legacy_server_free)

/* Start listening: the socket-activated fd named "jobd-legacy" if there is
 * one, else Listen= when Enable=true. Returns TRUE without listening when
 * disabled. */
gboolean jobd_legacy_server_start (JobdLegacyServer *server, GError **error);
/* Stop accepting and close every connection. */
void jobd_legacy_server_stop (JobdLegacyServer *server);

/* The listening fd that systemd passed with this FileDescriptorName, or -1
 * (no error) when there is none. Uses sd_listen_fds_with_names() without
 * unsetting the environment, so other users (the fd store) still see it. */
int jobd_listen_fd_by_name (const char *name, GError **error);

G_END_DECLS
