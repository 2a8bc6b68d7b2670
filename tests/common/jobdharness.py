# SPDX-License-Identifier: MIT
"""jobdharness — what the Python harnesses of jobd's tests share:
tests/integration/jobdtest.py, tests/legacy/legacy.py and tests/bench/benchlib.py.

- JobdProcess: one jobd on its own directories below a root folder (state/,
  run/ with the private D-Bus socket run/bus, logs/, the config file
  jobd.conf), started with a clean environment; checks that it answers on
  its private socket or on a legacy TCP port.
- wait_until: poll a condition that has no event, with a deadline.
- stop_pid, kill_pids: stop a process we started, kill those left behind,
  by PID (never by name).
- free_port, read_registry.

Each harness keeps what is its own (its config, its failure messages, its
clients) and imports this module by inserting tests/common into sys.path.
Only the standard library is imported here: the legacy harness does not use
GIO, so JobdProcess.ping imports it when it is called.
"""
import json
import os
import signal
import socket
import subprocess
import time

MANAGER_PATH = "/org/jobd1"

# Inherited variables that would make jobd believe systemd started it
# (readiness notification, socket activation, watchdog), or that would point
# it or its clients at another bus than the private socket under test.
SCRUBBED_ENV = ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                "WATCHDOG_USEC", "WATCHDOG_PID", "DBUS_SESSION_BUS_ADDRESS", "JOBD_ADDRESS")

# How long a process may take to be reaped after SIGKILL.
KILL_WAIT = 10


def wait_until(predicate, what, timeout, interval=0.02, error=AssertionError):
    """Call predicate() every interval seconds until it returns something
    true, and return that; raise error after timeout seconds. Only for
    conditions without an event to wait on (files, /proc, a port)."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise error("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def stop_pid(proc, timeout, sig=signal.SIGTERM):
    """Send sig to a process we started (a Popen: by its PID, never by
    name) and reap it; SIGKILL it if it is still there after timeout
    seconds. Returns False when it had to be killed."""
    if proc.poll() is not None:
        return True
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(KILL_WAIT)
        return False


def kill_pids(pids):
    """SIGKILL each of these PIDs that is still alive (processes left behind)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _own_cgroup_dirs():
    """jobd's parents for job cgroups when it runs as we do: our cgroup on
    the v2 hierarchy and in the v1 memory controller (see
    daemon/spawn/jobd-containment.c)."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            fields, tfields = head.split(), tail.split()
            if len(fields) < 5 or len(tfields) < 3 or fields[3] != "/":
                continue
            if tfields[0] == "cgroup2":
                mounts.setdefault("", fields[4])
            elif tfields[0] == "cgroup" and "memory" in tfields[2].split(","):
                mounts.setdefault("memory", fields[4])
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _hid, controllers, path = line.rstrip("\n").split(":", 2)
            key = "" if controllers == "" else ("memory" if "memory" in controllers.split(",")
                                                else None)
            if key in mounts:
                dirs.append(mounts[key] + path)
    return dirs


def remove_job_cgroups(runtime_dir, timeout=5):
    """Remove the cgroups a jobd on runtime_dir made for its jobs (direct
    backend as root), once the jobs killed by the test are gone: a jobd
    that exits leaves running jobs their cgroups, and a test that kills
    those jobs afterwards would leave them empty for ever."""
    import hashlib
    instance = "jobd-" + hashlib.sha256(runtime_dir.encode()).hexdigest()[:12]
    for base in _own_cgroup_dirs():
        parent = os.path.join(base, instance)
        if not os.path.isdir(parent):
            continue
        for entry in os.listdir(parent):
            path = os.path.join(parent, entry)
            if entry.startswith("job-") and os.path.isdir(path):
                try:
                    wait_until(lambda: _rmdir(path), "cgroup %s to empty" % path, timeout)
                except AssertionError:
                    pass
        _rmdir(parent)


def _rmdir(path):
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def free_port():
    """A TCP port that is free on 127.0.0.1 at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_accepts(port, timeout):
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


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


# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
# default) before reuse and counts as RSS, which would hide any bound on
# jobd's memory; a small one keeps use-after-free detection for recent frees.
SMALL_ASAN_QUARANTINE = "quarantine_size_mb=4:thread_local_quarantine_size_kb=64"


def measure_rss_under_asan():
    """Tests that bound jobd's RSS call this before starting jobd: appended,
    so it wins over the ASAN_OPTIONS CI exports (later options override)."""
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "detect_leaks=1:") + \
        SMALL_ASAN_QUARANTINE


def jobd_env():
    """The environment for jobd: ours without SCRUBBED_ENV, and complete
    sanitizer reports when jobd is built with ASan/UBSan."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


class JobdProcess:
    """One jobd with its directories below root; the harnesses subclass it."""

    def __init__(self, exe, root):
        self.exe = exe
        self.root = root
        self.state_dir = os.path.join(root, "state")
        self.runtime_dir = os.path.join(root, "run")
        self.log_dir = os.path.join(root, "logs")
        self.config = os.path.join(root, "jobd.conf")
        self.bus_path = os.path.join(self.runtime_dir, "bus")
        self.address = "unix:path=" + self.bus_path
        self.proc = None
        self.env_extra = {}      # set before start: added to jobd's environment

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def options(self, *extra):
        """The options that put jobd on these directories, extra ones appended."""
        return ["--state-dir", self.state_dir, "--runtime-dir", self.runtime_dir,
                "--log-dir", self.log_dir, "--config", self.config] + list(extra)

    def spawn(self, out, *extra):
        """Start jobd (self.proc) with its stdout and stderr going to the
        open file out; the caller waits until it answers."""
        self.proc = subprocess.Popen([self.exe] + self.options(*extra), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out,
                                     env=dict(jobd_env(), **self.env_extra))
        return self.proc

    def ping(self):
        """A connection to jobd's private socket once jobd answers a Ping
        on it, else None."""
        from gi.repository import Gio, GLib

        if not os.path.exists(self.bus_path):
            return None
        try:
            conn = Gio.DBusConnection.new_for_address_sync(
                self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
            conn.call_sync(None, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", None,
                           None, Gio.DBusCallFlags.NONE, 2000, None)
            return conn
        except GLib.Error:
            return None
