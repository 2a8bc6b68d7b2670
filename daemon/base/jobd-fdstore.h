/* SPDX-License-Identifier: MIT */
/* jobd-fdstore.h — descriptors systemd keeps for jobd across restarts.
 *
 * At start-up jobd takes every descriptor systemd passed (socket
 * activation of the legacy port, and the fd store: FileDescriptorStoreMax=
 * in jobd.service) by name, once. Front ends then claim theirs by name.
 * While a job runs, jobd keeps the read end of its output in the fd store
 * (FDSTORE=1), so even a jobd killed with SIGKILL gets it back.
 * Without systemd (no $NOTIFY_SOCKET, no $LISTEN_FDS) all of this is a no-op.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Take over what systemd passed; call once, before forking anything. */
void jobd_fdstore_init (void);
/* A passed descriptor by name, now owned by the caller; -1 if none. */
int jobd_fdstore_take (const char *name);
/* Ask systemd to keep a copy of fd under name (replacing an older one). */
void jobd_fdstore_keep (const char *name, int fd);
/* Ask systemd to drop what it keeps under name. */
void jobd_fdstore_forget (const char *name);
/* Close passed descriptors nobody claimed, and drop them from the store. */
void jobd_fdstore_release_unclaimed (void);

G_END_DECLS
