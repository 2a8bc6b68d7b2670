# SPDX-License-Identifier: MIT
"""An acknowledged change is on disk (issue 10): a read-only or full state
directory refuses changes with an error and loses none; a truncated or
garbage jobs.json leaves running jobs visible and managed; an import keeps
the runtime records of running jobs and is refused while a jobd holds the
state directory; a failed job stays failed and restart counters survive a
jobd restart; kill -9 at any moment keeps every acknowledged change.

The state directory is a small tmpfs mounted by the test (root only)."""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile

from jobdtest import (DEADLINE, ERR, JOBD, Jobd, JobdTestCase, jobdharness, main,
                      pid_alive, remote_error, run_jobctl, wait_until)

from gi.repository import Gio, GLib


def mount(*args):
    result = subprocess.run(["mount"] + list(args), capture_output=True, text=True,
                            timeout=DEADLINE)
    if result.returncode != 0:
        raise AssertionError("mount %s: %s" % (" ".join(args), result.stderr))


class DurabilityCase(JobdTestCase):
    """A fresh jobd per test, its state directory on a tmpfs of its own."""

    tmpfs_size = "4m"
    legacy = False

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("these tests mount a tmpfs: run them as root")
        self.jobd = Jobd(config_extra=self.config_extra)
        self.addCleanup(self.jobd.cleanup)
        if self.legacy:
            self.port = jobdharness.free_port()
            self.jobd.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                                   "Listen=127.0.0.1:%d\n" % self.port)
        os.makedirs(self.jobd.state_dir)
        mount("-t", "tmpfs", "-o", "size=%s,mode=0700" % self.tmpfs_size, "tmpfs",
              self.jobd.state_dir)
        self.addCleanup(subprocess.run, ["umount", "-l", self.jobd.state_dir], timeout=DEADLINE)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def note_running_pids(self):
        try:
            for row in self.bus.list_rows():
                self.jobd.note_pid(row[2])
        except GLib.Error:
            pass

    def restart_jobd(self):
        self.tearDown()                 # SIGTERM, checks a clean exit
        self.jobd.start()
        self.bus = self.jobd.connect()

    def crash_jobd(self):
        """kill -9 jobd (by PID) and start it again on the same folders."""
        self.note_running_pids()
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def names(self):
        return set(self.bus.call("StatusAll"))

    def state_file(self, name):
        return os.path.join(self.jobd.state_dir, name)


