#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Legacy password throttling is per local user, not per loopback address.

Every local user reaches jobd from 127.0.0.1, so a bucket per address let
one user's wrong passwords lock every other user out. User A (nobody, via
setpriv) sends wrong passwords on many connections, from 127.0.0.1 and from
other loopback addresses; then user B (root) logs in at once with the right
password and is let in, while A's requests, from whatever loopback
address, share one bucket (KDF runs stay within its burst and refill)."""
import json
import subprocess
import sys
import time
import unittest

from legacy import DEADLINE, frame, read_response
from test_passwords import ADMIN, VerboseJobd, with_users

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
FLOOD = 40
VIEWER = {"username": "viewer", "password": "v13w"}

# Run as user A: one connection per request (no per-connection delay helps
# it), from the given loopback addresses in turn; prints the answers' codes.
CLIENT = r"""
import json, socket, struct, sys
port, peers, requests = int(sys.argv[1]), sys.argv[2].split(","), json.loads(sys.argv[3])
def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
codes = []
for i, payload in enumerate(requests):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(30)
    s.bind((peers[i % len(peers)], 0))
    s.connect(("127.0.0.1", port))
    body = payload.encode()
    s.sendall(struct.pack("<I", len(body)) + body)
    (n,) = struct.unpack("<I", recv_exact(s, 4))
    codes.append(json.loads(recv_exact(s, n))["code"])
    s.close()
print(json.dumps(codes))
"""


def status_all(auth):
    return "STATUSALL " + json.dumps({"auth": auth})


class PerUser(unittest.TestCase):
    def setUp(self):
        self.jobd = VerboseJobd()
        with_users(self.jobd)

    def tearDown(self):
        self.jobd.stop()

    def as_nobody(self, requests, peers=("127.0.0.1",)):
        out = subprocess.run(NOBODY + [sys.executable, "-c", CLIENT, str(self.jobd.port),
                                       ",".join(peers), json.dumps(requests)],
                             capture_output=True, text=True, timeout=DEADLINE * 3, check=True)
        return json.loads(out.stdout)

    def test_one_users_flood_does_not_throttle_another(self):
        start = time.monotonic()
        wrong = [status_all({"username": "admin", "password": "wrong%d" % i})
                 for i in range(FLOOD)]
        codes = self.as_nobody(wrong, ("127.0.0.1", "127.0.0.7", "127.0.0.8"))
        self.assertEqual(codes, ["DENIED"] * FLOOD)
        # At once: the first login of another user (root) from 127.0.0.1.
        t = time.monotonic()
        with self.jobd.connect_from("127.0.0.1") as s:
            s.sendall(frame(status_all(ADMIN)))
            r = read_response(s)
        latency = time.monotonic() - t
        elapsed = time.monotonic() - start
        log = self.jobd.log()
        sys.stderr.write("%d wrong passwords of uid nobody in %.1f s; root's login answered %s "
                         "in %.0f ms\n" % (FLOOD, elapsed, r.get("code"), latency * 1000))
        self.assertEqual(r.get("code"), "OK", "one user's wrong passwords throttled another")
        self.assertIn("password check throttled", log)
        # A burst of 10, then one a second, for all of A's addresses together.
        # (Counted in KDF runs, not in answers: A's bucket refills while the
        # test runs, so whether one more login of A's gets in is timing.)
        runs = sum(self.jobd.kdf_runs(p) for p in ("127.0.0.1", "127.0.0.7", "127.0.0.8",
                                                  "127.0.0.9"))
        self.assertLessEqual(runs, 1 + 10 + int(elapsed) + 2,
                             "a user escapes the throttle by changing address")


if __name__ == "__main__":
    unittest.main()
