# SPDX-License-Identifier: MIT
"""Bad input: each class gets its named error and a message, and nothing
is lost (the registry is unchanged afterwards)."""
import os
import stat

from gi.repository import GLib

from jobdtest import JobdTestCase, main


class BadInput(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.bus.add("keep", "/bin/sleep", ["100"], buffer_size=9)
        self.snapshot = self.registry()

    def registry(self):
        return {name: self.bus.call("GetSettings", name) for name in self.bus.call("StatusAll")}

    def assertUnchanged(self):
        self.assertEqual(self.registry(), self.snapshot)

    def test_invalid_names(self):
        for name in ("has space", "a/b", "x" * 129, "", "tab\tname", "ünï", "a;b", "..x/"):
            with self.subTest(name=name):
                self.assertError("InvalidArgs", "Add", name, {"command": "/bin/true"})
        for method in ("Start", "Status", "Remove", "GetSettings"):
            self.assertError("InvalidArgs", method, "a/b")
        self.assertUnchanged()
        # The boundary: 128 bytes and every allowed character are fine.
        self.bus.add("y" * 128, "/bin/true")
        self.bus.add("Az09-_.:@", "/bin/true")

    def test_unknown_setting(self):
        msg = self.assertError("InvalidArgs", "Add", "n", {"command": "/bin/true",
                                                           "colour": GLib.Variant("s", "red")})
        self.assertIn("colour", msg)
        msg = self.assertError("InvalidArgs", "Update", "keep", {"colour": GLib.Variant("s", "x")})
        self.assertIn("colour", msg)
        self.assertUnchanged()

    def test_wrong_variant_type(self):
        msg = self.assertError("InvalidArgs", "Add", "n", {
            "command": "/bin/true", "buffer-size": GLib.Variant("s", "ten")})
        self.assertIn("buffer-size", msg)
        msg = self.assertError("InvalidArgs", "Update", "keep", {"args": GLib.Variant("s", "x")})
        self.assertIn("args", msg)
        self.assertError("InvalidArgs", "Update", "keep", {"write-log": GLib.Variant("s", "yes")})
        self.assertUnchanged()

    def test_bad_buffer_size(self):
        msg = self.assertError("InvalidArgs", "Update", "keep", {"buffer-size": 0})
        self.assertIn("buffer-size", msg)
        msg = self.assertError("InvalidArgs", "Update", "keep",
                               {"buffer-size": GLib.Variant("i", -5)})
        self.assertIn("buffer-size", msg)
        self.assertUnchanged()

    def test_unknown_restart_policy(self):
        msg = self.assertError("InvalidArgs", "Update", "keep", {"restart": "sometimes"})
        self.assertIn("restart", msg)
        self.assertUnchanged()

    def test_unknown_signal_name(self):
        for key in ("stop-signal", "reload-signal"):
            msg = self.assertError("InvalidArgs", "Update", "keep", {key: "SIGBOGUS"})
            self.assertIn(key, msg)
        self.assertError("InvalidArgs", "Kill", "keep", 0 - 1)
        self.assertError("InvalidArgs", "Kill", "keep", 4096)
        self.assertUnchanged()

    def test_bad_change_in_a_batch_changes_nothing(self):
        # One bad field: the good ones in the same call are not applied.
        self.assertError("InvalidArgs", "Update", "keep", {"buffer-size": 50, "restart": "bogus"})
        self.assertUnchanged()

    def test_missing_command_on_add(self):
        msg = self.assertError("InvalidArgs", "Add", "nocmd", {"buffer-size": 3})
        self.assertIn("command", msg)
        self.assertError("InvalidArgs", "Add", "nocmd2", {"command": ""})
        self.assertError("InvalidArgs", "Update", "keep", {"command": ""})
        self.assertUnchanged()

    def start_fails(self, name, settings, expect_in_message):
        self.bus.call("Add", name, settings)
        mark = self.bus.mark()
        msg = self.assertError("SpawnFailed", "Start", name)
        self.assertIn(expect_in_message, msg)
        failed = self.bus.wait_state(name, "failed", since=mark)
        self.assertEqual(failed["reason"], "spawn-error")
        rt = self.bus.runtime(name)
        self.assertEqual(rt["state"], "failed")
        self.assertEqual(rt["main-pid"], 0)
        self.assertIn(expect_in_message, rt["last-error"])
        return msg

    def test_nonexistent_command(self):
        self.start_fails("ghost", {"command": "/no/such/binary"}, "/no/such/binary")

    def test_non_executable_file(self):
        path = os.path.join(self.jobd.root, "not-exec.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        self.start_fails("noexec", {"command": path}, "not-exec.sh")

    def test_nonexistent_working_directory(self):
        self.start_fails("nowd", {"command": "/bin/true", "working-directory": "/no/such/dir"},
                         "/no/such/dir")

    def test_exec_failure_in_the_child(self):
        # Passes every check before the fork; execve itself fails (no such
        # interpreter), which only the child can see and report back.
        path = os.path.join(self.jobd.root, "bad-interpreter.sh")
        with open(path, "w") as f:
            f.write("#!/no/such/interpreter\necho hi\n")
        os.chmod(path, stat.S_IRWXU)
        msg = self.start_fails("badinterp", {"command": path},
                               "executing the program failed")
        self.assertIn("No such file or directory", msg)

    def test_add_existing(self):
        msg = self.assertError("JobExists", "Add", "keep", {"command": "/bin/echo"})
        self.assertIn("keep", msg)
        self.assertUnchanged()

    def test_start_running(self):
        pid, _ = self.add_and_start("run", "/bin/sleep", ["100"])
        self.assertError("AlreadyRunning", "Start", "run")
        self.assertEqual(self.bus.runtime("run")["main-pid"], pid)

    def test_stop_down(self):
        self.assertError("NotRunning", "Stop", "keep")
        self.assertError("NotRunning", "Reload", "keep")
        self.assertError("NotRunning", "Kill", "keep", 15)
        self.assertError("NotRunning", "GetMemory", "keep")
        self.assertEqual(self.bus.state("keep"), "down")

    def test_remove_running(self):
        pid, _ = self.add_and_start("busy", "/bin/sleep", ["100"])
        msg = self.assertError("AlreadyRunning", "Remove", "busy")
        self.assertIn("stop it first", msg)
        self.assertEqual(self.bus.state("busy"), "up")
        self.assertEqual(self.bus.runtime("busy")["main-pid"], pid)

    def test_unknown_job(self):
        for method, args in (("Start", ()), ("Stop", ()), ("Restart", ()), ("Reload", ()),
                             ("Remove", ()), ("Status", ()), ("GetJob", ()),
                             ("GetSettings", ()), ("GetRuntime", ()), ("GetMemory", ()),
                             ("FollowOutput", ()), ("Kill", (9,)), ("ReadOutput", (0,)),
                             ("Update", ({"buffer-size": 3},))):
            with self.subTest(method=method):
                msg = self.assertError("NoSuchJob", method, "nobody-here", *args)
                self.assertIn("nobody-here", msg)
        self.assertUnchanged()

    def test_unknown_job_object(self):
        with self.assertRaises(GLib.Error):
            self.bus.get_all("nobody-here")


if __name__ == "__main__":
    main()
