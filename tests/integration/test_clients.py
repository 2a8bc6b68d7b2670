# SPDX-License-Identifier: MIT
"""Every client of the private D-Bus socket is bounded, and secret values
stay with those allowed to read them.

- a client that authenticates, asks for signals and never reads, while a job
  flaps (small signals, and large ones from Updates): jobd's memory stays
  bounded and the client is cut off; the same for a client that pipelines
  calls and never reads their replies; and such a client no longer holds
  jobd's exit;
- 2 000 idle connections that never authenticate, from one user: jobd's
  descriptors stay bounded, they are closed after AuthTimeoutSec, and
  another user's client still gets answers; over the per-user cap a
  connection is refused at once;
- a connection that did not call AddMatch gets no signals;
- environment values: the owner, the admin group and root see them, others
  see the names with "(hidden)" (GetSettings, the Settings property, GetAll,
  PropertiesChanged).
"""
import json
import os
import resource
import socket
import subprocess
import sys
import time
import unittest

from jobdtest import (DEADLINE, MANAGER_IFACE, MANAGER_PATH, PYTHON,
                      Client, JobdTestCase, as_nobody, call_as_nobody, job_path,
                      jobdharness, main, wait_until)

from gi.repository import Gio, GLib

# RSS is measured: a small ASan quarantine, even when CI sets ASAN_OPTIONS.
jobdharness.measure_rss_under_asan()

NOBODY = 65534
HIDDEN = "(hidden)"
MIB = 1024 * 1024


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def bus_path(address):
    return address.split("=", 1)[1]


def raw_authenticated(address, rcvbuf=4096):
    """A raw socket that does the EXTERNAL handshake and then never reads
    unless asked (a small receive buffer, so jobd's side fills up soon)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(DEADLINE)
    sock.connect(bus_path(address))
    uid_hex = str(os.getuid()).encode().hex().encode()
    sock.sendall(b"\0AUTH EXTERNAL " + uid_hex + b"\r\n")
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError("jobd closed the connection during authentication")
        reply += chunk
    if not reply.startswith(b"OK "):
        raise AssertionError("authentication refused: %r" % reply)
    sock.sendall(b"BEGIN\r\n")
    return sock


def method_call_blob(serial, path, interface, member, body=None):
    message = Gio.DBusMessage.new_method_call(None, path, interface, member)
    if body is not None:
        message.set_body(body)
    message.set_serial(serial)
    return message.to_blob(Gio.DBusCapabilityFlags.NONE)


def add_match_blob(serial):
    return method_call_blob(serial, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                            "AddMatch", GLib.Variant("(s)", ("type='signal'",)))


def connect_idle(address):
    """A connection that never says a word. A full listen backlog makes a
    Unix connect() fail with EAGAIN: retry until jobd accepts, with a deadline."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    end = time.monotonic() + DEADLINE
    while True:
        try:
            s.connect(bus_path(address))
            return s
        except BlockingIOError:
            if time.monotonic() > end:
                s.close()
                raise AssertionError("jobd did not accept a connection within %ss" % DEADLINE)
            time.sleep(0.001)


