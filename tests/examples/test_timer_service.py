# SPDX-License-Identifier: MIT
"""examples/timer-service: PHP tasks on a calendar schedule and an interval,
with an overlap policy, a run-time limit and the run history."""
from examplecase import ExampleCase
from jobdtest import main
import jobdtest

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")

# The calendar fires every 5 s, the interval every 3 s: two fires of each
# fit in this, with room for a loaded machine.
RUNS_DEADLINE = 30


class TimerService(ExampleCase):
    example = "timer-service"

    def setUp(self):
        super().setUp()
        out = self.sh("jobctl apply report.job cleanup.job").stdout
        self.assertIn("2 added", out)

    def runs(self, name, predicate, what):
        """Wait until the history has a finished run that predicate likes."""
        def find():
            done = [r for r in self.history(name) if r.get("end", 0) > 0]
            hits = [r for r in done if predicate(r)]
            return hits or None
        return self.bus.pump(find, "%s: %s" % (name, what), RUNS_DEADLINE, poll=0.2)

    def test_tasks_run_on_their_schedules_and_are_recorded(self):
        timers = self.sh("jobctl timers").stdout
        self.assertIn("*:*:0/5", timers)
        self.assertIn("every 3s", timers)
        for name in ("report", "cleanup"):
            runs = self.runs(name, lambda r: r["reason"] == "schedule" and
                             r["result"] == "exit-code" and r["exit-code"] == 0,
                             "a scheduled run that ended with exit 0")
            self.assertTrue(runs[0].get("trigger"), runs[0])
        shown = self.sh("jobctl history report").stdout
        self.assertIn("schedule", shown)
        # The calendar fires on every 5th second of the minute.
        for r in self.history("report"):
            self.assertEqual((r["start"] // 1000000) % 5, 0, r)

    def test_a_failing_task_shows_its_exit_code(self):
        self.sh("jobctl update cleanup --env=CLEANUP_FAIL=3")
        self.runs("cleanup", lambda r: r.get("exit-code") == 3, "a run with exit code 3")
        self.assertIn("exit 3", self.sh("jobctl history cleanup").stdout)

    def test_a_run_past_its_limit_is_stopped(self):
        self.sh("jobctl update cleanup --env=CLEANUP_SECONDS=10")
        r = self.runs("cleanup", lambda r: r.get("stop-cause") == "runtime-max",
                      "a run stopped at its run-time limit")[0]
        self.assertLess(r["end"] - r["start"], 9 * 1000000, r)
        self.assertIn("runtime-max", self.sh("jobctl history cleanup").stdout)

    def test_the_readme_end_removes_both_while_cleanup_runs(self):
        self.sh("jobctl update cleanup --env=CLEANUP_SECONDS=10")
        mark = self.bus.mark()
        self.bus.wait_state("cleanup", "up", since=mark, timeout=RUNS_DEADLINE)
        # Up most of the time now (2 s of every 3 s): jobd removes only a job
        # that is down, so the README takes the schedules away and stops first.
        self.sh("jobctl update report --no-schedules")
        self.sh("jobctl update cleanup --no-schedules")
        self.sh("jobctl stop --wait report cleanup")
        self.sh("jobctl remove report cleanup")
        self.assertEqual([], [row for row in self.bus.list_rows()
                              if row[0] in ("report", "cleanup")])


if __name__ == "__main__":
    main()
