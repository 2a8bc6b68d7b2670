# SPDX-License-Identifier: MIT
"""The 'everyday' step of tests/bench/run (issue 14's performance figures):

- `jobctl status NAME`, whole process (fork, exec, waitpid), median of N,
  beside `/bin/true` and `status-client` (a bare GIO client making the same
  Status call on the same socket), interleaved in batches (target ≤ 3 ms);
- `jobctl apply DIR` of N job files into an empty jobd (target ≤ 2 s for
  1 000), beside `dbus-scale --add N --start 0` (the same N jobs added with
  raw pipelined D-Bus calls, no files) into another empty jobd;
- jobd's CPU % while `jobctl top` (on a pseudo-terminal of its own, the
  default refresh) watches N running jobs, over a window, beside the same
  jobd idle over a window of the same length just before (target ≤ 2 % of
  a core).
Nothing is asserted."""
import os
import pty
import signal
import subprocess
import time

from benchlib import Jobd, cpu_seconds, log, median, run_client, run_client_env, stop_pid

TOP_WINDOW_FULL = 20.0


def status_latency(table, exes, jobd, plan):
    env = dict(os.environ, JOBD_ADDRESS=jobd.address)
    batches = 1 if plan.smoke else 5
    reps = max(3, plan.cli_reps // batches)
    figures = {"jobctl": [], "bare": [], "true": []}
    for _ in range(batches):
        for key, argv in (("jobctl", [exes["jobctl"], "status", "bench"]),
                          ("bare", [exes["status-client"], "bench"]),
                          ("true", ["/bin/true"])):
            r = run_client_env([exes["start-latency"], "--exec", "--reps", str(reps), "--"]
                               + argv, env)
            figures[key].append(r["p50_us"] / 1000)
    j, b, t = (median(figures[k]) for k in ("jobctl", "bare", "true"))
    table.detail("jobctl status whole process: p50 %.2f ms; bare GIO client (same Status "
                 "call) %.2f ms; /bin/true %.2f ms (medians of %d batches of %d)"
                 % (j, b, t, batches, reps))
    table.row("jobctl status NAME, whole process", j, b, "≤ 3 ms", j <= 3.0, "ms",
              ref_name="bare GIO Status client")
    table.row("  the same, the floor", t, None, None, None, "ms", ref_name="/bin/true")


def write_job_files(directory, n):
    os.makedirs(directory)
    for i in range(n):
        with open(os.path.join(directory, "a-%05d.job" % i), "w") as f:
            f.write("[Job]\nCommand=/bin/sleep 100000\nRestart=no\n")


def apply_time(table, exes, root, plan):
    n = 20 if plan.smoke else 1000
    files = os.path.join(root, "apply-files")
    write_job_files(files, n)
    jobd = Jobd(exes, root, "apply").start()
    try:
        env = dict(os.environ, JOBD_ADDRESS=jobd.address)
        t0 = time.monotonic()
        proc = subprocess.run([exes["jobctl"], "apply", files], env=env, capture_output=True,
                              text=True, timeout=600)
        took = time.monotonic() - t0
        if proc.returncode != 0:
            log("jobctl apply failed (%d): %s" % (proc.returncode, proc.stderr[-500:]))
        added = len(jobd.call("StatusAll", timeout=120))
    finally:
        jobd.stop()
    ref_jobd = Jobd(exes, root, "apply-ref").start()
    try:
        ref = run_client([exes["dbus-scale"], "--address", ref_jobd.address, "--add", str(n),
                          "--start", "0", "--prefix", "a-", "--timeout", "300"],
                         timeout=420, allow_fail=True)
    finally:
        ref_jobd.stop()
    table.detail("jobctl apply of %d job files: %.2f s, exit %d, %d jobs registered; "
                 "dbus-scale adding the same %d jobs: %.2f s"
                 % (n, took, proc.returncode, added, n, ref.get("calls_s", 0)))
    table.row("jobctl apply, %d job files" % n, took, ref.get("calls_s"),
              "≤ 2 s (1 000)", proc.returncode == 0 and added == n and took <= 2.0 * max(n, 1000) / 1000,
              "s", ref_name="raw D-Bus Add ×%d" % n)


def top_cost(table, exes, root, plan, nofile):
    n = 20 if plan.smoke else 1000
    n = min(n, max(1, (nofile - 200) // 4))
    window = 1.0 if plan.smoke else TOP_WINDOW_FULL
    jobd = Jobd(exes, root, "top").start()
    top = None
    try:
        run_client([exes["dbus-scale"], "--address", jobd.address, "--add", str(n), "--start",
                    str(n), "--prefix", "t-", "--timeout", "300"], timeout=420, allow_fail=True)
        up = sum(1 for s in jobd.call("StatusAll", timeout=120).values() if s == "up")
        time.sleep(0.5)
        c0, t0 = cpu_seconds(jobd.pid), time.monotonic()
        time.sleep(window)
        idle = 100.0 * (cpu_seconds(jobd.pid) - c0) / (time.monotonic() - t0)

        # top needs a terminal: a pseudo-terminal whose output we drain.
        env = dict(os.environ, JOBD_ADDRESS=jobd.address, TERM="xterm", COLUMNS="120",
                   LINES="40")
        master, slave = pty.openpty()
        top = subprocess.Popen([exes["jobctl"], "top"], stdin=slave, stdout=slave,
                               stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        drained = drain_until(master, b"sort:", 30)
        c0, t0 = cpu_seconds(jobd.pid), time.monotonic()
        end = t0 + window
        while time.monotonic() < end:
            drained += drain_until(master, None, end - time.monotonic())
        watched = 100.0 * (cpu_seconds(jobd.pid) - c0) / (time.monotonic() - t0)
        os.write(master, b"q")
        top.wait(timeout=10)
        os.close(master)
    finally:
        if top is not None and top.poll() is None:
            stop_pid(top)
        jobd.stop()
    table.detail("jobctl top over %d running jobs (%d up): jobd %.2f %% of a core over %.0f s "
                 "(%d bytes drawn), idle %.2f %% over the same length before"
                 % (n, up, watched, window, drained, idle))
    table.row("jobd CPU while jobctl top watches %d jobs" % n, watched, idle, "≤ 2 %",
              watched <= 2.0, "%", ref_name="jobd idle, same jobs")


def drain_until(fd, marker, timeout):
    """Read what the terminal got until marker shows (None: until timeout)."""
    import select
    got = b""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            if marker is not None:
                raise RuntimeError("jobctl top drew no frame within %.0f s" % timeout)
            return len(got)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                return len(got)
            got += chunk
            if marker is not None and marker in got:
                return len(got)


def bench_everyday(table, exes, root, plan, jobd, nofile):
    """jobd: the main bench jobd with its 'bench' job up (for status)."""
    status_latency(table, exes, jobd, plan)
    apply_time(table, exes, root, plan)
    top_cost(table, exes, root, plan, nofile)
