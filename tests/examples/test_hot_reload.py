# SPDX-License-Identifier: MIT
"""examples/hot-reload: a PHP app on the built-in server, restarted once
when a watched .php file changes and not when another file does."""
from examplecase import ExampleCase
from jobdharness import free_port
from jobdtest import main
import jobdtest

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")

# WatchDebounce=500ms in app.job: a window this long after a change shows
# whether a (second) restart follows.
QUIET = 2.0


class HotReload(ExampleCase):
    example = "hot-reload"

    def setUp(self):
        super().setUp()
        self.port = str(free_port())
        self.copy_example(replace={"8080": self.port})
        self.sub = {"8080": self.port}

    def restarts(self, since):
        return [d for _o, new, d in self.bus.transitions("app", since)
                if new == "stopping" and d.get("reason") == "file-change"]

    def get(self):
        return self.sh("curl -s http://127.0.0.1:8080/", replace=self.sub).stdout.strip()

    def test_a_php_edit_restarts_once_and_the_new_code_answers(self):
        self.sh("jobctl apply app.job")
        mark = self.bus.mark()
        self.sh("jobctl start app")
        self.jobd.note_pid(self.bus.wait_state("app", "up", since=mark)["main-pid"])
        self.assertEqual(self.get(), "hello from version 1")

        mark = self.bus.mark()
        self.sh("sed -i 's/version 1/version 2/' src/greeting.php")
        self.bus.wait_state("app", "stopping", since=mark)
        up = self.bus.wait_state("app", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.assertEqual(self.get(), "hello from version 2")
        self.bus.settle(QUIET)
        self.assertEqual(len(self.restarts(mark)), 1, self.bus.transitions("app", mark))
        run = self.history("app")[0]
        self.assertEqual(run["reason"], "file-change", run)
        self.assertTrue(run["trigger"].endswith("src/greeting.php"), run)
        self.assertIn("file-change", self.sh("jobctl history app").stdout)

        # Not *.php: nothing happens...
        mark = self.bus.mark()
        self.sh("echo more >> src/notes.txt")
        self.bus.settle(QUIET)
        self.assertEqual(self.restarts(mark), [])
        # ...while a .php edit still does (the watch is alive): the control
        # that makes the quiet window above mean something.
        with open(self.folder + "/public/index.php", "a") as f:
            f.write("\n")
        self.bus.wait_state("app", "up", since=self.bus.wait_state(
            "app", "stopping", since=mark)["_index"])
        self.sh("jobctl stop app")


if __name__ == "__main__":
    main()
