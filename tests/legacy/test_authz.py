#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""One authorization model on the legacy port: a local user who may not
change a job over D-Bus may not change it over TCP either (the peer's uid
comes from the kernel), jobs of the legacy identity stay open to legacy
clients, nothing run over TCP gets a credential it could not set itself,
environment values stay hidden, and values that cannot round-trip (NaN,
Inf, 1e400) or JSON outside RFC 8259 are refused at the edge."""
import json
import math
import os
import subprocess
import unittest

from legacy import DEADLINE, Jobd, frame, read_registry, wait_for

from gi.repository import Gio, GLib

MANAGER = "org.jobd1.Manager"
PATH = "/org/jobd1"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

# The client nobody runs: one frame per argument on one connection, one JSON
# answer per line.
CLIENT = r"""
import json, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("closed")
        b += c
    return b
if sys.argv[2] == "--send-and-close":
    # Everything at once, then gone without reading an answer.
    s.sendall(b"".join(struct.pack("<I", len(p.encode())) + p.encode() for p in sys.argv[3:]))
    s.close()
    raise SystemExit(0)
for payload in sys.argv[2:]:
    p = payload.encode()
    s.sendall(struct.pack("<I", len(p)) + p)
    (n,) = struct.unpack("<I", exact(4))
    print(json.dumps(json.loads(exact(n).decode())))