class ReadOnlyState(DurabilityCase):
    legacy = True

    def legacy_cmd(self, command, params):
        """One legacy frame on 127.0.0.1; the decoded answer."""
        payload = (command + " " + json.dumps(params)).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE) as s:
            s.sendall(struct.pack("<I", len(payload)) + payload)
            data = b""
            while len(data) < 4 or len(data) < 4 + struct.unpack("<I", data[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError("connection closed after %r" % data)
                data += chunk
        return json.loads(data[4:].decode())

    def test_read_only_state_refuses_changes_and_loses_none(self):
        self.bus.add("keep", "/bin/true", buffer_size=11)
        self.bus.add("sleeper", "/bin/sleep", ["1000"])
        self.restart_jobd()             # registry folded: jobd writes nothing now
        mount("-o", "remount,ro", self.jobd.state_dir)

        # A process the next jobd could not find is not left running.
        mark = self.bus.mark()
        name, message = self.bus.call_error("Start", "sleeper")
        self.assertEqual(name, ERR + "Failed", message)
        up = self.bus.wait_state("sleeper", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.bus.wait_state("sleeper", "down", since=mark)
        wait_until(lambda: not pid_alive(up["main-pid"]), "the unrecorded job to be stopped")

        name, message = self.bus.call_error("Add", "new", {"command": "/bin/true"})
        self.assertEqual(name, ERR + "Failed", message)
        self.assertIn("Read-only", message)
        name, message = self.bus.call_error("Update", "keep", {"buffer-size": 99})
        self.assertEqual(name, ERR + "Failed", message)
        name, message = self.bus.call_error("Remove", "keep")
        self.assertEqual(name, ERR + "Failed", message)
        result = run_jobctl(["add", "cli", "--", "/bin/true"], address=self.jobd.address)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("Read-only", result.stderr)
        for command, params in (("ADD", {"jobname": "tcp", "command": "/bin/true"}),
                                ("UPDATE", {"jobname": "keep", "buffersize": 99}),
                                ("DELETE", {"jobname": "keep"})):
            self.assertEqual(self.legacy_cmd(command, params)["code"], "FAILED", command)
        # What jobd shows is what is on disk.
        self.assertEqual(self.names(), {"keep", "sleeper"})
        self.assertEqual(self.bus.call("GetSettings", "keep")["buffer-size"], 11)

        mount("-o", "remount,rw", self.jobd.state_dir)
        self.bus.add("after", "/bin/true")
        self.assertEqual(self.legacy_cmd("ADD", {"jobname": "tcp-after", "command": "/bin/true"}),
                         {"code": "OK"})
        self.crash_jobd()
        self.assertEqual(self.names(), {"keep", "sleeper", "after", "tcp-after"})
        self.assertEqual(self.bus.call("GetSettings", "keep")["buffer-size"], 11)

    def test_started_on_read_only_state(self):
        self.bus.add("keep", "/bin/true")
        self.tearDown()
        mount("-o", "remount,ro", self.jobd.state_dir)
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.names(), {"keep"})
        name, message = self.bus.call_error("Add", "new", {"command": "/bin/true"})
        self.assertEqual(name, ERR + "Failed", message)
        self.assertEqual(self.names(), {"keep"})
        mount("-o", "remount,rw", self.jobd.state_dir)
        self.restart_jobd()
        self.assertEqual(self.names(), {"keep"})


class FullDisk(DurabilityCase):
    tmpfs_size = "256k"

    def fill(self):
        """Fill the file system up; returns the filler's path."""
        path = self.state_file("filler")
        with open(path, "wb", buffering=0) as f:
            for size in (65536, 4096, 512, 1):
                while True:
                    try:
                        f.write(b"\0" * size)
                    except OSError:
                        break
        return path

    def test_full_disk_every_acknowledged_add_survives(self):
        self.bus.add("base", "/bin/true")
        acknowledged = {"base"}
        refused = set()
        # Lines of several lengths, so failed appends end at many places.
        for rnd, pad in enumerate((200, 333, 517, 1000, 1500)):
            filler = self.fill()
            for i in range(24):
                name = "full-%d-%03d" % (rnd, i)
                try:
                    self.bus.add(name, "/bin/true", ["x" * pad])
                    acknowledged.add(name)
                except GLib.Error as exc:
                    err, message = remote_error(exc)
                    self.assertEqual(err, ERR + "Failed", message)
                    refused.add(name)
            # Memory is what is on disk: no refused job shows.
            self.assertEqual(self.names(), acknowledged)
            os.unlink(filler)
            # Space is back: a change after the failures is kept too.
            self.bus.add("after-%d" % rnd, "/bin/true", ["y" * pad])
            acknowledged.add("after-%d" % rnd)
            self.crash_jobd()
            kept = self.names()
            sys.stderr.write("full disk, round %d: %d acknowledged, %d refused, %d of the "
                             "acknowledged kept after kill -9\n"
                             % (rnd, len(acknowledged), len(refused),
                                len(acknowledged & kept)))
            self.assertEqual(kept - acknowledged, set(), "refused jobs came back")
            self.assertEqual(acknowledged - kept, set(), "acknowledged jobs lost")
        self.assertTrue(refused, "the disk never filled up")


class CorruptRegistry(DurabilityCase):
    """jobs.json truncated or garbage while jobs run: every job is back,
    the running ones up with their PIDs and under control."""

    def run_corrupt(self, damage, crash):
        pids = {}
        for name in ("r1", "r2", "r3"):
            pids[name], _ = self.add_and_start(name, "/bin/sleep", ["1000"])
        self.bus.add("idle", "/bin/true", buffer_size=42)
        self.stop_and_wait("r3")
        if crash:
            # Make sure the runtime records left jobd: the idle save runs
            # in the turn after the change; a StatusAll answers after it.
            self.bus.call("StatusAll")
            self.crash_jobd()
        self.tearDown()
        path = self.state_file("jobs.json")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2] if damage == "truncated" else b"\x00garbage\xff" * 50)
        self.jobd.start()
        self.bus = self.jobd.connect()

        self.assertEqual(self.bus.call("StatusAll"),
                         {"r1": "up", "r2": "up", "r3": "down", "idle": "down"},
                         self.jobd.stderr())
        self.assertIn("RECOVERED", self.jobd.stderr())
        self.assertEqual(self.bus.call("GetSettings", "idle")["buffer-size"], 42)
        for name in ("r1", "r2"):
            self.assertEqual(self.bus.runtime(name)["main-pid"], pids[name])
            # No second copy: it is running, and jobd knows it.
            err, _ = self.bus.call_error("Start", name)
            self.assertEqual(err, ERR + "AlreadyRunning")
            self.stop_and_wait(name)
            wait_until(lambda: not pid_alive(pids[name]), "job %s to be stopped" % name)
        aside = [n for n in os.listdir(self.jobd.state_dir) if ".corrupt-" in n]
        self.assertEqual(len(aside), 1, aside)

    def test_truncated_jobs_json(self):
        self.run_corrupt("truncated", crash=False)

    def test_garbage_jobs_json(self):
        self.run_corrupt("garbage", crash=False)

    def test_truncated_jobs_json_after_crash(self):
        self.run_corrupt("truncated", crash=True)

    def test_garbage_jobs_json_after_crash(self):
        self.run_corrupt("garbage", crash=True)

    def test_infinity_is_refused_not_written(self):
        self.bus.add("good", "/bin/true")
        settings = {"command": "/bin/true",
                    "extra": GLib.Variant("a{sv}", {"ratio": GLib.Variant("d", float("inf"))})}
        err, message = self.bus.call_error("Add", "bad", settings)
        self.assertTrue(err.startswith(ERR), err)
        settings["extra"] = GLib.Variant("a{sv}", {"ratio": GLib.Variant("d", float("nan"))})
        self.bus.call_error("Update", "good", settings)
        self.restart_jobd()
        self.assertEqual(self.names(), {"good"})
        self.assertNotIn("RECOVERED", self.jobd.stderr())


