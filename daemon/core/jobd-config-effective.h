/* SPDX-License-Identifier: MIT */
/* jobd-config-effective.h — the value the code used for each jobd.conf key.
 *
 * Every reader of a jobd.conf key notes the value it ended up with (the
 * file's value, or its built-in default when the key is absent). The record
 * is what `data/jobd.conf` is tested against (tests/unit/test-config-defaults.c):
 * a key read without a note, or noted without being documented with its
 * default, fails that test. The readers in jobd-config.c (read_string,
 * read_bool) and jobd_legacy_config_note() note for you.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void jobd_config_effective_note (const char *group, const char *key, const char *value);
void jobd_config_effective_note_bool (const char *group, const char *key, gboolean value);
void jobd_config_effective_note_uint (const char *group, const char *key, guint64 value);
/* The record so far (group → key → value), borrowed; never NULL. */
GKeyFile *jobd_config_effective (void);
/* Forget every note (tests compare two loads). */
void jobd_config_effective_reset (void);

G_END_DECLS
