/* SPDX-License-Identifier: MIT */
/* jobd-fifo.h — a job's output channel that outlives jobd.
 *
 * One FIFO per stream in RUNTIME_DIR/output/<job>.<stream>. The job writes
 * to it through a read-write descriptor, so it never gets SIGPIPE or EPIPE
 * while jobd is away (it blocks once the 1 MiB pipe buffer is full, and
 * loses nothing); jobd reads through its own read-write descriptor, so it
 * never sees a spurious EOF. A restarted jobd takes its descriptor back from
 * systemd's fd store (jobd-fdstore.h) or reopens the FIFO by path.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *jobd_fifo_path (const char *runtime_dir, const char *job_name, const char *stream);

/* Create the stream's FIFO afresh. Returns jobd's read descriptor
 * (non-blocking) and, in *job_fd, the descriptor to give the job. */
int jobd_fifo_channel_new (const char *runtime_dir,
                           const char *job_name,
                           const char *stream,
                           int *job_fd,
                           GError **error);

/* After a jobd restart: the read descriptor from the fd store, else the
 * FIFO reopened; -1 (logged) when both are gone, which costs the output,
 * not the job. */
int jobd_fifo_reopen (const char *runtime_dir, const char *job_name, const char *stream);

/* Name under which a job's stream descriptor is kept in the fd store;
 * NULL when the job name cannot be expressed there. */
char *jobd_fifo_store_name (const char *job_name, const char *stream);

G_END_DECLS
