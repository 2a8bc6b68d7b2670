#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Large legacy answers nobody reads: 64 connections ask LOGEXPLORER.GET of
a 16 MiB log, or GETALL of jobs with large extras, and never read. jobd's
memory (VmRSS) stays bounded, a concurrent STATUS client keeps getting
answers in milliseconds, connections that do not read their answer are
dropped after ReadTimeoutSec, and a client that does read gets the whole
answer. Figures go to stderr."""
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import unittest

from legacy import DEADLINE, JOBD, Jobd as PlainJobd, frame, read_response, wait_for
from jobdharness import stop_pid

ATTACKERS = 64
LOG_SIZE = 16 * 1024 * 1024 - 4096
WINDOW = 2.0           # seconds the attack is watched once in full effect


def sanitized(exe):
    """Built with AddressSanitizer: everything on jobd's main loop is
    several times slower, so the latency bound is looser."""
    try:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return False
    return "libasan" in out


# Worst STATUS latency allowed, seconds.
STATUS_BOUND = 1.5 if sanitized(JOBD) else 0.5


class Jobd(PlainJobd):
    def stop(self):
        """Stop, then fail on any sanitizer report in jobd's output."""
        stop_pid(self.proc, DEADLINE)
        self.stderr.flush()
        self.stderr.seek(0)
        text = self.stderr.read()
        super().stop()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, text[text.index(marker) - 200:][:3000]


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def pending_bytes(sock):
    """Bytes waiting in the socket's receive queue (unread by us)."""
    buf = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return struct.unpack("i", buf)[0]


class Probe(threading.Thread):
    """A well-behaved client: STATUS on one connection, one at a time, and
    jobd's VmRSS sampled between answers."""

    def __init__(self, jobd):
        super().__init__(daemon=True)
        self.jobd = jobd
        self.stop_event = threading.Event()
        self.latencies = []
        self.peak_rss = 0
        self.error = None

    def run(self):
        try:
            with self.jobd.connect(timeout=30) as s:
                request = frame("STATUS " + json.dumps({"jobname": "web"}))
                while not self.stop_event.is_set():
                    start = time.monotonic()
                    s.sendall(request)
                    r = read_response(s)
                    self.latencies.append(time.monotonic() - start)
                    if r.get("code") != "OK":
                        raise AssertionError("STATUS answered %r" % r)
                    self.peak_rss = max(self.peak_rss, status_kb(self.jobd.proc.pid, "VmRSS"))
                    time.sleep(0.005)
        except Exception as e:  # reported by the test thread
            self.error = e

    def finish(self):
        self.stop_event.set()
        self.join(30)
        if self.error is not None:
            raise self.error
        return max(self.latencies), len(self.latencies)


def attack(jobd, payload, n=ATTACKERS):
    socks = []
    for _ in range(n):
        s = jobd.connect()
        s.sendall(frame(payload))
        socks.append(s)
    return socks


def reset_all(socks):
    """Close with a reset, as a client that vanishes does."""
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


