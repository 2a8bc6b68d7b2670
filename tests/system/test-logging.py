#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-logging.py — jobd's messages about a job, found in the journal by the
job's name (issue 11): jobd runs as the installed service in a booted
container, so stderr is the journal's stream and jobd logs natively.

`journalctl JOBD_JOB=NAME` must show every message about that job: that it
was added, its state changes (with the fixed MESSAGE_ID and JOBD_REASON, and
the line saying why), and a failure ("cannot start")."""

import json
import os
import sys

import jobdsys  # noqa: E402

STATE_CHANGED = "8ff869e60bbc4b5dbb1e5592ac39caf2"


def entries(c, name):
    c.run(["journalctl", "--sync"], check=False)
    out = c.run(["journalctl", "JOBD_JOB=" + name, "-o", "json", "--no-pager"]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def find(c, name, pred, what):
    def hit():
        for e in entries(c, name):
            if isinstance(e.get("MESSAGE"), str) and pred(e):
                return e
        return None
    return c.wait_for("%s in journalctl JOBD_JOB=%s" % (what, name), hit, timeout=30)


def check(c, inst):
    jobctl = inst.jobctl
    c.run(["systemctl", "start", "jobd.service"])
    assert c.show("jobd.service", "ActiveState")["ActiveState"] == "active"

    c.run([jobctl, "add", "demo", "--restart=no", "--", "/bin/sh", "-c", "exit 3"])
    c.run([jobctl, "start", "demo"], check=False)
    c.run([jobctl, "add", "broken", "--restart=no", "--", "/nonexistent/program"])
    r = c.run([jobctl, "start", "broken"], check=False)
    assert r.returncode != 0, r

    e = find(c, "demo", lambda e: e["MESSAGE"] == "job demo added", "'job demo added'")
    print("added:", e["MESSAGE"])
    e = find(c, "demo", lambda e: "up -> down" in e["MESSAGE"], "the state change up -> down")
    print("state change:", e["MESSAGE"], e.get("MESSAGE_ID"), e.get("JOBD_REASON"))
    assert e["MESSAGE"] == "job demo: up -> down (exit code 3)", e
    assert e.get("MESSAGE_ID") == STATE_CHANGED, e
    assert e.get("JOBD_REASON") == "exit-code", e
    assert e.get("SYSLOG_IDENTIFIER") == "jobd" or e.get("_SYSTEMD_UNIT") == "jobd.service", e

    e = find(c, "broken", lambda e: "cannot start" in e["MESSAGE"], "'cannot start'")
    print("failure:", e["MESSAGE"], e.get("PRIORITY"))
    assert e["PRIORITY"] == "4", e
    find(c, "broken", lambda e: "-> failed" in e["MESSAGE"]
         and e.get("MESSAGE_ID") == STATE_CHANGED, "the state change to failed")
    # Another job's messages are not in this job's list.
    assert not any("demo" in e.get("MESSAGE", "") for e in entries(c, "broken"))


jobdsys.run(check)
