# SPDX-License-Identifier: MIT
"""Restart policy: always / on-failure / no, exponential backoff, the
backoff reset, the start limit, and a kill -9 that brings the job back."""
import os
import signal
import time

from jobdtest import JobdTestCase, job_path, pid_alive, DEADLINE, main

FAST = {"restart-delay-ms": 100, "restart-delay-max-ms": 10000,
        "restart-reset-ms": 60000, "start-limit-burst": 50,
        "start-limit-interval-ms": 60000}


class Policy(JobdTestCase):

    def add(self, name, script, **settings):
        s = dict(FAST)
        s.update({"command": "/bin/sh", "args": ["-c", script]})
        s.update({k.replace("_", "-"): v for k, v in settings.items()})
        self.bus.call("Add", name, s)

    def start(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        return mark

    def test_always_restarts_after_clean_exit(self):
        self.add("al", "echo run; exit 0", restart="always")
        mark = self.start("al")
        # up → starting (policy) → up
        first_up = self.bus.wait_state("al", "up", since=mark)
        policy = self.bus.wait_state("al", "starting", since=first_up["_index"])
        self.assertEqual(policy["_old"], "up")
        self.assertEqual(policy["reason"], "policy")
        self.assertEqual(policy["restart-reason"], "exit-code")
        self.assertEqual(policy["delay-ms"], 100)
        second_up = self.bus.wait_state("al", "up", since=policy["_index"])
        self.assertEqual(second_up["reason"], "policy")
        self.bus.pump(lambda: self.bus.runtime("al")["restarts"] >= 1, "restarts ≥ 1")
        rt = self.bus.runtime("al")
        self.assertEqual(rt["last-restart-reason"], "exit-code")
        self.stop_and_wait_any("al")

    def stop_and_wait_any(self, name):
        """Stop a restarting job: it must end down and stay down."""
        mark = self.bus.mark()
        self.bus.call("Stop", name)
        self.bus.wait_state(name, "down", since=mark)
        mark = self.bus.mark()
        self.bus.settle(0.4)   # longer than the restart delay
        self.assertEqual(self.bus.transitions(name, since=mark), [])
        self.assertEqual(self.bus.state(name), "down")

    def test_on_failure_restarts_only_failures(self):
        self.add("of0", "exit 0", restart="on-failure")
        mark = self.start("of0")
        down = self.bus.wait_state("of0", "down", since=mark)
        self.assertEqual(down["exit-code"], 0)
        self.bus.settle(0.4)
        self.assertEqual(self.bus.state("of0"), "down")
        self.assertEqual(self.bus.runtime("of0")["restarts"], 0)

        self.add("of1", "exit 4", restart="on-failure")
        mark = self.start("of1")
        policy = self.bus.wait_state("of1", "starting", since=mark, old_state="up")
        self.assertEqual(policy["restart-reason"], "exit-code")
        self.bus.wait_state("of1", "up", since=policy["_index"])
        self.stop_and_wait_any("of1")

    def test_no_never_restarts(self):
        self.add("no", "exit 1", restart="no")
        mark = self.start("no")
        down = self.bus.wait_state("no", "down", since=mark)
        self.assertEqual(down["exit-code"], 1)
        self.bus.settle(0.4)
        self.assertEqual([n for _o, n, _d in self.bus.transitions("no", since=mark)],
                         ["starting", "up", "down"])

    def test_backoff_doubles_and_is_capped(self):
        self.add("bo", "exit 1", restart="always", restart_delay_max_ms=700)
        mark = self.start("bo")
        delays = []
        since = mark
        while len(delays) < 5:
            policy = self.bus.wait_state("bo", "starting", since=since, old_state="up")
            delays.append(policy["delay-ms"])
            self.assertEqual(policy["restart-reason"], "exit-code")
            # next-start-at (µs since the epoch) is about now + delay.
            ahead = policy["next-start-at"] / 1e6 - time.time()
            self.assertLess(ahead, policy["delay-ms"] / 1000 + 0.05)
            # The restart happens no sooner than next-start-at.
            up = self.bus.wait_event(
                "PropertiesChanged",
                lambda p, pl: p == job_path("bo") and pl[1]["State"] == "up",
                since=policy["_index"])[1][1]
            self.assertGreaterEqual(up["StartedAt"], policy["next-start-at"] - 2000)
            since = policy["_index"] + 1
        self.assertEqual(delays, [100, 200, 400, 700, 700])
        self.assertGreaterEqual(self.bus.runtime("bo")["restarts"], 4)
        self.stop_and_wait_any("bo")

    def test_backoff_resets_after_staying_up(self):
        # Up for 0.5 s each run, longer than restart-reset-ms: no growth.
        self.add("rs", "sleep 0.5; exit 1", restart="always", restart_reset_ms=200)
        mark = self.start("rs")
        delays = []
        since = mark
        while len(delays) < 3:
            policy = self.bus.wait_state("rs", "starting", since=since, old_state="up")
            delays.append(policy["delay-ms"])
            since = policy["_index"] + 1
        self.assertEqual(delays, [100, 100, 100])
        self.stop_and_wait_any("rs")

    def test_start_limit_marks_failed(self):
        self.add("lim", "exit 2", restart="on-failure", restart_delay_ms=20,
                 start_limit_burst=3, start_limit_interval_ms=60000)
        mark = self.start("lim")
        failed = self.bus.wait_state("lim", "failed", since=mark)
        self.assertEqual(failed["reason"], "start-limit")
        self.assertIn("3", failed["error"])
        trans = self.bus.transitions("lim", since=mark)
        self.assertEqual(sum(1 for o, n, _d in trans if (o, n) == ("up", "starting")), 3)
        rt = self.bus.runtime("lim")
        self.assertEqual(rt["state"], "failed")
        self.assertEqual(rt["restarts"], 3)
        self.assertEqual(rt["last-error"], failed["error"])
        # It stays failed: no further start.
        mark = self.bus.mark()
        self.bus.settle(0.3)
        self.assertEqual(self.bus.transitions("lim", since=mark), [])
        # A manual start is allowed again.
        mark = self.bus.mark()
        self.bus.call("Start", "lim")
        self.bus.wait_state("lim", "up", since=mark)
        self.bus.call("Update", "lim", {"restart": "no"})

    def test_kill_9_comes_back_with_new_pid(self):
        self.add("k9", "exec sleep 100", restart="always")
        mark = self.start("k9")
        pid1 = self.bus.wait_state("k9", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid1)
        mark = self.bus.mark()
        os.kill(pid1, signal.SIGKILL)
        policy = self.bus.wait_state("k9", "starting", since=mark)
        self.assertEqual(policy["restart-reason"], "signal")
        up = self.bus.wait_state("k9", "up", since=mark)
        pid2 = up["main-pid"]
        self.jobd.note_pid(pid2)
        self.assertNotEqual(pid1, pid2)
        self.assertTrue(pid_alive(pid2))
        rt = self.bus.runtime("k9")
        self.assertEqual((rt["state"], rt["main-pid"], rt["restarts"]), ("up", pid2, 1))
        self.assertEqual(rt["last-restart-reason"], "signal")
        self.stop_and_wait_any("k9")

    def test_start_during_pending_restart_starts_now(self):
        self.add("pend", "exit 1", restart="always", restart_delay_ms=60000,
                 restart_delay_max_ms=60000)
        mark = self.start("pend")
        policy = self.bus.wait_state("pend", "starting", since=mark, old_state="up")
        self.assertEqual(policy["delay-ms"], 60000)
        self.assertGreater(self.bus.runtime("pend")["next-start-at"], 0)
        self.assertGreater(self.bus.get_all("pend")["NextStartAt"], 0)
        t0 = time.monotonic()
        mark = self.bus.mark()
        self.bus.call("Start", "pend")
        self.bus.wait_state("pend", "up", since=mark)
        self.assertLess(time.monotonic() - t0, DEADLINE)
        # Stop while a restart is pending: down at once, nothing pending.
        policy = self.bus.wait_state("pend", "starting", since=mark, old_state="up")
        mark = self.bus.mark()
        self.bus.call("Stop", "pend")
        down = self.bus.wait_state("pend", "down", since=mark)
        self.assertEqual(down["reason"], "manual")
        self.assertEqual(self.bus.runtime("pend")["next-start-at"], 0)


if __name__ == "__main__":
    main()
