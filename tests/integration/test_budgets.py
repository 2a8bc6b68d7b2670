# SPDX-License-Identifier: MIT
"""What one user may make jobd hold ([Daemon] MaxJobsPerUser and
MaxSettingsPerUser): any local
user may add jobs, so one of them could grow jobd's memory, its state file
and the process table without bound. Past the budget an add, an update of
`instances` or a scale is refused with Busy naming the limit; instances
count; removing a job frees its share; root is not bounded. The client
runs as nobody through jobctl, as a local user would."""
import json
import os
import subprocess

from gi.repository import GLib

from jobdtest import (DEADLINE, PYTHON, JobdTestCase, as_nobody, main, run_jobctl,
                      wait_until)

BUDGET = 5


class PerUserJobs(JobdTestCase):
    config_extra = "\n[Daemon]\nMaxJobsPerUser=%d\n" % BUDGET

    def jobctl_as_nobody(self, *args):
        return run_jobctl(list(args), address=self.jobd.address, preexec_fn=as_nobody(), cwd="/")

    def assert_refused(self, result):
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("MaxJobsPerUser=%d" % BUDGET, result.stderr)

    def add_as_nobody(self, name, *options):
        return self.jobctl_as_nobody("add", name, *options, "--", "/bin/sleep", "1000")

    def test_adds_past_the_budget_are_refused_and_a_remove_frees_one(self):
        for i in range(BUDGET):
            result = self.add_as_nobody("n-%d" % i)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_refused(self.add_as_nobody("n-extra"))
        self.assertNotIn("n-extra", [row[0] for row in self.bus.list_rows()])
        # Root is not bounded by it.
        for i in range(BUDGET + 2):
            self.bus.call("Add", "root-%d" % i, {"command": "/bin/true"})
        # A remove gives the share back.
        result = self.jobctl_as_nobody("remove", "n-0")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.add_as_nobody("n-extra")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_instances_count_in_the_budget(self):
        result = self.add_as_nobody("pool", "--instances=%d" % (BUDGET - 1))
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.add_as_nobody("one")
        self.assertEqual(result.returncode, 0, result.stderr)
        # Full: one more instance of either is refused, by add, update and scale.
        self.assert_refused(self.add_as_nobody("two"))
        self.assert_refused(self.jobctl_as_nobody("scale", "pool", str(BUDGET)))
        self.assert_refused(self.jobctl_as_nobody("update", "one", "--instances=2"))
        self.assertEqual(self.bus.call("GetSettings", "pool")["instances"], BUDGET - 1)
        # Scaling down makes room again.
        result = self.jobctl_as_nobody("scale", "pool", str(BUDGET - 2))
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.add_as_nobody("two")
        self.assertEqual(result.returncode, 0, result.stderr)


class PerUserSettings(JobdTestCase):
    """MaxSettingsPerUser: 1000 jobs of a few MiB of environment each would
    be gigabytes of jobd's memory and state file; what one user's jobs'
    settings take together is bounded."""
    config_extra = "\n[Daemon]\nMaxSettingsPerUser=64K\n"

    def jobctl_as_nobody(self, *args):
        return run_jobctl(list(args), address=self.jobd.address, preexec_fn=as_nobody(), cwd="/")

    def test_settings_bytes_are_bounded_per_user(self):
        big = "--env=BLOB=" + "x" * 40000
        result = self.jobctl_as_nobody("add", "first", big, "--", "/bin/true")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.jobctl_as_nobody("add", "second", big, "--", "/bin/true")
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("MaxSettingsPerUser=65536", result.stderr)
        # An update that grows the first past it is refused too (--env
        # replaces the environment); a small job fits.
        result = self.jobctl_as_nobody("update", "first", "--env=MORE=" + "y" * 70000)
        self.assertIn("MaxSettingsPerUser=65536", result.stderr)
        result = self.jobctl_as_nobody("add", "second", "--env=A=b", "--", "/bin/true")
        self.assertEqual(result.returncode, 0, result.stderr)
        # Root is not bounded by it.
        self.bus.add("root-big", "/bin/true",
                     environment=GLib.Variant("a{ss}", {"BLOB": "z" * 100000}))


FOLLOWERS_PER_USER = 128

# As nobody: FollowOutput `count` times on one connection, keeping every
# pipe; prints how many were given and the errors of the others.
FOLLOW_MANY = """
import json, sys
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(
    sys.argv[1], Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
kept, errors = [], []
for _ in range(int(sys.argv[3])):
    try:
        kept.append(conn.call_with_unix_fd_list_sync(
            None, "/org/jobd1", "org.jobd1.Manager", "FollowOutput",
            GLib.Variant("(s)", (sys.argv[2],)), None, Gio.DBusCallFlags.NONE, 30000, None, None))
    except GLib.Error as e:
        errors.append(Gio.DBusError.get_remote_error(e))
print(json.dumps({"ok": len(kept), "errors": errors}))
"""


class PerUserFollowers(JobdTestCase):
    """Each follower is a descriptor of jobd's and a pipe of up to 1 MiB of
    kernel memory (root's pipes are not bounded by the user's pipe limits):
    one user holds at most JOBD_FOLLOWERS_PER_USER at once."""

    def follow_as_nobody(self, count):
        out = subprocess.run([PYTHON, "-c", FOLLOW_MANY, self.jobd.address, "talk", str(count)],
                             capture_output=True, text=True, timeout=DEADLINE * 4,
                             preexec_fn=as_nobody(), cwd="/")
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_followers_are_bounded_per_user_and_given_back(self):
        self.bus.add("talk", "/bin/sleep", ["100000"])
        self.bus.call("Start", "talk")
        fds_before = len(os.listdir("/proc/%d/fd" % self.jobd.proc.pid))
        result = self.follow_as_nobody(FOLLOWERS_PER_USER + 3)
        self.assertEqual(result["ok"], FOLLOWERS_PER_USER, result)
        self.assertEqual(result["errors"], ["org.jobd1.Error.Busy"] * 3)
        # The reader gone, its followers go with it: the next user's full share.
        wait_until(lambda: len(os.listdir("/proc/%d/fd" % self.jobd.proc.pid)) <= fds_before,
                   "jobd to close the followers of a reader that went")
        self.assertEqual(self.follow_as_nobody(FOLLOWERS_PER_USER)["ok"], FOLLOWERS_PER_USER)


if __name__ == "__main__":
    main()
