# SPDX-License-Identifier: MIT
"""memory-restart on the direct backend: a job whose memory (its whole
process tree) passes the setting is restarted gracefully with reason
`memory` in its history; a job below it never is; jobd measures only jobs
that set it (no wake-up for the others); a job over the limit at every start
ends failed by the start limit; a change on a running job applies at once;
after kill -9 of jobd the adopted job is watched again; memory-restart must
be below memory-max.

The test machine's direct backend has no cgroup v2 memory controller of its
own (hybrid layout), so these run the sampling path (MemoryRestartInterval=);
the kernel-event path (memory.high + memory.events) is tested where the
cgroup allows it (test_event_path_*, skipped otherwise), in
tests/system/test-memory-restart.py under the scope backend, and on a
stand-in file in tests/unit/test-memory-events.c."""
import os
import subprocess
import tempfile
import time

from jobdtest import (JobdTestCase, DEADLINE, run_jobctl, wait_until, main)
import jobdtest

MB = 1024 * 1024

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")
jobdtest.SETTING_TYPES.setdefault("memory-restart", "t")

# A job that grows past SIZE once the file GO exists (at once without it),
# then sleeps: python3 holding a bytearray it has touched (resident).
GROW = """
import os, sys, time
go, mb = sys.argv[1], int(sys.argv[2])
print("started", flush=True)
while go and not os.path.exists(go):
    time.sleep(0.02)
hog = bytearray(mb * 1024 * 1024)
for i in range(0, len(hog), 4096):
    hog[i] = 1
print("grown", flush=True)
while True:
    time.sleep(60)
"""

INTERVAL_MS = 100


