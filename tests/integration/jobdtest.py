# SPDX-License-Identifier: MIT
"""jobdtest — harness for the black-box integration tests of jobd.

Starts the built jobd (path in $JOBD) with temporary state, runtime and log
directories and the direct backend, connects to its private peer-to-peer
D-Bus socket, and offers helpers to call methods, to wait for signals on a
GLib main context with a deadline, to stop jobd by PID and check how it
ended, and to kill any job process left behind (by PID, never by name).
What it shares with the legacy and bench harnesses (jobd's directories and
start, polling with a deadline, stopping by PID, the registry) is in
tests/common/jobdharness.py.

Run as a script it is also the client used for authorization tests:
  python3 jobdtest.py call ADDRESS METHOD '(GVARIANT TEXT)'
prints one JSON object: {"ok": true, "value": ...} or
{"ok": false, "error": NAME, "message": TEXT}.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from gi.repository import Gio, GLib

HERE = os.path.dirname(os.path.abspath(__file__))
import jobdharness
from jobdharness import JobdProcess, kill_pids, read_registry, stop_pid  # noqa: F401

JOBD = os.environ.get("JOBD", "jobd")
JOBCTL = os.environ.get("JOBCTL", "jobctl")
PYTHON = "/usr/bin/python3"

# Generous: under ASan the daemon and its children are slower.
DEADLINE = float(os.environ.get("JOBD_TEST_DEADLINE", "15"))

MANAGER_PATH = "/org/jobd1"
MANAGER_IFACE = "org.jobd1.Manager"
JOB_IFACE = "org.jobd1.Job"
ERR = "org.jobd1.Error."

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "CRITICAL",
                   "ERROR: LeakSanitizer")

# Method → input signature, so tests pass plain Python values.
SIGNATURES = {
    "Add": "(sa{sv})", "Remove": "(s)", "Update": "(sa{sv})", "GetJob": "(s)",
    "GetSettings": "(s)", "GetRuntime": "(s)", "List": None, "Status": "(s)",
    "StatusAll": None, "GetStatusTexts": None, "Start": "(s)", "Stop": "(s)", "Restart": "(s)",
    "Reload": "(s)", "Kill": "(si)", "ReadOutput": "(su)", "FollowOutput": "(s)",
    "GetMemory": "(s)", "GetServerMemory": None, "GetServerLog": "(u)", "GetUsage": "(as)",
}

# How each setting travels in a{sv}.
SETTING_TYPES = {
    "command": "s", "args": "as", "params": "s", "working-directory": "s",
    "environment": "a{ss}", "buffer-size": "u", "write-log": "b",
    "autostart": "b", "restart": "s", "restart-delay-ms": "u",
    "restart-delay-max-ms": "u", "restart-reset-ms": "u",
    "start-limit-burst": "u", "start-limit-interval-ms": "u",
    "stop-signal": "s", "stop-timeout-ms": "u", "reload-signal": "s",
    "user": "s", "group": "s", "memory-max": "t", "cpu-quota": "u",
    "tasks-max": "t",
}


def settings_variant(settings):
    """Python dict → {key: GLib.Variant}; a GLib.Variant value is kept as is."""
    out = {}
    for key, value in settings.items():
        if isinstance(value, GLib.Variant):
            out[key] = value
        else:
            out[key] = GLib.Variant(SETTING_TYPES[key], value)
    return out


def job_path(name):
    """The object path of a job, escaped like jobd does (bytes outside
    [A-Za-z0-9] as _XX), used to check the path jobd returns."""
    out = []
    for b in name.encode():
        c = chr(b)
        if c.isascii() and c.isalnum():
            out.append(c)
        else:
            out.append("_%02x" % b)
    return "/org/jobd1/job/" + "".join(out)


def remote_error(exc):
    """GLib.Error from a D-Bus call → (error name, message)."""
    name = Gio.DBusError.get_remote_error(exc)
    message = exc.message
    Gio.DBusError.strip_remote_error(exc)
    return name, exc.message if name else message


# ---- /proc helpers ----

def proc_stat(pid):
    """(state, ppid, pgrp, session) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def pid_alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid):
    """PIDs of the live processes in process group pgid."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[2] == pgid and st[0] not in ("Z", "X"):
                pids.append(int(entry))
    return pids


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[1] == pid and st[0] not in ("Z", "X"):
                kids.append(int(entry))
    return kids


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line for %d" % pid)


def wait_until(predicate, what, timeout=DEADLINE, interval=0.02):
    """For conditions without an event (files, /proc): poll with a deadline."""
    return jobdharness.wait_until(predicate, what, timeout, interval)


# ---- the client ----

class Client:
    """A peer connection to jobd's private socket that records signals."""

    def __init__(self, address, context=None):
        self.context = context or GLib.MainContext.default()
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        self.events = []        # (kind, path, payload) in arrival order
        self.times = []         # time.monotonic() of each event's arrival
        self.conn.signal_subscribe(None, MANAGER_IFACE, None, MANAGER_PATH, None,
                                   Gio.DBusSignalFlags.NONE, self._on_manager_signal)
        self.conn.signal_subscribe(None, "org.freedesktop.DBus.Properties",
                                   "PropertiesChanged", None, None,
                                   Gio.DBusSignalFlags.NONE, self._on_props)
        # On the private socket jobd sends signals only to a peer that asked
        # (signal_subscribe does not tell it on a peer connection).
        self.conn.call_sync(None, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                            GLib.Variant("(s)", ("type='signal'",)), None,
                            Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def _on_manager_signal(self, conn, sender, path, iface, member, params):
        self.events.append((member, path, params.unpack()))
        self.times.append(time.monotonic())

    def _on_props(self, conn, sender, path, iface, member, params):
        self.events.append(("PropertiesChanged", path, params.unpack()))
        self.times.append(time.monotonic())

    def close(self):
        try:
            self.conn.close_sync(None)
        except GLib.Error:
            pass

    # -- calls --

    def call(self, method, *args, timeout=DEADLINE, fd_list=None):
        sig = SIGNATURES[method]
        if method in ("Add", "Update"):
            args = (args[0], settings_variant(args[1]))
        params = GLib.Variant(sig, args) if sig else None
        if method == "FollowOutput":
            reply, fds = self.conn.call_with_unix_fd_list_sync(
                None, MANAGER_PATH, MANAGER_IFACE, method, params, None,
                Gio.DBusCallFlags.NONE, int(timeout * 1000), None, None)
            return reply.unpack(), fds
        reply = self.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, method, params,
                                    None, Gio.DBusCallFlags.NONE, int(timeout * 1000), None)
        value = reply.unpack()
        if len(value) == 0:
            return None
        if len(value) == 1:
            return value[0]
        return value

    def call_error(self, method, *args, **kw):
        """Call that must fail: returns (error name, message)."""
        try:
            value = self.call(method, *args, **kw)
        except GLib.Error as exc:
            return remote_error(exc)
        raise AssertionError("%s%r succeeded (%r) but should have failed" % (method, args, value))

    def get_all(self, name):
        reply = self.conn.call_sync(None, job_path(name), "org.freedesktop.DBus.Properties",
                                    "GetAll", GLib.Variant("(s)", (JOB_IFACE,)), None,
                                    Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        return reply.unpack()[0]

    def manager_property(self, prop):
        reply = self.conn.call_sync(None, MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                    "Get", GLib.Variant("(ss)", (MANAGER_IFACE, prop)), None,
                                    Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        return reply.unpack()[0]

    def list_rows(self):
        """List's columns as one tuple per job: (name, state, main PID,
        memory, started-at, restarts), sorted by name like List."""
        names, states, pids, memory, started_at, restarts = self.call("List")
        self.check_list_columns(names, states, pids, memory, started_at, restarts)
        return list(zip(names, states, pids, memory, started_at, restarts))

    @staticmethod
    def check_list_columns(*columns):
        if len({len(column) for column in columns}) != 1:
            raise AssertionError("List's columns differ in length: %r"
                                 % [len(column) for column in columns])

    def add(self, name, command, args=(), **settings):
        s = {"command": command, "args": list(args)}
        for key, value in settings.items():
            s[key.replace("_", "-")] = value
        return self.call("Add", name, s)

    def runtime(self, name):
        return self.call("GetRuntime", name)

    def state(self, name):
        return self.call("Status", name)

    # -- events --

    def mark(self):
        """A cursor: wait_* calls given since=mark() see only later events."""
        return len(self.events)

    def pump(self, predicate, what, timeout=DEADLINE, poll=None):
        """Iterate the main context until predicate() is true or the deadline.
        Signals wake it; poll (seconds) also re-checks predicate periodically,
        for state that has no event (the output ring, files)."""
        end = time.monotonic() + timeout

        def on_timeout(*_args):
            return GLib.SOURCE_REMOVE

        while True:
            value = predicate()
            if value:
                return value
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out after %.1fs waiting for %s; events: %s"
                                     % (timeout, what, self.describe_events()))
            # Wake at the deadline at the latest; any signal wakes sooner.
            wake = remaining if poll is None else min(remaining, poll)
            source = GLib.timeout_source_new(max(1, int(wake * 1000)))
            source.set_callback(on_timeout)
            source.attach(self.context)
            self.context.iteration(True)
            source.destroy()

    def lines(self, name, max_lines=0):
        """The texts of a job's buffered output lines."""
        return [line[2] for line in self.call("ReadOutput", name, max_lines)]

    def wait_output(self, name, predicate, what, timeout=DEADLINE):
        """Wait until predicate(list of line texts) holds; returns the lines."""
        def check():
            lines = self.lines(name)
            return lines if predicate(lines) else None
        return self.pump(check, "output of %s: %s" % (name, what), timeout, poll=0.05)

    def describe_events(self, last=12):
        return "; ".join("%s %s" % (e[0], e[2]) for e in self.events[-last:])

    def find_state_change(self, name, new_state, since=0, old_state=None):
        for i in range(since, len(self.events)):
            kind, _path, payload = self.events[i]
            if kind != "JobStateChanged":
                continue
            jname, old, new, details = payload
            if jname == name and new == new_state and (old_state is None or old == old_state):
                return i, old, details
        return None

    def wait_state(self, name, new_state, since=0, timeout=DEADLINE, old_state=None):
        """Wait for JobStateChanged(name, *, new_state); return its details
        (with "_old" and "_index" added)."""
        hit = self.pump(lambda: self.find_state_change(name, new_state, since, old_state),
                        "JobStateChanged %s → %s" % (name, new_state), timeout)
        index, old, details = hit
        details = dict(details)
        details["_old"] = old
        details["_index"] = index
        details["_time"] = self.times[index]
        return details

    def transitions(self, name, since=0):
        """[(old, new, details)] of a job since a mark."""
        return [(p[1], p[2], p[3]) for k, _path, p in self.events[since:]
                if k == "JobStateChanged" and p[0] == name]

    def wait_event(self, kind, match=lambda path, payload: True, since=0, timeout=DEADLINE):
        def find():
            for k, path, payload in self.events[since:]:
                if k == kind and match(path, payload):
                    return (path, payload)
            return None
        return self.pump(find, kind, timeout)

    def settle(self, seconds):
        """Keep dispatching for a fixed time (used only to prove that
        something does NOT happen within a window)."""
        end = time.monotonic() + seconds
        self.pump(lambda: time.monotonic() >= end, "settle", seconds + 5, poll=seconds / 4)


# ---- the daemon ----

class Jobd(JobdProcess):
    """One jobd process with its own directories."""

    def __init__(self, root=None, config_extra=""):
        if root is None:
            root = tempfile.mkdtemp(prefix="jobd-it-", dir="/tmp")
            # Reachable by an unprivileged client (authorization tests).
            os.chmod(root, 0o755)
            self.owns_root = True
        else:
            self.owns_root = False
        super().__init__(JOBD, root)
        # The legacy listener is tested in tests/legacy; here it would
        # only collide on its default port with jobds running in parallel.
        self.write_config("[Daemon]\nBackend=direct\n" + config_extra
                          + "\n[Legacy]\nEnable=false\n")
        self.stderr_path = None
        self.runs = 0
        self.clients = []
        self.job_pids = set()    # every job PID seen, to clean up by PID
        _live.add(self)

    def start(self):
        self.runs += 1
        self.stderr_path = os.path.join(self.root, "jobd.%d.stderr" % self.runs)
        with open(self.stderr_path, "w") as err:
            self.spawn(err, "--backend", "direct")
        wait_until(self._answers, "jobd to answer on " + self.address)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("jobd exited with %s:\n%s" % (self.proc.returncode, self.stderr()))
        conn = self.ping()
        if conn is None:
            return False
        conn.close_sync(None)
        return True

    def connect(self):
        client = Client(self.address)
        self.clients.append(client)
        return client

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def note_pid(self, pid):
        if pid:
            self.job_pids.add(pid)

    def stop(self, sig=signal.SIGTERM):
        """Stop jobd by PID; assert it exited 0 and its stderr is clean."""
        for client in self.clients:
            client.close()
        self.clients = []
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if not stop_pid(proc, DEADLINE * 2, sig):
            raise AssertionError("jobd did not exit within %ss of %s:\n%s"
                                 % (DEADLINE * 2, sig, self.stderr()))
        text = self.stderr()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError("jobd's stderr contains %r:\n%s" % (mark, text))
        if proc.returncode != 0:
            raise AssertionError("jobd exited with %d:\n%s" % (proc.returncode, text))

    def kill_leftovers(self):
        """Kill every process group of a job PID we saw, by PID."""
        for pid in sorted(self.job_pids):
            st = proc_stat(pid)
            pgids = {pid}
            if st is not None:
                pgids.add(st[2])
            # Never our own group (jobd and jobctl run in it): jobs have theirs.
            pgids.discard(os.getpgrp())
            for pgid in pgids:
                kill_pids(group_members(pgid))

    def processes_holding_our_files(self):
        """PIDs (not ours) with a descriptor open under our directory: every
        job process and its children hold the output FIFOs of run/."""
        prefix = self.root + "/"
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                fds = os.listdir("/proc/%s/fd" % entry)
                if any(os.readlink("/proc/%s/fd/%s" % (entry, fd)).startswith(prefix)
                       for fd in fds):
                    pids.append(int(entry))
            except OSError:
                continue
        return pids

    def cleanup(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        finally:
            self.proc = None
            _live.discard(self)
            self.kill_leftovers()
            kill_pids(self.processes_holding_our_files())
            jobdharness.remove_job_cgroups(self.runtime_dir)
            if self.owns_root:
                shutil.rmtree(self.root, ignore_errors=True)


# Every Jobd not cleaned up yet, so a test run interrupted by meson's
# timeout (SIGTERM) or Ctrl-C still leaves no process behind.
_live = set()


def _cleanup_all():
    for jobd in list(_live):
        jobd.cleanup()


def _on_sigterm(signo, _frame):
    _cleanup_all()
    os._exit(128 + signo)


atexit.register(_cleanup_all)
signal.signal(signal.SIGTERM, _on_sigterm)


class JobdTestCase(unittest.TestCase):
    """Each test gets a fresh jobd and a connected client (self.bus)."""

    config_extra = ""

    def setUp(self):
        self.jobd = Jobd(config_extra=self.config_extra)
        self.addCleanup(self.jobd.cleanup)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def tearDown(self):
        # Record PIDs of running jobs so cleanup can kill them if jobd fails.
        try:
            for row in self.bus.list_rows():
                self.jobd.note_pid(row[2])
        except GLib.Error:
            pass
        for _k, _p, payload in self.bus.events:
            if _k == "JobStateChanged":
                self.jobd.note_pid(payload[3].get("main-pid", 0))
        self.jobd.stop()

    # -- helpers used by many tests --

    def add_and_start(self, name, command, args=(), **settings):
        path = self.bus.add(name, command, args, **settings)
        mark = self.bus.mark()
        self.bus.call("Start", name)
        details = self.bus.wait_state(name, "up", since=mark)
        self.jobd.note_pid(details["main-pid"])
        return details["main-pid"], path

    def wait_memory(self, name):
        """Wait until the job's memory shows. "up" comes as soon as the
        program is exec'd, before it is loaded, and the kernel's RSS count
        of a program that has barely started can still read 0."""
        wait_until(lambda: self.bus.call("GetMemory", name)[0] > 0,
                   "the memory of job %s to show" % name)

    def stop_and_wait(self, name):
        mark = self.bus.mark()
        self.bus.call("Stop", name)
        return self.bus.wait_state(name, "down", since=mark)

    def assertError(self, expected, method, *args, contains=None):
        name, message = self.bus.call_error(method, *args)
        self.assertEqual(name, ERR + expected, "%s: %s" % (method, message))
        self.assertTrue(message, "error without a message")
        if contains is not None:
            self.assertIn(contains, message)
        return message


def run_jobctl(args, address=None, env_extra=None, timeout=DEADLINE, **kw):
    env = dict(os.environ)
    env.pop("JOBD_ADDRESS", None)
    env["LC_ALL"] = "C"
    if address is not None:
        env["JOBD_ADDRESS"] = address
    if env_extra:
        env.update(env_extra)
    return subprocess.run([JOBCTL] + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def as_nobody():
    """preexec_fn that drops to nobody:nogroup."""
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return drop


def call_as_nobody(address, method, args_text):
    """Run one call in a child process that runs as nobody; returns the
    decoded JSON result."""
    proc = subprocess.run([PYTHON, os.path.join(HERE, "jobdtest.py"), "call", address,
                           method, args_text],
                          capture_output=True, text=True, timeout=DEADLINE * 2,
                          preexec_fn=as_nobody(), cwd="/")
    if proc.returncode != 0:
        raise AssertionError("helper failed: %s" % proc.stderr)
    return json.loads(proc.stdout)


def _to_json(value):
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _helper_call(address, method, args_text):
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
    params = GLib.Variant.parse(None, args_text, None, None) if args_text else None
    try:
        reply = conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, method, params, None,
                               Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        out = {"ok": True, "value": _to_json(reply.unpack()), "uid": os.getuid()}
    except GLib.Error as exc:
        name, message = remote_error(exc)
        out = {"ok": False, "error": name, "message": message, "uid": os.getuid()}
    print(json.dumps(out))


def main():
    unittest.main(verbosity=2)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "call":
        _helper_call(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    else:
        sys.exit("usage: jobdtest.py call ADDRESS METHOD '(ARGS)'")
