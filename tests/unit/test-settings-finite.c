/* SPDX-License-Identifier: MIT */
/* test-settings-finite.c — values jobd could not write back are refused at
 * the edge: NaN, ±Inf (D-Bus doubles) and JSON numbers that overflow, in
 * extra, nested, or under an unknown key kept as extra. Found by
 * tests/fuzz/fuzz-settings (reproducers in tests/fuzz/corpus-settings). */
#include <string.h>

#include "jobd-error.h"
#include "jobd-settings.h"

#define STORED (JOBD_SETTINGS_FLAGS_PRIVILEGED | JOBD_SETTINGS_FLAGS_KEEP_UNKNOWN)

static gboolean
merge_variant_text (const char *text, JobdSettingsFlags flags, GError **error)
{
  g_autoptr(JobdSettings) settings = jobd_settings_new ();
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT,
                                                                text, NULL, NULL, NULL));
  gboolean ok;

  g_assert_nonnull (v);
  ok = jobd_settings_merge_variant (settings, v, flags, error);
  if (!ok)
    g_assert_cmpuint (g_variant_n_children (settings->extra), ==, 0);   /* untouched */
  return ok;
}

static void
test_variant (void)
{
  const char *bad[] = {
    "{'command': <'/bin/true'>, 'extra': <{'x': <nan>}>}",
    "{'command': <'/bin/true'>, 'extra': <{'x': <inf>}>}",
    "{'command': <'/bin/true'>, 'extra': <{'x': <-inf>}>}",
    "{'command': <'/bin/true'>, 'extra': <{'x': <[1.0, nan]>}>}",
    "{'command': <'/bin/true'>, 'extra': <{'x': <{'y': <(1, <inf>)>}>}>}",
    "{'command': <'/bin/true'>, 'extra': <{'x': <just <nan>>}>}",
    "{'command': <'/bin/true'>, 'colour': <inf>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad[i]);
      g_assert_false (merge_variant_text (bad[i], STORED, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
      g_assert_nonnull (strstr (error->message, "finite"));
    }
  g_assert_true (merge_variant_text ("{'command': <'/bin/true'>, 'extra': "
                                     "<{'x': <1.5>, 'y': <[-0.0, 1e300]>}>, 'c': <2.5>}",
                                     STORED, NULL));
}

static void
test_json (void)
{
  const char *bad[] = {
    "{\"command\":\"/bin/true\",\"x\":1e400}",
    "{\"command\":\"/bin/true\",\"x\":-1e400}",
    "{\"command\":\"/bin/true\",\"x\":[1,{\"y\":1e999}]}",
    "{\"command\":\"/bin/true\",\"extra\":{\"x\":1e400}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i], NULL);
      g_autoptr(JobdSettings) settings = jobd_settings_new ();
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad[i]);
      g_assert_nonnull (node);
      g_assert_false (jobd_settings_merge_json (settings, json_node_get_object (node),
                                                STORED, &error));
      g_assert_error (error, JOBD_ERROR, JOBD_ERROR_INVALID_ARGS);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/settings/finite/variant", test_variant);
  g_test_add_func ("/settings/finite/json", test_json);
  return g_test_run ();
}
