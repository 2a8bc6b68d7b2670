# SPDX-License-Identifier: MIT
"""List's memory column is jobd's last reading, not one made for the call
(issue 16: reading the memory of 10 000 jobs on every List cost 0.14 s):
what List shows changes only when GetMemory, GetUsage (or the
memory-restart check) read the job; `jobctl list` shows figures read now."""
import json
import os

from jobdtest import JobdTestCase, run_jobctl, main

GROW = """
import sys, time
print("small", flush=True)
with open(sys.argv[1]) as f:
    f.read()
x = bytearray(60 << 20)
for i in range(0, len(x), 4096):
    x[i] = 1
print("allocated", flush=True)
time.sleep(100)
"""


class ListMemory(JobdTestCase):

    def start_grower(self, name):
        fifo = os.path.join(self.jobd.root, name + ".fifo")
        os.mkfifo(fifo)
        pid, _path = self.add_and_start(name, "/usr/bin/python3", ["-c", GROW, fifo])
        self.bus.wait_output(name, lambda ls: "small" in ls, "the job to print 'small'")
        return fifo

    def grow(self, name, fifo):
        with open(fifo, "w") as f:
            f.write("go")
        self.bus.wait_output(name, lambda ls: "allocated" in ls, "the job to allocate")

    def listed(self, name):
        return {r[0]: r for r in self.bus.list_rows()}[name][3]

    def test_list_shows_the_last_reading(self):
        fifo = self.start_grower("grow")
        # Up, never read: List says 0 rather than reading it.
        self.assertEqual(self.listed("grow"), 0)
        self.wait_memory("grow")
        small = self.bus.call("GetMemory", "grow")[0]
        self.assertGreater(small, 0)
        self.assertEqual(self.listed("grow"), small)
        self.grow("grow", fifo)
        # Nothing read it since: List still has the old figure, every time.
        for _ in range(3):
            self.assertEqual(self.listed("grow"), small)
        usage = {n: mem for n, _cpu, mem in self.bus.call("GetUsage", ["grow"])}
        self.assertGreater(usage["grow"], small + (50 << 20))
        self.assertEqual(self.listed("grow"), usage["grow"])
        big = self.bus.call("GetMemory", "grow")[0]
        self.assertEqual(self.listed("grow"), big)

    def test_list_forgets_the_reading_of_an_ended_run(self):
        self.add_and_start("sleeper", "/bin/sleep", ["100"])
        self.wait_memory("sleeper")
        self.assertGreater(self.listed("sleeper"), 0)
        self.stop_and_wait("sleeper")
        self.assertEqual(self.listed("sleeper"), 0)
        mark = self.bus.mark()
        self.bus.call("Start", "sleeper")
        details = self.bus.wait_state("sleeper", "up", since=mark)
        self.jobd.note_pid(details["main-pid"])
        self.assertEqual(self.listed("sleeper"), 0, "a new run starts unread")

    def test_jobctl_list_shows_memory_read_now(self):
        fifo = self.start_grower("grow2")
        self.wait_memory("grow2")
        small = self.listed("grow2")
        self.grow("grow2", fifo)
        self.assertEqual(self.listed("grow2"), small)
        proc = run_jobctl(["--json", "list"], address=self.jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = {r["name"]: r for r in json.loads(proc.stdout)}
        self.assertGreater(rows["grow2"]["memory"], small + (50 << 20))
        table = run_jobctl(["list", "grow2"], address=self.jobd.address)
        self.assertEqual(table.returncode, 0, table.stderr)
        memory_column = table.stdout.splitlines()[0].split().index("MEMORY")
        shown = table.stdout.splitlines()[1].split()[memory_column]
        self.assertTrue(shown.endswith("G") or (shown.endswith("M") and float(shown[:-1]) > 50),
                        table.stdout)


if __name__ == "__main__":
    main()
