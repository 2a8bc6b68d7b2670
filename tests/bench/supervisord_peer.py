# SPDX-License-Identifier: MIT
"""supervisord_peer — supervisord measured as the peer of jobd on the same
jobs: a private instance (temp config, inet_http_server on a free loopback
port, nodaemon, stopped by its PID), its XML-RPC status throughput, the
`supervisorctl status` whole-process time, its idle PSS and wakeups, and
start → first output line readable through its API."""
import os
import shutil
import subprocess
import time
import xmlrpc.client

from benchlib import (idle_activity, log, median, run_client, smaps, started_pids,
                      stop_pid, wait_until, free_port)


def ensure_supervisord(smoke):
    if shutil.which("supervisord") and shutil.which("supervisorctl"):
        return True
    if smoke:
        log("supervisord is not installed: its figures are skipped in --smoke mode "
            "(a full run installs Debian's 'supervisor' package)")
        return False
    if os.geteuid() != 0:
        log("supervisord is not installed and we are not root: its figures are skipped "
            "(apt-get install supervisor to include them)")
        return False
    log("supervisord is not installed: installing Debian's 'supervisor' package with "
        "apt-get to measure it as the peer (a private instance on loopback; the package's "
        "own system service is left as Debian sets it up)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL)
    proc = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "supervisor"],
                          env=env, stdout=subprocess.DEVNULL)
    return proc.returncode == 0 and shutil.which("supervisord") is not None


class Supervisord:
    def __init__(self, root):
        self.root = os.path.join(root, "supervisord")
        os.makedirs(os.path.join(self.root, "logs"))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/RPC2" % self.port
        self.config = os.path.join(self.root, "supervisord.conf")
        logs = os.path.join(self.root, "logs")
        with open(self.config, "w") as f:
            f.write(f"""[inet_http_server]
port=127.0.0.1:{self.port}

[supervisord]
logfile={self.root}/supervisord.log
pidfile={self.root}/supervisord.pid
childlogdir={logs}
nodaemon=true
minfds=1024

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=http://127.0.0.1:{self.port}

[program:bench]
command=/bin/sleep 100000
autostart=true
autorestart=false
startsecs=0
stdout_logfile={logs}/bench.out

[program:bench-echo]
command=/bin/echo hi
autostart=false
autorestart=false
startsecs=0
stdout_logfile={logs}/bench-echo.out
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["supervisord", "-c", self.config, "-n"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.root, "stderr"), "w"))
        started_pids.append(self.proc)
        self.rpc = xmlrpc.client.ServerProxy(self.url)
        wait_until(self._running, "supervisord's XML-RPC and its bench program")
        return self

    def _running(self):
        if self.proc.poll() is not None:
            raise RuntimeError("supervisord exited with %s" % self.proc.returncode)
        try:
            return self.rpc.supervisor.getProcessInfo("bench")["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc, timeout=30)
            self.proc = None


def bench_supervisord(exes, root, plan):
    """supervisord's figures on the same jobs, or None when it is unavailable."""
    if not ensure_supervisord(plan.smoke):
        return None
    sup = Supervisord(root).start()
    out = {}
    try:
        time.sleep(1.0)
        out["pss_kb"] = smaps(sup.proc.pid)["Pss"]
        # XML-RPC getProcessInfo throughput, one client, bounded in time.
        rpc = xmlrpc.client.ServerProxy(sup.url)
        rates = []
        for _ in range(plan.reps):
            calls, t0 = 0, time.monotonic()
            while time.monotonic() - t0 < plan.load_seconds:
                rpc.supervisor.getProcessInfo("bench")
                calls += 1
            rates.append(calls / (time.monotonic() - t0))
        out["rps"] = median(rates)
        ctl = run_client([exes["start-latency"], "--exec", "--reps", str(plan.peer_cli_reps),
                          "--", shutil.which("supervisorctl"), "-c", sup.config, "status",
                          "bench"], timeout=600)
        out["ctl_ms"] = ctl["p50_us"] / 1000
        out["start_ms"] = supervisord_start_latency(rpc, plan)
        out["idle"] = idle_activity(sup.proc.pid, plan.idle_seconds)
        log("supervisord: PSS %d kB, getProcessInfo %.0f/s, supervisorctl status %.1f ms, "
            "start → first line %.1f ms, idle %d wakeups in %.0f s"
            % (out["pss_kb"], out["rps"], out["ctl_ms"], out["start_ms"] or -1,
               out["idle"]["wakeups"], plan.idle_seconds))
    finally:
        sup.stop()
    return out


def supervisord_start_latency(rpc, plan):
    """startProcess → 'hi' readable through readProcessStdoutLog, median ms."""
    samples = []
    for _ in range(plan.start_reps):
        rpc.supervisor.clearProcessLogs("bench-echo")
        t0 = time.monotonic()
        rpc.supervisor.startProcess("bench-echo", False)
        end = t0 + 10
        while time.monotonic() < end:
            if "hi\n" in rpc.supervisor.readProcessStdoutLog("bench-echo", 0, 0):
                samples.append((time.monotonic() - t0) * 1000)
                break
        # Untimed: wait until it exited before the next start.
        wait_until(lambda: rpc.supervisor.getProcessInfo("bench-echo")["statename"]
                   in ("EXITED", "STOPPED", "FATAL", "BACKOFF"), "bench-echo to exit", 10)
    return median(samples)
