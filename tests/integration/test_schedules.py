# SPDX-License-Identifier: MIT
"""Schedules in a job's settings and the timer engine behind them: calendar
and interval specs fire on time, `jobctl timers` and GetTimers show them,
the overlap policies, persistent catch-up after jobd's downtime, the
randomized delay, a job removed with a fire pending, bad specs refused with
the bad part named."""
import os
import time

from gi.repository import GLib

import jobdtest
from jobdtest import JobdTestCase, run_jobctl, wait_until, main

jobdtest.SIGNATURES.setdefault("GetTimers", None)
jobdtest.SIGNATURES.setdefault("ReloadConfig", None)


def schedules(*specs):
    return GLib.Variant("aa{sv}", [{"spec": GLib.Variant("s", s)} for s in specs])


class Schedules(JobdTestCase):

    def jobctl(self, *args, ok=True):
        proc = run_jobctl(list(args), address=self.jobd.address)
        if ok:
            self.assertEqual(proc.returncode, 0, "jobctl %s: %s%s"
                             % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def stamp_script(self, name, extra=""):
        path = os.path.join(self.jobd.root, name + ".stamps")
        return path, "date +%%s.%%N >> %s; %s" % (path, extra)

    @staticmethod
    def stamps(path):
        try:
            with open(path) as f:
                return [float(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def test_calendar_fires_every_five_seconds(self):
        path, script = self.stamp_script("tick")
        self.jobctl("add", "tick", "--schedule", "*:*:0/5", "--", "/bin/sh", "-c", script)
        out = self.jobctl("timers").stdout
        self.assertIn("tick", out)
        self.assertIn("*:*:0/5", out)
        self.assertIn("left", out)
        rows = self.bus.call("GetTimers")
        self.assertEqual(len(rows), 1)
        job, sid, spec, enabled, nxt, last = rows[0]
        self.assertEqual((job, spec, enabled), ("tick", "*:*:0/5", True))
        self.assertEqual(nxt % 5000000, 0, "next fire on a multiple of 5 s")
        self.assertGreater(nxt, time.time() * 1e6)
        self.assertEqual(self.bus.runtime("tick")["next-fire"], nxt)
        self.assertIn("NEXT", self.jobctl("list").stdout)
        mark = self.bus.mark()
        wait_until(lambda: len(self.stamps(path)) >= 2, "two runs of tick", timeout=16)
        runs = self.stamps(path)[:2]
        for t in runs:
            # exec'd at a multiple of 5 s, within half a second of it
            self.assertLess(t % 5, 0.5, "run at %.3f is not on a 5 s boundary" % t)
        self.assertAlmostEqual(runs[1] - runs[0], 5, delta=0.5)
        starting = self.bus.wait_state("tick", "starting", since=mark)
        self.assertEqual(starting["reason"], "schedule")
        last = self.bus.call("GetTimers")[0][5]
        self.assertEqual(last % 5000000, 0)

    def test_overlap_skip_keeps_the_run(self):
        self.bus.add("sk", "/bin/sleep", ["30"], schedules=schedules("every 1s"))
        first = self.bus.wait_state("sk", "up", timeout=5)
        self.jobd.note_pid(first["main-pid"])
        started = self.bus.call("GetTimers")[0][5]
        # Two more fires while it runs: skipped, the run goes on.
        wait_until(lambda: self.bus.call("GetTimers")[0][5] >= started + 2000000,
                   "two more fires", timeout=6)
        self.assertEqual(self.bus.runtime("sk")["main-pid"], first["main-pid"])
        self.assertEqual(self.bus.state("sk"), "up")
        self.stop_and_wait("sk")

    def test_overlap_restart_replaces_the_run(self):
        self.bus.add("rs", "/bin/sleep", ["30"], schedules=schedules("every 1s"),
                     overlap=GLib.Variant("s", "restart"))
        first = self.bus.wait_state("rs", "up", timeout=5)
        self.jobd.note_pid(first["main-pid"])
        second = self.bus.wait_state("rs", "up", since=first["_index"] + 1, timeout=5)
        self.jobd.note_pid(second["main-pid"])
        self.assertNotEqual(second["main-pid"], first["main-pid"])
        self.assertEqual(second["reason"], "schedule")
        self.bus.call("Update", "rs", {"schedules": GLib.Variant("aa{sv}", [])})
        self.stop_and_wait("rs")

    def test_overlap_queue_starts_when_the_run_ends(self):
        # Fires every 2 s, runs 3 s: the fire during the run starts the
        # next one as soon as it ends (skip would wait for the next fire).
        self.bus.add("qu", "/bin/sleep", ["3"], schedules=schedules("every 2s"),
                     overlap=GLib.Variant("s", "queue"))
        up = self.bus.wait_state("qu", "up", timeout=5)
        self.jobd.note_pid(up["main-pid"])
        down = self.bus.wait_state("qu", "down", since=up["_index"], timeout=6)
        again = self.bus.wait_state("qu", "starting", since=down["_index"], timeout=3)
        self.assertLess(again["_time"] - down["_time"], 0.6,
                        "the queued fire waited: %s" % self.bus.describe_events())
        self.assertEqual(again["reason"], "schedule")
        self.bus.call("Update", "qu", {"schedules": GLib.Variant("aa{sv}", [])})
        wait_until(lambda: self.bus.state("qu") == "up", "qu up")
        self.stop_and_wait("qu")

    def test_persistent_fire_in_downtime_runs_once_at_start(self):
        p_path, p_script = self.stamp_script("p")
        n_path, n_script = self.stamp_script("n")
        self.bus.add("p", "/bin/sh", ["-c", p_script], schedules=schedules("every 3s"),
                     persistent=GLib.Variant("b", True))
        self.bus.add("n", "/bin/sh", ["-c", n_script], schedules=schedules("every 3s"))
        wait_until(lambda: self.stamps(p_path) and self.stamps(n_path), "a fire of each",
                   timeout=6)
        wait_until(lambda: self.bus.state("p") == "down" and self.bus.state("n") == "down",
                   "both runs over")
        self.jobd.stop()
        before_p, before_n = len(self.stamps(p_path)), len(self.stamps(n_path))
        # jobd stays down over the next fire of both (3 s).
        time.sleep(3.5)
        started = time.time()
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: len(self.stamps(p_path)) > before_p, "the catch-up run", timeout=2)
        self.assertLess(self.stamps(p_path)[-1] - started, 1.0)
        self.bus.settle(1.5)
        self.assertEqual(len(self.stamps(p_path)), before_p + 1, "caught up once")
        self.assertEqual(len(self.stamps(n_path)), before_n, "not persistent: no catch-up")

    def test_randomized_delay_stays_within_bounds(self):
        path, script = self.stamp_script("rd")
        self.bus.add("rd", "/bin/sh", ["-c", script], schedules=schedules("every 2s"),
                     **{"randomized-delay": GLib.Variant("u", 1000)})
        delays = []
        for i in range(5):
            wait_until(lambda: len(self.stamps(path)) > i, "run %d" % i, timeout=6)
            due = self.bus.call("GetTimers")[0][5] / 1e6
            delays.append(self.stamps(path)[i] - due)
        for d in delays:
            self.assertGreaterEqual(d, 0)
            self.assertLess(d, 1.3, "delay %.3f beyond 1 s" % d)
        self.assertTrue(any(d > 0.05 for d in delays), "no delay drawn: %s" % delays)

    def test_removed_job_with_a_pending_fire_does_nothing(self):
        path, script = self.stamp_script("gone")
        for _ in range(5):
            self.bus.add("gone", "/bin/sh", ["-c", script], schedules=schedules("every 1s"))
            self.assertEqual(len(self.bus.call("GetTimers")), 1)
            self.bus.call("Remove", "gone")
            self.assertEqual(self.bus.call("GetTimers"), [])
        # Added again without a schedule: the old one does not come back.
        self.bus.add("gone", "/bin/sh", ["-c", script])
        self.bus.settle(1.5)
        self.assertEqual(self.stamps(path), [])
        self.assertEqual(self.bus.call("GetTimers"), [])

    def test_bad_specs_are_refused_naming_the_bad_part(self):
        for spec, part in (("every 0s", "0s"), ("every soon", "soon"),
                           ('legacy:{"H":"25"}', "H"), ("legacy:[1]", "[1]"),
                           ('legacy:{"Y":"2020"}', "never"), ("Mon 3:xx", "xx")):
            proc = self.jobctl("add", "bad", "--schedule", spec, "--", "/bin/true", ok=False)
            self.assertNotEqual(proc.returncode, 0, spec)
            self.assertIn(part, proc.stderr, spec)
            self.assertError("InvalidArgs", "Add", "bad",
                             {"command": GLib.Variant("s", "/bin/true"),
                              "schedules": schedules(spec)}, contains=part)
        self.assertEqual(self.bus.call("GetTimers"), [])

    def test_ids_are_kept_for_unchanged_entries(self):
        self.jobctl("add", "ids", "--schedule", "every 1h", "--", "/bin/true")
        old = self.bus.call("GetTimers")[0][1]
        self.jobctl("update", "ids", "--schedule", "every 1h", "--schedule", "every 2h")
        rows = {r[2]: r[1] for r in self.bus.call("GetTimers")}
        self.assertEqual(rows["every 1h"], old)
        self.assertNotEqual(rows["every 2h"], old)
        show = self.jobctl("show", "ids").stdout
        self.assertIn("every 2h", show)
        self.assertIn("Next fire", show)
        self.jobctl("update", "ids", "--no-schedules")
        self.assertEqual(self.bus.call("GetTimers"), [])
        self.assertNotIn("NEXT", self.jobctl("list").stdout)


class ZoneReload(JobdTestCase):
    config_extra = "TimeZone=UTC\n"

    def test_time_zone_change_on_reload_recomputes(self):
        self.bus.add("daily", "/bin/true",
                     schedules=schedules('legacy:{"H":"03","i":"00"}', "*:*:0/5"))
        nxt = {r[2]: r[4] for r in self.bus.call("GetTimers")}
        self.assertEqual(time.gmtime(nxt['legacy:{"H":"03","i":"00"}'] // 1000000)[3:5], (3, 0))
        self.jobd.write_config("[Daemon]\nBackend=direct\nTimeZone=Asia/Tokyo\n"
                               "\n[Legacy]\nEnable=false\n")
        self.bus.call("ReloadConfig")
        nxt = {r[2]: r[4] for r in self.bus.call("GetTimers")}
        # 03:00 in Tokyo is 18:00 UTC.
        self.assertEqual(time.gmtime(nxt['legacy:{"H":"03","i":"00"}'] // 1000000)[3:5], (18, 0))


if __name__ == "__main__":
    main()
