/* SPDX-License-Identifier: MIT */
/* notify-job.c — the job of the readiness figure: waits for one byte on
 * the FIFO given as argv[1], then sends READY=1 to $NOTIFY_SOCKET (one
 * sendto, as sd_notify does) and waits to be stopped. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  static const char message[] = "READY=1";
  char byte;
  int fifo, fd;

  if (argc != 2 || path == NULL || strlen (path) >= sizeof addr.sun_path)
    {
      fprintf (stderr, "usage: NOTIFY_SOCKET=PATH notify-job FIFO\n");
      return 2;
    }
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  fifo = open (argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fifo < 0 || read (fifo, &byte, 1) != 1)
    return 1;
  if (sendto (fd, message, sizeof message - 1, 0, (struct sockaddr *) &addr, sizeof addr) < 0)
    return 1;
  for (;;)
    pause ();
}
