#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus-*/seed-*).

Run from anywhere: ./tests/fuzz/make-seeds.py. Seeds named repro-* (inputs
that once crashed or failed a check) are kept as they are; seed-* files are
rewritten.

corpus-legacy: sessions, one frame (4-byte little-endian length + payload)
per request; each input starts from a fresh jobd, so a session builds the
state it needs (ADD before GET, AUTH.ADD before SETENABLE).
corpus-settings: a{sv} in GVariant wire format (needs python3-gi).
corpus-condition: JSON condition objects.
corpus-calendar: calendar expressions, one per file (those of
tests/unit/calendar-corpus.txt, valid and invalid).
"""
import json
import os
import struct

from gi.repository import GLib

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(payload):
    data = payload.encode() if isinstance(payload, str) else payload
    return struct.pack("<I", len(data)) + data


def req(cmd, params=None):
    return cmd if params is None else cmd + " " + json.dumps(params, separators=(",", ":"))


def write(corpus, seeds):
    folder = os.path.join(HERE, corpus)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.unlink(os.path.join(folder, name))
    for name, data in seeds.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)


AUTH = {"username": "u", "password": "p"}
JOB = {"jobname": "a", "command": "/bin/true", "params": "-x 'y z'", "buffersize": 5,
       "writelog": True, "guard": True, "autostart": False, "extra": [1, {"b": None}],
       "colour": "red"}
SCHED = {"jobname": "a", "enable": True, "condition": {"H": "03", "i": "00", "U": "600"}}


def legacy_seeds():
    s = {}
    # One request, no frame (the raw payload): what the old corpus held.
    for i, r in enumerate(["STATUSALL", "GETALL", "MEMALL", "SERVERMEM", "SERVERREAD",
                           req("ADD", JOB), req("GET", {"jobname": "a"}),
                           "AUTH.GETENABLE", "SCHEDULER.GETALL", "LOGEXPLORER.SERVERLISTDIR"]):
        s["raw-%d" % i] = r.encode()
    s["jobs"] = b"".join(frame(r) for r in [
        req("ADD", JOB), req("ADD", dict(JOB, jobname="b", command="/bin/sleep", params="1")),
        "GETALL", req("GET", {"jobname": "a"}), req("STATUS", {"jobname": "a"}), "STATUSALL",
        req("READ", {"jobname": "a"}), req("MEM", {"jobname": "a"}), "MEMALL",
        req("UPDATE", {"jobname": "a", "autostart": True, "params": "", "colour": "blue"}),
        req("STOP", {"jobname": "a"}), req("DELETE", {"jobname": "b"}), "GETALL"])
    s["jobs-errors"] = b"".join(frame(r) for r in [
        req("ADD", {"jobname": "a"}), req("ADD", {"jobname": "../x", "command": "/bin/true"}),
        req("ADD", {"jobname": "a", "command": "/bin/true", "buffersize": -1}),
        req("GET", {"jobname": "missing"}), "GET", "GET {", "NOPE", "get {}",
        req("UPDATE", {"jobname": "a", "command": 5})])
    s["auth"] = b"".join(frame(r) for r in [
        req("AUTH.ADD", dict(AUTH, privileges="STATUS,GET,ADD")),
        req("AUTH.ADD", {"username": "w", "password": "q", "privileges": "*"}),
        req("AUTH.SETENABLE", {"enable": True, "auth": AUTH}),
        "AUTH.GETENABLE", req("ADD", dict(JOB, auth={"username": "w", "password": "q"})),
        req("GET", {"jobname": "a", "auth": AUTH}), req("GET", {"jobname": "a"}),
        req("DELETE", {"jobname": "a", "auth": AUTH}),
        req("GET", {"jobname": "a", "auth": {"username": "u", "password": "bad"}}),
        req("AUTH.GETALL", {"auth": {"username": "w", "password": "q"}}),
        req("AUTH.UPDATE", {"username": "u", "password": "p2", "privileges": "STATUS",
                            "auth": {"username": "w", "password": "q"}}),
        req("AUTH.DELETE", {"username": "u", "auth": {"username": "w", "password": "q"}}),
        req("AUTH.SETENABLE", {"enable": False, "auth": {"username": "w", "password": "q"}})])
    s["logexplorer"] = b"".join(frame(r) for r in [
        req("LOGEXPLORER.LISTDIR", {"jobname": "a"}),
        req("LOGEXPLORER.LISTFILE", {"jobname": "a", "dirname": "20240101"}),
        req("LOGEXPLORER.GET", {"jobname": "a", "dirname": "20240101",
                                "filename": "2024010100.log"}),
        req("LOGEXPLORER.GET", {"jobname": "a", "dirname": "..", "filename": "jobd"}),
        "LOGEXPLORER.SERVERLISTDIR",
        req("LOGEXPLORER.SERVERLISTFILE", {"dirname": "20240101"}),
        req("LOGEXPLORER.SERVERGET", {"dirname": "20240101", "filename": "2024010100.log"})])
    s["scheduler"] = b"".join(frame(r) for r in [
        req("ADD", JOB), req("SCHEDULER.ADD", SCHED),
        req("SCHEDULER.ADD", {"jobname": "a", "enable": False,
                              "condition": {"Y": "2026", "W": "53", "N": "4", "d": "@t"}}),
        req("SCHEDULER.ADD", SCHED), "SCHEDULER.GETALL", req("SCHEDULER.GET", {"jobname": "a"}),
        req("SCHEDULER.UPDATE", {"jobname": "a", "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
                                 "enable": False, "condition": {"m": "2", "d": "30"}}),
        req("SCHEDULER.GETLOG", {"jobname": "a", "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}),
        req("SCHEDULER.DELETE", {"jobname": "a", "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}),
        req("DELETE", {"jobname": "a"}), "SCHEDULER.GETALL"])
    return s


def asv(d):
    return GLib.Variant("a{sv}", d).get_data_as_bytes().get_data()


def settings_seeds():
    V = GLib.Variant
    return {
        "empty": asv({}),
        "minimal": asv({"command": V("s", "/bin/true")}),
        "full": asv({
            "command": V("s", "/usr/bin/env"), "args": V("as", ["-i", "FOO=1"]),
            "params": V("s", "-a 'b c'"), "working-directory": V("s", "/tmp"),
            "environment": V("a{ss}", {"A": "1", "DB_PASSWORD": "x"}),
            "buffer-size": V("u", 50), "write-log": V("b", True), "autostart": V("b", False),
            "restart": V("s", "on-failure"), "restart-delay-ms": V("u", 500),
            "restart-delay-max-ms": V("t", 60000), "restart-reset-ms": V("i", 30000),
            "start-limit-burst": V("q", 5), "start-limit-interval-ms": V("x", 60000),
            "stop-signal": V("s", "SIGINT"), "stop-timeout-ms": V("u", 1000),
            "reload-signal": V("i", 1), "memory-max": V("s", "16M"), "cpu-quota": V("u", 50),
            "tasks-max": V("t", 100), "interpreter": V("s", "php"),
        }),
        "privileged": asv({"command": V("s", "/bin/id"), "user": V("s", "nobody"),
                           "group": V("s", "nogroup")}),
        "extra": asv({"command": V("s", "/bin/true"), "extra": V("a{sv}", {
            "colour": V("s", "red"), "n": V("i", -3), "d": V("d", 1.5), "big": V("t", 2**63),
            "list": V("av", [V("s", "x"), V("b", True)]), "nested": V("a{sv}", {"k": V("y", 7)}),
            "bytes": V("ay", b"ab\x00c"), "tuple": V("(si)", ("a", 1)), "maybe": V("ms", None),
            "obj": V("o", "/org/x"), "sig": V("g", "a{sv}"), "h": V("h", 0),
        })}),
        "legacy-keys": asv({"command": V("s", "/bin/true"), "buffersize": V("u", 5),
                            "writelog": V("b", True), "restart": V("s", "always")}),
        "bad-types": asv({"command": V("i", 5), "buffer-size": V("s", "x"),
                          "environment": V("as", ["A=1"])}),
        "unknown": asv({"command": V("s", "/bin/true"), "colour": V("s", "red")}),
        "readiness": asv({"command": V("s", "/bin/true"), "ready": V("s", "log:^up (\\d+)$"),
                          "ready-timeout-ms": V("u", 5000), "watchdog-ms": V("u", 2000)}),
        "readiness-bad": asv({"command": V("s", "/bin/true"), "ready": V("s", "log:(["),
                              "watchdog-ms": V("u", 1)}),
        "watch": asv({"command": V("s", "/bin/true"), "watch": V("as", ["/srv", "src"]),
                      "watch-glob": V("as", ["*.php"]), "watch-exclude": V("as", ["vendor"]),
                      "watch-action": V("s", "reload"), "watch-debounce-ms": V("u", 250)}),
        "watch-bad": asv({"command": V("s", "/bin/true"), "watch": V("as", [""]),
                          "watch-action": V("s", "boom")}),
        "double": asv({"command": V("s", "/bin/true"), "extra": V("a{sv}", {
            "x": V("d", 0.1), "y": V("d", -0.0), "z": V("d", 1e300)})}),
    }


def condition_seeds():
    conds = [
        {"H": "03", "i": "00"}, {"H": "03", "i": "00", "U": "600"}, {"U": "3600"}, {"N": "1"},
        {"Y": "2026", "W": "53", "N": "4"}, {"d": "@t"}, {"m": "2", "d": "29"}, {"z": "365"},
        {"Y": 2027, "m": 12, "d": 31, "H": 23, "i": 59}, {"W": "1", "N": "7", "H": "2"},
        {"i": "30", "U": "60"}, {"m": "2", "d": "30"}, {"Y": "1969"}, {"U": "59"}, {},
        {"H": "25"}, {"x": "1"}, {"H": "3", "H ": "4"},
    ]
    s = {"%02d" % i: json.dumps(c).encode() for i, c in enumerate(conds)}
    s["text-single-quotes"] = b"{'H':'03'}"
    return s


def calendar_seeds():
    path = os.path.join(HERE, "..", "unit", "calendar-corpus.txt")
    with open(path, encoding="utf-8") as f:
        exprs = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    return {"%02d" % i: e.encode() for i, e in enumerate(exprs)}


if __name__ == "__main__":
    write("corpus-legacy", legacy_seeds())
    write("corpus-settings", settings_seeds())
    write("corpus-condition", condition_seeds())
    write("corpus-calendar", calendar_seeds())
