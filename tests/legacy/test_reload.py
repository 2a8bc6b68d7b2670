#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ReloadConfig and SIGHUP re-read [Legacy]: the limits and Interpreter
apply at once; a changed key that is fixed at start-up (Listen, User,
Plugins, …) keeps its old value, and the reload says which keys need a
restart, in jobd's log and in the error ReloadConfig returns.

Before [Legacy] was read in one place, a reload changed none of it and said
nothing: a new MaxFrameSize was ignored and a new Listen silently not
applied."""
import os
import signal
import unittest

from legacy import DEADLINE, Jobd, frame, free_port, wait_for  # noqa: E402

from gi.repository import Gio, GLib  # noqa: E402

BASE = "[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\nListen=127.0.0.1:%d\nReadTimeoutSec=2\n"
# A request of about 300 bytes: under the default MaxFrameSize, over 128.
BIG = 'STATUSALL {"padding": "%s"}' % ("x" * 280)
RESTART_TEXT = "need a restart of jobd to take effect"


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.stop)
        self.conn = wait_for(self.jobd.ping, "jobd to answer on its private socket")

    def reload_config(self):
        """ReloadConfig over D-Bus: None, or the error's message."""
        try:
            self.conn.call_sync(None, "/org/jobd1", "org.jobd1.Manager", "ReloadConfig", None,
                                None, Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
            return None
        except GLib.Error as exc:
            return exc.message

    def log(self):
        self.jobd.stderr.flush()
        with open(self.jobd.stderr.name) as f:
            return f.read()

    def test_limits_apply_at_once(self):
        self.assertEqual(self.jobd.raw(frame(BIG))["code"], "OK")
        self.jobd.write_config(BASE % self.jobd.port + "MaxFrameSize=128\n")
        self.assertIsNone(self.reload_config())
        # The same request is now over MaxFrameSize: FAILED, connection closed.
        self.assertEqual(self.jobd.raw(frame(BIG))["code"], "FAILED")
        self.assertEqual(self.jobd.cmd("STATUSALL")["code"], "OK")
        self.assertNotIn(RESTART_TEXT, self.log())

    def test_restart_keys_named(self):
        other = free_port()
        self.jobd.write_config(BASE % other + "User=nobody\nPlugins=auth\nMaxFrameSize=128\n")
        message = self.reload_config()
        self.assertIsNotNone(message, "ReloadConfig said nothing of the keys it cannot apply")
        self.assertIn(RESTART_TEXT, message)
        for key in ("[Legacy] Listen", "[Legacy] User", "[Legacy] Plugins"):
            self.assertIn(key, message)
        self.assertNotIn("MaxFrameSize", message)
        wait_for(lambda: RESTART_TEXT in self.log(), "jobd to log the keys needing a restart")
        # The old Listen stays (and the old plugins: SCHEDULER.* still known),
        # the rest of the file is applied.
        self.assertEqual(self.jobd.cmd("SCHEDULER.GETALL")["code"], "OK")
        self.assertEqual(self.jobd.raw(frame(BIG))["code"], "FAILED")

        # SIGHUP says the same in the log.
        before = self.log().count(RESTART_TEXT)
        os.kill(self.jobd.proc.pid, signal.SIGHUP)
        wait_for(lambda: self.log().count(RESTART_TEXT) > before, "jobd to log it on SIGHUP")
        self.assertTrue(self.jobd.alive())

        # Back to the start-up values: nothing needs a restart any more.
        self.jobd.write_config(BASE % self.jobd.port)
        self.assertIsNone(self.reload_config())
        self.assertEqual(self.jobd.raw(frame(BIG))["code"], "OK")

    def test_wrong_value_changes_nothing(self):
        self.jobd.write_config(BASE % self.jobd.port + "MaxFrameSize=128\nMaxConnections=0\n")
        message = self.reload_config()
        self.assertIsNotNone(message)
        self.assertIn("MaxConnections", message)
        wait_for(lambda: "keeping the old configuration" in self.log(), "jobd to log the refusal")
        self.assertEqual(self.jobd.raw(frame(BIG))["code"], "OK")


if __name__ == "__main__":
    unittest.main()
