#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-survival.py — jobs outlive jobd (issue 3), in a booted container.

One container; the checks run in order on job w, a counter printing a
numbered line every 10 ms (buffer 2000 lines, log files on):

1. kill -9 of jobd's main PID: systemd starts jobd again (Restart= of the
   unit; by hand if it says no), w keeps its PID, state, start time and
   restart counter; no line is lost or repeated, neither in the new jobd's
   buffer nor in the log file across the gap;
2. the same through `systemctl restart jobd`;
3. `jobctl update --memory-max` on the running job reaches its scope;
4. the journal has w's lines under JOBD_JOB=w;
5. a job stopped through the API stays stopped across a restart of jobd;
6. jobs whose processes die while jobd is stopped (StopJobsOnExit=false
   leaves them running) are started again by restart=always, not with no;
7. after a "host reboot" (another boot ID in jobs.json, the process gone)
   the job is started again, and not with [Daemon] RestoreJobs=false;
8. with the output FIFOs' paths removed, only systemd's fd store can hand
   the output back: checks 1 and 2 again.
"""

import os
import re
import sys
import uuid

import jobdsys  # noqa: E402

LOG_LINE = re.compile(r"^\[\d\d-\d\d-\d\d \d\d:\d\d:\d\d\] (\d+)$")
SCOPE = "jobd-w.scope"


def current_run(lines):
    """The lines since the job's last start: a run counts from 0."""
    starts = [i for i, line in enumerate(lines) if line.strip() == "0"]
    return lines[starts[-1]:] if starts else lines


def numbers(lines, what):
    for line in lines:
        assert line.isdigit(), "%s: not a numbered line: %r" % (what, line)
    return [int(line) for line in lines]


# A jobd killed outright may have passed on lines it had not yet taken out
# of the job's FIFO; the next jobd passes them on again (at least once,
# never lost). At most one read chunk (16 KiB) comes twice, at one point.
CRASH_REPEAT_MAX = 16 * 1024


def assert_continuous(nums, what, crash=False):
    """None missing from the first to the last; each once, except that after
    a crash one run of lines may come again (once, right at the crash)."""
    assert nums, "%s: no lines" % what
    rewinds = 0
    for a, b in zip(nums, nums[1:]):
        if b == a + 1:
            continue
        if b > a + 1:
            raise AssertionError("%s: %d followed by %d (lines lost)" % (what, a, b))
        rewinds += 1
        if not crash or rewinds > 1 or a - b + 1 > CRASH_REPEAT_MAX:
            raise AssertionError("%s: %d followed by %d (lines repeated)" % (what, a, b))


def log_run(c, name):
    """The numbers of the job's current run in its log files, in order."""
    files = sorted(c.run(["find", "/var/log/jobd/jobs/" + name, "-name", "*.log",
                          "!", "-name", "*.error.log"]).stdout.split())
    assert files, "no log file for %s" % name
    text = [LOG_LINE.sub(r"\1", line) for line in c.run(["cat"] + files).stdout.splitlines()]
    return numbers(current_run(text), "log of %s" % name)


def ring(j):
    """w's buffered output (current run) as numbers."""
    return numbers(current_run(j.lines("w")), "jobctl read w")


def wait_ring(c, j, what, pred):
    def ready():
        nums = ring(j)
        return nums if nums and pred(nums) else None
    return c.wait_for(what, ready, timeout=20)


def bounce_kill9(c, j, old_main):
    """kill -9 of jobd; systemd brings it back (or we do, if the unit won't)."""
    svc = j.service("Restart", "NRestarts")
    c.run(["systemctl", "reset-failed", "jobd.service"])   # the start limit
    j.kill9(old_main)
    if svc["Restart"] == "no":
        j.wait_gone(old_main, "jobd")
        j.systemctl("start")
        return

    def back():
        s = j.service("ActiveState", "SubState", "MainPID")
        return (s["ActiveState"], s["SubState"]) == ("active", "running") and \
            int(s["MainPID"]) not in (0, old_main)
    c.wait_for("systemd to start jobd again (Restart=%s)" % svc["Restart"], back)
    assert int(j.service("NRestarts")["NRestarts"]) == int(svc["NRestarts"]) + 1


