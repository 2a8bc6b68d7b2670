# SPDX-License-Identifier: MIT
"""Health (liveness) probes, on the direct backend: while a job is up, jobd
probes it (exec:COMMAND, tcp:PORT, http://127.0.0.1:PORT/PATH) every
health-interval-ms; after health-failures failures in a row it restarts the
job gracefully with reason "health" (once per streak), a success resets the
count, a probe that hangs is killed at health-timeout-ms, an exec probe runs
as the job's user, a stop while a probe runs leaves no probe process, and
hostile HTTP servers (silent, endless) cost a bounded read. The servers the
probes talk to run in this process, on 127.0.0.1."""
import os
import re
import socket
import subprocess
import tempfile
import threading

from gi.repository import GLib

import jobdtest
from jobdtest import (DEADLINE, ERR, JobdTestCase, pid_alive, proc_uid, run_jobctl, wait_until)
from jobdharness import free_port

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")
jobdtest.SETTING_TYPES.update({"health": "s", "health-interval-ms": "u",
                               "health-timeout-ms": "u", "health-failures": "u"})

# Fast probes: a failure streak of 3 takes ~0.6 s.
FAST = {"health-interval-ms": 200, "health-timeout-ms": 1000, "health-failures": 3}


class Listener:
    """A loopback TCP server in a thread. mode: "accept" (accept and close),
    "http" (answer with self.status), "silent" (accept, never answer),
    "endless" (a 200 status line, then a body that never ends), "garbage"
    (bytes without a line break, forever)."""

    def __init__(self, mode="accept", status=200, port=0):
        self.mode = mode
        self.status = status
        self.requests = 0
        self.paths = []
        self.endless_ended = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.closing = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            if self.mode == "accept":
                conn.close()
            elif self.mode == "http":
                conn.settimeout(DEADLINE)
                try:
                    request = conn.recv(4096).split(b"\r\n")[0].split(b" ")
                    self.paths.append(request[1].decode() if len(request) > 1 else "")
                    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % self.status)
                except OSError:
                    pass
                conn.close()
            elif self.mode == "silent":
                self.held.append(conn)
            else:
                threading.Thread(target=self._flood, args=(conn,), daemon=True).start()

    def _flood(self, conn):
        head = b"HTTP/1.0 200 OK\r\n\r\n" if self.mode == "endless" else b""
        chunk = b"x" * 65536
        conn.settimeout(DEADLINE)
        try:
            conn.sendall(head)
            for _ in range(100000):   # bounded: 6.5 GB, far more than a probe reads
                conn.sendall(chunk)
        except OSError:
            self.endless_ended.set()   # jobd closed its end
        conn.close()

    def close(self):
        self.closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()
        self.thread.join(DEADLINE)


class HealthCase(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="jobd-health-")
        os.chmod(self.tmp, 0o777)
        self.listeners = []

    def tearDown(self):
        super().tearDown()
        for listener in self.listeners:
            listener.close()
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def listen(self, mode="accept", status=200, port=0):
        listener = Listener(mode, status, port)
        self.listeners.append(listener)
        return listener

    def add(self, name, health, script="exec sleep 1000", **settings):
        self.bus.add(name, "/bin/sh", ["-c", script], health=health, **dict(FAST, **settings))

    def start(self, name):
        """Start, wait until up; (the event mark before, the up details)."""
        mark = self.bus.mark()
        self.bus.call("Start", name)
        return mark, self.noted(self.bus.wait_state(name, "up", since=mark))

    def noted(self, details):
        self.jobd.note_pid(details["main-pid"])
        return details

    def health(self, name):
        return {k: v for k, v in self.bus.runtime(name).items() if k.startswith("health-")}

    def wait_health(self, name, predicate, what):
        return self.bus.pump(lambda: predicate(self.health(name)), what, poll=0.05)

    def failure_lines(self, name):
        return re.findall(r"job %s: the health probe failed \((\d+) of (\d+)\)" % name,
                          self.jobd.stderr())

    def health_restarts(self, name):
        return [r for r in self.bus.call("GetHistory", name, 0) if r["reason"] == "health"]

    def assert_one_health_restart(self, name, mark, failures=3, contains=None,
                                  on_stopping=None):
        """A failure streak: exactly `failures` failures logged, then one
        graceful restart with reason health, and the new run is up.
        on_stopping runs as soon as the job is stopping (to heal the probe
        before the new run starts). Returns the stopping details."""
        stopping = self.bus.wait_state(name, "stopping", since=mark)
        if on_stopping is not None:
            on_stopping()
        # The streak that ended in this restart: the last lines logged.
        lines = self.failure_lines(name)[-failures:]
        self.assertEqual([(int(n), int(of)) for n, of in lines],
                         [(i, failures) for i in range(1, failures + 1)], lines)
        self.assertEqual(stopping["reason"], "health")
        self.assertIn("failed %d times in a row" % failures, stopping.get("error", ""))
        if contains is not None:
            self.assertIn(contains, stopping.get("error", ""))
        up = self.bus.wait_state(name, "up", since=stopping["_index"], old_state="starting")
        self.jobd.note_pid(up["main-pid"])
        self.assertEqual(up["reason"], "health")
        runtime = self.bus.runtime(name)
        self.assertEqual(runtime["restarts"], 1)
        self.assertEqual(runtime["last-restart-reason"], "health")
        return stopping

    def stoppings(self, name, since):
        return [t for t in self.bus.transitions(name, since) if t[1] == "stopping"]


