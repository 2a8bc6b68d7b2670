# SPDX-License-Identifier: MIT
"""benchlib — helpers shared by tests/bench/run and its peer module: running
the bench clients and parsing their key=value lines, /proc readings
(memory, CPU, context switches), stopping processes by PID, the embedded
jobd under test, and the result table. What it shares with the test
harnesses (jobd's directories and start, polling with a deadline, stopping
by PID, a free port) is in tests/common/jobdharness.py."""
import os
import statistics
import subprocess
import sys
import time

from gi.repository import Gio, GLib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "common"))
import jobdharness  # noqa: E402
from jobdharness import JobdProcess, free_port, kill_pids, tcp_accepts  # noqa: E402

MANAGER_PATH = "/org/jobd1"
MANAGER_IFACE = "org.jobd1.Manager"

started_pids = []          # every long-lived process we started, stopped at exit


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers

def run_checked(argv, env=None, timeout=900):
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), proc.returncode,
                                                      proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def parse_kv(line):
    """'a=1 b=2.5' → {'a': 1.0, 'b': 2.5} (numbers only)."""
    out = {}
    for item in line.split():
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


def run_client(argv, timeout=900, allow_fail=False):
    """Run a bench client; return the key=value figures of its last line."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.stderr.strip():
        log("%s: %s" % (os.path.basename(argv[0]), proc.stderr.strip()[-500:]))
    if not lines or (proc.returncode != 0 and not allow_fail):
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), proc.returncode,
                                                    proc.stderr[-1000:]))
    return parse_kv(lines[-1])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def wait_until(predicate, what, timeout=20.0, interval=0.02):
    return jobdharness.wait_until(predicate, what, timeout, interval, error=RuntimeError)


def stop_pid(proc, timeout=15.0):
    """SIGTERM a process we started, by PID; SIGKILL if it lingers."""
    if not jobdharness.stop_pid(proc, timeout):
        log("PID %d ignored SIGTERM for %.0f s: SIGKILL" % (proc.pid, timeout))
    if proc in started_pids:
        started_pids.remove(proc)


# ---- /proc ----

def smaps(pid):
    """{'Pss': kB, 'Private_Dirty': kB, 'Rss': kB} of a process."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Dirty"):
                out[key] = int(rest.split()[0])
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime+stime of the whole process (all threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """(voluntary, involuntary) context switches summed over every thread."""
    vol = invol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
        except FileNotFoundError:
            pass
    return vol, invol


def idle_activity(pid, seconds):
    """CPU seconds and wakeups (voluntary context switches) over an idle window."""
    cpu0, (vol0, inv0) = cpu_seconds(pid), context_switches(pid)
    time.sleep(seconds)
    cpu1, (vol1, inv1) = cpu_seconds(pid), context_switches(pid)
    return {"cpu_pct": 100.0 * (cpu1 - cpu0) / seconds, "wakeups": vol1 - vol0,
            "involuntary": inv1 - inv0}

# ---------------------------------------------------------------- jobd

class Jobd(JobdProcess):
    """One embedded jobd with temp directories, driven over its peer socket."""

    def __init__(self, exes, root, name):
        super().__init__(exes["jobd"], os.path.join(root, name))
        os.makedirs(self.root)
        self.port = free_port()
        self.write_config("[Daemon]\nBackend=direct\nStopJobsOnExit=true\n"
                          "[Legacy]\nEnable=true\nListen=127.0.0.1:%d\n" % self.port)
        self.conn = None
        self.job_pids = set()

    def start(self):
        self.stderr = open(os.path.join(self.root, "jobd.stderr"), "w")
        started_pids.append(self.spawn(self.stderr))
        self.conn = wait_until(self._connect, "jobd to answer on " + self.address)
        wait_until(self._tcp_answers, "jobd's legacy port %d" % self.port)
        return self

    def _connect(self):
        if self.proc.poll() is not None:
            raise RuntimeError("jobd exited with %s; see %s/jobd.stderr"
                               % (self.proc.returncode, self.root))
        return self.ping()

    def _tcp_answers(self):
        return tcp_accepts(self.port, 2)

    @property
    def pid(self):
        return self.proc.pid

    def call(self, method, args=None, signature=None, timeout=30):
        params = GLib.Variant(signature, args) if signature else None
        reply = self.conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, method, params, None,
                                    Gio.DBusCallFlags.NONE, int(timeout * 1000), None)
        value = reply.unpack()
        return value[0] if len(value) == 1 else value

    def add(self, name, argv, **settings):
        s = {"command": GLib.Variant("s", argv[0]), "args": GLib.Variant("as", argv[1:]),
             "restart": GLib.Variant("s", "no")}
        for key, (sig, value) in settings.items():
            s[key] = GLib.Variant(sig, value)
        self.call("Add", (name, s), "(sa{sv})")

    def status(self, name):
        return self.call("Status", (name,), "(s)")

    def start_job(self, name):
        self.call("Start", (name,), "(s)")

    def wait_state(self, name, states, timeout=20):
        return wait_until(lambda: self.status(name) in states, "%s in %s" % (name, states),
                          timeout, 0.01)

    def note_job_pids(self):
        for pid in self.call("List")[2]:    # List's columns: names, states, pids, …
            if pid:
                self.job_pids.add(pid)

    def stop(self):
        if self.proc is None:
            return
        try:
            self.note_job_pids()
        except GLib.Error:
            pass
        if self.conn is not None:
            try:
                self.conn.close_sync(None)
            except GLib.Error:
                pass
        stop_pid(self.proc, timeout=60)
        self.stderr.close()
        kill_pids(self.job_pids)
        self.proc = None

