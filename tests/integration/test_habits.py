# SPDX-License-Identifier: MIT
"""jobctl keeps systemctl's habits: several names, globs and --all; start of
a running job and stop of a stopped one succeed; --wait; is-active and
is-failed; show -p/--value; list --state and patterns; --no-pager; add in
the caller's directory; update -- COMMAND. Real jobd, real jobctl.

The pager and the terminal's width are in test_terminal.py, translations in
test_translations.py."""
import json
import os
import shutil
import tempfile

from jobdtest import JobdTestCase, pid_alive, run_jobctl, main

SLEEPER = ("/bin/sleep", ["100"])
# Takes a while to stop: TERM starts a bounded one-second goodbye.
SLOW_STOP = "trap 'sleep 1; exit 0' TERM; echo ready; while :; do sleep 0.05; done"


class Habits(JobdTestCase):

    def ctl(self, *args, ok=True, **kw):
        proc = run_jobctl(args, address=self.jobd.address, **kw)
        if ok:
            self.assertEqual(proc.returncode, 0, "jobctl %s: %s%s"
                             % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def pid(self, name):
        pid = self.bus.runtime(name)["main-pid"]
        self.jobd.note_pid(pid)
        return pid

    def add_sleepers(self, *names):
        for name in names:
            self.bus.add(name, *SLEEPER)

    # -- already in the wanted state --

    def test_start_of_running_and_stop_of_stopped_succeed(self):
        pid, _ = self.add_and_start("a", *SLEEPER)
        proc = self.ctl("start", "a", ok=False)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        self.assertEqual(self.pid("a"), pid, "start of a running job must not restart it")
        self.stop_and_wait("a")
        proc = self.ctl("stop", "a", ok=False)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        self.assertEqual(self.bus.state("a"), "down")
        # A missing job is still an error.
        self.assertEqual(self.ctl("stop", "nope", ok=False).returncode, 4)

    # -- several names, globs, --all --

    def test_restart_glob_acts_on_every_match(self):
        self.add_sleepers("w-1", "w-2", "w-3", "other")
        for name in ("w-1", "w-2", "w-3", "other"):
            self.bus.call("Start", name)
        before = {name: self.pid(name) for name in ("w-1", "w-2", "w-3", "other")}
        self.ctl("restart", "w-*")
        for name in ("w-1", "w-2", "w-3"):
            self.assertEqual(self.bus.state(name), "up")
            self.assertNotEqual(self.pid(name), before[name], name)
            self.assertFalse(pid_alive(before[name]), name)
        self.assertEqual(self.pid("other"), before["other"], "a job the glob does not match")

    def test_several_names_each_failure_reported(self):
        self.add_sleepers("a", "b", "c")
        self.ctl("start", "a", "b", "c")
        for name in ("a", "b", "c"):
            self.assertEqual(self.bus.state(name), "up")
            self.pid(name)
        proc = self.ctl("stop", "a", "nope", "b", "zz*", "c", "--wait", ok=False)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        lines = proc.stderr.strip().split("\n")
        self.assertEqual(len(lines), 2, proc.stderr)
        self.assertEqual(sum("nope" in line for line in lines), 1, proc.stderr)
        self.assertEqual(sum("zz*" in line for line in lines), 1, proc.stderr)
        # Every job that exists was acted on all the same.
        for name in ("a", "b", "c"):
            self.assertEqual(self.bus.state(name), "down", name)

    def test_glob_without_match_is_an_error(self):
        self.add_sleepers("a")
        proc = self.ctl("start", "x-*", ok=False)
        self.assertEqual(proc.returncode, 4)
        self.assertIn("x-*", proc.stderr)
        self.assertEqual(self.bus.state("a"), "down")

    def test_all(self):
        self.add_sleepers("a", "b", "c")
        self.ctl("start", "--all")
        self.assertEqual(self.bus.call("StatusAll"), {"a": "up", "b": "up", "c": "up"})
        for name in ("a", "b", "c"):
            self.pid(name)
        self.ctl("kill", "--all", "-s", "CONT")
        self.ctl("stop", "--all", "--wait")
        self.assertEqual(self.bus.call("StatusAll"), {"a": "down", "b": "down", "c": "down"})
        self.ctl("remove", "--all")
        self.assertEqual(self.bus.call("StatusAll"), {})
        self.assertEqual(self.ctl("stop", "--all", "a", ok=False).returncode, 2)

    # -- --wait --

    def test_stop_wait_returns_once_down(self):
        self.add_and_start("slow", "/bin/sh", ["-c", SLOW_STOP])
        self.bus.wait_output("slow", lambda lines: "ready" in lines, "the TERM trap")
        self.ctl("stop", "--wait", "slow")
        # Asked right after jobctl returned, not waited for.
        self.assertEqual(self.bus.state("slow"), "down")
        self.add_and_start("slow2", "/bin/sh", ["-c", SLOW_STOP])
        self.ctl("restart", "--wait", "slow2", "slow")
        self.assertEqual((self.bus.state("slow"), self.bus.state("slow2")), ("up", "up"))
        self.pid("slow")
        self.pid("slow2")

    def test_wait_reports_a_job_that_ends_elsewhere(self):
        self.bus.add("ghost", "/no/such/program")
        proc = self.ctl("start", "--wait", "ghost", ok=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("failed", proc.stderr)
        self.assertIn("/no/such/program", proc.stderr)
        # Started while it stops (it ignores TERM: jobd kills it at the stop
        # timeout, a window far wider than jobctl's start-up): it ends down.
        self.add_and_start("deaf", "/bin/sh",
                           ["-c", "trap '' TERM; echo deaf; while :; do sleep 0.05; done"],
                           stop_timeout_ms=4000)
        self.bus.wait_output("deaf", lambda lines: "deaf" in lines, "TERM to be ignored")
        mark = self.bus.mark()
        self.bus.call("Stop", "deaf")
        self.bus.wait_state("deaf", "stopping", since=mark)
        proc = self.ctl("start", "--wait", "deaf", ok=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, r"^jobctl: job .deaf. is down: killed by signal 9\n$")
        self.assertEqual(self.bus.state("deaf"), "down")
        self.assertEqual(self.bus.wait_state("deaf", "down", since=mark)["exit-signal"], 9)

    def test_wait_loop(self):
        # The state is asked after the call and after every signal: whatever
        # the timing, jobctl returns with the job where it asked for it.
        self.bus.add("a", *SLEEPER)
        self.bus.add("b", "/bin/sh", ["-c", "trap 'exit 0' TERM; while :; do sleep 0.01; done"])
        for i in range(25):
            self.ctl("start", "--wait", "a", "b")
            self.assertEqual(self.bus.call("StatusAll"), {"a": "up", "b": "up"}, i)
            self.pid("a")
            self.pid("b")
            self.ctl("stop", "--wait", "a", "b")
            self.assertEqual(self.bus.call("StatusAll"), {"a": "down", "b": "down"}, i)

    # -- is-active, is-failed --

    def test_is_active_and_is_failed(self):
        self.add_and_start("up1", *SLEEPER)
        self.bus.add("down1", *SLEEPER)
        self.bus.add("ghost", "/no/such/program")
        self.bus.call_error("Start", "ghost")
        proc = self.ctl("is-active", "up1", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (0, "active\n"))
        proc = self.ctl("is-active", "down1", "ghost", "nope", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (3, "inactive\nfailed\ninactive\n"))
        proc = self.ctl("is-active", "down1", "up1", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (0, "inactive\nactive\n"))
        proc = self.ctl("is-active", "--quiet", "down1", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (3, ""))
        proc = self.ctl("is-failed", "ghost", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (0, "failed\n"))
        proc = self.ctl("is-failed", "up1", "down1", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (1, "active\ninactive\n"))
        proc = self.ctl("is-failed", "-q", "*", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (0, ""))
        # A glob: every match, in name order.
        proc = self.ctl("is-active", "*", ok=False)
        self.assertEqual((proc.returncode, proc.stdout), (0, "inactive\nfailed\nactive\n"))

    # -- show -p --

    def test_show_property(self):
        pid, _ = self.add_and_start("s", *SLEEPER, restart="on-failure",
                                    stop_timeout_ms=2500, working_directory="/tmp")
        out = self.ctl("show", "s", "-p", "MainPID,Restart", "-p", "WorkingDirectory").stdout
        self.assertEqual(out, "MainPID=%d\nRestart=on-failure\nWorkingDirectory=/tmp\n" % pid)
        # The D-Bus/JSON spelling, any case.
        out = self.ctl("show", "s", "-p", "main-pid", "--property=RESTART,state").stdout
        self.assertEqual(out, "MainPID=%d\nRestart=on-failure\nState=up\n" % pid)
        out = self.ctl("show", "s", "-p", "StopTimeout", "-p", "stop-timeout-ms",
                       "-p", "Args", "--value").stdout
        self.assertEqual(out, "2500\n2500\n100\n")
        data = json.loads(self.ctl("show", "s", "-p", "State", "--json").stdout)
        self.assertEqual(data, {"State": "up"})
        proc = self.ctl("show", "s", "-p", "Restart,NoSuchProperty", ok=False)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, "")
        self.assertIn("NoSuchProperty", proc.stderr)

    # -- list --

    def test_list_state_and_pattern(self):
        self.add_and_start("w-1", *SLEEPER)
        self.bus.add("w-2", *SLEEPER)
        self.add_and_start("x", *SLEEPER)
        self.bus.add("ghost", "/no/such/program")
        self.bus.call_error("Start", "ghost")

        def names(*args):
            return [row["name"] for row in json.loads(self.ctl("list", "--json", *args).stdout)]

        self.assertEqual(names("w-*"), ["w-1", "w-2"])
        self.assertEqual(names("--state=up"), ["w-1", "x"])
        self.assertEqual(names("--state=up", "w-*"), ["w-1"])
        self.assertEqual(names("--state", "failed,down"), ["ghost", "w-2"])
        self.assertEqual(names("--state=failed", "--state=inactive"), ["ghost", "w-2"])
        self.assertEqual(names("w-*", "gh*"), ["ghost", "w-1", "w-2"])
        out = self.ctl("list", "--state=up", "--no-legend").stdout
        self.assertEqual([line.split()[0] for line in out.splitlines()], ["w-1", "x"])
        proc = self.ctl("list", "--state=sleeping", ok=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("sleeping", proc.stderr)

    def test_no_pager_option(self):
        self.bus.add("a", *SLEEPER)
        for args in (("list", "--no-pager"), ("--no-pager", "list"),
                     ("show", "a", "--no-pager"), ("--no-pager", "status", "a")):
            proc = self.ctl(*args, ok=False)
            self.assertIn(proc.returncode, (0, 3), "%s: %s" % (args, proc.stderr))
            self.assertEqual(proc.stderr, "")

    # -- add, update --

    def test_add_runs_in_the_callers_directory(self):
        here = tempfile.mkdtemp(prefix="jobd-habits-", dir="/tmp")
        self.addCleanup(shutil.rmtree, here, True)
        with open(os.path.join(here, "artisan"), "w") as f:
            f.write("echo found artisan in $(pwd)\n")
        # A relative script, as `php artisan queue:work` has.
        self.ctl("add", "q", "--", "/bin/sh", "artisan", cwd=here)
        self.assertEqual(self.bus.call("GetSettings", "q").get("working-directory"), here)
        mark = self.bus.mark()
        self.bus.call("Start", "q")
        down = self.bus.wait_state("q", "down", since=mark)
        self.assertEqual(down.get("exit-code"), 0, self.bus.lines("q"))
        self.assertEqual(self.bus.lines("q"), ["found artisan in " + here])
        # An explicit --workdir wins.
        self.ctl("add", "r", "--workdir=/", "--", "/bin/true", cwd=here)
        self.assertEqual(self.bus.call("GetSettings", "r")["working-directory"], "/")

    def test_update_takes_the_command_line_after_dashes(self):
        self.ctl("add", "u", "--", "/bin/echo", "old")
        self.ctl("update", "u", "--", "/bin/sh", "-c", "echo new")
        s = self.bus.call("GetSettings", "u")
        self.assertEqual((s["command"], s["args"]), ("/bin/sh", ["-c", "echo new"]))
        # A program found in $PATH, as add takes it.
        self.ctl("update", "u", "--", "printf", "%s\\n", "x")
        s = self.bus.call("GetSettings", "u")
        self.assertEqual((s["command"], s["args"]), ("printf", ["%s\\n", "x"]))
        # Old invocations where the first word names no program: arguments only.
        self.ctl("update", "u", "--", "-v", "y")
        s = self.bus.call("GetSettings", "u")
        self.assertEqual((s["command"], s["args"]), ("printf", ["-v", "y"]))
        self.ctl("update", "u", "--arg=z")
        self.assertEqual(self.bus.call("GetSettings", "u")["args"], ["z"])


if __name__ == "__main__":
    main()
