# SPDX-License-Identifier: MIT
"""The `watch` step of tests/bench/run (issue 13, restart on file change).

A git repository of N files (1 000; 100 with --smoke) in 20 folders, with
two branches that differ in every file. Each repetition checks out the
other branch twice, interleaved:

- reference: with no job watching the tree (the watched job is stopped):
  the checkout's wall time and jobd's CPU time (utime+stime) meanwhile;
- watched: with `bench-watch` (/bin/sleep, `watch` the tree, default
  debounce 500 ms) up: jobd's CPU over the same window (the checkout, then
  4 debounce windows + 1 s: the debounce, the restart, room for a second
  one), with no D-Bus call to jobd inside it, and the number of
  file-change restarts it caused, read after it (must be exactly 1).
"""
import os
import shutil
import subprocess
import time

from benchlib import cpu_seconds, log, median, wait_until

DEBOUNCE_MS = 500


def git(repo, *args):
    subprocess.run(["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                    "-c", "advice.detachedHead=false"] + list(args),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def make_repo(root, n_files):
    repo = os.path.join(root, "watch-repo")
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "one")
    paths = []
    for i in range(n_files):
        folder = os.path.join(repo, "src", "m%02d" % (i % 20))
        os.makedirs(folder, exist_ok=True)
        paths.append(os.path.join(folder, "f%04d.php" % i))
    for version in ("one", "two"):
        if version == "two":
            git(repo, "checkout", "-q", "-b", "two")
        for p in paths:
            with open(p, "w") as f:
                f.write("<?php // %s %s\n" % (os.path.basename(p), version))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", version)
    return repo


def restarts(jobd, name):
    return jobd.call("GetRuntime", (name,), "(s)")["restarts"]


def checkout(repo, branch):
    t0 = time.monotonic()
    git(repo, "checkout", "-q", branch)
    return time.monotonic() - t0


def bench_watch(table, exes, jobd, plan, root):
    if shutil.which("git") is None:
        log("watch: git is not installed; step skipped")
        table.detail("watch: skipped (no git)")
        return
    n_files = 100 if plan.smoke else 1000
    reps = 1 if plan.smoke else 3
    repo = make_repo(root, n_files)
    name = "bench-watch"
    jobd.add(name, ["/bin/sleep", "100000"], watch=("as", [repo]),
             **{"watch-debounce-ms": ("u", DEBOUNCE_MS), "start-limit-burst": ("u", 1000)})
    branch = "one"
    ref_cpu, ref_wall, watch_cpu, watch_wall, counts = [], [], [], [], []
    # No D-Bus call to jobd inside a measured window (each costs it CPU):
    # the window is fixed, long enough for the debounce, the restart and
    # room for a second one; the restarts are read after it.
    window = 4 * DEBOUNCE_MS / 1000 + 1.0
    for _ in range(reps):
        # Reference: nothing watches the tree.
        branch = "two" if branch == "one" else "one"
        c0 = cpu_seconds(jobd.pid)
        ref_wall.append(checkout(repo, branch))
        time.sleep(window)
        ref_cpu.append(cpu_seconds(jobd.pid) - c0)

        # Watched.
        jobd.start_job(name)
        jobd.wait_state(name, ("up",))
        before = restarts(jobd, name)
        branch = "two" if branch == "one" else "one"
        c0 = cpu_seconds(jobd.pid)
        watch_wall.append(checkout(repo, branch))
        time.sleep(window)
        watch_cpu.append(cpu_seconds(jobd.pid) - c0)
        if restarts(jobd, name) == before:
            log("watch: no restart within %.1f s; waiting longer (this CPU figure is low)"
                % window)
            wait_until(lambda: restarts(jobd, name) > before, "the file-change restart", 30,
                       0.05)
            time.sleep(3 * DEBOUNCE_MS / 1000)
        jobd.wait_state(name, ("up",))
        counts.append(restarts(jobd, name) - before)
        jobd.call("Stop", (name,), "(s)")
        jobd.wait_state(name, ("down",))
    table.detail("watch: git checkout of %d files: restarts per checkout %s; jobd CPU watched "
                 "%s ms, unwatched %s ms; checkout wall time watched %s ms, unwatched %s ms"
                 % (n_files, counts, [round(c * 1000) for c in watch_cpu],
                    [round(c * 1000) for c in ref_cpu], [round(w * 1000) for w in watch_wall],
                    [round(w * 1000) for w in ref_wall]))
    table.row("git checkout of %d watched files: restarts" % n_files, max(counts), None, "1",
              all(c == 1 for c in counts), ratio=None)
    table.row("jobd CPU for that checkout (incl. the restart)", median(watch_cpu) * 1000,
              median(ref_cpu) * 1000, None, None, "ms", ratio=None, ref_name="no watch")
    table.row("git checkout wall time, watched tree", median(watch_wall) * 1000,
              median(ref_wall) * 1000, None, None, "ms", ref_name="no watch")
