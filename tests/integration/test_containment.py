# SPDX-License-Identifier: MIT
"""Stop stops the whole job on the direct backend, on both of its ways to
contain a job (JOBD_DIRECT_CONTAINMENT=cgroup: a cgroup of its own;
=subreaper: jobd as child subreaper and a tag in the job's environment):
a child that calls setsid() and ignores SIGTERM is counted by mem, gone
after stop, gone when the main process exits, and the same after jobd was
restarted and took the job back. Limits on the direct backend are enforced
(memory-max through the job's memory cgroup) or visibly not (runtime
"limits-not-enforced", jobctl add/update warning, jobctl show marker)."""
import os
import signal
import tempfile

from jobdtest import (JobdTestCase, jobdharness, pid_alive, proc_stat, run_jobctl,
                      wait_until, main)

from gi.repository import GLib

# Leaves the job's session, ignores SIGTERM, holds 64 MiB, says its PID.
ESCAPEE = r"""
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.setsid()
block = b"x" * (64 << 20)
print("escapee", os.getpid(), flush=True)
while True:
    time.sleep(3600)
"""
BIG = 64 << 20

# Starts the escapee from a subshell that exits at once, so the escapee is
# orphaned too (re-parented to jobd the subreaper, or to init); then the
# main process waits until $2 exists.
MAIN = '(/usr/bin/python3 -c "$1" &); while [ ! -e "$2" ]; do sleep 0.02; done'


class Containment:
    """Mixed into a JobdTestCase with MODE set."""

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
        self.escapees = []
        self.addCleanup(lambda: jobdharness.kill_pids([p for p in self.escapees if pid_alive(p)]))
        self.tmp = tempfile.mkdtemp(prefix="jobd-contain-")
        super().setUp()
        expected = {"cgroup": "a cgroup of their own", "subreaper": "child subreaper"}[self.MODE]
        self.assertIn(expected, self.jobd.stderr())

    def start_with_escapee(self, name):
        go = os.path.join(self.tmp, name + ".go")
        self.add_and_start(name, "/bin/sh", ["-c", MAIN, "contain-" + name, ESCAPEE, go],
                           stop_timeout_ms=10000)
        lines = self.bus.wait_output(name, lambda ls: any(l.startswith("escapee ") for l in ls),
                                     "the escapee's PID")
        pid = int([l for l in lines if l.startswith("escapee ")][0].split()[1])
        self.escapees.append(pid)
        st = proc_stat(pid)
        self.assertEqual(st[3], pid, "the escapee did not get a session of its own")
        if self.MODE == "cgroup":
            with open("/proc/%d/cgroup" % pid) as f:
                unified = [l for l in f.read().splitlines() if l.startswith("0::")]
            self.assertTrue(unified and unified[0].endswith("/job-" + name), unified)
        return pid, go

    def assertCountsEscapee(self, name):
        wait_until(lambda: self.bus.call("GetMemory", name)[0] >= BIG,
                   "mem of %s to count the escapee's 64 MiB" % name)

    def assertGone(self, pid):
        wait_until(lambda: not pid_alive(pid), "escapee %d to be gone" % pid)

    def restart_jobd(self):
        self.jobd.stop()
        self.jobd.start()
        self.bus = self.jobd.connect()

    # -- the tests --

    def test_setsid_child_counted_by_mem_and_gone_after_stop(self):
        pid, _go = self.start_with_escapee("escape")
        self.assertCountsEscapee("escape")
        self.stop_and_wait("escape")
        self.assertGone(pid)

    def test_setsid_child_gone_when_main_exits(self):
        pid, go = self.start_with_escapee("leaver")
        mark = self.bus.mark()
        open(go, "w").close()
        down = self.bus.wait_state("leaver", "down", since=mark)
        self.assertEqual(down["exit-code"], 0)
        self.assertGone(pid)

    def test_after_readoption_mem_stop_and_main_exit(self):
        stopped, _ = self.start_with_escapee("kept")
        exiting, go = self.start_with_escapee("ending")
        self.restart_jobd()
        for name in ("kept", "ending"):
            self.assertEqual(self.bus.runtime(name)["state"], "up", "not taken back: " + name)
        self.assertTrue(pid_alive(stopped) and pid_alive(exiting))
        self.assertCountsEscapee("kept")
        self.stop_and_wait("kept")
        self.assertGone(stopped)
        mark = self.bus.mark()
        open(go, "w").close()
        self.bus.wait_state("ending", "down", since=mark)
        self.assertGone(exiting)

    def test_kill_reaches_the_setsid_child(self):
        pid, _go = self.start_with_escapee("killed")
        mark = self.bus.mark()
        self.bus.call("Kill", "killed", signal.SIGKILL)
        self.bus.wait_state("killed", "down", since=mark)
        self.assertGone(pid)


