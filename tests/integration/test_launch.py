# SPDX-License-Identifier: MIT
"""What a job's settings mean for one start is decided in core
(jobd-launch.c) before a spawner is asked: each way that can fail still
fails the start with SpawnFailed naming the problem, and the job still goes
starting -> failed (reason spawn-error), in that order, as when the child
itself fails."""
import os

from jobdtest import JobdTestCase, main  # noqa: E402


class LaunchRequest(JobdTestCase):

    def check_fails(self, name, contains, **settings):
        command = settings.pop("command", "/bin/true")
        self.bus.add(name, command, **settings)
        mark = self.bus.mark()
        self.assertError("SpawnFailed", "Start", name, contains=contains)
        details = self.bus.wait_state(name, "failed", since=mark)
        self.assertEqual(details["reason"], "spawn-error")
        states = [new for _old, new, _d in self.bus.transitions(name, since=mark)]
        self.assertEqual(states, ["starting", "failed"])

    def test_program_not_on_path(self):
        self.check_fails("nopath", "not found in PATH", command="no-such-program-jobd")

    def test_program_missing(self):
        self.check_fails("missing", "does not exist", command="/nonexistent/prog")

    def test_program_not_executable(self):
        path = os.path.join(self.jobd.root, "plain.txt")
        with open(path, "w") as f:
            f.write("not a program\n")
        os.chmod(path, 0o644)
        self.check_fails("noexec", "is not executable", command=path)

    def test_working_directory_missing(self):
        self.check_fails("nowd", "working directory", working_directory="/nonexistent/dir")

    def test_unknown_user_and_group(self):
        self.check_fails("nouser", "user 'no-such-user-jobd' does not exist",
                         user="no-such-user-jobd")
        self.check_fails("nogroup", "group 'no-such-group-jobd' does not exist",
                         user="nobody", group="no-such-group-jobd")

    def test_runs_after_a_failed_launch(self):
        # The failure left nothing behind: fixed, the same job starts.
        self.check_fails("fixme", "not found in PATH", command="no-such-program-jobd")
        self.bus.call("Update", "fixme", {"command": self.variant_s("/bin/sleep"),
                                          "args": self.variant_as(["30"])})
        mark = self.bus.mark()
        self.bus.call("Start", "fixme")
        pid = self.bus.wait_state("fixme", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        self.assertEqual(env.get(b"JOBD_JOB"), b"fixme")
        self.bus.call("Stop", "fixme")

    def test_relative_program_is_found_in_the_working_directory(self):
        # ./run.sh means what it means in a shell there, not in jobd's own
        # folder (/ under systemd, the build folder here).
        folder = os.path.join(self.jobd.root, "app")
        os.makedirs(os.path.join(folder, "bin"))
        script = os.path.join(folder, "bin", "run.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexec sleep 30\n")
        os.chmod(script, 0o755)
        self.bus.add("rel", "./bin/run.sh", working_directory=folder)
        mark = self.bus.mark()
        self.bus.call("Start", "rel")
        pid = self.bus.wait_state("rel", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        self.assertEqual(os.readlink("/proc/%d/cwd" % pid), folder)
        self.bus.call("Stop", "rel")

    @staticmethod
    def variant_s(text):
        from gi.repository import GLib
        return GLib.Variant("s", text)

    @staticmethod
    def variant_as(items):
        from gi.repository import GLib
        return GLib.Variant("as", items)


if __name__ == "__main__":
    main()
