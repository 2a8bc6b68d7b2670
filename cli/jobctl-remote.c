/* SPDX-License-Identifier: MIT */
/* jobctl-remote.c — reaching jobd on another host over ssh (jobctl -H).
 *
 * As `systemctl -H` does, jobctl runs `ssh -xT [-p PORT] -- [USER@]HOST
 * systemd-stdio-bridge ...` and speaks D-Bus over ssh's stdin and stdout.
 * The bridge connects on the remote host to jobd's private socket
 * (/run/jobd/bus unless --address names another), so it works whether or not
 * jobd is on a bus there, and jobd sees the ssh user as the caller (the
 * bridge authenticates to it with its own uid). With --bus the bridge goes
 * to a message bus instead (the system bus by default) and jobctl asks it
 * for org.jobd1's owner, which also starts jobd through bus activation.
 *
 * The bridge accepts ANONYMOUS from its stdin/stdout side (EXTERNAL needs a
 * socket to ask the kernel who is there, and a pipe has none), which is
 * what GDBus offers on a plain stream. Identity comes from ssh, not D-Bus.
 *
 * A failure says which hop failed, from how ssh exits: 255 is ssh's own
 * (host unreachable, authentication refused), 127 is the remote shell not
 * finding the bridge (or env), any other status is the bridge's, which
 * exits when nothing answers at the address; 0 (or an ssh that is still
 * there) means the bridge was fine but what came was not D-Bus, as when a
 * shell startup file prints a greeting. ssh's and the bridge's own
 * messages reach the user's terminal unchanged (ssh's stderr is jobctl's,
 * as with systemctl), the bridge's because it runs with
 * SYSTEMD_LOG_TARGET=console (it would otherwise log only to the journal).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>

#include "jobctl.h"
#include "jobctl-remote.h"
#include "jobd-names.h"

/* ssh gives up connecting after this long (an address that drops packets
 * would otherwise cost the kernel's SYN retries, about two minutes). An
 * option in $JOBD_SSH comes first, and ssh keeps the first value. */
#define REMOTE_CONNECT_TIMEOUT "ConnectTimeout=15"
/* How long ssh's login and the D-Bus handshake may take together (sd-bus
 * gives systemctl -H the same); $JOBD_REMOTE_TIMEOUT changes it. */
#define REMOTE_HANDSHAKE_TIMEOUT_SEC 90
/* How long ssh may take to exit once the D-Bus handshake failed. */
#define REMOTE_EXIT_WAIT_MS 5000

/* The exit status of the remote shell when it finds no program to run. */
#define SHELL_NOT_FOUND 127
#define SHELL_NOT_EXECUTABLE 126
/* What ssh exits with when it fails itself. */
#define SSH_FAILED 255

static gboolean
invalid_host (const char *text, GError **error)
{
  jobctl_set_usage_error (error, _("invalid host “%s”: expected [USER@]HOST[:PORT]"), text);
  return FALSE;
}

static gboolean
is_clean_word (const char *text)
{
  if (*text == '\0' || *text == '-')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p) || *p == '@' || *p == '/')
      return FALSE;
  return TRUE;
}

/* Splits HOST[:PORT], [IPV6][:PORT] or a bare IPv6 address. */
static gboolean
split_port (const char *name, char **hostname, const char **port)
{
  const char *colon = strchr (name, ':');

  *port = NULL;
  if (*name == '[')
    {
      const char *end = strchr (name, ']');

      if (end == NULL || (end[1] != '\0' && end[1] != ':'))
        return FALSE;
      *hostname = g_strndup (name + 1, end - name - 1);
      if (end[1] == ':')
        *port = end + 2;
      return TRUE;
    }
  if (colon != NULL && strchr (colon + 1, ':') != NULL)
    {
      *hostname = g_strdup (name);   /* IPv6 without a port */
      return TRUE;
    }
  *hostname = colon != NULL ? g_strndup (name, colon - name) : g_strdup (name);
  if (colon != NULL)
    *port = colon + 1;
  return TRUE;
}

gboolean
jobctl_remote_parse_host (const char *text, char **destination, char **port,
                          GError **error)
{
  const char *at = strchr (text, '@');
  g_autofree char *user = at != NULL ? g_strndup (text, at - text) : NULL;
  g_autofree char *hostname = NULL;
  const char *port_text = NULL;
  guint64 port_number = 0;

  if (!split_port (at != NULL ? at + 1 : text, &hostname, &port_text)
      || !is_clean_word (hostname)
      || (user != NULL && !is_clean_word (user)))
    return invalid_host (text, error);
  if (port_text != NULL
      && !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &port_number, NULL))
    return invalid_host (text, error);

  *destination = user != NULL ? g_strdup_printf ("%s@%s", user, hostname)
                              : g_steal_pointer (&hostname);
  *port = port_text != NULL ? g_strdup (port_text) : NULL;
  return TRUE;
}