"""


class Authz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd()
        cls.bus = wait_for(cls.jobd.ping, "jobd's private bus")
        # Jobs write their proof here, whatever user they run as.
        cls.drop = os.path.join(cls.jobd.tmp, "drop")
        os.mkdir(cls.drop)
        os.chmod(cls.drop, 0o1777)

    @classmethod
    def tearDownClass(cls):
        cls.bus.close_sync(None)
        cls.jobd.stop()

    # ---- helpers ---------------------------------------------------------

    def call(self, method, args=None, reply=None):
        return self.bus.call_sync(None, PATH, MANAGER, method, args,
                                  GLib.VariantType(reply) if reply else None,
                                  Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)

    def root_add(self, name, settings):
        self.call("Add", GLib.Variant("(sa{sv})", (name, settings)), "(o)")
        self.addCleanup(self.remove_quietly, name)

    def remove_quietly(self, name):
        try:
            self.call("Stop", GLib.Variant("(s)", (name,)))
        except GLib.Error:
            pass
        try:
            wait_for(lambda: self.state(name) in ("down", "failed"), name + " to stop")
            self.call("Remove", GLib.Variant("(s)", (name,)))
        except GLib.Error:
            pass

    def state(self, name):
        return self.call("Status", GLib.Variant("(s)", (name,)), "(s)").unpack()[0]

    def settings(self, name):
        return self.call("GetSettings", GLib.Variant("(s)", (name,)), "(a{sv})").unpack()[0]

    def pid(self, name):
        return self.call("GetRuntime", GLib.Variant("(s)", (name,)), "(a{sv})").unpack()[0].get("pid")

    def nobody(self, *requests):
        """Send (command, params-or-None) requests as nobody on one
        connection; the answers."""
        payloads = [c if p is None else c + " " + json.dumps(p) for c, p in requests]
        proc = subprocess.run(NOBODY + ["/usr/bin/python3", "-c", CLIENT, str(self.jobd.port)]
                              + payloads, capture_output=True, text=True, timeout=DEADLINE,
                              cwd="/")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def nobody1(self, command, params=None):
        return self.nobody((command, params))[0]

    # ---- ownership -------------------------------------------------------

    def test_nobody_cannot_change_root_job(self):
        self.root_add("rootjob", {"command": GLib.Variant("s", "/bin/sleep"),
                                  "args": GLib.Variant("as", ["1000"])})
        self.call("Start", GLib.Variant("(s)", ("rootjob",)))
        wait_for(lambda: self.state("rootjob") == "up", "rootjob to run")
        pid = self.pid("rootjob")
        job = {"jobname": "rootjob"}

        for command, params in [
                ("STOP", job), ("RESTART", job), ("DELETE", job),
                ("UPDATE", dict(job, command="/bin/sh", params="-c true")),
                ("UPDATE", dict(job, buffersize=5)),
                ("SCHEDULER.ADD", dict(job, enable=True, condition={"U": "60"}))]:
            self.assertEqual(self.nobody1(command, params), {"code": "DENIED"},
                             "%s %s" % (command, params))
        # Nothing changed: same process, same settings, still there.
        self.assertEqual(self.state("rootjob"), "up")
        self.assertEqual(self.pid("rootjob"), pid)
        self.assertEqual(self.settings("rootjob")["command"], "/bin/sleep")
        self.assertEqual(self.settings("rootjob")["buffer-size"], 20)
        self.assertEqual(self.nobody1("SCHEDULER.GETALL")["data"].get("rootjob"), None)

        # Reading stays open to everyone.
        answers = self.nobody(("STATUS", job), ("GET", job), ("GETALL", None),
                              ("STATUSALL", None), ("READ", job), ("MEM", job))
        self.assertEqual([a["code"] for a in answers], ["OK"] * 6)
        self.assertEqual(answers[0]["data"], "UP")

        self.call("Stop", GLib.Variant("(s)", ("rootjob",)))
        wait_for(lambda: self.state("rootjob") in ("down", "failed"), "rootjob to stop")
        self.assertEqual(self.nobody1("START", job), {"code": "DENIED"})
        self.assertIn(self.state("rootjob"), ("down", "failed"))

    def jobd_fds(self):
        return len(os.listdir("/proc/%d/fd" % self.jobd.proc.pid))

    def test_client_gone_before_jobd_looks_is_not_root(self):
        # A closed client socket lingers in the kernel (orphaned, TIME_WAIT)
        # and sock_diag reports uid 0 for it: nobody sending STOP and
        # closing at once must not be taken for root. 20 rounds: some close
        # before jobd accepts, some after.
        self.root_add("rootgone", {"command": GLib.Variant("s", "/bin/sleep"),
                                   "args": GLib.Variant("as", ["1000"])})
        self.call("Start", GLib.Variant("(s)", ("rootgone",)))
        wait_for(lambda: self.state("rootgone") == "up", "rootgone to run")
        pid = self.pid("rootgone")
        # A connection answered first: whatever jobd opens once is open.
        self.assertEqual(self.nobody1("STATUS", {"jobname": "rootgone"})["data"], "UP")
        baseline = self.jobd_fds()
        stop = 'STOP {"jobname":"rootgone"}'
        update = 'UPDATE {"jobname":"rootgone","buffersize":3}'
        for _ in range(20):
            proc = subprocess.run(NOBODY + ["/usr/bin/python3", "-c", CLIENT, str(self.jobd.port),
                                            "--send-and-close", update, stop],
                                  capture_output=True, text=True, timeout=DEADLINE, cwd="/")
            self.assertEqual(proc.returncode, 0, proc.stderr)
        # jobd has read every request and closed every connection.
        wait_for(lambda: self.jobd_fds() <= baseline, "jobd to close the connections")
        self.assertEqual(self.state("rootgone"), "up")
        self.assertEqual(self.pid("rootgone"), pid)
        self.assertEqual(self.settings("rootgone")["buffer-size"], 20)

    def test_grpjob_update_runs_no_command_with_gid_0(self):
        # The attack of issue 9: root's job with group=root, nobody replaces
        # its command and starts it.
        proof = os.path.join(self.drop, "grpjob-owned")
        self.root_add("grpjob", {"command": GLib.Variant("s", "/bin/true"),
                                 "group": GLib.Variant("s", "root")})
        answers = self.nobody(
            ("UPDATE", {"jobname": "grpjob", "command": "/bin/sh",
                        "params": "-c \"id > %s\"" % proof}),
            ("START", {"jobname": "grpjob"}))
        self.assertEqual(answers, [{"code": "DENIED"}, {"code": "DENIED"}])
        self.assertEqual(self.settings("grpjob")["command"], "/bin/true")
        self.assertEqual(self.settings("grpjob")["group"], "root")
        self.assertFalse(os.path.exists(proof))

    def test_legacy_update_drops_a_privileged_group(self):
        # A legacy job to which root gave group=root: a legacy client may
        # still change it (it is the legacy identity's), but what it then
        # runs gets the legacy user's own groups, never root's.
        proof = os.path.join(self.drop, "legacy-group")
        self.assertEqual(self.nobody1("ADD", {"jobname": "lgrp", "command": "/bin/true"}),
                         {"code": "OK"})
        self.addCleanup(self.remove_quietly, "lgrp")
        self.call("Update", GLib.Variant("(sa{sv})", ("lgrp", {"group": GLib.Variant("s", "root")})))
        self.assertEqual(self.settings("lgrp")["group"], "root")
        answers = self.nobody(
            ("UPDATE", {"jobname": "lgrp", "command": "/bin/sh",
                        "params": "-c \"id > %s.tmp && mv %s.tmp %s\"" % (proof, proof, proof)}),
            ("START", {"jobname": "lgrp"}))
        self.assertEqual(answers, [{"code": "OK"}, {"code": "OK"}])
        self.assertNotIn("group", self.settings("lgrp"))
        wait_for(lambda: os.path.exists(proof), "the job's id output")
        with open(proof) as f:
            ids = f.read()
        self.assertNotIn("(root)", ids)
        self.assertNotIn("=0(", ids)

    def test_legacy_client_cannot_choose_credentials(self):
        # "user" and "group" over TCP are extras, not settings: the job runs
        # as the legacy user with its own groups.
        proof = os.path.join(self.drop, "cred")
        job = {"jobname": "cred"}
        self.addCleanup(self.remove_quietly, "cred")
        answers = self.nobody(
            ("ADD", dict(job, command="/bin/sh", user="root", group="root",
                         params="-c \"id > %s.tmp && mv %s.tmp %s\"" % (proof, proof, proof))),
            ("UPDATE", dict(job, user="root", group="root", interpreter="/bin/sh")),
            ("START", job))
        self.assertEqual([a["code"] for a in answers], ["OK"] * 3, answers)
        settings = self.settings("cred")
        self.assertEqual(settings["user"], "nobody")
        self.assertNotIn("group", settings)
        self.assertNotIn("interpreter", settings)
        self.assertEqual(settings["extra"]["group"], "root")
        wait_for(lambda: os.path.exists(proof), "the job's id output")
        with open(proof) as f:
            ids = f.read()
        self.assertTrue(ids.startswith("uid=65534("), ids)
        self.assertNotIn("(root)", ids)

    def test_root_peer_still_controls_root_jobs(self):
        self.root_add("rootctl", {"command": GLib.Variant("s", "/bin/sleep"),
                                  "args": GLib.Variant("as", ["1000"])})
        job = {"jobname": "rootctl"}
        self.assertEqual(self.jobd.cmd("START", job), {"code": "OK"})
        wait_for(lambda: self.state("rootctl") == "up", "rootctl to run")
        self.assertEqual(self.jobd.cmd("UPDATE", dict(job, buffersize=7)), {"code": "OK"})
        self.assertEqual(self.settings("rootctl")["buffer-size"], 7)
        self.assertEqual(self.jobd.cmd("STOP", job), {"code": "OK"})
        wait_for(lambda: self.state("rootctl") in ("down", "failed"), "rootctl to stop")
        self.assertEqual(self.jobd.cmd("DELETE", job), {"code": "OK"})

    def test_legacy_jobs_work_for_an_unprivileged_client(self):
        job = {"jobname": "ljob"}
        self.addCleanup(self.remove_quietly, "ljob")
        answers = self.nobody(
            ("ADD", dict(job, command="/bin/sleep", params="1000")),
            ("START", job), ("STATUS", job), ("UPDATE", dict(job, buffersize=9)),
            ("RESTART", job), ("STOP", job))
        self.assertEqual([a["code"] for a in answers], ["OK"] * 6, answers)
        self.assertEqual(answers[2]["data"], "UP")
        wait_for(lambda: self.nobody1("STATUS", job)["data"] == "DOWN", "ljob to stop")
        self.assertEqual(self.nobody1("DELETE", job), {"code": "OK"})

    # ---- secrets ---------------------------------------------------------

    def test_environment_values_hidden_from_nobody(self):
        self.root_add("envjob", {"command": GLib.Variant("s", "/bin/true"),
                                 "environment": GLib.Variant("a{ss}",
                                                             {"DB_PASSWORD": "hunter2-xyzzy"})})
        answers = self.nobody(("GET", {"jobname": "envjob"}), ("GETALL", None))
        self.assertEqual([a["code"] for a in answers], ["OK", "OK"])
        self.assertNotIn("hunter2-xyzzy", json.dumps(answers))

    # ---- values that cannot round-trip -----------------------------------

    def assert_answers_valid(self):
        # read_response parses the answer with Python's strict json; the
        # registry must parse too.
        self.assertEqual(self.jobd.cmd("GETALL")["code"], "OK")
        self.assertEqual(self.nobody1("GETALL")["code"], "OK")
        read_registry(self.jobd.state)

    def test_dbus_nan_and_inf_refused(self):
        bad = [GLib.Variant("d", float("nan")), GLib.Variant("d", float("inf")),
               GLib.Variant("d", -math.inf),
               GLib.Variant("av", [GLib.Variant("d", float("nan"))]),
               GLib.Variant("a{sv}", {"deep": GLib.Variant("d", float("inf"))}),
               GLib.Variant("t", 2 ** 64 - 1), GLib.Variant("d", 1e17)]
        self.root_add("numjob", {"command": GLib.Variant("s", "/bin/true")})
        for i, value in enumerate(bad):
            extra = GLib.Variant("a{sv}", {"x": value})
            with self.assertRaises(GLib.Error) as caught:
                self.call("Add", GLib.Variant("(sa{sv})", ("nan%d" % i, {
                    "command": GLib.Variant("s", "/bin/true"), "extra": extra})), "(o)")
            self.assertIn("InvalidArgs", caught.exception.message)
            with self.assertRaises(GLib.Error) as caught:
                self.call("Update", GLib.Variant("(sa{sv})", ("numjob", {"extra": extra})))
            self.assertIn("InvalidArgs", caught.exception.message)
        self.assertNotIn("x", self.settings("numjob")["extra"])
        self.assertEqual(self.jobd.cmd("STATUS", {"jobname": "nan0"})["code"], "FAILED")
        # Finite doubles are fine.
        self.call("Update", GLib.Variant("(sa{sv})", ("numjob", {
            "extra": GLib.Variant("a{sv}", {"x": GLib.Variant("d", 1.5)})})))
        self.assertEqual(self.jobd.cmd("GET", {"jobname": "numjob"})["data"]["x"], 1.5)
        self.assert_answers_valid()

    def test_legacy_overflowing_numbers_refused(self):
        # 1e17 is in range, but json-glib writes it as 1e+17.0, which no
        # JSON reader takes: refused too.
        for i, number in enumerate(["1e400", "-1e400", "99999999999999999999", "1e17"]):
            for payload in [
                    '{"jobname":"big%d","command":"/bin/true","x":%s}' % (i, number),
                    '{"jobname":"big%d","command":"/bin/true","x":[1,{"y":%s}]}' % (i, number)]:
                self.assertEqual(self.jobd.raw(frame("ADD " + payload)), {"code": "FAILED"})
                self.assertEqual(self.jobd.cmd("STATUS", {"jobname": "big%d" % i}),
                                 {"code": "FAILED"})
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "lbig", "command": "/bin/true"}),
                         {"code": "OK"})
        self.addCleanup(self.remove_quietly, "lbig")
        self.assertEqual(self.jobd.raw(frame('UPDATE {"jobname":"lbig","x":1e400}')),
                         {"code": "FAILED"})
        self.assertNotIn("x", self.jobd.cmd("GET", {"jobname": "lbig"})["data"])
        # In range: kept as sent.
        self.assertEqual(self.jobd.raw(frame('UPDATE {"jobname":"lbig","x":1e300,"y":-0.5}')),
                         {"code": "OK"})
        self.assertEqual(self.jobd.cmd("GET", {"jobname": "lbig"})["data"]["x"], 1e300)
        self.assert_answers_valid()

    def test_json_extensions_refused(self):
        for params in ["{'jobname':'sq','command':'/bin/true'}",
                       '{"jobname":"sq","command":\'/bin/true\'}',
                       '{"jobname":"sq","command":"/bin/true","x":0x10}',
                       '{"jobname":"sq","command":"/bin/true","x":01}',
                       '{"jobname":"sq","command":"/bin/true","x":.5}',
                       '{/* c */"jobname":"sq","command":"/bin/true"}',
                       '{"jobname":"sq","command":"/bin/true"} // c',
                       '{"jobname":"sq","command":"/bin/true","x":"a\tb"}',
                       '{"jobname":"sq","command":"/bin/true","x":"\\ud800"}',
                       '{"jobname":"sq","command":"/bin/true","x":tru}',
                       '{"jobname":"sq","command":"/bin/true",}']:
            self.assertEqual(self.jobd.raw(frame("ADD " + params)), {"code": "FAILED"}, params)
            self.assertEqual(self.jobd.cmd("STATUS", {"jobname": "sq"}), {"code": "FAILED"})
        # Strict JSON with escapes, nesting and numbers still works.
        self.assertEqual(self.jobd.raw(frame(
            'ADD {"jobname":"sq","command":"/bin/true","x":[1,-2.5e3,true,null,'
            '{"k":"\\u00e9\\n\\ud83d\\ude00"}]}')), {"code": "OK"})
        self.addCleanup(self.remove_quietly, "sq")
        self.assertEqual(self.jobd.cmd("GET", {"jobname": "sq"})["data"]["x"],
                         [1, -2500.0, True, None, {"k": "\u00e9\n\U0001F600"}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