def is_closed(sock):
    """Whether the peer closed sock (EOF now), without blocking."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def drain_until_eof(sock, deadline, limit):
    """Read everything; True at EOF (jobd closed), False when the deadline
    or limit (bytes) came first."""
    sock.settimeout(0.2)
    total = 0
    end = time.monotonic() + deadline
    while time.monotonic() < end and total < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        if not chunk:
            return True
        total += len(chunk)
    return False


class NonReadingBase(JobdTestCase):

    def flap(self, name):
        self.bus.add(name, "/bin/true", restart="always", restart_delay_ms=1,
                     restart_delay_max_ms=1, start_limit_interval_ms=0)
        mark = self.bus.mark()
        self.bus.call("Start", name)
        self.bus.wait_state(name, "starting", since=mark)

    def cut_off(self):
        return "disconnecting a D-Bus client" in self.jobd.stderr()

    def assert_dropped(self, sock):
        # Cut off: the client reads what is in its socket, then EOF.
        self.assertTrue(drain_until_eof(sock, DEADLINE, 64 * MIB),
                        "jobd kept the dropped connection open")
        sock.close()
        self.assertEqual(self.jobd.stderr().count("disconnecting a D-Bus client"), 1)


class NonReadingClient(NonReadingBase):
    config_extra = "\n[DBus]\nMaxQueuedBytes=8388608\n"

    def test_memory_bounded_and_client_dropped(self):
        """Large signals: every Update of a job with big settings is a large
        PropertiesChanged, while the job flaps."""
        pid = self.jobd.proc.pid
        sock = raw_authenticated(self.jobd.address)
        sock.sendall(add_match_blob(1))
        rss_before = rss_bytes(pid)
        self.flap("flapper")
        big = {"BLOB%d" % i: "x" * 4096 for i in range(64)}    # ~256 KiB
        peak = rss_before
        end = time.monotonic() + 20
        for i in range(400):                        # bounded: ~100 MiB offered
            if time.monotonic() > end or self.cut_off():
                break
            big["ROUND"] = str(i)
            self.bus.call("Update", "flapper", {"environment": big})
            peak = max(peak, rss_bytes(pid))
        growth = peak - rss_before
        sys.stderr.write("RSS %d -> peak %d MiB (growth %.1f MiB), dropped=%s\n"
                         % (rss_before // MIB, peak // MIB, growth / MIB, self.cut_off()))
        self.assertTrue(self.cut_off(), "the non-reading client was never cut off; "
                        "jobd grew %.1f MiB" % (growth / MIB))
        self.assertLess(growth, 48 * MIB, "jobd grew %.1f MiB" % (growth / MIB))
        self.assert_dropped(sock)
        # Everyone else is still served, and the job still flaps.
        self.assertIn(self.bus.call("Status", "flapper"), ("starting", "up", "down"))
        self.bus.call("Stop", "flapper")


    def test_reply_backlog_of_pipelined_calls_is_bounded(self):
        """A client that pipelines calls with large replies and never reads."""
        pid = self.jobd.proc.pid
        big = {"BLOB%d" % i: "y" * 4096 for i in range(64)}
        self.bus.add("big", "/bin/sleep", ["100"], environment=big)
        sock = raw_authenticated(self.jobd.address)
        rss_before = rss_bytes(pid)
        call = method_call_blob(1, MANAGER_PATH, MANAGER_IFACE, "GetSettings",
                                GLib.Variant("(s)", ("big",)))
        sock.setblocking(False)
        sent = 0
        peak = rss_before
        for _ in range(2000):                       # ~500 MiB of replies asked for
            try:
                sock.send(call)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            if sent % 50 == 0:
                peak = max(peak, rss_bytes(pid))
        wait_until(lambda: "disconnecting a D-Bus client" in self.jobd.stderr(),
                   "the client to be cut off (sent %d calls)" % sent)
        peak = max(peak, rss_bytes(pid))
        self.assertLess(peak - rss_before, 48 * MIB)
        sock.close()
        self.assertEqual(self.bus.call("Status", "big"), "down")


class NonReadingClientAtExit(NonReadingBase):
    """jobd exits promptly on SIGTERM though a client under its bound has a
    backlog it never reads (jobd used to wait for it forever)."""
    config_extra = "\n[DBus]\nMaxQueuedBytes=1073741824\n"

    def test_exit_not_held(self):
        sock = raw_authenticated(self.jobd.address)
        self.addCleanup(sock.close)
        sock.sendall(add_match_blob(1))
        self.flap("flapper")
        # ~2 KB of signals a restart: 300 fill jobd's socket buffer.
        wait_until(lambda: self.bus.call("GetRuntime", "flapper")["restarts"] >= 300,
                   "300 restarts", timeout=60, interval=0.1)
        self.bus.call("Stop", "flapper")
        started = time.monotonic()
        self.jobd.stop()            # asserts it exits (within 2 × DEADLINE) with status 0
        sys.stderr.write("jobd exited %.2f s after SIGTERM\n" % (time.monotonic() - started))
        self.assertLess(time.monotonic() - started, DEADLINE)

    def tearDown(self):
        pass                        # stopped by the test


class NonReadingClientFlap(NonReadingBase):
    """Only a flapping job: many small signals (bound lowered to 1 MiB so
    it is reached within seconds)."""
    config_extra = "\n[DBus]\nMaxQueuedBytes=1048576\n"

    def test_memory_bounded_and_client_dropped(self):
        pid = self.jobd.proc.pid
        sock = raw_authenticated(self.jobd.address)
        sock.sendall(add_match_blob(1))
        rss_before = rss_bytes(pid)
        self.flap("flapper")
        peak = [rss_before]

        def dropped():
            peak[0] = max(peak[0], rss_bytes(pid))
            return self.cut_off()
        try:
            wait_until(dropped, "the non-reading client to be cut off", timeout=30,
                       interval=0.1)
        finally:
            growth = peak[0] - rss_before
            sys.stderr.write("RSS %d -> peak %d MiB (growth %.1f MiB), %s restarts\n"
                             % (rss_before // MIB, peak[0] // MIB, growth / MIB,
                                self.bus.call("GetRuntime", "flapper").get("restarts")))
        self.assertLess(growth, 16 * MIB, "jobd grew %.1f MiB" % (growth / MIB))
        self.assert_dropped(sock)
        self.bus.call("Stop", "flapper")

class UnauthenticatedConnections(JobdTestCase):
    config_extra = "\n[DBus]\nAuthTimeoutSec=4\nMaxConnectionsPerUser=64\n"

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        super().setUp()

    def test_idle_connections_bounded_and_closed(self):
        pid = self.jobd.proc.pid
        base = fd_count(pid)
        socks = []
        peak = [base]

        def sample():
            peak[0] = max(peak[0], fd_count(pid))
        try:
            for i in range(2000):
                socks.append(connect_idle(self.jobd.address))
                if i % 50 == 49:
                    sample()
            # Another user is not starved by root's idle connections.
            out = call_as_nobody(self.jobd.address, "StatusAll", "")
            self.assertTrue(out["ok"], out)
            # Every one is closed by jobd: refused at once, or after
            # AuthTimeoutSec for those let in to authenticate.
            closed = set()

            def all_closed():
                sample()
                for n, s in enumerate(socks):
                    if n not in closed and is_closed(s):
                        closed.add(n)
                return len(closed) == len(socks)
            wait_until(all_closed, "jobd to close the 2000 idle connections",
                       interval=0.1)
            sys.stderr.write("fds: base %d, peak %d with 2000 idle connections\n"
                             % (base, peak[0]))
            # At most two descriptors (socket, cancellation eventfd) per
            # connection let in to authenticate: the cap is 64.
            self.assertLess(peak[0] - base, 2 * 64 + 16,
                            "jobd held %d descriptors" % (peak[0] - base))
            wait_until(lambda: fd_count(pid) <= base + 2, "jobd's descriptors to go back")
            self.assertIn("refused a D-Bus connection from uid 0", self.jobd.stderr())
        finally:
            for s in socks:
                s.close()
        # Root itself gets in again once its idle connections are gone.
        client = self.jobd.connect()
        self.assertEqual(client.call("StatusAll"), {})

    def test_per_user_cap(self):
        """Connections of one user over the cap are refused at once."""
        pid = self.jobd.proc.pid
        base = fd_count(pid)
        socks = []
        try:
            for _ in range(200):
                socks.append(connect_idle(self.jobd.address))
            # Those over the cap see EOF promptly (long before AuthTimeoutSec
            # would close the ones let in).
            wait_until(lambda: sum(is_closed(s) for s in socks) >= 200 - 64,
                       "the connections over the cap to be refused", timeout=3.0)
            self.assertLess(fd_count(pid) - base, 2 * 64 + 8)
        finally:
            for s in socks:
                s.close()


class Subscriptions(JobdTestCase):

    def test_no_signals_without_add_match(self):
        conn = Gio.DBusConnection.new_for_address_sync(
            self.jobd.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        self.addCleanup(lambda: conn.is_closed() or conn.close(None, None, None))
        got = []
        conn.signal_subscribe(None, None, None, None, None, Gio.DBusSignalFlags.NONE,
                              lambda *a: got.append(a[4]))
        ctx = GLib.MainContext.default()

        def settle_on(connection):
            # A round trip: any signal jobd sent before its reply has been
            # received by then; dispatch the callbacks it queued.
            connection.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "StatusAll", None, None,
                                 Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
            while ctx.pending():
                ctx.iteration(False)

        for round_ in range(3):
            name = "quiet%d" % round_
            self.add_and_start(name, "/bin/sleep", ["100"])   # the subscribed client saw it
            self.stop_and_wait(name)
            settle_on(conn)
        self.assertEqual(got, [], "signals reached a connection that never called AddMatch")

        # With AddMatch it gets them; after RemoveMatch no longer.
        conn.call_sync(None, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                       GLib.Variant("(s)", ("type='signal'",)), None,
                       Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        self.bus.add("loud", "/bin/sleep", ["100"])
        settle_on(conn)
        self.assertIn("JobAdded", got)
        conn.call_sync(None, "/org/freedesktop/DBus", "org.freedesktop.DBus", "RemoveMatch",
                       GLib.Variant("(s)", ("type='signal'",)), None,
                       Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        del got[:]
        mark = self.bus.mark()
        self.bus.call("Remove", "loud")
        self.bus.wait_event("JobRemoved", since=mark)
        settle_on(conn)
        self.assertEqual(got, [])

    def test_jobctl_logs_follow_still_works(self):
        self.add_and_start("talker", "/bin/sh", ["-c", "while :; do echo tick; sleep 0.05; done"])
        env = dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C")
        proc = subprocess.Popen([os.environ.get("JOBCTL", "jobctl"), "logs", "-f", "talker"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            line = proc.stdout.readline()
            self.assertIn(b"tick", line)
        finally:
            proc.kill()
            proc.communicate()
        self.bus.call("Stop", "talker")


# Runs as nobody: asks for signals, then prints the first PropertiesChanged
# of the job that carries Settings, as JSON.
WATCHER = r"""
import json, sys
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
loop = GLib.MainLoop()
out = {}
def on_props(c, sender, path, iface, member, params):
    iface_name, changed, _inv = params.unpack()
    if path == sys.argv[2] and "Settings" in changed:
        out["environment"] = changed["Settings"].get("environment", {})
        loop.quit()
