# SPDX-License-Identifier: MIT
"""nspawn.py — boot a real systemd in a container from the host's own /usr.

The system tests need a systemd manager as PID 1, which a CI box or a
developer container usually lacks. systemd-nspawn can boot one from the
host's /usr on a throw-away tmpfs root:

    systemd-nspawn -D / --volatile=yes --boot --register=no --keep-unit ...

The container's PID 1 is the child of the nspawn process; every command is
run in its namespaces with `nsenter -t PID1 -a`. Host paths are not visible
inside unless bound (the build tree is bound at the same path).

Skip (exit 77) is only for a host that cannot boot a container at all (not
root, no systemd-nspawn); once booting starts, any failure is a test failure.
Teardown always happens (atexit, SIGTERM/SIGINT from meson's timeout) and is
by PID: SIGTERM to nspawn (orderly halt), SIGKILL after a deadline.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from jobdharness import wait_until  # noqa: E402

SKIP = 77


class Skip(Exception):
    """The host cannot run the system tests; the message says why."""


def skip_reason():
    """Why this host cannot boot a container, or None when it can."""
    if os.geteuid() != 0:
        return "system tests need root (systemd-nspawn, nsenter)"
    for tool in ("systemd-nspawn", "nsenter"):
        if shutil.which(tool) is None:
            return "%s not found (package systemd-container / util-linux)" % tool
    if not os.path.exists("/usr/lib/systemd/systemd"):
        return "no /usr/lib/systemd/systemd to boot"
    return None


def _children(pid):
    """PIDs whose parent is pid."""
    path = "/proc/%d/task/%d/children" % (pid, pid)
    try:
        with open(path) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        pass
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the ")" that closes the command name.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Container:
    """One booted container. Use as a context manager, or start()/stop()."""

    def __init__(self, name=None, bind=(), bind_ro=(), boot_timeout=90):
        self.name = name or "jobdtest%d" % os.getpid()
        self.bind = list(bind)
        self.bind_ro = list(bind_ro)
        self.boot_timeout = boot_timeout
        self.nspawn = None      # subprocess.Popen of systemd-nspawn
        self.pid1 = None        # the container's systemd, host PID
        self.logdir = tempfile.mkdtemp(prefix="jobd-nspawn-")
        self.log_path = os.path.join(self.logdir, "console.log")

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        reason = skip_reason()
        if reason:
            raise Skip(reason)
        cmd = ["systemd-nspawn", "-D", "/", "--volatile=yes", "--boot",
               "--register=no", "--keep-unit", "-M", self.name,
               "--console=pipe",
               # Its own network namespace: a loopback of its own, so what
               # listens inside (127.0.0.1:13123) cannot clash with the host
               # or another test's container.
               "--private-network"]
        cmd += ["--bind=%s" % b for b in self.bind]
        cmd += ["--bind-ro=%s" % b for b in self.bind_ro]
        # firstboot would wait for answers on the console otherwise.
        cmd += ["systemd.firstboot=off"]
        log = open(self.log_path, "wb")
        _install_teardown(self)
        self.nspawn = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        log.close()
        self._wait_for_boot()
        return self

    def _wait_for_boot(self):
        deadline = time.monotonic() + self.boot_timeout
        state = None
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise RuntimeError("systemd-nspawn exited with %s before the "
                                   "container booted:\n%s"
                                   % (self.nspawn.returncode, self.console()))
            if self.pid1 is None:
                kids = _children(self.nspawn.pid)
                if kids:
                    self.pid1 = kids[0]
            if self.pid1 is not None:
                r = subprocess.run(self.nsenter(["systemctl", "is-system-running"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   universal_newlines=True, timeout=30)
                state = r.stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.2)   # polling a state that has no event we can wait on
        raise RuntimeError("container did not boot within %ss (last state %r):\n%s"
                           % (self.boot_timeout, state, self.console()))

    def stop(self, timeout=30):
        """Halt the container and wait for nspawn to exit; SIGKILL at the deadline."""
        if self.nspawn is None or self.nspawn.poll() is not None:
            return
        self.nspawn.send_signal(signal.SIGTERM)   # nspawn: orderly halt
        try:
            self.nspawn.wait(timeout)
        except subprocess.TimeoutExpired:
            # Kill the whole session nspawn leads (it runs in its own).
            os.killpg(self.nspawn.pid, signal.SIGKILL)
            self.nspawn.wait(10)
        if self.pid1 is not None and _alive(self.pid1):
            os.kill(self.pid1, signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def console(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    # -- running commands ---------------------------------------------------

    def nsenter(self, argv):
        return ["nsenter", "-t", str(self.pid1), "-a"] + list(argv)

    def run(self, argv, check=True, timeout=60, input=None, env=None):
        """Run argv inside the container; returns a CompletedProcess (text).

        env entries are passed through env(1) so they apply inside."""
        full = list(argv)
        if env:
            full = ["env"] + ["%s=%s" % kv for kv in env.items()] + full
        r = subprocess.run(self.nsenter(full), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r

    def sh(self, script, **kw):
        return self.run(["/bin/sh", "-c", script], **kw)

    def wait_for(self, what, predicate, timeout=30, interval=0.1):
        """Poll predicate() until true; AssertionError naming what at the deadline.

        Used for states systemd offers no event for on the command line."""
        return wait_until(predicate, what, timeout, interval)

    def show(self, unit, *props):
        """systemctl show UNIT -p … as a dict."""
        args = ["systemctl", "show", unit]
        for p in props:
            args += ["-p", p]
        out = self.run(args).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


_containers = []


def _teardown_all():
    while _containers:
        c = _containers.pop()
        try:
            c.stop()
        except Exception as e:   # teardown must reach every container
            print("teardown of %s failed: %s" % (c.name, e), file=sys.stderr)


def _on_signal(signo, frame):
    _teardown_all()
    sys.exit(128 + signo)


def _install_teardown(container):
    if not _containers:
        atexit.register(_teardown_all)
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    _containers.append(container)


def main(test, **kw):
    """Run test(container) in a fresh container; exit 0, 1, or 77 (skip).

    The container is torn down whatever the outcome."""
    try:
        with Container(**kw) as c:
            test(c)
    except Skip as e:
        print("SKIP: %s" % e)
        sys.exit(SKIP)
    except Exception:
        import traceback
        traceback.print_exc()
        sys.exit(1)
    print("PASS")
    sys.exit(0)
