# SPDX-License-Identifier: MIT
"""scope.py — the scope bench (issue 16): `tests/bench/run --backend=scope`.

jobd on the systemd backend, measured where it runs in production: under a
real systemd. The host side boots the container the system tests use
(tests/system/nspawn.py: `systemd-nspawn -D / --volatile=yes --boot`),
installs the build there as the system service (tests/system/jobdsys.py)
and runs this file again inside (`--inside`), where PID 1 is the container's
systemd, so /proc/1 and the system bus are systemd's. Inside, jobd.service
is run twice, with Backend=systemd then Backend=direct, each measured the
same way, beside references measured in the same container and run:

- start → first line readable: the first start of a job, and a start right
  after the previous run of the same job ended; `systemd-run --scope --quiet
  /bin/echo hi` read through a pipe; bare fork/exec with a pipe;
- Stop → state down and scope gone, vs `systemctl stop` of a transient scope;
- add + start of N jobs until all up, stop + remove, vs transient-load (N
  StartTransientUnit calls back to back with sd-bus); the peak of systemd's
  jobs in flight (from its JobNew/JobRemoved signals) and PID 1's CPU meanwhile;
- PID 1's and jobd's PSS per running job, List / GetMemory / Status with N
  jobs, idle wakeups of jobd and PID 1 with N idle jobs;
- units left behind after stop + remove and after a job that fails to start:
  a behaviour, not a timing — anything but 0 makes the run exit 1.

--smoke runs it all tiny (its figures mean nothing). Where no container can
boot (not root, no systemd-nspawn) the run says so and exits 77.
"""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "system"))

from benchlib import (Table, cpu_seconds, log, median, parse_kv,  # noqa: E402
                      smaps, wait_until)

ADDRESS = "unix:path=/run/jobd/bus"
SKIP = 77


class Plan:
    def __init__(self, smoke):
        self.smoke = smoke
        self.batches = 1 if smoke else 5     # latency batches, interleaved with references
        self.reps = 3 if smoke else 10       # per batch
        self.stop_reps = 3 if smoke else 20
        self.jobs = 20 if smoke else 1000
        self.idle_seconds = 1.0 if smoke else 10.0
        self.list_seconds = 0.3 if smoke else 2.0


# ---------------------------------------------------------------- host side

def host_main(args, exes, bdir, header):
    """Boot, install, run the inside part; its stdout (the table) is ours."""
    import nspawn
    import jobdsys

    if nspawn.skip_reason():
        print("SKIP: %s" % nspawn.skip_reason())
        return SKIP
    jobdsys.BUILDDIR = bdir
    inst = jobdsys.Install()
    try:
        if inst.prefix == "/usr":
            print("SKIP: built with prefix /usr: the container's /usr is the host's")
            return SKIP
        bind_ro = [REPO + ":" + REPO]
        if not bdir.startswith(REPO + "/"):
            bind_ro.append(bdir + ":" + bdir)
        # Writable: the inside part switches jobd.conf between the backends.
        c = nspawn.Container(name="jobdbench%d" % os.getpid(), bind=inst.binds(),
                             bind_ro=bind_ro, boot_timeout=300)
        c.start()
        try:
            jobdsys.setup(c, inst)
            conf = inst.inside(inst.find("jobd/jobd.conf"))
            opts = {"smoke": args.smoke, "conf": conf, "header": header,
                    "exes": {k: v for k, v in exes.items()}}
            proc = subprocess.run(c.nsenter(["/usr/bin/python3", os.path.abspath(__file__),
                                             "--inside", json.dumps(opts)]),
                                  timeout=3600)
            if proc.returncode != 0:
                r = c.run(["journalctl", "--no-pager", "-n", "40", "-u", "jobd.service"],
                          check=False)
                log("the inside part exited %d; jobd's journal:\n%s"
                    % (proc.returncode, r.stdout))
            return proc.returncode
        finally:
            c.stop()
    finally:
        inst.remove()

# ---------------------------------------------------------------- inside

def sh(argv, check=True, timeout=120):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr[-800:]))
    return r


