#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-jobd.py — jobd installed as a system service in a booted container.

`meson install --destdir` into a temp dir on the host; the install's prefix
is bound read-only over the same path inside (so /usr/local/... resolves),
units go to /run/systemd/system, the bus policy to /etc/dbus-1/system.d.
Then the issue's check: start, a job in its scope with its limits, memory
with its source, stop leaves nothing in the scope, D-Bus activation."""

import os
import re
import sys

import jobdsys  # noqa: E402

LOOP = jobdsys.COUNTER


def scope_pids(c, cgroup):
    r = c.run(["cat", "/sys/fs/cgroup/unified%s/cgroup.procs" % cgroup], check=False)
    if r.returncode != 0:
        r = c.run(["cat", "/sys/fs/cgroup%s/cgroup.procs" % cgroup], check=False)
    return r.stdout.split() if r.returncode == 0 else []


def check(c, inst):
    jobctl = inst.jobctl
    c.run(["systemctl", "start", "jobd.service"])
    assert c.show("jobd.service", "ActiveState")["ActiveState"] == "active"
    server = c.run([jobctl, "server"]).stdout
    assert re.search(r"Backend\W+systemd", server), server

    c.run([jobctl, "add", "w", "--memory-max=64M", "--tasks-max=32", "--",
           "/bin/sh", "-c", LOOP])
    c.run([jobctl, "start", "w"])
    props = c.show("jobd-w.scope", "MemoryMax", "TasksMax", "ControlGroup", "ActiveState", "Slice")
    print("scope:", props)
    assert props["ActiveState"] == "active", props
    assert props["MemoryMax"] == str(64 << 20), props
    assert props["TasksMax"] == "32", props
    assert props["Slice"] == "jobd.slice", props
    cgroup = props["ControlGroup"]
    assert cgroup == "/jobd.slice/jobd-w.scope", cgroup
    pids = c.wait_for("processes in the scope", lambda: scope_pids(c, cgroup))

    mem = c.run([jobctl, "mem", "w"]).stdout
    print("mem:", mem)
    assert "cgroup-" in mem, mem
    out = c.wait_for("output lines", lambda: c.run([jobctl, "read", "w"]).stdout.strip())
    assert out.splitlines()[0].split()[-1].isdigit(), out

    c.run([jobctl, "stop", "w"])
    c.wait_for("an empty scope", lambda: not scope_pids(c, cgroup), timeout=30)
    for pid in pids:
        assert c.run(["kill", "-0", pid], check=False).returncode != 0, pid

    # D-Bus activation: with the service stopped, a jobctl call starts it.
    c.run(["systemctl", "stop", "jobd.service"])
    c.run([jobctl, "--bus", "--address=unix:path=/run/dbus/system_bus_socket", "list"])
    assert c.show("jobd.service", "ActiveState")["ActiveState"] == "active"



jobdsys.run(check)
