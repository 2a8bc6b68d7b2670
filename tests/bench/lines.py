# SPDX-License-Identifier: MIT
"""lines — the `lines` step of tests/bench/run: the flood as real jobs write
it (issue 16). A PHP job (`lines-job.php`) writes the numbers 1, 2, … one
write() per line for a few seconds; jobd (ring + log files) and supervisord
(its stdout log) capture the same job, interleaved in the same run. The
figure is lines / time from the start call until the last line is in the
log file (for jobd also readable through ReadOutput); every number is
checked in the log files with `flood --check`."""
import os
import shutil
import time

from benchlib import context_switches, cpu_seconds, log, median, run_client
from supervisord_peer import Supervisord, ensure_supervisord

HERE = os.path.dirname(os.path.abspath(__file__))
JOB = os.path.join(HERE, "lines-job.php")
JOB_ARGV = ["/usr/bin/php", JOB]     # then SECONDS MAX_LINES REPORT_FILE


def _tail_has(path, text):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            return text in f.read()
    except FileNotFoundError:
        return False


def _report(path):
    try:
        with open(path) as f:
            return int(f.read().split("=")[1])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _wait_captured(report, done, deadline):
    """Poll until the job reported its count K and done(K); (K, t_done)."""
    total = None
    while time.monotonic() < deadline:
        total = total or _report(report)
        if total is not None and done(total):
            return total, time.monotonic()
        time.sleep(0.005)
    raise RuntimeError("the lines job was not captured in time (report %s)" % report)


def _jobd_log_files(jobd, name):
    top = os.path.join(jobd.log_dir, "jobs", name)
    out = []
    for dirpath, _dirs, files in os.walk(top):
        out += [os.path.join(dirpath, f) for f in files
                if f.endswith(".log") and not f.endswith(".error.log")]
    return sorted(out)


def lines_jobd(exes, jobd, plan, tmp, rep):
    name = "bench-lines-%d" % rep
    report = os.path.join(tmp, name + ".report")
    jobd.add(name, JOB_ARGV + [str(plan.flood_seconds), str(plan.flood_max_lines), report],
             **{"write-log": ("b", True)})

    def captured(total):
        files = _jobd_log_files(jobd, name)
        needle = ("] %d\n" % total).encode()
        if not files or not _tail_has(files[-1], needle):
            return False
        return any(t == str(total) for _s, t in
                   ((line[1], line[2]) for line in jobd.call("ReadOutput", (name, 4), "(su)")))

    cpu0, (wake0, _i) = cpu_seconds(jobd.pid), context_switches(jobd.pid)
    t0 = time.monotonic()
    jobd.start_job(name)
    total, t1 = _wait_captured(report, captured, t0 + plan.flood_seconds + 120)
    cpu, wakeups = cpu_seconds(jobd.pid) - cpu0, context_switches(jobd.pid)[0] - wake0
    jobd.wait_state(name, ("down", "failed"))
    check = run_client([exes["flood"], "--check", str(total)] + _jobd_log_files(jobd, name))
    shutil.rmtree(os.path.join(jobd.log_dir, "jobs", name))
    jobd.call("Remove", (name,), "(s)")
    os.unlink(report)
    return (total / (t1 - t0), int(check["lost"]) + int(check["disorder"]), cpu / total * 1e6,
            wakeups / total * 1e6)


class LinesSupervisord(Supervisord):
    """supervisord with one more program: the lines job, logged unrotated."""

    def __init__(self, root, plan, report):
        super().__init__(root)
        self.log_path = os.path.join(self.root, "logs", "lines.out")
        with open(self.config, "a") as f:
            f.write("""
[program:lines]
command=%s %s %s %s
autostart=false
autorestart=false
startsecs=0
stdout_logfile=%s
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
""" % (" ".join(JOB_ARGV), plan.flood_seconds, plan.flood_max_lines, report, self.log_path))


def lines_supervisord(exes, sup, plan, report):
    sup.rpc.supervisor.clearProcessLogs("lines")
    cpu0, (wake0, _i) = cpu_seconds(sup.proc.pid), context_switches(sup.proc.pid)
    t0 = time.monotonic()
    sup.rpc.supervisor.startProcess("lines", False)
    total, t1 = _wait_captured(report, lambda k: _tail_has(sup.log_path, ("\n%d\n" % k).encode()),
                               t0 + plan.flood_seconds + 120)
    cpu, wakeups = cpu_seconds(sup.proc.pid) - cpu0, context_switches(sup.proc.pid)[0] - wake0
    end = time.monotonic() + 20
    while (sup.rpc.supervisor.getProcessInfo("lines")["statename"] == "RUNNING"
           and time.monotonic() < end):
        time.sleep(0.01)
    check = run_client([exes["flood"], "--check", str(total), sup.log_path])
    os.unlink(report)
    return (total / (t1 - t0), int(check["lost"]) + int(check["disorder"]), cpu / total * 1e6,
            wakeups / total * 1e6)


def bench_lines(table, exes, jobd, plan, tmp, peer_wanted):
    if not shutil.which("php"):
        log("lines: php is not installed (Debian's php-cli): the step is skipped")
        return
    sup = None
    report = os.path.join(tmp, "lines-sup.report")
    if peer_wanted and ensure_supervisord(plan.smoke):
        sup = LinesSupervisord(os.path.join(tmp, "lines"), plan, report).start()
    jobd_runs, sup_runs = [], []
    try:
        for rep in range(plan.flood_reps):    # interleaved, so drift hits both
            jobd_runs.append(lines_jobd(exes, jobd, plan, tmp, rep))
            if sup is not None:
                sup_runs.append(lines_supervisord(exes, sup, plan, report))
    finally:
        if sup is not None:
            sup.stop()
    rate = median([r[0] for r in jobd_runs])
    lost = sum(r[1] for r in jobd_runs)
    ref = median([r[0] for r in sup_runs]) if sup_runs else None
    def runs_text(runs):
        return ("%s lines/s, lost %d, CPU %s s and wakeups %s per 1 M lines"
                % (", ".join("%.0f" % r[0] for r in runs), sum(r[1] for r in runs),
                   ", ".join("%.2f" % r[2] for r in runs), ", ".join("%.0f" % r[3] for r in runs)))
    table.detail("lines (PHP, one write() per line): jobd %s; supervisord %s"
                 % (runs_text(jobd_runs), runs_text(sup_runs) if sup_runs else "not measured"))
    table.row("flood lines/s, one write() per line (PHP), ring + log files", rate, ref,
              "≥ 1× supervisord", (rate >= ref and lost == 0) if ref is not None else None,
              ref_name="supervisord log")
    table.row("CPU per 1 M lines captured, one write() per line", median([r[2] for r in jobd_runs]),
              median([r[2] for r in sup_runs]) if sup_runs else None, None, None, "s",
              ref_name="supervisord")
