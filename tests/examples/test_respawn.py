# SPDX-License-Identifier: MIT
"""examples/respawn: a worker that keeps dying, restarted with a growing
delay until the start limit marks it failed; the history shows every run."""
from examplecase import ExampleCase
from jobdtest import main
import jobdtest

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")


class Respawn(ExampleCase):
    example = "respawn"

    def test_backoff_grows_until_the_start_limit(self):
        self.sh("jobctl apply flaky.job")
        mark = self.bus.mark()
        self.sh("jobctl start flaky")
        failed = self.bus.wait_state("flaky", "failed", since=mark, timeout=30)
        self.assertEqual(failed["reason"], "start-limit", failed)

        delays = [d.get("delay-ms") for _old, new, d in self.bus.transitions("flaky", mark)
                  if new == "starting" and "delay-ms" in d]
        self.assertEqual(delays, [200, 400, 800, 1600])

        status = self.sh("jobctl status flaky", check=False)
        self.assertEqual((status.returncode, status.stdout.strip()), (3, "failed"))

        runs = self.history("flaky")
        self.assertEqual(len(runs), 5, runs)
        self.assertEqual(sorted(r["reason"] for r in runs), ["manual"] + ["policy"] * 4)
        for r in runs:
            self.assertEqual((r["result"], r["exit-code"]), ("exit-code", 1), r)
        shown = self.sh("jobctl history flaky").stdout
        self.assertEqual(shown.count("exit 1"), 5, shown)
        self.assertIn("lost the connection", self.sh("jobctl logs flaky").stdout)

        # Started again by hand: a clean slate, the backoff from its start.
        mark = self.bus.mark()
        self.sh("jobctl start flaky")
        self.bus.wait_state("flaky", "up", since=mark)
        _path, again = self.bus.wait_event(
            "JobStateChanged", lambda _p, e: e[0] == "flaky" and e[2] == "starting" and
            "delay-ms" in e[3], since=mark)
        self.assertEqual(again[3]["delay-ms"], 200, again)


if __name__ == "__main__":
    main()
