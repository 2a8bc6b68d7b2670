# SPDX-License-Identifier: MIT
"""jobctl against a live jobd: every verb, exit codes, --json, errors."""
import json
import os
import select
import signal
import subprocess
import time

from jobdtest import (JobdTestCase, JOBCTL, pid_alive, run_jobctl,
                      DEADLINE, main)

TICKER = "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done"


class Jobctl(JobdTestCase):

    def ctl(self, *args, ok=True):
        proc = run_jobctl(args, address=self.jobd.address)
        if ok:
            self.assertEqual(proc.returncode, 0, "jobctl %s: %s%s"
                             % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def assertOneLineError(self, proc, code, text=None):
        self.assertEqual(proc.returncode, code, proc.stdout + proc.stderr)
        lines = proc.stderr.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("jobctl: "), lines[0])
        if text:
            self.assertIn(text, lines[0])

    def test_help_lists_verbs(self):
        out = subprocess.run([JOBCTL, "--help"], capture_output=True, text=True).stdout
        for verb in ("add", "remove", "update", "show", "list", "start", "stop", "restart",
                     "reload", "kill", "status", "read", "logs", "mem", "server"):
            self.assertIn("  " + verb, out)

    def test_add_with_options(self):
        self.ctl("add", "web", "--buffer-size=7", "--restart=always", "--restart-delay=250ms",
                 "--stop-timeout=2s", "--stop-signal=INT", "--env=A=1", "--env=B=two words",
                 "--write-log=yes", "--autostart=no", "--memory-max=64M", "--cpu-quota=50%",
                 "--tasks-max=12", "--set=team=ops", "--", "/bin/echo", "a b", "c")
        s = self.bus.call("GetSettings", "web")
        self.assertEqual(s["command"], "/bin/echo")
        self.assertEqual(s["args"], ["a b", "c"])
        self.assertEqual(s["buffer-size"], 7)
        self.assertEqual(s["restart"], "always")
        self.assertEqual(s["restart-delay-ms"], 250)
        self.assertEqual(s["stop-timeout-ms"], 2000)
        self.assertIn(s["stop-signal"], ("SIGINT", "INT"))
        self.assertEqual(s["environment"], {"A": "1", "B": "two words"})
        self.assertTrue(s["write-log"])
        self.assertEqual(s["memory-max"], 64 << 20)
        self.assertEqual(s["cpu-quota"], 50)
        self.assertEqual(s["tasks-max"], 12)
        self.assertEqual(s["extra"].get("team"), "ops")

    def test_add_invalid_setting_is_usage_error(self):
        proc = self.ctl("add", "bad", "--buffer-size=0", "--", "/bin/true", ok=False)
        self.assertOneLineError(proc, 2, "buffer-size")
        proc = self.ctl("add", "bad/name", "--", "/bin/true", ok=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(len(proc.stderr.strip().split("\n")), 1, proc.stderr)
        self.assertEqual(self.bus.call("StatusAll"), {})

    def test_lifecycle_and_status_codes(self):
        self.ctl("add", "demo", "--", "/bin/sh", "-c", TICKER)
        proc = self.ctl("status", "demo", ok=False)
        self.assertEqual((proc.returncode, proc.stdout.strip()), (3, "down"))
        mark = self.bus.mark()
        self.ctl("start", "demo")
        # jobctl start returns once the job is up.
        self.assertEqual(self.bus.state("demo"), "up")
        pid = self.bus.wait_state("demo", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        proc = self.ctl("status", "demo")
        self.assertEqual(proc.stdout.strip(), "up")
        mark = self.bus.mark()
        self.ctl("restart", "demo")
        pid2 = self.bus.wait_state("demo", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid2)
        self.assertNotEqual(pid, pid2)
        self.assertFalse(pid_alive(pid))
        mark = self.bus.mark()
        self.ctl("stop", "demo")
        self.bus.wait_state("demo", "down", since=mark)
        proc = self.ctl("status", "demo", ok=False)
        self.assertEqual((proc.returncode, proc.stdout.strip()), (3, "down"))
        self.ctl("remove", "demo")
        self.assertEqual(self.bus.call("StatusAll"), {})

    def test_status_unknown_job(self):
        proc = self.ctl("status", "nope", ok=False)
        self.assertOneLineError(proc, 4, "nope")
        for verb in ("start", "stop", "show", "read", "mem", "remove"):
            proc = self.ctl(verb, "nope", ok=False)
            self.assertOneLineError(proc, 4, "nope")

    def test_errors_are_one_line(self):
        self.ctl("add", "d", "--", "/bin/sleep", "100")
        # (stop of a stopped job succeeds, as with systemctl: test_habits)
        self.assertOneLineError(self.ctl("reload", "d", ok=False), 1, "not running")
        self.assertOneLineError(self.ctl("add", "d", "--", "/bin/true", ok=False), 1, "exists")
        self.ctl("add", "ghost", "--", "/no/such/program")
        proc = self.ctl("start", "ghost", ok=False)
        self.assertOneLineError(proc, 1, "/no/such/program")

    def test_list_table_and_json(self):
        self.ctl("add", "b", "--", "/bin/true")
        pid, _ = self.add_and_start("a", "/bin/sleep", ["100"])
        proc = self.ctl("list")
        lines = proc.stdout.rstrip("\n").split("\n")
        header = lines[0].split()
        self.assertEqual(header, ["NAME", "STATE", "PID", "CPU", "MEMORY", "UPTIME", "RESTARTS"])
        rows = [l.split() for l in lines[1:]]
        self.assertEqual([r[0] for r in rows], ["a", "b"])
        self.assertEqual(rows[0][1:3], ["up", str(pid)])
        self.assertEqual(rows[1][1], "down")
        # Aligned: every column starts at the same offset in every line.
        state_col = lines[0].index("STATE")
        for line in lines[1:]:
            self.assertNotEqual(line[state_col], " ", lines)
        data = json.loads(self.ctl("list", "--json").stdout)
        self.assertEqual([j["name"] for j in data], ["a", "b"])
        self.assertEqual(data[0]["state"], "up")
        self.assertEqual(data[0]["pid"], pid)
        self.assertGreater(data[0]["memory"], 0)
        out = self.ctl("list", "--no-legend").stdout
        self.assertNotIn("NAME", out)

    def test_show(self):
        self.ctl("add", "s", "--buffer-size=4", "--", "/bin/sleep", "100")
        out = self.ctl("show", "s").stdout
        self.assertIn("s", out)
        self.assertRegex(out, r"State: +down")
        self.assertRegex(out, r"Buffer size: +4")
        data = json.loads(self.ctl("show", "s", "--json").stdout)
        self.assertEqual(data["name"], "s")
        self.assertEqual(data["runtime"]["state"], "down")
        self.assertEqual(data["settings"]["buffer-size"], 4)

    def test_read_n(self):
        self.bus.add("r", "/bin/sh", ["-c", "seq 1 10"])
        mark = self.bus.mark()
        self.bus.call("Start", "r")
        self.bus.wait_state("r", "down", since=mark)
        out = self.ctl("read", "r", "-n", "3").stdout.splitlines()
        self.assertEqual(out, ["8", "9", "10"])
        out = self.ctl("read", "r").stdout.splitlines()
        self.assertEqual(out[:10], [str(i) for i in range(1, 11)])
        data = json.loads(self.ctl("read", "r", "-n", "1", "--json").stdout)
        self.assertEqual(len(data), 1)
        self.assertEqual(data[0]["text"], "10")

    def test_logs_follow_until_sigint(self):
        self.add_and_start("f", "/bin/sh", ["-c", TICKER])
        env = dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C")
        proc = subprocess.Popen([JOBCTL, "logs", "f", "-f"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        try:
            seen = b""
            end = time.monotonic() + DEADLINE
            # Wait for lines that did not exist when following began.
            first = None
            while True:
                self.assertLess(time.monotonic(), end, "logs -f printed only %r" % seen)
                ready, _, _ = select.select([proc.stdout], [], [], max(0, end - time.monotonic()))
                if not ready:
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    proc.wait(timeout=DEADLINE)
                    self.fail("logs -f ended early (exit %s): %r %r"
                              % (proc.returncode, seen, proc.stderr.read()))
                seen += chunk
                nums = [int(l[4:]) for l in seen.decode().split("\n")[:-1] if l.startswith("tick")]
                if nums and first is None:
                    first = nums[-1]
                if first is not None and nums[-1] >= first + 3:
                    break
            self.assertEqual(nums, list(range(nums[0], nums[-1] + 1)), "lines lost or repeated")
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=DEADLINE)
            self.assertIn(rc, (0, 130))
            self.assertNotIn("CRITICAL", proc.stderr.read().decode())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(self.bus.state("f"), "up")

    def test_mem(self):
        self.add_and_start("m", "/bin/sleep", ["100"])
        self.wait_memory("m")
        out = self.ctl("mem", "m", "--bytes").stdout.strip()
        self.assertRegex(out, r"^\d+$")
        self.assertGreater(int(out), 0)
        human = self.ctl("mem", "m").stdout.strip()
        self.assertRegex(human, r"^\d+(\.\d+)?[KMG]")
        data = json.loads(self.ctl("mem", "m", "--json").stdout)
        self.assertGreater(data["bytes"], 0)
        self.assertEqual(data["source"], "process-tree")

    def test_kill_and_reload(self):
        script = "trap 'echo hup' HUP; echo ready; while :; do sleep 0.05; done"
        self.add_and_start("k", "/bin/sh", ["-c", script])
        self.bus.wait_output("k", lambda ls: "ready" in ls, "ready")
        self.ctl("reload", "k")
        self.bus.wait_output("k", lambda ls: "hup" in ls, "the HUP trap")
        mark = self.bus.mark()
        self.ctl("kill", "-s", "9", "k")
        down = self.bus.wait_state("k", "down", since=mark)
        self.assertEqual(down["exit-signal"], 9)
        pid, _ = self.add_and_start("k2", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.ctl("kill", "-s", "USR1", "k2")
        self.assertEqual(self.bus.wait_state("k2", "down", since=mark)["exit-signal"],
                         signal.SIGUSR1)

    def test_update(self):
        self.ctl("add", "u", "--", "/bin/true")
        self.ctl("update", "u", "--buffer-size=42", "--restart=on-failure")
        s = self.bus.call("GetSettings", "u")
        self.assertEqual((s["buffer-size"], s["restart"]), (42, "on-failure"))
        self.assertOneLineError(self.ctl("update", "u", "--restart=bogus", ok=False), 2)
        self.assertEqual(self.bus.call("GetSettings", "u")["restart"], "on-failure")

    def test_server(self):
        out = self.ctl("server").stdout
        self.assertRegex(out, r"Version: +\d")
        self.assertRegex(out, r"Backend: +direct")
        self.assertIn("listening", out)
        data = json.loads(self.ctl("server", "--json").stdout)
        self.assertEqual(data["backend"], "direct")
        self.assertTrue(data["version"])

    def test_address_option_and_unreachable(self):
        proc = run_jobctl(["--address", self.jobd.address, "list"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        missing = "unix:path=" + os.path.join(self.jobd.root, "no-such-socket")
        proc = run_jobctl(["list"], address=missing)
        self.assertOneLineError(proc, 1, "cannot reach jobd")
        proc = run_jobctl(["--address", missing, "status", "x"])
        self.assertOneLineError(proc, 1, "cannot reach jobd")


if __name__ == "__main__":
    main()