class UnreadLog(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd("MaxConnections=600\n")
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "web", "command": "/bin/true"}),
                         {"code": "OK"})
        day = os.path.join(self.jobd.logs, "jobs", "web", "20260101")
        os.makedirs(day, exist_ok=True)
        line = '[26-01-01 00:00:01] "quoted" \\ and\ttabs, plain text to fill the line\n'
        self.text = (line * (LOG_SIZE // len(line) + 1))[:LOG_SIZE]
        with open(os.path.join(day, "2026010100.log"), "w") as f:
            f.write(self.text)
        self.get = "LOGEXPLORER.GET " + json.dumps({"jobname": "web", "dirname": "20260101",
                                                    "filename": "2026010100.log"})

    def tearDown(self):
        self.jobd.stop()

    def test_unread_log_answers(self):
        pid = self.jobd.proc.pid
        base_rss = status_kb(pid, "VmRSS")
        base_fds = fd_count(pid)
        probe = Probe(self.jobd)
        probe.start()
        socks = attack(self.jobd, self.get)
        try:
            # In full effect once every attacker has the start of its answer.
            wait_for(lambda: all(pending_bytes(s) > 0 for s in socks),
                     "every attacker to get the start of its answer", timeout=120)
            deadline = time.monotonic() + WINDOW
            while time.monotonic() < deadline:
                probe.peak_rss = max(probe.peak_rss, status_kb(pid, "VmRSS"))
                time.sleep(0.02)
            worst, count = probe.finish()
            grown_mb = (probe.peak_rss - base_rss) / 1024
            sys.stderr.write("unread LOGEXPLORER.GET x%d: VmRSS %d -> peak %d kB (+%.0f MB), "
                             "worst STATUS %.1f ms over %d answers\n"
                             % (ATTACKERS, base_rss, probe.peak_rss, grown_mb, worst * 1000,
                                count))
            self.assertLess(grown_mb, 100, "jobd grew with unread answers")
            self.assertLess(worst, STATUS_BOUND, "STATUS held up by unread answers")
            self.assertGreater(count, 10)

            # Nobody reads: dropped after ReadTimeoutSec (2 s here).
            start = time.monotonic()
            wait_for(lambda: fd_count(pid) <= base_fds + 1,
                     "connections with unread answers to be dropped", timeout=30)
            sys.stderr.write("unread connections dropped %.1f s after the window\n"
                             % (time.monotonic() - start))
        finally:
            reset_all(socks)

        # A client that reads gets the whole file, as it was.
        with self.jobd.connect(timeout=60) as s:
            s.sendall(frame(self.get))
            r = read_response(s)
        self.assertEqual(r["code"], "OK")
        self.assertEqual(r["data"], self.text)


class UnreadGetall(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd("MaxConnections=600\n")
        blob = "x" * 900000
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "web", "command": "/bin/true"}),
                         {"code": "OK"})
        for i in range(14):
            r = self.jobd.cmd("ADD", {"jobname": "big%d" % i, "command": "/bin/true",
                                      "blob": blob})
            self.assertEqual(r, {"code": "OK"})

    def tearDown(self):
        self.jobd.stop()

    def test_unread_getall_answers(self):
        pid = self.jobd.proc.pid
        base_rss = status_kb(pid, "VmRSS")
        base_fds = fd_count(pid)
        probe = Probe(self.jobd)
        probe.start()
        socks = attack(self.jobd, "GETALL")
        try:
            # Some answers are on their way; the rest wait for the budget.
            wait_for(lambda: sum(pending_bytes(s) > 0 for s in socks) >= 1,
                     "an attacker to get the start of its answer", timeout=120)
            deadline = time.monotonic() + WINDOW
            while time.monotonic() < deadline:
                probe.peak_rss = max(probe.peak_rss, status_kb(pid, "VmRSS"))
                time.sleep(0.02)
            worst, count = probe.finish()
            grown_mb = (probe.peak_rss - base_rss) / 1024
            sys.stderr.write("unread GETALL (12.6 MB) x%d: VmRSS %d -> peak %d kB (+%.0f MB), "
                             "worst STATUS %.1f ms over %d answers\n"
                             % (ATTACKERS, base_rss, probe.peak_rss, grown_mb, worst * 1000,
                                count))
            self.assertLess(grown_mb, 200, "jobd grew with unread answers")
            self.assertLess(worst, STATUS_BOUND, "STATUS held up by unread answers")
            self.assertGreater(count, 10)
        finally:
            reset_all(socks)

        # The vanished clients are noticed; a reading client gets its GETALL.
        wait_for(lambda: fd_count(pid) <= base_fds + 1, "the attackers' connections to close",
                 timeout=60)
        with self.jobd.connect(timeout=60) as s:
            s.sendall(frame("GETALL"))
            r = read_response(s)
        self.assertEqual(r["code"], "OK")
        self.assertEqual(len(r["data"]), 15)
        self.assertEqual(len(r["data"]["big3"]["blob"]), 900000)


class AnswerSize(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd("MaxAnswerSize=1000000\n")

    def tearDown(self):
        self.jobd.stop()

    def test_answer_over_max_answer_size_fails(self):
        blob = "y" * 600000
        for name in ("a", "b"):
            self.assertEqual(self.jobd.cmd("ADD", {"jobname": name, "command": "/bin/true",
                                                   "blob": blob}), {"code": "OK"})
        # One job fits; both together do not: FAILED, and jobd goes on.
        self.assertEqual(len(self.jobd.cmd("GET", {"jobname": "a"})["data"]["blob"]), 600000)
        self.assertEqual(self.jobd.cmd("GETALL"), {"code": "FAILED"})
        self.assertEqual(self.jobd.cmd("STATUS", {"jobname": "a"}), {"code": "OK", "data": "DOWN"})
        self.jobd.stderr.seek(0)
        self.assertIn("larger than MaxAnswerSize", self.jobd.stderr.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
