# SPDX-License-Identifier: MIT
"""`jobctl top` (issue 14) in a real terminal: a tmux server of our own
running an interactive shell; top is typed at its prompt, the pane is read
with capture-pane until it shows every job (deadline), keys change the sort
order, q and Ctrl-C give the prompt back with the terminal's modes
restored, a resize redraws at the new size, and jobs that appear, change
state or go away show up without a key pressed. Without a terminal, top
prints one snapshot and exits."""
import json
import os
import re
import shlex
import subprocess

from jobdtest import JobdTestCase, JOBCTL, run_jobctl, wait_until, main
from test_terminal import Terminal, read

PROMPT = "top-test$ "
BUSY = "while :; do :; done"
# Holds about 48 MiB resident, then sleeps.
BIG = "import time; b = bytearray(48 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(100000)"
ROW = re.compile(r"^(\S+)\s+(up|down|failed|starting|stopping)\s+(\d+|-)\s+([\d.]+|-)\s")


class Top(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.term = Terminal(self.jobd.root, "top")
        self.addCleanup(self.term.close)

    def start_shell(self, width=100, height=30):
        env = {"JOBD_ADDRESS": self.jobd.address, "LC_ALL": "C.UTF-8", "PS1": PROMPT,
               "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "screen"}
        assigns = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env.items())
        self.term.start("env -i %s /bin/sh" % assigns, width=width, height=height)
        wait_until(lambda: self.screen_text().rstrip().endswith(PROMPT.rstrip()),
                   "the shell's prompt")

    def screen_text(self):
        return "\n".join(self.term.screen())

    def rows(self):
        """The job rows on the pane: name → (state, pid, cpu%), in order."""
        found = []
        for line in self.term.screen():
            m = ROW.match(line)
            if m:
                found.append((m.group(1), m.group(2), m.group(3), m.group(4)))
        return found

    def wait_rows(self, predicate, what):
        def check():
            rows = self.rows()
            return rows if predicate(rows) else None
        try:
            return wait_until(check, what)
        except AssertionError:
            raise AssertionError("%s; the pane:\n%s" % (what, self.screen_text()))

    def run_top(self, *args):
        self.term.send("-l", "%s top %s" % (shlex.quote(JOBCTL), " ".join(args)))
        self.term.send("Enter")
        wait_until(lambda: "sort:" in self.screen_text(), "top's title line")

    def wait_prompt_back(self):
        """top has left: its screen is gone, the prompt is back, and the
        terminal is in the shell's modes again (stty tells)."""
        self.stty_runs = getattr(self, "stty_runs", 0) + 1
        stty = os.path.join(self.jobd.root, "stty.%d" % self.stty_runs)
        wait_until(lambda: "sort:" not in self.screen_text()
                   and self.screen_text().rstrip().endswith(PROMPT.rstrip()),
                   "the prompt to come back after top")
        self.term.send("-l", "stty -a > %s" % stty)
        self.term.send("Enter")
        wait_until(lambda: os.path.exists(stty) and "icanon" in read(stty),
                   "stty's output")
        modes = read(stty).split()
        for mode in ("icanon", "echo", "isig", "icrnl"):
            self.assertIn(mode, modes, "terminal mode %s not restored" % mode)

    def test_every_job_sorting_and_quit(self):
        busy, _ = self.add_and_start("m-busy", "/bin/sh", ["-c", BUSY])
        self.jobd.note_pid(busy)
        self.add_and_start("z-big", "/usr/bin/python3", ["-c", BIG])
        for i in range(4):
            self.add_and_start("a-idle-%d" % i, "/bin/sleep", ["100000"])
        self.bus.add("b-down", "/bin/true")
        names = {"m-busy", "z-big", "b-down"} | {"a-idle-%d" % i for i in range(4)}
        self.start_shell()
        self.run_top("-d", "300ms")
        rows = self.wait_rows(lambda rows: {r[0] for r in rows} == names, "every job on the pane")
        self.assertIn("7 jobs, 6 up, 0 failed", self.screen_text())
        by_name = {r[0]: r for r in rows}
        self.assertEqual(by_name["m-busy"][1:3], ("up", str(busy)))
        self.assertEqual(by_name["b-down"][1:4], ("down", "-", "-"))

        # Default sort: CPU, the busy loop first once two samples are in.
        self.wait_rows(lambda rows: rows and rows[0][0] == "m-busy" and rows[0][3] != "-"
                       and float(rows[0][3]) > 1.0, "m-busy first with its CPU %")
        self.term.send("n")
        self.wait_rows(lambda rows: [r[0] for r in rows] == sorted(names), "sorted by name")
        self.term.send("m")
        self.wait_rows(lambda rows: rows and rows[0][0] == "z-big", "z-big first by memory")
        self.assertIn("sort: mem", self.screen_text())
        self.term.send("s")
        self.wait_rows(lambda rows: rows and rows[-1][0] == "b-down", "the down job last by state")

        # A job added, started, stopped and removed while top runs.
        self.bus.add("c-new", "/bin/sleep", ["100000"])
        self.wait_rows(lambda rows: any(r[:2] == ("c-new", "down") for r in rows),
                       "c-new on the pane")
        self.bus.call("Start", "c-new")
        self.wait_rows(lambda rows: any(r[0] == "c-new" and r[1] == "up" and r[2] != "-"
                                        for r in rows), "c-new up with its PID")
        self.stop_and_wait("c-new")
        self.bus.call("Remove", "c-new")
        self.wait_rows(lambda rows: not any(r[0] == "c-new" for r in rows) and len(rows) == 7,
                       "c-new gone")

        self.term.send("q")
        self.wait_prompt_back()

    def test_ctrl_c_and_resize(self):
        for i in range(30):
            self.bus.add("job-%02d" % i, "/bin/true")
        self.start_shell(width=100, height=30)
        self.run_top("--sort", "name", "-d", "300ms")
        self.wait_rows(lambda rows: len(rows) == 27, "27 rows (30 lines less title, "
                       "header and key line)")
        self.term.tmux("resize-window", "-t", "0", "-x", "70", "-y", "12")
        rows = self.wait_rows(lambda rows: len(rows) == 9, "9 rows after the resize")
        screen = self.term.screen()
        self.assertEqual([r[0] for r in rows], ["job-%02d" % i for i in range(9)])
        self.assertTrue(screen[11].startswith("q quit"), screen)
        self.assertTrue(all(len(line) <= 70 for line in screen), screen)
        # Scrolling down a page shows the next jobs.
        self.term.send("NPage")
        self.wait_rows(lambda rows: rows and rows[0][0] == "job-09", "the next page")
        self.term.send("C-c")
        self.wait_prompt_back()

    def test_not_a_terminal_prints_a_snapshot(self):
        busy, _ = self.add_and_start("spin", "/bin/sh", ["-c", BUSY])
        self.bus.add("off", "/bin/true")
        proc = run_jobctl(["top", "-d", "500ms"], address=self.jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("\033", proc.stdout, "escape codes in a snapshot")
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATE", "PID", "CPU%", "MEMORY", "UPTIME",
                                            "RESTARTS"])
        rows = [ROW.match(l).groups() for l in lines[1:]]
        self.assertEqual([r[0] for r in rows], ["spin", "off"], "sorted by CPU")
        self.assertGreater(float(rows[0][3]), 0.5)
        data = json.loads(run_jobctl(["top", "--json", "-d", "300ms", "--sort", "name"],
                                     address=self.jobd.address).stdout)
        self.assertEqual([j["name"] for j in data], ["off", "spin"])
        self.assertIsNone(data[0]["cpu-percent"])
        self.assertGreater(data[1]["cpu-percent"], 0)
        bad = run_jobctl(["top", "--sort", "colour"], address=self.jobd.address)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("colour", bad.stderr)


if __name__ == "__main__":
    main()
