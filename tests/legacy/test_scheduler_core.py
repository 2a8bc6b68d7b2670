#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The legacy scheduler as a layer over the job setting `schedules` and the
core timer engine: a schedule added over TCP shows in `jobctl timers` (and
GetTimers), one added with `jobctl --schedule` shows in SCHEDULER.GETALL,
and an older jobd's plugins/scheduler.json is migrated once at start with
its UUIDs and fire log."""
import json
import os
import subprocess
import unittest

from jobdharness import stop_pid
from legacy import Jobd, wait_for

JOBCTL = os.environ.get("JOBCTL", "jobctl")
DAILY = {"H": "03", "i": "00"}
OLD_UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


class Visibility(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.stop)
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "job", "command": "/bin/true"}),
                         {"code": "OK"})

    def jobctl(self, *args):
        env = dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C")
        proc = subprocess.run([JOBCTL] + list(args), env=env, capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def timers(self):
        return json.loads(self.jobctl("--json", "timers"))

    def test_tcp_schedule_shows_in_jobctl_timers(self):
        r = self.jobd.cmd("SCHEDULER.ADD", {"jobname": "job", "enable": True,
                                            "condition": DAILY})
        self.assertEqual(r["code"], "OK")
        rows = self.timers()
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["job"], rows[0]["id"], rows[0]["enabled"]),
                         ("job", r["data"], True))
        self.assertEqual(json.loads(rows[0]["spec"][len("legacy:"):]), DAILY)
        self.assertGreater(rows[0]["next-fire"], 0)
        self.assertIn(r["data"], self.jobctl("timers"))
        # Disabled and deleted over TCP: jobctl sees both.
        self.jobd.cmd("SCHEDULER.UPDATE", {"jobname": "job", "uuid": r["data"], "enable": False})
        self.assertFalse(self.timers()[0]["enabled"])
        self.jobd.cmd("SCHEDULER.DELETE", {"jobname": "job", "uuid": r["data"]})
        self.assertEqual(self.timers(), [])

    def test_jobctl_schedule_shows_in_getall(self):
        self.jobctl("update", "job", "--schedule", "every 1h", "--schedule",
                    'legacy:{"N":"1"}')
        ids = {row["spec"]: row["id"] for row in self.timers()}
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {"job": {
            ids["every 1h"]: {"enable": True, "condition": {"spec": "every 1h"}},
            ids['legacy:{"N":"1"}']: {"enable": True, "condition": {"N": "1"}}}}})
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETLOG", {"jobname": "job",
                                                            "uuid": ids["every 1h"]}),
                         {"code": "OK", "data": []})
        # The same condition again over TCP is a duplicate, as before.
        self.assertEqual(self.jobd.cmd("SCHEDULER.ADD", {"jobname": "job", "enable": True,
                                                         "condition": {"N": 1}}),
                         {"code": "FAILED"})

    def test_getlog_is_derived_from_the_run_history(self):
        # Runs of 3 s, fires every 2 s, overlap skip: every other fire is
        # skipped and starts no run, so GETLOG (the runs the schedule
        # started) lists times 4 s apart, not every fire.
        self.jobctl("add", "slow", "--schedule", "*:*:0/2", "--", "/bin/sleep", "3")
        sid = self.timers()[0]["id"]
        self.jobctl("start", "slow")      # a manual run: not the schedule's

        def history():
            return json.loads(self.jobctl("history", "slow", "--json"))
        wait_for(lambda: sum(r["reason"] == "schedule" for r in history()) >= 2,
                 "two scheduled runs", timeout=15)
        self.assertEqual(self.jobd.cmd("SCHEDULER.UPDATE", {"jobname": "slow", "uuid": sid,
                                                            "enable": False}), {"code": "OK"})
        wait_for(lambda: all(r.get("end") for r in history()), "the runs to end", timeout=10)
        runs = [r for r in history() if r["reason"] == "schedule" and r["trigger"] == sid]
        expected = sorted((r["start"] // 1000000 for r in runs), reverse=True)
        log = self.jobd.cmd("SCHEDULER.GETLOG", {"jobname": "slow", "uuid": sid})
        self.assertEqual(log, {"code": "OK", "data": expected})
        self.assertTrue(all(a - b >= 4 for a, b in zip(expected, expected[1:])), expected)


class Migration(unittest.TestCase):
    def test_old_scheduler_file_is_migrated_once(self):
        jobd = Jobd()
        self.addCleanup(jobd.stop)
        self.assertEqual(jobd.cmd("ADD", {"jobname": "job", "command": "/bin/true"}),
                         {"code": "OK"})
        stop_pid(jobd.proc, 10)
        path = os.path.join(jobd.state, "plugins", "scheduler.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"job": {OLD_UUID: {"enable": True, "condition": DAILY,
                                          "log": [1700000000, 1800000000]}},
                       "gone": {"7c9e6679-7425-40de-944b-e07fc1f90ae7":
                                {"enable": True, "condition": DAILY, "log": []}}}, f)
        jobd.stderr.seek(0)
        jobd.stderr.truncate()
        jobd.spawn(jobd.stderr)
        wait_for(jobd._accepting, "jobd to listen again")
        self.assertEqual(jobd.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": OLD_UUID}),
                         {"code": "OK", "data": {"enable": True, "condition": DAILY}})
        self.assertEqual(jobd.cmd("SCHEDULER.GETLOG", {"jobname": "job", "uuid": OLD_UUID}),
                         {"code": "OK", "data": [1800000000, 1700000000]})
        self.assertFalse(os.path.exists(path))
        self.assertTrue(os.path.exists(path + ".migrated"))
        # Once: a restart keeps the schedule (now in the job's settings).
        stop_pid(jobd.proc, 10)
        jobd.spawn(jobd.stderr)
        wait_for(jobd._accepting, "jobd to listen a third time")
        self.assertEqual(jobd.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {"job": {
            OLD_UUID: {"enable": True, "condition": DAILY}}}})
        self.assertEqual(jobd.cmd("SCHEDULER.GETLOG", {"jobname": "job", "uuid": OLD_UUID}),
                         {"code": "OK", "data": [1800000000, 1700000000]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
