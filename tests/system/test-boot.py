#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-boot.py — the container harness itself: it boots a real systemd,
runs commands inside, sees bound host folders, reports exit codes, and
leaves nothing running after teardown."""

import os
import sys
import tempfile

import nspawn  # noqa: E402


def check(c):
    assert c.run(["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
    state = c.run(["systemctl", "is-system-running"], check=False).stdout.strip()
    assert state in ("running", "degraded"), state
    # The container has its own PID namespace: its PID 1 is not ours.
    assert c.pid1 != 1 and c.pid1 != os.getpid()
    marker = os.path.join(BIND, "marker")
    assert c.run(["cat", marker]).stdout == "hello from the host\n"
    r = c.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n"), r
    # A transient unit: the container's manager really manages units.
    c.run(["systemd-run", "--unit=harness-probe", "--wait", "/bin/true"])


BIND = tempfile.mkdtemp(prefix="jobd-harness-")
with open(os.path.join(BIND, "marker"), "w") as f:
    f.write("hello from the host\n")


def main():
    try:
        c = nspawn.Container(bind_ro=[BIND])
        c.start()
    except nspawn.Skip as e:
        print("SKIP: %s" % e)
        sys.exit(nspawn.SKIP)
    try:
        check(c)
    finally:
        nspawn_pid, pid1 = c.nspawn.pid, c.pid1
        c.stop()
    # Teardown really ended the container: neither nspawn nor its PID 1 lives.
    assert c.nspawn.returncode is not None
    assert not nspawn._alive(pid1), "container PID 1 %d survived teardown" % pid1
    assert not nspawn._alive(nspawn_pid)
    print("PASS")


main()
