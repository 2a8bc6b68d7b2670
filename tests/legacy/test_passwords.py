#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Legacy passwords: yescrypt hashes, checked off the main loop, throttled.

- 300 pipelined wrong-password frames on one connection: every one answered
  DENIED, a concurrent client with the right password keeps getting answers
  in milliseconds, and the KDF ran only for the first few (jobd -v logs each
  run: "legacy auth: password check N (from PEER)").
- Wrong passwords on many connections from one peer address: the KDF runs
  for a burst, then they are DENIED without it.
- An unknown user costs the same work (one KDF run, the same time) as a
  known user with a wrong password.
- A PBKDF2-era hash still logs in and is replaced on disk by a yescrypt one
  of the same password; new users and `jobd --import-legacy` get "$y$".
Figures go to stderr."""
import json
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import unittest
import warnings

from legacy import DEADLINE, JOBD, Jobd, frame, read_response, wait_for
from jobdharness import JobdProcess, jobd_env, stop_pid

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt's crypt(3), to check the stored hashes

ADMIN = {"username": "admin", "password": "s3cret"}
STATUS_BOUND = 0.5

# One request from a given uid and loopback address, timed where it is sent:
# the per-peer throttle keys a local client by its uid.
ASK_AS = r"""
import json, socket, struct, sys, time
port, peer, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(30)
s.bind((peer, 0))
s.connect(("127.0.0.1", port))
start = time.monotonic()
s.sendall(struct.pack("<I", len(payload)) + payload)
(n,) = struct.unpack("<I", recv_exact(s, 4))
code = json.loads(recv_exact(s, n))["code"]
print(json.dumps({"code": code, "seconds": time.monotonic() - start}))
"""


def auth_json_path(jobd):
    return os.path.join(jobd.state, "plugins", "auth.json")


def stored_hashes(jobd):
    with open(auth_json_path(jobd)) as f:
        users = json.load(f)["users"]
    return {name: record.get("password-hash") for name, record in users.items()}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class VerboseJobd(Jobd):
    """jobd -v: its debug lines count the password checks."""

    def __init__(self, extra_config="", before_start=None):
        self.before_start = before_start
        super().__init__(extra_config)

    def spawn(self, out, *extra):
        if self.before_start is not None:
            self.before_start(self)
        return super().spawn(out, "-v", *extra)

    def stop(self):
        """Stop, then fail on any sanitizer report in jobd's output."""
        stop_pid(self.proc, DEADLINE)
        text = self.log()
        super().stop()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, text[text.index(marker) - 200:][:3000]

    def log(self):
        self.stderr.flush()
        with open(self.stderr.name) as f:
            return f.read()

    def kdf_runs(self, peer):
        return len(re.findall(r"legacy auth: password check \d+ \(from %s\)" % re.escape(peer),
                              self.log()))

    def connect_from(self, peer, timeout=30):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((peer, 0))
        s.connect(("127.0.0.1", self.port))
        return s

    def ask(self, command, params, peer="127.0.0.1"):
        with self.connect_from(peer) as s:
            s.sendall(frame(command + " " + json.dumps(params)))
            return read_response(s)

    def ask_as(self, uid, command, params, peer="127.0.0.1"):
        """ask() from another uid; returns (code, seconds)."""
        out = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                              "--clear-groups", sys.executable, "-c", ASK_AS, str(self.port),
                              peer, command + " " + json.dumps(params)],
                             capture_output=True, text=True, timeout=60, check=True)
        r = json.loads(out.stdout)
        return r["code"], r["seconds"]


def with_users(jobd):
    for user, password, privileges in (("admin", "s3cret", "*"), ("viewer", "v13w", "STATUSALL")):
        r = jobd.cmd("AUTH.ADD", {"username": user, "password": password,
                                  "privileges": privileges})
        assert r == {"code": "OK"}, r
    r = jobd.cmd("AUTH.SETENABLE", {"enable": True, "auth": ADMIN})
    assert r == {"code": "OK"}, r


