# SPDX-License-Identifier: MIT
"""Graceful stop: SIGKILL after the stop timeout for a job that ignores
SIGTERM, a quick stop for one that does not, a custom stop signal, and no
process of a forking job's group left after the stop."""
import os
import signal
import time

from jobdtest import (JobdTestCase, group_members, pid_alive, wait_until,
                      DEADLINE, main)


class GracefulStop(JobdTestCase):

    def test_term_ignored_then_sigkill_after_timeout(self):
        script = "trap '' TERM; echo ready; while :; do sleep 0.05; done"
        pid, _ = self.add_and_start("stubborn", "/bin/sh", ["-c", script],
                                    stop_timeout_ms=500)
        self.bus.wait_output("stubborn", lambda ls: "ready" in ls, "ready")
        mark = self.bus.mark()
        t0 = time.monotonic()
        self.bus.call("Stop", "stubborn")
        stopping = self.bus.wait_state("stubborn", "stopping", since=mark)
        self.assertEqual(stopping["reason"], "manual")
        down = self.bus.wait_state("stubborn", "down", since=mark)
        elapsed = down["_time"] - t0
        self.assertGreaterEqual(elapsed, 0.5, "killed before the stop timeout")
        self.assertLess(elapsed, DEADLINE)
        self.assertEqual(down["exit-signal"], signal.SIGKILL)
        self.assertEqual(down["reason"], "manual")
        self.assertFalse(pid_alive(pid))
        # The group's other members (the loop's sleep) get SIGKILL as the main
        # process exits; the kernel takes them down asynchronously.
        wait_until(lambda: group_members(pid) == [], "the rest of the group to end")
        log = self.bus.call("GetServerLog", 0)
        self.assertTrue(any("SIGKILL" in line and "stubborn" in line for line in log), log)

    def test_job_exiting_on_term_stops_quickly(self):
        pid, _ = self.add_and_start("meek", "/bin/sleep", ["100"], stop_timeout_ms=60000)
        mark = self.bus.mark()
        t0 = time.monotonic()
        self.bus.call("Stop", "meek")
        down = self.bus.wait_state("meek", "down", since=mark, timeout=DEADLINE)
        self.assertLess(down["_time"] - t0, DEADLINE)   # far below the 60 s timeout
        self.assertEqual(down["exit-signal"], signal.SIGTERM)
        self.assertFalse(pid_alive(pid))

    def test_custom_stop_signal(self):
        script = ("trap '' TERM; trap 'echo got-int; exit 7' INT; echo ready; "
                  "while :; do sleep 0.05; done")
        self.add_and_start("custom", "/bin/sh", ["-c", script], stop_signal="SIGINT",
                           stop_timeout_ms=30000)
        self.bus.wait_output("custom", lambda ls: "ready" in ls, "ready")
        mark = self.bus.mark()
        self.bus.call("Stop", "custom")
        down = self.bus.wait_state("custom", "down", since=mark)
        self.assertEqual((down["exit-code"], down["exit-signal"]), (7, 0))
        self.assertIn("got-int", self.bus.lines("custom"))

    def test_stop_signal_by_number_name_forms(self):
        # "USR1" and "SIGUSR1" name the same signal.
        self.bus.add("n1", "/bin/true", stop_signal="USR1")
        self.assertIn(self.bus.call("GetSettings", "n1")["stop-signal"], ("SIGUSR1", "USR1"))

    def test_forking_job_whole_group_stops(self):
        pid, _ = self.add_and_start("forks", "/bin/sh",
                                    ["-c", "sleep 1000 & sleep 1000 & wait"])
        # The job leads its own process group and session.
        members = wait_until(lambda: len(group_members(pid)) >= 3 and group_members(pid),
                             "the shell and its two children")
        self.assertEqual(os.getpgid(pid), pid)
        self.assertEqual(os.getsid(pid), pid)
        self.stop_and_wait("forks")
        wait_until(lambda: not any(pid_alive(p) for p in members),
                   "every process of the group to end (left: %s)" % members)
        self.assertEqual(group_members(pid), [])

    def test_forking_job_ignoring_term_is_killed_whole(self):
        script = "trap '' TERM; sleep 1000 & sleep 1000 & wait"
        pid, _ = self.add_and_start("forks9", "/bin/sh", ["-c", script], stop_timeout_ms=300)
        members = wait_until(lambda: len(group_members(pid)) >= 3 and group_members(pid),
                             "the shell and its two children")
        down = self.stop_and_wait("forks9")
        self.assertEqual(down["exit-signal"], signal.SIGKILL)
        wait_until(lambda: not any(pid_alive(p) for p in members),
                   "every process of the group to end (left: %s)" % members)

    def test_children_left_after_main_exit_are_cleared(self):
        # The main process exits, leaving a child in the group: it must not
        # outlive the job.
        script = "sleep 1000 & echo child $!; exit 0"
        self.bus.add("orphan", "/bin/sh", ["-c", script])
        mark = self.bus.mark()
        self.bus.call("Start", "orphan")
        up = self.bus.wait_state("orphan", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.bus.wait_state("orphan", "down", since=mark)
        lines = self.bus.lines("orphan")
        child = int([l for l in lines if l.startswith("child ")][0].split()[1])
        self.jobd.note_pid(child)
        wait_until(lambda: not pid_alive(child), "the orphaned child %d to be killed" % child)


if __name__ == "__main__":
    main()
