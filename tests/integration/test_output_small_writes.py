# SPDX-License-Identifier: MIT
"""A job writing one line per write() as fast as it can (PHP's echo,
line-buffered stdio): jobd reads such a flood in pauses (issue 16), and
still every line arrives once, in order, in the ring and the log file,
including the lines still in the pipe when the job exits."""
import glob
import os

from jobdtest import JobdTestCase, main

LINES = 100000
WRITER = """
import os, sys
n = int(sys.argv[1])
for i in range(1, n + 1):
    os.write(1, b"%d\\n" % i)
"""


class SmallWrites(JobdTestCase):

    def numbers_in_log(self, name):
        numbers = []
        for path in sorted(glob.glob(os.path.join(self.jobd.log_dir, "jobs", name, "*", "*.log"))):
            if path.endswith(".error.log"):
                continue
            with open(path) as f:
                texts = [line.rstrip("\n").split("] ", 1)[1] for line in f]
            # (jobd's own exit line is there too)
            numbers += [int(t) for t in texts if t.isdigit()]
        return numbers

    def test_every_line_once_in_order(self):
        for run in range(3):
            name = "small-%d" % run
            self.bus.add(name, "/usr/bin/python3", ["-c", WRITER, str(LINES)],
                         write_log=True, buffer_size=1000)
            mark = self.bus.mark()
            self.bus.call("Start", name)
            self.bus.wait_state(name, "down", since=mark)
            self.assertEqual([int(t) for _t, _s, t in self.bus.call("ReadOutput", name, 0)],
                             list(range(LINES - 999, LINES + 1)))
            self.assertEqual(self.numbers_in_log(name), list(range(1, LINES + 1)))


if __name__ == "__main__":
    main()