def bounce_restart(c, j, old_main):
    j.systemctl("restart")


def survive(c, j, what, bounce, crash=False):
    """bounce() takes jobd away and back; w must not notice, nor lose a line."""
    seen = wait_ring(c, j, "w's output before %s" % what, lambda n: len(n) >= 20)
    before = j.runtime("w")
    assert before["state"] == "up", before
    old_main = j.main_pid()

    bounce(c, j, old_main)

    new_main = j.main_pid()
    assert new_main not in (0, old_main), (old_main, new_main)
    after = j.runtime("w")
    for key in ("state", "main-pid", "started-at", "restarts"):
        assert after[key] == before[key], \
            "%s: w's %s was %r, is %r" % (what, key, before[key], after[key])

    # The new jobd's buffer starts where the old one stopped reading: lines
    # written while no jobd ran come first, then the rest, none lost.
    gap = "w's output after %s" % what
    after_ring = wait_ring(c, j, gap, lambda n: n[-1] >= seen[-1] + 30)
    if not crash:
        assert after_ring[0] > seen[-1], \
            "%s: lines read twice (%d, then %d)" % (what, seen[-1], after_ring[0])
    assert_continuous(after_ring, "%s (jobctl read w -n 2000)" % gap, crash)

    def log_reached():
        nums = log_run(c, "w")
        return nums if nums and nums[-1] >= after_ring[-1] else None
    logged = c.wait_for("w's log to reach line %d" % after_ring[-1], log_reached)
    assert logged[0] == 0, logged[:5]
    assert_continuous(logged, "w's log file across %s" % what, crash)
    print("%s: jobd %d -> %d, w PID %d kept, lines %d..%d logged without a gap"
          % (what, old_main, new_main, after["main-pid"], logged[0], logged[-1]))


def live_limits(c, j):
    assert c.show(SCOPE, "MemoryMax")["MemoryMax"] == "infinity"
    pid = j.runtime("w")["main-pid"]
    j.ctl("update", "w", "--memory-max=128M")
    c.wait_for("MemoryMax of %s to become 128M" % SCOPE,
               lambda: c.show(SCOPE, "MemoryMax")["MemoryMax"] == str(128 << 20))
    r = j.runtime("w")
    assert (r["state"], r["main-pid"]) == ("up", pid), r
    assert j.job("w")["settings"]["memory-max"] == 128 << 20


def journal(c, j):
    def last5():
        out = c.run(["journalctl", "JOBD_JOB=w", "-o", "cat", "-n", "5"]).stdout.splitlines()
        return out if len(out) == 5 else None
    got = numbers(c.wait_for("5 journal entries with JOBD_JOB=w", last5), "journal of w")
    assert_continuous(got, "journalctl JOBD_JOB=w")
    buffered = ring(j)
    assert got[0] in buffered, (got, buffered[-10:])
    at = buffered.index(got[0])
    assert buffered[at:at + 5] == got, (got, buffered[at:at + 5])


def scope_gone(c):
    return c.show(SCOPE, "ActiveState")["ActiveState"] in ("inactive", "failed")


def stopped_stays_stopped(c, j):
    j.ctl("stop", "w")
    j.wait_state("w", "down")
    c.wait_for("%s to go" % SCOPE, lambda: scope_gone(c))
    cursor = j.journal_cursor()
    j.systemctl("restart")
    # Restoring is done before READY=1: a start would show as starting now.
    assert j.runtime("w")["state"] == "down", j.runtime("w")
    assert scope_gone(c)
    assert "job w: starting" not in j.journal_since(cursor)