class Import(DurabilityCase):

    def old_data(self):
        data = tempfile.mkdtemp(prefix="jobd-old-data-", dir=self.jobd.root)
        with open(os.path.join(data, "config.json"), "w") as f:
            f.write('{"imported": {"command": "/bin/sleep", "params": "1000"}}')
        return data

    def run_import(self, *extra):
        argv = [JOBD, "--state-dir", self.jobd.state_dir, "--log-dir", self.jobd.log_dir,
                "--config", self.jobd.config] + list(extra)
        return subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE * 2,
                              env=jobdharness.jobd_env(), stdin=subprocess.DEVNULL)

    def test_import_keeps_running_jobs(self):
        pid, _ = self.add_and_start("runner", "/bin/sleep", ["1000"])
        self.bus.add("idle", "/bin/true")
        self.tearDown()
        result = self.run_import("--runtime-dir", self.jobd.runtime_dir,
                                 "--import-legacy", self.old_data())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.bus.call("StatusAll"),
                         {"runner": "up", "idle": "down", "imported": "down"})
        self.assertEqual(self.bus.runtime("runner")["main-pid"], pid)
        err, _ = self.bus.call_error("Start", "runner")
        self.assertEqual(err, ERR + "AlreadyRunning")
        self.stop_and_wait("runner")
        wait_until(lambda: not pid_alive(pid), "the job to be stopped")

    def test_import_refused_while_jobd_runs(self):
        self.add_and_start("runner", "/bin/sleep", ["1000"])
        other_run = tempfile.mkdtemp(prefix="jobd-other-run-", dir=self.jobd.root)
        result = self.run_import("--runtime-dir", other_run, "--import-legacy", self.old_data())
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("state directory", result.stderr)
        # jobd goes on with its registry; it was never replaced under it.
        self.bus.add("later", "/bin/true")
        self.crash_jobd()
        self.assertEqual(self.bus.call("StatusAll"), {"runner": "up", "later": "down"})


