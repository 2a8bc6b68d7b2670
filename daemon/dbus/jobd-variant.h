/* SPDX-License-Identifier: MIT */
/* jobd-variant.h — GVariants written straight into their serialized form.
 *
 * Replies that carry one entry per job (StatusAll, List's columns) are
 * built here instead of from one GVariant instance per string: with
 * thousands of jobs, allocating and type-checking those instances cost more
 * than everything else in the call. The result is byte-for-byte what GLib itself would serialize.
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

/* An as of the n strings, floating; strings as above (List's name and
 * state columns). */
GVariant *jobd_variant_new_strv (const char * const *strv, gsize n);

G_END_DECLS
