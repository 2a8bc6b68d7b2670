# SPDX-License-Identifier: MIT
"""cpu-usage-usec (issue 14): the CPU time of the whole job, in GetRuntime,
GetUsage, `jobctl show` ("CPU: 1.234s"), `jobctl list` (CPU column) and
--json, in both containment modes of the direct backend (a cgroup of its
own: cpu.stat; subreaper: the processes' utime+stime).

The machine is shared and loaded: a busy loop gets what the scheduler gives
it, so the job's figure is checked against the kernel's own count for the
busy process over the same window (read independently from /proc), and
against wall time only with a generous bound."""
import json
import os
import re
import time

import jobdharness
import jobdtest
from jobdtest import JobdTestCase, run_jobctl, wait_until, children_of, pid_alive, main

jobdtest.SETTING_TYPES.setdefault("instances", "u")

BUSY = "while :; do :; done"
# main → child (waits) → busy grandchild; main itself sleeps.
NESTED = "/bin/sh -c '/bin/sh -c \"%s\" & wait' & exec /bin/sleep 100000" % BUSY
# main → subshell that exits at once → busy grandchild, orphaned.
ORPHANED = "(/bin/sh -c '%s' &); exec /bin/sleep 100000" % BUSY
WINDOW = 2.0
TICK = os.sysconf("SC_CLK_TCK")