class CgroupPath(Containment, JobdTestCase):
    MODE = "cgroup"

    def test_memory_max_enforced(self):
        code = 'import time; b = b"x" * (64 << 20); print("allocated", flush=True); time.sleep(3600)'
        mark = self.bus.mark()
        self.bus.add("hog", "/usr/bin/python3", ["-c", code], memory_max=16 << 20)
        self.assertNotIn("limits-not-enforced", self.bus.runtime("hog"))
        self.bus.call("Start", "hog")
        # Either the limit holds (killed) or the job got its 64 MiB.
        self.bus.pump(lambda: self.bus.find_state_change("hog", "down", mark)
                      or "allocated" in self.bus.lines("hog"),
                      "hog to be killed or to allocate", poll=0.05)
        self.assertNotIn("allocated", self.bus.lines("hog"))
        down = self.bus.wait_state("hog", "down", since=mark)
        self.assertEqual(down["exit-signal"], signal.SIGKILL)

    def test_probes_run_in_the_jobs_cgroup(self):
        # The readiness and health probes each start an escapee (a session
        # of its own, SIGTERM ignored) and say their cgroup; the job's
        # stop must take both escapees with it.
        cg_ready = os.path.join(self.tmp, "ready.cgroup")
        cg_health = os.path.join(self.tmp, "health.cgroup")
        probe = ('(/usr/bin/python3 -c "$ESCAPEE" &); '
                 'grep ^0:: /proc/self/cgroup > %s.tmp; mv %s.tmp %s')
        self.bus.add("probed", "/bin/sleep", ["100000"],
                     environment=GLib.Variant("a{ss}", {"ESCAPEE": ESCAPEE, "TOKEN": self.tmp}),
                     ready=GLib.Variant("s", "exec-probe:" + probe % ((cg_ready,) * 3)),
                     health=GLib.Variant("s", "exec:" + probe % ((cg_health,) * 3)),
                     health_interval_ms=GLib.Variant("u", 200),
                     stop_timeout_ms=GLib.Variant("u", 10000))
        mark = self.bus.mark()
        self.bus.call("Start", "probed")
        self.bus.wait_state("probed", "up", since=mark)
        wait_until(lambda: os.path.exists(cg_health), "a health probe to run")
        for path in (cg_ready, cg_health):
            with open(path) as f:
                text = f.read().strip()
                self.assertTrue(text.endswith("/job-probed"), (path, text))
        escapees = []
        self.addCleanup(self.kill_with_token, b"TOKEN=" + self.tmp.encode())

        def find_escapees():
            escapees[:] = [int(p) for p in os.listdir("/proc") if p.isdigit()
                           and self.is_escapee_of(int(p), "probed")]
            return len(escapees) >= 2
        wait_until(find_escapees, "the probes' escapees")
        self.escapees.extend(escapees)
        self.stop_and_wait("probed")
        for pid in escapees:
            self.assertGone(pid)

    @staticmethod
    def kill_with_token(token):
        """Whatever a broken build left outside the job."""
        pids = []
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if token in f.read().split(b"\0"):
                        pids.append(int(p))
            except OSError:
                pass
        jobdharness.kill_pids(pids)

    @staticmethod
    def is_escapee_of(pid, name):
        try:
            with open("/proc/%d/cgroup" % pid) as f:
                in_job = f.read().rstrip().endswith("/job-" + name)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return in_job and b"SIGTERM" in f.read()
        except OSError:
            return False

    def test_memory_max_changed_on_a_running_job(self):
        # Allocates 64 MiB once the file $1 exists; started under a 512 MiB limit.
        go = os.path.join(self.tmp, "grow.go")
        code = ('import os, sys, time\n'
                'print("waiting", flush=True)\n'
                'while not os.path.exists(sys.argv[1]): time.sleep(0.02)\n'
                'b = b"x" * (64 << 20)\n'
                'print("allocated", flush=True)\n'
                'time.sleep(3600)\n')
        mark = self.bus.mark()
        self.add_and_start("grow", "/usr/bin/python3", ["-c", code, go], memory_max=512 << 20)
        self.bus.wait_output("grow", lambda ls: "waiting" in ls, "the job to wait")
        # Lowered while it runs: applied at once, not from the next start.
        result = run_jobctl(["update", "grow", "--memory-max=16M"], address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        wait_until(lambda: any("grow" in l and "new limits applied" in l
                               for l in self.bus.call("GetServerLog", 0)),
                   "jobd to say the limit was applied")
        open(go, "w").close()
        self.bus.pump(lambda: self.bus.find_state_change("grow", "down", mark)
                      or "allocated" in self.bus.lines("grow"),
                      "grow to be killed or to allocate", poll=0.05)
        self.assertNotIn("allocated", self.bus.lines("grow"))
        down = self.bus.wait_state("grow", "down", since=mark)
        self.assertEqual(down["exit-signal"], signal.SIGKILL)

    def test_cpu_quota_not_enforced_is_said(self):
        result = run_jobctl(["add", "quota", "--cpu-quota=50", "--", "/bin/true"],
                            address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("cpu-quota not enforced (direct backend)", result.stderr)
        self.assertEqual(self.bus.runtime("quota")["limits-not-enforced"], ["cpu-quota"])
        show = run_jobctl(["show", "quota"], address=self.jobd.address)
        line = [l for l in show.stdout.splitlines() if "CPU quota" in l]
        self.assertTrue(line and "not enforced (direct backend)" in line[0], show.stdout)


class SubreaperPath(Containment, JobdTestCase):
    MODE = "subreaper"

    def test_no_zombie_of_an_orphan(self):
        pid, _go = self.start_with_escapee("orphan")
        self.assertEqual(proc_stat(pid)[1], self.jobd.proc.pid, "not re-parented to jobd")
        self.stop_and_wait("orphan")
        # Reaped by jobd, not left a zombie.
        wait_until(lambda: proc_stat(pid) is None, "the orphan to be reaped")

    def test_memory_max_not_enforced_is_said(self):
        result = run_jobctl(["add", "limited", "--memory-max=16M", "--", "/bin/true"],
                            address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("memory-max not enforced (direct backend)", result.stderr)
        self.assertEqual(self.bus.runtime("limited")["limits-not-enforced"], ["memory-max"])
        result = run_jobctl(["update", "limited", "--tasks-max=10"], address=self.jobd.address)
        self.assertIn("memory-max, tasks-max not enforced", result.stderr)
        show = run_jobctl(["show", "limited"], address=self.jobd.address)
        line = [l for l in show.stdout.splitlines() if "Memory limit" in l]
        self.assertTrue(line and "not enforced (direct backend)" in line[0], show.stdout)
        log = self.bus.call("GetServerLog", 0)
        self.assertTrue(any("limited" in l and "not enforced" in l for l in log), log)


if __name__ == "__main__":
    main()
