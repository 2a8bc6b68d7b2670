#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The listener itself: answers larger than the socket buffers, the
connection cap, and a listening socket handed over by systemd."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from legacy import (DEADLINE, JOBD, Jobd, frame, free_port, read_response,
                    wait_for)


class Transport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd("MaxConnections=3\n")

    @classmethod
    def tearDownClass(cls):
        cls.jobd.stop()

    def test_answer_larger_than_socket_buffers(self):
        # Several megabytes of GETALL: the kernel takes it in parts, the rest
        # waits for the socket to drain; the pipelined request after it is
        # answered after it, in order.
        extra = "x" * 900000
        for i in range(8):
            r = self.jobd.cmd("ADD", {"jobname": "big%d" % i, "command": "/bin/true",
                                      "note": extra})
            self.assertEqual(r, {"code": "OK"})
        try:
            with self.jobd.connect() as s:
                s.sendall(frame("GETALL") + frame('STATUS {"jobname":"big0"}'))
                data = read_response(s)["data"]
                self.assertEqual(sorted(data), ["big%d" % i for i in range(8)])
                self.assertEqual(data["big7"]["note"], extra)
                self.assertEqual(read_response(s), {"code": "OK", "data": "DOWN"})
        finally:
            for i in range(8):
                self.jobd.cmd("DELETE", {"jobname": "big%d" % i})

    def test_deadline_is_per_request(self):
        # ReadTimeoutSec=2 bounds the wait for each request, not the life of
        # a connection: a client asking every 0.5 s for 3 s stays connected.
        with self.jobd.connect() as s:
            for _ in range(6):
                s.sendall(frame("STATUSALL"))
                self.assertEqual(read_response(s)["code"], "OK")
                time.sleep(0.5)
            s.sendall(frame("STATUSALL"))
            self.assertEqual(read_response(s)["code"], "OK")

    def test_oldest_idle_connection_makes_room(self):
        with self.jobd.connect() as first, self.jobd.connect() as second:
            # Both are known to jobd once they have been answered.
            for s in (first, second):
                s.sendall(frame("STATUSALL"))
                self.assertEqual(read_response(s)["code"], "OK")
            with self.jobd.connect() as third:
                third.sendall(frame("STATUSALL"))
                self.assertEqual(read_response(third)["code"], "OK")
                # A fourth connection is one too many: the oldest idle one
                # (first) is closed to make room, the others stay.
                with self.jobd.connect() as fourth:
                    fourth.sendall(frame("STATUSALL"))
                    self.assertEqual(read_response(fourth)["code"], "OK")
                    self.assertEqual(first.recv(1), b"")
                    second.sendall(frame("STATUSALL"))
                    self.assertEqual(read_response(second)["code"], "OK")


class Activation(unittest.TestCase):
    """systemd-socket-activate binds the port and starts jobd on the first
    connection, passing the listening socket as "jobd-legacy"."""

    ENABLE = "true"

    def setUp(self):
        self.activate = shutil.which("systemd-socket-activate")
        if self.activate is None:
            self.skipTest("systemd-socket-activate is not installed")
        self.tmp = tempfile.mkdtemp(prefix="jobd-legacy-test-")
        self.port = free_port()
        config = os.path.join(self.tmp, "jobd.conf")
        with open(config, "w") as f:
            f.write("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=%s\n" % self.ENABLE)
        self.stderr = open(os.path.join(self.tmp, "jobd.stderr"), "w+")
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
        # The activator execs jobd in its place: this PID becomes jobd's.
        self.proc = subprocess.Popen(
            [self.activate, "-l", "127.0.0.1:%d" % self.port, "--fdname=jobd-legacy",
             JOBD, "--state-dir", os.path.join(self.tmp, "state"),
             "--runtime-dir", os.path.join(self.tmp, "run"),
             "--log-dir", os.path.join(self.tmp, "logs"), "--config", config],
            stdout=self.stderr, stderr=self.stderr, env=env)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def connect(self):
        def attempt():
            self.assertIsNone(self.proc.poll(), "the activator exited")
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
            except ConnectionRefusedError:   # not bound yet
                return None
        return wait_for(attempt, "the activator to listen on port %d" % self.port)

    def test_served_on_the_passed_socket(self):
        # The first connection starts jobd; more connections follow on the
        # same socket (accepting must not block once they are taken).
        for _ in range(3):
            with self.connect() as s:
                s.sendall(frame("STATUSALL"))
                self.assertEqual(read_response(s), {"code": "OK", "data": {}})
        self.stderr.seek(0)
        self.assertIn("listening on the socket from systemd", self.stderr.read())


class ActivationDisabled(Activation):
    """Off means off: with Enable=false the socket systemd passes is not
    served (it used to be)."""

    ENABLE = "false"

    test_served_on_the_passed_socket = None   # the opposite is tested below

    def test_passed_socket_not_served(self):
        # The first connection starts jobd, which closes the only copy of the
        # listener: the waiting connection is reset unanswered, and later
        # ones are refused.
        with self.connect() as s:
            s.sendall(frame("STATUSALL"))
            try:
                self.assertEqual(s.recv(4), b"", "jobd answered on a disabled port")
            except ConnectionResetError:
                pass

        def logged():
            self.assertIsNone(self.proc.poll(), "jobd exited")
            self.stderr.seek(0)
            return "not serving the socket systemd passed" in self.stderr.read()
        wait_for(logged, "jobd to log that the legacy port is off")

        def refused():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE).close()
                return False
            except ConnectionRefusedError:
                return True
        wait_for(refused, "connections to be refused")
        self.assertIsNone(self.proc.poll())
        self.stderr.seek(0)
        text = self.stderr.read()
        self.assertEqual(text.count("not serving the socket systemd passed"), 1)
        self.assertNotIn("listening on the socket from systemd", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
