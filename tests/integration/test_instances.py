# SPDX-License-Identifier: MIT
"""instances N and `jobctl scale` (issue 13) on the direct backend: N real
processes with JOBD_INSTANCE=1..N, each in its own process group, scaling
up and down (the highest instances stop gracefully), output tagged "[I] ",
a restart of one instance only, stop/restart/kill of all, the memory sum,
the bounds, the legacy protocol seeing one job, and a kill -9 of jobd
taking every instance back."""
import json
import os
import select
import signal
import socket
import struct
import time
import uuid

from gi.repository import GLib

import jobdharness
import jobdtest
from jobdtest import (ERR, DEADLINE, Jobd, JobdTestCase, group_members, pid_alive,
                      proc_stat, run_jobctl, wait_until, main)

jobdtest.SIGNATURES.setdefault("Scale", "(su)")

# Says hello, and goodbye on the stop signal (a graceful stop shows).
WORKER = ("trap 'echo bye $JOBD_INSTANCE; exit 0' TERM; echo hello $JOBD_INSTANCE; "
          "while :; do sleep 0.1; done")
FAST = {"restart-delay-ms": GLib.Variant("u", 100),
        "restart-delay-max-ms": GLib.Variant("u", 1000),
        "start-limit-burst": GLib.Variant("u", 50)}


def environ_of(pid):
    """The environment the process was exec'd with: a just-started one may
    still be jobd's clone (jobd's environment) for a moment."""
    jobd_exe = os.path.realpath(os.environ["JOBD"])
    wait_until(lambda: os.readlink("/proc/%d/exe" % pid) != jobd_exe,
               "process %d to exec its program" % pid)
    with open("/proc/%d/environ" % pid, "rb") as f:
        items = f.read().split(b"\0")
    return dict(i.decode(errors="replace").split("=", 1) for i in items if b"=" in i)


