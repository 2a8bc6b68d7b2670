# SPDX-License-Identifier: MIT
"""Job dependencies (settings requires and after, issue 13): starting a job
starts what it requires first and waits for each condition (ready, started,
succeeded); stopping a required job stops what requires it first; a cycle,
a missing requirement and a dependency on the job itself are refused at
add/update; removing a required job is refused unless forced; autostart
after a jobd restart follows the same order; an unprivileged user cannot
get a job of someone else started or stopped through a dependency; and a
start racing a stop of its requirement leaves no process behind. The order
is checked from the JobStateChanged signals (their arrival order on one
connection is the order jobd sent them) and by the dependent itself, which
connects to its requirement's port as it starts."""
import os

from gi.repository import Gio, GLib

import jobdtest
from jobdtest import (DEADLINE, ERR, MANAGER_IFACE, MANAGER_PATH, PYTHON, SETTING_TYPES,
                      JobdTestCase, call_as_nobody, main, pid_alive, run_jobctl,
                      wait_until)
from jobdharness import free_port, tcp_accepts

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")

TYPES = dict(SETTING_TYPES, **{"requires": "as", "after": "as", "ready": "s",
                               "ready-timeout-ms": "u"})

# A server that starts listening on 127.0.0.1:PORT after DELAY seconds.
LISTEN = ("import socket, sys, time; time.sleep(float(sys.argv[2])); s = socket.socket(); "
          "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
          "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(64); time.sleep(100000)")
# Exits 7 unless something listens on 127.0.0.1:$1, else sleeps.
NEEDS_PORT = "exec 3<>/dev/tcp/127.0.0.1/$1 || exit 7; exec 3>&-; exec sleep 100000"


def variant(settings):
    return {k: v if isinstance(v, GLib.Variant) else GLib.Variant(TYPES[k], v)
            for k, v in settings.items()}


class DepsCase(JobdTestCase):

    def add(self, name, script, *args, method="Add", **settings):
        s = {"command": "/bin/bash", "args": ["-c", script, name] + [str(a) for a in args]}
        s.update({k.replace("_", "-"): v for k, v in settings.items()})
        return self.bus.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, method,
                                       GLib.Variant("(sa{sv})", (name, variant(s))), None,
                                       Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def add_server(self, name, port, delay=0.0, **settings):
        s = {"command": PYTHON, "args": ["-c", LISTEN, str(port), str(delay)],
             "ready": "tcp:%d" % port}
        s.update({k.replace("_", "-"): v for k, v in settings.items()})
        self.bus.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "Add",
                                GLib.Variant("(sa{sv})", (name, variant(s))), None,
                                Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def dbus_error(self, method, name, **settings):
        try:
            self.add(name, "exec sleep 1000", method=method, **settings)
        except GLib.Error as exc:
            return Gio.DBusError.get_remote_error(exc), exc.message
        raise AssertionError("%s %s %r succeeded" % (method, name, settings))

    def index(self, name, state, since=0):
        hit = self.bus.find_state_change(name, state, since)
        self.assertIsNotNone(hit, "no %s → %s; events: %s" % (name, state, self.bus.describe_events(30)))
        return hit[0]

    def wait_connected(self, name):
        """ready=exec makes a NEEDS_PORT job up before it has connected: it
        has once its main process became sleep (exit 7 ends it otherwise)."""
        def connected():
            pid = self.bus.runtime(name).get("main-pid")
            try:
                with open("/proc/%d/comm" % pid) as f:
                    return f.read().strip() == "sleep"
            except (OSError, TypeError):
                return False
        wait_until(connected, "%s to connect to its requirement" % name)

    def note_all(self):
        for row in self.bus.list_rows():
            self.jobd.note_pid(row[2])

    def all_down(self, names):
        return all(self.bus.state(n) in ("down", "failed") for n in names)


