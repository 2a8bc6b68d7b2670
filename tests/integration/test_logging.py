# SPDX-License-Identifier: MIT
"""jobd in the foreground without a journal: one plain, greppable line per
message on stderr ("jobd: job demo: up -> down (exit code 3)"), never GLib's
"** Message: 22:02:44.665:" lines; G_MESSAGES_DEBUG=jobd shows debug lines."""
import os

from gi.repository import GLib

from jobdtest import JobdTestCase, wait_until, main  # noqa: E402


class PlainStderr(JobdTestCase):

    def setUp(self):
        # A JOURNAL_STREAM that does not name jobd's stderr (a file here) is
        # inherited, not meant for jobd: the lines stay plain on stderr.
        saved = {k: os.environ.get(k) for k in ("G_MESSAGES_DEBUG", "JOURNAL_STREAM")}
        os.environ["G_MESSAGES_DEBUG"] = "jobd"
        os.environ["JOURNAL_STREAM"] = "1:2"
        try:
            super().setUp()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def wait_stderr(self, text):
        wait_until(lambda: text in self.jobd.stderr(), "%r on jobd's stderr" % text)

    def test_lines_are_plain_and_say_why(self):
        self.bus.add("demo", "/bin/sh", ["-c", "exit 3"], restart="no")
        mark = self.bus.mark()
        self.bus.call("Start", "demo")
        self.bus.wait_state("demo", "down", since=mark, old_state="up")
        self.bus.add("broken", "/nonexistent/program", restart="no")
        with self.assertRaises(GLib.Error):
            self.bus.call("Start", "broken")
        self.wait_stderr("jobd: job demo: up -> down (exit code 3)\n")
        self.wait_stderr("jobd: job demo: down -> starting (manual)\n")
        self.wait_stderr("jobd: WARNING: job broken: cannot start: ")
        self.wait_stderr("jobd: job broken added\n")

        text = self.jobd.stderr()
        self.assertNotIn("** Message", text)
        self.assertNotIn("-Message", text)
        for line in text.splitlines():
            self.assertTrue(line.startswith("jobd: "), "not a plain jobd line: %r" % line)

    def test_g_messages_debug_shows_debug_lines(self):
        # A follower that goes away is a debug message about the job.
        self.bus.add("talk", "/bin/sleep", ["100"])
        _, fds = self.bus.call("FollowOutput", "talk")
        for fd in fds.steal_fds():
            os.close(fd)
        self.wait_stderr("jobd: debug: Closing a follower of job talk")


if __name__ == "__main__":
    main()
