# SPDX-License-Identifier: MIT
"""jobctl on a real terminal (tmux): long output goes through a pager
($JOBD_PAGER, $PAGER, less -FRSX), not with --no-pager, --json or when
stdout is not a terminal; tables and show's lines fit the terminal's width,
piped output keeps its full width."""
import os
import shlex
import signal
import subprocess

from jobdtest import JobdTestCase, JOBCTL, DEADLINE, run_jobctl, wait_until, main

def read(path):
    with open(path) as f:
        return f.read()


def exited(pid):
    try:
        return read("/proc/%d/stat" % pid).split(") ")[1][0] == "Z"
    except FileNotFoundError:
        return True


LONG = "a-rather-long-job-name-that-does-not-fit-in-eighty-columns-at-all-%02d"


class Terminal:
    """A tmux server of our own (its own socket) with one window of the
    given size, running one shell command; stopped by its PID."""

    def __init__(self, root, name):
        self.socket = os.path.join(root, "tmux-%s.sock" % name)
        self.pid = None

    def tmux(self, *args, check=True):
        # -u: the terminal is UTF-8 whatever our locale says.
        return subprocess.run(["tmux", "-u", "-S", self.socket, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, timeout=DEADLINE, check=check)

    def start(self, command, width=80, height=24):
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), command)
        self.pid = int(self.tmux("display-message", "-p", "#{pid}").stdout.strip())

    def screen(self):
        return self.tmux("capture-pane", "-p").stdout.split("\n")

    def send(self, *keys):
        self.tmux("send-keys", *keys)

    def close(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_until(lambda: exited(self.pid), "tmux server %d to exit" % self.pid)
            self.pid = None


class OnATerminal(JobdTestCase):

    def terminal(self, name):
        term = Terminal(self.jobd.root, name)
        self.addCleanup(term.close)
        return term

    def command(self, args, rc_file, env=None):
        """A shell command line: jobctl with args on the pane's terminal,
        its exit status written to rc_file, then the pane stays open."""
        env = dict(env or {})
        env.setdefault("JOBD_ADDRESS", self.jobd.address)
        env.setdefault("LC_ALL", "C.UTF-8")
        assigns = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env.items())
        unset = "-u PAGER -u JOBD_PAGER -u LESS -u COLUMNS -u NO_COLOR"
        return ("env %s %s %s %s; echo $? > %s; exec cat"
                % (unset, assigns, shlex.quote(JOBCTL), " ".join(shlex.quote(a) for a in args),
                   shlex.quote(rc_file)))

    def run_on_terminal(self, name, args, env=None, width=80, height=24):
        """Runs jobctl on a terminal; returns (exit status, screen lines)."""
        rc_file = os.path.join(self.jobd.root, name + ".rc")
        term = self.terminal(name)
        term.start(self.command(args, rc_file, env), width=width, height=height)
        wait_until(lambda: os.path.exists(rc_file) and read(rc_file).endswith("\n"),
                   "jobctl %s to finish on the terminal" % " ".join(args))
        screen = term.screen()
        term.close()
        return int(read(rc_file)), screen

    def add_long_names(self, count):
        for i in range(count):
            self.bus.add(LONG % i, "/bin/sleep", ["100"])

    # -- the pager --

    def test_long_list_goes_through_less(self):
        self.add_long_names(40)
        rc_file = os.path.join(self.jobd.root, "less.rc")
        term = self.terminal("less")
        term.start(self.command(["list"], rc_file))
        # less shows the first screenful and its prompt, and jobctl waits.
        def prompt_shown():
            screen = [line for line in term.screen() if line.strip()]
            return screen if screen and screen[-1].startswith("lines 1-") else None

        screen = wait_until(prompt_shown, "less's prompt at the bottom of the screen")
        self.assertTrue(screen[0].startswith("NAME"), screen)
        self.assertFalse(os.path.exists(rc_file), "jobctl did not wait for its pager")
        term.send("q")
        wait_until(lambda: os.path.exists(rc_file) and read(rc_file).endswith("\n"),
                   "jobctl to exit once less quit")
        self.assertEqual(read(rc_file), "0\n")

    def test_pager_choice_and_when_there_is_none(self):
        self.add_long_names(3)
        paged = os.path.join(self.jobd.root, "paged")

        def recorder(tag):
            return "cat > %s.%s" % (paged, tag)

        # $JOBD_PAGER first, then $PAGER.
        rc, _ = self.run_on_terminal("jp", ["list"], {"JOBD_PAGER": recorder("jp"),
                                                      "PAGER": recorder("p1")})
        self.assertEqual(rc, 0)
        self.assertTrue(os.path.exists(paged + ".jp"), "the pager did not run")
        with open(paged + ".jp") as f:
            lines = f.read().splitlines()
        # The whole table, cut to the terminal's width.
        self.assertEqual(len(lines), 4, lines)
        self.assertTrue(lines[0].startswith("NAME"), lines)
        self.assertTrue(all(len(line) <= 80 and "…" in line for line in lines[1:]), lines)
        self.assertFalse(os.path.exists(paged + ".p1"))
        rc, _ = self.run_on_terminal("p", ["show", LONG % 0], {"PAGER": recorder("p")})
        self.assertEqual(rc, 0)
        self.assertIn("State: down", read(paged + ".p"))
        # Not with --no-pager, --json, an empty or "cat" pager: the screen shows it.
        for tag, args, env in (("np", ["--no-pager", "list"], {}),
                               ("np2", ["list", "--no-pager"], {}),
                               ("js", ["list", "--json"], {}),
                               ("empty", ["list"], {"JOBD_PAGER": ""}),
                               ("cat", ["list"], {"PAGER": "cat"})):
            env.setdefault("PAGER", recorder(tag))
            rc, screen = self.run_on_terminal(tag, args, env)
            self.assertEqual(rc, 0, screen)
            self.assertFalse(os.path.exists(paged + "." + tag), tag)
            self.assertTrue(any("a-rather-long" in line for line in screen), (tag, screen))
        # Not a terminal: no pager, even when one is set.
        proc = run_jobctl(["list"], address=self.jobd.address,
                          env_extra={"JOBD_PAGER": recorder("pipe")})
        self.assertEqual(proc.returncode, 0)
        self.assertIn(LONG % 2, proc.stdout)
        self.assertFalse(os.path.exists(paged + ".pipe"))

    # -- the width --

    def test_table_fits_the_terminal_width(self):
        self.add_long_names(5)
        rc, screen = self.run_on_terminal("w80", ["--no-pager", "list"])
        self.assertEqual(rc, 0)
        rows = [line for line in screen if line.startswith("a-rather")]
        # One screen line per job: nothing wrapped, the name ellipsized.
        self.assertEqual(len(rows), 5, screen)
        for line in rows:
            self.assertLessEqual(len(line), 80)
            self.assertIn("…", line)
            self.assertRegex(line, r"…\s+down\s+-\s+-\s+-\s+0$")
        header = [line for line in screen if line.startswith("NAME")]
        self.assertEqual(len(header), 1)
        self.assertTrue(header[0].rstrip().endswith("RESTARTS"), header)
        # --full (-l) does not ellipsize: the rows wrap.
        rc, screen = self.run_on_terminal("full", ["--no-pager", "list", "-l"])
        self.assertEqual(rc, 0)
        self.assertIn(LONG % 3, "".join(screen))
        # A wide terminal shows whole names, and so does a pipe.
        rc, screen = self.run_on_terminal("w200", ["--no-pager", "list"], width=200)
        self.assertIn(LONG % 4, "\n".join(screen))
        out = run_jobctl(["list"], address=self.jobd.address).stdout
        for i in range(5):
            self.assertIn(LONG % i, out)

    def test_show_fits_the_terminal_width(self):
        long_arg = "x" * 150
        self.bus.add("s", "/bin/echo", [long_arg])
        # Tall enough for every setting `show` lists (more come with each one).
        rc, screen = self.run_on_terminal("show", ["--no-pager", "show", "s"], height=60)
        self.assertEqual(rc, 0)
        args = [line for line in screen if line.strip().startswith("Arguments:")]
        self.assertEqual(len(args), 1, screen)
        self.assertTrue(args[0].rstrip().endswith("x…"), args)
        self.assertNotIn("xxxxxxxxxx", screen[screen.index(args[0]) + 1], screen)
        out = run_jobctl(["show", "s"], address=self.jobd.address).stdout
        self.assertIn(long_arg, out)


if __name__ == "__main__":
    main()