def client(argv, timeout=900):
    """Run a bench client; the key=value figures of its last line."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if r.stderr.strip():
        log("%s: %s" % (os.path.basename(argv[0]), r.stderr.strip()[-500:]))
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("%s printed nothing (exit %d)" % (" ".join(argv), r.returncode))
    return parse_kv(lines[-1])


def units(pattern):
    """Units systemd has loaded whose names match pattern (any state)."""
    out = sh(["systemctl", "list-units", "--all", "--plain", "--no-legend", pattern]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def settled_units(pattern, timeout=10):
    """The units left once systemd had time to collect them (0 expected)."""
    try:
        wait_until(lambda: not units(pattern), "units %s collected" % pattern, timeout, 0.05)
    except RuntimeError:
        pass
    return units(pattern)


class Sd:
    """systemd's jobs in flight, counted from its JobNew/JobRemoved signals
    (sent while anyone is Subscribed: jobd and transient-load are) without
    calls to PID 1, which would load the very process being measured."""

    def __init__(self):
        from gi.repository import Gio, GLib
        self.GLib = GLib
        self.bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
        self.current = self.peak = 0
        for signal, step in (("JobNew", 1), ("JobRemoved", -1)):
            self.bus.signal_subscribe("org.freedesktop.systemd1",
                                      "org.freedesktop.systemd1.Manager", signal,
                                      "/org/freedesktop/systemd1", None,
                                      Gio.DBusSignalFlags.NONE, self._on_job, step)

    def _on_job(self, conn, sender, path, iface, signal, params, step):
        self.current += step
        self.peak = max(self.peak, self.current)

    def run(self, argv, timeout):
        """Run a load client, dispatching the signals meanwhile; (figures,
        peak of systemd jobs in flight, PID 1's CPU seconds)."""
        ctx = self.GLib.MainContext.default()
        while ctx.iteration(False):
            pass
        self.current = self.peak = 0
        cpu0 = cpu_seconds(1)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        tick = self.GLib.timeout_add(50, lambda: True)   # to check on the client
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            ctx.iteration(True)
        self.GLib.source_remove(tick)
        out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        cpu = cpu_seconds(1) - cpu0
        while ctx.iteration(False):
            pass
        if err.strip():
            log("%s: %s" % (os.path.basename(argv[0]), err.strip()[-500:]))
        return parse_kv(out.strip().splitlines()[-1]), self.peak, cpu


class Service:
    """jobd.service with one backend, and a connection to its private socket."""

    def __init__(self, conf, backend):
        from gi.repository import Gio
        self.Gio = Gio
        with open(conf, "w") as f:
            f.write("[Daemon]\nBackend=%s\nStopJobsOnExit=true\n" % backend)
        sh(["systemctl", "reset-failed", "jobd.service"], check=False)
        sh(["systemctl", "restart", "jobd.service"])
        self.conn = wait_until(self._connect, "jobd's private socket", 30, 0.05)
        self.pid = int(sh(["systemctl", "show", "-p", "MainPID", "--value",
                           "jobd.service"]).stdout)
        self.backend = backend

    def _connect(self):
        try:
            conn = self.Gio.DBusConnection.new_for_address_sync(
                ADDRESS, self.Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
            conn.call_sync(None, "/org/jobd1", "org.freedesktop.DBus.Peer", "Ping", None,
                           None, self.Gio.DBusCallFlags.NONE, 2000, None)
            return conn
        except Exception:   # not listening yet
            return None

    def call(self, method, args=None, signature=None, timeout=60):
        from gi.repository import GLib
        params = GLib.Variant(signature, args) if signature else None
        reply = self.conn.call_sync(None, "/org/jobd1", "org.jobd1.Manager", method, params,
                                    None, self.Gio.DBusCallFlags.NONE, int(timeout * 1000),
                                    None)
        value = reply.unpack()
        return value[0] if len(value) == 1 else value

    def add(self, name, argv):
        from gi.repository import GLib
        s = {"command": GLib.Variant("s", argv[0]), "args": GLib.Variant("as", argv[1:]),
             "restart": GLib.Variant("s", "no")}
        self.call("Add", (name, s), "(sa{sv})")

    def status(self, name):
        return self.call("Status", (name,), "(s)")

    def stop_service(self):
        self.conn.close_sync(None)
        sh(["systemctl", "stop", "jobd.service"])


def thread_switches(pid):
    """{thread id: voluntary context switches} of a process."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[tid] = next(int(line.split()[1]) for line in f
                                if line.startswith("voluntary_ctxt_switches:"))
        except (OSError, StopIteration):
            pass
    return out


def idle(pid, seconds):
    """Wakeups (voluntary context switches of the threads there at the end,
    since the start or their birth) and CPU seconds over a window."""
    before, cpu0 = thread_switches(pid), cpu_seconds(pid)
    time.sleep(seconds)
    after = thread_switches(pid)
    return (sum(n - before.get(tid, 0) for tid, n in after.items()),
            cpu_seconds(pid) - cpu0)


def measure_latency(svc, exes, plan, refs):
    """Start latencies of svc's jobs, interleaved with the references."""
    tag = svc.backend
    svc.add("echo", ["/bin/echo", "hi"])
    fresh, again = [], []
    for b in range(plan.batches):
        fresh.append(client([exes["scope-start"], "--address", ADDRESS, "--fresh", "--prefix",
                             "fresh-%d" % b, "--reps", str(plan.reps)]))
        again.append(client([exes["start-latency"], "--address", ADDRESS, "--job", "echo",
                             "--reps", str(plan.reps)]))
        refs.setdefault("systemd-run", []).append(
            client([exes["start-latency"], "--spawn", "--reps", str(plan.reps), "--",
                    "/usr/bin/systemd-run", "--scope", "--quiet", "/bin/echo", "hi"]))
        refs.setdefault("fork", []).append(
            client([exes["start-latency"], "--spawn", "--reps", str(plan.reps), "--",
                    "/bin/echo", "hi"]))
        refs.setdefault("one_scope_ms", []).append(
            ref_one_scope(exes, plan, "bench-one-%s-%d" % (tag, b)))
    out = {"fresh_ms": median([r["p50_us"] for r in fresh]) / 1000,
           "again_ms": median([r["p50_us"] for r in again]) / 1000,
           "start_errors": sum(r["errors"] for r in fresh + again)}
    log("%s: first start p50 %.2f ms, start after end p50 %.2f ms (errors %d)"
        % (tag, out["fresh_ms"], out["again_ms"], out["start_errors"]))

    svc.add("sl", ["/bin/sleep", "100000"])
    argv = [exes["scope-start"], "--address", ADDRESS, "--stop", "--job", "sl",
            "--reps", str(plan.stop_reps)]
    if svc.backend == "systemd":
        argv += ["--unit", "jobd-sl.scope"]
    stop = client(argv)
    out["stop_ms"] = stop["p50_us"] / 1000
    out["stop_down_ms"] = stop["down_p50_us"] / 1000
    out["stop_errors"] = stop["errors"]
    svc.call("Remove", ("sl",), "(s)")
    svc.call("Remove", ("echo",), "(s)")
    return out


def ref_systemctl_stop(exes, plan):
    """`systemctl stop` of a transient scope holding a sleep: whole process."""
    samples = []
    for i in range(plan.stop_reps):
        unit = "bench-stop-%d.scope" % i
        proc = subprocess.Popen(["systemd-run", "--scope", "--quiet", "--unit", unit,
                                 "/bin/sleep", "100000"])
        wait_until(lambda: sh(["systemctl", "is-active", unit], check=False).stdout.strip()
                   == "active", unit + " active", 10, 0.01)
        r = client([exes["start-latency"], "--exec", "--reps", "1", "--",
                    "/usr/bin/systemctl", "stop", unit])
        samples.append(r["p50_us"])
        proc.wait(10)
    return median(samples) / 1000


def failed_start_units(svc):
    """A job whose exec fails in its scope (an executable file of no known
    format: ENOEXEC, after the scope was made): the units it leaves (0
    expected)."""
    path = "/run/jobd-bench-bad-program"
    with open(path, "wb") as f:
        f.write(b"\x00\x01 not a program\n")
    os.chmod(path, 0o755)
    svc.add("bad", [path])
    try:
        svc.call("Start", ("bad",), "(s)")
    except Exception as e:   # the start is refused: that is the point
        log("start of a program that cannot exec: %s" % str(e).splitlines()[0])
    wait_until(lambda: svc.status("bad") in ("failed", "down"), "bad to fail", 20, 0.01)
    left = settled_units("jobd-bad*")
    svc.call("Remove", ("bad",), "(s)")
    return left


def measure_scale(svc, exes, plan, sd):
    n = plan.jobs
    out = {}
    pss1_0, pssj_0 = smaps(1)["Pss"], smaps(svc.pid)["Pss"]
    out["pid1_idle_base"], _ = idle(1, plan.idle_seconds)
    out["jobd_idle_base"], _ = idle(svc.pid, plan.idle_seconds)
    res, peak, cpu = sd.run([exes["dbus-scale"], "--address", ADDRESS, "--add", str(n),
                              "--prefix", "s", "--timeout", "300"], 320)
    out.update(add_s=res["all_up_s"], add_errors=res["errors"], add_peak=peak, add_pid1_cpu=cpu)
    up = svc.call("List")[1].count("up")    # List's columns: names, states, …
    out["up"] = up
    time.sleep(1)   # let PID 1 and jobd settle before reading their memory
    out["pid1_pss_kb"] = (smaps(1)["Pss"] - pss1_0) / max(up, 1)
    out["jobd_pss_kb"] = (smaps(svc.pid)["Pss"] - pssj_0) / max(up, 1)
    out["list"] = client([exes["dbus-load"], "--address", ADDRESS, "--method", "list",
                          "--seconds", str(plan.list_seconds)])
    out["status"] = client([exes["dbus-load"], "--address", ADDRESS, "--method", "status",
                            "--name", "s0", "--seconds", str(plan.list_seconds)])
    t0 = time.monotonic()
    for i in range(n):
        svc.call("GetMemory", ("s%d" % i,), "(s)")
    out["getmemory_us"] = (time.monotonic() - t0) / n * 1e6
    out["jobd_idle"], out["jobd_idle_cpu"] = idle(svc.pid, plan.idle_seconds)
    out["pid1_idle"], _ = idle(1, plan.idle_seconds)
    res, peak, cpu = sd.run([exes["dbus-scale"], "--address", ADDRESS, "--remove", str(n),
                              "--prefix", "s", "--timeout", "300"], 320)
    out.update(remove_s=res["removed_s"], remove_errors=res["errors"])
    out["left"] = settled_units("jobd-*.scope")
    return out


def measure_reference_scale(exes, plan, sd):
    res, peak, cpu = sd.run([exes["transient-load"], "--count", str(plan.jobs)], 700)
    return {"add_s": res["started_s"], "remove_s": res["stopped_s"], "errors": res["errors"],
            "peak": peak, "pid1_cpu": cpu, "left": settled_units("bench-transient-*")}


def ref_one_scope(exes, plan, prefix):
    """systemd's floor for the scope part of one start: from a
    StartTransientUnit call to its JobRemoved, one scope at a time (the
    sd-bus client, median), in ms. What a scoped start costs over a direct
    one can hardly be less."""
    res = client([exes["transient-load"], "--count", str(plan.reps), "--window", "1",
                  "--prefix", prefix])
    return res["start_p50_ms"]


def inside_main(opts):
    plan = Plan(opts["smoke"])
    exes = opts["exes"]
    sd = Sd()
    refs = {}
    res = {}
    for backend in ("systemd", "direct"):
        log("jobd.service with Backend=%s" % backend)
        svc = Service(opts["conf"], backend)
        try:
            res[backend] = measure_latency(svc, exes, plan, refs)
            res[backend]["failed_left"] = failed_start_units(svc)
            res[backend].update(measure_scale(svc, exes, plan, sd))
        finally:
            svc.stop_service()
        log("%s: %s" % (backend, res[backend]))
    refs["stop_ms"] = ref_systemctl_stop(exes, plan)
    refs["scale"] = measure_reference_scale(exes, plan, sd)
    log("references: %s" % refs)
    table = Table()
    fill_table(table, plan, res["systemd"], res["direct"], refs)
    table.print(opts["header"] + " — backend scope (booted container)")
    return 0 if correct(res, plan) else 1


def correct(res, plan):
    """The behaviours: nothing left behind, every job started."""
    ok = True
    s = res["systemd"]
    for what, left in (("after stop + remove", s["left"]),
                       ("after a failed start", s["failed_left"])):
        if left:
            log("FAIL: units left %s: %s" % (what, " ".join(left)))
            ok = False
    for backend, r in res.items():
        errors = r["start_errors"] + r["stop_errors"] + r["add_errors"] + r["remove_errors"]
        if errors or r["up"] != plan.jobs:
            log("FAIL: %s: %d calls failed, %d of %d jobs up"
                % (backend, errors, r["up"], plan.jobs))
            ok = False
    return ok


def fill_table(t, plan, s, d, refs):
    sr = median([r["p50_us"] for r in refs["systemd-run"]]) / 1000
    fk = median([r["p50_us"] for r in refs["fork"]]) / 1000
    t.detail("references: systemd-run --scope echo %.2f ms, fork/exec %.2f ms, systemctl stop "
             "%.2f ms; transient-load %s" % (sr, fk, refs["stop_ms"], refs["scale"]))
    for key, what in (("fresh_ms", "first start"), ("again_ms", "start after the run ended")):
        v = s[key]
        t.row("scope: start → first line (%s)" % what, v, sr, "≤ 1.2× and ≤ direct + 3 ms",
              s["start_errors"] == 0 and v <= 1.2 * sr and v <= d[key] + 3, "ms",
              ref_name="systemd-run --scope")
        t.row("direct: start → first line (%s)" % what, d[key], fk, None, None, "ms",
              ref_name="fork/exec")
    t.row("systemd-run --scope echo hi → line", sr, fk, None, None, "ms", ref_name="fork/exec")
    for key, what in (("fresh_ms", "first start"), ("again_ms", "start after the run ended")):
        t.row("scope start − direct start (%s)" % what, s[key] - d[key],
              median(refs["one_scope_ms"]),
              None, None, "ms", ref_name="StartTransientUnit → JobRemoved")
    t.row("scope: Stop → down, scope gone", s["stop_ms"], refs["stop_ms"], None, None, "ms",
          ref_name="systemctl stop")
    t.row("scope: Stop → down (state only)", s["stop_down_ms"], d["stop_down_ms"], None, None,
          "ms", ref_name="direct")
    n = plan.jobs
    rs = refs["scale"]
    t.row("scope: add + start %d jobs until all up" % n, s["add_s"], rs["add_s"], "≤ 2×",
          s["add_errors"] == 0 and s["add_s"] <= 2 * rs["add_s"], "s",
          ref_name="sd-bus StartTransientUnit")
    t.row("direct: add + start %d jobs until all up" % n, d["add_s"], s["add_s"], None, None,
          "s", ref_name="scope")
    t.row("scope: stop + remove %d jobs" % n, s["remove_s"], rs["remove_s"], None, None, "s",
          ref_name="sd-bus StopUnit")
    t.row("direct: stop + remove %d jobs" % n, d["remove_s"], s["remove_s"], None, None, "s",
          ref_name="scope")
    t.row("peak systemd jobs in flight", s["add_peak"], rs["peak"], None, None,
          ref_name="sd-bus client")
    t.row("PID 1 CPU during the adds", s["add_pid1_cpu"], rs["pid1_cpu"], None, None, "s",
          ref_name="sd-bus client")
    t.row("PID 1 PSS per running scoped job", s["pid1_pss_kb"], d["pid1_pss_kb"], None, None,
          "kB", ref_name="direct")
    t.row("jobd PSS per running job", s["jobd_pss_kb"], d["jobd_pss_kb"], None, None, "kB",
          ref_name="direct")
    t.row("List with %d jobs (p50)" % n, s["list"]["p50_us"] / 1000,
          d["list"]["p50_us"] / 1000, None, None, "ms", ref_name="direct")
    t.row("GetMemory per call, %d jobs" % n, s["getmemory_us"], d["getmemory_us"], None, None,
          "µs", ref_name="direct")
    t.row("Status round trips/s", s["status"]["rps"], d["status"]["rps"], None, None,
          ref_name="direct")
    secs = plan.idle_seconds
    t.row("jobd wakeups in %.0f s, %d idle jobs" % (secs, n), s["jobd_idle"],
          s["jobd_idle_base"], "≤ no jobs", s["jobd_idle"] <= s["jobd_idle_base"], ratio=None,
          ref_name="no jobs")
    t.row("direct: jobd wakeups in %.0f s, %d idle jobs" % (secs, n), d["jobd_idle"],
          d["jobd_idle_base"], None, None, ratio=None, ref_name="no jobs")
    t.row("PID 1 wakeups in %.0f s, %d idle scopes" % (secs, n), s["pid1_idle"],
          s["pid1_idle_base"], None, None, ratio=None, ref_name="no jobs")
    t.row("units left after stop + remove", len(s["left"]), len(rs["left"]), "0",
          not s["left"], ratio=None, ref_name="sd-bus client")
    t.row("units left after a failed start", len(s["failed_left"]), None, "0",
          not s["failed_left"], ratio=None)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--inside":
    sys.exit(inside_main(json.loads(sys.argv[2])))
