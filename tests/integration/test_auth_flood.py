# SPDX-License-Identifier: MIT
"""A client of the private socket that is not yet authenticated cannot make
jobd read (and hold) more than a few KiB: GDBus reads SASL lines with no
length limit, so before, a local user sending one endless line had jobd read
and buffer it until the authentication deadline, on a thread of its own, per
connection.

FLOODERS clients at once each connect, send the credentials byte, then up to
200 MiB of 'A' without a newline. With AuthTimeoutSec=10 (so the deadline
cannot be what ends them): every connection is closed within CLOSE_BOUND s,
jobd took less than 1 MiB from each (what fits in the socket buffers), its
peak RSS (VmHWM) grew by less than 24 MiB, and a normal client (an existing
one and a new one) still gets answers. Figures go to stderr."""
import socket
import sys
import threading
import time

from jobdtest import JobdTestCase, jobdharness, main

# RSS is measured: a small ASan quarantine, even when CI sets ASAN_OPTIONS.
jobdharness.measure_rss_under_asan()

MIB = 1024 * 1024
CHUNK = 64 * 1024
FLOOD = 200 * MIB
FLOODERS = 8
AUTH_TIMEOUT = 10
CLOSE_BOUND = 3.0
TAKEN_BOUND = 1 * MIB
GROWTH_BOUND = 24 * MIB


def status_bytes(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no %s for %d" % (field, pid))


class AuthFlood(JobdTestCase):
    config_extra = "\n[DBus]\nAuthTimeoutSec=%d\n" % AUTH_TIMEOUT

    def flood(self, result):
        chunk = b"A" * CHUNK
        sent = 0
        start = time.monotonic()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(AUTH_TIMEOUT * 2)
        try:
            s.connect(self.jobd.bus_path)
            s.sendall(b"\0")
            while sent < FLOOD:
                s.sendall(chunk)
                sent += len(chunk)
            # All taken: jobd must still close it (no line ever ends).
            result["eof"] = s.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            result["eof"] = True
        except OSError as exc:
            result["error"] = exc
        finally:
            result["sent"] = sent
            result["seconds"] = time.monotonic() - start
            s.close()

    def test_endless_auth_lines(self):
        pid = self.jobd.proc.pid
        self.assertIsNotNone(self.bus.list_rows())
        hwm_before = status_bytes(pid, "VmHWM")
        rss_before = status_bytes(pid, "VmRSS")
        results = [{} for _ in range(FLOODERS)]
        threads = [threading.Thread(target=self.flood, args=(r,), daemon=True) for r in results]
        for t in threads:
            t.start()
        end = time.monotonic() + AUTH_TIMEOUT * 3
        for t in threads:
            t.join(max(0, end - time.monotonic()))
        growth = status_bytes(pid, "VmHWM") - hwm_before
        sys.stderr.write("%d endless SASL lines at once: taken %s KiB, closed after %s s; jobd "
                         "RSS %.1f MiB before, VmHWM +%.1f MiB\n"
                         % (FLOODERS, [r.get("sent", 0) // 1024 for r in results],
                            ["%.2f" % r.get("seconds", -1) for r in results],
                            rss_before / MIB, growth / MIB))
        self.assertFalse(any(t.is_alive() for t in threads), "a flooding client was not closed")
        for r in results:
            self.assertNotIn("error", r)
            self.assertTrue(r.get("eof"), "jobd did not close the connection")
            self.assertLess(r["seconds"], CLOSE_BOUND, "closed by the deadline, not the bound")
            self.assertLess(r["sent"], TAKEN_BOUND, "jobd read on without authentication")
        self.assertLess(growth, GROWTH_BOUND, "jobd's memory grew with unauthenticated lines")
        # Clients still get answers, an existing one and a new one.
        self.assertIsNotNone(self.bus.list_rows())
        self.assertIsNotNone(self.jobd.connect().list_rows())


if __name__ == "__main__":
    main()
