# SPDX-License-Identifier: MIT
"""Job log file retention in the core ([Daemon] LogMaxAge=, LogMaxSize=):
a jobd starting over an old log tree expires files by age and, per job, by
size, keeps the last hour's files, and leaves the tree alone with neither
key (the default). Real files under the log directory, aged with utime
(utimensat). Every file is younger than 7 days, so the legacy logcleaner
plugin ([Legacy] LogExpireDays=7) leaves it alone: what goes, the core
deleted."""
import os
import shutil
import time

from jobdtest import Jobd, wait_until, main  # noqa: E402
import unittest

DAY = 24 * 3600


class Retention(unittest.TestCase):
    def start(self, config):
        self.jobd = Jobd(config_extra=config)
        self.addCleanup(self.jobd.cleanup)
        self.now = time.time()
        self.files = {}
        return self.jobd

    def make(self, relative, size, age):
        path = os.path.join(self.jobd.log_dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"x" * size)
        mtime = self.now - age
        os.utime(path, (mtime, mtime))
        self.files[relative] = path
        return path

    def exists(self, relative):
        return os.path.exists(os.path.join(self.jobd.log_dir, relative))

    def run_jobd(self):
        self.jobd.start()
        self.addCleanup(self.jobd.stop)

    def test_age_and_size_at_start(self):
        self.start("LogMaxAge=2d\nLogMaxSize=3K\n")
        self.make("jobs/a/20260101/2026010100.log", 100, 6 * DAY)       # too old
        self.make("jobs/a/20260110/2026011000.error.log", 100, 3 * DAY)  # too old
        self.make("jobs/b/20260111/2026011100.log", 2048, DAY + 60)      # b: 4 KiB,
        self.make("jobs/b/20260111/2026011101.log", 2048, DAY)           # the oldest goes
        self.make("jobs/c/20260111/2026011100.log", 5000, 600)           # written to lately
        self.make("server/20260101/2026010100.log", 100, 5 * DAY)
        self.make("server/20260112/2026011200.log", 100, 3600 * 5)
        os.utime(os.path.join(self.jobd.log_dir, "jobs/a/20260101"),
                 (self.now - 6 * DAY, self.now - 6 * DAY))
        self.run_jobd()

        gone = ["jobs/a/20260101/2026010100.log", "jobs/a/20260110/2026011000.error.log",
                "jobs/b/20260111/2026011100.log", "server/20260101/2026010100.log"]
        wait_until(lambda: not any(self.exists(f) for f in gone),
                   "the expired log files to be deleted: %s" % gone)
        for kept in ("jobs/b/20260111/2026011101.log", "jobs/c/20260111/2026011100.log",
                     "server/20260112/2026011200.log"):
            self.assertTrue(self.exists(kept), kept)
        self.assertFalse(self.exists("jobs/a/20260101"), "an old day folder left empty")
        wait_until(lambda: "log retention: removed" in self.jobd.stderr(),
                   "jobd to say what it removed")

    def test_default_keeps_everything(self):
        self.start("")
        self.make("jobs/a/20200101/2020010100.log", 100000, 6 * DAY)
        self.run_jobd()
        # jobd answers only after its start-up pass was scheduled; stop it so
        # any pass in progress has ended (jobd waits for it), then look.
        self.jobd.stop()
        self.assertTrue(self.exists("jobs/a/20200101/2020010100.log"))

    def test_bad_value_is_refused(self):
        jobd = self.start("LogMaxAge=forever\n")
        self.make("jobs/a/20200101/2020010100.log", 1, 2000 * DAY)
        err_path = os.path.join(jobd.root, "bad.stderr")
        with open(err_path, "w") as err:
            proc = jobd.spawn(err)
            self.assertEqual(proc.wait(30), 1)
        with open(err_path) as f:
            self.assertIn("[Daemon] LogMaxAge: expected a time in seconds", f.read())
        self.assertTrue(self.exists("jobs/a/20200101/2020010100.log"))


if __name__ == "__main__":
    main()
