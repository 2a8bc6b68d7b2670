"""Shared helpers for the legacy protocol black-box tests: start the built
jobd with the legacy listener on a free loopback port, speak raw frames."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

JOBD = os.environ.get("JOBD", "jobd")
DEADLINE = 20.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def read_registry(state_dir):
    """The registry as jobd keeps it: jobs.json, then the changes journaled
    since (jobs.journal, one {"put": …} or {"remove": …} a line)."""
    jobs = {}
    try:
        with open(os.path.join(state_dir, "jobs.json")) as f:
            jobs = json.load(f)["jobs"]
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(state_dir, "jobs.journal")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        change = json.loads(line)
        if "remove" in change:
            jobs.pop(change["remove"], None)
        else:
            jobs[change["put"]["name"]] = change["put"]["entry"]
    return jobs


class Jobd:
    def __init__(self, extra_config=""):
        self.tmp = tempfile.mkdtemp(prefix="jobd-legacy-test-")
        # Legacy jobs run as an unprivileged user: it must reach the scripts.
        os.chmod(self.tmp, 0o755)
        self.state = os.path.join(self.tmp, "state")
        self.runtime = os.path.join(self.tmp, "run")
        self.logs = os.path.join(self.tmp, "logs")
        self.port = free_port()
        self.config = os.path.join(self.tmp, "jobd.conf")
        with open(self.config, "w") as f:
            f.write("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                    "Listen=127.0.0.1:%d\nReadTimeoutSec=2\n%s\n"
                    % (self.port, extra_config))
        self.stderr = open(os.path.join(self.tmp, "jobd.stderr"), "w+")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("LISTEN_FDS", None)
        self.proc = subprocess.Popen(
            [JOBD, "--state-dir", self.state, "--runtime-dir", self.runtime,
             "--log-dir", self.logs, "--config", self.config],
            stdout=self.stderr, stderr=self.stderr, env=env)
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
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
