# SPDX-License-Identifier: MIT
"""jobd's sd_notify STATUS= ("N of M jobs up", what `systemctl status jobd`
shows) is rate-limited (issue 16): each message costs PID 1 a parse and a
PropertiesChanged, and one per main-loop turn made 1 000 adds cost PID 1
about 3 s of CPU. At most one every 250 ms, and the last state is always
told. The service manager here is this test: a datagram socket given to
jobd as NOTIFY_SOCKET."""
import os
import socket
import threading
import time

from jobdtest import JobdTestCase, Jobd, DEADLINE, main, wait_until

INTERVAL = 0.25
JOBS = 40


class NotifyListener:
    """Collects what jobd sends to its NOTIFY_SOCKET, with arrival times."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def statuses(self):
        with self.lock:
            return [(t, line[len("STATUS="):]) for t, m in self.messages
                    for line in m.split("\n") if line.startswith("STATUS=")]

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


class NotifyStatus(JobdTestCase):

    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.cleanup)
        self.listener = NotifyListener(os.path.join(self.jobd.root, "notify"))
        self.addCleanup(self.listener.close)
        self.jobd.env_extra = {"NOTIFY_SOCKET": os.path.join(self.jobd.root, "notify")}
        self.jobd.start()
        self.bus = self.jobd.connect()

    def last_status(self):
        got = self.listener.statuses()
        return got[-1][1] if got else None

    def assert_rate_limited(self, since):
        got = [t for t, _ in self.listener.statuses() if t >= since]
        span = got[-1] - got[0]
        # One per INTERVAL at most, plus the first one at once.
        self.assertLessEqual(len(got), span / INTERVAL + 2,
                             "%d STATUS= messages in %.2f s" % (len(got), span))

    def test_many_changes_few_messages_last_state_told(self):
        wait_until(lambda: self.last_status() == "0 of 0 jobs up", "the first STATUS=")
        since = time.monotonic()
        for i in range(JOBS):
            self.bus.add("j%d" % i, "/bin/sleep", ["1000"])
            self.bus.call("Start", "j%d" % i)
        for row in self.bus.list_rows():
            self.jobd.note_pid(row[2])
        want = "%d of %d jobs up" % (JOBS, JOBS)
        wait_until(lambda: self.last_status() == want, "STATUS=" + want, timeout=DEADLINE)
        # Each add and each start was a change: 80 of them.
        self.assert_rate_limited(since)

        since = time.monotonic()
        for i in range(JOBS):
            self.bus.call("Stop", "j%d" % i)
        want = "0 of %d jobs up" % JOBS
        wait_until(lambda: self.last_status() == want, "STATUS=" + want, timeout=DEADLINE)
        self.assert_rate_limited(since)


if __name__ == "__main__":
    main()
