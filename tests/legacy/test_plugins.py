#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plugin commands: auth (DENIED rules, hashes never returned) and
logexplorer (listing, reading, confinement to the log directory)."""
import json
import os
import unittest

from legacy import Jobd


class Auth(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd()

    def tearDown(self):
        self.jobd.stop()

    def cmd(self, command, params=None, auth=None):
        params = dict(params or {})
        if auth is not None:
            params["auth"] = {"username": auth[0], "password": auth[1]}
        return self.jobd.cmd(command, params or None)

    def test_auth_sequence(self):
        self.assertEqual(self.cmd("AUTH.GETENABLE"), {"code": "OK", "data": False})
        self.assertEqual(self.cmd("AUTH.SETENABLE", {"enable": True}), {"code": "OK"})
        self.assertEqual(self.cmd("AUTH.GETENABLE"), {"code": "OK", "data": True})
        # Enabled without users: everything passes.
        self.assertEqual(self.cmd("STATUSALL")["code"], "OK")

        self.assertEqual(self.cmd("AUTH.ADD", {"username": "admin", "password": "s3cret",
                                               "privileges": "*", "note": "boss"}),
                         {"code": "OK"})
        # From now on credentials are required, for every command word.
        for command in ("STATUSALL", "AUTH.GETALL", "NO.SUCH.COMMAND"):
            self.assertEqual(self.cmd(command), {"code": "DENIED"})
        self.assertEqual(self.cmd("STATUSALL", auth=("admin", "wrong")), {"code": "DENIED"})
        self.assertEqual(self.cmd("STATUSALL", auth=("nobody", "s3cret")), {"code": "DENIED"})
        self.assertEqual(self.cmd("STATUSALL", auth=("admin", "s3cret"))["code"], "OK")
        self.assertEqual(self.cmd("NO.SUCH.COMMAND", auth=("admin", "s3cret")),
                         {"code": "UNKNOWN"})
        self.assertEqual(self.jobd.cmd("STATUSALL", {"auth": "admin"}), {"code": "DENIED"})

        admin = ("admin", "s3cret")
        self.assertEqual(self.cmd("AUTH.ADD", {"username": "admin", "password": "x",
                                               "privileges": "*"}, auth=admin),
                         {"code": "FAILED"})
        self.assertEqual(self.cmd("AUTH.ADD", {"username": "viewer", "password": "v",
                                               "privileges": "STATUS,STATUSALL,STATUS"},
                                  auth=admin), {"code": "OK"})
        viewer = ("viewer", "v")
        self.assertEqual(self.cmd("STATUSALL", auth=viewer)["code"], "OK")
        self.assertEqual(self.cmd("GETALL", auth=viewer), {"code": "DENIED"})
        self.assertEqual(self.cmd("AUTH.GETALL", auth=viewer), {"code": "DENIED"})

        record = self.cmd("AUTH.GET", {"username": "viewer"}, auth=admin)
        self.assertEqual(record, {"code": "OK",
                                  "data": {"privileges": "STATUS,STATUSALL"}})
        everyone = self.cmd("AUTH.GETALL", auth=admin)["data"]
        self.assertEqual(sorted(everyone), ["admin", "viewer"])
        self.assertEqual(everyone["admin"], {"privileges": "*", "note": "boss"})
        self.assertNotIn("s3cret", json.dumps(everyone))
        self.assertEqual(self.cmd("AUTH.GET", {"username": "ghost"}, auth=admin),
                         {"code": "FAILED"})

        # The store holds no plain password.
        with open(os.path.join(self.jobd.state, "plugins", "auth.json")) as f:
            stored = f.read()
        self.assertNotIn("s3cret", stored)
        self.assertEqual(os.stat(os.path.join(self.jobd.state, "plugins", "auth.json")).st_mode
                         & 0o077, 0)

        self.assertEqual(self.cmd("AUTH.UPDATE", {"username": "viewer", "password": "new",
                                                  "privileges": "GETALL"}, auth=admin),
                         {"code": "OK"})
        self.assertEqual(self.cmd("GETALL", auth=viewer), {"code": "DENIED"})
        self.assertEqual(self.cmd("GETALL", auth=("viewer", "new"))["code"], "OK")
        self.assertEqual(self.cmd("AUTH.UPDATE", {"username": "ghost"}, auth=admin),
                         {"code": "FAILED"})
        self.assertEqual(self.cmd("AUTH.DELETE", {"username": "viewer"}, auth=admin),
                         {"code": "OK"})
        self.assertEqual(self.cmd("GETALL", auth=("viewer", "new")), {"code": "DENIED"})

        # Credentials are not stored as job settings.
        self.assertEqual(self.cmd("ADD", {"jobname": "j", "command": "/bin/true"}, auth=admin),
                         {"code": "OK"})
        self.assertNotIn("auth", self.cmd("GET", {"jobname": "j"}, auth=admin)["data"])

        self.assertEqual(self.cmd("AUTH.SETENABLE", {"enable": False}, auth=admin),
                         {"code": "OK"})
        self.assertEqual(self.cmd("STATUSALL")["code"], "OK")


class LogExplorer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd()
        logs = cls.jobd.logs
        for day, hours in (("20240101", ("2024010100", "2024010101")), ("20240102", ("2024010200",))):
            os.makedirs(os.path.join(logs, "jobs", "web", day), exist_ok=True)
            for hour in hours:
                with open(os.path.join(logs, "jobs", "web", day, hour + ".log"), "w") as f:
                    f.write("[24-01-01 00:00:00] line of %s\n" % hour)
        os.makedirs(os.path.join(logs, "server", "20240101"), exist_ok=True)
        with open(os.path.join(logs, "server", "20240101", "2024010100.log"), "w") as f:
            f.write("server line\n")
        # Bait outside the log directory, and symlinks pointing at it.
        cls.secret = os.path.join(cls.jobd.tmp, "secret.txt")
        with open(cls.secret, "w") as f:
            f.write("TOP SECRET\n")
        os.symlink(cls.secret, os.path.join(logs, "jobs", "web", "20240101", "link.log"))
        os.symlink(cls.jobd.tmp, os.path.join(logs, "jobs", "web", "20991231"))
        os.symlink(cls.jobd.tmp, os.path.join(logs, "jobs", "escape"))

    @classmethod
    def tearDownClass(cls):
        cls.jobd.stop()

    def cmd(self, *args):
        return self.jobd.cmd(*args)

    def test_lists_newest_first(self):
        self.assertEqual(self.cmd("LOGEXPLORER.LISTDIR", {"jobname": "web"}),
                         {"code": "OK", "data": ["20240102", "20240101"]})
        self.assertEqual(self.cmd("LOGEXPLORER.LISTFILE", {"jobname": "web", "dirname": "20240101"}),
                         {"code": "OK", "data": ["2024010101.log", "2024010100.log"]})
        # jobd's own log adds today's folder beside the planted one.
        days = self.cmd("LOGEXPLORER.SERVERLISTDIR")
        self.assertEqual(days["code"], "OK")
        self.assertIn("20240101", days["data"])
        self.assertEqual(days["data"], sorted(days["data"], reverse=True))
        self.assertEqual(self.cmd("LOGEXPLORER.SERVERLISTFILE", {"dirname": "20240101"}),
                         {"code": "OK", "data": ["2024010100.log"]})

    def test_reads(self):
        self.assertEqual(self.cmd("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240102",
                                                      "filename": "2024010200.log"}),
                         {"code": "OK", "data": "[24-01-01 00:00:00] line of 2024010200\n"})
        self.assertEqual(self.cmd("LOGEXPLORER.SERVERGET", {"dirname": "20240101",
                                                            "filename": "2024010100.log"}),
                         {"code": "OK", "data": "server line\n"})

    def test_confined(self):
        attempts = [
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240101", "filename": "link.log"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20991231", "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "..", "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "../../..", "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "..", "dirname": "..", "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240101",
                                 "filename": "../../../../secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240101", "filename": self.secret}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": self.jobd.tmp, "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "escape", "dirname": ".", "filename": "secret.txt"}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240101", "filename": ""}),
            ("LOGEXPLORER.GET", {"jobname": "web", "dirname": "20240101",
                                 "filename": "2024010100.log\u0000../../secret.txt"}),
            ("LOGEXPLORER.LISTFILE", {"jobname": "web", "dirname": ".."}),
            ("LOGEXPLORER.LISTFILE", {"jobname": "web", "dirname": "20991231"}),
            ("LOGEXPLORER.LISTDIR", {"jobname": "escape"}),
            ("LOGEXPLORER.LISTDIR", {"jobname": "../.."}),
            ("LOGEXPLORER.SERVERLISTFILE", {"dirname": "../jobs/web"}),
            ("LOGEXPLORER.SERVERGET", {"dirname": "..", "filename": "secret.txt"}),
            ("LOGEXPLORER.SERVERGET", {"dirname": "/", "filename": "etc/passwd"}),
        ]
        for command, params in attempts:
            r = self.cmd(command, params)
            self.assertEqual(r, {"code": "FAILED"}, (command, params, r))
        # Symlinks are not listed either.
        files = self.cmd("LOGEXPLORER.LISTFILE", {"jobname": "web", "dirname": "20240101"})["data"]
        self.assertNotIn("link.log", files)
        self.assertNotIn("20991231", self.cmd("LOGEXPLORER.LISTDIR", {"jobname": "web"})["data"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
