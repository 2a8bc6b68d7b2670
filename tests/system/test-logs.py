#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-logs.py — `jobctl logs` reads a job's history from the journal
(issue 14): jobd runs as the installed service in a booted container, so
journald is there and jobd sends each output line with JOBD_JOB=,
JOBD_STREAM= and JOBD_LINE=. A job without write-log and a ring of 5 lines:
`logs -n 100` shows lines the ring lost (they come from the journal via
sd-journal), and `logs -f -n 0` goes from the journal's history into live
lines without a gap or a repeat."""

import json

import jobdsys  # noqa: E402


def numbers(text):
    return [int(x) for x in text.split() if x.isdigit()]


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    jobctl = inst.jobctl
    j.systemctl("start")

    # 1. History beyond the ring comes from the journal.
    c.run([jobctl, "add", "counted", "--buffer-size=5", "--",
           "/bin/sh", "-c", "seq 1 300; exec sleep 1000"])
    c.run([jobctl, "start", "counted"])
    c.wait_for("line 300 in the ring", lambda: j.lines("counted")[-1:] == ["300"])
    out = c.run(["journalctl", "JOBD_JOB=counted", "JOBD_STREAM=stdout", "-o", "json",
                 "-n", "1", "--no-pager"]).stdout
    entry = json.loads(out.splitlines()[-1])
    print("journal entry:", {k: entry.get(k) for k in ("MESSAGE", "JOBD_STREAM", "JOBD_LINE")})
    assert entry.get("JOBD_LINE", "").endswith("-299"), entry
    got = numbers(j.ctl("logs", "-n", "100", "counted"))
    assert got == list(range(201, 301)), got[:5]
    got = numbers(j.ctl("logs", "-n", "0", "counted"))
    assert got == list(range(1, 301)), (len(got), got[:5])
    print("2. logs -n 100 / -n 0 from the journal: ok")

    # 2. -f: the journal's history, then live lines, none lost or repeated.
    script = ("import sys, time\n"
              "i = 0\n"
              "while i < 2000000:\n"
              "    sys.stdout.write(''.join('%d\\n' % (i + k) for k in range(1, 51)))\n"
              "    sys.stdout.flush(); i += 50; time.sleep(0.01)\n")
    c.run([jobctl, "add", "fast", "--buffer-size=5", "--", "/usr/bin/python3", "-c", script])
    c.run([jobctl, "start", "fast"])
    c.wait_for("output of fast", lambda: len(j.lines("fast")) == 5)
    for attempt in range(5):
        r = c.run(["/bin/sh", "-c", "timeout 30 %s logs -f -n 0 fast | head -n 3000" % jobctl],
                  check=False, timeout=60)
        got = numbers(r.stdout)
        assert len(got) == 3000, (attempt, len(got), r.stderr)
        assert got[0] == 1, (attempt, got[:3])
        bad = [(a, b) for a, b in zip(got, got[1:]) if b != a + 1]
        assert not bad, (attempt, bad[:5])
    print("3. logs -f from the journal, seamless: ok")
    c.run([jobctl, "stop", "fast"])


jobdsys.run(check)
