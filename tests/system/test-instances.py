#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-instances.py — instances N on the scope backend, in a booted container.

jobd runs as the service (systemd backend): `jobctl add pool --instances 3`
runs each instance I in its scope jobd-pool-I.scope with JOBD_INSTANCE=I;
`jobctl scale pool 2` stops jobd-pool-3.scope and leaves 1 and 2; a kill -9
of jobd takes both back (same PIDs, no third); stop leaves no scope."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jobdsys  # noqa: E402


def unit_active(c, unit):
    return c.run(["systemctl", "is-active", unit], check=False).stdout.strip() == "active"


def instances(j, name):
    return {i["instance"]: i for i in j.runtime(name).get("instances", [])}


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    j.systemctl("start")
    j.ctl("add", "pool", "--instances=3", "--", "/bin/sh", "-c",
          "echo hello $JOBD_INSTANCE; exec sleep 1000")
    j.ctl("start", "pool")
    up = j.wait_state("pool", "up")
    print("up:", up)
    each = instances(j, "pool")
    assert sorted(each) == [1, 2, 3], each
    for n, i in each.items():
        assert i["unit"] == "jobd-pool-%d.scope" % n, i
        assert unit_active(c, i["unit"]), i
    c.wait_for("the tagged lines", lambda: all(
        "[%d] hello %d" % (n, n) in j.lines("pool") for n in (1, 2, 3)))

    j.ctl("scale", "pool", "2")
    c.wait_for("jobd-pool-3.scope to go", lambda: not unit_active(c, "jobd-pool-3.scope"))
    j.wait_gone(each[3]["pid"], "instance 3")
    assert unit_active(c, "jobd-pool-1.scope") and unit_active(c, "jobd-pool-2.scope")

    old_main = j.main_pid()
    j.kill9(old_main)
    j.wait_gone(old_main, "jobd")
    j.systemctl("start")
    back = c.wait_for("both instances taken back", lambda: (lambda i: i if len(i) == 2 and all(
        x["state"] == "up" for x in i.values()) else None)(instances(j, "pool")))
    assert {n: i["pid"] for n, i in back.items()} == {1: each[1]["pid"], 2: each[2]["pid"]}, back
    assert not unit_active(c, "jobd-pool-3.scope")

    j.ctl("stop", "pool")
    j.wait_state("pool", "down")
    for n in (1, 2):
        j.wait_gone(each[n]["pid"], "instance %d" % n)
        c.wait_for("jobd-pool-%d.scope to go" % n,
                   lambda n=n: not unit_active(c, "jobd-pool-%d.scope" % n))


jobdsys.run(check)