def own_cpu_usec(pid):
    """utime+stime of one process (not its children), from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000000 // TICK


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        for kid in children_of(todo.pop()):
            found.append(kid)
            todo.append(kid)
    return found


class CpuUsage:
    """Mixed into a JobdTestCase with MODE (JOBD_DIRECT_CONTAINMENT) set."""

    MODE = None

    def setUp(self):
        saved = os.environ.get("JOBD_DIRECT_CONTAINMENT")
        os.environ["JOBD_DIRECT_CONTAINMENT"] = self.MODE

        def restore():
            if saved is None:
                os.environ.pop("JOBD_DIRECT_CONTAINMENT", None)
            else:
                os.environ["JOBD_DIRECT_CONTAINMENT"] = saved
        self.addCleanup(restore)
        self.strays = []
        self.addCleanup(lambda: jobdharness.kill_pids([p for p in self.strays if pid_alive(p)]))
        super().setUp()

    def cpu(self, name):
        runtime = self.bus.runtime(name)
        self.assertIn("cpu-usage-usec", runtime, "GetRuntime has no cpu-usage-usec")
        return runtime["cpu-usage-usec"]

    def busy_process(self):
        """The PID of the job's busy grandchild: the shell running BUSY
        with this test's marker in its environment (the job's)."""
        marker = ("JOBD_TEST_ROOT=%s" % self.jobd.root).encode()

        def find():
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        cmd = f.read().split(b"\0")
                    with open("/proc/%s/environ" % entry, "rb") as f:
                        env = f.read().split(b"\0")
                except OSError:
                    continue
                if cmd[:3] == [b"/bin/sh", b"-c", BUSY.encode()] and marker in env:
                    return int(entry)
            return None
        pid = wait_until(find, "the busy grandchild to run")
        self.strays.append(pid)
        return pid

    def add_marked(self, name, script):
        return self.add_and_start(name, "/bin/sh", ["-c", script],
                                  environment={"JOBD_TEST_ROOT": self.jobd.root})[0]

    def measure(self, name, busy_pid):
        """(job's growth, busy process's own growth, wall) over WINDOW s."""
        job0, own0, t0 = self.cpu(name), own_cpu_usec(busy_pid), time.monotonic()
        self.bus.settle(WINDOW)
        job1, own1, t1 = self.cpu(name), own_cpu_usec(busy_pid), time.monotonic()
        return job1 - job0, own1 - own0, (t1 - t0) * 1e6

    def check_counts_busy(self, name, busy_pid):
        grew, own, wall = self.measure(name, busy_pid)
        # Everything the busy process got is in the job's figure (10 ms per
        # tick of slack each end), and at most what one core can give.
        self.assertGreaterEqual(grew, own - 30000,
                                "job grew %d µs, its busy process alone %d µs" % (grew, own))
        self.assertLessEqual(grew, wall * 1.15 + 30000,
                             "more than one core's worth: %d µs in %d µs" % (grew, wall))
        # ~1 s per second on a quiet machine; a loaded one gives less.
        self.assertGreater(grew, wall * 0.05,
                           "a busy loop got %d µs of CPU in %d µs" % (grew, wall))

    def test_busy_job_grows_with_wall_time(self):
        pid, _ = self.add_and_start("busy", "/bin/sh", ["-c", BUSY])
        self.check_counts_busy("busy", pid)
        usage = {row[0]: row for row in self.bus.call("GetUsage", [])}
        self.assertGreater(usage["busy"][1], 0)
        self.assertGreater(usage["busy"][2], 0, "GetUsage: no memory")

    def test_idle_job_stays_near_zero(self):
        self.add_and_start("idle", "/bin/sleep", ["100000"])
        self.bus.settle(1.0)
        self.assertLess(self.cpu("idle"), 50000)
        self.stop_and_wait("idle")
        self.assertEqual(self.cpu("idle"), 0, "a down job has no CPU time")

    def test_busy_grandchild_counts(self):
        pid = self.add_marked("nest", NESTED)
        busy = self.busy_process()
        self.assertIn(busy, descendants(pid))
        self.check_counts_busy("nest", busy)

    def test_orphaned_busy_grandchild_counts(self):
        pid = self.add_marked("orphan", ORPHANED)
        busy = self.busy_process()
        self.assertNotIn(busy, descendants(pid), "the grandchild is not orphaned")
        self.check_counts_busy("orphan", busy)
        self.stop_and_wait("orphan")
        wait_until(lambda: not pid_alive(busy), "the orphan to be stopped with its job")


    def test_instances_add_up(self):
        # instances 2: the job's figure is both instances' time.
        self.add_and_start("pair", "/bin/sh", ["-c", BUSY], instances=2)
        pids = wait_until(lambda: (lambda p: p if len(p) == 2 and all(p) else None)(
            [i["pid"] for i in self.bus.runtime("pair").get("instances", [])]),
            "both instances to run")
        for pid in pids:
            self.jobd.note_pid(pid)
        job0, t0 = self.cpu("pair"), time.monotonic()
        own0 = [own_cpu_usec(p) for p in pids]
        self.bus.settle(WINDOW)
        job1, t1 = self.cpu("pair"), time.monotonic()
        own = sum(own_cpu_usec(p) - o for p, o in zip(pids, own0))
        self.assertGreaterEqual(job1 - job0, own - 60000,
                                "job grew %d µs, its two instances %d µs" % (job1 - job0, own))
        self.assertLessEqual(job1 - job0, (t1 - t0) * 1e6 * 2.3 + 60000)


class CpuUsageCgroup(CpuUsage, JobdTestCase):
    MODE = "cgroup"


class CpuUsageSubreaper(CpuUsage, JobdTestCase):
    MODE = "subreaper"


class CpuShown(JobdTestCase):
    """jobctl show, list and --json carry the figure."""

    def ctl(self, *args):
        proc = run_jobctl(list(args), address=self.jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def test_show_list_and_json(self):
        pid, _ = self.add_and_start("spin", "/bin/sh", ["-c", BUSY])
        self.bus.add("off", "/bin/true")
        wait_until(lambda: self.bus.runtime("spin").get("cpu-usage-usec", 0) > 10000,
                   "spin to use some CPU")
        show = self.ctl("show", "spin")
        m = re.search(r"^ *CPU: (\d+)\.(\d{3})s$", show, re.M)
        self.assertIsNotNone(m, show)
        self.assertGreater(int(m.group(1)) * 1000 + int(m.group(2)), 0)
        self.assertNotIn("CPU:", self.ctl("show", "off"), "a stopped job shows no CPU")
        runtime = json.loads(self.ctl("show", "--json", "spin"))["runtime"]
        self.assertGreater(runtime["cpu-usage-usec"], 0)
        self.assertIn("CpuUsageUsec=", self.ctl("show", "-p", "CPUUsageUSec", "spin").replace(
            "CPUUsageUsec", "CpuUsageUsec"))

        lines = self.ctl("list").splitlines()
        header = lines[0].split()
        self.assertEqual(header[:5], ["NAME", "STATE", "PID", "CPU", "MEMORY"])
        rows = {l.split()[0]: l.split() for l in lines[1:]}
        self.assertRegex(rows["spin"][3], r"^\d+\.\d{3}s$")
        self.assertEqual(rows["off"][3], "-")
        data = {j["name"]: j for j in json.loads(self.ctl("list", "--json"))}
        self.assertGreater(data["spin"]["cpu-usage-usec"], 0)
        self.assertEqual(data["off"]["cpu-usage-usec"], 0)


if __name__ == "__main__":
    main()
