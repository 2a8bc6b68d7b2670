/* SPDX-License-Identifier: MIT */
/* jobd-legacy-peer.h — who is on the other end of a legacy connection, and
 * which jobs it may change.
 *
 * The legacy protocol has no identity of its own beyond the optional auth
 * plugin, so the legacy port follows the D-Bus rules (jobd-auth.h) with the
 * caller's uid taken from the kernel: for a loopback TCP connection the
 * kernel knows which user owns the client's socket (sock_diag/inet_diag, as
 * `ss -e` shows it). On top of that, jobs owned by the legacy identity
 * ([Legacy] User) stay controllable by every client the auth plugin lets
 * through, as with the old server.
 */
#pragma once

#include <glib.h>

#include "jobd-legacy-context.h"

G_BEGIN_DECLS

/* The uid of the process owning the client end of fd, a connected TCP
 * socket, when the connection is over loopback and the kernel reports it;
 * else JOBD_LEGACY_PEER_UNKNOWN. One netlink round trip to the kernel: it
 * never waits on another process. */
guint jobd_legacy_peer_uid (int fd);

/* May the peer change this existing job (DELETE, UPDATE, START, STOP,
 * RESTART, schedules)? Jobs owned by the legacy identity: yes. Any other
 * job: only when jobd_auth_check (MODIFY) passes for the peer's uid (root,
 * the admin group, the job's owner); an unknown peer has no such right.
 * On refusal sets a JOBD_ERROR_ACCESS_DENIED error. */
gboolean jobd_legacy_peer_may_change (JobdLegacy *legacy,
                                      guint peer_uid,
                                      JobdJob *job,
                                      GError **error);

G_END_DECLS
