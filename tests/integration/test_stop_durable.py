# SPDX-License-Identifier: MIT
"""An acknowledged Stop survives kill -9 (issue 10): the job's wanted state
is synced to the journal before the caller is answered, so the next jobd
neither restarts it by its restart policy nor restores it. Before, it was
left to the next idle save, and jobd killed right after the answer came back
up with the job running again.

Each round: 16 jobs (restart=always) are started (each Start acknowledged:
synced too), then stopped in one burst; jobd is killed -9 at the first
answer (the other Stops still queued: a busy jobd), the acknowledged jobs'
processes are waited for, jobd is started: every acknowledged job must stay
down, with no new process. A process the next jobd still finds (a zombie not
yet reaped, or one slow to exit) is taken back and stopped, not restarted.
A Stop that cannot be saved (full state disk) fails with an error that says
the job is stopping anyway."""
import os
import sys

from jobdtest import (DEADLINE, ERR, MANAGER_IFACE, MANAGER_PATH, main,
                      pid_alive, wait_until)
import test_durability
from test_durability import DurabilityCase

from gi.repository import Gio, GLib

ROUNDS = 40
JOBS = 16


class StopSurvivesKill9(DurabilityCase):
    tmpfs_size = "16m"

    def stop_all_then_kill_9(self, names):
        """Stop every job in one burst; kill -9 jobd at the first answer (the
        other Stops still queued: a busy jobd). Returns the names whose Stop
        was acknowledged."""
        conn, proc = self.bus.conn, self.jobd.proc
        acked, answered = [], []

        def on_stop(c, res, name):
            answered.append(name)
            try:
                c.call_finish(res)
            except GLib.Error:
                return
            acked.append(name)
            if proc.returncode is None and len(acked) == 1:
                proc.kill()

        for name in names:
            conn.call(None, MANAGER_PATH, MANAGER_IFACE, "Stop", GLib.Variant("(s)", (name,)),
                      None, Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None, on_stop, name)
        self.bus.pump(lambda: len(answered) == len(names), "every Stop to be answered or cut off")
        proc.wait(DEADLINE)
        for client in self.jobd.clients:
            client.close()
        self.jobd.clients = []
        self.jobd.proc = None
        return acked

    def test_acknowledged_stop_survives_kill_9(self):
        names = ["s%d" % i for i in range(JOBS)]
        for name in names:
            self.bus.add(name, "/bin/sleep", ["1000"], restart="always", restart_delay_ms=1)
        restarted, acked_total = [], 0
        for rnd in range(ROUNDS):
            pids = {}
            for name in names:
                mark = self.bus.mark()
                self.bus.call("Start", name)
                pids[name] = self.bus.wait_state(name, "up", since=mark)["main-pid"]
                self.jobd.note_pid(pids[name])
            acked = self.stop_all_then_kill_9(names)
            self.assertTrue(acked, "no Stop answered in round %d" % rnd)
            acked_total += len(acked)
            # An acknowledged Stop sent its signal first: wait for those
            # processes to be gone, so the next jobd cannot take them back.
            for name in acked:
                wait_until(lambda: not pid_alive(pids[name]), "the stopped job's process to exit")
            self.jobd.start()
            self.bus = self.jobd.connect()
            # Restore (restart policy included) is done before jobd serves. An
            # old process may be taken back (a zombie not yet reaped, or one
            # slow to exit): it must be stopped, not followed by a new one.
            for name in acked:
                seen = []

                def down():
                    rt = self.bus.runtime(name)
                    seen.append((rt["state"], rt["main-pid"]))
                    self.jobd.note_pid(rt["main-pid"])
                    return rt["state"] == "down" or rt["main-pid"] not in (0, pids[name])
                wait_until(down, "job %s to be down (or started again) after the restart" % name)
                new = [(state, p) for state, p in seen if p not in (0, pids[name])]
                if new:
                    restarted.append("round %d: %s %s" % (rnd, name, new[-1]))
            # The next round starts with every job down.
            for name in names:
                if self.bus.state(name) in ("up", "starting"):
                    self.stop_and_wait(name)
        sys.stderr.write("%d rounds of Stop then kill -9 (%d acknowledged Stops): started "
                         "again %d times\n" % (ROUNDS, acked_total, len(restarted)))
        self.assertEqual(restarted, [])


class StopOnFullDisk(DurabilityCase):
    tmpfs_size = "256k"

    def test_stop_that_cannot_be_saved_says_so(self):
        # A record longer than a page: its journal line needs a new one.
        self.bus.add("s", "/bin/sleep", ["1000", "x" * 5000], restart="always",
                     restart_delay_ms=1)
        mark = self.bus.mark()
        self.bus.call("Start", "s")
        pid = self.bus.wait_state("s", "up", since=mark)["main-pid"]
        self.jobd.note_pid(pid)
        filler = test_durability.FullDisk.fill(self)
        mark = self.bus.mark()
        name, message = self.bus.call_error("Stop", "s")
        self.assertEqual(name, ERR + "Failed", message)
        self.assertIn("is being stopped", message)
        self.assertIn("could not be saved", message)
        # It is stopping all the same, as the error says, and stays down.
        self.bus.wait_state("s", "down", since=mark)
        wait_until(lambda: not pid_alive(pid), "the job's process to exit")
        os.unlink(filler)
        self.restart_jobd()
        self.assertEqual(self.bus.state("s"), "down")


if __name__ == "__main__":
    main()
