# SPDX-License-Identifier: MIT
"""`jobctl logs` reads history beyond the ring (issue 14): from the job's log
files (write-log), across hour files; --since/--until by the times jobd
recorded; -f going on from the history into live lines without a gap or a
repeat; several jobs merged in time order with name prefixes; the reading
is jobd's (ReadLog/FollowLog), bounded per call, in worker threads, with
cursors a client cannot point outside the job's folder. The journal source
is not reachable here (no journald in these tests)."""
import os
import re
import resource
import signal
import stat
import subprocess
import threading
import time

from gi.repository import Gio, GLib

from jobdtest import (DEADLINE, JOBCTL, MANAGER_IFACE, MANAGER_PATH, JobdTestCase, PYTHON,
                      call_as_nobody, main, run_jobctl, stop_pid, wait_until)

PAGE_LINES = 5000
PAGE_BYTES = 2 * 1024 * 1024
PREFIX = "[%y-%m-%d %H:%M:%S] "


def numbers(text, prefix=""):
    return [int(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix)
            and line[len(prefix):].isdigit()]


class History(JobdTestCase):

    def read_log(self, name, conn=None, **options):
        """One ReadLog call: (lines, info)."""
        variant_options = {}
        for key, value in options.items():
            kind = {"lines": "t", "since": "x", "until": "x", "cursor": "s"}[key]
            variant_options[key] = GLib.Variant(kind, value)
        conn = conn or self.bus.conn
        reply = conn.call_sync(None, MANAGER_PATH, MANAGER_IFACE, "ReadLog",
                               GLib.Variant("(sa{sv})", (name, variant_options)), None,
                               Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
        return reply.unpack()

    def read_all(self, name, **options):
        lines, info = self.read_log(name, **options)
        pages = 1
        while "cursor" in info:
            more, info = self.read_log(name, cursor=info["cursor"])
            lines += more
            pages += 1
        return lines, pages

    def logs(self, *args):
        out = run_jobctl(["logs"] + list(args), address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def numbered_job(self, name, count, **settings):
        """A job that prints 1..count, then waits; returns when all are in."""
        settings.setdefault("buffer_size", 20)
        self.add_and_start(name, "/bin/sh", ["-c", "seq 1 %d; exec sleep 1000" % count],
                           **settings)
        self.bus.wait_output(name, lambda lines: lines and lines[-1] == str(count),
                             "line %d" % count)

    def job_dir(self, name):
        return os.path.join(self.jobd.log_dir, "jobs", name)

    def make_huge_hour_file(self, name):
        """A 1 GiB hour file of one "line" without a newline (sparse: cheap
        to make, as slow to scan as a real one), older than today's."""
        t = time.localtime(time.time() - 86400)
        path = os.path.join(self.job_dir(name), time.strftime("%Y%m%d", t),
                            time.strftime("%Y%m%d%H", t) + ".log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(1 << 30)

    # -- beyond the ring ---------------------------------------------------

    def test_lines_beyond_the_ring_come_from_the_files(self):
        self.numbered_job("many", 1000, write_log=True)
        self.assertEqual(len(self.bus.lines("many")), 20)
        self.assertEqual(numbers(self.logs("-n", "500", "many")), list(range(501, 1001)))
        self.assertEqual(numbers(self.logs("-n", "0", "many")), list(range(1, 1001)))
        self.assertEqual(numbers(self.logs("many")), list(range(991, 1001)))
        lines, _ = self.read_all("many", lines=500)
        self.assertEqual([int(t) for _u, _s, t, _x in lines], list(range(501, 1001)))

    def test_pages_are_capped_and_join_without_gap(self):
        count = 2 * PAGE_LINES + 1234
        self.numbered_job("pages", count, write_log=True)
        lines, info = self.read_log("pages")
        self.assertEqual(len(lines), PAGE_LINES)
        self.assertEqual(info["source"], "files")
        self.assertIn("cursor", info)
        lines, pages = self.read_all("pages")
        self.assertEqual(pages, 3)
        self.assertEqual([int(t) for _u, _s, t, _x in lines], list(range(1, count + 1)))

    def test_ring_is_the_source_without_log_files(self):
        self.numbered_job("ringonly", 100)
        lines, info = self.read_log("ringonly", lines=5)
        self.assertEqual(info["source"], "ring")
        self.assertEqual([t for _u, _s, t, _x in lines], ["96", "97", "98", "99", "100"])
        self.assertEqual(numbers(self.logs("-n", "0", "ringonly")), list(range(81, 101)))

    # -- older hour files, both streams, --since/--until ---------------------

    def write_hour(self, name, when, lines, error=False):
        """Lines at given Unix seconds into the hour file of `when` (local)."""
        t = time.localtime(when)
        path = os.path.join(self.job_dir(name), time.strftime("%Y%m%d", t),
                            time.strftime("%Y%m%d%H", t) + (".error.log" if error else ".log"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            for sec, text in lines:
                f.write(time.strftime(PREFIX, time.localtime(sec)) + text + "\n")

    def test_history_spans_older_hour_files_and_merges_streams(self):
        base = (int(time.time()) // 86400 - 3) * 86400 + 7200   # three days ago
        # Two days' worth of hour files, stdout and stderr, written before.
        self.write_hour("old", base, [(base + 10, "o1"), (base + 20, "o2"), (base + 40, "o4")])
        self.write_hour("old", base, [(base + 30, "e3"), (base + 50, "e5")], error=True)
        self.write_hour("old", base + 3600, [(base + 3600 + 5, "o6")])
        self.write_hour("old", base + 86400, [(base + 86400, "o7")], error=False)
        self.write_hour("old", base + 86400, [(base + 86400 + 1, "e8")], error=True)
        self.add_and_start("old", "/bin/sh", ["-c", "echo now9; exec sleep 1000"],
                           write_log=True, buffer_size=2)
        self.bus.wait_output("old", lambda lines: "now9" in lines, "now9")
        out = self.logs("-n", "0", "old")
        self.assertEqual(out.split(), ["o1", "o2", "e3", "o4", "e5", "o6", "o7", "e8", "now9"])
        out = self.logs("-n", "4", "old")
        self.assertEqual(out.split(), ["o6", "o7", "e8", "now9"])
        # --since/--until: inclusive, by the times in the files.
        out = self.logs("--since", "@%d" % (base + 20), "--until", "@%d" % (base + 3605), "old")
        self.assertEqual(out.split(), ["o2", "e3", "o4", "e5", "o6"])
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(base + 86400))
        out = self.logs("--since", local, "old")
        self.assertEqual(out.split(), ["o7", "e8", "now9"])
        out = self.logs("--since", "-1h", "old")
        self.assertEqual(out.split(), ["now9"])
        out = self.logs("--until", "yesterday", "-n", "2", "old")
        self.assertEqual(out.split(), ["o7", "e8"])
        out = self.logs("--timestamps", "-n", "1", "--until", "@%d" % (base + 30), "old")
        self.assertRegex(out, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000 stderr +e3\n$")

    def test_since_until_use_the_times_jobd_recorded(self):
        # Numbered lines over about three seconds; jobd's file times decide.
        script = ("import sys, time\n"
                  "end = time.time() + 2.5\n"
                  "i = 0\n"
                  "while time.time() < end:\n"
                  "    i += 1; print(i, flush=True); time.sleep(0.01)\n"
                  "print('done', flush=True)\n"
                  "time.sleep(1000)\n")
        self.add_and_start("timed", "/usr/bin/python3", ["-c", script], write_log=True,
                           buffer_size=20)
        self.bus.wait_output("timed", lambda lines: "done" in lines, "done", timeout=DEADLINE)
        lines, _ = self.read_all("timed")
        stamped = [(u // 1000000, int(t)) for u, _s, t, _x in lines if t.isdigit()]
        seconds = sorted({s for s, _n in stamped})
        self.assertGreaterEqual(len(seconds), 2, stamped)
        cut = seconds[1]
        since = numbers(self.logs("--since", "@%d" % cut, "timed"))
        self.assertEqual(since, [n for s, n in stamped if s >= cut])
        until = numbers(self.logs("--until", "@%d" % cut, "timed"))
        self.assertEqual(until, [n for s, n in stamped if s <= cut])

    # -- -f: history, then live, nothing lost or doubled ------------------------

    def follow_once(self, name, lines, want):
        """`logs -f -n LINES NAME` until `want` lines came: the numbers."""
        proc = subprocess.Popen([JOBCTL, "logs", "-f", "-n", str(lines), name],
                                env=dict(os.environ, JOBD_ADDRESS=self.jobd.address, LC_ALL="C"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = []
        try:
            deadline = time.monotonic() + DEADLINE
            while len(got) < want and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                got.append(int(line))
        finally:
            proc.stdout.close()   # jobctl may be blocked writing to it
            stop_pid(proc, DEADLINE)
            err = proc.stderr.read()
            proc.stderr.close()
        self.assertEqual(len(got), want, "only %d lines: %s" % (len(got), err))
        return got

    def assert_consecutive(self, got, attempt):
        bad = [(a, b) for a, b in zip(got, got[1:]) if b != a + 1]
        self.assertFalse(bad, "round %d: gap or repeat at %s" % (attempt, bad[:5]))

    def follow_is_seamless(self, name, rounds):
        # The switch from history to live lines, many times, while the job
        # writes about 20 000 lines a second: a history whose end is taken
        # apart from the follower's start shows a gap or a repeat here.
        for attempt in range(rounds):
            got = self.follow_once(name, 100, 1500)
            self.assert_consecutive(got, attempt)

    def fast_counter(self, name, **settings):
        script = ("import sys, time\n"
                  "i = 0\n"
                  "while i < 50000000:\n"
                  "    sys.stdout.write(''.join('%d\\n' % (i + k) for k in range(1, 101)))\n"
                  "    sys.stdout.flush(); i += 100; time.sleep(0.005)\n")
        self.add_and_start(name, "/usr/bin/python3", ["-c", script], buffer_size=20,
                           **settings)
        self.bus.wait_output(name, lambda lines: len(lines) >= 20, "output")

    def test_follow_goes_on_from_the_files_without_gap_or_repeat(self):
        self.fast_counter("fast", write_log=True)
        # All of the history (from the files: the ring has 20), then live.
        got = self.follow_once("fast", 0, 3000)
        self.assertEqual(got[0], 1, "the history did not start at 1")
        self.assert_consecutive(got, 0)
        self.follow_is_seamless("fast", rounds=25)

    def test_follow_goes_on_from_the_ring_without_gap_or_repeat(self):
        # Without log files the history is the ring.
        self.fast_counter("fastring")
        self.follow_is_seamless("fastring", rounds=25)

    # -- several jobs -----------------------------------------------------------

    def test_merged_view_in_time_order_with_prefixes(self):
        order = [("alpha", "a-first"), ("beta", "b-second"), ("alpha", "a-third"),
                 ("gamma", "g-fourth")]
        for name in ("alpha", "beta", "gamma"):
            self.bus.add(name, "/bin/sh", ["-c", 'echo "$MSG"'], buffer_size=10)
        for name, text in order:
            mark = self.bus.mark()
            self.bus.call("Update", name, {"environment": {"MSG": text}})
            self.bus.call("Start", name)
            self.bus.wait_state(name, "down", since=mark)
            self.bus.wait_output(name, lambda lines, t=text: t in lines, text)
        want = ["alpha | a-first", "beta  | b-second", "alpha | a-third", "gamma | g-fourth"]
        self.assertEqual(self.logs().splitlines(), want)
        self.assertEqual(self.logs("-n", "2").splitlines(), want[2:])
        self.assertEqual(self.logs("al*", "beta").splitlines(), want[:3])
        self.assertEqual(self.logs("alpha").splitlines(), ["a-first", "a-third"])
        out = run_jobctl(["logs", "alpha", "nosuchjob"], address=self.jobd.address)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual([re.sub(r" +\|", " |", line) for line in out.stdout.splitlines()],
                         ["alpha | a-first", "alpha | a-third"])

    # -- access -----------------------------------------------------------------

    def test_reading_rule_is_output_reading_and_cursors_stay_in_the_job(self):
        self.numbered_job("rootjob", 50, write_log=True)
        self.numbered_job("otherjob", 30, write_log=True)
        # Same rule as ReadOutput (reading is open, DESIGN.md), asked as nobody.
        ring = call_as_nobody(self.jobd.address, "ReadOutput", "('rootjob', uint32 0)")
        hist = call_as_nobody(self.jobd.address, "ReadLog", "('rootjob', {'lines': <uint64 3>})")
        self.assertEqual(ring["ok"], hist["ok"], (ring, hist))
        self.assertEqual([line[2] for line in hist["value"][0]], ["48", "49", "50"])
        out = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              JOBCTL, "logs", "-n", "2", "rootjob"],
                             env=dict(os.environ, JOBD_ADDRESS=self.jobd.address),
                             capture_output=True, text=True, timeout=DEADLINE, cwd="/")
        self.assertEqual((out.returncode, out.stdout), (0, "49\n50\n"), out.stderr)
        # The files are root's: nobody cannot open them itself.
        day = os.listdir(self.job_dir("rootjob"))[0]
        os.chmod(self.job_dir("rootjob"), 0o700)
        out = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              "cat", os.path.join(self.job_dir("rootjob"), day)],
                             capture_output=True, timeout=DEADLINE)
        self.assertNotEqual(out.returncode, 0)
        # A forged cursor names hour keys only: no path, no other job.
        for forged in ("files:../otherjob:0:::0::0::0", "files:2026010100:0:/etc:0::0::0",
                       "files:x", "ring:5:1", "journal:1:2:", "nonsense"):
            reply = call_as_nobody(self.jobd.address, "ReadLog",
                                   "('rootjob', {'cursor': <%r>})" % forged)
            self.assertFalse(reply["ok"], forged)
            self.assertEqual(reply["error"], "org.jobd1.Error.InvalidArgs", reply)
        # Unknown options are refused rather than ignored.
        reply = call_as_nobody(self.jobd.address, "ReadLog", "('rootjob', {'linez': <1>})")
        self.assertEqual(reply["error"], "org.jobd1.Error.InvalidArgs", reply)

    # -- bounds -------------------------------------------------------------------

    def test_reads_in_flight_are_bounded_per_user(self):
        # Reads queue for two worker threads: one user's pile of calls must
        # not make everyone else's wait. The oldest hour "file" is a FIFO
        # with no writer: a read blocks in open() on it, so every accepted
        # call stays in flight until the test lets it go.
        self.numbered_job("slow", 10, write_log=True)
        t = time.localtime(time.time() - 86400)
        path = os.path.join(self.job_dir("slow"), time.strftime("%Y%m%d", t),
                            time.strftime("%Y%m%d%H", t) + ".log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.mkfifo(path)

        def let_go():
            # A writer that comes and goes: the blocked open()s return and
            # their reads see EOF; later reads find a plain file.
            if not os.path.exists(path) or not stat.S_ISFIFO(os.stat(path).st_mode):
                return
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
            os.unlink(path)
            open(path, "w").close()
            os.close(fd)
        self.addCleanup(let_go)
        script = (
            "import sys\n"
            "from gi.repository import Gio, GLib\n"
            "conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1], "
            "Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)\n"
            "loop = GLib.MainLoop(); answers = []\n"
            "def done(c, res, _d):\n"
            "    try:\n"
            "        c.call_finish(res); answers.append('ok')\n"
            "    except GLib.Error as e:\n"
            "        answers.append(Gio.DBusError.get_remote_error(e) or e.message)\n"
            "    print(answers[-1], flush=True)\n"
            "    if len(answers) == 40: loop.quit()\n"
            "for _ in range(40):\n"
            "    conn.call(None, '/org/jobd1', 'org.jobd1.Manager', 'ReadLog', "
            "GLib.Variant('(sa{sv})', ('slow', {'since': GLib.Variant('x', 0)})), None, "
            "Gio.DBusCallFlags.NONE, 60000, None, done, None)\n"
            "loop.run()\n")
        client = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                   "--clear-groups", PYTHON, "-c", script, self.jobd.address],
                                  stdout=subprocess.PIPE, text=True, cwd="/")
        self.addCleanup(lambda: client.poll() is None and client.kill())
        # 8 in flight (blocked), the other 32 refused at once.
        answers = [client.stdout.readline().strip() for _ in range(32)]
        self.assertEqual(answers, ["org.jobd1.Error.Busy"] * 32)
        let_go()
        rest = client.communicate(timeout=DEADLINE * 2)[0].split()
        self.assertEqual(rest, ["ok"] * 8)
        # Once answered, the user's budget is back.
        reply = call_as_nobody(self.jobd.address, "ReadLog", "('slow', {'lines': <uint64 3>})")
        self.assertTrue(reply["ok"], reply)

    def jobd_rss_kib(self):
        with open("/proc/%d/status" % self.jobd.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def test_huge_file_is_read_in_bounded_pages_off_the_main_loop(self):
        self.numbered_job("huge", 10, write_log=True)
        self.make_huge_hour_file("huge")
        rss_before = self.jobd_rss_kib()
        results = {}

        def reader(key, **options):
            conn = Gio.DBusConnection.new_for_address_sync(
                self.jobd.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
            started = time.monotonic()
            results[key] = (self.read_log("huge", conn=conn, **options), time.monotonic() - started)
            conn.close_sync(None)

        threads = [threading.Thread(target=reader, args=("all",)),
                   threading.Thread(target=reader, args=("tail",), kwargs={"lines": 5}),
                   threading.Thread(target=reader, args=("old",), kwargs={"until": int(time.time() - 3600) * 1000000})]
        for th in threads:
            th.start()
        # jobd answers meanwhile.
        worst = 0.0
        while any(th.is_alive() for th in threads):
            started = time.monotonic()
            self.bus.call("Status", "huge")
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.01)
        for th in threads:
            th.join(DEADLINE)
        self.assertLess(worst, 0.5, "Status waited %.3fs while the history was read" % worst)
        (lines, info), _took = results["all"]
        text_bytes = sum(len(t.encode()) for _u, _s, t, _x in lines)
        self.assertLessEqual(text_bytes, PAGE_BYTES)
        self.assertLessEqual(len(lines), PAGE_LINES)
        self.assertIn("cursor", info)
        (lines, info), _took = results["tail"]
        self.assertEqual([t for _u, _s, t, _x in lines], ["6", "7", "8", "9", "10"])
        (lines, info), _took = results["old"]
        self.assertIn("cursor", info)
        growth = self.jobd_rss_kib() - rss_before
        self.assertLess(growth, 64 * 1024, "jobd grew by %d KiB" % growth)
        print("huge file: Status worst %.1f ms, jobd RSS +%d KiB" % (worst * 1000, growth))


if __name__ == "__main__":
    main()
