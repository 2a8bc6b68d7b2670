/* SPDX-License-Identifier: MIT */
/* jobd-dbus-authstream.c — input bounded until authentication is over. */
#include "config.h"

#include "jobd-dbus-authstream.h"

/* ---- the bounded input stream ---- */

#define BOUNDED_TYPE_INPUT_STREAM (bounded_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (BoundedInputStream, bounded_input_stream, BOUNDED, INPUT_STREAM,
                      GFilterInputStream)

struct _BoundedInputStream {
  GFilterInputStream parent_instance;
  gsize limit;
  gsize left;
  gint unbounded;               /* atomic: set from another thread */
};

G_DEFINE_FINAL_TYPE (BoundedInputStream, bounded_input_stream, G_TYPE_FILTER_INPUT_STREAM)

static gssize
bounded_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
              GError **error)
{
  BoundedInputStream *self = BOUNDED_INPUT_STREAM (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  gboolean bounded = !g_atomic_int_get (&self->unbounded);
  gssize n;

  if (bounded)
    {
      if (self->left == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "more than %" G_GSIZE_FORMAT " bytes before authentication",
                       self->limit);
          return -1;
        }
      count = MIN (count, self->left);
    }
  n = g_input_stream_read (base, buffer, count, cancellable, error);
  if (bounded && n > 0)
    self->left -= n;
  return n;
}

static void
bounded_input_stream_class_init (BoundedInputStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = bounded_read;
}

static void
bounded_input_stream_init (BoundedInputStream *self)
{
}

/* ---- the connection ---- */

struct _JobdDBusAuthConnection {
  GUnixConnection parent_instance;
  gsize limit;
  BoundedInputStream *input;    /* made on first use */
};

G_DEFINE_FINAL_TYPE (JobdDBusAuthConnection, jobd_dbus_auth_connection, G_TYPE_UNIX_CONNECTION)

static GInputStream *
get_input_stream (GIOStream *stream)
{
  JobdDBusAuthConnection *self = JOBD_DBUS_AUTH_CONNECTION (stream);

  if (self->input == NULL)
    {
      GIOStreamClass *parent = G_IO_STREAM_CLASS (jobd_dbus_auth_connection_parent_class);

      /* The socket's own stream stays the parent's, closed with it. */
      self->input = g_object_new (BOUNDED_TYPE_INPUT_STREAM,
                                  "base-stream", parent->get_input_stream (stream),
                                  "close-base-stream", FALSE,
                                  NULL);
      self->input->limit = self->limit;
      self->input->left = self->limit;
    }
  return G_INPUT_STREAM (self->input);
}

static void
jobd_dbus_auth_connection_finalize (GObject *object)
{
  JobdDBusAuthConnection *self = JOBD_DBUS_AUTH_CONNECTION (object);

  g_clear_object (&self->input);
  G_OBJECT_CLASS (jobd_dbus_auth_connection_parent_class)->finalize (object);
}

static void
jobd_dbus_auth_connection_class_init (JobdDBusAuthConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = jobd_dbus_auth_connection_finalize;
  G_IO_STREAM_CLASS (klass)->get_input_stream = get_input_stream;
}

static void
jobd_dbus_auth_connection_init (JobdDBusAuthConnection *self)
{
}

GIOStream *
jobd_dbus_auth_connection_new (GSocket *socket, gsize limit)
{
  JobdDBusAuthConnection *self = g_object_new (JOBD_TYPE_DBUS_AUTH_CONNECTION,
                                               "socket", socket, NULL);

  self->limit = limit;
  return G_IO_STREAM (self);
}

void
jobd_dbus_auth_connection_unbound (JobdDBusAuthConnection *self)
{
  g_atomic_int_set (&BOUNDED_INPUT_STREAM (get_input_stream (G_IO_STREAM (self)))->unbounded,
                    TRUE);
}
