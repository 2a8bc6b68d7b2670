#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a client stores comes back as strict JSON: every control character,
and numbers JSON cannot hold are refused.

json-glib 1.6 writes U+001F raw inside strings; strict readers (PHP's
json_decode, Python's json.loads) refuse such a text, so one job holding it
broke every GET and GETALL answer and the state file. Found by
tests/fuzz/fuzz-settings. Python's json.loads is strict about control
characters, as PHP's json_decode is.
"""
import json
import os
import unittest

from legacy import Jobd, frame

CONTROLS = "".join(chr(c) for c in range(1, 0x20)) + "\x7f"


class ControlChars(unittest.TestCase):
    def setUp(self):
        self.jobd = Jobd()

    def tearDown(self):
        if self.jobd.alive():
            self.jobd.stop()

    def raw_answer(self, payload):
        """The answer's bytes, unparsed."""
        with self.jobd.connect() as s:
            s.sendall(frame(payload))
            head = b""
            while len(head) < 4:
                head += s.recv(4 - len(head))
            length = int.from_bytes(head, "little")
            body = b""
            while len(body) < length:
                chunk = s.recv(length - len(body))
                self.assertTrue(chunk, "connection closed mid-answer")
                body += chunk
            return body

    def assertStrict(self, body):
        self.assertFalse([b for b in body if b < 0x20], "raw control characters: %r" % body)
        return json.loads(body.decode())   # strict=True: refuses raw controls

    def test_get_getall_and_state_file(self):
        r = self.jobd.cmd("ADD", {"jobname": "cc", "command": "/bin/true",
                                  "params": "x" + CONTROLS, "note": CONTROLS})
        self.assertEqual(r["code"], "OK", r)

        got = self.assertStrict(self.raw_answer('GET {"jobname":"cc"}'))["data"]
        self.assertEqual(got["params"], "x" + CONTROLS)
        self.assertEqual(got["note"], CONTROLS)
        everything = self.assertStrict(self.raw_answer("GETALL"))["data"]
        self.assertEqual(everything["cc"]["note"], CONTROLS)

        # What jobd persisted (the journal line of the ADD, and jobs.json
        # when it has been written) reads back strictly too.
        read = 0
        for name in ("jobs.json", "jobs.journal"):
            path = os.path.join(self.jobd.state, name)
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                text = f.read().decode()
            for part in text.splitlines() if name == "jobs.journal" else [text]:
                if part.strip():
                    json.loads(part)
                    read += 1
        self.assertGreater(read, 0, "no state file to check")

    def test_overflowing_number_refused(self):
        """1e400 reads as infinity, which no JSON can hold: refused, nothing stored."""
        r = self.jobd.raw(frame('ADD {"jobname":"big","command":"/bin/true","x":1e400}'))
        self.assertEqual(r["code"], "FAILED", r)
        self.assertEqual(self.jobd.cmd("GET", {"jobname": "big"})["code"], "FAILED")
        self.assertEqual(self.jobd.cmd("ADD", {"jobname": "ok", "command": "/bin/true"})["code"],
                         "OK")
        r = self.raw_answer('UPDATE {"jobname":"ok","y":[1,-1e400]}')
        self.assertEqual(self.assertStrict(r)["code"], "FAILED")
        self.assertStrict(self.raw_answer("GETALL"))


if __name__ == "__main__":
    unittest.main()