class FailedAndCounters(DurabilityCase):

    def test_failed_survives_restart(self):
        for how in ("SIGTERM", "kill -9"):
            name = "flap-%s" % how.replace(" ", "")
            runs = os.path.join(self.jobd.root, name + ".runs")
            mark = self.bus.mark()
            self.bus.add(name, "/bin/sh", ["-c", "echo run >> %s; exit 1" % runs],
                         restart="always", restart_delay_ms=1, restart_delay_max_ms=1,
                         start_limit_burst=2, start_limit_interval_ms=600000)
            self.bus.call("Start", name)
            self.bus.wait_state(name, "failed", since=mark)
            before = self.bus.runtime(name)
            self.assertEqual(before["restarts"], 2)
            with open(runs) as f:
                self.assertEqual(len(f.readlines()), 3)
            if how == "SIGTERM":
                self.restart_jobd()
            else:
                self.bus.call("StatusAll")
                self.crash_jobd()
            # It stays failed: nothing starts it behind the user's back.
            self.bus.settle(0.5)
            self.assertEqual(self.bus.state(name), "failed")
            after = self.bus.runtime(name)
            self.assertEqual(after["restarts"], 2)
            self.assertEqual(after["last-error"], before["last-error"])
            with open(runs) as f:
                self.assertEqual(len(f.readlines()), 3, "the failed job ran again")
            # A manual start is still possible.
            mark = self.bus.mark()
            self.bus.call("Start", name)
            self.bus.wait_state(name, "failed", since=mark)

    def test_restart_counters_survive_restart(self):
        counter = os.path.join(self.jobd.root, "count")
        script = ('n=$(cat %s 2>/dev/null || echo 0); echo $((n+1)) > %s; '
                  '[ "$n" -ge 2 ] && exit 0; exit 1' % (counter, counter))
        self.bus.add("twice", "/bin/sh", ["-c", script], restart="on-failure",
                     restart_delay_ms=1, restart_delay_max_ms=1)
        self.bus.call("Start", "twice")
        self.bus.pump(lambda: self.bus.state("twice") == "down"
                      and self.bus.runtime("twice")["restarts"] == 2,
                      "two restarts, then down", poll=0.05)
        reason = self.bus.runtime("twice")["last-restart-reason"]
        self.assertEqual(reason, "exit-code")
        self.restart_jobd()
        self.assertEqual(self.bus.runtime("twice")["restarts"], 2)
        self.bus.call("StatusAll")
        self.crash_jobd()
        rt = self.bus.runtime("twice")
        self.assertEqual((rt["state"], rt["restarts"], rt["last-restart-reason"]),
                         ("down", 2, "exit-code"))


