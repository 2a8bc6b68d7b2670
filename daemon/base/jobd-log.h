/* SPDX-License-Identifier: MIT */
/* jobd-log.h — how jobd logs: journal fields a user can search, one plain
 * stream in the foreground.
 *
 * Every message about a job goes through jobd_job_log() (or its macros), so
 * it carries the job's name as the journal field JOBD_JOB=NAME: `journalctl
 * JOBD_JOB=demo` then finds every line about that job, not only its state
 * changes. The events people search for (state changes, automatic restarts,
 * the start limit) also carry a fixed MESSAGE_ID (listed in README.md;
 * never change one, people put them in their filters).
 *
 * The output half (jobd_log_write) is what the installed GLib writer ends
 * in: the journal's native protocol when stderr is the journal (JOURNAL_STREAM
 * names stderr's device and inode, as systemd sets it for a service),
 * otherwise one plain line per message on stderr:
 *
 *     jobd: job demo: up -> down (exit code 3)
 *     jobd: WARNING: job demo: cannot start: ...
 *
 * Debug messages pass when G_MESSAGES_DEBUG names "jobd" (or "all"), or
 * with --verbose (decided by the writer, see jobd-serverlog.c).
 *
 * The messages are written for people and stay in English.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A job changed state ("job demo: up -> down (exit code 3)"). */
#define JOBD_MESSAGE_ID_STATE_CHANGED "8ff869e60bbc4b5dbb1e5592ac39caf2"
/* A job exited and will be started again after its backoff. */
#define JOBD_MESSAGE_ID_RESTART_SCHEDULED "1250369c90514b0a95d649c17ea486ad"
/* A job restarted too often and is marked failed. */
#define JOBD_MESSAGE_ID_START_LIMIT "a986f55c71a3414e8a870ac3c0d5d37d"

/* Log a message about the job named job_name. message_id and reason
 * (JOBD_REASON=, the job's reason string) may be NULL. */
void jobd_job_log (GLogLevelFlags level,
                   const char *job_name,
                   const char *message_id,
                   const char *reason,
                   const char *format,
                   ...) G_GNUC_PRINTF (5, 6);

#define jobd_job_message(job_name, ...) \
  jobd_job_log (G_LOG_LEVEL_MESSAGE, (job_name), NULL, NULL, __VA_ARGS__)
#define jobd_job_info(job_name, ...) \
  jobd_job_log (G_LOG_LEVEL_INFO, (job_name), NULL, NULL, __VA_ARGS__)
#define jobd_job_warning(job_name, ...) \
  jobd_job_log (G_LOG_LEVEL_WARNING, (job_name), NULL, NULL, __VA_ARGS__)
#define jobd_job_debug(job_name, ...) \
  jobd_job_log (G_LOG_LEVEL_DEBUG, (job_name), NULL, NULL, __VA_ARGS__)

/* TRUE when stderr is the journal's stream (JOURNAL_STREAM matches it). */
gboolean jobd_log_stderr_is_journal (void);

/* Write one message: to the journal when stderr is the journal, else one
 * plain line on stderr. Never fails the caller; returns what GLib's writer
 * protocol expects. */
GLogWriterOutput jobd_log_write (GLogLevelFlags level,
                                 const GLogField *fields,
                                 gsize n_fields);

G_END_DECLS
