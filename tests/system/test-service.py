#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-service.py — jobd as a systemd service (issue 3), in a booted container.

One container, job s (a sleep) running throughout:

1. sd_notify STATUS: `systemctl show jobd -p StatusText` says "N of M jobs
   up" and follows the jobs;
2. WATCHDOG: with a drop-in WatchdogSec=2s jobd stays up for more than three
   intervals (same main PID, NRestarts and ActiveEnterTimestamp) and its
   pings move WatchdogTimestamp on;
3. reload: `systemctl reload jobd` (SIGHUP) and the D-Bus ReloadConfig
   re-read jobd.conf without touching jobd or the job; what was re-read
   takes effect (StopJobsOnExit=true: stopping jobd then stops s);
4. socket activation: with jobd stopped, jobd-legacy.socket (as installed)
   started alone; a legacy STATUSALL frame sent to it starts jobd.service
   and is answered OK, s running again (restored: jobd had stopped it);
5. STATUS counts jobs added and removed, not only state changes.
"""

import json
import os
import sys
import time

import jobdsys  # noqa: E402

LEGACY_ADDRESS = "127.0.0.1:13123"   # where the old PHP clients connect

# A legacy-protocol client, run inside the container: one frame out
# (4-byte little-endian length, payload), one frame back on stdout.
CLIENT = r"""
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
payload = sys.argv[2].encode()
conn = socket.create_connection((host, int(port)), timeout=30)
conn.sendall(struct.pack("<I", len(payload)) + payload)
def recv(n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            sys.exit("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf
(length,) = struct.unpack("<I", recv(4))
sys.stdout.write(recv(length).decode())
"""


def wait_status(c, j, text):
    seen = []

    def shown():
        seen.append(j.service("StatusText")["StatusText"])
        return seen[-1] == text
    try:
        c.wait_for('StatusText "%s"' % text, shown, timeout=10)
    except AssertionError as e:
        raise AssertionError("%s (it says %r)" % (e, seen[-1])) from None


def status(c, j):
    wait_status(c, j, "1 of 1 jobs up")
    j.ctl("stop", "s")
    wait_status(c, j, "0 of 1 jobs up")
    j.ctl("start", "s")
    wait_status(c, j, "1 of 1 jobs up")


def watchdog(c, j, pid):
    dropin = "/run/systemd/system/jobd.service.d"
    c.run(["mkdir", "-p", dropin])
    c.run(["/bin/sh", "-c", "cat > %s/50-watchdog.conf" % dropin],
          input="[Service]\nWatchdogSec=2s\n")
    c.run(["systemctl", "daemon-reload"])
    j.systemctl("restart")
    keep = ("ActiveState", "MainPID", "NRestarts", "ActiveEnterTimestampMonotonic")
    first = j.service("WatchdogUSec", "WatchdogTimestampMonotonic", *keep)
    assert first["WatchdogUSec"] == "2s", first
    assert first["ActiveState"] == "active", first
    # Nothing to wait on: the point is that nothing happens for 3 intervals.
    start = time.monotonic()
    while time.monotonic() - start < 6.5:
        time.sleep(0.5)
        now = j.service("WatchdogTimestampMonotonic", *keep)
        for key in keep:
            assert now[key] == first[key], \
                "watchdog: %s was %s, is %s" % (key, first[key], now[key])
    pinged = int(now["WatchdogTimestampMonotonic"]) - int(first["WatchdogTimestampMonotonic"])
    assert pinged >= 4000000, "WATCHDOG=1 pings moved the timestamp only %d us in 6.5 s" % pinged
    assert j.runtime("s")["main-pid"] == pid


def reload(c, j, pid):
    main = j.main_pid()
    cursor = j.journal_cursor()
    c.run(["systemctl", "reload", "jobd.service"])
    c.wait_for("jobd to log the reload", lambda: "reloaded " in j.journal_since(cursor))
    assert j.service("ActiveState")["ActiveState"] == "active"
    assert j.main_pid() == main
    r = j.runtime("s")
    assert (r["state"], r["main-pid"]) == ("up", pid), r

    # ReloadConfig over D-Bus; what it reads must take effect.
    with open(j.config_path(), "w") as f:
        f.write("[Daemon]\nStopJobsOnExit=true\n")
    c.run(["busctl", "call", "org.jobd1", "/org/jobd1", "org.jobd1.Manager", "ReloadConfig"])
    assert j.main_pid() == main
    assert j.runtime("s")["main-pid"] == pid
    j.systemctl("stop")
    j.wait_gone(pid, "job s, stopped with jobd (StopJobsOnExit=true)")


def socket_activation(c, j, inst):
    unit = inst.find("systemd/system/jobd-legacy.socket")
    with open(unit) as f:
        listen = [line.split("=", 1)[1] for line in f.read().splitlines()
                  if line.startswith("ListenStream=")]
    assert listen == [LEGACY_ADDRESS], listen
    c.run(["systemctl", "stop", "jobd-legacy.socket"])
    assert j.service("ActiveState")["ActiveState"] == "inactive"
    c.run(["systemctl", "start", "jobd-legacy.socket"])
    assert c.show("jobd-legacy.socket", "ActiveState")["ActiveState"] == "active"
    assert j.service("ActiveState")["ActiveState"] == "inactive"

    answer = c.run(["/usr/bin/python3", "-c", CLIENT, LEGACY_ADDRESS, "STATUSALL"],
                   timeout=60).stdout
    reply = json.loads(answer)
    assert reply.get("code") == "OK", reply
    assert j.service("ActiveState")["ActiveState"] == "active"
    # jobd stopped s on the way out: the next jobd starts it again.
    assert reply.get("data") == {"s": "UP"}, reply


def status_counts_jobs(c, j):
    j.ctl("add", "t", "--", "/bin/sleep", "1000")
    wait_status(c, j, "1 of 2 jobs up")
    j.ctl("remove", "t")
    wait_status(c, j, "1 of 1 jobs up")


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    j.systemctl("start")
    j.ctl("add", "s", "--", "/bin/sleep", "1000")
    j.ctl("start", "s")
    j.wait_state("s", "up")
    status(c, j)
    pid = j.runtime("s")["main-pid"]
    watchdog(c, j, pid)
    conf = j.config_path()
    with open(conf) as f:
        installed = f.read()
    try:
        reload(c, j, pid)
        socket_activation(c, j, inst)
    finally:
        with open(conf, "w") as f:
            f.write(installed)
    status_counts_jobs(c, j)


jobdsys.run(check)