char **
jobctl_remote_ssh_argv (const char *destination, const char *port,
                        const char *address, GError **error)
{
  const char *ssh = g_getenv ("JOBD_SSH");
  g_auto(GStrv) ssh_words = NULL;
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();

  if (ssh == NULL || *ssh == '\0')
    ssh = "ssh";
  if (!g_shell_parse_argv (ssh, NULL, &ssh_words, error))
    {
      g_prefix_error (error, _("invalid $JOBD_SSH: "));
      return NULL;
    }
  g_strv_builder_addv (argv, (const char **) ssh_words);
  /* -x: no X11 forwarding, -T: no terminal (the channel carries D-Bus). */
  g_strv_builder_add_many (argv, "-xT", "-o", REMOTE_CONNECT_TIMEOUT, NULL);
  if (port != NULL)
    g_strv_builder_add_many (argv, "-p", port, NULL);
  g_strv_builder_add_many (argv, "--", destination,
                           "env", "SYSTEMD_LOG_TARGET=console", "systemd-stdio-bridge",
                           NULL);
  /* ssh hands the words to the remote user's shell as one line: quote. */
  if (address != NULL)
    {
      g_autofree char *option = g_strconcat ("--bus-path=", address, NULL);
      g_autofree char *quoted = g_shell_quote (option);

      g_strv_builder_add (argv, quoted);
    }
  return g_strv_builder_end (argv);
}

static void
on_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

static gboolean
on_exit_timeout (gpointer user_data)
{
  g_subprocess_force_exit (user_data);
  return G_SOURCE_REMOVE;
}

/* Waits until ssh has exited; kills it if it does not within
 * REMOTE_EXIT_WAIT_MS. TRUE when it exited on its own. */
static gboolean
wait_for_exit (GSubprocess *ssh)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) timeout = g_timeout_source_new (REMOTE_EXIT_WAIT_MS);
  gboolean exited = FALSE;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (ssh, NULL, on_exited, &exited);
  g_source_set_callback (timeout, on_exit_timeout, ssh, NULL);
  g_source_attach (timeout, context);
  while (!exited)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);
  return g_subprocess_get_if_exited (ssh);
}

/* Why the handshake failed, from how ssh ended. */
static void
explain_failure (GSubprocess *ssh, const char *host, const char *address,
                 gboolean bus, GError *cause, GError **error)
{
  int status;

  if (!wait_for_exit (ssh))
    status = 0;
  else
    status = g_subprocess_get_exit_status (ssh);
  if (status == SSH_FAILED)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
                 _("ssh could not connect or log in to %s (ssh's message is above)"),
                 host);
  else if (status == SHELL_NOT_FOUND || status == SHELL_NOT_EXECUTABLE)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("systemd-stdio-bridge is missing on %s: `jobctl -H` needs it there "
                   "(Debian's systemd package has it)"), host);
  else if (status != 0 && bus)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("no message bus answers on %s at %s (systemd-stdio-bridge exited "
                   "with status %d)"), host, address, status);
  else if (status != 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("jobd does not answer on %s at %s: is it running there? "
                   "(systemd-stdio-bridge exited with status %d)"),
                 host, address, status);
  else
    {
      /* The bridge was fine and ended when jobctl gave up on what came,
       * which GDBus quotes, line breaks and all: keep it to one line. */
      g_autofree char *what = g_strdelimit (g_strdup (cause->message), "\r\n", ' ');

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("%s did not speak D-Bus over ssh (does a shell startup file there "
                     "print text?): %s"), host, what);
    }
}

typedef struct {
  GSubprocess *ssh;
  GCancellable *cancellable;
  GDBusConnection *connection;
  GError *error;
  gboolean done;
} Handshake;

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *handshake = user_data;

  handshake->connection = g_dbus_connection_new_finish (result, &handshake->error);
  handshake->done = TRUE;
}

/* Gives up: cancels, and ends ssh so that no read waits on it. */
static gboolean
on_deadline (gpointer user_data)
{
  Handshake *handshake = user_data;

  g_cancellable_cancel (handshake->cancellable);
  g_subprocess_force_exit (handshake->ssh);
  return G_SOURCE_REMOVE;
}

/* The D-Bus handshake over ssh's pipes, which also covers ssh's own login
 * (a password typed at its prompt); bounded, as sd-bus bounds systemctl's. */
