# SPDX-License-Identifier: MIT
"""Authorization on the private socket: jobd runs as root, a client runs as
nobody (a helper process that drops to uid 65534 before connecting)."""
import os
import unittest

from jobdtest import (JobdTestCase, call_as_nobody, pid_alive, proc_uid,
                      wait_until, main)

NOBODY = 65534


@unittest.skipUnless(os.getuid() == 0, "jobd must run as root to test a non-root caller")
class NonRootCaller(JobdTestCase):

    def nobody(self, method, args_text=""):
        out = call_as_nobody(self.jobd.address, method, args_text)
        self.assertEqual(out["uid"], NOBODY)      # the helper really dropped root
        return out

    def assertDenied(self, out):
        self.assertFalse(out["ok"], out)
        self.assertEqual(out["error"], "org.jobd1.Error.AccessDenied", out)
        self.assertTrue(out["message"])

    def setUp(self):
        super().setUp()
        self.root_pid, _ = self.add_and_start("rootjob", "/bin/sleep", ["100"])

    def test_socket_is_reachable(self):
        sock = self.jobd.address.split("=", 1)[1]
        self.assertEqual(os.stat(sock).st_mode & 0o777, 0o666)

    def test_reading_is_open(self):
        out = self.nobody("StatusAll")
        self.assertEqual(out["value"], [{"rootjob": "up"}])
        out = self.nobody("List")
        self.assertTrue(out["ok"], out)
        self.assertEqual(out["value"][0], ["rootjob"])     # the names column
        self.assertTrue(self.nobody("Status", "('rootjob',)")["ok"])
        self.assertTrue(self.nobody("ReadOutput", "('rootjob', uint32 0)")["ok"])
        self.assertTrue(self.nobody("GetSettings", "('rootjob',)")["ok"])
        self.assertTrue(self.nobody("GetRuntime", "('rootjob',)")["ok"])
        self.assertTrue(self.nobody("GetMemory", "('rootjob',)")["ok"])

    def test_cannot_change_roots_job(self):
        self.assertDenied(self.nobody("Stop", "('rootjob',)"))
        self.assertDenied(self.nobody("Restart", "('rootjob',)"))
        self.assertDenied(self.nobody("Kill", "('rootjob', 9)"))
        self.assertDenied(self.nobody("Reload", "('rootjob',)"))
        self.assertDenied(self.nobody("Update", "('rootjob', {'buffer-size': <uint32 3>})"))
        self.assertDenied(self.nobody("Remove", "('rootjob',)"))
        # Nothing happened.
        rt = self.bus.runtime("rootjob")
        self.assertEqual((rt["state"], rt["main-pid"]), ("up", self.root_pid))
        self.assertTrue(pid_alive(self.root_pid))
        self.assertEqual(self.bus.call("GetSettings", "rootjob")["buffer-size"], 20)

    def test_cannot_set_user_or_group(self):
        self.assertDenied(self.nobody(
            "Add", "('evil', {'command': <'/bin/true'>, 'user': <'root'>})"))
        self.assertDenied(self.nobody(
            "Add", "('evil2', {'command': <'/bin/true'>, 'group': <'root'>})"))
        self.assertNotIn("evil", self.bus.call("StatusAll"))
        self.assertNotIn("evil2", self.bus.call("StatusAll"))

    def test_own_job_runs_as_caller(self):
        out = self.nobody("Add", "('mine', {'command': <'/bin/sleep'>, 'args': <['100']>})")
        self.assertTrue(out["ok"], out)
        self.assertEqual(self.bus.runtime("mine")["owner-uid"], NOBODY)
        self.assertEqual(self.bus.get_all("mine")["OwnerUID"], NOBODY)
        mark = self.bus.mark()
        out = self.nobody("Start", "('mine',)")
        self.assertTrue(out["ok"], out)
        up = self.bus.wait_state("mine", "up", since=mark)
        pid = up["main-pid"]
        self.jobd.note_pid(pid)
        self.assertEqual(proc_uid(pid), NOBODY)
        # The owner may stop, update and remove it.
        mark = self.bus.mark()
        self.assertTrue(self.nobody("Stop", "('mine',)")["ok"])
        self.bus.wait_state("mine", "down", since=mark)
        self.assertTrue(self.nobody("Update", "('mine', {'buffer-size': <uint32 4>})")["ok"])
        self.assertEqual(self.bus.call("GetSettings", "mine")["buffer-size"], 4)
        self.assertTrue(self.nobody("Remove", "('mine',)")["ok"])
        self.assertNotIn("mine", self.bus.call("StatusAll"))

    def test_root_can_stop_nobodys_job(self):
        self.assertTrue(self.nobody(
            "Add", "('theirs', {'command': <'/bin/sleep'>, 'args': <['100']>})")["ok"])
        mark = self.bus.mark()
        self.assertTrue(self.nobody("Start", "('theirs',)")["ok"])
        pid = self.bus.wait_state("theirs", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        self.assertEqual(proc_uid(pid), NOBODY)
        self.stop_and_wait("theirs")
        wait_until(lambda: not pid_alive(pid), "nobody's job to stop")
        self.bus.call("Remove", "theirs")

    def test_root_may_set_user(self):
        self.bus.add("asnobody", "/bin/sleep", ["100"], user="nobody")
        mark = self.bus.mark()
        self.bus.call("Start", "asnobody")
        pid = self.bus.wait_state("asnobody", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        self.assertEqual(proc_uid(pid), NOBODY)
        # Dropping to nobody happened in the child only: every thread of
        # jobd is still root.
        for tid in os.listdir("/proc/%d/task" % self.jobd.proc.pid):
            self.assertEqual(proc_uid(int(tid)), 0, "jobd thread %s" % tid)

    def test_child_step_failure_as_another_user(self):
        # The working directory exists but nobody may not enter it: chdir
        # fails in the child after it switched user, and says so.
        private = os.path.join(self.jobd.root, "private")
        os.mkdir(private, 0o700)
        self.bus.add("nowd", "/bin/true", working_directory=private, user="nobody")
        mark = self.bus.mark()
        self.assertError("SpawnFailed", "Start", "nowd",
                         contains="changing to the working directory failed: Permission denied")
        self.assertEqual(self.bus.wait_state("nowd", "failed", since=mark)["reason"],
                         "spawn-error")


if __name__ == "__main__":
    main()
