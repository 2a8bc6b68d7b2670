# SPDX-License-Identifier: MIT
"""Every Manager method and its success shape, object paths, job object
properties (GetAll) and PropertiesChanged."""
import os
import signal

from jobdtest import (JobdTestCase, job_path, pid_alive, wait_until, DEADLINE,
                      main)


class ManagerVerbs(JobdTestCase):

    def test_add_returns_path_and_emits_job_added(self):
        mark = self.bus.mark()
        path = self.bus.add("web-1.a:b@c_d", "/bin/sleep", ["100"])
        self.assertEqual(path, job_path("web-1.a:b@c_d"))
        self.assertEqual(path, "/org/jobd1/job/web_2d1_2ea_3ab_40c_5fd")
        _p, payload = self.bus.wait_event("JobAdded", since=mark)
        self.assertEqual(payload, ("web-1.a:b@c_d", path))
        self.assertEqual(self.bus.call("GetJob", "web-1.a:b@c_d"), path)

    def test_get_settings_has_defaults_and_given_values(self):
        self.bus.call("Add", "s", {
            "command": "/bin/sleep", "args": ["5"], "environment": {"A": "1"},
            "buffer-size": 7, "restart": "on-failure", "stop-signal": "SIGINT",
            "memory-max": 1 << 30, "cpu-quota": 50, "tasks-max": 10})
        s = self.bus.call("GetSettings", "s")
        self.assertEqual(s["command"], "/bin/sleep")
        self.assertEqual(s["args"], ["5"])
        self.assertEqual(s["environment"], {"A": "1"})
        self.assertEqual(s["buffer-size"], 7)
        self.assertEqual(s["restart"], "on-failure")
        self.assertEqual(s["stop-signal"], "SIGINT")
        self.assertEqual(s["memory-max"], 1 << 30)
        self.assertEqual(s["cpu-quota"], 50)
        self.assertEqual(s["tasks-max"], 10)
        # Defaults documented in the issue.
        self.assertEqual(s["write-log"], False)
        self.assertEqual(s["autostart"], False)
        self.assertEqual(s["stop-timeout-ms"], 10000)
        self.assertEqual(s["reload-signal"], "SIGHUP")

    def test_default_buffer_size_and_stop_signal(self):
        self.bus.add("d", "/bin/true")
        s = self.bus.call("GetSettings", "d")
        self.assertEqual(s["buffer-size"], 20)
        self.assertEqual(s["stop-signal"], "SIGTERM")
        self.assertEqual(s["restart"], "no")

    def test_extra_keys_round_trip(self):
        from gi.repository import GLib
        extra = GLib.Variant("a{sv}", {"team": GLib.Variant("s", "ops"),
                                       "n": GLib.Variant("i", 42)})
        self.bus.call("Add", "x", {"command": "/bin/true", "extra": extra})
        got = self.bus.call("GetSettings", "x")["extra"]
        self.assertEqual(got, {"team": "ops", "n": 42})

    def test_params_split_like_a_shell(self):
        self.bus.call("Add", "p", {"command": "/usr/bin/printf",
                                   "params": "'<%s>' a 'b c' \"d e\" f\\ g"})
        s = self.bus.call("GetSettings", "p")
        self.assertEqual(s["params"], "'<%s>' a 'b c' \"d e\" f\\ g")
        mark = self.bus.mark()
        self.bus.call("Start", "p")
        self.bus.wait_state("p", "down", since=mark)
        self.assertIn("<a><b c><d e><f g>", self.bus.lines("p"))

    def test_update_merges_settings(self):
        self.bus.add("u", "/bin/sleep", ["1"], buffer_size=5)
        mark = self.bus.mark()
        self.assertIsNone(self.bus.call("Update", "u", {"buffer-size": 9, "restart": "always"}))
        s = self.bus.call("GetSettings", "u")
        self.assertEqual(s["buffer-size"], 9)
        self.assertEqual(s["restart"], "always")
        self.assertEqual(s["command"], "/bin/sleep")   # untouched
        self.assertEqual(s["args"], ["1"])
        # The job object announces the new settings.
        path, payload = self.bus.wait_event(
            "PropertiesChanged", lambda p, pl: p == job_path("u") and "Settings" in pl[1],
            since=mark)
        self.assertEqual(payload[0], "org.jobd1.Job")
        self.assertEqual(payload[1]["Settings"]["buffer-size"], 9)

    def test_update_applies_at_next_start(self):
        self.add_and_start("nx", "/bin/sh", ["-c", "echo first; exec sleep 100"])
        self.bus.call("Update", "nx", {"args": ["-c", "echo second; exec sleep 100"]})
        self.bus.wait_output("nx", lambda ls: "first" in ls, "first line")
        mark = self.bus.mark()
        self.bus.call("Restart", "nx")
        self.bus.wait_state("nx", "up", since=mark)
        self.bus.wait_output("nx", lambda ls: "second" in ls, "second line after restart")

    def test_list_and_status_all(self):
        self.bus.add("b", "/bin/sleep", ["100"])
        self.bus.add("a", "/bin/true")
        pid, path_b = self.add_and_start("c", "/bin/sleep", ["100"])
        self.wait_memory("c")
        rows = self.bus.list_rows()
        self.assertEqual([r[0] for r in rows], ["a", "b", "c"])   # sorted by name
        by_name = {r[0]: r for r in rows}
        name, state, main_pid, mem, started, restarts = by_name["c"]
        self.assertEqual((state, main_pid, restarts), ("up", pid, 0))
        self.assertGreater(mem, 0)
        self.assertGreater(started, 0)
        self.assertEqual(by_name["a"][1:4], ("down", 0, 0))
        self.assertEqual(by_name["a"][4], 0)
        self.assertEqual(self.bus.call("StatusAll"), {"a": "down", "b": "down", "c": "up"})
        self.assertEqual(self.bus.call("Status", "c"), "up")
        self.assertEqual(self.bus.call("Status", "a"), "down")

    def test_get_runtime_shape(self):
        pid, _ = self.add_and_start("r", "/bin/sleep", ["100"])
        rt = self.bus.runtime("r")
        for key, typ in (("state", str), ("main-pid", int), ("started-at", int),
                         ("exit-code", int), ("exit-signal", int), ("restarts", int),
                         ("last-restart-reason", str), ("last-error", str),
                         ("next-start-at", int), ("owner-uid", int), ("unit", str)):
            self.assertIn(key, rt)
            self.assertIsInstance(rt[key], typ, key)
        self.assertEqual(rt["state"], "up")
        self.assertEqual(rt["main-pid"], pid)
        self.assertEqual(rt["owner-uid"], os.getuid())
        self.assertEqual(rt["unit"], "")            # direct backend
        self.assertEqual(rt["exit-code"], -1)
        self.assertTrue(pid_alive(pid))

    def test_start_stop_restart(self):
        pid1, _ = self.add_and_start("j", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.assertIsNone(self.bus.call("Restart", "j"))
        d = self.bus.wait_state("j", "up", since=mark)
        pid2 = d["main-pid"]
        self.jobd.note_pid(pid2)
        self.assertNotEqual(pid1, pid2)
        self.assertFalse(pid_alive(pid1), "Restart returned before the old process exited")
        # Restart went through stopping and down before starting again.
        states = [t[1] for t in self.bus.transitions("j", since=mark)]
        self.assertEqual(states, ["stopping", "down", "starting", "up"])
        self.stop_and_wait("j")
        wait_until(lambda: not pid_alive(pid2), "pid %d to exit" % pid2)
        self.assertEqual(self.bus.state("j"), "down")

    def test_restart_starts_a_down_job(self):
        self.bus.add("rd", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.bus.call("Restart", "rd")
        d = self.bus.wait_state("rd", "up", since=mark)
        self.jobd.note_pid(d["main-pid"])
        self.assertEqual(self.bus.state("rd"), "up")

    def test_remove_emits_job_removed_and_unexports(self):
        from gi.repository import GLib
        path = self.bus.add("gone", "/bin/true")
        mark = self.bus.mark()
        self.assertIsNone(self.bus.call("Remove", "gone"))
        _p, payload = self.bus.wait_event("JobRemoved", since=mark)
        self.assertEqual(payload, ("gone", path))
        self.assertEqual(self.bus.call("StatusAll"), {})
        with self.assertRaises(GLib.Error):
            self.bus.get_all("gone")

    def test_kill_with_signal_number(self):
        pid, _ = self.add_and_start("k", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.assertIsNone(self.bus.call("Kill", "k", int(signal.SIGUSR1)))
        d = self.bus.wait_state("k", "down", since=mark)
        self.assertEqual(d["reason"], "signal")
        self.assertEqual(d["exit-signal"], signal.SIGUSR1)
        self.assertFalse(pid_alive(pid))

    def test_reload_sends_reload_signal(self):
        script = ("trap 'echo got-hup' HUP; trap 'echo got-usr2' USR2; echo ready; "
                  "while :; do sleep 0.05; done")
        self.add_and_start("rl", "/bin/sh", ["-c", script])
        self.bus.wait_output("rl", lambda ls: "ready" in ls, "ready")
        self.assertIsNone(self.bus.call("Reload", "rl"))
        self.bus.wait_output("rl", lambda ls: "got-hup" in ls, "the HUP trap to print")
        self.assertEqual(self.bus.state("rl"), "up")
        # A custom reload signal is honoured.
        self.bus.call("Update", "rl", {"reload-signal": "SIGUSR2"})
        mark = self.bus.mark()
        self.bus.call("Restart", "rl")
        self.bus.wait_state("rl", "up", since=mark)
        self.bus.wait_output("rl", lambda ls: ls.count("ready") >= 2, "ready again")
        self.bus.call("Reload", "rl")
        self.bus.wait_output("rl", lambda ls: "got-usr2" in ls, "the USR2 trap to print")

    def test_memory(self):
        self.add_and_start("m", "/bin/sleep", ["100"])
        self.wait_memory("m")
        nbytes, source = self.bus.call("GetMemory", "m")
        self.assertGreater(nbytes, 0)
        self.assertEqual(source, "process-tree")

    def test_memory_grows_with_allocation(self):
        self.add_and_start("small", "/bin/sleep", ["100"])
        self.add_and_start("big", "/usr/bin/python3", [
            "-c", "x = bytearray(50 << 20)\nprint('allocated', flush=True)\n"
                  "import time\ntime.sleep(100)"])
        self.bus.wait_output("big", lambda ls: "allocated" in ls, "the big job to allocate",
                             timeout=DEADLINE * 2)
        small = self.bus.call("GetMemory", "small")[0]
        big = self.bus.call("GetMemory", "big")[0]
        self.assertGreater(big, small + (40 << 20))
        rows = {r[0]: r for r in self.bus.list_rows()}
        self.assertGreater(rows["big"][3], 40 << 20)

    def test_server_memory_log_and_properties(self):
        self.assertGreater(self.bus.call("GetServerMemory"), 1 << 20)
        log = self.bus.call("GetServerLog", 0)
        self.assertTrue(any("listening" in l or "starting" in l for l in log), log)
        self.bus.add("logged", "/bin/true")
        log = self.bus.call("GetServerLog", 0)
        self.assertTrue(any("logged" in l for l in log), log)
        self.assertEqual(len(self.bus.call("GetServerLog", 1)), 1)
        self.assertEqual(self.bus.call("GetServerLog", 1), log[-1:])
        self.assertEqual(self.bus.manager_property("Backend"), "direct")
        self.assertRegex(self.bus.manager_property("Version"), r"^\d+\.\d+")


class JobObject(JobdTestCase):

    def test_get_all(self):
        self.bus.add("obj", "/bin/sleep", ["100"], buffer_size=3)
        props = self.bus.get_all("obj")
        self.assertEqual(props["Name"], "obj")
        self.assertEqual(props["State"], "down")
        self.assertEqual(props["MainPID"], 0)
        self.assertEqual(props["StartedAt"], 0)
        self.assertEqual(props["OwnerUID"], os.getuid())
        self.assertEqual(props["Unit"], "")
        self.assertEqual(props["Settings"]["buffer-size"], 3)
        for key in ("ExitCode", "ExitSignal", "Restarts", "LastRestartReason",
                    "LastError", "NextStartAt"):
            self.assertIn(key, props)
        pid, _ = self.add_and_start("obj2", "/bin/sleep", ["100"])
        props = self.bus.get_all("obj2")
        self.assertEqual(props["State"], "up")
        self.assertEqual(props["MainPID"], pid)
        self.assertGreater(props["StartedAt"], 0)

    def test_properties_changed_on_state_change(self):
        path = self.bus.add("pc", "/bin/sleep", ["100"])
        mark = self.bus.mark()
        self.bus.call("Start", "pc")

        def up_announced(p, payload):
            return p == path and payload[1].get("State") == "up"
        _p, payload = self.bus.wait_event("PropertiesChanged", up_announced, since=mark)
        iface, changed, _invalidated = payload
        self.assertEqual(iface, "org.jobd1.Job")
        self.assertGreater(changed["MainPID"], 0)
        self.assertGreater(changed["StartedAt"], 0)
        # A state change leaves the settings alone, and does not resend them.
        self.assertNotIn("Settings", changed)
        self.jobd.note_pid(changed["MainPID"])
        mark = self.bus.mark()
        self.bus.call("Stop", "pc")
        self.bus.wait_event("PropertiesChanged",
                            lambda p, pl: p == path and pl[1].get("State") == "down",
                            since=mark)

    def test_introspection_lists_both_interfaces(self):
        from gi.repository import Gio
        reply = self.bus.conn.call_sync(None, "/org/jobd1", "org.freedesktop.DBus.Introspectable",
                                        "Introspect", None, None, Gio.DBusCallFlags.NONE,
                                        int(DEADLINE * 1000), None)
        xml = reply.unpack()[0]
        self.assertIn('interface name="org.jobd1.Manager"', xml)
        for method in ("Add", "FollowOutput", "GetServerLog", "Kill"):
            self.assertIn('method name="%s"' % method, xml)
        self.bus.add("intro", "/bin/true")
        reply = self.bus.conn.call_sync(None, job_path("intro"),
                                        "org.freedesktop.DBus.Introspectable", "Introspect",
                                        None, None, Gio.DBusCallFlags.NONE,
                                        int(DEADLINE * 1000), None)
        self.assertIn('interface name="org.jobd1.Job"', reply.unpack()[0])

    def test_generic_tools_work_on_the_private_socket(self):
        # gdbus treats any address as a message bus (Hello, AddMatch,
        # GetNameOwner first): jobd answers those on its private socket.
        import subprocess
        self.bus.add("tool", "/bin/true")
        for path, wanted in (("/org/jobd1", ("interface org.jobd1.Manager", "Add(", "JobStateChanged(")),
                             (job_path("tool"), ("interface org.jobd1.Job", "State = 'down'"))):
            out = subprocess.run(["gdbus", "introspect", "--address", self.jobd.address,
                                  "-d", "org.jobd1", "-o", path],
                                 capture_output=True, text=True, timeout=DEADLINE)
            self.assertEqual(out.returncode, 0, out.stderr)
            for text in wanted:
                self.assertIn(text, out.stdout)
        out = subprocess.run(["gdbus", "call", "--address", self.jobd.address, "-d", "org.jobd1",
                              "-o", "/org/jobd1", "-m", "org.jobd1.Manager.Status", "tool"],
                             capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "('down',)"), out.stderr)



class Limits(JobdTestCase):
    def test_jobs_get_the_usual_descriptor_limit(self):
        # jobd raises its own soft limit to the hard one for its many FIFOs;
        # jobs must get the soft limit jobd started with (select() breaks
        # above 1024), not the raised one.
        import resource
        saved = resource.getrlimit(resource.RLIMIT_NOFILE)
        hard = saved[1]
        soft = min(1024, hard - 1)
        # Restart jobd under a soft limit below the hard one, as systemd and
        # login shells start processes.
        self.tearDown()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            self.jobd.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, saved)
        self.bus = self.jobd.connect()
        self.add_and_start("limit", "/bin/sh", ["-c", "ulimit -n; exec sleep 100"])
        self.bus.wait_output("limit", lambda lines: len(lines) >= 1, "the job's ulimit")
        self.assertEqual(self.bus.lines("limit")[0], str(soft))
        with open("/proc/%d/limits" % self.jobd.proc.pid) as f:
            jobd_limit = [l for l in f if l.startswith("Max open files")][0].split()[3]
        self.assertEqual(jobd_limit, str(hard))


if __name__ == "__main__":
    main()
