# SPDX-License-Identifier: MIT
"""What each registered and each running job costs jobd (issue 16): 1 000
jobs added, half of them started, and jobd's private dirty memory may grow
by at most a few kB per job. Each save of the registry once built the JSON
tree of every job (and read the whole file back as another tree): the heap
grew to that at each save and kept it, ~3x the per-job cost of before."""
import os

from jobdtest import JobdTestCase, jobdharness, main, wait_until

# RSS is measured: a small ASan quarantine, even when CI sets ASAN_OPTIONS.
jobdharness.measure_rss_under_asan()

JOBS = 1000
RUNNING = 500
# Measured 2026-12-05 (release build): 4.2 kB per job registered, 2.8 kB more
# per job running, so ~5.6 kB per job here; with the whole-registry trees of
# each save it was 8.3 + 20 kB (18 kB per job here).
BOUND_KB = 10
ASAN_FACTOR = 5    # redzones and shadow of every allocation: 33 kB per job measured


def private_dirty_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise AssertionError("no Private_Dirty for %d" % pid)


def under_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


class PerJobMemory(JobdTestCase):

    def test_private_dirty_per_job_is_bounded(self):
        pid = self.jobd.proc.pid
        before = private_dirty_kb(pid)
        for i in range(JOBS):
            self.bus.add("m-%d" % i, "/bin/sleep", ["100000"], restart="no")
        for i in range(RUNNING):
            self.bus.call("Start", "m-%d" % i)
        wait_until(lambda: sum(1 for s in self.bus.call("StatusAll").values() if s == "up")
                   == RUNNING, "%d jobs up" % RUNNING, timeout=120)
        for row in self.bus.list_rows():
            if row[2]:
                self.jobd.note_pid(row[2])
        after = private_dirty_kb(pid)
        per_job = (after - before) / JOBS
        bound = BOUND_KB * (ASAN_FACTOR if under_asan(pid) else 1)
        print("private dirty %d -> %d kB: %.1f kB per job (%d of %d running), bound %d"
              % (before, after, per_job, RUNNING, JOBS, bound))
        self.assertLessEqual(per_job, bound)


if __name__ == "__main__":
    main()
