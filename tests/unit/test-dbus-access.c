/* SPDX-License-Identifier: MIT */
/* The D-Bus access table against the interface XML: exactly one row per
 * method, no row naming a method that does not exist, and each row bound
 * to a handle-* signal the generated skeleton really has. */
#include "config.h"

#include <string.h>

#include "jobd-dbus-access.h"
#include "jobd-dbus-generated.h"
#include "jobd-dbus-service.h"
#include "jobd-error.h"

/* A copy of jobd's table, to be spoiled by a test. */
static GArray *
table_copy (void)
{
  gsize n_rows = 0;
  const JobdDBusAccessRow *rows = jobd_dbus_access_table (&n_rows);
  GArray *copy = g_array_new (FALSE, FALSE, sizeof (JobdDBusAccessRow));

  g_array_append_vals (copy, rows, n_rows);
  return copy;
}

static void
remove_row (GArray *table, const char *method)
{
  for (guint i = 0; i < table->len; i++)
    if (g_str_equal (g_array_index (table, JobdDBusAccessRow, i).method, method))
      {
        g_array_remove_index (table, i);
        return;
      }
  g_assert_not_reached ();
}

static guint
find_row (GArray *table, const char *method)
{
  for (guint i = 0; i < table->len; i++)
    if (g_str_equal (g_array_index (table, JobdDBusAccessRow, i).method, method))
      return i;
  g_assert_not_reached ();
}

static void
assert_check_fails (GArray *table, GDBusInterfaceInfo *const *interfaces, const char *fault)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (jobd_dbus_access_table_check ((const JobdDBusAccessRow *) table->data,
                                                table->len, interfaces, &error));
  g_assert_error (error, JOBD_ERROR, JOBD_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "access table"));
  g_assert_nonnull (strstr (error->message, fault));
}

static void
test_table_matches_xml (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (jobd_dbus_service_check_access_table (&error));
  g_assert_no_error (error);
}

/* Every interface XML in dbus/, read from the files (not only the ones
 * jobd_dbus_access_interfaces() lists): a new interface file without rows
 * fails here. */
static void
test_every_xml_file_covered (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "..", "..", "dbus", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_dbus_node_info_unref);
  g_autoptr(GPtrArray) interfaces = g_ptr_array_new ();
  gsize n_rows = 0;
  const JobdDBusAccessRow *rows = jobd_dbus_access_table (&n_rows);
  g_autoptr(GError) error = NULL;
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *xml = NULL;
      GDBusNodeInfo *node;

      if (!g_str_has_suffix (name, ".xml"))
        continue;
      path = g_build_filename (dir_path, name, NULL);
      g_assert_true (g_file_get_contents (path, &xml, NULL, &error));
      node = g_dbus_node_info_new_for_xml (xml, &error);
      g_assert_no_error (error);
      g_ptr_array_add (nodes, node);
      for (guint i = 0; node->interfaces[i] != NULL; i++)
        g_ptr_array_add (interfaces, node->interfaces[i]);
    }
  g_assert_cmpuint (interfaces->len, >=, 2);
  g_ptr_array_add (interfaces, NULL);
  g_assert_true (jobd_dbus_access_table_check (rows, n_rows,
                                               (GDBusInterfaceInfo *const *) interfaces->pdata, &error));
  g_assert_no_error (error);
}

static void
test_missing_row (void)
{
  g_autoptr(GArray) table = table_copy ();

  remove_row (table, "Kill");
  assert_check_fails (table, jobd_dbus_access_interfaces (), "org.jobd1.Manager.Kill has 0 rows");
}

static void
test_duplicate_row (void)
{
  g_autoptr(GArray) table = table_copy ();
  JobdDBusAccessRow again = g_array_index (table, JobdDBusAccessRow, find_row (table, "Stop"));

  /* Even with the same access: two rows are two answers waiting to differ. */
  g_array_append_val (table, again);
  assert_check_fails (table, jobd_dbus_access_interfaces (), "org.jobd1.Manager.Stop has 2 rows");
}

static void
test_extra_row (void)
{
  g_autoptr(GArray) table = table_copy ();
  JobdDBusAccessRow extra = g_array_index (table, JobdDBusAccessRow, find_row (table, "Status"));

  extra.method = "Frobnicate";
  g_array_append_val (table, extra);
  assert_check_fails (table, jobd_dbus_access_interfaces (),
                      "the row org.jobd1.Manager.Frobnicate names no method");
}

static void
test_row_on_wrong_interface (void)
{
  g_autoptr(GArray) table = table_copy ();
  guint status = find_row (table, "Status");

  /* org.jobd1.Job has no methods today: a row there is an extra row, and
   * Manager.Status is then missing. */
  g_array_index (table, JobdDBusAccessRow, status).interface = "org.jobd1.Job";
  assert_check_fails (table, jobd_dbus_access_interfaces (), "the row org.jobd1.Job.Status names no method");
  assert_check_fails (table, jobd_dbus_access_interfaces (), "org.jobd1.Manager.Status has 0 rows");
}

/* A method added to the Job interface XML needs its row too. */
static void
test_job_interface_method (void)
{
  g_autoptr(GArray) table = table_copy ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (
      "<node><interface name='org.jobd1.Job'><method name='Poke'/></interface></node>", &error);
  GDBusInterfaceInfo *interfaces[] = { jobd_dbus_manager_interface_info (), node->interfaces[0], NULL };

  g_assert_no_error (error);
  assert_check_fails (table, interfaces, "org.jobd1.Job.Poke has 0 rows");
}

/* Each row is bound to the skeleton through the handle-* signal its name
 * gives: every one must exist, or the method would go unanswered. */
static void
test_rows_have_signals (void)
{
  gsize n_rows = 0;
  const JobdDBusAccessRow *rows = jobd_dbus_access_table (&n_rows);
  /* The interface's signals exist once a class implementing it does. */
  gpointer klass = g_type_class_ref (JOBD_DBUS_TYPE_MANAGER_SKELETON);

  for (gsize i = 0; i < n_rows; i++)
    {
      g_autofree char *signal = jobd_dbus_access_signal_name (rows[i].method);

      g_assert_cmpuint (g_signal_lookup (signal, JOBD_DBUS_TYPE_MANAGER_SKELETON), !=, 0);
      g_assert_nonnull (rows[i].impl);
      g_assert_cmpint (rows[i].access, !=, JOBD_ACCESS_DENY);
    }
  g_type_class_unref (klass);
}

static void
test_signal_name (void)
{
  g_autofree char *a = jobd_dbus_access_signal_name ("GetServerLog");
  g_autofree char *b = jobd_dbus_access_signal_name ("List");

  g_assert_cmpstr (a, ==, "handle-get-server-log");
  g_assert_cmpstr (b, ==, "handle-list");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  (void) jobd_error_quark ();
  g_test_add_func ("/dbus-access/table-matches-xml", test_table_matches_xml);
  g_test_add_func ("/dbus-access/every-xml-file-covered", test_every_xml_file_covered);
  g_test_add_func ("/dbus-access/missing-row", test_missing_row);
  g_test_add_func ("/dbus-access/duplicate-row", test_duplicate_row);
  g_test_add_func ("/dbus-access/extra-row", test_extra_row);
  g_test_add_func ("/dbus-access/row-on-wrong-interface", test_row_on_wrong_interface);
  g_test_add_func ("/dbus-access/job-interface-method", test_job_interface_method);
  g_test_add_func ("/dbus-access/rows-have-signals", test_rows_have_signals);
  g_test_add_func ("/dbus-access/signal-name", test_signal_name);
  return g_test_run ();
}
