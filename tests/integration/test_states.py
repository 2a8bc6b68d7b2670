# SPDX-License-Identifier: MIT
"""Every state transition of a job and the details of JobStateChanged."""
import os
import signal
import time

from jobdtest import JobdTestCase, job_path, pid_alive, wait_until, main


class Transitions(JobdTestCase):

    def test_start_goes_down_starting_up_with_main_pid(self):
        self.bus.add("t", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.bus.call("Start", "t")
        up = self.bus.wait_state("t", "up", since=mark)
        trans = self.bus.transitions("t", since=mark)
        self.assertEqual([(o, n) for o, n, _d in trans], [("down", "starting"), ("starting", "up")])
        self.assertEqual(trans[0][2].get("reason"), "manual")
        # "starting" names the caller (the test runs as root) and no trigger.
        self.assertEqual(trans[0][2].get("caller-uid"), os.getuid())
        self.assertNotIn("trigger", trans[0][2])
        self.assertEqual(up["reason"], "manual")
        self.assertGreater(up["main-pid"], 1)
        self.jobd.note_pid(up["main-pid"])
        self.assertTrue(pid_alive(up["main-pid"]))
        # Start returns once the process runs: the state is already up.
        self.assertEqual(self.bus.get_all("t")["MainPID"], up["main-pid"])

    def test_job_inherits_only_its_standard_streams(self):
        # jobd holds descriptors for every job (FIFOs, pidfds, sockets): none
        # of them may reach a new job, however many there are.
        for i in range(5):
            self.add_and_start("other%d" % i, "/bin/sleep", ["100"])
        pid, _ = self.add_and_start("fds", "/bin/sleep", ["100"])
        # "up" comes at the exec, while the dynamic loader may still hold a
        # library open: wait for the program to settle. An inherited
        # descriptor would stay for good.
        seen = []

        def only_standard_streams():
            seen[:] = sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % pid))
            return seen == [0, 1, 2]
        try:
            wait_until(only_standard_streams, "the job to hold only fds 0, 1, 2")
        except AssertionError:
            self.fail("the job holds fds %s, not only 0, 1, 2" % seen)
        self.assertEqual(os.readlink("/proc/%d/fd/0" % pid), "/dev/null")
        for fd in (1, 2):
            self.assertIn("fds.", os.readlink("/proc/%d/fd/%d" % (pid, fd)))

    def test_exit_code_is_recorded(self):
        self.bus.add("e", "/bin/sh", ["-c", "exit 3"])
        mark = self.bus.mark()
        self.bus.call("Start", "e")
        down = self.bus.wait_state("e", "down", since=mark)
        self.assertEqual(down["_old"], "up")
        self.assertEqual(down["reason"], "exit-code")
        self.assertEqual(down["exit-code"], 3)
        self.assertEqual(down["exit-signal"], 0)
        rt = self.bus.runtime("e")
        self.assertEqual((rt["state"], rt["exit-code"], rt["exit-signal"], rt["main-pid"]),
                         ("down", 3, 0, 0))
        self.assertEqual(rt["started-at"], 0)
        props = self.bus.get_all("e")
        self.assertEqual(props["ExitCode"], 3)

    def test_clean_exit(self):
        self.bus.add("ok", "/bin/true")
        mark = self.bus.mark()
        self.bus.call("Start", "ok")
        down = self.bus.wait_state("ok", "down", since=mark)
        self.assertEqual((down["reason"], down["exit-code"], down["exit-signal"]),
                         ("exit-code", 0, 0))

    def test_death_by_signal_is_recorded(self):
        pid, _ = self.add_and_start("sig", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        os.kill(pid, signal.SIGKILL)
        down = self.bus.wait_state("sig", "down", since=mark)
        self.assertEqual(down["reason"], "signal")
        self.assertEqual(down["exit-signal"], signal.SIGKILL)
        rt = self.bus.runtime("sig")
        self.assertEqual(rt["exit-signal"], signal.SIGKILL)
        self.assertEqual(self.bus.get_all("sig")["ExitSignal"], signal.SIGKILL)

    def test_manual_stop_goes_through_stopping(self):
        pid, _ = self.add_and_start("st", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.bus.call("Stop", "st")
        down = self.bus.wait_state("st", "down", since=mark)
        trans = self.bus.transitions("st", since=mark)
        self.assertEqual([(o, n) for o, n, _d in trans], [("up", "stopping"), ("stopping", "down")])
        self.assertEqual(trans[0][2].get("reason"), "manual")
        self.assertEqual(down["reason"], "manual")
        self.assertEqual(down["exit-signal"], signal.SIGTERM)
        self.assertFalse(pid_alive(pid))
        self.assertFalse(self.bus.runtime("st")["wanted-up"])

    def test_spawn_error_fails_and_can_start_again(self):
        self.bus.add("sf", "/nonexistent/cmd")
        mark = self.bus.mark()
        name, message = self.bus.call_error("Start", "sf")
        self.assertEqual(name, "org.jobd1.Error.SpawnFailed")
        failed = self.bus.wait_state("sf", "failed", since=mark)
        self.assertEqual(failed["_old"], "starting")
        self.assertEqual(failed["reason"], "spawn-error")
        self.assertIn("/nonexistent/cmd", failed["error"])
        rt = self.bus.runtime("sf")
        self.assertEqual(rt["state"], "failed")
        self.assertEqual(rt["last-error"], failed["error"])
        self.assertEqual(self.bus.get_all("sf")["LastError"], failed["error"])
        # failed → starting → up once the command is fixed.
        self.bus.call("Update", "sf", {"command": "/bin/sleep", "args": ["100"]})
        mark = self.bus.mark()
        self.bus.call("Start", "sf")
        up = self.bus.wait_state("sf", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.assertEqual(self.bus.transitions("sf", since=mark)[0][:2], ("failed", "starting"))
        self.assertEqual(self.bus.runtime("sf")["last-error"], "")

    def test_signals_reach_every_client(self):
        other = self.jobd.connect()
        self.bus.add("two", "/bin/true")
        mark = other.mark()
        self.bus.call("Start", "two")
        down = other.wait_state("two", "down", since=mark)
        self.assertEqual(down["exit-code"], 0)
        other.wait_event("PropertiesChanged", lambda p, pl: p == job_path("two"), since=mark)

    def test_started_at_is_now(self):
        before = time.time()
        self.add_and_start("now", "/bin/sleep", ["100"])
        started = self.bus.runtime("now")["started-at"] / 1e6
        self.assertGreaterEqual(started, before - 1)
        self.assertLessEqual(started, time.time() + 1)


if __name__ == "__main__":
    main()
