# SPDX-License-Identifier: MIT
"""Job files (issue 14): `jobctl apply` / `export` / `cat` against a live jobd,
JobsDirectory= at start and on ReloadConfig, and jobd.conf's unknown keys and
booleans."""
import json
import os
import re
import shutil
import tempfile

from gi.repository import Gio, GLib

from jobdtest import (Jobd, JobdTestCase, MANAGER_IFACE, MANAGER_PATH, DEADLINE,
                      main, run_jobctl, wait_until)

SLEEPER = "/bin/sleep 1000"


def write_job(folder, name, body):
    path = os.path.join(folder, name + ".job")
    with open(path, "w") as f:
        f.write("[Job]\n" + body)
    return path


def without_source(settings):
    return {k: v for k, v in settings.items() if k != "source-file"}


class JobFileCase(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="jobd-jobs-", dir=self.jobd.root)

    def ctl(self, *args, ok=True):
        proc = run_jobctl(args, address=self.jobd.address, timeout=DEADLINE * 3)
        if ok:
            self.assertEqual(proc.returncode, 0, "jobctl %s: %s%s"
                             % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def pids(self):
        rows = self.bus.list_rows()
        for row in rows:
            self.jobd.note_pid(row[2])
        return {row[0]: row[2] for row in rows}

    def registry(self, bus=None):
        bus = bus or self.bus
        return {row[0]: bus.call("GetSettings", row[0]) for row in bus.list_rows()}


class Apply(JobFileCase):

    def ten_jobs(self):
        for i in range(10):
            write_job(self.dir, "w%d" % i,
                      "Command=/bin/sleep %d\nAutoStart=yes\nRestart=on-failure\n" % (1000 + i))

    def test_ten_jobs_edited_only_the_changed_one_restarts(self):
        self.ten_jobs()
        out = self.ctl("apply", "--wait", self.dir).stdout
        self.assertIn("10 added, 0 updated, 0 removed, 0 unchanged", out)
        before = self.pids()
        self.assertEqual(len(before), 10)
        self.assertTrue(all(pid > 0 for pid in before.values()), before)

        # w3: the command (needs a restart); w5: the restart policy (does not).
        write_job(self.dir, "w3", "Command=/bin/sleep 2003\nAutoStart=yes\nRestart=on-failure\n")
        write_job(self.dir, "w5", "Command=/bin/sleep 1005\nAutoStart=yes\nRestart=always\n")
        out = self.ctl("apply", "--wait", self.dir).stdout
        self.assertIn("w3: updated (Command), restarted", out)
        self.assertRegex(out, r"(?m)^w5: updated \(Restart\)$")
        self.assertIn("0 added, 2 updated, 0 removed, 8 unchanged", out)
        after = self.pids()
        for name, pid in before.items():
            if name == "w3":
                self.assertNotEqual(after[name], pid, "w3 was not restarted")
            else:
                self.assertEqual(after[name], pid, "%s restarted though nothing it "
                                 "needs changed" % name)
        self.assertEqual(self.bus.call("GetSettings", "w3")["args"], ["2003"])
        self.assertEqual(self.bus.call("GetSettings", "w5")["restart"], "always")
        self.assertEqual(open("/proc/%d/cmdline" % after["w3"]).read().split("\0")[1], "2003")

        # Unchanged files: a third apply changes nothing at all.
        out = self.ctl("apply", self.dir).stdout
        self.assertIn("0 added, 0 updated, 0 removed, 10 unchanged", out)
        self.assertEqual(self.pids(), after)

    def test_dry_run_changes_nothing(self):
        self.ten_jobs()
        out = self.ctl("apply", "--dry-run", self.dir).stdout
        self.assertIn("w0: would add and start", out)
        self.assertEqual(self.bus.list_rows(), [])

        self.ctl("apply", "--wait", self.dir)
        settings, pids = self.registry(), self.pids()
        write_job(self.dir, "w1", "Command=/bin/sleep 5\nAutoStart=yes\n")
        os.unlink(os.path.join(self.dir, "w2.job"))
        out = self.ctl("apply", "--dry-run", "--prune", self.dir).stdout
        self.assertIn("w1: would update (Command, Restart) and restart", out)
        self.assertIn("w2: would stop and remove", out)
        plan = json.loads(self.ctl("apply", "--dry-run", "--prune", "--json", self.dir).stdout)
        self.assertEqual(plan, [
            {"name": "w1", "action": "update", "changed": ["Command", "Restart"],
             "restart": True, "start": False, "dry-run": True,
             "settings": {"args": ["5"], "restart": "no"},
             "previous": {"args": ["1001"], "restart": "on-failure"}},
            {"name": "w2", "action": "remove", "changed": [], "restart": False,
             "start": False, "dry-run": True}])
        self.assertEqual(self.registry(), settings)
        self.assertEqual(self.pids(), pids)

    def test_prune_removes_only_jobs_from_these_files(self):
        other = tempfile.mkdtemp(prefix="jobd-other-", dir=self.jobd.root)
        for name in ("a", "b", "c"):
            write_job(self.dir, name, "Command=%s\nAutoStart=yes\n" % SLEEPER)
        write_job(other, "elsewhere", "Command=%s\n" % SLEEPER)
        self.ctl("apply", "--wait", self.dir)
        self.ctl("apply", other)
        self.ctl("add", "manual", "--", "/bin/sleep", "1000")

        os.unlink(os.path.join(self.dir, "b.job"))
        out = self.ctl("apply", self.dir).stdout
        self.assertNotIn("b:", out)
        self.assertIn("b", self.pids(), "without --prune nothing is removed")

        out = self.ctl("apply", "--prune", self.dir).stdout
        self.assertIn("b: stopped, removed", out)
        self.assertEqual(sorted(self.pids()), ["a", "c", "elsewhere", "manual"])

    def test_requirements_in_other_files_are_applied_first_and_pruned_last(self):
        # Files are read in name order: a-web's requirement comes later.
        write_job(self.dir, "a-web", "Command=%s\nRequires=m-db z-cache:started\n"
                  "AutoStart=yes\n" % SLEEPER)
        write_job(self.dir, "m-db", "Command=%s\nAfter=z-cache\n" % SLEEPER)
        write_job(self.dir, "z-cache", "Command=%s\n" % SLEEPER)
        self.ctl("apply", "--wait", self.dir)
        self.assertEqual(sorted(self.pids()), ["a-web", "m-db", "z-cache"])
        self.assertEqual(self.bus.state("a-web"), "up")
        # A new requirement added by the same apply as the update naming it.
        write_job(self.dir, "b-queue", "Command=%s\n" % SLEEPER)
        write_job(self.dir, "a-web", "Command=%s\nRequires=m-db z-cache:started b-queue\n"
                  "AutoStart=yes\n" % SLEEPER)
        self.ctl("apply", self.dir)
        self.assertEqual(self.bus.call("GetSettings", "a-web")["requires"],
                         ["m-db", "z-cache:started", "b-queue"])
        # Pruned together: the jobs that require go first.
        for name in ("a-web", "b-queue", "m-db", "z-cache"):
            os.unlink(os.path.join(self.dir, name + ".job"))
        write_job(self.dir, "other", "Command=%s\n" % SLEEPER)
        self.ctl("apply", "--prune", self.dir)
        self.assertEqual(sorted(self.pids()), ["other"])

    def test_export_then_apply_to_an_empty_jobd_gives_the_same_registry(self):
        write_job(self.dir, "files",
                  'Command=/bin/sh -c "echo \\"quoted\\" \'single\' back\\\\slash" arg\\ttab\n'
                  'Environment="GREETING=hello world" EMPTY=\n'
                  "Environment=\"QUOTE=it's\"\n"
                  "WorkingDirectory=/tmp\nRestart=always\nRestartDelay=1500ms\n"
                  "RestartDelayMax=1h 1min 1s\nStopSignal=INT\nReloadSignal=USR1\n"
                  "StopTimeout=90\nMemoryMax=96M\nCPUQuota=150%\nTasksMax=42\n"
                  "WriteLog=true\nBufferSize=33\nStartLimitBurst=9\nX-team=ops\n")
        self.ctl("apply", self.dir)
        self.ctl("add", "manual", "--env=LINE=one\ttwo", "--restart=on-failure",
                 "--memory-max=1000", "--params=ignored", "--", "/bin/echo", "a b", "", "c\nd")
        exported = os.path.join(self.jobd.root, "exported")
        self.ctl("export", "-o", exported)
        self.assertEqual(sorted(os.listdir(exported)), ["files.job", "manual.job"])
        # cat prints what export writes.
        self.assertEqual(self.ctl("cat", "manual").stdout,
                         open(os.path.join(exported, "manual.job")).read())

        second = Jobd()
        self.addCleanup(second.cleanup)
        second.start()
        bus2 = second.connect()
        proc = run_jobctl(["apply", exported], address=second.address)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        mine = {k: without_source(v) for k, v in self.registry().items()}
        theirs = {k: without_source(v) for k, v in self.registry(bus2).items()}
        second.stop()
        self.assertEqual(mine, theirs)
        self.assertEqual(mine["files"]["args"],
                         ["-c", "echo \"quoted\" 'single' back\\slash", "arg\ttab"])
        self.assertEqual(mine["files"]["environment"],
                         {"GREETING": "hello world", "EMPTY": "", "QUOTE": "it's"})
        self.assertEqual(mine["manual"]["args"], ["a b", "", "c\nd"])

    def test_wait_says_whether_every_job_came_up(self):
        write_job(self.dir, "good", "Command=%s\nAutoStart=yes\n" % SLEEPER)
        proc = self.ctl("apply", "--wait", self.dir)
        self.assertEqual(self.bus.call("Status", "good"), "up")
        self.pids()

        # A job that cannot come up: exit 1, naming it; the others are fine.
        write_job(self.dir, "bad", "Command=/nonexistent/program\nAutoStart=yes\n")
        proc = self.ctl("apply", "--wait", "--timeout=10s", self.dir, ok=False)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("jobctl: bad: ", proc.stderr)
        self.assertEqual(self.bus.call("Status", "bad"), "failed")
        self.assertEqual(self.bus.call("Status", "good"), "up")

    def test_errors_name_file_line_and_key(self):
        write_job(self.dir, "fine", "Command=%s\n" % SLEEPER)
        bad = write_job(self.dir, "bad", "Command=/bin/true\n\nMemoryMax=12Q\n")
        proc = self.ctl("apply", self.dir, ok=False)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("%s:4: MemoryMax: " % bad, proc.stderr)
        self.assertIn("12Q", proc.stderr)
        self.assertEqual(self.bus.list_rows(), [], "nothing applies when a file is wrong")

        write_job(self.dir, "bad", 'Command=/bin/echo "open\n')
        proc = self.ctl("apply", self.dir, ok=False)
        self.assertIn("%s:2: Command: unterminated \" quote" % bad, proc.stderr)
        write_job(self.dir, "bad", "Command=/bin/true\nAutoStart=maybe\n")
        proc = self.ctl("apply", self.dir, ok=False)
        self.assertIn("%s:3: AutoStart: " % bad, proc.stderr)

        write_job(self.dir, "bad", "Command=/bin/true\nAutoStart=off\nRestrat=always\n")
        proc = self.ctl("apply", self.dir)
        self.assertIn("%s:4: Unknown key name 'Restrat' in section 'Job', ignoring." % bad,
                      proc.stderr)
        self.assertEqual(sorted(self.pids()), ["bad", "fine"])


class JobsDirectory(JobFileCase):
    """jobd applies JobsDirectory= at start and on ReloadConfig."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="jobd-jobsd-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)
        write_job(self.dir, "up", "Command=%s\nAutoStart=yes\n" % SLEEPER)
        write_job(self.dir, "idle", "Command=%s\nRestart=always\n" % SLEEPER)
        write_job(self.dir, "broken", "Command=/bin/true\nTasksMax=lots\n")
        self.config_extra = "JobsDirectory=%s\n" % self.dir
        JobdTestCase.setUp(self)

    def reload(self):
        self.bus.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "ReloadConfig", None, None,
                                Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def test_applied_at_start_and_on_reload(self):
        wait_until(lambda: self.bus.call("Status", "up") == "up", "job up to start")
        self.assertEqual(sorted(self.pids()), ["idle", "up"])
        self.assertIn("%s/broken.job:3: TasksMax: " % self.dir, self.jobd.stderr())
        pid_up = self.pids()["up"]

        # A manual job, a changed file (no restart needed), a new one, a gone one,
        # the broken one fixed.
        self.bus.add("manual", "/bin/sleep", ["1000"])
        write_job(self.dir, "up", "Command=%s\nAutoStart=yes\nStopSignal=INT\n" % SLEEPER)
        write_job(self.dir, "fresh", "Command=%s\nAutoStart=yes\n" % SLEEPER)
        write_job(self.dir, "broken", "Command=/bin/true\nTasksMax=7\n")
        os.unlink(os.path.join(self.dir, "idle.job"))
        self.reload()
        wait_until(lambda: sorted(self.pids()) == ["broken", "fresh", "manual", "up"]
                   and self.bus.call("Status", "fresh") == "up",
                   "the registry to follow the folder")
        self.assertEqual(self.pids()["up"], pid_up, "a stop signal change restarted the job")
        self.assertEqual(self.bus.call("GetSettings", "up")["stop-signal"], "SIGINT")
        self.assertEqual(self.bus.call("GetSettings", "broken")["tasks-max"], 7)

        # The command changed: the running job restarts.
        write_job(self.dir, "up", "Command=/bin/sleep 2000\nAutoStart=yes\n")
        self.reload()
        wait_until(lambda: self.pids()["up"] not in (0, pid_up)
                   and self.bus.call("Status", "up") == "up", "job up to restart")
        self.assertIn("job up updated from %s/up.job (Command, StopSignal), restarting it"
                      % self.dir, self.jobd.stderr())

    def test_requirements_in_later_files_and_pruning_in_order(self):
        # "a-web" sorts before the job it requires; one stopped, one running pair.
        write_job(self.dir, "a-web", "Command=%s\nRequires=m-db\nAutoStart=yes\n" % SLEEPER)
        write_job(self.dir, "m-db", "Command=%s\n" % SLEEPER)
        write_job(self.dir, "b-report", "Command=/bin/true\nAfter=n-data\n")
        write_job(self.dir, "n-data", "Command=/bin/true\n")
        self.reload()
        wait_until(lambda: "a-web" in self.pids() and self.bus.call("Status", "a-web") == "up",
                   "a-web added and started after m-db")
        self.assertIn("b-report", self.pids())
        self.assertEqual(self.bus.call("Status", "m-db"), "up")
        for name in ("a-web", "m-db", "b-report", "n-data"):
            os.unlink(os.path.join(self.dir, name + ".job"))
        self.reload()
        wait_until(lambda: not {"a-web", "m-db", "b-report", "n-data"} & set(self.pids()),
                   "the four jobs pruned")
        self.assertNotIn("cannot", self.jobd.stderr())


class DaemonConfigUnknownKey(JobdTestCase):
    """jobd.conf: an unknown key is warned about with file and line."""

    config_extra = "Frobnicate=1\n"

    def test_unknown_key_is_warned_with_file_and_line(self):
        self.assertRegex(self.jobd.stderr(),
                         re.escape(self.jobd.config) + r":3: Unknown key name 'Frobnicate' "
                         r"in section 'Daemon', ignoring\.")
        self.assertNotIn("Unknown key name 'Backend'", self.jobd.stderr())


class DaemonConfigBooleans(JobdTestCase):
    """jobd.conf: booleans take yes/no and on/off as systemd's do."""

    config_extra = "StopJobsOnExit=yes\nRestoreJobs=off\n"

    def test_yes_and_off_are_booleans(self):
        # StopJobsOnExit=yes took: jobd stops the job when it exits.
        self.bus.add("s", "/bin/sleep", ["1000"])
        self.bus.call("Start", "s")
        pid = self.bus.wait_state("s", "up")["main-pid"]
        self.jobd.note_pid(pid)
        self.jobd.stop()
        wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                   open("/proc/%d/stat" % pid).read().split()[2] == "Z",
                   "the job to be stopped with jobd")
        self.bus = self.jobd.start().connect()

    def test_legacy_enable_off(self):
        other = Jobd()
        self.addCleanup(other.cleanup)
        other.write_config("[Daemon]\nBackend=direct\n[Legacy]\nEnable=off\n")
        other.start()
        self.assertNotIn("legacy protocol listening", other.stderr())
        other.stop()


if __name__ == "__main__":
    main()