# ---------------------------------------------------------------- figures

class Table:
    def __init__(self):
        self.rows = []
        self.details = []

    def row(self, figure, value, ref=None, target=None, met=None, unit="", ratio=None,
            ref_name=""):
        """target: text; met: True/False/None (None = information only)."""
        if ratio is None and value is not None and ref not in (None, 0):
            ratio = value / ref
        self.rows.append((figure, value, ref, ratio, target, met, unit, ref_name))

    def detail(self, text):
        self.details.append(text)
        log(text)

    def print(self, header):
        def fmt(v, unit):
            if v is None:
                return "n/a"
            if isinstance(v, str):
                return v
            if isinstance(v, int):
                return "{:,}".format(v).replace(",", " ") + (" " + unit if unit else "")
            if abs(v) >= 100:
                text = "{:,.0f}".format(v).replace(",", " ")
            elif abs(v) >= 10:
                text = "%.1f" % v
            else:
                text = "%.2f" % v
            return text + (" " + unit if unit else "")

        cells = [("figure", "jobd", "reference", "ratio", "target", "result")]
        for figure, value, ref, ratio, target, met, unit, ref_name in self.rows:
            ref_text = fmt(ref, unit) + (" (%s)" % ref_name if ref_name and ref is not None
                                         else "")
            cells.append((figure, fmt(value, unit), ref_text,
                          "%.2f×" % ratio if ratio is not None else "",
                          target or "", {True: "met", False: "MISSED", None: ""}[met]))
        widths = [max(len(c[i]) for c in cells) for i in range(6)]
        out = sys.stdout
        out.write("\n" + header + "\n\n")
        for n, c in enumerate(cells):
            out.write("| " + " | ".join(c[i].ljust(widths[i]) if i == 0 else
                                        c[i].rjust(widths[i]) for i in range(6)) + " |\n")
            if n == 0:
                out.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
        missed = [r[0] for r in self.rows if r[5] is False]
        out.write("\n%d figures, %d targets met, %d missed%s\n" % (
            len(self.rows), sum(1 for r in self.rows if r[5] is True), len(missed),
            (": " + "; ".join(missed)) if missed else ""))
        out.flush()

def run_client_env(argv, env, timeout=900):
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), proc.stderr[-1000:]))
    return parse_kv(proc.stdout.strip().splitlines()[-1])
