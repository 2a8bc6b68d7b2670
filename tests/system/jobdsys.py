# SPDX-License-Identifier: MIT
"""jobdsys.py — jobd installed as the system service in a booted container.

What the system tests that drive the installed jobd share:

- install(): `meson install --destdir` of the build into a temp dir on the
  host; its prefix (/usr/local) is bound read-only over the same path inside,
  so files the host writes into the destdir (jobd.conf) show inside at once;
- setup(): units to /run/systemd/system, the bus policy, sysusers/tmpfiles,
  after stopping whatever the first boot's presets already started (a
  volatile container boots with an empty /etc, so systemd enables every unit
  it finds, ours included, before the bus policy is there);
- Jobd: jobctl, `jobctl show --json`, jobd.service's properties, jobs.json;
- run(): skip (77) where no container can boot, else one container for the
  test, torn down whatever happens, and the destdir removed.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import nspawn  # noqa: E402

BUILDDIR = os.environ.get("JOBD_BUILDDIR", "")
# A job printing numbered lines, one every 10 ms.
COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.01; done"
STATE_FILE = "/var/lib/jobd/jobs.json"
RUN_UNITS = "/run/systemd/system"


class Install:
    """A DESTDIR install of the build: host paths and the paths inside."""

    def __init__(self):
        assert BUILDDIR, "JOBD_BUILDDIR is not set (run under meson test)"
        self.dest = tempfile.mkdtemp(prefix="jobd-destdir-")
        subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild", "--quiet",
                        "--destdir", self.dest], check=True, stdout=subprocess.DEVNULL)
        unit = self.find("systemd/system/jobd.service")
        with open(unit) as f:
            execstart = [l for l in f.read().splitlines() if l.startswith("ExecStart=")][0]
        jobd = execstart.split("=", 1)[1].split()[0]
        assert jobd.endswith("/sbin/jobd") and os.path.exists(self.dest + jobd), jobd
        self.prefix = jobd[:-len("/sbin/jobd")]
        self.jobctl = self.prefix + "/bin/jobctl"
        self.unit_dir = os.path.dirname(unit)

    def find(self, tail):
        """The one installed file whose path ends with tail (host path)."""
        found = glob.glob(os.path.join(self.dest, "**", tail), recursive=True)
        assert len(found) == 1, "%s installed %d times: %s" % (tail, len(found), found)
        return found[0]

    def inside(self, host_path):
        """Where a file of the install is seen inside the container."""
        assert host_path.startswith(self.dest), host_path
        return host_path[len(self.dest):]

    def binds(self):
        return ["%s%s:%s" % (self.dest, self.prefix, self.prefix)]

    def remove(self):
        shutil.rmtree(self.dest, ignore_errors=True)


def setup(c, inst):
    """Install jobd's units and policy in the container; jobd left stopped."""
    # The first boot enabled (and may have started) our units already.
    c.run(["systemctl", "stop", "jobd.service", "jobd-legacy.socket"])
    c.run(["systemctl", "reset-failed", "jobd.service"], check=False)
    for unit in glob.glob(os.path.join(inst.unit_dir, "*")):
        c.run(["cp", inst.inside(unit), RUN_UNITS])
    c.run(["mkdir", "-p", "/etc/dbus-1/system.d"])
    c.run(["cp", inst.inside(inst.find("dbus-1/system.d/org.jobd1.conf")),
           "/etc/dbus-1/system.d/"])
    c.run(["systemd-sysusers", inst.inside(inst.find("sysusers.d/jobd.conf"))])
    c.run(["systemd-tmpfiles", "--create", inst.inside(inst.find("tmpfiles.d/jobd.conf"))])
    c.run(["systemctl", "reload", "dbus.service"])
    c.run(["systemctl", "daemon-reload"])


class Jobd:
    """jobd.service and its jobs, seen from the host."""

    def __init__(self, c, inst):
        self.c = c
        self.inst = inst

    def ctl(self, *args, check=True):
        return self.c.run([self.inst.jobctl] + list(args), check=check).stdout

    def job(self, name):
        """`jobctl show NAME --json`: {"runtime": {...}, "settings": {...}}."""
        return json.loads(self.ctl("show", name, "--json"))

    def runtime(self, name):
        return self.job(name)["runtime"]

    def wait_state(self, name, state, timeout=30):
        """The job's runtime once its state is state."""
        def reached():
            r = self.runtime(name)
            return r if r["state"] == state else None
        return self.c.wait_for("job %s to be %s" % (name, state), reached, timeout=timeout)

    def lines(self, name, n=2000):
        return self.ctl("read", name, "-n", str(n)).splitlines()

    def systemctl(self, verb):
        """systemctl VERB jobd.service, first forgetting earlier starts: the
        tests start jobd more often than the unit's start limit allows."""
        self.c.run(["systemctl", "reset-failed", "jobd.service"])
        self.c.run(["systemctl", verb, "jobd.service"])

    def service(self, *props):
        return self.c.show("jobd.service", *props)

    def main_pid(self):
        return int(self.service("MainPID")["MainPID"])

    def alive(self, pid):
        return self.c.run(["kill", "-0", str(pid)], check=False).returncode == 0

    def kill9(self, pid):
        self.c.run(["kill", "-KILL", str(pid)])

    def wait_gone(self, pid, what, timeout=30):
        self.c.wait_for("%s (PID %d) to be gone" % (what, pid),
                        lambda: not self.alive(pid), timeout=timeout)

    def journal_cursor(self):
        out = self.c.run(["journalctl", "-u", "jobd.service", "-n", "0",
                          "--show-cursor"]).stdout
        return re.search(r"^-- cursor: (.*)$", out, re.M).group(1)

    def journal_since(self, cursor):
        return self.c.run(["journalctl", "-u", "jobd.service", "-o", "cat",
                           "--after-cursor", cursor]).stdout

    def read_state(self):
        return json.loads(self.c.run(["cat", STATE_FILE]).stdout)

    def write_state(self, state):
        self.c.run(["/bin/sh", "-c", "cat > %s.tmp && mv %s.tmp %s"
                    % (STATE_FILE, STATE_FILE, STATE_FILE)], input=json.dumps(state))

    def config_path(self):
        """jobd.conf as installed: a host path, writable, seen by jobd inside."""
        return self.inst.find("jobd/jobd.conf")


def run(check, **kw):
    """Install, boot, setup(), check(c, inst); exit 0, 1 or 77 (skip)."""
    if nspawn.skip_reason():
        print("SKIP: %s" % nspawn.skip_reason())
        sys.exit(nspawn.SKIP)
    inst = Install()
    try:
        if inst.prefix == "/usr":
            print("SKIP: built with prefix /usr; the container's /usr is the host's "
                  "and cannot take the install (configure with the default /usr/local)")
            sys.exit(nspawn.SKIP)

        def test(c):
            setup(c, inst)
            try:
                check(c, inst)
            except BaseException:
                # What jobd and systemd said is what explains a failure here.
                r = c.run(["journalctl", "--no-pager", "-n", "60", "-u", "jobd.service",
                           "-u", "jobd-legacy.socket"], check=False)
                print("--- journal of jobd.service (last 60 entries):\n" + r.stdout,
                      file=sys.stderr)
                raise
        nspawn.main(test, bind_ro=inst.binds(), **kw)
    finally:
        inst.remove()
