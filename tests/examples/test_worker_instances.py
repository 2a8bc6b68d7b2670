# SPDX-License-Identifier: MIT
"""examples/worker-instances: Instances=4 of a single-process PHP worker,
scaled to 2 while it runs."""
import os
import signal

from examplecase import ExampleCase, wait_until
from jobdtest import main, pid_alive


def instance_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    return int(env[b"JOBD_INSTANCE"])


class WorkerInstances(ExampleCase):
    example = "worker-instances"

    def workers(self):
        """PID → JOBD_INSTANCE of every running worker of this jobd."""
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
                if b"worker.php" not in argv or os.readlink("/proc/%s/cwd" % entry) != self.folder:
                    continue
                out[int(entry)] = instance_of(int(entry))
            except (OSError, KeyError):
                continue
        return out

    def test_four_copies_scaled_to_two(self):
        self.copy_example()
        self.sh("jobctl apply workers.job")
        mark = self.bus.mark()
        self.sh("jobctl start workers")
        self.bus.wait_state("workers", "up", since=mark)
        running = wait_until(lambda: (lambda w: w if len(w) == 4 else None)(self.workers()),
                             "4 workers")
        for pid in running:
            self.jobd.note_pid(pid)
        self.assertEqual(sorted(running.values()), [1, 2, 3, 4])
        self.assertEqual(self.sh("jobctl status workers", check=False).returncode, 0)
        shown = self.sh("jobctl show workers").stdout
        for pid in running:
            self.assertIn(str(pid), shown)

        # One instance dies: only it is restarted.
        victim = [p for p, i in running.items() if i == 2][0]
        os.kill(victim, signal.SIGKILL)
        again = wait_until(lambda: (lambda w: w if len(w) == 4 and victim not in w else None)(
            self.workers()), "instance 2 back")
        self.assertEqual({p for p in again if p in running}, set(running) - {victim})
        for pid in again:
            self.jobd.note_pid(pid)

        self.sh("jobctl scale workers 2")
        left = wait_until(lambda: (lambda w: w if len(w) == 2 else None)(self.workers()),
                          "2 workers after scale")
        self.assertEqual(sorted(left.values()), [1, 2])
        self.assertIn("bye", self.sh("jobctl logs workers").stdout)

        self.sh("jobctl stop workers")
        for pid in left:
            wait_until(lambda: not pid_alive(pid), "worker %d stopped" % pid)


if __name__ == "__main__":
    main()