class Probes(HealthCase):
    """Each kind going from passing to failing: exactly one restart, reason
    health, in GetHistory and `jobctl history`; the new run passes again."""

    def _passing_then_failing(self, name, make_fail, make_pass, **kw):
        mark, _ = self.start(name)
        self.wait_health(name, lambda h: h.get("health-status") == "passing", "passing")
        self.assertEqual(self.health(name)["health-failures-in-row"], 0)
        self.assertEqual(self.stoppings(name, mark), [])
        make_fail()
        mark = self.bus.mark()
        self.assert_one_health_restart(name, mark, on_stopping=make_pass, **kw)
        # The new run passes (its status starts unknown): no second restart.
        self.wait_health(name, lambda h: h.get("health-status") == "passing",
                         "passing in the new run")
        self.assertEqual(len(self.stoppings(name, mark)), 1)
        runs = self.bus.call("GetHistory", name, 0)
        self.assertEqual([r["reason"] for r in runs], ["health", "manual"], runs)
        self.assertEqual(runs[1].get("stop-cause"), "health")
        self.assertEqual(self.bus.runtime(name)["restarts"], 1)
        out = run_jobctl(["history", name], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("health", out.stdout)
        self.stop_and_wait(name)

    def test_tcp(self):
        listener = self.listen("accept")
        port = listener.port
        self.add("t", "tcp:%d" % port)
        self._passing_then_failing("t", listener.close,
                                   lambda: self.listen("accept", port=port),
                                   contains="127.0.0.1:%d" % port)

    def test_exec(self):
        flag = os.path.join(self.tmp, "ok")
        open(flag, "w").close()
        self.add("e", "exec:test -e %s" % flag)
        self._passing_then_failing("e", lambda: os.unlink(flag),
                                   lambda: open(flag, "w").close(), contains="exit code 1")

    def test_http(self):
        listener = self.listen("http", 200)
        self.add("h", "http://127.0.0.1:%d/healthz?x=1" % listener.port)

        def fail():
            listener.status = 503

        def again():
            listener.status = 302   # 3xx passes too

        self._passing_then_failing("h", fail, again, contains="HTTP 503")
        self.assertEqual(listener.paths[0], "/healthz?x=1")
        self.assertGreater(listener.requests, 3)

    def test_show_and_jobctl_options(self):
        flag = os.path.join(self.tmp, "ok")
        out = run_jobctl(["add", "sj", "--health", "exec:test -e %s" % flag,
                          "--health-interval", "200ms", "--health-timeout", "1s",
                          "--health-failures", "5", "--", "/bin/sleep", "1000"],
                         address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        settings = self.bus.call("GetSettings", "sj")
        self.assertEqual((settings["health"], settings["health-interval-ms"],
                          settings["health-timeout-ms"], settings["health-failures"]),
                         ("exec:test -e %s" % flag, 200, 1000, 5))
        self.start("sj")
        self.wait_health("sj", lambda h: h.get("health-failures-in-row", 0) >= 2,
                         "two failures in a row")
        h = self.health("sj")
        self.assertEqual(h["health-status"], "failing")
        self.assertIn("exit code 1", h["health-last-result"])
        self.assertGreater(h["health-last-at"], 0)
        out = run_jobctl(["show", "sj"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"Health: +failing \(\d+ failed in a row\)")
        self.assertRegex(out.stdout, r"Last probe: +exit code 1 at \d{4}-")
        self.assertRegex(out.stdout, r"Health probe: +exec:test -e ")
        self.assertRegex(out.stdout, r"Health failures: +5")
        open(flag, "w").close()
        self.wait_health("sj", lambda h: h.get("health-status") == "passing", "passing")
        self.assertEqual(self.health("sj")["health-failures-in-row"], 0)
        out = run_jobctl(["show", "sj"], address=self.jobd.address)
        self.assertRegex(out.stdout, r"Health: +passing\n")
        # "" removes the probe; the runtime keys go with it.
        out = run_jobctl(["update", "sj", "--health", ""], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.health("sj"), {})
        self.stop_and_wait("sj")

    def test_update_applies_at_once(self):
        """Update while up: a new probe runs at once (no restart needed), a
        removed one stops at once, and a failing one restarts the job."""
        dead = "tcp:%d" % free_port()
        self.bus.add("up", "/bin/sleep", ["1000"])
        mark, _ = self.start("up")
        self.assertEqual(self.health("up"), {})
        self.bus.call("Update", "up", {"health": dead, "health-interval-ms": 100,
                                       "health-failures": 1000})
        self.wait_health("up", lambda h: h.get("health-failures-in-row", 0) >= 2,
                         "the new probe to fail twice")
        self.bus.call("Update", "up", {"health": ""})
        self.assertEqual(self.health("up"), {})
        lines = len(self.failure_lines("up"))
        self.bus.settle(1.0)   # 10 intervals: nothing may be probed
        self.assertEqual(len(self.failure_lines("up")), lines)
        self.bus.call("Update", "up", {"health": dead, "health-failures": 3})
        mark = self.bus.mark()
        stopping = self.assert_one_health_restart(
            "up", mark, on_stopping=lambda: self.bus.call("Update", "up", {"health": ""}))
        self.assertIn("refused", stopping["error"].lower())
        self.stop_and_wait("up")

    def test_no_health_no_keys_and_defaults(self):
        self.bus.call("Add", "plain", {"command": "/bin/sleep", "args": ["1000"]})
        settings = self.bus.call("GetSettings", "plain")
        self.assertEqual((settings.get("health", ""), settings["health-interval-ms"],
                          settings["health-timeout-ms"], settings["health-failures"]),
                         ("", 10000, 5000, 3))
        self.start("plain")
        self.assertEqual(self.health("plain"), {})
        self.stop_and_wait("plain")


class Counting(HealthCase):

    def test_success_resets_the_count(self):
        """fail, fail, pass, fail, fail, pass...: never 3 in a row, so no
        restart however long it runs (here: 15 probes)."""
        counter = os.path.join(self.tmp, "n")
        with open(counter, "w") as f:
            f.write("0\n")
        probe = ("n=$(cat %s); echo $((n + 1)) > %s.new && mv %s.new %s; "
                 "[ $((n %% 3)) -eq 2 ]" % (counter, counter, counter, counter))
        self.add("rc", "exec:" + probe, **{"health-interval-ms": 100})
        mark, _ = self.start("rc")

        def probes():
            with open(counter) as f:
                return int(f.read().strip() or 0)
        self.bus.pump(lambda: probes() >= 15, "15 probes", poll=0.05)
        self.wait_health("rc", lambda h: h.get("health-last-at", 0) > 0, "a result")
        self.assertIsNone(self.bus.find_state_change("rc", "stopping", since=mark),
                          self.failure_lines("rc"))
        self.assertEqual(self.bus.runtime("rc")["restarts"], 0)
        counts = [int(n) for n, _ in self.failure_lines("rc")]
        self.assertIn(2, counts)
        self.assertNotIn(3, counts)
        self.stop_and_wait("rc")

    def test_port_nobody_listens_on(self):
        port = free_port()
        self.add("np", "tcp:%d" % port, **{"health-failures": 2})
        mark, _ = self.start("np")
        stopping = self.assert_one_health_restart("np", mark, failures=2,
                                                  contains="127.0.0.1:%d" % port)
        self.assertIn("refused", stopping["error"].lower())
        self.stop_and_wait("np")

    def test_start_limit_ends_a_health_restart_loop(self):
        port = free_port()
        self.add("loop", "tcp:%d" % port, **{"health-interval-ms": 100, "health-failures": 1,
                                             "start-limit-burst": 2,
                                             "start-limit-interval-ms": 60000})
        mark, _ = self.start("loop")
        failed = self.bus.wait_state("loop", "failed", since=mark)
        self.assertEqual(failed["reason"], "start-limit")
        self.assertEqual(self.bus.runtime("loop")["restarts"], 2)
        self.assertEqual([r["reason"] for r in self.bus.call("GetHistory", "loop", 0)],
                         ["health", "health", "manual"])


class Hostile(HealthCase):

    def probe_pids(self, marker):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
        return pids

    def test_hanging_exec_probe_times_out_one_at_a_time(self):
        marker = "hangprobe-%d" % os.getpid()
        # The marker is in the probe shell's command line (sh -c '...').
        self.add("hang", "exec:sleep 1000; : %s" % marker,
                 **{"health-interval-ms": 100, "health-timeout-ms": 300,
                    "health-failures": 3})
        mark, _ = self.start("hang")
        most = 0
        hit = None

        def watch():
            nonlocal most, hit
            most = max(most, len(self.probe_pids(marker)))
            hit = self.bus.find_state_change("hang", "stopping", since=mark)
            return hit is not None
        self.bus.pump(watch, "the health restart", poll=0.02)
        stopping = hit[2]
        self.assertEqual(stopping["reason"], "health")
        self.assertIn("timed out after 300 ms", stopping["error"])
        self.assertEqual(most, 1, "probes under way at once")
        lines = self.failure_lines("hang")
        self.assertEqual([int(n) for n, _ in lines[:3]], [1, 2, 3])
        self.stop_and_wait("hang")
        wait_until(lambda: not self.probe_pids(marker), "no probe left")

    def test_http_server_that_never_answers(self):
        listener = self.listen("silent")
        self.add("silent", "http://127.0.0.1:%d/" % listener.port,
                 **{"health-timeout-ms": 300, "health-failures": 2})
        mark, _ = self.start("silent")
        self.assert_one_health_restart("silent", mark, failures=2, contains="timed out after 300 ms")
        self.stop_and_wait("silent")

    def test_http_endless_body_is_not_read(self):
        listener = self.listen("endless")
        self.add("endless", "http://127.0.0.1:%d/" % listener.port,
                 **{"health-interval-ms": 300, "health-timeout-ms": 5000})
        mark, _ = self.start("endless")
        self.wait_health("endless", lambda h: h.get("health-status") == "passing", "passing")
        self.assertEqual(self.health("endless")["health-last-result"], "HTTP 200")
        # jobd read the status line and closed: the flood stops, long before
        # 6.5 GB or the probe's timeout.
        self.bus.pump(lambda: listener.endless_ended.is_set(), "jobd to close the flood",
                      timeout=4)
        self.stop_and_wait("endless")

    def test_http_endless_status_line_is_bounded(self):
        listener = self.listen("garbage")
        self.add("garbage", "http://127.0.0.1:%d/" % listener.port,
                 **{"health-timeout-ms": 5000, "health-failures": 2})
        mark, _ = self.start("garbage")
        self.assert_one_health_restart("garbage", mark, failures=2,
                                       contains="not an HTTP answer")
        self.stop_and_wait("garbage")

    def test_exec_probe_output_is_bounded(self):
        self.add("loud", "exec:head -c 1000000 /dev/zero | tr '\\0' y; exit 1",
                 **{"health-failures": 100})
        self.start("loud")
        self.wait_health("loud", lambda h: h.get("health-failures-in-row", 0) >= 2, "2 failures")
        result = self.health("loud")["health-last-result"]
        self.assertTrue(result.startswith("exit code 1: yyyy"), result)
        self.assertLessEqual(len(result), 300)
        self.stop_and_wait("loud")

    def test_stop_while_probe_runs_leaves_no_probe(self):
        pidfile = os.path.join(self.tmp, "probe.pid")
        self.add("sp", "exec:echo $$ > %s; exec sleep 1000" % pidfile,
                 **{"health-interval-ms": 100, "health-timeout-ms": 60000})
        for round_ in range(5):
            if os.path.exists(pidfile):
                os.unlink(pidfile)
            self.start("sp")
            wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(),
                       "the probe to run (round %d)" % round_)
            pid = int(open(pidfile).read())
            self.jobd.note_pid(pid)
            self.assertTrue(pid_alive(pid))
            self.stop_and_wait("sp")
            wait_until(lambda: not pid_alive(pid), "the probe %d to be gone" % pid)

    def test_jobd_exit_while_probe_runs_leaves_no_probe(self):
        """jobd exits (the job itself runs on, to be taken back): the probe
        under way does not outlive it."""
        pidfile = os.path.join(self.tmp, "probe.pid")
        self.add("je", "exec:echo $$ > %s; exec sleep 1000" % pidfile,
                 **{"health-interval-ms": 100, "health-timeout-ms": 60000})
        _, up = self.start("je")
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(),
                   "the probe to run")
        pid = int(open(pidfile).read())
        self.jobd.note_pid(pid)
        self.jobd.stop()
        wait_until(lambda: not pid_alive(pid), "the probe %d to be gone" % pid)
        self.assertTrue(pid_alive(up["main-pid"]), "the job itself runs on")

    def test_exec_probe_runs_as_the_jobs_user(self):
        """jobctl run as nobody (setpriv) adds a job with an exec probe: the
        job and its probe run as nobody, with no supplementary root group,
        never as root."""
        idfile = os.path.join(self.tmp, "ids")
        env = dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C")
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               jobdtest.JOBCTL, "add", "mine", "--health",
                               "exec:id -u > %s.new; id -G >> %s.new; mv %s.new %s"
                               % (idfile, idfile, idfile, idfile),
                               "--health-interval", "100ms", "--", "/bin/sleep", "1000"],
                              env=env, capture_output=True, text=True, timeout=DEADLINE, cwd="/")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.bus.call("GetRuntime", "mine")["owner-uid"], 65534)
        _, up = self.start("mine")
        self.assertEqual(proc_uid(up["main-pid"]), 65534)
        wait_until(lambda: os.path.exists(idfile), "the probe to write its ids")
        uid, groups = open(idfile).read().split("\n")[:2]
        self.assertEqual(uid, "65534")
        self.assertNotIn("0", groups.split())
        self.assertEqual(os.stat(idfile).st_uid, 65534)
        self.wait_health("mine", lambda h: h.get("health-status") == "passing", "passing")
        self.stop_and_wait("mine")


