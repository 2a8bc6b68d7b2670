# SPDX-License-Identifier: MIT
"""examples/worker-pool: a PHP master forking workers with pcntl, as one job."""
import os
import re
import signal

from examplecase import ExampleCase, wait_until
from jobdtest import main, pid_alive
import jobdtest

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class WorkerPool(ExampleCase):
    example = "worker-pool"

    def start_pool(self):
        self.assertIn("pool: added", self.sh("jobctl apply pool.job").stdout)
        mark = self.bus.mark()
        self.sh("jobctl start pool")
        master = self.bus.wait_state("pool", "up", since=mark)["main-pid"]
        self.jobd.note_pid(master)
        workers = wait_until(lambda: (lambda k: k if len(k) == 3 else None)(self.children(master)),
                             "the master's 3 workers")
        for w in workers:
            self.jobd.note_pid(w)
        return master, workers

    def test_master_and_workers_are_one_job(self):
        master, workers = self.start_pool()
        logs = self.sh("jobctl logs pool").stdout
        self.assertEqual(len(re.findall(r"master: started worker \d", logs)), 3, logs)

        # mem counts the master and every worker: more than the master alone.
        self.bus.pump(lambda: all(rss(p) > 0 for p in [master] + workers), "RSS to show")
        shown = self.sh("jobctl mem pool").stdout
        total = self.bus.call("GetMemory", "pool")[0]
        self.assertGreater(total, rss(master) + sum(rss(w) for w in workers) // 2, shown)

        # reload reaches the master: same master, every worker replaced.
        self.sh("jobctl reload pool")
        renewed = wait_until(
            lambda: (lambda k: k if len(k) == 3 and not set(k) & set(workers) else None)(
                self.children(master)), "3 new workers after the reload")
        self.assertEqual(self.bus.call("GetRuntime", "pool")["main-pid"], master)

        # stop leaves nothing behind.
        mark = self.bus.mark()
        self.sh("jobctl stop pool")
        self.bus.wait_state("pool", "down", since=mark)
        for pid in [master] + renewed:
            wait_until(lambda: not pid_alive(pid), "PID %d to be gone after stop" % pid)

    def test_a_dead_worker_is_replaced_by_the_master(self):
        master, workers = self.start_pool()
        os.kill(workers[1], signal.SIGKILL)
        now = wait_until(lambda: (lambda k: k if len(k) == 3 and workers[1] not in k else None)(
            self.children(master)), "the master to replace the killed worker")
        self.assertEqual(set(now) & set(workers), {workers[0], workers[2]})
        self.assertEqual(self.bus.call("GetRuntime", "pool")["restarts"], 0)

    def test_a_dead_master_is_restarted_by_jobd_with_backoff(self):
        master, workers = self.start_pool()
        delays = []
        for _ in range(2):
            mark = self.bus.mark()
            self.sh("kill -9 $(jobctl show -p MainPID --value pool)")
            starting = self.bus.wait_state("pool", "starting", since=mark)
            delays.append(starting["delay-ms"])
            for w in workers:
                wait_until(lambda: not pid_alive(w), "old worker %d to go with its master" % w)
            master = self.bus.wait_state("pool", "up", since=mark, timeout=30)["main-pid"]
            self.jobd.note_pid(master)
            workers = wait_until(
                lambda: (lambda k: k if len(k) == 3 else None)(self.children(master)),
                "the new master's workers")
        self.assertEqual(delays[0], 1000)           # RestartDelay=1s
        self.assertGreater(delays[1], delays[0])     # growing while it keeps dying
        reasons = [r["reason"] for r in self.history("pool")]
        self.assertEqual(reasons.count("policy"), 2, reasons)


if __name__ == "__main__":
    main()