class Probe(threading.Thread):
    """A client with the right password: STATUSALL, one at a time."""

    def __init__(self, jobd):
        super().__init__(daemon=True)
        self.jobd = jobd
        self.stop_event = threading.Event()
        self.latencies = []
        self.error = None

    def run(self):
        try:
            with self.jobd.connect(timeout=30) as s:
                request = frame("STATUSALL " + json.dumps({"auth": ADMIN}))
                while not self.stop_event.is_set():
                    start = time.monotonic()
                    s.sendall(request)
                    r = read_response(s)
                    self.latencies.append(time.monotonic() - start)
                    if r.get("code") != "OK":
                        raise AssertionError("STATUSALL answered %r" % r)
                    time.sleep(0.005)
        except Exception as e:
            self.error = e

    def finish(self):
        self.stop_event.set()
        self.join(30)
        if self.error is not None:
            raise self.error
        return max(self.latencies), len(self.latencies)


class Flood(unittest.TestCase):
    def setUp(self):
        self.jobd = VerboseJobd()
        with_users(self.jobd)

    def tearDown(self):
        self.jobd.stop()

    def test_pipelined_wrong_passwords(self):
        peer = "127.0.0.2"
        self.assertEqual(self.jobd.cmd("STATUSALL", {"auth": ADMIN})["code"], "OK")
        probe = Probe(self.jobd)
        probe.start()
        wait_for(lambda: len(probe.latencies) >= 5, "the probe to get answers")
        cpu_before = cpu_seconds(self.jobd.proc.pid)
        start = time.monotonic()
        with self.jobd.connect_from(peer, timeout=60) as s:
            s.sendall(b"".join(frame("STATUSALL " + json.dumps(
                {"auth": {"username": "admin", "password": "wrong%d" % i}})) for i in range(300)))
            answers = [read_response(s)["code"] for _ in range(300)]
        elapsed = time.monotonic() - start
        worst, count = probe.finish()
        cpu = cpu_seconds(self.jobd.proc.pid) - cpu_before
        runs = self.jobd.kdf_runs(peer)
        sys.stderr.write("300 pipelined wrong passwords: answered in %.0f ms, %d KDF runs, "
                         "jobd CPU %.2f s; other client's worst %.1f ms over %d answers\n"
                         % (elapsed * 1000, runs, cpu, worst * 1000, count))
        self.assertEqual(answers, ["DENIED"] * 300)
        self.assertLess(worst, STATUS_BOUND, "the flood held up another client")
        self.assertGreaterEqual(runs, 1)
        self.assertLessEqual(runs, 3, "wrong passwords on one connection not throttled")

    def test_many_connections_from_one_peer(self):
        peer = "127.0.0.3"
        start = time.monotonic()
        socks = []
        for i in range(60):
            s = self.jobd.connect_from(peer, timeout=60)
            s.sendall(frame("STATUSALL " + json.dumps(
                {"auth": {"username": "admin", "password": "wrong%d" % i}})))
            socks.append(s)
        answers = [read_response(s)["code"] for s in socks]
        for s in socks:
            s.close()
        elapsed = time.monotonic() - start
        runs = self.jobd.kdf_runs(peer)
        sys.stderr.write("60 connections with a wrong password from one peer: %d KDF runs "
                         "in %.1f s\n" % (runs, elapsed))
        self.assertEqual(answers, ["DENIED"] * 60)
        self.assertGreaterEqual(runs, 1)
        # A burst of 10, then one a second.
        self.assertLessEqual(runs, 10 + int(elapsed) + 2, "failures from one peer not throttled")
        # Another local user (a local peer is its uid), with the right
        # password, is not locked out.
        self.assertEqual(self.jobd.ask_as(65534, "STATUSALL", {"auth": ADMIN}, "127.0.0.4")[0],
                         "OK")

    def test_unknown_user_costs_the_same(self):
        known, unknown, peers = [], [], []
        for i in range(6):
            for user, times in (("admin", known), ("nosuchuser", unknown)):
                # A fresh peer (uid and address) each time: nothing throttled.
                k = 2 * i + (user == "admin") + 1
                peer = "127.0.1.%d" % k
                code, seconds = self.jobd.ask_as(60000 + k, "STATUSALL",
                                                 {"auth": {"username": user, "password": "x%d" % i}},
                                                 peer)
                times.append(seconds)
                self.assertEqual(code, "DENIED")
                peers.append((peer, user))
        k, u = statistics.median(known), statistics.median(unknown)
        sys.stderr.write("wrong password, median answer: known user %.1f ms, unknown %.1f ms\n"
                         % (k * 1000, u * 1000))
        self.assertGreater(u, k * 0.5, "an unknown user answers faster than a known one")
        self.assertGreater(k, u * 0.5)
        for peer, user in peers:
            self.assertEqual(self.jobd.kdf_runs(peer), 1, "not one KDF run for %s" % user)