def pids_with_marker(marker):
    """Live processes whose command line holds marker (no duplicate, none lost)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline and pid_alive(int(entry)):
            found.append(int(entry))
    return found


class InstancesCase(JobdTestCase):

    def add_pool(self, name, n, script=WORKER, **extra):
        settings = {"command": GLib.Variant("s", "/bin/sh"),
                    "args": GLib.Variant("as", ["-c", script]),
                    "instances": GLib.Variant("u", n)}
        settings.update(FAST)
        settings.update(extra)
        self.bus.call("Add", name, settings)

    def start_pool(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        self.bus.wait_state(name, "up", since=mark)
        return self.instances(name)

    def instances(self, name):
        """{instance: runtime a{sv}} of every instance."""
        rt = self.bus.runtime(name)
        self.assertIn("instances", rt, "no per-instance figures in the runtime")
        out = {i["instance"]: i for i in rt["instances"]}
        for i in out.values():
            self.jobd.note_pid(i["pid"])
        return out

    def pids(self, name):
        return {n: i["pid"] for n, i in self.instances(name).items()}

    def wait_pids_gone(self, pids, what):
        pids = list(pids)
        wait_until(lambda: not any(pid_alive(p) for p in pids), what)
        # Nothing of theirs left either (a child forked as the signal came
        # is killed with the group).
        wait_until(lambda: not any(group_members(p) for p in pids),
                   "no process left in the groups of %s" % pids)

    def jobctl(self, *args):
        return run_jobctl(list(args), address=self.jobd.address)


class Instances(InstancesCase):

    def test_four_processes_then_scale_to_two(self):
        r = self.jobctl("add", "pool", "--instances", "4", "--", "/bin/sh", "-c", WORKER)
        self.assertEqual(r.returncode, 0, r.stderr)
        pids = self.start_pool("pool")
        self.assertEqual(sorted(pids), [1, 2, 3, 4])
        self.assertTrue(all(i["state"] == "up" for i in pids.values()), pids)
        pids = {n: i["pid"] for n, i in pids.items()}
        self.assertEqual(len(set(pids.values())), 4, pids)
        for n, pid in pids.items():
            self.assertTrue(pid_alive(pid), "instance %d (PID %d) is not running" % (n, pid))
            self.assertEqual(environ_of(pid).get("JOBD_INSTANCE"), str(n))
            # Its own process group (and session): signalled on its own.
            self.assertEqual(proc_stat(pid)[2], pid, "instance %d not a group of its own" % n)
        rt = self.bus.runtime("pool")
        self.assertEqual((rt["state"], rt["instances-up"]), ("up", 4))
        r = self.jobctl("status", "pool")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "up (4/4)"), r.stderr)
        self.assertIn("up (4/4)", self.jobctl("show", "pool").stdout)
        self.assertEqual(self.bus.call("StatusAll"), {"pool": "up"})

        r = self.jobctl("scale", "pool", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_pids_gone([pids[3], pids[4]], "instances 3 and 4 to stop")
        self.assertTrue(pid_alive(pids[1]) and pid_alive(pids[2]))
        self.assertEqual(self.pids("pool"), {1: pids[1], 2: pids[2]})
        self.assertEqual(self.bus.call("GetSettings", "pool")["instances"], 2)
        self.assertEqual(self.bus.state("pool"), "up")
        # Gracefully: the stop signal reached 3 and 4, not 1 and 2.
        self.bus.wait_output("pool", lambda ls: "[4] bye 4" in ls and "[3] bye 3" in ls,
                             "instances 3 and 4 to say bye")
        texts = self.bus.lines("pool")
        self.assertNotIn("[1] bye 1", texts)
        self.assertNotIn("[2] bye 2", texts)

        # Up again: new instances 3..5 start, 1 and 2 go on.
        self.assertEqual(self.jobctl("scale", "pool", "5").returncode, 0)
        wait_until(lambda: self.bus.runtime("pool").get("instances-up") == 5, "5 instances up")
        now = self.pids("pool")
        self.assertEqual((now[1], now[2]), (pids[1], pids[2]))
        for n in (3, 4, 5):
            self.assertEqual(environ_of(now[n]).get("JOBD_INSTANCE"), str(n))
        self.stop_and_wait("pool")
        self.wait_pids_gone(now.values(), "every instance to stop")

    def test_output_tagged_by_instance(self):
        self.add_pool("tag", 3, "echo hello $JOBD_INSTANCE; echo oops $JOBD_INSTANCE >&2; "
                      "exec sleep 1000", **{"write-log": GLib.Variant("b", True)})
        self.start_pool("tag")
        want = {"[%d] hello %d" % (n, n) for n in (1, 2, 3)} | \
               {"[%d] oops %d" % (n, n) for n in (1, 2, 3)}
        self.bus.wait_output("tag", lambda ls: want <= set(ls), "the tagged lines")
        streams = {l[2]: l[1] for l in self.bus.call("ReadOutput", "tag", 0)}
        self.assertEqual(streams["[2] oops 2"], "stderr")
        self.assertEqual(streams["[2] hello 2"], "stdout")
        # The log files carry the tag too.
        def logged():
            text = ""
            for root, _dirs, files in os.walk(os.path.join(self.jobd.log_dir, "jobs", "tag")):
                for f in files:
                    with open(os.path.join(root, f), errors="replace") as fh:
                        text += fh.read()
            return all(w in text for w in want)
        wait_until(logged, "the tagged lines in the log files")
        # A job of one keeps its lines as they are, and has no JOBD_INSTANCE.
        pid, _ = self.add_and_start("one", "/bin/sh", ["-c", "echo plain $JOBD_INSTANCE.; exec sleep 1000"])
        self.bus.wait_output("one", lambda ls: "plain ." in ls, "the untagged line")
        self.assertNotIn("JOBD_INSTANCE", environ_of(pid))
        self.assertNotIn("instances", self.bus.runtime("one"))
        self.assertEqual(self.jobctl("status", "one").stdout.strip(), "up")
        self.stop_and_wait("one")
        self.stop_and_wait("tag")

    def test_follow_shows_the_tag(self):
        # Each instance says "ping I" on SIGUSR1.
        self.add_pool("fol", 2, "trap 'echo ping $JOBD_INSTANCE' USR1; echo ready $JOBD_INSTANCE; "
                      "while :; do sleep 0.05; done")
        pids = self.pids_of_started("fol")
        # Both said ready before the follow: no line of theirs can come first.
        self.bus.wait_output("fol", lambda ls: "[1] ready 1" in ls and "[2] ready 2" in ls,
                             "both instances to be ready")
        (_,), fds = self.bus.call("FollowOutput", "fol")
        fd = fds.steal_fds()[0]
        try:
            os.kill(pids[2], signal.SIGUSR1)
            buf = b""
            deadline = time.monotonic() + DEADLINE
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                self.assertGreater(remaining, 0, "FollowOutput gave only %r" % buf)
                if select.select([fd], [], [], remaining)[0]:
                    chunk = os.read(fd, 65536)
                    self.assertTrue(chunk, "FollowOutput ended")
                    buf += chunk
            stream, _time, text = buf.decode().splitlines()[0].split("\t", 2)
            self.assertEqual((stream, text), ("stdout", "[2] ping 2"))
        finally:
            os.close(fd)
        # jobctl logs shows the same tags.
        self.assertIn("[2] ping 2", self.jobctl("logs", "fol").stdout)
        self.stop_and_wait("fol")
        self.wait_pids_gone(pids.values(), "every instance to stop")

    def pids_of_started(self, name):
        return {n: i["pid"] for n, i in self.start_pool(name).items()}

    def test_kill_one_instance_only_it_restarts(self):
        self.add_pool("rs", 3, restart=GLib.Variant("s", "always"))
        pids = {n: i["pid"] for n, i in self.start_pool("rs").items()}
        os.kill(pids[2], signal.SIGKILL)
        def restarted():
            i = self.instances("rs")
            return i[2]["pid"] not in (0, pids[2]) and i[2]["state"] == "up"
        wait_until(restarted, "instance 2 to come back")
        now = self.instances("rs")
        self.assertEqual((now[1]["pid"], now[3]["pid"]), (pids[1], pids[3]))
        self.assertEqual([now[n]["restarts"] for n in (1, 2, 3)], [0, 1, 0])
        self.assertEqual(environ_of(now[2]["pid"]).get("JOBD_INSTANCE"), "2")
        rt = self.bus.runtime("rs")
        self.assertEqual((rt["restarts"], rt["last-restart-reason"]), (1, "signal"))
        self.assertFalse(pid_alive(pids[2]))
        wait_until(lambda: self.bus.state("rs") == "up", "the job to be up again")
        self.stop_and_wait("rs")
        self.wait_pids_gone([i["pid"] for i in now.values()], "every instance to stop")

    def test_stop_restart_kill_act_on_all(self):
        self.add_pool("all", 3)
        pids = {n: i["pid"] for n, i in self.start_pool("all").items()}
        mark = self.bus.mark()
        self.bus.call("Restart", "all")
        self.bus.wait_state("all", "up", since=mark)
        new = self.pids("all")
        self.assertEqual(len(new), 3)
        self.assertFalse(set(new.values()) & set(pids.values()), (pids, new))
        self.wait_pids_gone(pids.values(), "the old instances to end")
        # Stop leaves no process.
        down = self.stop_and_wait("all")
        self.wait_pids_gone(new.values(), "every instance to stop")
        self.assertEqual(self.bus.state("all"), "down")
        self.assertEqual(self.bus.runtime("all")["instances-up"], 0)
        # Kill signals every instance.
        pids = {n: i["pid"] for n, i in self.start_pool("all").items()}
        mark = self.bus.mark()
        self.bus.call("Kill", "all", int(signal.SIGKILL))
        self.bus.wait_state("all", "down", since=mark)
        self.wait_pids_gone(pids.values(), "every instance to be killed")

    def test_memory_is_the_sum(self):
        self.add_pool("mem", 3, "exec sleep 1000")
        self.start_pool("mem")
        # Figures of programs still loading move: compare readings taken
        # while the per-instance ones hold still.
        seen = []
        def steady():
            before = [i["memory"] for i in self.instances("mem").values()]
            total, _source = self.bus.call("GetMemory", "mem")
            after = [i["memory"] for i in self.instances("mem").values()]
            seen[:] = [total, after]
            # (A program not loaded yet reads a few KiB: sleep takes >= 256 KiB.)
            return before == after and all(m >= 256 * 1024 for m in after) and len(after) == 3
        wait_until(steady, "steady memory figures")
        total, each = seen
        self.assertGreater(total, max(each) * 2, seen)
        self.assertLess(abs(total - sum(each)), sum(each) * 0.1, seen)
        show = self.jobctl("show", "mem").stdout
        for n in (1, 2, 3):
            self.assertIn("Instance %d: up, PID" % n, show)
        self.stop_and_wait("mem")

    def test_bounds(self):
        self.add_pool("b", 2)
        self.assertError("InvalidArgs", "Scale", "b", 0, contains="at least 1")
        self.assertError("InvalidArgs", "Scale", "b", 100000)
        self.assertError("InvalidArgs", "Update", "b", {"instances": GLib.Variant("u", 0)})
        self.assertError("InvalidArgs", "Add", "b0",
                         {"command": GLib.Variant("s", "/bin/true"),
                          "instances": GLib.Variant("u", 100000)})
        for n in ("0", "100000", "many"):
            r = self.jobctl("scale", "b", n)
            self.assertNotEqual(r.returncode, 0, n)
            self.assertTrue(r.stderr.strip(), n)
        self.assertIn("at least 1", self.jobctl("scale", "b", "0").stderr)
        self.assertIn("MaxInstances", self.jobctl("scale", "b", "100000").stderr)
        self.assertEqual(self.bus.call("GetSettings", "b")["instances"], 2)
        self.assertError("NoSuchJob", "Scale", "nope", 2)

    def test_scale_a_running_job_of_one(self):
        pid, _ = self.add_and_start("grow", "/bin/sh", ["-c", WORKER])
        self.assertNotIn("JOBD_INSTANCE", environ_of(pid))
        self.assertEqual(self.jobctl("scale", "grow", "3").returncode, 0)
        wait_until(lambda: self.bus.runtime("grow").get("instances-up") == 3, "3 instances up")
        now = self.pids("grow")
        for n in (1, 2, 3):
            self.assertEqual(environ_of(now[n]).get("JOBD_INSTANCE"), str(n))
        self.assertFalse(pid_alive(pid))
        self.stop_and_wait("grow")
        self.wait_pids_gone(now.values(), "every instance to stop")


class Bounded(InstancesCase):
    config_extra = "MaxInstances=3\n"

    def test_max_instances_setting(self):
        self.add_pool("m", 3)
        self.assertError("InvalidArgs", "Scale", "m", 4, contains="MaxInstances=3")
        self.bus.call("Scale", "m", 1)
        self.assertEqual(self.bus.call("GetSettings", "m")["instances"], 1)


class Survives(InstancesCase):

    def crash_jobd(self):
        """kill -9 jobd (by PID) and start it again on the same folders."""
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        proc, self.jobd.proc = self.jobd.proc, None
        proc.kill()
        proc.wait(DEADLINE)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def test_jobd_kill9_adopts_every_instance(self):
        marker = "inst-" + uuid.uuid4().hex
        # (Not exec'd: the shell, whose command line holds the marker, stays.)
        self.add_pool("svc", 3, "sleep 1000; : " + marker)
        pids = {n: i["pid"] for n, i in self.start_pool("svc").items()}
        # (A shell's fork holds the marker until it execs sleep.)
        def only(expected):
            wait_until(lambda: sorted(pids_with_marker(marker)) == sorted(expected),
                       "exactly PIDs %s to run" % sorted(expected))
        only(pids.values())
        for _ in range(2):
            self.crash_jobd()
            wait_until(lambda: self.bus.runtime("svc").get("instances-up") == 3,
                       "the instances to be taken back")
            self.assertEqual(self.pids("svc"), pids)
            self.assertEqual(self.bus.state("svc"), "up")
            # None lost, none started twice.
            only(pids.values())
        # A clean restart (SIGTERM, checked exit) takes them back as well.
        self.tearDown()
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: self.bus.runtime("svc").get("instances-up") == 3,
                   "the instances to be taken back after a clean restart")
        self.assertEqual(self.pids("svc"), pids)
        only(pids.values())
        # Still under control: scale down, then stop all.
        self.bus.call("Scale", "svc", 2)
        self.wait_pids_gone([pids[3]], "instance 3 to stop")
        self.crash_jobd()
        wait_until(lambda: self.bus.runtime("svc").get("instances-up") == 2,
                   "two instances taken back")
        only([pids[1], pids[2]])
        self.stop_and_wait("svc")
        self.wait_pids_gone(pids.values(), "every instance to stop")
        self.assertEqual(pids_with_marker(marker), [])


class Legacy(InstancesCase):

    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.cleanup)
        self.port = jobdharness.free_port()
        self.jobd.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                               "Listen=127.0.0.1:%d\n" % self.port)
        self.jobd.start()
        self.bus = self.jobd.connect()

    def legacy(self, command, params=None):
        payload = (command + ("" if params is None else " " + json.dumps(params))).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE) as s:
            s.sendall(struct.pack("<I", len(payload)) + payload)
            data = b""
            while len(data) < 4 or len(data) < 4 + struct.unpack("<I", data[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError("connection closed after %r" % data)
                data += chunk
        return json.loads(data[4:].decode())

    def test_legacy_sees_one_job(self):
        self.add_pool("lp", 3, "exec sleep 1000")
        self.start_pool("lp")
        self.assertEqual(self.legacy("STATUS", {"jobname": "lp"}), {"code": "OK", "data": "UP"})
        answer = self.legacy("STATUSALL")
        self.assertEqual(answer["code"], "OK")
        self.assertEqual(answer["data"], {"lp": "UP"})
        mem = self.legacy("MEM", {"jobname": "lp"})
        self.assertEqual(mem["code"], "OK")
        self.assertTrue(mem["data"].isdigit() and int(mem["data"]) > 0, mem)
        memall = self.legacy("MEMALL")
        self.assertEqual(list(memall["data"]), ["lp"])
        self.assertEqual(self.legacy("GET", {"jobname": "lp"})["code"], "OK")
        pids = self.pids("lp")
        self.assertEqual(self.legacy("STOP", {"jobname": "lp"})["code"], "OK")
        self.wait_pids_gone(pids.values(), "every instance to stop")
        wait_until(lambda: self.legacy("STATUS", {"jobname": "lp"})["data"] == "DOWN",
                   "the job to be down")


if __name__ == "__main__":
    main()