def main_thread_switches(pid):
    """Voluntary context switches of jobd's main thread: its wake-ups."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches for %d" % pid)


class MemoryRestart(JobdTestCase):

    config_extra = "MemoryRestartInterval=%dms\n" % INTERVAL_MS

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="memrestart-", dir=self.jobd.root)

    def add_grower(self, name, mb, go="", **settings):
        self.bus.add(name, "/usr/bin/python3", ["-c", GROW, go, str(mb)], **settings)

    def start(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        up = self.bus.wait_state(name, "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        return up

    def history(self, name):
        return self.bus.call("GetHistory", name, 0)

    def wait_memory_restart(self, name, restarts_before=0, timeout=DEADLINE):
        """Wait until jobd restarted the job for memory (GetRuntime's
        restarts and last-restart-reason; there is no event of its own)."""
        def done():
            rt = self.bus.runtime(name)
            return (rt["restarts"] > restarts_before
                    and rt["last-restart-reason"] == "memory") and rt
        return self.bus.pump(done, "job %s restarted for memory" % name, timeout, poll=0.05)

    def assert_memory_run(self, name, limit):
        runs = self.history(name)
        self.assertGreaterEqual(len(runs), 2, runs)
        newest, ended = runs[0], runs[1]
        self.assertEqual(newest["reason"], "memory")
        # The trigger is the figure that passed the limit, in bytes.
        self.assertGreaterEqual(int(newest["trigger"]), limit)
        self.assertEqual(ended["stop-cause"], "memory")
        out = run_jobctl(["history", name], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("memory", out.stdout)

    # ---- the restart ----

    def test_sampled_job_past_its_limit_is_restarted_with_reason_memory(self):
        go = os.path.join(self.tmp, "go")
        self.add_grower("hog", 96, go, **{"memory-restart": 48 * MB})
        self.start("hog")
        self.bus.wait_output("hog", lambda ls: "started" in ls, "started")
        mark = self.bus.mark()
        open(go, "w").close()
        self.wait_memory_restart("hog")
        self.assert_memory_run("hog", 48 * MB)
        rt = self.bus.runtime("hog")
        self.assertEqual(rt["last-restart-reason"], "memory")
        self.assertGreaterEqual(rt["restarts"], 1)
        self.assertIn("passed memory-restart", self.jobd.stderr())

    def test_whole_process_tree_counts(self):
        # The main process is a small shell; its child grows: PM2 would
        # look at the shell only.
        go = os.path.join(self.tmp, "go")
        script = "/usr/bin/python3 -c '%s' %s 96 & wait" % (GROW.replace("'", '"'), go)
        self.bus.add("tree", "/bin/sh", ["-c", script], **{"memory-restart": 48 * MB})
        self.start("tree")
        self.bus.wait_output("tree", lambda ls: "started" in ls, "started")
        mark = self.bus.mark()
        open(go, "w").close()
        self.wait_memory_restart("tree")
        self.assert_memory_run("tree", 48 * MB)

    def test_job_below_its_limit_is_never_restarted(self):
        # Positive control in the same jobd: the same program over a lower
        # limit is restarted, so the window below is long enough to see one.
        self.add_grower("small", 16, "", **{"memory-restart": 256 * MB})
        self.add_grower("big", 64, "", **{"memory-restart": 32 * MB})
        self.start("small")
        self.bus.wait_output("small", lambda ls: "grown" in ls, "grown")
        mark = self.bus.mark()
        self.start("big")
        self.wait_memory_restart("big")
        # Ten more intervals for "small".
        self.bus.settle(10 * INTERVAL_MS / 1000.0)
        self.assertEqual(self.bus.runtime("small")["restarts"], 0)
        self.assertEqual([r["reason"] for r in self.history("small")], ["manual"])

    def test_change_on_a_running_job_applies_at_once(self):
        self.add_grower("live", 64, "")
        self.start("live")
        self.bus.wait_output("live", lambda ls: "grown" in ls, "grown")
        mark = self.bus.mark()
        out = run_jobctl(["update", "live", "--memory-restart=32M"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.wait_memory_restart("live")
        self.assert_memory_run("live", 32 * MB)

    # ---- faults ----

    def test_over_the_limit_at_every_start_ends_failed(self):
        self.add_grower("loop", 64, "", **{
            "memory-restart": 32 * MB, "start-limit-burst": 3,
            "start-limit-interval-ms": 600000})
        mark = self.bus.mark()
        self.bus.call("Start", "loop")
        self.bus.wait_state("loop", "failed", since=mark)
        runs = self.history("loop")
        self.assertEqual([r["reason"] for r in runs], ["memory"] * 3 + ["manual"])
        rt = self.bus.runtime("loop")
        self.assertEqual(rt["restarts"], 3)
        # Failed stays failed: no further run comes.
        self.bus.settle(10 * INTERVAL_MS / 1000.0)
        self.assertEqual(self.bus.state("loop"), "failed")
        self.assertEqual(len(self.history("loop")), 4)

    def test_watch_resumes_on_a_job_adopted_after_kill_9(self):
        go = os.path.join(self.tmp, "go")
        self.add_grower("adopt", 96, go, **{"memory-restart": 48 * MB})
        up = self.start("adopt")
        self.bus.wait_output("adopt", lambda ls: "started" in ls, "started")
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)
        self.jobd.start()
        self.bus = self.jobd.connect()
        rt = self.bus.runtime("adopt")
        self.assertEqual(rt["main-pid"], up["main-pid"], "the job was not adopted")
        mark = self.bus.mark()
        open(go, "w").close()
        self.wait_memory_restart("adopt")
        self.assert_memory_run("adopt", 48 * MB)

    # ---- cost ----

    def test_no_timer_for_jobs_without_the_setting(self):
        for i in range(5):
            self.bus.add("idle%d" % i, "/bin/sleep", ["1000"])
            self.start("idle%d" % i)
        pid = self.jobd.proc.pid
        window = 20 * INTERVAL_MS / 1000.0

        def wakeups():
            self.bus.settle(0.2)
            before = main_thread_switches(pid)
            time.sleep(window)
            return main_thread_switches(pid) - before

        idle = wakeups()
        # Positive control: one job with the setting puts the timer on.
        out = run_jobctl(["update", "idle0", "--memory-restart=1G"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        sampling = wakeups()
        self.assertGreaterEqual(sampling, 10, "the sampling timer did not run")
        self.assertLessEqual(idle, 3, "jobd woke up %d times in %.1fs for jobs without "
                             "memory-restart" % (idle, window))
        # And off again.
        out = run_jobctl(["update", "idle0", "--memory-restart=0"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertLessEqual(wakeups(), 3)

    # ---- the kernel-event path (where the direct backend's cgroup has memory) ----

    def job_cgroup(self, name):
        """The direct backend's cgroup directory of a running job, or None."""
        pid = self.bus.runtime(name)["main-pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                if line.startswith("0::"):
                    rel = line.strip()[3:]
                    for mount in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                        d = mount + rel
                        if os.path.isfile(os.path.join(d, "cgroup.procs")):
                            return d
        return None

    def test_event_path_told_by_the_kernel_and_no_timer(self):
        go = os.path.join(self.tmp, "go")
        self.add_grower("ev", 96, go, **{"memory-restart": 48 * MB})
        self.start("ev")
        d = self.job_cgroup("ev")
        if d is None or not os.path.exists(os.path.join(d, "memory.events")):
            self.skipTest("the direct backend's job cgroup has no v2 memory controller here "
                          "(%s); the event path is checked by tests/system/"
                          "test-memory-restart.py and tests/unit/test-memory-events.c" % d)
        with open(os.path.join(d, "memory.high")) as f:
            self.assertEqual(int(f.read()), 48 * MB)
        self.bus.wait_output("ev", lambda ls: "started" in ls, "started")
        # Idle with the setting on the event path: no timer.
        pid = self.jobd.proc.pid
        self.bus.settle(0.2)
        before = main_thread_switches(pid)
        time.sleep(20 * INTERVAL_MS / 1000.0)
        self.assertLessEqual(main_thread_switches(pid) - before, 3)
        open(go, "w").close()
        self.wait_memory_restart("ev")
        self.assert_memory_run("ev", 0)
        self.assertIn("memory.events: high", self.jobd.stderr())

    # ---- the setting ----

    def test_setting_must_be_below_memory_max(self):
        self.assertError("InvalidArgs", "Add", "bad",
                         jobdtest.settings_variant({"command": "/bin/true",
                                                    "memory-max": 64 * MB,
                                                    "memory-restart": 64 * MB}),
                         contains="memory-restart: must be below memory-max")
        out = run_jobctl(["add", "ok", "--memory-max=64M", "--memory-restart=48M", "--",
                          "/bin/true"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = run_jobctl(["update", "ok", "--memory-max=32M"], address=self.jobd.address)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("memory-restart", out.stderr)
        show = run_jobctl(["show", "ok"], address=self.jobd.address)
        self.assertIn("48.0M", show.stdout)
        self.assertEqual(self.bus.get_all("ok")["Settings"]["memory-restart"], 48 * MB)

    def test_job_file_and_persistence_round_trip(self):
        path = os.path.join(self.tmp, "web.job")
        with open(path, "w") as f:
            f.write("[Job]\nCommand=/bin/sleep 100\nMemoryRestart=300M\n")
        out = run_jobctl(["apply", path], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.bus.get_all("web")["Settings"]["memory-restart"], 300 * MB)
        self.tearDown()
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.bus.get_all("web")["Settings"]["memory-restart"], 300 * MB)
        out = run_jobctl(["cat", "web"], address=self.jobd.address)
        self.assertIn("MemoryRestart=300M", out.stdout)


class MemoryRestartSubreaper(MemoryRestart):
    """The same measurements where jobd has no cgroup to read: the job is
    its session and tagged processes (JOBD_DIRECT_CONTAINMENT=subreaper),
    summed from one /proc scan per tick."""

    def setUp(self):
        saved = os.environ.get("JOBD_DIRECT_CONTAINMENT")
        os.environ["JOBD_DIRECT_CONTAINMENT"] = "subreaper"

        def restore():
            if saved is None:
                os.environ.pop("JOBD_DIRECT_CONTAINMENT", None)
            else:
                os.environ["JOBD_DIRECT_CONTAINMENT"] = saved
        self.addCleanup(restore)
        super().setUp()
        self.assertIn("child subreaper", self.jobd.stderr())

    # What does not depend on how the job's processes are found runs once.
    test_job_below_its_limit_is_never_restarted = None
    test_change_on_a_running_job_applies_at_once = None
    test_no_timer_for_jobs_without_the_setting = None
    test_setting_must_be_below_memory_max = None
    test_job_file_and_persistence_round_trip = None
    test_event_path_told_by_the_kernel_and_no_timer = None


if __name__ == "__main__":
    main()
