#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-deb.py — the Debian package builds, installs and runs under systemd.

1. `dpkg-buildpackage -us -uc -b` in a copy of the source tree (the files
   git knows, as they are in the work tree) builds jobd_*.deb;
2. a container is booted (nspawn.py) with the .deb and the host's dpkg
   database bound in read-only. The container's /usr is the host's, read
   only: an overlay (upper layer on tmpfs) makes it writable, and the dpkg
   database is copied to /var/lib/dpkg, so `dpkg -i` sees the host's
   packages as installed (the libraries are there) and installs over them;
3. `dpkg -i` runs the maintainer scripts: the jobd-legacy user and its
   folder, jobd.service and jobd-legacy.socket enabled and started;
4. from the installed paths: `systemctl start jobd`, `jobctl list` over the
   system bus (bus policy in /usr/share/dbus-1/system.d), a job in its
   scope, `man jobctl`, bash completion where bash-completion finds it,
   /etc/jobd/jobd.conf registered as a conffile.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nspawn  # noqa: E402

SRCDIR = os.environ.get("JOBD_SRCDIR", "")
DEB_DIR = "/srv/jobd-deb"          # inside: the built packages
HOST_DPKG = "/srv/jobd-host-dpkg"  # inside: the host's /var/lib/dpkg
MANPATH_CONFIG = "/srv/jobd-manpath.config"


def source_files():
    """The files of the source tree: what git tracks or would (work tree
    state), else everything but build folders."""
    r = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        return [f for f in r.stdout.decode().split("\0")
                if f and os.path.isfile(os.path.join(SRCDIR, f))]
    found = []
    for root, dirs, files in os.walk(SRCDIR):
        dirs[:] = [d for d in dirs if not d.startswith(("build", ".git"))]
        found += [os.path.relpath(os.path.join(root, f), SRCDIR) for f in files]
    return found


def build_package(work):
    tree = os.path.join(work, "jobd")
    for name in source_files():
        dest = os.path.join(tree, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(SRCDIR, name), dest)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2 nocheck", LC_ALL="C.UTF-8")
    with open(os.path.join(work, "build.log"), "w") as log:
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                           timeout=1200)
    if r.returncode != 0:
        with open(os.path.join(work, "build.log"), errors="replace") as f:
            raise AssertionError("dpkg-buildpackage failed (%d):\n%s" % (r.returncode, f.read()[-6000:]))
    debs = glob.glob(os.path.join(work, "jobd_*.deb"))
    assert len(debs) == 1, debs
    return os.path.basename(debs[0])