conn.signal_subscribe(None, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                      None, None, Gio.DBusSignalFlags.NONE, on_props)
conn.call_sync(None, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
               GLib.Variant("(s)", ("type='signal'",)), None, Gio.DBusCallFlags.NONE, 15000, None)
print("ready", flush=True)
GLib.timeout_add_seconds(15, loop.quit)
loop.run()
print(json.dumps(out), flush=True)
"""


@unittest.skipUnless(os.getuid() == 0, "jobd must run as root to test a non-root caller")
class Secrets(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.bus.add("secretjob", "/bin/sleep", ["100"],
                     environment={"DB_PASSWORD": "s3cret", "MODE": "prod"})

    def nobody(self, method, args_text):
        out = call_as_nobody(self.jobd.address, method, args_text)
        self.assertEqual(out["uid"], NOBODY)
        self.assertTrue(out["ok"], out)
        return out["value"]

    def test_get_settings(self):
        env = self.nobody("GetSettings", "('secretjob',)")[0]["environment"]
        self.assertEqual(env, {"DB_PASSWORD": HIDDEN, "MODE": HIDDEN})
        self.assertEqual(self.bus.call("GetSettings", "secretjob")["environment"],
                         {"DB_PASSWORD": "s3cret", "MODE": "prod"})

    def test_owner_sees_own_values(self):
        out = call_as_nobody(self.jobd.address, "Add",
                             "('mine', {'command': <'/bin/true'>, "
                             "'environment': <{'TOKEN': 'abc'}>})")
        self.assertTrue(out["ok"], out)
        env = self.nobody("GetSettings", "('mine',)")[0]["environment"]
        self.assertEqual(env, {"TOKEN": "abc"})

    def test_properties(self):
        path = job_path("secretjob")
        code = ("import json,sys; from gi.repository import Gio,GLib;"
                "c=Gio.DBusConnection.new_for_address_sync(sys.argv[1],"
                "Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT,None,None);"
                "g=c.call_sync(None,sys.argv[2],'org.freedesktop.DBus.Properties','Get',"
                "GLib.Variant('(ss)',('org.jobd1.Job','Settings')),None,0,15000,None).unpack()[0];"
                "a=c.call_sync(None,sys.argv[2],'org.freedesktop.DBus.Properties','GetAll',"
                "GLib.Variant('(s)',('org.jobd1.Job',)),None,0,15000,None).unpack()[0];"
                "print(json.dumps([g['environment'],a['Settings']['environment']]))")
        proc = subprocess.run([PYTHON, "-c", code, self.jobd.address, path],
                              capture_output=True, text=True, timeout=DEADLINE * 2,
                              preexec_fn=as_nobody(), cwd="/")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        got, got_all = json.loads(proc.stdout)
        self.assertEqual(got, {"DB_PASSWORD": HIDDEN, "MODE": HIDDEN})
        self.assertEqual(got_all, {"DB_PASSWORD": HIDDEN, "MODE": HIDDEN})
        self.assertEqual(self.bus.get_all("secretjob")["Settings"]["environment"]["DB_PASSWORD"],
                         "s3cret")

    def test_properties_changed(self):
        path = job_path("secretjob")
        proc = subprocess.Popen([PYTHON, "-c", WATCHER, self.jobd.address, path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=as_nobody(), cwd="/")
        try:
            self.assertEqual(proc.stdout.readline().strip(), "ready")
            mark = self.bus.mark()
            self.bus.call("Update", "secretjob",
                          {"environment": {"DB_PASSWORD": "n3w", "MODE": "prod"}})
            # root's own connection gets the values.
            _path, payload = self.bus.wait_event(
                "PropertiesChanged", lambda p, pl: p == path and "Settings" in pl[1], since=mark)
            self.assertEqual(payload[1]["Settings"]["environment"]["DB_PASSWORD"], "n3w")
            out, err = proc.communicate(timeout=DEADLINE * 2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(json.loads(out.strip().splitlines()[-1]),
                         {"environment": {"DB_PASSWORD": HIDDEN, "MODE": HIDDEN}}, err)


if __name__ == "__main__":
    main()
