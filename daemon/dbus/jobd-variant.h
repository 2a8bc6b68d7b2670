/* SPDX-License-Identifier: MIT */
/* jobd-variant.h — GVariants written straight into their serialized form.
 *
 * Replies that carry one entry per job (StatusAll) are built here instead of
 * from one GVariant instance per string: with thousands of jobs, allocating
 * and type-checking those instances cost more than everything else in the
 * call. The result is byte-for-byte what GLib itself would serialize.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An a{ss} of n entries keys[i] → values[i], floating. Every string must be
 * valid UTF-8 (the result is marked trusted, as GLib's own constructors
 * would check it). */
GVariant *jobd_variant_new_string_dict (const char * const *keys,
                                        const char * const *values,
                                        gsize n);

/* One row of List: (ssuttuo). */
typedef struct {
  const char *name;
  const char *state;
  guint32 pid;
  guint64 memory;
  guint64 started_at;
  guint32 restarts;
  const char *path;         /* a valid object path */
} JobdListRow;

/* An a(ssuttuo) of n rows, floating; strings as above. */
GVariant *jobd_variant_new_list_rows (const JobdListRow *rows, gsize n);

G_END_DECLS