def check(c, deb):
    # /usr writable (an overlay on the host's), the host's dpkg database.
    c.sh("mkdir -p /var/tmp/usr-upper /var/tmp/usr-work && "
         "mount -t overlay overlay -o lowerdir=/usr,upperdir=/var/tmp/usr-upper,"
         "workdir=/var/tmp/usr-work /usr")
    # Its stat overrides name the host's groups, which this /etc lacks.
    c.sh("mkdir -p /var/lib/dpkg /var/log && cp -a %s/. /var/lib/dpkg/ && "
         ": > /var/lib/dpkg/statoverride" % HOST_DPKG)
    assert c.run(["test", "-e", "/usr/sbin/jobd"], check=False).returncode != 0, \
        "jobd is installed in the host's /usr already: the test would prove nothing"
    # A `meson install` of jobd on the host (/usr/local) would shadow the
    # package's units and programs: hide it (in the overlay only), after
    # stopping what the first boot started of it.
    c.run(["systemctl", "stop", "jobd.service", "jobd-legacy.socket"], check=False)
    c.sh("find /usr/local \\( -name 'jobd*' -o -name jobctl -o -name _jobctl "
         "-o -name 'org.jobd1*' \\) \\( -type f -o -type l \\) -delete")
    c.run(["systemctl", "daemon-reload"])
    c.run(["systemctl", "reset-failed"], check=False)
    # dbus watches its policy folders; let it watch the overlay's.
    c.run(["systemctl", "reload", "dbus.service"])

    r = c.run(["dpkg", "-i", "%s/%s" % (DEB_DIR, deb)], timeout=300,
              env={"DEBIAN_FRONTEND": "noninteractive"})
    print(r.stdout)

    # The maintainer scripts made the user, its folder, and enabled the units.
    c.run(["getent", "passwd", "jobd-legacy"])
    assert c.run(["stat", "-c", "%U", "/var/lib/jobd/legacy"]).stdout.strip() == "jobd-legacy"
    for unit in ("jobd.service", "jobd-legacy.socket"):
        state = c.run(["systemctl", "is-enabled", unit], check=False).stdout.strip()
        assert state == "enabled", "%s is %s" % (unit, state)
    conffiles = c.run(["dpkg-query", "-W", "-f=${Conffiles}", "jobd"]).stdout
    assert "/etc/jobd/jobd.conf" in conffiles, conffiles
    assert c.run(["test", "-f", "/usr/share/dbus-1/system.d/org.jobd1.conf"],
                 check=False).returncode == 0

    # Runs from the installed paths, on the system bus.
    c.run(["systemctl", "reset-failed", "jobd.service"], check=False)
    c.run(["systemctl", "start", "jobd.service"])
    props = c.show("jobd.service", "ActiveState", "ExecMainPID", "ExecStart")
    assert props["ActiveState"] == "active", props
    assert "/usr/sbin/jobd" in props["ExecStart"], props
    c.run(["/usr/bin/jobctl", "add", "w", "--", "/bin/sleep", "600"])
    c.run(["/usr/bin/jobctl", "start", "w"])
    listed = c.run(["/usr/bin/jobctl", "list", "--no-legend"]).stdout
    assert listed.split()[:2] == ["w", "up"], listed
    scope = c.show("jobd-w.scope", "ActiveState")
    assert scope["ActiveState"] == "active", scope
    server = c.run(["/usr/bin/jobctl", "server"]).stdout
    assert "systemd" in server, server

    # The manual and the completion are where their tools look.
    # (The volatile /etc lacks man-db's configuration: the host's is bound in.)
    page = c.run(["man", "-C", MANPATH_CONFIG, "jobctl"], env={"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"}).stdout
    assert "control jobd" in page, page[:500]
    r = c.run(["bash", "-i", "-c", "source /usr/share/bash-completion/bash_completion && "
               "_completion_loader jobctl; complete -p jobctl && "
               "COMP_LINE='jobctl stop '; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(jobctl stop ''); "
               "COMP_CWORD=2; _jobctl; echo \"names: ${COMPREPLY[*]}\""])
    assert "complete -F _jobctl jobctl" in r.stdout, r.stdout + r.stderr
    assert "names: w" in r.stdout, r.stdout + r.stderr

    c.run(["/usr/bin/jobctl", "stop", "w"])
    c.run(["systemctl", "stop", "jobd.service"])


def main():
    if nspawn.skip_reason():
        print("SKIP: %s" % nspawn.skip_reason())
        sys.exit(nspawn.SKIP)
    assert SRCDIR, "JOBD_SRCDIR is not set (run under meson test)"
    for tool in ("dpkg-buildpackage", "dh"):
        if shutil.which(tool) is None:
            print("%s not found: .ci/deps installs dpkg-dev and debhelper" % tool)
            sys.exit(1)
    work = tempfile.mkdtemp(prefix="jobd-deb-")
    try:
        deb = build_package(work)
        print("built", deb)

        def test(c):
            try:
                check(c, deb)
            except BaseException:
                r = c.run(["journalctl", "--no-pager", "-n", "60", "-u", "jobd.service",
                           "-u", "dbus.service"], check=False)
                print("--- journal (last 60 entries):\n" + r.stdout, file=sys.stderr)
                raise
        nspawn.main(test, bind_ro=["%s:%s" % (work, DEB_DIR), "/var/lib/dpkg:%s" % HOST_DPKG,
                                    "/etc/manpath.config:%s" % MANPATH_CONFIG],
                    boot_timeout=180)
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
