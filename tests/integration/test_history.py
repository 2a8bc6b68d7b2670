# SPDX-License-Identifier: MIT
"""Run history: every run is recorded (reason, end, exit code or signal, why
jobd stopped it, peak memory, line counts), kept to history-size runs,
persisted across jobd restarts and crashes, removed with its job; a corrupt
file is moved aside, a full disk is said once; runtime-max-ms stops a run;
JobStateChanged carries the exit status on every change after an exit."""
import json
import os
import signal
import subprocess

from jobdtest import (JobdTestCase, DEADLINE, pid_alive, proc_stat, group_members,
                      run_jobctl, wait_until, main)
import jobdtest

MB = 1024 * 1024


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM for PID %d" % pid)

# What this file adds to the harness's tables (kept here, not in the shared
# harness, so other branches' edits there do not collide).
jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")
jobdtest.SETTING_TYPES.setdefault("runtime-max-ms", "u")
jobdtest.SETTING_TYPES.setdefault("history-size", "u")


class History(JobdTestCase):

    def add(self, name, script, **settings):
        s = {"command": "/bin/sh", "args": ["-c", script]}
        s.update(settings)
        self.bus.call("Add", name, s)

    def start(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        up = self.bus.wait_state(name, "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        return mark, up

    def run_once(self, name):
        mark, _ = self.start(name)
        return self.bus.wait_state(name, "down", since=mark)

    def history(self, name, max_runs=0):
        return self.bus.call("GetHistory", name, max_runs)

    def history_file(self, name):
        return os.path.join(self.jobd.state_dir, "history", name + ".jsonl")

    def restart_jobd(self):
        self.tearDown()
        self.jobd.start()
        self.bus = self.jobd.connect()

    def crash_jobd(self):
        """kill -9 jobd (by PID) and start it again on the same folders."""
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)
        self.jobd.start()
        self.bus = self.jobd.connect()

    # ---- what a record says ----

    def test_exit_code_lines_and_manual_caller(self):
        self.add("ec", "echo one; echo two; echo err >&2; exit 3")
        down = self.run_once("ec")
        self.assertEqual(down["exit-code"], 3)
        runs = self.history("ec")
        self.assertEqual(len(runs), 1)
        r = runs[0]
        self.assertEqual(r["run"], 1)
        self.assertEqual(r["reason"], "manual")
        self.assertEqual(r["caller-uid"], 0)
        self.assertEqual((r["result"], r["exit-code"], r["exit-signal"]), ("exit-code", 3, 0))
        self.assertNotIn("stop-cause", r)
        self.assertFalse(r["killed"])
        self.assertEqual((r["stdout-lines"], r["stderr-lines"]), (2, 1))
        self.assertGreater(r["start"], 0)
        self.assertGreater(r["end"], r["start"])
        # A second run is numbered on and comes first (newest first).
        self.run_once("ec")
        self.assertEqual([r["run"] for r in self.history("ec")], [2, 1])
        self.assertEqual([r["run"] for r in self.history("ec", 1)], [2])

    def test_signal_sent_with_kill(self):
        self.add("sig", "exec sleep 100")
        mark, _ = self.start("sig")
        self.bus.call("Kill", "sig", signal.SIGUSR1)
        self.bus.wait_state("sig", "down", since=mark)
        r = self.history("sig")[0]
        self.assertEqual((r["result"], r["exit-signal"], r["exit-code"]),
                         ("signal", signal.SIGUSR1, -1))
        self.assertNotIn("stop-cause", r)

    def test_stop_request(self):
        self.add("st", "exec sleep 100")
        self.start("st")
        self.stop_and_wait("st")
        r = self.history("st")[0]
        self.assertEqual((r["result"], r["exit-signal"]), ("signal", signal.SIGTERM))
        self.assertEqual(r["stop-cause"], "stop-request")
        self.assertFalse(r["killed"])

    def test_stop_timeout_then_sigkill(self):
        self.add("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done",
                 **{"stop-timeout-ms": 200})
        self.start("stubborn")
        self.bus.wait_output("stubborn", lambda ls: "ready" in ls, "ready")
        down = self.stop_and_wait("stubborn")
        self.assertEqual(down["exit-signal"], signal.SIGKILL)
        r = self.history("stubborn")[0]
        self.assertEqual((r["result"], r["exit-signal"]), ("signal", signal.SIGKILL))
        self.assertEqual(r["stop-cause"], "stop-request")
        self.assertTrue(r["killed"])

    def test_policy_restarts_are_runs_with_reason_policy(self):
        self.add("pol", "exit 1", restart="on-failure", **{
            "restart-delay-ms": 50, "start-limit-burst": 2, "start-limit-interval-ms": 60000})
        mark = self.bus.mark()
        self.bus.call("Start", "pol")
        self.bus.wait_state("pol", "failed", since=mark)
        runs = self.history("pol")
        self.assertEqual([r["run"] for r in runs], [3, 2, 1])
        self.assertEqual([r["reason"] for r in runs], ["policy", "policy", "manual"])
        self.assertTrue(all(r["exit-code"] == 1 and r["result"] == "exit-code" for r in runs))

    def test_state_changes_after_an_exit_carry_exit_status(self):
        # Fails on the old code: the automatic restart ("starting" with
        # restart-reason) and "failed" (start limit) did not say how the
        # run ended.
        self.add("st2", "exit 7", restart="always", **{
            "restart-delay-ms": 50, "start-limit-burst": 1, "start-limit-interval-ms": 60000})
        mark = self.bus.mark()
        self.bus.call("Start", "st2")
        failed = self.bus.wait_state("st2", "failed", since=mark)
        self.assertEqual((failed["exit-code"], failed["exit-signal"]), (7, 0))
        self.assertEqual(failed["reason"], "start-limit")
        restarting = [d for _old, new, d in self.bus.transitions("st2", since=mark)
                      if new == "starting" and "restart-reason" in d]
        self.assertTrue(restarting, self.bus.describe_events())
        for p in restarting:
            self.assertEqual((p["exit-code"], p["exit-signal"]), (7, 0))
        # The same after a signal.
        self.add("st3", "kill -USR2 $$", restart="always", **{
            "restart-delay-ms": 50, "start-limit-burst": 1, "start-limit-interval-ms": 60000})
        mark = self.bus.mark()
        self.bus.call("Start", "st3")
        failed = self.bus.wait_state("st3", "failed", since=mark)
        self.assertEqual((failed["exit-code"], failed["exit-signal"]), (-1, signal.SIGUSR2))

    def test_runtime_max_stops_and_is_not_restarted(self):
        self.add("long", "exec sleep 100", restart="always", **{
            "runtime-max-ms": 300, "restart-delay-ms": 50})
        mark, up = self.start("long")
        down = self.bus.wait_state("long", "down", since=mark)
        self.assertEqual(down["reason"], "runtime-max")
        self.assertEqual(down["stop-cause"], "runtime-max")
        self.assertEqual(down["exit-signal"], signal.SIGTERM)
        stopping = [d for _old, new, d in self.bus.transitions("long", since=mark)
                    if new == "stopping"]
        self.assertEqual(stopping[0]["reason"], "runtime-max")
        r = self.history("long")[0]
        self.assertEqual((r["result"], r["stop-cause"]), ("signal", "runtime-max"))
        self.assertGreaterEqual(r["end"] - r["start"], 300 * 1000)
        wait_until(lambda: not pid_alive(up["main-pid"]), "the job to be gone")
        # Not restarted by its policy: stays down.
        mark = self.bus.mark()
        self.bus.settle(0.4)
        self.assertEqual(self.bus.transitions("long", since=mark), [])
        self.assertEqual(self.bus.state("long"), "down")
        out = run_jobctl(["history", "long"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("runtime-max", out.stdout)

    def test_runtime_max_with_stop_timeout_kills(self):
        self.add("stub", "trap '' TERM; echo ready; while :; do sleep 0.05; done", **{
            "runtime-max-ms": 300, "stop-timeout-ms": 200})
        mark, _ = self.start("stub")
        down = self.bus.wait_state("stub", "down", since=mark)
        self.assertEqual(down["exit-signal"], signal.SIGKILL)
        r = self.history("stub")[0]
        self.assertEqual(r["stop-cause"], "runtime-max")
        self.assertTrue(r["killed"])

    def test_peak_memory_of_a_job_that_allocates(self):
        # 50 MB touched page by page, then asleep; nobody asks for its
        # memory while it runs (the stop takes a reading, the exit the
        # kernel's rusage).
        script = ("import sys, time\n"
                  "b = bytearray(50 * 1024 * 1024)\n"
                  "for i in range(0, len(b), 4096): b[i] = 1\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(100)\n")
        self.bus.call("Add", "mem", {"command": "/usr/bin/python3", "args": ["-c", script]})
        self.start("mem")
        self.bus.wait_output("mem", lambda ls: "ready" in ls, "ready")
        self.stop_and_wait("mem")
        r = self.history("mem")[0]
        self.assertGreater(r["peak-memory"], 50 * MB, r)
        self.assertLess(r["peak-memory"], 1024 * MB, r)
        self.assertIn(r["peak-memory-source"], ("rusage", "sampled", "memory.peak",
                                                "memory.max_usage_in_bytes"))
        # A run that ends by itself: the kernel's figure for the reaped child
        # (trusted above jobd's own peak only: see the next test), so the
        # job outgrows jobd, whose peak is larger under ASan.
        size = vm_hwm(self.jobd.proc.pid) + 40 * MB
        self.bus.call("Add", "mem2", {"command": "/usr/bin/python3", "args": [
            "-c", "b = bytearray(%d)\nfor i in range(0, len(b), 4096): b[i] = 1\n" % size]})
        self.run_once("mem2")
        r = self.history("mem2")[0]
        self.assertGreater(r["peak-memory"], size, r)
        self.assertLess(r["peak-memory"], size + 1024 * MB, r)

    def test_peak_memory_of_a_small_job_is_not_jobds_own(self):
        # A child forked (or cloned with CLONE_VM) from jobd starts life in
        # jobd's address space; the kernel's ru_maxrss keeps that high-water
        # mark across exec, so a 1 MB /bin/true would read as big as jobd.
        # Whatever source the figure comes from, it must be the job's own.
        self.bus.call("Add", "tiny", {"command": "/bin/true"})
        for _ in range(3):
            self.run_once("tiny")
        jobd_hwm = vm_hwm(self.jobd.proc.pid)
        for r in self.history("tiny"):
            if "peak-memory" in r and r["peak-memory"] > 0:
                self.assertLess(r["peak-memory"], min(jobd_hwm, 8 * MB),
                                "%s; jobd's VmHWM is %d" % (r, jobd_hwm))

    def test_spawn_error_is_a_run(self):
        self.bus.call("Add", "nope", {"command": "/nonexistent/program"})
        mark = self.bus.mark()
        try:
            self.bus.call("Start", "nope")
        except Exception:
            pass
        self.bus.wait_state("nope", "failed", since=mark)
        r = self.history("nope")[0]
        self.assertEqual(r["result"], "spawn-error")
        self.assertTrue(r["error"])

    # ---- keeping it ----

    def test_history_survives_a_jobd_restart(self):
        self.add("keep", "echo hi; exit 0")
        self.run_once("keep")
        self.run_once("keep")
        before = self.history("keep")
        self.restart_jobd()
        self.assertEqual(self.history("keep"), before)
        self.run_once("keep")
        self.assertEqual([r["run"] for r in self.history("keep")], [3, 2, 1])

    def test_run_adopted_after_kill9_keeps_its_record(self):
        self.add("adopt", "exec sleep 100")
        _, up = self.start("adopt")
        self.crash_jobd()
        self.bus.pump(lambda: self.bus.state("adopt") == "up", "the job adopted")
        self.assertEqual(self.bus.runtime("adopt")["main-pid"], up["main-pid"])
        runs = self.history("adopt")
        self.assertEqual(len(runs), 1)
        self.assertEqual((runs[0]["run"], runs[0]["end"], runs[0]["result"]), (1, 0, ""))
        self.stop_and_wait("adopt")
        runs = self.history("adopt")
        self.assertEqual(len(runs), 1)
        self.assertGreater(runs[0]["end"], runs[0]["start"])
        self.assertEqual(runs[0]["stop-cause"], "stop-request")

    def test_run_that_ended_while_jobd_was_down_is_unknown(self):
        self.add("lost", "exec sleep 100")
        _, up = self.start("lost")
        pid = up["main-pid"]
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: proc_stat(pid) is None, "the job's process to be gone")
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.bus.pump(lambda: self.history("lost")[0]["result"] == "unknown",
                      "the lost run to be unknown")
        r = self.history("lost")[0]
        self.assertEqual(r["run"], 1)
        self.assertGreater(r["end"], 0)
        # The next run is numbered on.
        mark, _ = self.start("lost")
        self.stop_and_wait("lost")
        self.assertEqual([r["run"] for r in self.history("lost")], [2, 1])

    def test_open_run_the_registry_never_heard_of_is_unknown(self):
        # jobd killed after the run's first line and before the registry
        # kept the process: the next jobd has nothing to adopt, the run
        # must not stay "running" for ever.
        # (A job with no runtime record at all: never started as far as the
        # registry knows.)
        self.add("ghost", "exit 0")
        self.tearDown()
        os.makedirs(os.path.dirname(self.history_file("ghost")), exist_ok=True)
        with open(self.history_file("ghost"), "a") as f:
            f.write(json.dumps({"run": 1, "start": 1700000000000000, "reason": "manual"}) + "\n")
        self.jobd.start()
        self.bus = self.jobd.connect()
        runs = self.history("ghost")
        self.assertEqual([r["run"] for r in runs], [1])
        self.assertEqual(runs[0]["result"], "unknown")
        self.assertGreater(runs[0]["end"], 0)

    def test_kill9_at_random_moments_keeps_history_consistent(self):
        # A job restarting every few ms, jobd killed -9 at random moments
        # (20 times, seeded): afterwards every run number appears once, in
        # order, every run is closed once the job is stopped, and nothing
        # had to be moved aside.
        import random
        rng = random.Random(12)
        self.add("churn", "sleep 0.0$(($$ % 5)); exit 0", restart="always", **{
            "restart-delay-ms": 5, "restart-delay-max-ms": 5,
            "start-limit-interval-ms": 0})
        self.bus.call("Start", "churn")
        for i in range(20):
            self.bus.settle(rng.uniform(0.05, 0.3))
            self.crash_jobd()
            runs = self.history("churn")
            numbers = [r["run"] for r in runs]
            self.assertEqual(numbers, sorted(set(numbers), reverse=True), "iteration %d" % i)
            self.assertLessEqual(sum(1 for r in runs if r["end"] == 0), 1, runs[:3])
        self.bus.pump(lambda: self.bus.state("churn") in ("up", "starting"), "churn active")
        mark = self.bus.mark()
        self.bus.call("Stop", "churn")
        self.bus.wait_state("churn", "down", since=mark)
        runs = self.history("churn")
        self.assertGreaterEqual(len(runs), 20)
        self.assertTrue(all(r["end"] >= r["start"] > 0 and r["result"] for r in runs),
                        [r for r in runs if not r["result"]][:3])
        self.assertFalse(os.path.exists(self.history_file("churn") + ".corrupt"))
        self.assertNotIn("unreadable line", self.jobd.stderr())

    def test_history_size_bounds_memory_and_disk(self):
        self.add("many", "exit 0", **{"history-size": 5})
        for _ in range(30):
            self.run_once("many")
        self.assertEqual([r["run"] for r in self.history("many")], [30, 29, 28, 27, 26])
        with open(self.history_file("many")) as f:
            lines = f.readlines()
        # Rewritten once past twice the kept runs (at least 8 kept on disk).
        self.assertLessEqual(len(lines), 16)
        self.restart_jobd()
        self.assertEqual([r["run"] for r in self.history("many")], [30, 29, 28, 27, 26])
        self.bus.call("Update", "many", {"history-size": 0})
        self.run_once("many")
        self.assertEqual(self.history("many"), [])
        self.assertEqual(self.bus.call("GetSettings", "many")["history-size"], 0)
        self.assertError("InvalidArgs", "Update", "many", {"history-size": 10001})

    def test_removed_with_the_job(self):
        self.add("rm", "exit 0")
        self.run_once("rm")
        self.assertTrue(os.path.exists(self.history_file("rm")))
        self.bus.call("Remove", "rm")
        self.assertFalse(os.path.exists(self.history_file("rm")))
        self.add("rm", "exit 0")
        self.assertEqual(self.history("rm"), [])

    def test_corrupt_and_truncated_file_moved_aside(self):
        self.add("bad", "exit 0")
        for _ in range(3):
            self.run_once("bad")
        self.tearDown()
        path = self.history_file("bad")
        with open(path) as f:
            lines = f.readlines()
        # Garbage in the middle, a line cut short at the end.
        lines.insert(2, "{not json\n")
        with open(path, "w") as f:
            f.write("".join(lines) + lines[-1][:20])
        self.jobd.start()
        self.bus = self.jobd.connect()
        runs = self.history("bad")
        self.assertEqual([r["run"] for r in runs], [3, 2, 1])
        self.assertTrue(os.path.exists(path + ".corrupt"))
        self.assertIn("unreadable line", self.jobd.stderr())
        self.run_once("bad")
        self.assertEqual([r["run"] for r in self.history("bad")], [4, 3, 2, 1])
        # What is on disk now reads back whole.
        self.restart_jobd()
        self.assertEqual([r["run"] for r in self.history("bad")], [4, 3, 2, 1])

    def test_unreadable_file_does_not_block_start_up(self):
        self.add("junk", "exit 0")
        self.tearDown()
        os.makedirs(os.path.join(self.jobd.state_dir, "history"), exist_ok=True)
        with open(self.history_file("junk"), "wb") as f:
            f.write(b"\x00\xff garbage \n" * 100 + b"{\"run\": 1")
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.history("junk"), [])
        self.run_once("junk")
        self.assertEqual([r["run"] for r in self.history("junk")], [1])

    def test_full_disk_logged_once_and_job_keeps_running(self):
        hist = os.path.join(self.jobd.state_dir, "history")
        os.makedirs(hist, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", hist],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "cannot mount a tmpfs: " + r.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", hist])
        filler = os.path.join(hist, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for _ in range(1000):        # 64 KiB at most: bounded
                os.write(fd, b"x" * 1024)
        except OSError:
            pass
        finally:
            os.close(fd)
        self.add("busy", "echo x; exit 0", restart="always", **{
            "restart-delay-ms": 20, "restart-delay-max-ms": 20, "start-limit-interval-ms": 0})
        self.bus.call("Start", "busy")
        self.bus.pump(lambda: self.bus.runtime("busy")["restarts"] >= 8, "8 restarts")
        self.assertEqual(self.jobd.stderr().count("run history: cannot write"), 1,
                         self.jobd.stderr())
        self.assertGreaterEqual(len(self.history("busy")), 8)
        # Space again: the next write succeeds and brings the file up to date.
        os.unlink(filler)
        self.bus.pump(lambda: "writing works again" in self.jobd.stderr(), "writing again")
        mark = self.bus.mark()
        self.bus.call("Stop", "busy")
        self.bus.wait_state("busy", "down", since=mark)
        with open(self.history_file("busy")) as f:
            on_disk = [json.loads(line)["run"] for line in f]
        self.assertGreaterEqual(len(set(on_disk)), 8)
        self.assertEqual(self.jobd.stderr().count("run history: cannot write"), 1)

    # ---- jobctl ----

    def test_jobctl_history_table_and_json(self):
        self.add("cli", "echo a; exit 2")
        self.run_once("cli")
        self.run_once("cli")
        out = run_jobctl(["history", "cli"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = out.stdout.strip().splitlines()
        self.assertEqual(len(rows), 3)
        self.assertIn("RUN", rows[0])
        self.assertIn("PEAK MEM", rows[0])
        self.assertTrue(rows[1].split()[0] == "1" and rows[2].split()[0] == "2", rows)
        self.assertIn("exit 2", rows[2])
        self.assertIn("manual", rows[2])
        out = run_jobctl(["history", "cli", "-n", "1", "--json"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        data = json.loads(out.stdout)
        self.assertEqual(len(data), 1)
        self.assertEqual((data[0]["run"], data[0]["exit-code"], data[0]["stdout-lines"]), (2, 2, 1))
        out = run_jobctl(["history", "nosuch"], address=self.jobd.address)
        self.assertEqual(out.returncode, 4)

    def test_runtime_max_option_of_jobctl(self):
        out = run_jobctl(["add", "rt", "--runtime-max=1m 30s", "--history-size=7", "--",
                          "/bin/true"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        s = self.bus.call("GetSettings", "rt")
        self.assertEqual((s["runtime-max-ms"], s["history-size"]), (90000, 7))
        self.restart_jobd()
        s = self.bus.call("GetSettings", "rt")
        self.assertEqual((s["runtime-max-ms"], s["history-size"]), (90000, 7))
        show = run_jobctl(["show", "rt"], address=self.jobd.address)
        self.assertRegex(show.stdout, r"(?m)^\s*Runtime limit: 1m 30s$")

    def test_show_says_none_for_no_time_limit(self):
        # 0 means "no limit" for these durations: show says so, not "0".
        out = run_jobctl(["add", "free", "--ready-timeout=0", "--", "/bin/true"],
                         address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        show = run_jobctl(["show", "free"], address=self.jobd.address)
        self.assertEqual(show.returncode, 0, show.stderr)
        for label in ("Runtime limit", "Ready timeout", "Watchdog"):
            self.assertRegex(show.stdout, r"(?m)^\s*%s: none$" % label)


if __name__ == "__main__":
    main()
