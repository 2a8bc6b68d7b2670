/* SPDX-License-Identifier: MIT */
/* jobd-config-effective.c — the value the code used for each jobd.conf key.
 * Configuration is read on the main thread only, so one process-wide record
 * is enough; a reload simply notes over it. */
#include "config.h"

#include "jobd-config-effective.h"

static GKeyFile *effective;

GKeyFile *
jobd_config_effective (void)
{
  if (effective == NULL)
    effective = g_key_file_new ();
  return effective;
}

void
jobd_config_effective_reset (void)
{
  g_clear_pointer (&effective, g_key_file_unref);
}

void
jobd_config_effective_note (const char *group, const char *key, const char *value)
{
  /* set_value, not set_string: the value is noted as the file would hold it. */
  g_key_file_set_value (jobd_config_effective (), group, key, value != NULL ? value : "");
}

void
jobd_config_effective_note_bool (const char *group, const char *key, gboolean value)
{
  jobd_config_effective_note (group, key, value ? "true" : "false");
}

void
jobd_config_effective_note_uint (const char *group, const char *key, guint64 value)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  jobd_config_effective_note (group, key, text);
}
