# SPDX-License-Identifier: MIT
"""Output capture: the ring buffer, partial/long/binary lines, stderr,
write-log files (with the exit line), FollowOutput. Faults and attacks on
output are in test_output_faults.py."""
import os
import re
import select
import time

from jobdtest import JobdTestCase, wait_until, DEADLINE, main

LINE_MAX = 64 * 1024


class Ring(JobdTestCase):

    def run_to_end(self, name, command, args, **settings):
        self.bus.add(name, command, args, **settings)
        mark = self.bus.mark()
        self.bus.call("Start", name)
        return self.bus.wait_state(name, "down", since=mark)

    def test_ring_keeps_last_buffer_size_lines(self):
        self.run_to_end("ring", "/bin/sh", ["-c", "for i in $(seq 1 50); do echo line$i; done"],
                        buffer_size=5)
        lines = self.bus.call("ReadOutput", "ring", 0)
        texts = [l[2] for l in lines]
        # The last 5 lines (jobd's exit line is not the job's output).
        self.assertEqual(texts, ["line46", "line47", "line48", "line49", "line50"])
        self.assertTrue(all(l[1] == "stdout" for l in lines))
        times = [l[0] for l in lines]
        self.assertEqual(times, sorted(times))
        self.assertLess(abs(times[-1] / 1e6 - time.time()), 60)
        # max_lines: the newest N.
        self.assertEqual([l[2] for l in self.bus.call("ReadOutput", "ring", 2)],
                         ["line49", "line50"])

    def test_shrinking_buffer_size_applies_at_once(self):
        self.run_to_end("shrink", "/bin/sh", ["-c", "seq 1 10"], buffer_size=20)
        self.assertEqual(len(self.bus.lines("shrink")), 10)
        self.bus.call("Update", "shrink", {"buffer-size": 3})
        self.assertEqual(self.bus.lines("shrink"), ["8", "9", "10"])

    def test_partial_last_line_delivered_at_exit(self):
        self.run_to_end("partial", "/usr/bin/printf", ["first\\nno newline at end"])
        self.assertEqual(self.bus.lines("partial"), ["first", "no newline at end"])

    def test_long_line_split_in_64k_pieces(self):
        size = 200 * 1024
        script = "import sys; sys.stdout.write('x' * %d + '\\nend\\n')" % size
        self.run_to_end("long", "/usr/bin/python3", ["-c", script], buffer_size=50)
        texts = self.bus.lines("long")
        pieces = texts[:-1]
        self.assertEqual([len(p) for p in pieces], [LINE_MAX, LINE_MAX, LINE_MAX, size - 3 * LINE_MAX])
        self.assertEqual("".join(pieces), "x" * size)
        self.assertEqual(texts[-1], "end")

    def test_binary_bytes_become_valid_utf8(self):
        script = ("import sys; sys.stdout.buffer.write(b'a\\x00b\\xff\\xfec\\n"
                  "\\xc3\\xa9t\\xc3\\xa9\\n\\xe2\\x82\\n')")
        self.run_to_end("bin", "/usr/bin/python3", ["-c", script])
        texts = self.bus.lines("bin")
        self.assertEqual(texts[0][0], "a")
        self.assertNotIn("\x00", texts[0])
        self.assertIn("\ufffd", texts[0])
        self.assertTrue(texts[0].startswith("a\ufffdb\ufffd"), repr(texts[0]))
        self.assertTrue(texts[0].endswith("c"), repr(texts[0]))
        self.assertEqual(texts[1], "été")         # valid UTF-8 untouched
        self.assertIn("\ufffd", texts[2])          # truncated sequence replaced
        for t in texts:
            t.encode("utf-8")                      # valid (D-Bus would refuse otherwise)

    def test_stderr_lines_marked(self):
        self.run_to_end("err", "/bin/sh", ["-c", "echo to-out; echo to-err >&2"])
        by_text = {l[2]: l[1] for l in self.bus.call("ReadOutput", "err", 0)}
        self.assertEqual(by_text["to-out"], "stdout")
        self.assertEqual(by_text["to-err"], "stderr")

    def test_read_output_of_running_job(self):
        self.add_and_start("live", "/bin/sh", ["-c", "echo hello; exec sleep 100"])
        self.bus.wait_output("live", lambda ls: ls == ["hello"], "hello")

    def test_fast_printer_does_not_starve_jobd(self):
        # A job printing as fast as it can: jobd keeps answering and the
        # ring stays bounded.
        self.add_and_start("flood", "/usr/bin/yes", ["flood"], buffer_size=10)
        self.bus.wait_output("flood", lambda ls: len(ls) == 10, "a full ring")
        for _ in range(20):
            t0 = time.monotonic()
            self.assertEqual(self.bus.state("flood"), "up")
            self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(len(self.bus.call("ReadOutput", "flood", 0)), 10)
        self.assertLess(self.bus.call("GetServerMemory"), 500 << 20)
        self.stop_and_wait("flood")


