#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a job inherits from jobd (the clone child, daemon/spawn/jobd-child.c):
descriptors 0-2 only, an empty signal mask, default signal dispositions and
the RLIMIT_NOFILE soft limit jobd was started with. jobd is started here with
all of these spoilt, as a careless parent would start it: signals blocked and
ignored, a soft limit below the hard one (which jobd raises for itself)."""
import os
import resource
import signal

from jobdtest import JobdTestCase, main, wait_until

BLOCKED = {signal.SIGUSR2, signal.SIGWINCH}
IGNORED = {signal.SIGUSR1, signal.SIGQUIT}


def status_masks(pid):
    """SigBlk and SigIgn of /proc/PID/status, as sets of signal numbers."""
    masks = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("SigBlk", "SigIgn"):
                bits = int(value, 16)
                masks[key] = {n for n in range(1, 65) if bits & (1 << (n - 1))}
    return masks


def soft_fd_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        line = [l for l in f if l.startswith("Max open files")][0]
    return int(line.split()[3])


class Inherit(JobdTestCase):
    def restart_jobd_spoilt(self, soft):
        """Restart jobd with BLOCKED blocked, IGNORED ignored and the soft
        descriptor limit soft: a child inherits all three across exec."""
        self.tearDown()
        saved_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
        saved_handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in IGNORED}
        saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKED)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, saved_limit[1]))
            self.jobd.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, saved_limit)
            signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
            for sig, handler in saved_handlers.items():
                signal.signal(sig, handler)
        self.bus = self.jobd.connect()

    def test_job_starts_clean_whatever_jobd_was_given(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        soft = min(1024, hard - 1)
        self.restart_jobd_spoilt(soft)
        # The spoilt state reached jobd, or this test proves nothing.
        jobd_masks = status_masks(self.jobd.proc.pid)
        self.assertLessEqual(BLOCKED, jobd_masks["SigBlk"])
        self.assertLessEqual(IGNORED | {signal.SIGPIPE}, jobd_masks["SigIgn"])
        self.assertEqual(soft_fd_limit(self.jobd.proc.pid), hard)

        # Other jobs, so jobd holds descriptors (FIFOs, pidfds) to leak.
        for i in range(3):
            self.add_and_start("other%d" % i, "/bin/sleep", ["100"])
        pid, _ = self.add_and_start("clean", "/bin/sleep", ["100"])
        # "up" comes at the exec, while the dynamic loader may still hold a
        # library open: wait until only what was inherited is left.
        fds = []

        def settled():
            fds[:] = sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % pid))
            return fds == [0, 1, 2]
        try:
            wait_until(settled, "the job to hold only fds 0, 1, 2")
        except AssertionError:
            self.fail("the job holds fds %s, not only 0, 1, 2" % fds)
        masks = status_masks(pid)
        self.assertEqual(masks["SigBlk"], set(), "signals blocked in the job")
        self.assertEqual(masks["SigIgn"], set(), "signals ignored in the job")
        self.assertEqual(soft_fd_limit(pid), soft)


if __name__ == "__main__":
    main()
