#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Migration of an old php-backend-server data/ folder: jobs, auth users
(passwords hashed), schedules with their UUIDs and fire logs; existing jobs
kept unless --force; a corrupt folder imports nothing. The result is checked
through the legacy protocol of a jobd started on the imported state.

The import runs as `jobd --import-legacy DIR [--force]` when jobd has that
option, else through legacy-import-helper (the same library call)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from legacy import JOBD, DEADLINE, frame, read_response, wait_for
# tests/common, on PYTHONPATH (tests/legacy/meson.build).
from jobdharness import JobdProcess, free_port, jobd_env, stop_pid, tcp_accepts

HELPER = os.environ.get("IMPORT_HELPER")
U1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
U2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
U3 = "16fd2706-8baf-433b-82eb-8c7fada847da"
U4 = "886313e1-3b8a-5372-9b90-0c9aee199e5d"
ADMIN = {"username": "admin", "password": "pw0rd"}


def jobd_has_import_option():
    out = subprocess.run([JOBD, "--help"], capture_output=True, text=True, timeout=DEADLINE)
    return "--import-legacy" in out.stdout


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)


class Instance(JobdProcess):
    """One state folder; jobd started and stopped on it as needed."""

    def __init__(self, tmp):
        super().__init__(JOBD, tmp)
        self.tmp, self.state = self.root, self.state_dir
        self.port = free_port()
        self.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                          "Listen=127.0.0.1:%d\nReadTimeoutSec=5\n" % self.port)

    def run_import(self, data, force=False):
        if jobd_has_import_option():
            argv = [JOBD] + self.options("--import-legacy", data)
        else:
            assert HELPER, "IMPORT_HELPER not set and jobd has no --import-legacy"
            argv = [HELPER] + self.options(data)
        if force:
            argv.append("--force")
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=jobd_env())

    def start(self):
        self.log = open(os.path.join(self.tmp, "jobd.stderr"), "a+")
        self.spawn(self.log)
        wait_for(self._accepting, "jobd to listen on port %d" % self.port)

    def _accepting(self):
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError("jobd exited: " + self.log.read())
        return tcp_accepts(self.port, 1)

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc, DEADLINE)
            self.log.close()
        self.proc = None

    def cmd(self, command, params=None, auth=True):
        params = dict(params or {})
        if auth:
            params["auth"] = ADMIN
        payload = command + (" " + json.dumps(params) if params else "")
        with socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE) as s:
            s.sendall(frame(payload))
            return read_response(s)


