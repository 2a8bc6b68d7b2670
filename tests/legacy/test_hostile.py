#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The hostile-input matrix: each case is followed by a normal request that
must still be answered, with no job lost."""
import json
import os
import resource
import socket
import struct
import time
import unittest

from legacy import Jobd, frame, read_response, recv_exact, wait_for


class Hostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobd = Jobd("MaxFrameSize=65536\nMaxConnections=600\n")
        for name in ("keep1", "keep2"):
            r = cls.jobd.cmd("ADD", {"jobname": name, "command": "/bin/true"})
            assert r == {"code": "OK"}, r

    @classmethod
    def tearDownClass(cls):
        cls.jobd.stop()

    def tearDown(self):
        # Still answering, nothing lost.
        self.assertTrue(self.jobd.alive(), "jobd died")
        data = self.jobd.cmd("GETALL")["data"]
        self.assertIn("keep1", data)
        self.assertIn("keep2", data)

    def expect(self, payload, code):
        self.assertEqual(self.jobd.raw(frame(payload))["code"], code, payload)

    def expect_closed(self, sock):
        """The server answers FAILED or closes; either way it does not hang."""
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not data:
            return None
        (length,) = struct.unpack("<I", data[:4])
        while len(data) < 4 + length:
            data += sock.recv(65536)
        return json.loads(data[4:4 + length])

    def test_zero_length(self):
        self.assertEqual(self.jobd.raw(struct.pack("<I", 0))["code"], "UNKNOWN")

    def test_huge_length(self):
        with self.jobd.connect() as s:
            s.sendall(struct.pack("<I", 0xFFFFFFFF) + b"ADD")
            r = self.expect_closed(s)
            self.assertIn(r, (None, {"code": "FAILED"}))

    def test_just_over_max_frame(self):
        with self.jobd.connect() as s:
            s.sendall(struct.pack("<I", 65537))
            self.assertEqual(self.expect_closed(s), {"code": "FAILED"})

    def test_truncated_then_silence(self):
        start = time.monotonic()
        with self.jobd.connect() as s:
            s.sendall(struct.pack("<I", 100) + b"GETALL")
            # ReadTimeoutSec=2: dropped, and meanwhile others are served.
            self.assertEqual(self.jobd.cmd("STATUSALL")["code"], "OK")
            self.assertIsNone(self.expect_closed(s))
        self.assertLess(time.monotonic() - start, 10)

    def test_truncated_then_close(self):
        with self.jobd.connect() as s:
            s.sendall(struct.pack("<I", 100) + b"GET")

    def test_slow_byte_by_byte(self):
        # Slower than the read timeout in total: dropped, not served forever.
        data = frame('STATUS {"jobname":"keep1"}')
        with self.jobd.connect() as s:
            try:
                for b in data:
                    s.send(bytes([b]))
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertIsNone(self.expect_closed(s))

    def test_fast_byte_by_byte_is_served(self):
        data = frame('STATUS {"jobname":"keep1"}')
        with self.jobd.connect() as s:
            for b in data:
                s.send(bytes([b]))
            self.assertEqual(read_response(s), {"code": "OK", "data": "DOWN"})

    def test_not_json_params(self):
        for bad in ("{jobname:keep1}", "[1,2,3]", '"keep1"', "42", "null", "{} {}",
                    '{"jobname":"keep1"', "\u00ff\u00fe"):
            self.expect("STATUS " + bad, "FAILED")

    def test_binary_garbage(self):
        for garbage in (os.urandom(64), b"\x00" * 16, b"\xff\xfe\xfd STATUS",
                        b"STATUS {\"jobname\":\"ke\x00ep1\"}"):
            r = self.jobd.raw(frame(garbage))
            self.assertIn(r["code"], ("UNKNOWN", "FAILED"))

    def test_embedded_nul(self):
        self.expect(b"STATUS\x00 {\"jobname\":\"keep1\"}", "UNKNOWN")
        self.expect('STATUS {"jobname":"keep1\\u0000../x"}', "FAILED")

    def test_wrong_types(self):
        cases = [
            ("ADD", {"jobname": 5, "command": "/bin/true"}),
            ("ADD", {"jobname": "t", "command": 5}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "params": {}}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "buffersize": "20"}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "buffersize": -1}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "buffersize": 1.5}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "writelog": "yes"}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "guard": []}),
            ("ADD", {"jobname": "t", "command": "/bin/true", "autostart": {}}),
            ("STATUS", {"jobname": ["keep1"]}),
            ("STATUS", {"jobname": True}),
            ("AUTH.SETENABLE", {"enable": "yes"}),
            ("AUTH.ADD", {"username": 1, "password": "p", "privileges": "*"}),
            ("LOGEXPLORER.LISTFILE", {"jobname": "keep1", "dirname": 20240101}),
        ]
        for command, params in cases:
            self.assertEqual(self.jobd.cmd(command, params)["code"], "FAILED",
                             (command, params))
        self.assertNotIn("t", self.jobd.cmd("GETALL")["data"])

    def test_unknown_and_lower_case(self):
        for word in ("add", "Add", "getall", "AUTH.add", "X" * 100, "A..B", "DROP;TABLE"):
            self.expect(word, "UNKNOWN")

    def test_traversal_in_names(self):
        for name in ("..", ".", "../keep1", "/etc/passwd", "a/b", "keep1/..", ""):
            self.assertEqual(self.jobd.cmd("STATUS", {"jobname": name})["code"], "FAILED", name)
            self.assertEqual(self.jobd.cmd("ADD", {"jobname": name, "command": "/bin/true"})["code"],
                             "FAILED", name)

    def test_deep_nesting(self):
        self.expect('STATUS {"a":' + "[" * 100000 + "]" * 100000 + "}", "FAILED")

    def test_pipelined_frames(self):
        data = frame('STATUS {"jobname":"keep1"}') + frame("STATUSALL") + frame("NOPE")
        with self.jobd.connect() as s:
            s.sendall(data)
            self.assertEqual(read_response(s)["data"], "DOWN")
            self.assertEqual(read_response(s)["code"], "OK")
            self.assertEqual(read_response(s)["code"], "UNKNOWN")

    def test_500_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 600:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2048), hard))
        socks = []
        try:
            for _ in range(500):
                s = socket.socket()
                s.settimeout(20)
                s.connect(("127.0.0.1", self.jobd.port))
                socks.append(s)
            # Half of them send a whole request at once.
            for s in socks[::2]:
                s.sendall(frame('STATUS {"jobname":"keep2"}'))
            # A normal client is served while they are all open.
            self.assertEqual(self.jobd.cmd("STATUS", {"jobname": "keep1"})["data"], "DOWN")
            for i, s in enumerate(socks[::2]):
                self.assertEqual(read_response(s), {"code": "OK", "data": "DOWN"}, i)
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
