#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-cgroup.py — jobd-cgroup against a real systemd scope in a container.

A scope with a process holding ~48 MiB is made with systemd-run; the probe
(jobd_cgroup_get_memory) must name the source this layout offers and give a
figure within tolerance of what /proc says for the scope's processes."""

import os
import sys

import nspawn  # noqa: E402

BUILDDIR = os.environ["JOBD_BUILDDIR"]
PROBE = os.path.join(BUILDDIR, "tests", "system", "cgroup-probe")
HOLDER = "x = b'j' * (48 << 20); import time; time.sleep(600)"


def proc_rss(c, cgroup):
    """Sum of RSS of the scope's processes, from /proc, inside the container."""
    script = ('page=$(getconf PAGESIZE); t=0; for p in $(cat /sys/fs/cgroup/%s%s/cgroup.procs); '
              'do r=$(cut -d" " -f2 /proc/$p/statm); t=$((t + r * page)); done; echo $t')
    for h in ("", "unified", "systemd"):
        if c.run(["test", "-f", "/sys/fs/cgroup/%s%s/cgroup.procs" % (h + "/" if h else "", cgroup.lstrip("/"))],
                 check=False).returncode == 0:
            return int(c.sh(script % (h + "/" if h else "", cgroup.lstrip("/"))).stdout)
    raise AssertionError("no cgroup.procs for %s" % cgroup)


def expected_source(c, cgroup):
    rel = cgroup.lstrip("/")
    for h in ("", "unified/"):
        if c.run(["test", "-r", "/sys/fs/cgroup/%s%s/memory.current" % (h, rel)], check=False).returncode == 0:
            return "cgroup-v2"
    if c.run(["test", "-r", "/sys/fs/cgroup/memory/%s/memory.usage_in_bytes" % rel],
             check=False).returncode == 0:
        return "cgroup-v1"
    return "cgroup-procs"


def check(c):
    # A service, so it runs detached; its cgroup is what we measure.
    c.run(["systemd-run", "--unit=memhold", "--slice=jobd.slice", "-p", "MemoryAccounting=yes",
           "/usr/bin/python3", "-c", HOLDER])
    cgroup = c.show("memhold.service", "ControlGroup")["ControlGroup"]
    assert cgroup.startswith("/jobd.slice/"), cgroup
    # Wait until the holder has touched its memory and finished starting up
    # (no event for that): two readings in a row alike.
    last = [0]

    def steady():
        now = proc_rss(c, cgroup)
        settled = now >= 48 << 20 and now == last[0]
        last[0] = now
        return settled
    c.wait_for("the holder's memory to settle", steady, interval=0.3)

    before = proc_rss(c, cgroup)
    out = c.run([PROBE, cgroup]).stdout.split()
    after = proc_rss(c, cgroup)
    source, probed = out[0], int(out[1])
    want = expected_source(c, cgroup)
    print("layout offers %s; probe says %s %d bytes" % (want, source, probed))
    assert source == want, (source, want)
    if source == "cgroup-procs":
        low, high = min(before, after), max(before, after)
        assert low * 0.95 <= probed <= high * 1.05, (probed, before, after)
    else:
        # Kernel accounting includes page cache and kernel memory: at least RSS.
        assert probed >= 48 << 20, probed

    # A cgroup that does not exist is an error, not zero.
    r = c.run([PROBE, "/jobd.slice/nonexistent.scope"], check=False)
    assert r.returncode == 1 and "not found" in r.stderr, r
    c.run(["systemctl", "stop", "memhold.service"])


nspawn.main(check, bind_ro=[BUILDDIR])
