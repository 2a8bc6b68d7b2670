/* SPDX-License-Identifier: MIT */
/* fuzz-settings.c — libFuzzer target for the D-Bus job settings parser.
 *
 * The input is the serialised body of an a{sv} (GVariant wire format, what
 * D-Bus carries for Add/Update). GDBus hands jobd values in normal form, so
 * the input is read untrusted and normalised, then merged as root and as a
 * plain user would (jobd_settings_merge_variant). What it accepts must:
 * - leave the settings untouched when it refuses;
 * - go out and back in unchanged over D-Bus (to_variant → merge → to_variant);
 * - be written to the state file as strict JSON (strict-json.h) that reads
 *   back (merge_json, as jobd-store.c does) to the same JSON.
 * Anything else aborts.
 *
 * Seed corpus: tests/fuzz/corpus-settings/ (made by tests/fuzz/make-seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd-json.h"
#include "jobd-settings.h"
#include "strict-json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define STORED_FLAGS (JOBD_SETTINGS_FLAGS_PRIVILEGED | JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN)

G_GNUC_NORETURN static void
die (const char *what, GVariant *input, const char *detail)
{
  g_autofree char *text = g_variant_print (input, TRUE);

  fprintf (stderr, "settings: %s\n  input: %.4000s\n  %s\n", what, text, detail ? detail : "");
  abort ();
}

static char *
settings_json (const JobdSettings *settings)
{
  g_autoptr(JsonNode) node = jobd_settings_to_json (settings);

  return jobd_json_to_string (node, FALSE);   /* as jobd-store.c writes it */
}

static void
check_stored (GVariant *input, const JobdSettings *settings)
{
  g_autofree char *text = settings_json (settings);
  g_autofree char *again = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JobdSettings) read = jobd_settings_new ();
  g_autoptr(GError) error = NULL;
  const char *problem = NULL;
  gsize offset = 0;

  if (!strict_json_check (text, strlen (text), &problem, &offset))
    die ("state file JSON is not strict JSON", input, problem);
  if (!json_parser_load_from_data (parser, text, -1, &error))
    die ("state file JSON does not parse", input, error->message);
  if (!jobd_settings_merge_json (read, json_node_get_object (json_parser_get_root (parser)),
                                 STORED_FLAGS, &error)
      || !jobd_settings_validate (read, &error))
    die ("state file JSON is refused when read back", input, error->message);
  again = settings_json (read);
  if (!g_str_equal (text, again))
    {
      g_autofree char *both = g_strdup_printf ("written: %.2000s\n  read back: %.2000s",
                                               text, again);
      die ("state file JSON changes when read back", input, both);
    }
}

static void
check_dbus_round_trip (GVariant *input, const JobdSettings *settings)
{
  g_autoptr(GVariant) out = g_variant_ref_sink (jobd_settings_to_variant (settings));
  g_autoptr(JobdSettings) back = jobd_settings_new ();
  g_autoptr(GVariant) out2 = NULL;
  g_autoptr(GError) error = NULL;

  if (!jobd_settings_merge_variant (back, out, JOBD_SETTINGS_FLAGS_PRIVILEGED, &error))
    die ("GetSettings' answer is refused by Update", input, error->message);
  out2 = g_variant_ref_sink (jobd_settings_to_variant (back));
  if (!g_variant_equal (out, out2))
    {
      g_autofree char *a = g_variant_print (out, TRUE);
      g_autofree char *b = g_variant_print (out2, TRUE);
      g_autofree char *both = g_strdup_printf ("first: %.2000s\n  again: %.2000s", a, b);
      die ("settings change over a D-Bus round trip", input, both);
    }
}

static void
try_merge (GVariant *input, JobdSettingsFlags flags)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autofree char *pristine = settings_json (settings);
  g_autoptr(GError) error = NULL;

  if (!jobd_settings_merge_variant (settings, input, flags, &error))
    {
      g_autofree char *after = settings_json (settings);

      if (error == NULL)
        die ("refused without an error", input, NULL);
      if (!g_str_equal (pristine, after))
        die ("a refused merge changed the settings", input, after);
      return;
    }
  if (!jobd_settings_validate (settings, NULL))
    return;   /* Add and Update refuse it here */
  check_dbus_round_trip (input, settings);
  check_stored (input, settings);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* GVariant wants its data aligned; libFuzzer's buffer need not be. */
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GVariant) raw = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_get_normal_form (raw));

  try_merge (input, JOBD_SETTINGS_FLAGS_NONE);
  try_merge (input, JOBD_SETTINGS_FLAGS_PRIVILEGED);
  try_merge (input, STORED_FLAGS);
  return 0;
}