class StartStopOrder(DepsCase):

    def test_start_web_starts_db_first_and_only_once_db_listens(self):
        port = free_port()
        self.add_server("db", port, delay=1.0)
        self.add("web", NEEDS_PORT, port, requires=["db"])
        mark = self.bus.mark()
        result = run_jobctl(["start", "web"], address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        web_up = self.bus.wait_state("web", "up", since=mark)
        self.note_all()
        self.wait_connected("web")
        db_starting = self.bus.find_state_change("db", "starting", mark)
        self.assertIsNotNone(db_starting, self.bus.describe_events(20))
        self.assertEqual(db_starting[2]["reason"], "dependency")
        self.assertEqual(db_starting[2]["trigger"], "web")
        self.assertLess(self.index("db", "up", mark), self.index("web", "starting", mark),
                        "web started before db was ready: " + self.bus.describe_events(20))
        self.assertEqual(self.bus.state("db"), "up")
        # web itself checked that db listened when it started (else exit 7).
        self.assertTrue(pid_alive(web_up["main-pid"]))
        self.assertEqual(self.bus.runtime("db")["required-by"], ["web"])
        runs = self.bus.call("GetHistory", "db", 1)
        self.assertEqual(runs[0]["reason"], "dependency")
        self.assertEqual(runs[0]["trigger"], "web")

        # Stopping db stops web first, and db only once web is down.
        mark = self.bus.mark()
        result = run_jobctl(["stop", "db"], address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.bus.wait_state("db", "down", since=mark)
        web_stopping = self.bus.find_state_change("web", "stopping", mark)
        self.assertEqual(web_stopping[2]["reason"], "dependency")
        self.assertLess(self.index("web", "down", mark), self.index("db", "stopping", mark),
                        "db stopped before web was down: " + self.bus.describe_events(20))
        self.assertEqual(self.bus.state("web"), "down")

    def test_db_exit_stops_web_but_a_policy_restart_does_not(self):
        port = free_port()
        self.add_server("db", port, restart="on-failure", restart_delay_ms=100)
        self.add("web", NEEDS_PORT, port, requires=["db"])
        mark = self.bus.mark()
        self.bus.call("Start", "web")
        self.bus.wait_state("web", "up", since=mark)
        self.note_all()
        self.wait_connected("web")
        # A crash restarted by db's policy: web stays.
        db_pid = self.bus.runtime("db")["main-pid"]
        mark = self.bus.mark()
        os.kill(db_pid, 9)
        self.bus.wait_state("db", "up", since=mark)
        self.note_all()
        self.assertEqual(self.bus.state("web"), "up")
        self.assertIsNone(self.bus.find_state_change("web", "stopping", mark))
        # An exit that ends db (exit 0 with restart on-failure): web goes.
        self.bus.call("Update", "db", variant({"restart": "no"}))
        mark = self.bus.mark()
        os.kill(self.bus.runtime("db")["main-pid"], 15)
        down = self.bus.wait_state("web", "down", since=mark)
        self.assertEqual(down["reason"], "dependency")
        self.assertLess(self.index("db", "down", mark), self.index("web", "stopping", mark))

    def test_after_only_orders(self):
        port = free_port()
        self.add_server("cache", port, delay=0.8)
        self.add("app", NEEDS_PORT, port, after=["cache"])
        # Not being started: app starts without it (and fails its own check).
        mark = self.bus.mark()
        self.bus.call("Start", "app")
        self.bus.wait_state("app", "down", since=mark)
        self.assertEqual(self.bus.state("cache"), "down", "after must never start the other job")
        # Both being started: app waits for cache to be ready.
        mark = self.bus.mark()
        self.bus.conn.call(None, MANAGER_PATH, MANAGER_IFACE, "Start", GLib.Variant("(s)", ("cache",)),
                           None, Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None, None)
        self.bus.wait_state("cache", "starting", since=mark)
        self.bus.call("Start", "app")
        up = self.bus.wait_state("app", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.assertLess(self.index("cache", "up", mark), self.index("app", "starting", mark))
        self.assertEqual(self.bus.runtime("cache")["before"], ["app"])
        self.note_all()
        self.wait_connected("app")
        # after does not stop it with the other.
        self.stop_and_wait("cache")
        self.assertEqual(self.bus.state("app"), "up")


class Succeeded(DepsCase):

    def test_one_shot_must_succeed_first(self):
        flag = os.path.join(self.jobd.root, "migrated")
        self.add("migrate", "sleep 0.5; echo done > %s" % flag)
        self.add("app", "test -e %s || exit 9; exec sleep 100000" % flag,
                 requires=["migrate:succeeded"])
        mark = self.bus.mark()
        self.bus.call("Start", "app")
        up = self.bus.wait_state("app", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.assertLess(self.index("migrate", "down", mark), self.index("app", "starting", mark))
        # The one-shot's end is what app waited for: app keeps running.
        self.assertEqual(self.bus.state("app"), "up")
        self.stop_and_wait("app")

    def test_failed_one_shot_fails_the_start_naming_it(self):
        self.add("migrate", "exit 3")
        self.add("app", "exec sleep 100000", requires=["migrate:succeeded"])
        mark = self.bus.mark()
        name, message = self.bus.call_error("Start", "app")
        self.assertEqual(name, ERR + "Failed", message)
        self.assertIn("migrate", message)
        self.assertIn("exit code 3", message)
        self.assertIsNone(self.bus.find_state_change("app", "starting", mark))
        result = run_jobctl(["start", "app"], address=self.jobd.address)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("migrate", result.stderr)

    def test_started_condition_does_not_wait_for_ready(self):
        port = free_port()
        self.add_server("slow", port, delay=30)
        self.add("quick", "exec sleep 100000", requires=["slow:started"])
        mark = self.bus.mark()
        self.bus.call("Start", "quick")
        up = self.bus.wait_state("quick", "up", since=mark)
        self.note_all()
        self.assertEqual(self.bus.state("slow"), "starting")
        self.assertLess(self.index("slow", "starting", mark), self.index("quick", "starting", mark))
        self.jobd.note_pid(up["main-pid"])


class BadGraphs(DepsCase):

    def test_cycle_is_refused_naming_it(self):
        self.add("a", "exec sleep 1000")
        self.add("b", "exec sleep 1000", requires=["a"])
        name, message = self.dbus_error("Update", "a", requires=["b"])
        self.assertEqual(name, ERR + "InvalidArgs", message)
        self.assertIn("a -> b -> a", message)
        # Through after as well, and longer.
        self.add("c", "exec sleep 1000", after=["b"])
        name, message = self.dbus_error("Update", "a", after=["c:started"])
        self.assertIn("a -> c -> b -> a", message)
        result = run_jobctl(["update", "a", "--requires", "b"], address=self.jobd.address)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("a -> b -> a", result.stderr)
        self.assertEqual(self.bus.call("GetSettings", "a")["requires"], [])

    def test_missing_and_self_are_refused(self):
        name, message = self.dbus_error("Add", "web", requires=["nosuch"])
        self.assertEqual(name, ERR + "NoSuchJob", message)
        self.assertIn("nosuch", message)
        name, message = self.dbus_error("Add", "web", requires=["web"])
        self.assertEqual(name, ERR + "InvalidArgs", message)
        self.assertIn("itself", message)
        name, message = self.dbus_error("Add", "web", after=["web:ready"])
        self.assertIn("itself", message)
        name, message = self.dbus_error("Add", "web", requires=["db:sometimes x"])
        self.assertEqual(name, ERR + "InvalidArgs", message)
        self.assertEqual(self.bus.list_rows(), [])

    def test_remove_required_is_refused_unless_forced(self):
        self.add("db", "exec sleep 1000")
        self.add("web", "exec sleep 1000", requires=["db"])
        self.add("api", "exec sleep 1000", requires=["db:started"])
        name, message = self.bus.call_error("Remove", "db")
        self.assertIn("api, web", message)
        result = run_jobctl(["remove", "db"], address=self.jobd.address)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("web", result.stderr)
        result = run_jobctl(["remove", "--force", "db"], address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("db", [row[0] for row in self.bus.list_rows()])
        name, message = self.bus.call_error("Start", "web")
        self.assertEqual(name, ERR + "NoSuchJob", message)
        self.assertIn("'db'", message)


class RoundTrip(DepsCase):

    def test_jobctl_options_show_and_persistence(self):
        self.add("db", "exec sleep 1000")
        self.add("cache", "exec sleep 1000")
        result = run_jobctl(["add", "web", "--requires", "db", "--requires", "cache:started",
                             "--after", "cache", "--", "/bin/sleep", "1000"],
                            address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        settings = self.bus.call("GetSettings", "web")
        self.assertEqual(settings["requires"], ["db", "cache:started"])
        self.assertEqual(settings["after"], ["cache"])
        show = run_jobctl(["show", "db"], address=self.jobd.address)
        self.assertRegex(show.stdout, r"Required by:\s+web")
        show = run_jobctl(["show", "web"], address=self.jobd.address)
        self.assertRegex(show.stdout, r"Requires:\s+db cache:started")
        tree = run_jobctl(["list", "--tree"], address=self.jobd.address)
        self.assertEqual(tree.returncode, 0, tree.stderr)
        self.assertRegex(tree.stdout, r"web[^\n]*\n[^\n]*db")
        # Survives a jobd restart.
        self.bus.close()
        self.jobd.stop()
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.bus.call("GetSettings", "web")["requires"], ["db", "cache:started"])
        result = run_jobctl(["update", "web", "--no-requires"], address=self.jobd.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.bus.call("GetSettings", "web")["requires"], [])
        self.assertEqual(self.bus.call("GetSettings", "web")["after"], ["cache"])


class Autostart(DepsCase):

    def test_autostart_after_restart_starts_in_order(self):
        port = free_port()
        self.add_server("db", port, delay=1.0)
        self.add("web", NEEDS_PORT, port, requires=["db"], autostart=True)
        self.bus.close()
        self.jobd.stop()
        self.jobd.start()
        self.bus = self.jobd.connect()
        # Settled: up, or a run of web that ended (it exits 7 without db).
        wait_until(lambda: self.bus.state("web") in ("up", "failed") or
                   (self.bus.state("web") == "down" and self.bus.call("GetHistory", "web", 1)),
                   "web to settle")
        self.note_all()
        self.assertEqual(self.bus.state("web"), "up", self.bus.call("GetHistory", "web", 3))
        db_run = self.bus.call("GetHistory", "db", 1)[0]
        web_run = self.bus.call("GetHistory", "web", 1)[0]
        self.assertEqual(db_run["reason"], "dependency")
        self.assertEqual(web_run["reason"], "autostart")
        self.assertLess(db_run["start"], web_run["start"])


class Restore(DepsCase):
    # jobd stops its jobs when it goes and starts them again when it comes
    # back (as after a reboot): the dependent sorts first by name here.
    config_extra = "\n[Daemon]\nStopJobsOnExit=true\n"

    def test_restore_after_restart_starts_in_order(self):
        port = free_port()
        self.add_server("z-db", port, delay=1.0)
        self.add("a-web", NEEDS_PORT, port, requires=["z-db"])
        mark = self.bus.mark()
        self.bus.call("Start", "a-web")
        self.bus.wait_state("a-web", "up", since=mark)
        self.note_all()
        self.bus.close()
        self.jobd.stop()
        wait_until(lambda: not tcp_accepts(port, 0.2), "the port to close")
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: self.bus.state("a-web") in ("up", "failed") or
                   (self.bus.state("a-web") == "down" and
                    len(self.bus.call("GetHistory", "a-web", 2)) == 2), "a-web to settle")
        self.note_all()
        web_run = self.bus.call("GetHistory", "a-web", 1)[0]
        db_run = self.bus.call("GetHistory", "z-db", 1)[0]
        self.assertEqual(self.bus.state("a-web"), "up", web_run)
        self.assertEqual(web_run["reason"], "restore")
        self.assertLess(db_run["start"], web_run["start"])

    def test_jobd_going_away_stops_dependents_first(self):
        # web, asked to stop, takes 0.3 s and then writes whether db still
        # listens: it must, as a Stop of db would have stopped web first.
        port = free_port()
        marker = os.path.join(self.jobd.root, "web.marker")
        script = ("exec 3<>/dev/tcp/127.0.0.1/$1 || exit 7; exec 3>&-; echo connected > $2; "
                  "trap 'sleep 0.3; if (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; "
                  "then echo db-up > $2; else echo db-gone > $2; fi; exit 0' TERM; "
                  "while :; do sleep 0.1; done")
        self.add_server("z-db", port)
        self.add("a-web", script, port, marker, requires=["z-db"])
        mark = self.bus.mark()
        self.bus.call("Start", "a-web")
        self.bus.wait_state("a-web", "up", since=mark)
        self.note_all()
        wait_until(lambda: open(marker).read().strip() == "connected" if os.path.exists(marker)
                   else False, "a-web to connect")
        self.bus.close()
        self.jobd.stop()
        with open(marker) as f:
            self.assertEqual(f.read().strip(), "db-up", "z-db was stopped before a-web")
        self.assertFalse(tcp_accepts(port, 0.2), "z-db still listens after jobd went")


class Unprivileged(DepsCase):
    """Every local user reaches the private socket: none may get a job of
    another user started or stopped through a dependency."""

    def nobody(self, method, args_text):
        return call_as_nobody(self.jobd.address, method, args_text)

    def test_nobody_cannot_start_or_stop_roots_jobs_through_dependencies(self):
        self.add("db", "exec sleep 100000")
        # add: naming root's job is refused.
        out = self.nobody("Add", "('evil', {'command': <'/bin/sleep'>, 'args': <['1000']>, "
                          "'requires': <['db']>})")
        self.assertFalse(out["ok"], out)
        self.assertEqual(out["error"], ERR + "AccessDenied", out)
        self.assertNotIn("evil", [row[0] for row in self.bus.list_rows()])
        out = self.nobody("Add", "('evil2', {'command': <'/bin/sleep'>, 'args': <['1000']>, "
                          "'after': <['db']>})")
        self.assertEqual(out.get("error"), ERR + "AccessDenied", out)
        # update: the same.
        out = self.nobody("Add", "('mine', {'command': <'/bin/sleep'>, 'args': <['100000']>})")
        self.assertTrue(out["ok"], out)
        out = self.nobody("Update", "('mine', {'requires': <['db']>})")
        self.assertEqual(out.get("error"), ERR + "AccessDenied", out)
        # start: an edge root made is checked again against the caller.
        self.bus.call("Update", "mine", variant({"requires": ["db"]}))
        mark = self.bus.mark()
        out = self.nobody("Start", "('mine',)")
        self.assertEqual(out.get("error"), ERR + "AccessDenied", out)
        self.assertIn("db", out["message"])
        self.bus.settle(0.3)
        self.assertIsNone(self.bus.find_state_change("db", "starting", mark))
        self.assertEqual(self.bus.state("db"), "down")
        self.assertEqual(self.bus.state("mine"), "down")
        # stop: root's web requires nobody's job; nobody may not stop web.
        self.bus.call("Update", "mine", variant({"requires": GLib.Variant("as", [])}))
        self.add("web", "exec sleep 100000", requires=["mine"])
        mark = self.bus.mark()
        self.bus.call("Start", "web")
        self.bus.wait_state("web", "up", since=mark)
        self.note_all()
        out = self.nobody("Stop", "('mine',)")
        self.assertEqual(out.get("error"), ERR + "AccessDenied", out)
        self.assertIn("web", out["message"])
        self.assertEqual(self.bus.state("web"), "up")
        self.assertEqual(self.bus.state("mine"), "up")
        self.stop_and_wait("web")
        out = self.nobody("Stop", "('mine',)")
        self.assertTrue(out["ok"], out)


class Race(DepsCase):

    def test_start_web_while_stopping_db_leaves_nothing_running(self):
        port = free_port()
        self.add_server("db", port, delay=0.05)
        self.add("web", NEEDS_PORT, port, requires=["db"])
        pids = set()

        def remember(*_args):
            for kind, _p, payload in self.bus.events:
                if kind == "JobStateChanged" and payload[3].get("main-pid"):
                    pids.add(payload[3]["main-pid"])

        for round_ in range(30):
            mark = self.bus.mark()
            answers = {}

            def done(conn, res, method):
                try:
                    conn.call_finish(res)
                    answers[method] = "ok"
                except GLib.Error as exc:
                    answers[method] = Gio.DBusError.get_remote_error(exc) or exc.message

            for method, name in (("Start", "web"), ("Stop", "db")):
                self.bus.conn.call(None, MANAGER_PATH, MANAGER_IFACE, method,
                                   GLib.Variant("(s)", (name,)), None, Gio.DBusCallFlags.NONE,
                                   int(DEADLINE * 2000), None, done, method)
                if round_ % 2:
                    self.bus.pump(lambda: self.bus.find_state_change("db", "starting", mark),
                                  "db starting (round %d)" % round_)
            # The start ends either way, at once: web up, or an error
            # naming db (never a start left waiting for a db that is gone).
            self.bus.pump(lambda: len(answers) == 2, "both answers (round %d)" % round_,
                          timeout=5)
            self.assertIn(answers["Start"], ("ok", ERR + "Failed"), "round %d" % round_)
            remember()
            # Whatever won, stop both; they end down and nothing runs.
            for name in ("web", "db"):
                try:
                    self.bus.call("Stop", name)
                except GLib.Error:
                    pass
            self.bus.pump(lambda: self.all_down(["web", "db"]), "both down (round %d)" % round_,
                          poll=0.05)
            remember()
            self.assertFalse(tcp_accepts(port, 0.2) and self.bus.state("db") != "up",
                             "a db process outlived its job (round %d)" % round_)
        for pid in pids:
            self.jobd.note_pid(pid)
        wait_until(lambda: not any(pid_alive(p) for p in pids), "every job process to be gone")


if __name__ == "__main__":
    main()