class BadInput(HealthCase):

    def add_error(self, health, contains):
        name, message = self.bus.call_error("Add", "bad", {"command": "/bin/true",
                                                           "health": health})
        self.assertEqual(name, ERR + "InvalidArgs", message)
        self.assertIn(contains, message)

    def test_refused(self):
        self.add_error("http://10.0.0.1:80/", "must be 127.0.0.1")
        self.add_error("http://example.com/", "must be 127.0.0.1")
        self.add_error("https://127.0.0.1:8443/", "only http://")
        self.add_error("tcp:0", "bad port")
        self.add_error("tcp:70000", "bad port")
        self.add_error("exec:", "needs a command")
        self.add_error("ping:1", "unknown probe")
        name, message = self.bus.call_error("Add", "bad", {"command": "/bin/true",
                                                           "health-interval-ms": 5})
        self.assertEqual(name, ERR + "InvalidArgs", message)

    def test_accepted_spellings(self):
        for i, spec in enumerate(["http://127.0.0.1:8080/health", "http:http://127.0.0.1:1/",
                                  "http://localhost:9/", "tcp:80", "exec:true"]):
            self.bus.call("Add", "ok%d" % i, {"command": "/bin/true", "health": spec})
            self.assertEqual(self.bus.call("GetSettings", "ok%d" % i)["health"], spec)


if __name__ == "__main__":
    jobdtest.main()
