# SPDX-License-Identifier: MIT
"""Shared helpers for the legacy protocol black-box tests: start the built
jobd with the legacy listener on a free loopback port, speak raw frames.
What it shares with the other harnesses (jobd's directories and start,
polling with a deadline, stopping by PID, the registry) is in
tests/common/jobdharness.py."""
import json
import os
import shutil
import socket
import struct
import tempfile

from jobdharness import (JobdProcess, free_port, read_registry, stop_pid,
                         tcp_accepts, wait_until)

JOBD = os.environ.get("JOBD", "jobd")
DEADLINE = 20.0


def frame(payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack("<I", len(payload)) + payload


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_response(sock):
    (length,) = struct.unpack("<I", recv_exact(sock, 4))
    return json.loads(recv_exact(sock, length).decode())


def wait_for(predicate, what, timeout=DEADLINE, interval=0.05):
    """Poll predicate until true; fail with a message after the deadline."""
    return wait_until(predicate, what, timeout, interval)


class Jobd(JobdProcess):
    def __init__(self, extra_config=""):
        super().__init__(JOBD, tempfile.mkdtemp(prefix="jobd-legacy-test-"))
        # The names the legacy tests use for the root, state and log folders.
        self.tmp, self.state, self.logs = self.root, self.state_dir, self.log_dir
        # Legacy jobs run as an unprivileged user: it must reach the scripts.
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        self.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                          "Listen=127.0.0.1:%d\nReadTimeoutSec=2\n%s\n"
                          % (self.port, extra_config))
        self.stderr = open(os.path.join(self.tmp, "jobd.stderr"), "w+")
        self.spawn(self.stderr)
        wait_for(self._accepting, "jobd to listen on port %d" % self.port)

    def recorded_pid(self, name):
        """The job's PID as jobd persisted it, or None (yet)."""
        try:
            runtime = read_registry(self.state)[name].get("runtime") or {}
        except (OSError, ValueError, KeyError):
            return None
        return runtime.get("pid")

    def _accepting(self):
        if self.proc.poll() is not None:
            self.stderr.seek(0)
            raise AssertionError("jobd exited: " + self.stderr.read())
        return tcp_accepts(self.port, 1)

    def connect(self, timeout=DEADLINE):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def raw(self, data):
        """Send bytes as they are, return the decoded response."""
        with self.connect() as s:
            s.sendall(data)
            return read_response(s)

    def cmd(self, command, params=None):
        payload = command if params is None else command + " " + json.dumps(params)
        return self.raw(frame(payload))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        stop_pid(self.proc, DEADLINE)
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
