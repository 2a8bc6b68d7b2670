# SPDX-License-Identifier: MIT
"""List answers in columns (issue 16: one (ssuttuo) row per job cost GDBus a
walk of every field on both sides; arrays of numbers go in one piece):
names, states, main PIDs, memory, started-at, restarts. The i-th entry of
every column must be the same job's: each column is checked against what
Status, StatusAll, GetRuntime and GetMemory say of each job, with running
jobs whose PIDs, start times and restart counts all differ, so a column
filled from the wrong field, in another order or shifted by one fails."""
import json
import os
import signal

from jobdtest import JobdTestCase, job_path, run_jobctl, main


class ListColumns(JobdTestCase):

    def kill_and_wait_up(self, name, pid):
        """SIGKILL the job's main process; restart=always brings it back
        with a new PID and one restart more."""
        mark = self.bus.mark()
        os.kill(pid, signal.SIGKILL)
        pid = self.bus.wait_state(name, "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        return pid

    def setUp(self):
        super().setUp()
        # Names longer than the columns' 1-byte framing offsets can address
        # (> 255 bytes of names), so offsets of 2 bytes travel too.
        for i in range(12):
            self.bus.add("idle-%02d-%s" % (i, "x" * 40), "/bin/true")
        self.bus.add("a-never-started", "/bin/true")
        self.add_and_start("b-up", "/bin/sleep", ["100"])
        pid, _ = self.add_and_start("c-restarted-once", "/bin/sleep", ["100"], restart="always")
        self.kill_and_wait_up("c-restarted-once", pid)
        pid, _ = self.add_and_start("d-restarted-twice", "/bin/sleep", ["100"], restart="always")
        pid = self.kill_and_wait_up("d-restarted-twice", pid)
        self.kill_and_wait_up("d-restarted-twice", pid)
        self.bus.add("e-exited", "/bin/sh", ["-c", "exit 3"])
        mark = self.bus.mark()
        self.bus.call("Start", "e-exited")
        self.bus.wait_state("e-exited", "down", since=mark, old_state="up")
        # Memory as last read: read it now for two of the running jobs.
        self.wait_memory("b-up")
        self.wait_memory("d-restarted-twice")

    def test_every_column_matches_the_job(self):
        names, states, pids, memory, started_at, restarts = self.bus.call("List")
        self.assertEqual(len({len(names), len(states), len(pids), len(memory),
                              len(started_at), len(restarts)}), 1)
        self.assertEqual(names, sorted(names))
        self.assertEqual(dict(zip(names, states)), self.bus.call("StatusAll"))
        running = 0
        for i, name in enumerate(names):
            rt = self.bus.runtime(name)
            self.assertEqual(states[i], self.bus.call("Status", name), name)
            self.assertEqual((states[i], pids[i], started_at[i], restarts[i]),
                             (rt["state"], rt["main-pid"], rt["started-at"], rt["restarts"]),
                             name)
            if pids[i] != 0:
                running += 1
                self.assertGreater(started_at[i], 0, name)
                # GetMemory reads now and records what it read: the column
                # had the reading before (which may have moved since).
                self.assertEqual(memory[i] > 0, name in ("b-up", "d-restarted-twice"), name)
            else:
                self.assertEqual((memory[i], started_at[i]), (0, 0), name)
        self.assertEqual(running, 3)
        by_name = {n: (s, p, r) for n, s, p, r in zip(names, states, pids, restarts)}
        self.assertEqual([by_name[n][2] for n in ("b-up", "c-restarted-once",
                                                  "d-restarted-twice")], [0, 1, 2])
        self.assertEqual(by_name["a-never-started"], ("down", 0, 0))
        self.assertEqual(by_name["e-exited"], ("down", 0, 0))
        # All PIDs and start times of the running jobs differ, so none can
        # pass for another job's.
        up = [i for i in range(len(names)) if pids[i]]
        self.assertEqual(len({pids[i] for i in up}), 3)
        self.assertEqual(len({started_at[i] for i in up}), 3)

    def test_memory_column_is_the_last_reading(self):
        names, _states, _pids, memory, _started, _restarts = self.bus.call("List")
        read = self.bus.call("GetMemory", "d-restarted-twice")[0]
        names, _states, _pids, memory, _started, _restarts = self.bus.call("List")
        self.assertEqual(memory[names.index("d-restarted-twice")], read)

    def test_jobctl_list_json_rows(self):
        """jobctl rebuilds one row per job from the columns, with the
        object path List no longer carries: the same as GetJob's."""
        proc = run_jobctl(["--json", "list"], address=self.jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = json.loads(proc.stdout)
        names, states, pids, _memory, started_at, restarts = self.bus.call("List")
        self.assertEqual([r["name"] for r in rows], names)
        for row, state, pid, started, count in zip(rows, states, pids, started_at, restarts):
            self.assertEqual((row["state"], row["pid"], row["started-at"], row["restarts"]),
                             (state, pid, started, count), row["name"])
            self.assertEqual(row["object"], self.bus.call("GetJob", row["name"]), row["name"])
            self.assertEqual(row["object"], job_path(row["name"]))


if __name__ == "__main__":
    main()
