#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test-examples.py — the examples of examples/ on the scope backend.

The 'examples' suite follows each example's README against a jobd on the
direct backend. What the READMEs promise about memory and stopping depends
on the backend, so here jobd runs as the system service in a booted
container (every job in its scope jobd-NAME.scope) and the same README
commands are run, word for word (a command this test runs must appear in
the README), from a copy of the example's folder inside the container:

- worker-pool: `jobctl mem pool` is the memory of the scope, and the scope
  holds the master and its 3 workers (cgroup.procs); a reload keeps them
  there; a kill -9 of the master (the README's command) takes its orphaned
  workers with it and jobd restarts the master in a fresh scope; `jobctl
  stop pool` with a worker that cannot take SIGTERM (stopped) still leaves
  no process, and the scope is gone.
- worker-instances: each instance in its own scope jobd-workers-I.scope
  holding just that instance; each instance's memory is its scope's, the
  job's is their sum; scale and stop remove the scopes.
- hot-reload: an edit restarts the PHP server in the same scope name (the
  old scope must go first), the new code answers; stop leaves no scope.
- respawn: the backoff (200, 400, 800, 1600 ms) and the start limit as on
  the direct backend, each run in jobd-flaky.scope again.
- timer-service: scheduled runs every few seconds, each in a new scope of
  the same name; a run past RuntimeMax= is stopped; remove leaves no scope."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jobdsys  # noqa: E402

SRCDIR = os.environ.get("JOBD_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(SRCDIR, "examples")
# Where the copies live inside the container (its tmpfs root).
INSIDE = "/srv/examples"


def copy_in(c, host, inside, replace=None):
    """Copy host's file or folder (text files, symlinks) to inside the container."""
    if os.path.islink(host):
        c.run(["/bin/sh", "-c", 'mkdir -p "$(dirname "$2")" && ln -sfn "$1" "$2"', "sh",
               os.readlink(host), inside])
    elif os.path.isdir(host):
        for entry in sorted(os.listdir(host)):
            copy_in(c, os.path.join(host, entry), os.path.join(inside, entry), replace)
    else:
        with open(host) as f:
            text = f.read()
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        c.run(["/bin/sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod %o "$1"'
               % (os.stat(host).st_mode & 0o777), "sh", inside], input=text)


def install_php(c):
    """php-cli as the host has it. The container shares the host's /usr but
    boots with an empty /etc, and Debian's php-cli keeps there both the
    /usr/bin/php alternative and the ini files that load posix and sockets."""
    php = os.path.realpath("/usr/bin/php")
    c.run(["mkdir", "-p", "/etc/alternatives"])
    c.run(["ln", "-sfn", php, "/etc/alternatives/php"])
    copy_in(c, "/etc/php", "/etc/php")
    r = c.run(["php", "-r", "echo function_exists('posix_kill') && "
               "function_exists('pcntl_fork') ? 'ok' : 'missing';"])
    assert r.stdout == "ok", r


class Example:
    """One example folder copied into the container; its README's commands."""

    def __init__(self, c, inst, name, replace=None):
        self.c = c
        self.inst = inst
        self.name = name
        self.folder = os.path.join(INSIDE, name)
        here = os.path.join(EXAMPLES, name)
        with open(os.path.join(here, "README.md")) as f:
            self.readme = f.read()
        copy_in(c, here, self.folder, replace)

    def sh(self, command, check=True):
        """Run one README command in the example's folder, as a user would."""
        assert command in self.readme, \
            "the test runs `%s`, which examples/%s/README.md does not show" % (command, self.name)
        path = os.path.dirname(self.inst.jobctl) + ":/usr/sbin:/usr/bin:/sbin:/bin"
        r = self.c.run(["/bin/sh", "-c", "cd %s && %s" % (self.folder, command)], check=False,
                       env={"PATH": path, "LC_ALL": "C"})
        if check and r.returncode != 0:
            raise AssertionError("`%s` exited %d: %s%s" % (command, r.returncode, r.stdout,
                                                          r.stderr))
        return r


# ---- what the container's kernel and systemd say ----

def cgroup_dir(c, cgroup, hierarchies=("", "unified/", "systemd/")):
    """The directory of cgroup that has a cgroup.procs, or None if none has."""
    for h in hierarchies:
        d = "/sys/fs/cgroup/%s%s" % (h, cgroup.lstrip("/"))
        if c.run(["test", "-f", d + "/cgroup.procs"], check=False).returncode == 0:
            return d
    return None


def scope_cgroup(c, unit):
    cgroup = c.show(unit, "ControlGroup")["ControlGroup"]
    assert cgroup.endswith("/" + unit), (unit, cgroup)
    return cgroup


def cgroup_pids(c, cgroup):
    d = cgroup_dir(c, cgroup)
    assert d is not None, "no cgroup.procs for %s" % cgroup
    return sorted(int(p) for p in c.run(["cat", d + "/cgroup.procs"]).stdout.split())


def children(c, pid):
    r = c.run(["cat", "/proc/%d/task/%d/children" % (pid, pid)], check=False)
    return sorted(int(p) for p in r.stdout.split())


def kernel_memory(c, cgroup, source):
    """What the kernel counts for cgroup, read the way source names."""
    rel = cgroup.lstrip("/")
    if source == "cgroup-v2":
        for h in ("", "unified/"):
            r = c.run(["cat", "/sys/fs/cgroup/%s%s/memory.current" % (h, rel)], check=False)
            if r.returncode == 0:
                return int(r.stdout)
    if source == "cgroup-v1":
        return int(c.run(["cat", "/sys/fs/cgroup/memory/%s/memory.usage_in_bytes" % rel]).stdout)
    assert source == "cgroup-procs", source
    # The RSS of every process the scope lists.
    script = ('page=$(getconf PAGESIZE); t=0; for p in $(cat %s/cgroup.procs); do '
              'r=$(cut -d" " -f2 /proc/$p/statm 2>/dev/null || echo 0); t=$((t + r * page)); '
              'done; echo $t')
    return int(c.sh(script % cgroup_dir(c, cgroup)).stdout)


def memory_matches(c, cgroup, source, figure_of):
    """figure_of() (jobd's figure) lies between two readings of the kernel's
    figure taken around it, 10 % either side: memory moves while we look."""
    before = kernel_memory(c, cgroup, source)
    figure = figure_of()
    after = kernel_memory(c, cgroup, source)
    low, high = min(before, after), max(before, after)
    print("  %s: jobd says %d, the kernel %d..%d (%s)" % (cgroup, figure, low, high, source))
    assert low * 0.9 <= figure <= high * 1.1, (cgroup, figure, before, after, source)
    return figure


def unit_loaded(c, unit):
    """Whether systemd still has the unit (any state)."""
    out = c.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", unit]).stdout
    return unit in out


def wait_scope_gone(c, unit, cgroup):
    c.wait_for("%s to be gone" % unit, lambda: not unit_loaded(c, unit))
    c.wait_for("the cgroup %s to be gone" % cgroup, lambda: cgroup_dir(c, cgroup) is None)


def job_mem(j, name):
    shown = json.loads(j.ctl("mem", name, "--json"))
    return shown["bytes"], shown["source"]


# ---- the examples ----

def worker_pool(c, inst, j):
    print("worker-pool")
    ex = Example(c, inst, "worker-pool")
    assert "pool: added" in ex.sh("jobctl apply pool.job").stdout
    ex.sh("jobctl start pool")
    up = j.wait_state("pool", "up")
    master, unit = up["main-pid"], up["unit"]
    assert unit == "jobd-pool.scope", up
    cgroup = scope_cgroup(c, unit)
    workers = c.wait_for("the master's 3 workers", lambda: (
        lambda k: k if len(k) == 3 else None)(children(c, master)))
    logs = ex.sh("jobctl logs pool").stdout
    assert logs.count("master: started worker") == 3, logs

    # mem: the scope holds the master and every worker, and the figure is the scope's.
    assert cgroup_pids(c, cgroup) == sorted([master] + workers), (cgroup_pids(c, cgroup), master,
                                                                  workers)
    _, source = job_mem(j, "pool")
    assert source.startswith("cgroup-"), source
    shown = ex.sh("jobctl mem pool").stdout
    assert "(%s)" % source in shown, shown
    memory_matches(c, cgroup, source, lambda: job_mem(j, "pool")[0])

    # reload: same master, 3 new workers, still in the scope.
    ex.sh("jobctl reload pool")
    renewed = c.wait_for("3 new workers after the reload", lambda: (
        lambda k: k if len(k) == 3 and not set(k) & set(workers) else None)(children(c, master)))
    assert j.runtime("pool")["main-pid"] == master
    assert cgroup_pids(c, cgroup) == sorted([master] + renewed)

    # The master killed, twice: its orphaned workers go with its scope, jobd
    # starts a new master in a new jobd-pool.scope after RestartDelay=1s,
    # then after a longer delay while it keeps dying.
    cursor = j.journal_cursor()
    workers = renewed
    for restarts in (1, 2):
        ex.sh("kill -9 $(jobctl show -p MainPID --value pool)")
        j.wait_gone(master, "the killed master")
        for w in workers:
            j.wait_gone(w, "worker %d of the killed master" % w)
        back = c.wait_for("a new master", lambda: (lambda r: r if r["state"] == "up" and
                                                   r["main-pid"] != master else None)(
            j.runtime("pool")), timeout=40)
        assert back["unit"] == unit and back["restarts"] == restarts, back
        master = back["main-pid"]
        workers = c.wait_for("the new master's 3 workers", lambda: (
            lambda k: k if len(k) == 3 else None)(children(c, master)))
        cgroup = scope_cgroup(c, unit)
        assert cgroup_pids(c, cgroup) == sorted([master] + workers)
    said = j.journal_since(cursor)
    delays = [int(d) for d in re.findall(r"job pool: \S+ -> starting \(restart after signal "
                                         r"in (\d+) ms\)", said)]
    assert len(delays) == 2 and delays[0] == 1000 and delays[1] > delays[0], (delays, said)
    assert ex.sh("jobctl history pool").stdout.count("policy") == 2

    # stop: a worker that cannot take SIGTERM (stopped) holds the master up;
    # StopTimeout=5s later jobd kills what the scope holds, and it goes.
    c.run(["kill", "-STOP", str(workers[0])])
    ex.sh("jobctl stop pool")
    j.wait_state("pool", "down", timeout=40)
    for pid in [master] + workers:
        j.wait_gone(pid, "PID %d of the pool" % pid)
    wait_scope_gone(c, unit, cgroup)


def worker_instances(c, inst, j):
    print("worker-instances")
    ex = Example(c, inst, "worker-instances")
    ex.sh("jobctl apply workers.job")
    ex.sh("jobctl start workers")
    j.wait_state("workers", "up")
    assert ex.sh("jobctl status workers", check=False).returncode == 0
    shown = ex.sh("jobctl show workers").stdout
    each = {i["instance"]: i for i in j.runtime("workers")["instances"]}
    assert sorted(each) == [1, 2, 3, 4], each
    cgroups = {}
    for n, i in each.items():
        assert i["unit"] == "jobd-workers-%d.scope" % n, i
        assert str(i["pid"]) in shown, (i, shown)
        cgroups[n] = scope_cgroup(c, i["unit"])
        assert cgroup_pids(c, cgroups[n]) == [i["pid"]], (n, cgroup_pids(c, cgroups[n]))

    # Each instance's memory is its scope's; the job's is their sum.
    _, source = job_mem(j, "workers")
    assert source.startswith("cgroup-"), source
    for n in each:
        memory_matches(c, cgroups[n], source, lambda n=n: {
            i["instance"]: i for i in j.runtime("workers")["instances"]}[n]["memory"])
    parts = [0]

    def total():
        parts[0] = sum(i["memory"] for i in j.runtime("workers")["instances"])
        return job_mem(j, "workers")[0]
    figure = total()
    assert abs(figure - parts[0]) <= parts[0] * 0.1, (figure, parts[0])

    ex.sh("jobctl scale workers 2")
    for n in (3, 4):
        j.wait_gone(each[n]["pid"], "instance %d" % n)
        wait_scope_gone(c, each[n]["unit"], cgroups[n])
    assert "worker 4: bye" in ex.sh("jobctl logs workers").stdout
    ex.sh("jobctl stop workers")
    j.wait_state("workers", "down")
    for n in (1, 2):
        j.wait_gone(each[n]["pid"], "instance %d" % n)
        wait_scope_gone(c, each[n]["unit"], cgroups[n])


def hot_reload(c, inst, j):
    print("hot-reload")
    ex = Example(c, inst, "hot-reload")
    ex.sh("jobctl apply app.job")
    ex.sh("jobctl start app")
    up = j.wait_state("app", "up")
    unit = up["unit"]
    assert unit == "jobd-app.scope", up
    assert ex.sh("curl -s http://127.0.0.1:8080/").stdout.strip() == "hello from version 1"
    assert cgroup_pids(c, scope_cgroup(c, unit)) == [up["main-pid"]]

    ex.sh("sed -i 's/version 1/version 2/' src/greeting.php")
    j.wait_gone(up["main-pid"], "the server before the edit")
    again = c.wait_for("the app up again", lambda: (lambda r: r if r["state"] == "up" and
                                                    r["main-pid"] != up["main-pid"] else None)(
        j.runtime("app")))
    assert again["unit"] == unit and again["restarts"] == 1, again
    assert ex.sh("curl -s http://127.0.0.1:8080/").stdout.strip() == "hello from version 2"
    cgroup = scope_cgroup(c, unit)
    assert cgroup_pids(c, cgroup) == [again["main-pid"]]
    history = ex.sh("jobctl history app").stdout
    assert "file-change" in history, history

    ex.sh("jobctl stop app")
    j.wait_state("app", "down")
    j.wait_gone(again["main-pid"], "the server")
    wait_scope_gone(c, unit, cgroup)


def respawn(c, inst, j):
    """Each restart takes the same scope name again: the dead run's scope
    must be gone first, and the backoff must not grow from waiting on it."""
    print("respawn")
    ex = Example(c, inst, "respawn")
    ex.sh("jobctl apply flaky.job")
    cursor = j.journal_cursor()
    ex.sh("jobctl start flaky")
    j.wait_state("flaky", "failed", timeout=40)
    said = j.journal_since(cursor)
    delays = [int(d) for d in re.findall(r"job flaky: \S+ -> starting \(restart after exit-code "
                                         r"in (\d+) ms\)", said)]
    assert delays == [200, 400, 800, 1600], (delays, said)
    assert re.search(r"job flaky: \S+ -> failed \(start-limit", said), said
    assert "already exists" not in said, said
    status = ex.sh("jobctl status flaky", check=False)
    assert (status.returncode, status.stdout.strip()) == (3, "failed"), status
    runs = json.loads(j.ctl("history", "flaky", "--json"))
    assert sorted(r["reason"] for r in runs) == ["manual"] + ["policy"] * 4, runs
    assert all((r["result"], r["exit-code"]) == ("exit-code", 1) for r in runs), runs
    shown = ex.sh("jobctl history flaky").stdout
    assert shown.count("exit 1") == 5, shown
    assert "lost the connection" in ex.sh("jobctl logs flaky").stdout
    c.wait_for("jobd-flaky.scope to be gone", lambda: not unit_loaded(c, "jobd-flaky.scope"))

    # Started again by hand: in a new scope of the same name.
    ex.sh("jobctl start flaky")
    again = j.wait_state("flaky", "up")
    assert again["unit"] == "jobd-flaky.scope", again
    j.ctl("stop", "flaky")
    j.wait_state("flaky", "down")
    c.wait_for("jobd-flaky.scope to be gone", lambda: not unit_loaded(c, "jobd-flaky.scope"))


def timer_service(c, inst, j):
    """A scheduled task starts every few seconds in the scope its last run
    just left; a run past RuntimeMax= is stopped through its scope."""
    print("timer-service")
    ex = Example(c, inst, "timer-service")
    cursor = j.journal_cursor()
    assert "2 added" in ex.sh("jobctl apply report.job cleanup.job").stdout
    timers = ex.sh("jobctl timers").stdout
    assert "*:*:0/5" in timers and "every 3s" in timers, timers

    def runs(name, predicate, what, least=1):
        def find():
            done = [r for r in json.loads(j.ctl("history", name, "--json"))
                    if r.get("end", 0) > 0 and predicate(r)]
            return done if len(done) >= least else None
        return c.wait_for("%s: %s" % (name, what), find, timeout=40, interval=0.3)
    for name in ("report", "cleanup"):
        runs(name, lambda r: r["reason"] == "schedule" and r["result"] == "exit-code" and
             r["exit-code"] == 0, "two scheduled runs ending with exit 0", least=2)
    assert "schedule" in ex.sh("jobctl history report").stdout

    ex.sh("jobctl update cleanup --env=CLEANUP_SECONDS=10")
    stopped = runs("cleanup", lambda r: r.get("stop-cause") == "runtime-max",
                   "a run stopped at its run-time limit")[0]
    assert stopped["end"] - stopped["start"] < 9 * 1000000, stopped
    assert "runtime-max" in ex.sh("jobctl history cleanup").stdout
    said = j.journal_since(cursor)
    assert "already exists" not in said and "spawn-error" not in said, said

    # The README's end: with RuntimeMax=2s every 3 s, cleanup is mostly up,
    # and jobd removes only a job that is down.
    ex.sh("jobctl update report --no-schedules")
    ex.sh("jobctl update cleanup --no-schedules")
    ex.sh("jobctl stop --wait report cleanup")
    ex.sh("jobctl remove report cleanup")
    for unit in ("jobd-report.scope", "jobd-cleanup.scope"):
        c.wait_for("%s to be gone" % unit, lambda unit=unit: not unit_loaded(c, unit))


def check(c, inst):
    j = jobdsys.Jobd(c, inst)
    install_php(c)
    j.systemctl("start")
    worker_pool(c, inst, j)
    worker_instances(c, inst, j)
    hot_reload(c, inst, j)
    respawn(c, inst, j)
    timer_service(c, inst, j)


jobdsys.run(check)