class Hashes(unittest.TestCase):
    def tearDown(self):
        self.jobd.stop()

    def test_new_hashes_are_yescrypt(self):
        self.jobd = VerboseJobd()
        with_users(self.jobd)
        hashes = stored_hashes(self.jobd)
        for user, password in (("admin", "s3cret"), ("viewer", "v13w")):
            self.assertTrue(hashes[user].startswith("$y$"), hashes[user])
            self.assertEqual(crypt.crypt(password, hashes[user]), hashes[user])
        r = self.jobd.cmd("AUTH.UPDATE", {"username": "viewer", "password": "n3w", "auth": ADMIN})
        self.assertEqual(r, {"code": "OK"})
        h = stored_hashes(self.jobd)["viewer"]
        self.assertTrue(h.startswith("$y$"))
        self.assertEqual(crypt.crypt("n3w", h), h)

    def test_pbkdf2_hash_upgraded_at_login(self):
        import base64
        import hashlib

        salt = os.urandom(16)
        digest = hashlib.pbkdf2_hmac("sha256", b"0ldpw", salt, 20000)
        old = "pbkdf2-sha256$20000$%s$%s" % (base64.b64encode(salt).decode(),
                                             base64.b64encode(digest).decode())

        def plant(jobd):
            path = os.path.join(jobd.state_dir, "plugins", "auth.json")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump({"enable": True, "users": {"old": {"password-hash": old,
                                                             "privileges": "*"}}}, f)
            os.chmod(path, 0o600)

        self.jobd = VerboseJobd(before_start=plant)
        cred = {"username": "old", "password": "0ldpw"}
        self.assertEqual(self.jobd.ask("STATUSALL", {"auth": dict(cred, password="nope")},
                                       "127.0.0.5")["code"], "DENIED")
        self.assertEqual(stored_hashes(self.jobd)["old"], old)
        self.assertEqual(self.jobd.ask("STATUSALL", {"auth": cred}, "127.0.0.6")["code"], "OK")
        wait_for(lambda: stored_hashes(self.jobd)["old"].startswith("$y$"),
                 "the stored hash to be upgraded")
        new = stored_hashes(self.jobd)["old"]
        self.assertEqual(crypt.crypt("0ldpw", new), new)
        self.assertIn("upgraded to yescrypt", self.jobd.log())
        # Still the same password, through the new hash.
        self.assertEqual(self.jobd.ask("STATUSALL", {"auth": cred}, "127.0.0.7")["code"], "OK")

    def test_import_legacy_hashes_with_yescrypt(self):
        self.jobd = VerboseJobd()   # for its folders; the import runs on its own
        out = subprocess.run([JOBD, "--help"], capture_output=True, text=True, timeout=30)
        if "--import-legacy" not in out.stdout:
            self.skipTest("jobd has no --import-legacy")
        data = os.path.join(self.jobd.tmp, "olddata")
        os.makedirs(os.path.join(data, "plugins", "auth"))
        with open(os.path.join(data, "plugins", "auth", "config.json"), "w") as f:
            json.dump({"enable": True, "users": {"imp": {"password": "1mp0rt",
                                                         "privileges": "*"}}}, f)
        os.makedirs(os.path.join(self.jobd.tmp, "imported"))
        target = JobdProcess(JOBD, os.path.join(self.jobd.tmp, "imported"))
        target.write_config("[Daemon]\nBackend=direct\n")
        r = subprocess.run([JOBD] + target.options("--import-legacy", data), capture_output=True,
                           text=True, timeout=60, env=jobd_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(target.state_dir, "plugins", "auth.json")) as f:
            h = json.load(f)["users"]["imp"]["password-hash"]
        self.assertTrue(h.startswith("$y$"), h)
        self.assertEqual(crypt.crypt("1mp0rt", h), h)


if __name__ == "__main__":
    unittest.main(verbosity=2)