class Import(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="jobd-import-test-")
        self.jobd = Instance(self.tmp)
        self.data = os.path.join(self.tmp, "old", "data")
        self.script = os.path.join(self.tmp, "old", "worker.php")
        os.makedirs(self.data)
        with open(self.script, "w") as f:
            f.write("<?php echo 'hi';\n")
        write_json(os.path.join(self.data, "config.json"), {
            "web": {"command": self.script, "params": "-a 1", "buffersize": 50,
                    "writelog": True, "autostart": False, "guard": True, "owner": "team-a"},
            "cron": {"command": "/bin/sleep", "params": "100"},
            "existing": {"command": "/bin/echo"},
            "bad name!": {"command": "/bin/true"},
            "nocommand": {"params": "x"},
        })
        write_json(os.path.join(self.data, "plugins", "auth", "config.json"), {
            "enable": True,
            "users": {"admin": {"password": "pw0rd", "privileges": "*"},
                      "viewer": {"password": "v13w", "privileges": "STATUS,STATUSALL"}},
        })
        write_json(os.path.join(self.data, "plugins", "scheduler", "config.json"), {
            "web": {U1: {"enable": True, "condition": {"H": "03", "i": "00"}},
                    U2: {"enable": False, "condition": {"d": "@t"}}},
            "ghost": {U3: {"enable": True, "condition": {"i": "10"}}},
            "cron": {U4: {"enable": True, "condition": {"H": "25"}}},
        })
        write_json(os.path.join(self.data, "plugins", "scheduler", "log", "web", U1 + ".log"),
                   [1700000000, 1700086400, 1699913600])

    def tearDown(self):
        self.jobd.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def add_existing_job(self):
        self.jobd.start()
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "existing", "command": "/bin/cat"},
                                       auth=False), {"code": "OK"})
        self.jobd.stop()

    def test_import(self):
        self.add_existing_job()
        result = self.jobd.run_import(self.data)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        report = result.stdout
        for line in ("job web: imported", "job cron: imported", "job existing: skipped",
                     "job bad name!: skipped", "job nocommand: skipped",
                     "auth: imported user admin", "scheduler: imported %s of job web" % U1,
                     "scheduler: imported %s of job web" % U2,
                     "scheduler: skipped %s of job ghost" % U3,
                     "scheduler: skipped %s of job cron" % U4):
            self.assertIn(line, report)

        # No plain password anywhere in the new state.
        for root, _, files in os.walk(self.jobd.state):
            for name in files:
                with open(os.path.join(root, name), errors="replace") as f:
                    text = f.read()
                self.assertNotIn("pw0rd", text, name)
                self.assertNotIn("v13w", text, name)

        self.jobd.start()
        # Auth came over enabled: the old password works, nothing else does.
        self.assertEqual(self.jobd.cmd("GETALL", auth=False), {"code": "DENIED"})
        users = self.jobd.cmd("AUTH.GETALL")
        self.assertEqual(users, {"code": "OK", "data": {
            "admin": {"privileges": "*"}, "viewer": {"privileges": "STATUS,STATUSALL"}}})
        viewer = {"auth": {"username": "viewer", "password": "v13w"}}
        self.assertEqual(self.jobd.cmd("STATUSALL", viewer, auth=False)["code"], "OK")
        self.assertEqual(self.jobd.cmd("GETALL", viewer, auth=False), {"code": "DENIED"})

        jobs = self.jobd.cmd("GETALL")
        self.assertEqual(jobs["code"], "OK")
        self.assertEqual(sorted(jobs["data"]), ["cron", "existing", "web"])
        self.assertEqual(jobs["data"]["web"], {
            "command": self.script, "params": "-a 1", "buffersize": 50, "writelog": True,
            "autostart": False, "guard": True, "owner": "team-a"})
        self.assertEqual(jobs["data"]["cron"]["params"], "100")
        self.assertIs(jobs["data"]["cron"]["guard"], False)
        self.assertEqual(jobs["data"]["existing"]["command"], "/bin/cat")

        schedules = self.jobd.cmd("SCHEDULER.GETALL")
        self.assertEqual(schedules, {"code": "OK", "data": {"web": {
            U1: {"enable": True, "condition": {"H": "03", "i": "00"}},
            U2: {"enable": False, "condition": {"d": "@t"}}}}})
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETLOG", {"jobname": "web", "uuid": U1}),
                         {"code": "OK", "data": [1700086400, 1700000000, 1699913600]})
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETLOG", {"jobname": "web", "uuid": U2}),
                         {"code": "OK", "data": []})
        self.jobd.stop()

        # Again without --force: nothing changes; with it, the old record wins.
        result = self.jobd.run_import(self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("job web: skipped", result.stdout)
        self.assertIn("scheduler: skipped %s of job web: exists" % U1, result.stdout)
        result = self.jobd.run_import(self.data, force=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("job existing: replaced", result.stdout)
        self.jobd.start()
        self.assertEqual(self.jobd.cmd("GET", {"jobname": "existing"})["data"]["command"],
                         "/bin/echo")

    def test_corrupt_imports_nothing(self):
        write_json(os.path.join(self.data, "plugins", "scheduler", "config.json"), [1, 2])
        result = self.jobd.run_import(self.data)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not a JSON object", result.stderr)
        with open(os.path.join(self.data, "config.json"), "w") as f:
            f.write("{not json")
        result = self.jobd.run_import(self.data)
        self.assertNotEqual(result.returncode, 0)
        result = self.jobd.run_import(os.path.join(self.tmp, "missing"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not a directory", result.stderr)
        self.jobd.start()
        self.assertEqual(self.jobd.cmd("GETALL", auth=False), {"code": "OK", "data": {}})
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETALL", auth=False), {"code": "OK", "data": {}})


if __name__ == "__main__":
    unittest.main(verbosity=2)