class WriteLog(JobdTestCase):

    def test_log_files_layout_and_prefix(self):
        before = time.localtime()
        self.bus.add("logged", "/bin/sh", ["-c", "echo out-line; echo err-line >&2; exit 2"],
                     write_log=True)
        mark = self.bus.mark()
        self.bus.call("Start", "logged")
        self.bus.wait_state("logged", "down", since=mark)
        after = time.localtime()
        job_dir = os.path.join(self.jobd.log_dir, "jobs", "logged")
        candidates = {time.strftime("%Y%m%d/%Y%m%d%H", t) for t in (before, after)}

        def find(suffix):
            for c in candidates:
                path = os.path.join(job_dir, c + suffix)
                if os.path.exists(path):
                    with open(path) as f:
                        text = f.read()
                    if text:
                        return text
            return None

        out = wait_until(lambda: find(".log"), "the .log file under %s" % job_dir)
        err = wait_until(lambda: find(".error.log"), "the .error.log file")
        prefix = r"\[\d\d-\d\d-\d\d \d\d:\d\d:\d\d\] "
        self.assertRegex(out, r"(?m)^" + prefix + r"out-line$")
        self.assertNotIn("err-line", out)
        self.assertRegex(err, r"(?m)^" + prefix + r"err-line$")
        self.assertNotIn("out-line", err)
        wait_until(lambda: 'Process "logged" exit with code 2.' in (find(".log") or ""),
                   "the exit line in the log")
        day = re.search(prefix[:-1], out).group(0)[1:9]
        self.assertIn(day, {time.strftime("%y-%m-%d", t) for t in (before, after)})

    def test_no_log_without_write_log(self):
        self.bus.add("quiet", "/bin/echo", ["x"])
        mark = self.bus.mark()
        self.bus.call("Start", "quiet")
        self.bus.wait_state("quiet", "down", since=mark)
        self.assertFalse(os.path.exists(os.path.join(self.jobd.log_dir, "jobs", "quiet")))


class Follow(JobdTestCase):

    def read_lines(self, fd, count, timeout=DEADLINE):
        buf = b""
        end = time.monotonic() + timeout
        while buf.count(b"\n") < count:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError("FollowOutput gave only %r" % buf)
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
        return buf.decode().splitlines()

    def test_follow_output_delivers_new_lines(self):
        # The job prints its new lines once the trigger file appears.
        trigger = os.path.join(self.jobd.root, "go")
        script = ("echo old; while [ ! -e %s ]; do sleep 0.02; done; "
                  "echo new-out; echo new-err >&2; exec sleep 100" % trigger)
        self.add_and_start("fol", "/bin/sh", ["-c", script])
        self.bus.wait_output("fol", lambda ls: "old" in ls, "old")
        (_,), fds = self.bus.call("FollowOutput", "fol")
        fd = fds.steal_fds()[0]
        try:
            open(trigger, "w").close()
            lines = self.read_lines(fd, 2)
            parsed = [l.split("\t", 2) for l in lines]
            self.assertEqual(sorted((p[0], p[2]) for p in parsed),
                             [("stderr", "new-err"), ("stdout", "new-out")])
            for p in parsed:
                self.assertLess(abs(int(p[1]) / 1e6 - time.time()), 60)
            # Only new lines: "old" was before the follow began.
            self.assertNotIn("old", [p[2] for p in parsed])
            self.stop_and_wait("fol")
        finally:
            os.close(fd)
        # jobd is fine after the reader went away.
        self.assertEqual(self.bus.state("fol"), "down")


if __name__ == "__main__":
    main()