def exited_while_away(c, j):
    j.ctl("add", "n", "--restart=no", "--", "/bin/sleep", "1000")
    j.ctl("start", "w")
    j.ctl("start", "n")
    w = j.wait_state("w", "up")["main-pid"]
    n = j.wait_state("n", "up")["main-pid"]
    j.systemctl("stop")
    # StopJobsOnExit=false, the default: the jobs run on without jobd.
    assert j.service("ActiveState")["ActiveState"] == "inactive"
    assert j.alive(w) and j.alive(n), "stopping jobd stopped its jobs"
    assert c.show(SCOPE, "ActiveState")["ActiveState"] == "active"
    for pid, name in ((w, "w"), (n, "n")):
        j.kill9(pid)
        j.wait_gone(pid, "job " + name)
    j.systemctl("start")
    r = j.wait_state("w", "up")
    assert r["main-pid"] != w, r
    assert j.runtime("n")["state"] == "down", j.runtime("n")


def fake_reboot(c, j, name):
    """With jobd stopped: the job's record from another boot, its process gone."""
    state = j.read_state()
    record = state["jobs"][name].get("runtime")
    assert record and record.get("pid") and record.get("boot-id"), state["jobs"][name]
    this_boot = c.run(["cat", "/proc/sys/kernel/random/boot_id"]).stdout.strip()
    assert record["boot-id"] == this_boot, (record, this_boot)
    record["boot-id"] = str(uuid.uuid4())
    j.write_state(state)
    j.kill9(record["pid"])
    j.wait_gone(record["pid"], "job " + name)
    return record["pid"]


def host_reboot(c, j):
    # restart=no: only RestoreJobs= can bring w back after its process died.
    j.ctl("update", "w", "--restart=no")
    j.systemctl("stop")
    old = fake_reboot(c, j, "w")
    j.systemctl("start")
    r = j.wait_state("w", "up")
    assert r["main-pid"] != old, r
    assert j.runtime("n")["state"] == "down", j.runtime("n")

    conf = j.config_path()
    with open(conf) as f:
        installed = f.read()
    j.systemctl("stop")
    old = fake_reboot(c, j, "w")
    try:
        with open(conf, "w") as f:
            f.write("[Daemon]\nRestoreJobs=false\n")
        j.systemctl("start")
        assert j.runtime("w")["state"] == "down", j.runtime("w")
    finally:
        with open(conf, "w") as f:
            f.write(installed)


def fd_store_alone(c, j):
    j.ctl("start", "w")
    j.wait_state("w", "up")
    # w's stdout and stderr, kept for the next jobd.
    c.wait_for("w's output descriptors in the fd store",
               lambda: j.service("NFileDescriptorStore")["NFileDescriptorStore"] == "2")
    c.run(["rm", "/run/jobd/output/w.stdout", "/run/jobd/output/w.stderr"])
    survive(c, j, "kill -9 of jobd, FIFO paths removed", bounce_kill9, crash=True)
    survive(c, j, "systemctl restart jobd, FIFO paths removed", bounce_restart)


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    j.systemctl("start")
    j.ctl("add", "w", "--buffer-size=2000", "--write-log=yes", "--restart=always",
          "--restart-delay=200ms", "--", "/bin/sh", "-c", jobdsys.COUNTER)
    j.ctl("start", "w")
    first = j.wait_state("w", "up")["main-pid"]
    # One crash first, so the restart counter carried across is not just 0.
    j.kill9(first)

    def restarted():
        r = j.runtime("w")
        return r["state"] == "up" and r["main-pid"] != first and r["restarts"] == 1
    c.wait_for("w restarted by its policy", restarted)

    survive(c, j, "kill -9 of jobd", bounce_kill9, crash=True)
    survive(c, j, "systemctl restart jobd", bounce_restart)
    live_limits(c, j)
    journal(c, j)
    stopped_stays_stopped(c, j)
    exited_while_away(c, j)
    host_reboot(c, j)
    fd_store_alone(c, j)


jobdsys.run(check)
