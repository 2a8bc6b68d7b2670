# SPDX-License-Identifier: MIT
"""The registry survives a jobd restart; a corrupt jobs.json is moved aside
intact and reported; the file is never left half-written; autostart."""
import glob
import json
import os

from jobdtest import JobdTestCase, Jobd, pid_alive, read_registry, wait_until, main

SETTINGS = {
    "command": "/bin/sleep", "args": ["100"], "environment": {"K": "v w"},
    "buffer-size": 33, "write-log": True, "restart": "on-failure",
    "restart-delay-ms": 1234, "restart-delay-max-ms": 5678, "restart-reset-ms": 999,
    "start-limit-burst": 7, "start-limit-interval-ms": 8888, "stop-signal": "SIGINT",
    "stop-timeout-ms": 4321, "reload-signal": "SIGUSR1", "memory-max": 123456789,
    "cpu-quota": 25, "tasks-max": 64, "working-directory": "/tmp",
}


class Persistence(JobdTestCase):

    def restart_jobd(self):
        self.tearDown()                 # SIGTERM, checks a clean exit
        self.jobd.start()
        self.bus = self.jobd.connect()

    def test_jobs_and_settings_survive_restart(self):
        from gi.repository import GLib
        s = dict(SETTINGS)
        s["extra"] = GLib.Variant("a{sv}", {"owner": GLib.Variant("s", "team-a"),
                                            "n": GLib.Variant("u", 5)})
        self.bus.call("Add", "full", s)
        self.bus.add("plain", "/bin/true")
        self.bus.add("gone", "/bin/true")
        self.bus.call("Remove", "gone")
        before = {n: self.bus.call("GetSettings", n) for n in ("full", "plain")}
        self.assertTrue(os.path.exists(os.path.join(self.jobd.state_dir, "jobs.json")))
        self.restart_jobd()
        self.assertEqual(self.bus.call("StatusAll"), {"full": "down", "plain": "down"})
        after = {n: self.bus.call("GetSettings", n) for n in ("full", "plain")}
        self.assertEqual(after, before)
        self.assertEqual(after["full"]["extra"], {"owner": "team-a", "n": 5})
        self.assertEqual(after["full"]["buffer-size"], 33)

    def test_update_survives_restart(self):
        self.bus.add("u", "/bin/true")
        self.bus.call("Update", "u", {"buffer-size": 77, "autostart": False})
        self.restart_jobd()
        self.assertEqual(self.bus.call("GetSettings", "u")["buffer-size"], 77)

    def test_running_job_is_adopted_after_restart(self):
        # Default (StopJobsOnExit=false): jobs keep running while jobd is
        # away and are re-adopted, same PID, still up.
        pid, _ = self.add_and_start("runner", "/bin/sleep", ["100"])
        self.restart_jobd()
        self.assertTrue(pid_alive(pid))
        rt = self.bus.runtime("runner")
        self.assertEqual((rt["state"], rt["main-pid"]), ("up", pid))
        # And it is still under control.
        self.stop_and_wait("runner")
        wait_until(lambda: not pid_alive(pid), "the adopted job to stop")

    def test_no_temp_file_left_after_many_updates(self):
        self.bus.add("w", "/bin/true")
        for i in range(60):
            self.bus.call("Update", "w", {"buffer-size": i + 1})
        path = os.path.join(self.jobd.state_dir, "jobs.json")
        with open(path) as f:
            json.load(f)                     # complete, valid JSON
        # Every change is a whole journal line; the last update is there.
        self.assertEqual(read_registry(self.jobd.state_dir)["w"]["settings"]["buffer-size"], 60)
        leftovers = [n for n in os.listdir(self.jobd.state_dir) if "tmp" in n]
        self.assertEqual(leftovers, [])
        self.restart_jobd()
        self.assertEqual(self.bus.call("GetSettings", "w")["buffer-size"], 60)

    def test_autostart_job_starts_with_jobd(self):
        self.bus.add("auto", "/bin/sleep", ["100"], autostart=True)
        self.bus.add("manual", "/bin/sleep", ["100"])
        self.restart_jobd()

        def up():
            return self.bus.state("auto") == "up"
        self.bus.pump(up, "the autostart job to be up", poll=0.05)
        pid = self.bus.runtime("auto")["main-pid"]
        self.jobd.note_pid(pid)
        self.assertTrue(pid_alive(pid))
        self.assertEqual(self.bus.state("manual"), "down")
        self.assertIn(self.bus.runtime("auto")["last-restart-reason"], ("", "autostart"))


class StopJobsOnExit(JobdTestCase):
    config_extra = "StopJobsOnExit=true\n"

    def test_jobs_stop_with_jobd(self):
        pid, _ = self.add_and_start("runner", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.jobd.proc.send_signal(15)
        self.bus.wait_state("runner", "down", since=mark)
        self.tearDown()
        self.assertFalse(pid_alive(pid))
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertIn("runner", self.bus.call("StatusAll"))


class Corrupt(JobdTestCase):
    """A corrupt jobs.json: jobd starts, moves it aside intact, says so."""

    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.cleanup)
        os.makedirs(self.jobd.state_dir)
        self.garbage = b"\x00\xff{not json at all \x89PNG\r\n" + bytes(range(256))
        with open(os.path.join(self.jobd.state_dir, "jobs.json"), "wb") as f:
            f.write(self.garbage)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def test_corrupt_file_moved_aside(self):
        self.assertEqual(self.bus.call("StatusAll"), {})
        moved = glob.glob(os.path.join(self.jobd.state_dir, "jobs.json.corrupt-*"))
        self.assertEqual(len(moved), 1, os.listdir(self.jobd.state_dir))
        with open(moved[0], "rb") as f:
            self.assertEqual(f.read(), self.garbage)
        log = "\n".join(self.bus.call("GetServerLog", 0))
        self.assertIn("corrupt", log.lower())
        self.assertIn(os.path.basename(moved[0]), log)
        # jobd works, and a new registry is written beside the evidence.
        self.bus.add("fresh", "/bin/true")
        self.assertIn("fresh", read_registry(self.jobd.state_dir))
        with open(moved[0], "rb") as f:
            self.assertEqual(f.read(), self.garbage)


if __name__ == "__main__":
    main()
