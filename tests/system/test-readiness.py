#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-readiness.py — ready=notify on the scope backend, in a booted container.

jobd runs as the service (systemd backend): a job with --ready=notify runs
in its scope jobd-n.scope and stays "starting" while it runs; a READY=1 sent
to its NOTIFY_SOCKET by a process outside the scope (the real
systemd-notify, run by root in the container) is ignored; the job's own
`systemd-notify --ready --status=...` (a child of its shell, in the scope)
makes it "up" with that status text; the scope's cgroup is what identifies
the sender."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jobdsys  # noqa: E402

GO = "/run/jobd-readiness-go"
SCRIPT = ('echo "sock=$NOTIFY_SOCKET"; while [ ! -e %s ]; do sleep 0.05; done; '
          'systemd-notify --ready --status="serving from the scope"; exec sleep 1000' % GO)


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    j.systemctl("start")
    c.run(["rm", "-f", GO])
    j.ctl("add", "n", "--ready=notify", "--ready-timeout=120s", "--", "/bin/sh", "-c", SCRIPT)
    # Start answers once the job is ready: ask in the background.
    c.run(["/bin/sh", "-c", "%s start n >/dev/null 2>&1 &" % inst.jobctl])
    running = c.wait_for("n to run while starting",
                         lambda: (lambda r: r if r["state"] == "starting" and r["main-pid"]
                                  else None)(j.runtime("n")))
    print("starting:", running)
    assert running["unit"] == "jobd-n.scope", running
    sock = c.wait_for("the NOTIFY_SOCKET line",
                      lambda: [l for l in j.lines("n") if l.startswith("sock=")])[0][5:]
    assert sock.startswith("/run/jobd/"), sock

    # A process outside the job's scope: ignored.
    c.run(["systemd-notify", "--ready", "--status=forged"], env={"NOTIFY_SOCKET": sock},
          check=False)
    c.wait_for("jobd to log the ignored message",
               lambda: "ignored a notify message" in c.run(
                   ["journalctl", "-u", "jobd.service", "-o", "cat", "--no-pager"]).stdout)
    time.sleep(1)   # proving a non-event: it stays starting
    r = j.runtime("n")
    assert r["state"] == "starting" and r.get("status-text", "") == "", r

    # The job's own systemd-notify (a child of its shell, in the scope).
    c.run(["touch", GO])
    up = j.wait_state("n", "up")
    print("up:", up)
    assert up["status-text"] == "serving from the scope", up
    listing = j.ctl("list")
    assert "serving from the scope" in listing, listing
    j.ctl("stop", "n")
    j.wait_state("n", "down")


jobdsys.run(check)
