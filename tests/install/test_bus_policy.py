#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The system bus policy goes where dbus reads it, or meson says what to do.

dbus reads /usr/share/dbus-1/system.d and /etc/dbus-1/system.d only. For
each prefix/sysconfdir pair a fresh build directory is configured (nothing
is compiled: `meson introspect --installed` tells where each file would
go) and the destination of org.jobd1.conf checked; where it is elsewhere,
`meson setup` must print the exact `ln -s` to run, once.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE = os.environ["MESON_SOURCE_ROOT"]
DBUS_READS = ("/usr/share/dbus-1/system.d", "/etc/dbus-1/system.d")


def configure(*options):
    """(installed policy path, meson setup output) for these options."""
    build = tempfile.mkdtemp(prefix="jobd-policy-")
    try:
        setup = subprocess.run(["meson", "setup", build, SOURCE, "-Dtests=false", "-Dman=disabled"]
                               + list(options), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
        assert setup.returncode == 0, setup.stdout
        installed = subprocess.run(["meson", "introspect", build, "--installed"],
                                   stdout=subprocess.PIPE, text=True, check=True, timeout=60)
        policy = [dest for src, dest in json.loads(installed.stdout).items()
                  if src.endswith("/org.jobd1.conf") and "/dbus-1/" in dest]
        assert len(policy) == 1, installed.stdout
        return policy[0], setup.stdout
    finally:
        shutil.rmtree(build)


class BusPolicy(unittest.TestCase):
    def test_usr_prefix(self):
        policy, out = configure("--prefix=/usr", "--sysconfdir=/etc")
        self.assertEqual(policy, "/usr/share/dbus-1/system.d/org.jobd1.conf")
        self.assertNotIn("ln -s", out)

    def test_local_prefix_with_etc(self):
        # The README's command line: `meson setup build -Dsysconfdir=/etc ...`
        policy, out = configure("--prefix=/usr/local", "-Dsysconfdir=/etc", "-Dlocalstatedir=/var")
        self.assertEqual(policy, "/etc/dbus-1/system.d/org.jobd1.conf")
        self.assertNotIn("ln -s", out)

    def test_local_prefix_says_what_to_do_once(self):
        policy, out = configure("--prefix=/usr/local")
        self.assertEqual(policy, "/usr/local/share/dbus-1/system.d/org.jobd1.conf")
        self.assertNotIn(os.path.dirname(policy), DBUS_READS)
        command = "ln -s %s /etc/dbus-1/system.d/ && systemctl reload dbus" % policy
        warnings = [l for l in out.splitlines() if "WARNING" in l]
        self.assertEqual(len([l for l in warnings if command in l]), 1, out)
        # The summary repeats it where an installer looks last.
        self.assertRegex(out, r"to do once\s*: " + re.escape(command))

    def test_explicit_dir(self):
        policy, out = configure("--prefix=/opt/jobd", "-Ddbus_policy_dir=/etc/dbus-1/system.d")
        self.assertEqual(policy, "/etc/dbus-1/system.d/org.jobd1.conf")
        self.assertNotIn("ln -s", out)


if __name__ == "__main__":
    unittest.main()