class CrashLoop(DurabilityCase):
    """kill -9 at random moments while adds, updates and removes stream in
    (with compactions among them): every acknowledged change is there after
    the restart, no acknowledged remove is undone; every other round
    jobs.json is also truncated, so the previous generation is used."""

    ROUNDS = 60
    tmpfs_size = "16m"

    def test_kill_9_while_changing(self):
        rng = random.Random(int(os.environ.get("JOBD_TEST_SEED", "10")))
        big = "z" * 10000                # a compaction every few dozen changes
        lost = []
        for rnd in range(self.ROUNDS):
            ops = []
            for i in range(40):
                name = "c%d-%d" % (rnd, i)
                ops.append(("Add", name, {"command": GLib.Variant("s", "/bin/true"),
                                          "args": GLib.Variant("as", [big]),
                                          "buffer-size": GLib.Variant("u", 1)}))
                ops.append(("Update", name, {"buffer-size": GLib.Variant("u", 2 + i)}))
                if i >= 2:
                    ops.append(("Remove", "c%d-%d" % (rnd, i - 2), None))
            acked, inflight = self.stream(ops, rng.randint(1, len(ops) - 1))
            present, removed = {}, set()
            for method, name, settings in acked:
                if method == "Add":
                    present[name] = 1
                elif method == "Update":
                    present[name] = settings["buffer-size"].unpack()
                else:
                    del present[name]
                    removed.add(name)
            self.crash_jobd_only()
            if rnd % 2 == 1:
                path = self.state_file("jobs.json")
                with open(path, "rb") as f:
                    data = f.read()
                with open(path, "wb") as f:
                    f.write(data[:len(data) // 2])
            self.jobd.start()
            self.bus = self.jobd.connect()
            names = self.names()
            method, maybe, settings = inflight if inflight is not None else (None, None, None)
            for name, size in present.items():
                if name == maybe and method == "Remove":
                    continue
                if name not in names:
                    lost.append("round %d: %s lost" % (rnd, name))
                    continue
                got = self.bus.call("GetSettings", name)["buffer-size"]
                allowed = {size}
                if name == maybe and method == "Update":
                    allowed.add(settings["buffer-size"].unpack())
                if got not in allowed:
                    lost.append("round %d: %s has buffer-size %d, not %s" % (rnd, name, got, allowed))
            extra = names - set(present) - {maybe}
            if extra:
                lost.append("round %d: unacknowledged or removed jobs there: %s" % (rnd, extra))
            # The next round starts empty.
            for name in names:
                self.bus.call("Remove", name)
        self.assertEqual(lost, [])

    def test_compaction_from_state_changes(self):
        # Each state change of this job journals a 20 kB line: the journal
        # is folded into jobs.json from the runtime-record path many times.
        mark = self.bus.mark()
        self.bus.add("churn", "/bin/true", ["q" * 20000], restart="always",
                     restart_delay_ms=1, restart_delay_max_ms=1, start_limit_burst=60,
                     start_limit_interval_ms=600000)
        self.bus.call("Start", "churn")
        self.bus.wait_state("churn", "failed", since=mark, timeout=DEADLINE * 4)
        self.assertEqual(self.bus.runtime("churn")["restarts"], 60)
        self.bus.call("StatusAll")
        self.crash_jobd()
        rt = self.bus.runtime("churn")
        self.assertEqual((rt["state"], rt["restarts"]), ("failed", 60))

    def crash_jobd_only(self):
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)

    def stream(self, ops, want):
        """Send ops one after the other; kill -9 jobd as soon as want of them
        are acknowledged (the next one is then on its way). Returns the
        acknowledged ops and the one in flight (or None)."""
        acked = []
        state = {"inflight": None, "done": False}
        conn = self.bus.conn

        def send(i):
            if i >= len(ops):
                state["inflight"] = None
                state["done"] = True
                return
            method, name, settings = ops[i]
            args = GLib.Variant("(s)", (name,)) if settings is None else \
                GLib.Variant("(sa{sv})", (name, settings))
            state["inflight"] = ops[i]
            conn.call(None, "/org/jobd1", "org.jobd1.Manager", method, args, None,
                      Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None, on_reply, i)

        def on_reply(source, result, i):
            try:
                source.call_finish(result)
            except GLib.Error as exc:
                if not state["done"]:
                    state["done"] = True
                    state["error"] = exc.message
                return
            if state["done"]:
                return
            acked.append(ops[i])
            if len(acked) >= want:
                send(i + 1)
                # Crash with the next change on its way.
                self.jobd.proc.kill()
                state["done"] = True
                return
            send(i + 1)

        send(0)
        self.bus.pump(lambda: state["done"], "%d acknowledged changes" % want)
        self.assertNotIn("error", state, state.get("error"))
        if self.jobd.proc is not None and self.jobd.proc.poll() is None:
            self.jobd.proc.kill()
        return acked, state["inflight"]


if __name__ == "__main__":
    main()
