# SPDX-License-Identifier: MIT
"""Readiness (the `ready` setting), sd_notify and the watchdog, on the
direct backend: a job is "starting" until it is ready (READY=1 from the job,
a matching output line, a port that answers, a probe that exits 0), a job
not ready in time is a failed start, a notify message from a process that
is not the job's is ignored, STATUS= shows in show/list, a missed
WATCHDOG=1 restarts the job, and a flood of messages keeps jobd's memory
bounded. The scope backend's notify is tests/system (test-jobd.py)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

import jobdharness
from jobdtest import (DEADLINE, ERR, JOBD, MANAGER_IFACE, MANAGER_PATH, PYTHON,
                      JobdTestCase, main, run_jobctl, wait_until)
from jobdharness import free_port, tcp_accepts

SYSTEMD_NOTIFY = shutil.which("systemd-notify") or "/usr/bin/systemd-notify"

READY_TYPES = {"ready": "s", "ready-timeout-ms": "u", "watchdog-ms": "u"}


def variant_settings(settings):
    out = {}
    for key, value in settings.items():
        out[key] = value if isinstance(value, GLib.Variant) else \
            GLib.Variant(READY_TYPES.get(key) or _base_type(key), value)
    return out


def _base_type(key):
    from jobdtest import SETTING_TYPES
    return SETTING_TYPES[key]


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


class ReadyCase(JobdTestCase):

    def add(self, name, script, **settings):
        s = {"command": "/bin/sh", "args": ["-c", script]}
        s.update({k.replace("_", "-"): v for k, v in settings.items()})
        self.bus.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "Add",
                                GLib.Variant("(sa{sv})", (name, variant_settings(s))), None,
                                Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def add_error(self, name, **settings):
        s = {"command": "/bin/true"}
        s.update(settings)
        try:
            self.bus.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "Add",
                                    GLib.Variant("(sa{sv})", (name, variant_settings(s))), None,
                                    Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        except GLib.Error as exc:
            return Gio.DBusError.get_remote_error(exc), exc.message
        raise AssertionError("Add %r succeeded" % settings)

    def start_async(self, name):
        """Start without blocking the main context (Start answers only once
        the job is ready): returns a dict that gets "ok" or "error"."""
        result = {}

        def done(conn, res):
            try:
                conn.call_finish(res)
                result["ok"] = True
            except GLib.Error as exc:
                result["error"] = exc.message
        self.bus.conn.call(None, MANAGER_PATH, MANAGER_IFACE, "Start",
                           GLib.Variant("(s)", (name,)), None, Gio.DBusCallFlags.NONE,
                           int(DEADLINE * 4000), None, done)
        return result

    def note(self, details):
        self.jobd.note_pid(details.get("main-pid", 0))

    def notify_socket_of(self, name):
        lines = self.bus.wait_output(name, lambda ls: any(l.startswith("sock=") for l in ls),
                                     "the NOTIFY_SOCKET line")
        path = [l for l in lines if l.startswith("sock=")][0][len("sock="):]
        self.assertTrue(path.startswith(self.jobd.runtime_dir), path)
        return path


class Notify(ReadyCase):

    def test_shell_job_is_starting_until_systemd_notify_ready(self):
        self.add("sn", "sleep 2; %s --ready; exec sleep 1000" % SYSTEMD_NOTIFY,
                 ready="notify", ready_timeout_ms=DEADLINE * 2000)
        mark = self.bus.mark()
        result = self.start_async("sn")
        starting = self.bus.wait_state("sn", "starting", since=mark)
        # The process runs while the job is starting: its PID shows.
        pid = self.bus.pump(lambda: self.bus.runtime("sn")["main-pid"], "main PID while starting")
        self.jobd.note_pid(pid)
        self.assertEqual(self.bus.state("sn"), "starting")
        self.assertNotIn("ok", result, "Start answered before the job was ready")
        up = self.bus.wait_state("sn", "up", since=mark, timeout=DEADLINE + 2)
        self.assertGreaterEqual(up["_time"] - starting["_time"], 1.9,
                                "up %.2fs after starting" % (up["_time"] - starting["_time"]))
        self.assertEqual(up["main-pid"], pid)
        self.assertEqual(up["reason"], "manual")
        self.bus.pump(lambda: result, "Start to answer")
        self.assertEqual(result, {"ok": True})
        self.stop_and_wait("sn")

    def test_ready_sent_at_once_is_never_lost(self):
        """READY=1 sent as the program starts, possibly before jobd knows its
        PID (the socket waits, paused): up every time, in a loop."""
        self.add("qk", "%s --ready; exec sleep 1000" % SYSTEMD_NOTIFY, ready="notify",
                 ready_timeout_ms=DEADLINE * 2000)
        for round_ in range(25):
            mark = self.bus.mark()
            result = self.start_async("qk")
            up = self.bus.wait_state("qk", "up", since=mark)
            self.note(up)
            self.bus.pump(lambda: result, "Start to answer (round %d)" % round_)
            self.assertEqual(result, {"ok": True}, "round %d" % round_)
            mark = self.bus.mark()
            self.bus.call("Stop", "qk")
            self.bus.wait_state("qk", "down", since=mark)

    def test_never_notifies_fails_after_ready_timeout(self):
        self.add("nn", "exec sleep 1000", ready="notify", ready_timeout_ms=700)
        mark = self.bus.mark()
        result = self.start_async("nn")
        starting = self.bus.wait_state("nn", "starting", since=mark)
        stopping = self.bus.wait_state("nn", "stopping", since=mark)
        self.assertEqual(stopping["_old"], "starting")
        self.assertEqual(stopping["reason"], "ready-timeout")
        self.assertGreaterEqual(stopping["_time"] - starting["_time"], 0.6)
        failed = self.bus.wait_state("nn", "failed", since=mark)
        self.assertEqual(failed["reason"], "ready-timeout")
        self.assertIsNone(self.bus.find_state_change("nn", "up", since=mark))
        self.bus.pump(lambda: result, "Start to answer")
        self.assertIn("not ready within 700 ms", result.get("error", ""))
        runtime = self.bus.runtime("nn")
        self.assertIn("not ready within 700 ms", runtime["last-error"])
        self.assertEqual(runtime["main-pid"], 0)

    def test_ready_timeout_goes_through_the_restart_policy(self):
        self.add("nr", "exec sleep 1000", ready="notify", ready_timeout_ms=300,
                 restart="on-failure", restart_delay_ms=100, start_limit_burst=2)
        mark = self.bus.mark()
        self.start_async("nr")
        again = self.bus.wait_state("nr", "starting", since=self.bus.wait_state(
            "nr", "stopping", since=mark)["_index"])
        self.assertEqual(again["restart-reason"], "ready-timeout")
        # Within the start limit: in the end it fails for good.
        failed = self.bus.wait_state("nr", "failed", since=mark, timeout=DEADLINE)
        self.assertEqual(failed["reason"], "start-limit")

    def test_message_from_a_foreign_process_is_ignored(self):
        self.add("fo", 'echo "sock=$NOTIFY_SOCKET"; exec sleep 1000', ready="notify",
                 ready_timeout_ms=DEADLINE * 3000)
        mark = self.bus.mark()
        self.start_async("fo")
        path = self.notify_socket_of("fo")
        pid = self.bus.runtime("fo")["main-pid"]
        self.jobd.note_pid(pid)
        # From this test process (not the job) ...
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"READY=1\nSTATUS=forged", path)
        # ... from the real systemd-notify run outside the job, as root and
        # as nobody.
        env = dict(os.environ, NOTIFY_SOCKET=path)
        subprocess.run([SYSTEMD_NOTIFY, "--ready", "--status=forged too"], env=env,
                       timeout=DEADLINE, check=False)
        subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        SYSTEMD_NOTIFY, "--ready"], env=env, timeout=DEADLINE, check=False)
        # jobd read them (the log line says so) and ignored them.
        wait_until(lambda: "ignored a notify message" in self.jobd.stderr(),
                   "jobd to log the ignored message")
        self.bus.settle(0.5)
        self.assertEqual(self.bus.state("fo"), "starting")
        self.assertIsNone(self.bus.find_state_change("fo", "up", since=mark))
        self.assertEqual(self.bus.runtime("fo")["status-text"], "")
        self.assertEqual(self.jobd.stderr().count("ignored a notify message"), 1,
                         "the log line is rate-limited")
        self.bus.call("Stop", "fo")
        self.bus.wait_state("fo", "down", since=mark)

    def test_status_shows_in_show_list_and_dbus(self):
        self.add("st", '%s --ready --status="serving 42 clients"; exec sleep 1000'
                 % SYSTEMD_NOTIFY, ready="notify")
        mark = self.bus.mark()
        self.start_async("st")
        self.note(self.bus.wait_state("st", "up", since=mark))
        self.bus.pump(lambda: self.bus.runtime("st")["status-text"] == "serving 42 clients",
                      "status-text", poll=0.05)
        self.assertEqual(self.bus.get_all("st")["StatusText"], "serving 42 clients")
        show = run_jobctl(["show", "st"], address=self.jobd.address)
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertRegex(show.stdout, r"(?m)^\s*Status: serving 42 clients$")
        self.assertRegex(show.stdout, r"(?m)^\s*Ready: notify$")
        listing = run_jobctl(["list"], address=self.jobd.address)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("STATUS", listing.stdout)
        self.assertRegex(listing.stdout, r"(?m)^st\s+up\s.*serving 42 clients$")
        # One call for every job's text, only the jobs that said something.
        self.assertEqual(self.bus.call("GetStatusTexts"), {"st": "serving 42 clients"})
        self.stop_and_wait("st")

    def test_extend_timeout_usec_moves_the_ready_timeout(self):
        self.add("ex", "%s EXTEND_TIMEOUT_USEC=5000000; sleep 1.5; %s --ready; exec sleep 1000"
                 % (SYSTEMD_NOTIFY, SYSTEMD_NOTIFY), ready="notify", ready_timeout_ms=500)
        mark = self.bus.mark()
        self.start_async("ex")
        self.note(self.bus.wait_state("ex", "up", since=mark))
        self.assertIsNone(self.bus.find_state_change("ex", "stopping", since=mark))
        self.stop_and_wait("ex")

    def test_reloading_then_ready(self):
        flag = tempfile.mkdtemp(prefix="jobd-reload-")
        self.addCleanup(shutil.rmtree, flag, True)
        script = ('%s --ready; %s RELOADING=1 MONOTONIC_USEC=$(date +%%s)000000; '
                  'while [ ! -e %s/go ]; do sleep 0.05; done; %s --ready; exec sleep 1000'
                  % (SYSTEMD_NOTIFY, SYSTEMD_NOTIFY, flag, SYSTEMD_NOTIFY))
        self.add("rl", script, ready="notify")
        mark = self.bus.mark()
        self.start_async("rl")
        self.note(self.bus.wait_state("rl", "up", since=mark))
        self.bus.pump(lambda: self.bus.runtime("rl")["reloading"], "reloading", poll=0.05)
        show = run_jobctl(["show", "rl"], address=self.jobd.address)
        self.assertRegex(show.stdout, r"(?m)^\s*Reloading: yes$")
        open(os.path.join(flag, "go"), "w").close()
        self.bus.pump(lambda: not self.bus.runtime("rl")["reloading"], "reloaded", poll=0.05)
        self.assertEqual(self.bus.state("rl"), "up")
        self.stop_and_wait("rl")

    def test_stop_while_waiting_for_ready(self):
        self.add("sw", "exec sleep 1000", ready="notify", ready_timeout_ms=DEADLINE * 3000)
        mark = self.bus.mark()
        result = self.start_async("sw")
        self.bus.wait_state("sw", "starting", since=mark)
        self.jobd.note_pid(self.bus.pump(lambda: self.bus.runtime("sw")["main-pid"], "PID"))
        self.bus.call("Stop", "sw")
        down = self.bus.wait_state("sw", "down", since=mark)
        self.assertEqual(down["reason"], "manual")
        self.bus.pump(lambda: result, "Start to answer")
        self.assertIn("before it was ready", result.get("error", ""))


class Restart(ReadyCase):

    def test_jobd_restarted_while_waiting_takes_the_job_back_still_starting(self):
        flag = tempfile.mkdtemp(prefix="jobd-adopt-")
        self.addCleanup(shutil.rmtree, flag, True)
        self.add("ad", "while [ ! -e %s/go ]; do sleep 0.05; done; %s --ready; exec sleep 1000"
                 % (flag, SYSTEMD_NOTIFY), ready="notify", ready_timeout_ms=DEADLINE * 4000)
        mark = self.bus.mark()
        self.start_async("ad")
        running = self.bus.wait_state("ad", "starting", since=mark)
        while not running.get("main-pid"):
            running = self.bus.wait_state("ad", "starting", since=running["_index"] + 1)
        pid = running["main-pid"]
        self.jobd.note_pid(pid)
        # jobd goes (jobs keep running) and comes back: it takes the job back,
        # still waiting for it to be ready.
        self.jobd.stop()
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: self.bus.runtime("ad")["main-pid"] == pid, "the job taken back")
        self.assertEqual(self.bus.state("ad"), "starting")
        mark = self.bus.mark()
        open(os.path.join(flag, "go"), "w").close()
        up = self.bus.wait_state("ad", "up", since=mark)
        self.assertEqual(up["main-pid"], pid)
        self.assertEqual(up["reason"], "adopted")
        self.stop_and_wait("ad")


class Watchdog(ReadyCase):

    def test_missed_ping_restarts_with_reason_watchdog(self):
        self.add("wd", "%s --ready; exec sleep 1000" % SYSTEMD_NOTIFY, ready="notify",
                 watchdog_ms=400, restart_delay_ms=100)
        mark = self.bus.mark()
        self.start_async("wd")
        up = self.bus.wait_state("wd", "up", since=mark)
        self.note(up)
        stopping = self.bus.wait_state("wd", "stopping", since=up["_index"])
        self.assertEqual(stopping["reason"], "watchdog")
        self.assertGreaterEqual(stopping["_time"] - up["_time"], 0.3)
        again = self.bus.wait_state("wd", "starting", since=stopping["_index"])
        self.assertEqual(again["restart-reason"], "watchdog")
        self.note(self.bus.wait_state("wd", "up", since=again["_index"]))
        self.assertEqual(self.bus.runtime("wd")["last-restart-reason"], "watchdog")
        self.bus.call("Stop", "wd")
        self.bus.wait_state("wd", "down", since=again["_index"])

    def test_pings_keep_it_up(self):
        script = ('%s --ready; while :; do %s WATCHDOG=1; sleep 0.1; done'
                  % (SYSTEMD_NOTIFY, SYSTEMD_NOTIFY))
        self.add("wp", script, ready="notify", watchdog_ms=800)
        mark = self.bus.mark()
        self.start_async("wp")
        self.note(self.bus.wait_state("wp", "up", since=mark))
        self.bus.settle(2.0)
        self.assertIsNone(self.bus.find_state_change("wp", "stopping", since=mark))
        self.assertEqual(self.bus.state("wp"), "up")
        self.stop_and_wait("wp")

    def test_watchdog_usec_is_in_the_environment(self):
        self.add("we", 'echo "wd=$WATCHDOG_USEC"; exec sleep 1000', watchdog_ms=60000)
        mark = self.bus.mark()
        self.start_async("we")
        self.note(self.bus.wait_state("we", "up", since=mark))
        self.bus.wait_output("we", lambda ls: "wd=60000000" in ls, "WATCHDOG_USEC")
        self.stop_and_wait("we")


class Probes(ReadyCase):

    def test_log_regex(self):
        self.add("lg", "echo booting; sleep 0.6; echo 'listening on 8080'; exec sleep 1000",
                 ready=r"log:^listening on \d+$")
        mark = self.bus.mark()
        self.start_async("lg")
        starting = self.bus.wait_state("lg", "starting", since=mark)
        up = self.bus.wait_state("lg", "up", since=mark)
        self.note(up)
        self.assertGreaterEqual(up["_time"] - starting["_time"], 0.5)
        self.assertIn("listening on 8080", self.bus.lines("lg"))
        self.stop_and_wait("lg")

    def test_tcp_port(self):
        port = free_port()
        server = ("import socket,time; time.sleep(0.8); s=socket.socket(); "
                  "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                  "s.bind(('127.0.0.1', %d)); s.listen(8); time.sleep(1000)" % port)
        self.add("tc", "exec %s -c \"%s\"" % (PYTHON, server), ready="tcp:%d" % port)
        mark = self.bus.mark()
        self.start_async("tc")
        starting = self.bus.wait_state("tc", "starting", since=mark)
        self.assertFalse(tcp_accepts(port, 0.2))
        up = self.bus.wait_state("tc", "up", since=mark)
        self.note(up)
        self.assertGreaterEqual(up["_time"] - starting["_time"], 0.7)
        self.assertTrue(tcp_accepts(port, 1))
        self.stop_and_wait("tc")

    def test_exec_probe_runs_as_the_job_user(self):
        folder = tempfile.mkdtemp(prefix="jobd-probe-")
        os.chmod(folder, 0o777)
        self.addCleanup(shutil.rmtree, folder, True)
        flag = os.path.join(folder, "flag")
        # The probe passes only as nobody once the job made the flag.
        self.add("ep", "sleep 0.6; touch %s; exec sleep 1000" % flag, user="nobody",
                 ready="exec-probe:test \"$(id -u)\" = 65534 && test -e %s" % flag)
        mark = self.bus.mark()
        self.start_async("ep")
        starting = self.bus.wait_state("ep", "starting", since=mark)
        up = self.bus.wait_state("ep", "up", since=mark)
        self.note(up)
        self.assertGreaterEqual(up["_time"] - starting["_time"], 0.5)
        self.assertTrue(os.path.exists(flag))
        self.stop_and_wait("ep")

    def test_exec_probe_that_never_passes_times_out(self):
        self.add("en", "exec sleep 1000", ready="exec-probe:false", ready_timeout_ms=800)
        mark = self.bus.mark()
        self.start_async("en")
        failed = self.bus.wait_state("en", "failed", since=mark)
        self.assertEqual(failed["reason"], "ready-timeout")


class Validation(ReadyCase):

    def test_bad_values_are_refused_naming_them(self):
        name, message = self.add_error("b1", ready="log:([a-z")
        self.assertEqual(name, ERR + "InvalidArgs")
        self.assertIn("([a-z", message)
        self.assertIn("does not compile", message)
        name, message = self.add_error("b2", ready="tcp:70000")
        self.assertEqual(name, ERR + "InvalidArgs")
        self.assertIn("70000", message)
        name, message = self.add_error("b3", ready="tcp:http")
        self.assertIn("'http'", message)
        name, message = self.add_error("b4", ready="sometimes")
        self.assertIn("sometimes", message)
        name, message = self.add_error("b5", ready="exec-probe:")
        self.assertIn("needs a command", message)
        name, message = self.add_error("b6", **{"watchdog-ms": 5})
        self.assertIn("watchdog-ms", message)
        self.assertEqual([r[0] for r in self.bus.list_rows()], [])
        proc = run_jobctl(["add", "b7", "--ready=log:(", "--", "/bin/true"],
                          address=self.jobd.address)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("'('", proc.stderr)

    def test_settings_round_trip_and_persist(self):
        proc = run_jobctl(["add", "rt", "--ready=tcp:8080", "--ready-timeout=20s",
                           "--watchdog=3s", "--", "/bin/true"], address=self.jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        settings = self.bus.call("GetSettings", "rt")
        self.assertEqual((settings["ready"], settings["ready-timeout-ms"],
                          settings["watchdog-ms"]), ("tcp:8080", 20000, 3000))
        self.assertEqual(self.bus.call("GetSettings", "rt")["ready"], "tcp:8080")
        show = run_jobctl(["show", "rt"], address=self.jobd.address)
        self.assertRegex(show.stdout, r"(?m)^\s*Ready: tcp:8080$")
        self.assertRegex(show.stdout, r"(?m)^\s*Watchdog: 3s$")
        # The default, for a job that says nothing.
        self.bus.add("df", "/bin/true")
        self.assertEqual(self.bus.call("GetSettings", "df")["ready"], "exec")
        # Kept across a jobd restart (the state file).
        self.jobd.stop()
        self.jobd.start()
        self.bus = self.jobd.connect()
        settings = self.bus.call("GetSettings", "rt")
        self.assertEqual((settings["ready"], settings["watchdog-ms"]), ("tcp:8080", 3000))


FLOOD = r'''
import os, socket, sys, time
path = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
big = b"STATUS=" + b"x" * 70000

def flood(count):
    sent = 0
    for i in range(count):
        body = b"STATUS=flood %%d " %% i + b"y" * 3000 if i %% 10 else big
        try:
            s.sendto(body, path)
            sent += 1
        except OSError:   # the queue is full (EAGAIN) or the message too big
            pass
    return sent

print("sent1", flood(%(count)d), flush=True)
while not os.path.exists("%(go)s"):
    time.sleep(0.05)
print("sent2", flood(%(count)d), flush=True)
os.execv("/bin/sleep", ["sleep", "1000"])
'''


class Flood(ReadyCase):

    def setUp(self):
        jobdharness.measure_rss_under_asan()
        super().setUp()

    def wait_sent(self, name, key):
        lines = self.bus.wait_output(name, lambda ls: any(l.startswith(key + " ") for l in ls),
                                     "the flood (%s) to end" % key, timeout=DEADLINE * 4)
        return int([l for l in lines if l.startswith(key + " ")][0].split()[1])

    def test_flood_keeps_memory_bounded(self):
        folder = tempfile.mkdtemp(prefix="jobd-flood-")
        self.addCleanup(shutil.rmtree, folder, True)
        go = os.path.join(folder, "go")
        pid = self.jobd.proc.pid
        script = FLOOD % {"count": 200000, "go": go}
        self.add("fl", "%s --ready; exec %s -c '%s'" % (SYSTEMD_NOTIFY, PYTHON, script),
                 ready="notify")
        mark = self.bus.mark()
        self.start_async("fl")
        self.note(self.bus.wait_state("fl", "up", since=mark))
        before = rss_bytes(pid)
        sent1 = self.wait_sent("fl", "sent1")
        middle = rss_bytes(pid)
        # A second flood as large as the first: bounded means it costs
        # nothing more once the first one has reached the steady state.
        open(go, "w").close()
        sent2 = self.wait_sent("fl", "sent2")
        # jobd still answers at once.
        t0 = time.monotonic()
        self.bus.call("Status", "fl")
        self.assertLess(time.monotonic() - t0, 2.0)
        after = rss_bytes(pid)
        print("flood: %d + %d messages sent, jobd RSS %d KiB -> %d KiB -> %d KiB"
              % (sent1, sent2, before >> 10, middle >> 10, after >> 10), file=sys.stderr)
        self.assertGreater(sent1, 1000)
        self.assertGreater(sent2, 1000)
        self.assertLess(middle - before, 16 << 20,
                        "jobd grew by %d KiB for %d messages" % ((middle - before) >> 10, sent1))
        self.assertLess(after - middle, 2 << 20,
                        "jobd grew by %d KiB more for %d more messages"
                        % ((after - middle) >> 10, sent2))
        self.assertEqual(self.bus.state("fl"), "up")
        self.stop_and_wait("fl")


if __name__ == "__main__":
    main()
