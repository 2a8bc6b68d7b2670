#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Core legacy commands against a running jobd: every command, every code,
the exact JSON types the PHP client sees."""
import os
import unittest

from legacy import Jobd, wait_for


def process_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line for PID %d" % pid)


class Core(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd("Interpreter=/bin/sh\n")
        cls.script = os.path.join(cls.jobd.tmp, "worker.sh")
        with open(cls.script, "w") as f:
            f.write("#!/bin/sh\necho \"hello $1\"\necho second\nexec sleep 600\n")
        os.chmod(cls.script, 0o755)
        # No execute bit: must run through the configured interpreter.
        cls.plain = os.path.join(cls.jobd.tmp, "plain.sh")
        with open(cls.plain, "w") as f:
            f.write("echo from-interpreter\nexec sleep 600\n")
        os.chmod(cls.plain, 0o644)

    @classmethod
    def tearDownClass(cls):
        cls.jobd.stop()

    def cmd(self, *args):
        return self.jobd.cmd(*args)

    def assertCode(self, response, code):
        self.assertEqual(response["code"], code, response)

    def test_add_get_update_delete(self):
        self.assertCode(self.cmd("ADD", {"jobname": "t1"}), "FAILED")   # no command
        self.assertCode(self.cmd("ADD", {"command": self.script}), "FAILED")  # no jobname
        r = self.cmd("ADD", {"jobname": "t1", "command": self.script, "params": "x",
                             "buffersize": 5, "writelog": True, "colour": "blue",
                             "weight": 3, "tags": ["a", 1]})
        self.assertCode(r, "OK")
        self.assertNotIn("data", r)
        self.assertCode(self.cmd("ADD", {"jobname": "t1", "command": self.script}), "FAILED")

        data = self.cmd("GET", {"jobname": "t1"})["data"]
        self.assertEqual(data["command"], self.script)
        self.assertEqual(data["params"], "x")
        self.assertIs(type(data["buffersize"]), int)
        self.assertEqual(data["buffersize"], 5)
        self.assertIs(data["writelog"], True)
        self.assertIs(data["guard"], False)
        self.assertIs(data["autostart"], False)
        self.assertEqual(data["colour"], "blue")
        self.assertIs(type(data["weight"]), int)
        self.assertEqual(data["tags"], ["a", 1])

        self.assertCode(self.cmd("UPDATE", {"jobname": "t1", "buffersize": 7,
                                            "guard": True, "colour": "red"}), "OK")
        data = self.cmd("GET", {"jobname": "t1"})["data"]
        self.assertEqual(data["buffersize"], 7)
        self.assertIs(data["guard"], True)
        self.assertEqual(data["colour"], "red")
        self.assertEqual(data["weight"], 3)        # merged, not replaced
        self.assertEqual(data["params"], "x")

        self.assertCode(self.cmd("UPDATE", {"jobname": "nope", "params": "y"}), "FAILED")
        self.assertCode(self.cmd("UPDATE", {"jobname": "t1", "buffersize": "many"}), "FAILED")
        self.assertCode(self.cmd("GET", {"jobname": "nope"}), "FAILED")

        all_jobs = self.cmd("GETALL")
        self.assertCode(all_jobs, "OK")
        self.assertIn("t1", all_jobs["data"])
        self.assertEqual(all_jobs["data"]["t1"]["buffersize"], 7)

        self.assertCode(self.cmd("DELETE", {"jobname": "t1"}), "OK")
        self.assertCode(self.cmd("DELETE", {"jobname": "t1"}), "FAILED")
        self.assertNotIn("t1", self.cmd("GETALL")["data"])

    def test_client_cannot_choose_user(self):
        r = self.cmd("ADD", {"jobname": "t2", "command": self.script, "user": "root",
                             "interpreter": "/bin/evil"})
        self.assertCode(r, "OK")
        data = self.cmd("GET", {"jobname": "t2"})["data"]
        # Kept as opaque extras, returned unchanged, never applied.
        self.assertEqual(data["user"], "root")
        self.assertEqual(data["interpreter"], "/bin/evil")
        self.assertCode(self.cmd("DELETE", {"jobname": "t2"}), "OK")

    def test_lifecycle(self):
        self.assertCode(self.cmd("ADD", {"jobname": "life", "command": self.script,
                                         "params": "world"}), "OK")
        self.assertEqual(self.cmd("STATUS", {"jobname": "life"})["data"], "DOWN")
        self.assertCode(self.cmd("STOP", {"jobname": "life"}), "FAILED")
        self.assertCode(self.cmd("RESTART", {"jobname": "life"}), "FAILED")
        self.assertCode(self.cmd("MEM", {"jobname": "life"}), "FAILED")

        self.assertCode(self.cmd("START", {"jobname": "life"}), "OK")
        # START answers once the process runs.
        self.assertEqual(self.cmd("STATUS", {"jobname": "life"})["data"], "UP")
        self.assertCode(self.cmd("START", {"jobname": "life"}), "FAILED")
        self.assertEqual(self.cmd("STATUSALL")["data"]["life"], "UP")
        # Jobs added over TCP never run as root (jobd runs as root here).
        pid = wait_for(lambda: self.jobd.recorded_pid("life"), "the job's PID on record")
        self.assertNotEqual(process_uid(pid), 0)

        wait_for(lambda: self.cmd("READ", {"jobname": "life"})["data"] == "hello world\nsecond",
                 "the job's output")
        # The script execs sleep right after its output: while that exec
        # runs, and just after it, the kernel's RSS count can read 0.
        wait_for(lambda: self.cmd("MEM", {"jobname": "life"}).get("data") not in (None, "0"),
                 "the job's memory to show")
        mem = self.cmd("MEM", {"jobname": "life"})
        self.assertCode(mem, "OK")
        self.assertIsInstance(mem["data"], str)
        self.assertTrue(mem["data"].isdigit() and int(mem["data"]) > 0, mem)
        memall = self.cmd("MEMALL")["data"]
        self.assertTrue(memall["life"].isdigit())

        self.assertCode(self.cmd("DELETE", {"jobname": "life"}), "FAILED")  # running
        self.assertCode(self.cmd("RESTART", {"jobname": "life"}), "OK")
        self.assertEqual(self.cmd("STATUS", {"jobname": "life"})["data"], "UP")
        self.assertCode(self.cmd("STOP", {"jobname": "life"}), "OK")
        wait_for(lambda: self.cmd("STATUS", {"jobname": "life"})["data"] == "DOWN",
                 "the job to stop")
        self.assertNotIn("life", self.cmd("MEMALL")["data"])
        self.assertCode(self.cmd("DELETE", {"jobname": "life"}), "OK")

    def test_interpreter_for_plain_scripts(self):
        self.assertCode(self.cmd("ADD", {"jobname": "plain", "command": self.plain}), "OK")
        self.assertCode(self.cmd("START", {"jobname": "plain"}), "OK")
        wait_for(lambda: self.cmd("READ", {"jobname": "plain"})["data"] == "from-interpreter",
                 "output of the interpreted script")
        self.assertCode(self.cmd("STOP", {"jobname": "plain"}), "OK")
        wait_for(lambda: self.cmd("STATUS", {"jobname": "plain"})["data"] == "DOWN",
                 "the job to stop")
        self.assertCode(self.cmd("DELETE", {"jobname": "plain"}), "OK")

    def test_start_missing_command(self):
        missing = os.path.join(self.jobd.tmp, "does-not-exist.php")
        self.assertCode(self.cmd("ADD", {"jobname": "gone", "command": missing}), "OK")
        self.assertCode(self.cmd("START", {"jobname": "gone"}), "FAILED")
        self.assertEqual(self.cmd("STATUS", {"jobname": "gone"})["data"], "DOWN")
        self.assertCode(self.cmd("DELETE", {"jobname": "gone"}), "OK")

    def test_unknown_jobs_fail(self):
        for command in ("DELETE", "GET", "START", "STOP", "RESTART", "STATUS", "READ", "MEM"):
            self.assertCode(self.cmd(command, {"jobname": "no-such-job"}), "FAILED")
            self.assertCode(self.cmd(command), "FAILED")   # jobname missing

    def test_server_commands(self):
        mem = self.cmd("SERVERMEM")
        self.assertCode(mem, "OK")
        self.assertIsInstance(mem["data"], str)
        self.assertTrue(mem["data"].isdigit() and int(mem["data"]) > 0)
        read = self.cmd("SERVERREAD")
        self.assertCode(read, "OK")
        self.assertIsInstance(read["data"], str)

    def test_unknown_commands(self):
        self.assertEqual(self.cmd("FROBNICATE"), {"code": "UNKNOWN"})
        self.assertEqual(self.cmd("status", {"jobname": "x"}), {"code": "UNKNOWN"})
        self.assertEqual(self.cmd("NOPE.NOPE"), {"code": "UNKNOWN"})

    def test_statusall_lists_every_job(self):
        for name in ("b-job", "a-job"):
            self.assertCode(self.cmd("ADD", {"jobname": name, "command": self.script}), "OK")
        statuses = self.cmd("STATUSALL")["data"]
        self.assertEqual(statuses.get("a-job"), "DOWN")
        self.assertEqual(statuses.get("b-job"), "DOWN")
        for name in ("b-job", "a-job"):
            self.assertCode(self.cmd("DELETE", {"jobname": name}), "OK")


if __name__ == "__main__":
    unittest.main(verbosity=2)
