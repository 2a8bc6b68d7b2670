# SPDX-License-Identifier: MIT
"""Start and stop in any order and interleaving: a stop that arrives while a
start is under way stops the process that start created. Each interleaving
runs many times; afterwards no process of the job's command runs and jobd
has no zombie child.

The job's command carries a token in its argv ($0 of sh -c), so its
processes are counted in /proc whatever their process group or parent."""
import json
import os
import random
import socket
import struct
import subprocess
import time

from jobdtest import (JOBCTL, Client, JobdTestCase, jobdharness, proc_stat,
                      remote_error, wait_until, DEADLINE, MANAGER_IFACE, MANAGER_PATH,
                      main)

from gi.repository import Gio, GLib

ITERATIONS = int(os.environ.get("JOBD_RACE_ITERATIONS", "60"))


def token_processes(token):
    """Live PIDs whose command line contains token."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        st = proc_stat(int(entry))
        if token.encode() in cmdline and st is not None and st[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


def zombie_children(pid):
    zombies = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[1] == pid and st[0] == "Z":
                zombies.append(int(entry))
    return zombies


class RaceCase(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.token = "jobd-race-%d-%d" % (os.getpid(), random.randrange(1 << 30))
        self.leaked = []
        self.zombies_seen = set()   # each leak counted once

    def add_sleeper(self, name, **settings):
        # $0 of the shell is the token; the shell waits for its sleep.
        self.bus.add(name, "/bin/sh", ["-c", "sleep 60; :", self.token], **settings)

    def settle_down(self, name):
        """Wait until the job is down for good (no start or restart pending)."""
        def down():
            runtime = self.bus.runtime(name)
            return (runtime["state"] in ("down", "failed") and runtime["main-pid"] == 0
                    and runtime["next-start-at"] == 0)
        wait_until(down, "job %s to be down" % name)

    def count_leaks(self, iteration):
        """Processes of the job's command and zombies of jobd once the job is
        down: a stopped job's processes are reaped before "down", so any
        found (after a short grace for the kernel) are leaked."""
        jobd_pid = self.jobd.proc.pid

        def new_zombies():
            return [z for z in zombie_children(jobd_pid) if z not in self.zombies_seen]
        try:
            wait_until(lambda: not token_processes(self.token) and not new_zombies(),
                       "no process left", timeout=2)
        except AssertionError:
            pids = token_processes(self.token)
            # A leaked process killed now becomes a zombie of jobd: seen.
            zombies = new_zombies() + pids
            self.zombies_seen.update(zombies)
            self.leaked.append((iteration, pids, zombies))
            jobdharness.kill_pids(pids)

    def assertNoLeaks(self):
        self.assertEqual(self.leaked, [], "iterations with processes left "
                         "(iteration, live PIDs, zombie children of jobd)")


class PipelinedDBus(RaceCase):

    def test_start_then_stop_without_waiting(self):
        self.add_sleeper("piped", stop_timeout_ms=5000)
        conn = self.bus.conn
        for i in range(ITERATIONS):
            replies = {}

            def done(c, result, method):
                try:
                    c.call_finish(result)
                    replies[method] = "ok"
                except GLib.Error as exc:
                    replies[method] = remote_error(exc)[0]

            for method in ("Start", "Stop"):
                conn.call(None, MANAGER_PATH, MANAGER_IFACE, method,
                          GLib.Variant("(s)", ("piped",)), None, Gio.DBusCallFlags.NONE,
                          int(DEADLINE * 1000), None, done, method)
            self.bus.pump(lambda: len(replies) == 2, "Start and Stop replies")
            self.assertEqual(replies["Stop"], "ok", replies)
            self.settle_down("piped")
            self.count_leaks(i)
        self.assertNoLeaks()

    def test_restart_then_stop_without_waiting(self):
        self.add_sleeper("restarted", stop_timeout_ms=5000)
        self.bus.call("Start", "restarted")
        conn = self.bus.conn
        for i in range(ITERATIONS):
            replies = {}

            def done(c, result, method):
                try:
                    c.call_finish(result)
                    replies[method] = "ok"
                except GLib.Error as exc:
                    replies[method] = remote_error(exc)[0]

            for method in ("Restart", "Stop", "Start"):
                conn.call(None, MANAGER_PATH, MANAGER_IFACE, method,
                          GLib.Variant("(s)", ("restarted",)), None, Gio.DBusCallFlags.NONE,
                          int(DEADLINE * 1000), None, done, method)
            self.bus.pump(lambda: len(replies) == 3, "Restart, Stop and Start replies")
            # Whatever the outcome, at most one copy runs, and a stop leaves none.
            wait_until(lambda: len(token_processes(self.token)) <= 2, "at most one copy")
            try:
                self.bus.call("Stop", "restarted")
            except GLib.Error:
                pass
            self.settle_down("restarted")
            self.count_leaks(i)
            self.bus.call("Start", "restarted")
        self.assertNoLeaks()


class PipelinedMix(RaceCase):

    def test_start_kill_reload_stop_remove_without_waiting(self):
        conn = self.bus.conn
        for i in range(ITERATIONS):
            self.add_sleeper("mixed", stop_timeout_ms=5000)
            replies = {}

            def done(c, result, method):
                try:
                    c.call_finish(result)
                    replies[method] = "ok"
                except GLib.Error as exc:
                    replies[method] = remote_error(exc)[0]

            calls = [("Start", "(s)", ("mixed",)), ("Kill", "(si)", ("mixed", 15)),
                     ("Reload", "(s)", ("mixed",)), ("Stop", "(s)", ("mixed",)),
                     ("Remove", "(s)", ("mixed",))]
            for method, sig, args in calls:
                conn.call(None, MANAGER_PATH, MANAGER_IFACE, method, GLib.Variant(sig, args),
                          None, Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None, done, method)
            self.bus.pump(lambda: len(replies) == len(calls), "all replies")
            if replies["Remove"] != "ok":
                self.settle_down("mixed")
                self.bus.call("Remove", "mixed")
            self.count_leaks(i)
        self.assertNoLeaks()


def legacy_frame(command, params):
    payload = (command + " " + json.dumps(params)).encode()
    return struct.pack("<I", len(payload)) + payload


def legacy_read(sock):
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data
    (length,) = struct.unpack("<I", exact(4))
    return json.loads(exact(length).decode())


class PipelinedLegacy(RaceCase):

    def setUp(self):
        # The legacy listener on a free loopback port (the harness turns it off).
        self.port = jobdharness.free_port()
        super().setUp()

    def test_start_and_stop_on_two_connections(self):
        self.jobd.stop()
        self.jobd.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                               "Listen=127.0.0.1:%d\n" % self.port)
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: jobdharness.tcp_accepts(self.port, 1), "the legacy listener")
        self.add_sleeper("legacy", stop_timeout_ms=5000)
        for i in range(ITERATIONS):
            a = socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
            b = socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
            try:
                a.sendall(legacy_frame("START", {"jobname": "legacy"}))
                b.sendall(legacy_frame("STOP", {"jobname": "legacy"}))
                legacy_read(a)
                legacy_read(b)
            finally:
                a.close()
                b.close()
            try:
                self.bus.call("Stop", "legacy")   # when STOP came first
            except GLib.Error:
                pass
            self.settle_down("legacy")
            self.count_leaks(i)
        self.assertNoLeaks()


class TwoJobctls(RaceCase):

    def test_start_and_stop_from_two_processes(self):
        self.add_sleeper("ctl", stop_timeout_ms=5000)
        env = dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C")
        for i in range(ITERATIONS):
            procs = [subprocess.Popen([JOBCTL, verb, "ctl"], env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for verb in ("start", "stop")]
            for proc in procs:
                proc.wait(timeout=DEADLINE)
            try:
                self.bus.call("Stop", "ctl")      # when stop came first
            except GLib.Error:
                pass
            self.settle_down("ctl")
            self.count_leaks(i)
        self.assertNoLeaks()


class CrashLoop(RaceCase):

    def test_stop_of_crash_looping_job(self):
        # Exits at once and comes back at once: a Stop sent when a restart is
        # announced meets the restart timer, the spawn or the running copy.
        self.bus.add("looping", "/bin/sh", ["-c", "exit 1", self.token], restart="always",
                     restart_delay_ms=1, restart_delay_max_ms=1, start_limit_burst=1000000,
                     stop_timeout_ms=5000)
        for i in range(max(ITERATIONS, 100)):
            mark = self.bus.mark()
            self.bus.call("Start", "looping")
            # The n-th policy restart, then Stop at once.
            n = 1 + i % 3
            self.bus.pump(lambda: sum(1 for k, _p, pl in self.bus.events[mark:]
                                      if k == "JobStateChanged" and pl[0] == "looping"
                                      and pl[2] == "starting"
                                      and pl[3].get("reason") == "policy") >= n,
                          "%d policy restarts" % n)
            try:
                self.bus.call("Stop", "looping")
            except GLib.Error:
                pass
            self.settle_down("looping")
            self.count_leaks(i)
        self.assertNoLeaks()


if __name__ == "__main__":
    main()
