#!/usr/bin/python3
"""test-jobd.py — jobd installed as a system service in a booted container.

`meson install --destdir` into a temp dir on the host; the install's prefix
is bound read-only over the same path inside (so /usr/local/... resolves),
units go to /run/systemd/system, the bus policy to /etc/dbus-1/system.d.
Then the issue's check: start, a job in its scope with its limits, memory
with its source, stop leaves nothing in the scope, D-Bus activation."""

import glob
import re
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nspawn  # noqa: E402

BUILDDIR = os.environ["JOBD_BUILDDIR"]
LOOP = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.01; done"


def install():
    """meson install into a temp DESTDIR; returns (destdir, prefix)."""
    dest = tempfile.mkdtemp(prefix="jobd-destdir-")
    subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild", "--quiet",
                    "--destdir", dest], check=True, stdout=subprocess.DEVNULL)
    units = glob.glob(os.path.join(dest, "**", "systemd", "system", "jobd.service"),
                      recursive=True)
    assert len(units) == 1, units
    with open(units[0]) as f:
        execstart = [l for l in f.read().splitlines() if l.startswith("ExecStart=")][0]
    jobd = execstart.split("=", 1)[1].split()[0]
    assert jobd.endswith("/sbin/jobd") and os.path.exists(dest + jobd), jobd
    return dest, jobd[:-len("/sbin/jobd")]


def setup_container(c, dest, prefix):
    run_units = "/run/systemd/system"
    for unit in glob.glob(os.path.join(dest, prefix.lstrip("/"), "lib", "systemd", "system", "*")):
        c.run(["cp", unit[len(dest):], run_units])
    policy = glob.glob(os.path.join(dest, "**", "dbus-1", "system.d", "org.jobd1.conf"), recursive=True)
    c.run(["mkdir", "-p", "/etc/dbus-1/system.d"])
    c.run(["cp", policy[0][len(dest):], "/etc/dbus-1/system.d/"])
    for kind in ("sysusers", "tmpfiles"):
        conf = glob.glob(os.path.join(dest, "**", kind + ".d", "jobd.conf"), recursive=True)[0]
        tool = "systemd-sysusers" if kind == "sysusers" else "systemd-tmpfiles"
        args = [tool] + (["--create"] if kind == "tmpfiles" else []) + [conf[len(dest):]]
        c.run(args)
    c.run(["systemctl", "reload", "dbus.service"])
    c.run(["systemctl", "daemon-reload"])


def scope_pids(c, cgroup):
    r = c.run(["cat", "/sys/fs/cgroup/unified%s/cgroup.procs" % cgroup], check=False)
    if r.returncode != 0:
        r = c.run(["cat", "/sys/fs/cgroup%s/cgroup.procs" % cgroup], check=False)
    return r.stdout.split() if r.returncode == 0 else []


def check(c, prefix):
    jobctl = prefix + "/bin/jobctl"
    setup_container(c, DEST, prefix)
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


DEST = None


def main():
    global DEST
    if nspawn.skip_reason():
        print("SKIP: %s" % nspawn.skip_reason())
        sys.exit(nspawn.SKIP)
    DEST, prefix = install()
    try:
        if prefix == "/usr":
            print("SKIP: built with prefix /usr; the container's /usr is the host's "
                  "and cannot take the install (configure with the default /usr/local)")
            sys.exit(nspawn.SKIP)
        nspawn.main(lambda c: check(c, prefix), bind_ro=["%s%s:%s" % (DEST, prefix, prefix)])
    finally:
        shutil.rmtree(DEST, ignore_errors=True)


main()