static GDBusConnection *
handshake (GSubprocess *ssh, gboolean bus, guint timeout_sec, gboolean *timed_out,
           GError **error)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) deadline = g_timeout_source_new_seconds (timeout_sec);
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT;
  Handshake result = { ssh, cancellable, NULL, NULL, FALSE };

  if (bus)
    flags |= G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;
  stream = g_simple_io_stream_new (g_subprocess_get_stdout_pipe (ssh),
                                   g_subprocess_get_stdin_pipe (ssh));
  g_main_context_push_thread_default (context);
  g_source_set_callback (deadline, on_deadline, &result, NULL);
  g_source_attach (deadline, context);
  g_dbus_connection_new (stream, NULL, flags, NULL, cancellable, on_connected, &result);
  while (!result.done)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (deadline);
  g_main_context_pop_thread_default (context);

  *timed_out = g_cancellable_is_cancelled (cancellable);
  if (*timed_out && result.connection != NULL)
    {
      /* Just too late: ssh is gone already. */
      g_clear_object (&result.connection);
      g_clear_error (&result.error);
      g_set_error_literal (&result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
    }
  if (result.connection == NULL)
    {
      g_propagate_error (error, result.error);
      /* ssh's stdin ends: it exits if it had not already. */
      g_io_stream_close (stream, NULL, NULL);
    }
  return result.connection;
}

/* $JOBD_REMOTE_TIMEOUT, in seconds. */
static gboolean
remote_timeout (guint *timeout_sec, GError **error)
{
  const char *text = g_getenv ("JOBD_REMOTE_TIMEOUT");
  guint64 value = REMOTE_HANDSHAKE_TIMEOUT_SEC;

  if (text != NULL && *text != '\0'
      && !g_ascii_string_to_unsigned (text, 10, 1, 3600, &value, NULL))
    {
      jobctl_set_usage_error (error, _("invalid $JOBD_REMOTE_TIMEOUT “%s”: expected "
                                       "seconds, 1 to 3600"), text);
      return FALSE;
    }
  *timeout_sec = value;
  return TRUE;
}

GDBusConnection *
jobctl_remote_connect (const char *host, const char *address, gboolean bus,
                       GError **error)
{
  g_autofree char *destination = NULL;
  g_autofree char *port = NULL;
  g_autofree char *default_address = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) ssh = NULL;
  g_autoptr(GError) local_error = NULL;
  GDBusConnection *connection;
  guint timeout_sec;
  gboolean timed_out = FALSE;

  if (!jobctl_remote_parse_host (host, &destination, &port, error)
      || !remote_timeout (&timeout_sec, error))
    return NULL;
  /* Without an address, the bridge's own default is the system bus. */
  if (address == NULL && !bus)
    address = default_address = g_strconcat ("unix:path=", JOBD_SYSTEM_SOCKET, NULL);
  argv = jobctl_remote_ssh_argv (destination, port, address, error);
  if (argv == NULL)
    return NULL;

  /* A write to ssh after it died must be an error, not a fatal signal. */
  signal (SIGPIPE, SIG_IGN);
  ssh = g_subprocess_newv ((const char *const *) argv,
                           G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                           &local_error);
  if (ssh == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("cannot run %s: %s"),
                   argv[0], local_error->message);
      return NULL;
    }

  connection = handshake (ssh, bus, timeout_sec, &timed_out, &local_error);
  if (connection == NULL && timed_out)
    {
      wait_for_exit (ssh);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   _("no answer from jobd on %s within %u s (ssh still connecting or "
                     "logging in, or nothing answering at %s there)"),
                   host, timeout_sec, address != NULL ? address : _("the system bus"));
      return NULL;
    }
  if (connection == NULL)
    {
      explain_failure (ssh, host, address != NULL ? address : _("the system bus"),
                       bus, local_error, error);
      return NULL;
    }
  /* ssh lives as long as the connection; it exits when its stdin closes. */
  g_object_set_data_full (G_OBJECT (connection), "jobctl-ssh", g_steal_pointer (&ssh),
                          g_object_unref);
  return connection;
}

gboolean
jobctl_remote_check_fd_passing (GDBusConnection *connection, const char *verb,
                                GError **error)
{
  if (g_dbus_connection_get_capabilities (connection)
      & G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               _("`jobctl %s` needs jobd on this host: it hands over a file descriptor, "
                 "which cannot travel over ssh (run it there: `ssh HOST jobctl %s NAME`)"),
               verb, verb);
  return FALSE;
}

const char *
jobctl_remote_help (void)
{
  return _("Remote control (-H):\n"
           "  jobctl runs `ssh -xT -- HOST systemd-stdio-bridge` and speaks D-Bus with\n"
           "  jobd there; HOST needs sshd, systemd-stdio-bridge and a running jobd.\n"
           "  $JOBD_HOST            the host when -H is not given (empty: this host)\n"
           "  $JOBD_REMOTE_ADDRESS  jobd's address there (default: unix:path=/run/jobd/bus;\n"
           "                        with --bus, the system bus there)\n"
           "  $JOBD_SSH             the ssh command, split like a shell (default: ssh)\n"
           "  $JOBD_REMOTE_TIMEOUT  seconds for ssh's login and the D-Bus handshake\n"
           "                        (default: 90)");
}
