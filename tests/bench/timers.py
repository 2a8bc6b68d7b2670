#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Schedules bench (issue 12), apart from `run`: prints figures, asserts nothing.

  tests/bench/timers.py --jobd build/daemon/jobd [--jobs 10000] [--fires 30]
  (--jobs 0 skips the wakeup count)

1. Wakeups with N jobs each holding a schedule and nothing due: voluntary
   context switches of jobd (all threads, /proc/PID/task/*/status) over 10 s,
   beside the same jobd with no job at all (the idle reference).
2. Fire precision: a job on `*:*:0/2` (every 2 s) runs `date +%s.%N`; the
   delay from the due time (the 2 s boundary) to the time the job printed,
   median and p99 over --fires runs, beside a reference that sleeps until
   each boundary itself (time.sleep) and then fork/execs the same `date`.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "common"))
from jobdharness import JobdProcess, stop_pid, wait_until  # noqa: E402

MANAGER_PATH, MANAGER_IFACE = "/org/jobd1", "org.jobd1.Manager"


def log(msg):
    print("bench-timers: " + msg, file=sys.stderr, flush=True)


class Jobd(JobdProcess):
    def __init__(self, exe):
        super().__init__(exe, tempfile.mkdtemp(prefix="jobd-bench-timers-"))
        self.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=false\n")
        self.out = open(os.path.join(self.root, "jobd.out"), "w")
        self.spawn(self.out)
        self.conn = wait_until(self.ping, "jobd to answer", 30)

    def call(self, method, args=None, timeout=30):
        return self.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, method, args, None,
                                   Gio.DBusCallFlags.NONE, timeout * 1000, None).unpack()

    def stop(self):
        stop_pid(self.proc, 60)
        self.out.close()
        subprocess.run(["rm", "-rf", self.root])


def ctxt_switches(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def wakeups(jobd, seconds=10):
    before = ctxt_switches(jobd.proc.pid)
    time.sleep(seconds)
    return ctxt_switches(jobd.proc.pid) - before


def settings(command, args, spec):
    return {"command": GLib.Variant("s", command), "args": GLib.Variant("as", args),
            "schedules": GLib.Variant("aa{sv}", [{"spec": GLib.Variant("s", spec)}])}


def bench_wakeups(exe, n):
    idle = Jobd(exe)
    try:
        time.sleep(1)
        ref = wakeups(idle)
    finally:
        idle.stop()
    jobd = Jobd(exe)
    try:
        t0 = time.monotonic()
        for i in range(n):
            # Nothing due within the window: hourly offsets past the next 10 s.
            jobd.call("Add", GLib.Variant("(sa{sv})", ("j%05d" % i, settings(
                "/bin/true", [], "every %ds" % (3600 + i)))))
        log("added %d scheduled jobs in %.1f s" % (n, time.monotonic() - t0))
        assert len(jobd.call("GetTimers")[0]) == n
        time.sleep(1)
        got = wakeups(jobd)
    finally:
        jobd.stop()
    print("wakeups in 10 s, %d jobs with a schedule, none due: %d (idle jobd, no job: %d)"
          % (n, got, ref))


def read_lines(jobd, name):
    return jobd.call("ReadOutput", GLib.Variant("(su)", (name, 0)))[0]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_precision(exe, fires):
    jobd = Jobd(exe)
    try:
        s = settings("/bin/date", ["+%s.%N"], "*:*:0/2")
        s["buffer-size"] = GLib.Variant("u", fires + 10)
        jobd.call("Add", GLib.Variant("(sa{sv})", ("tick", s)))
        wait_until(lambda: len(read_lines(jobd, "tick")) >= fires, "%d fires" % fires,
                   fires * 2 + 30, interval=0.5)
        stamps = [float(text) for _t, _stream, text in read_lines(jobd, "tick")[:fires]]
    finally:
        jobd.stop()
    delays = [(t - (t // 2) * 2) * 1000 for t in stamps]
    ref = []
    for _ in range(fires):
        now = time.time()
        time.sleep((now // 2 + 1) * 2 - now)
        out = subprocess.run(["/bin/date", "+%s.%N"], capture_output=True, text=True).stdout
        t = float(out)
        ref.append((t - (t // 2) * 2) * 1000)
    print("fire → exec delay over %d fires: median %.2f ms, p99 %.2f ms "
          "(sleep-based reference: median %.2f ms, p99 %.2f ms)"
          % (fires, statistics.median(delays), percentile(delays, 99),
             statistics.median(ref), percentile(ref, 99)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobd", required=True)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--fires", type=int, default=30)
    args = parser.parse_args()
    if args.jobs > 0:
        bench_wakeups(args.jobd, args.jobs)
    bench_precision(args.jobd, args.fires)


if __name__ == "__main__":
    main()
