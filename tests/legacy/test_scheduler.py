#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""SCHEDULER.* over raw frames: ADD/GET/GETALL/GETLOG/UPDATE/DELETE shapes and
exact JSON types, validation answers, persistence to the state file, and the
plugin switch. When schedules fire is covered by the unit test
(unit/legacy-scheduler) with an injected clock; waiting for a real minute
here would only make the suite slow."""
import json
import unittest
import uuid

from jobdharness import read_registry
from legacy import Jobd

DAILY = {"H": "03", "i": "00"}


class Scheduler(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd()

    @classmethod
    def tearDownClass(cls):
        cls.jobd.stop()

    def setUp(self):
        # Each test starts from no jobs (deleting a job drops its schedules).
        for name in self.cmd("GETALL")["data"]:
            self.assertEqual(self.cmd("DELETE", {"jobname": name}), {"code": "OK"})
        self.assertEqual(self.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {}})
        self.assertEqual(self.cmd("ADD", {"jobname": "job", "command": "/bin/true"}),
                         {"code": "OK"})

    def cmd(self, command, params=None):
        return self.jobd.cmd(command, params)

    def add(self, condition, enable=True, job="job"):
        return self.cmd("SCHEDULER.ADD", {"jobname": job, "enable": enable,
                                          "condition": condition})

    def test_add_get_getall_getlog(self):
        r = self.add(DAILY)
        self.assertEqual(r["code"], "OK")
        self.assertIsInstance(r["data"], str)
        self.assertEqual(str(uuid.UUID(r["data"])), r["data"])
        self.assertEqual(uuid.UUID(r["data"]).version, 4)
        first = r["data"]

        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": first}),
                         {"code": "OK", "data": {"enable": True, "condition": DAILY}})
        second = self.add({"d": "@t", "H": 23}, enable=False)["data"]
        self.assertNotEqual(first, second)
        # The condition comes back exactly as sent, integer included.
        self.assertEqual(self.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {"job": {
            first: {"enable": True, "condition": DAILY},
            second: {"enable": False, "condition": {"d": "@t", "H": 23}}}}})
        self.assertEqual(self.cmd("SCHEDULER.GETLOG", {"jobname": "job", "uuid": first}),
                         {"code": "OK", "data": []})

        # Kept with the job's settings (the schedules setting, since the
        # scheduler became a layer over it), no stray keys in the answers.
        stored = read_registry(self.jobd.state)["job"]["settings"]["schedules"]
        entry = [e for e in stored if e["id"] == first][0]
        self.assertEqual(json.loads(entry["spec"][len("legacy:"):]), DAILY)
        self.assertTrue(entry["enabled"])

    def test_duplicates(self):
        self.assertEqual(self.add(DAILY)["code"], "OK")
        self.assertEqual(self.add(DAILY), {"code": "FAILED"})
        # Same values written differently are the same condition.
        self.assertEqual(self.add({"i": 0, "H": "3"}), {"code": "FAILED"})
        self.assertEqual(self.add(DAILY, enable=False), {"code": "FAILED"})
        # Another job may have it.
        self.assertEqual(self.cmd("ADD", {"jobname": "other", "command": "/bin/true"}),
                         {"code": "OK"})
        self.assertEqual(self.add(DAILY, job="other")["code"], "OK")

    def test_update_delete(self):
        a = self.add(DAILY)["data"]
        b = self.add({"N": "1"})["data"]
        self.assertEqual(self.cmd("SCHEDULER.UPDATE", {"jobname": "job", "uuid": a,
                                                       "enable": False}), {"code": "OK"})
        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": a})["data"],
                         {"enable": False, "condition": DAILY})
        self.assertEqual(self.cmd("SCHEDULER.UPDATE", {"jobname": "job", "uuid": a,
                                                       "condition": {"W": "53", "N": "7"}}),
                         {"code": "OK"})
        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": a})["data"],
                         {"enable": False, "condition": {"W": "53", "N": "7"}})
        # Invalid or duplicate conditions leave the schedule as it was.
        for bad in ({"H": "24"}, {"N": "1"}, "daily", [1]):
            self.assertEqual(self.cmd("SCHEDULER.UPDATE", {"jobname": "job", "uuid": a,
                                                           "enable": True, "condition": bad}),
                             {"code": "FAILED"}, bad)
        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": a})["data"],
                         {"enable": False, "condition": {"W": "53", "N": "7"}})

        self.assertEqual(self.cmd("SCHEDULER.DELETE", {"jobname": "job", "uuid": a}),
                         {"code": "OK"})
        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": a}),
                         {"code": "FAILED"})
        self.assertEqual(self.cmd("SCHEDULER.DELETE", {"jobname": "job", "uuid": a}),
                         {"code": "FAILED"})
        self.assertEqual(list(self.cmd("SCHEDULER.GETALL")["data"]["job"]), [b])
        # Deleting the job drops its schedules.
        self.assertEqual(self.cmd("DELETE", {"jobname": "job"}), {"code": "OK"})
        self.assertEqual(self.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {}})

    def test_invalid_conditions(self):
        invalid = [
            {}, {"x": "1"}, {"m": "13"}, {"d": "32"}, {"d": "@x"}, {"H": "24"}, {"i": "60"},
            {"N": "8"}, {"W": "54"}, {"z": "366"}, {"U": "90"}, {"U": "0"},
            {"H": "03", "U": "7200"}, {"m": "01", "W": "1"}, {"d": "1", "N": "1"},
            {"z": "1", "m": "1"}, {"Y": "26"}, {"H": True}, {"H": 1.5}, {"H": None},
            {"H": "-1"}, {"m": "02", "d": "30"}, {"Y": "2025", "W": "53"},
        ]
        for condition in invalid:
            self.assertEqual(self.add(condition), {"code": "FAILED"}, condition)
        self.assertEqual(self.cmd("SCHEDULER.GETALL"), {"code": "OK", "data": {}})

    def test_invalid_params(self):
        a = self.add(DAILY)["data"]
        cases = [
            ("SCHEDULER.ADD", {"jobname": "job", "enable": True}),
            ("SCHEDULER.ADD", {"jobname": "job", "enable": True, "condition": "H=03"}),
            ("SCHEDULER.ADD", {"jobname": "job", "enable": True, "condition": [DAILY]}),
            ("SCHEDULER.ADD", {"jobname": "job", "enable": "yes", "condition": {"N": "2"}}),
            ("SCHEDULER.ADD", {"enable": True, "condition": {"N": "2"}}),
            ("SCHEDULER.ADD", {"jobname": "nosuchjob", "enable": True, "condition": {"N": "2"}}),
            ("SCHEDULER.ADD", {"jobname": "../job", "enable": True, "condition": {"N": "2"}}),
            ("SCHEDULER.ADD", {"jobname": 5, "enable": True, "condition": {"N": "2"}}),
            ("SCHEDULER.GET", {"jobname": "job"}),
            ("SCHEDULER.GET", {"jobname": "job", "uuid": 5}),
            ("SCHEDULER.GET", {"jobname": "job", "uuid": str(uuid.uuid4())}),
            ("SCHEDULER.GET", {"jobname": "nosuchjob", "uuid": a}),
            ("SCHEDULER.GET", {"jobname": "job", "uuid": "../" + a}),
            ("SCHEDULER.GETLOG", {"jobname": "job", "uuid": str(uuid.uuid4())}),
            ("SCHEDULER.UPDATE", {"jobname": "job", "uuid": str(uuid.uuid4()), "enable": True}),
            ("SCHEDULER.UPDATE", {"jobname": "job", "uuid": a, "enable": "no"}),
            ("SCHEDULER.DELETE", {"jobname": "job"}),
        ]
        for command, params in cases:
            self.assertEqual(self.cmd(command, params), {"code": "FAILED"}, (command, params))
        self.assertEqual(self.cmd("SCHEDULER.GET", {"jobname": "job", "uuid": a})["data"],
                         {"enable": True, "condition": DAILY})
        self.assertEqual(self.jobd.raw(b"\x10\x00\x00\x00SCHEDULER.GETALX"),
                         {"code": "UNKNOWN"})
        self.assertTrue(self.jobd.alive())


class PluginSwitch(unittest.TestCase):
    def test_scheduler_not_loaded(self):
        jobd = Jobd("Plugins=auth,logexplorer")
        try:
            self.assertEqual(jobd.cmd("SCHEDULER.GETALL"), {"code": "UNKNOWN"})
            self.assertEqual(jobd.cmd("AUTH.GETENABLE"), {"code": "OK", "data": False})
        finally:
            jobd.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
