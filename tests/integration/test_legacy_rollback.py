# SPDX-License-Identifier: MIT
"""A legacy plugin change that cannot be saved is not made (issue 10): with
the state directory read-only, AUTH.ADD/UPDATE/DELETE/SETENABLE and
SCHEDULER.ADD/DELETE answer FAILED and AUTH.GETALL, AUTH.GETENABLE and
SCHEDULER.GETALL show what is on disk; once the directory is writable again,
an unrelated change and a restart do not bring a refused change back (before,
the refused change stayed in memory and the next save wrote it).

The state directory is a small tmpfs mounted by the test (root only)."""

from jobdtest import main
import test_durability
from test_durability import DurabilityCase, mount

DAILY = {"H": "03", "i": "00"}
HOURLY = {"i": "15"}
WEEKLY = {"d": "@t", "H": 23}


class LegacyRollback(DurabilityCase):
    legacy = True

    def cmd(self, command, params=None):
        return test_durability.ReadOnlyState.legacy_cmd(self, command, params or {})

    def ok(self, command, params=None):
        r = self.cmd(command, params)
        self.assertEqual(r["code"], "OK", "%s: %r" % (command, r))
        return r.get("data")

    def state_of_plugins(self):
        return (self.ok("AUTH.GETALL"), self.ok("AUTH.GETENABLE"), self.ok("SCHEDULER.GETALL"))

    def test_refused_changes_are_not_kept(self):
        self.bus.add("job", "/bin/true")
        self.ok("AUTH.ADD", {"username": "admin", "password": "s3cret", "privileges": "*"})
        self.ok("AUTH.ADD", {"username": "viewer", "password": "v13w",
                             "privileges": "STATUSALL"})
        kept = self.ok("SCHEDULER.ADD", {"jobname": "job", "enable": True, "condition": DAILY})
        self.restart_jobd()             # nothing open for writing: it can go read-only
        before = self.state_of_plugins()
        mount("-o", "remount,ro", self.jobd.state_dir)
        try:
            for command, params in (
                    ("AUTH.ADD", {"username": "refused", "password": "x", "privileges": "*"}),
                    ("AUTH.UPDATE", {"username": "viewer", "privileges": "*",
                                     "password": "changed"}),
                    ("AUTH.DELETE", {"username": "admin"}),
                    ("AUTH.SETENABLE", {"enable": True}),
                    ("SCHEDULER.ADD", {"jobname": "job", "enable": True, "condition": HOURLY}),
                    ("SCHEDULER.DELETE", {"jobname": "job", "uuid": kept})):
                self.assertEqual(self.cmd(command, params), {"code": "FAILED"}, command)
            # Memory is what is on disk.
            self.assertEqual(self.state_of_plugins(), before)
        finally:
            mount("-o", "remount,rw", self.jobd.state_dir)
        # Unrelated changes are saved; the refused ones are not saved with them.
        self.ok("AUTH.ADD", {"username": "later", "password": "l8r", "privileges": "STATUS"})
        added = self.ok("SCHEDULER.ADD", {"jobname": "job", "enable": False,
                                          "condition": WEEKLY})
        self.restart_jobd()
        users, enable, schedules = self.state_of_plugins()
        self.assertEqual(sorted(users), ["admin", "later", "viewer"])
        self.assertEqual(users["viewer"], before[0]["viewer"])
        self.assertFalse(enable)
        self.assertEqual(sorted(schedules["job"]), sorted([kept, added]))
        self.assertEqual(schedules["job"][kept], {"enable": True, "condition": DAILY})
        # The refused password change did not happen: the old one still works.
        self.ok("AUTH.SETENABLE", {"enable": True})
        self.assertEqual(self.cmd("STATUSALL", {"auth": {"username": "viewer",
                                                         "password": "v13w"}})["code"], "OK")


if __name__ == "__main__":
    main()
