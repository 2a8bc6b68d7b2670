# SPDX-License-Identifier: MIT
"""Restart on file change (issue 13): watch, watch-glob, watch-exclude,
watch-action, watch-debounce-ms. A change restarts the job once after the
debounce (reason file-change, trigger the first changed path); a burst of
1 000 files restarts once; new subdirectories are watched; excludes and
the built-in ones (.git) do not count; reload sends the reload signal;
bad paths are refused; running out of inotify watches is a clear error;
an unprivileged owner learns nothing about folders they cannot read.

"No restart" is shown by waiting past the debounce with a deadline, and
then a positive control (a change that does count) restarting the job."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from jobdtest import (JobdTestCase, Jobd, DEADLINE, run_jobctl, wait_until, main, JOBD)
import jobdtest

jobdtest.SIGNATURES.setdefault("GetHistory", "(su)")
for _key, _type in (("watch", "as"), ("watch-glob", "as"), ("watch-exclude", "as"),
                    ("watch-action", "s"), ("watch-debounce-ms", "u")):
    jobdtest.SETTING_TYPES.setdefault(_key, _type)

PHP = shutil.which("php")
DEBOUNCE_MS = 200
QUIET = 1.2   # seconds: well past the debounce (a restart would have begun)

# A long-running program; prints its pid so each run can be told apart.
PHP_APP = "<?php\necho \"app \", getmypid(), \"\\n\";\nwhile (true) { sleep(1); }\n"
SH_APP = 'echo "app $$"; trap "exit 0" TERM; while :; do sleep 0.1; done'


def write(path, text="x\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class WatchCase(JobdTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="watched-", dir=self.jobd.root)
        os.chmod(self.dir, 0o755)

    def add_app(self, name, watch=None, php=True, **settings):
        """A job running an app in self.dir that watches it (a PHP script
        when php-cli is installed, else a shell loop)."""
        s = {"watch": [self.dir] if watch is None else watch,
             "watch-debounce-ms": DEBOUNCE_MS, "stop-timeout-ms": 3000,
             "start-limit-burst": 100}
        if php and PHP:
            write(os.path.join(self.dir, "app.php"), PHP_APP)
            s.update({"command": PHP, "args": [os.path.join(self.dir, "app.php")]})
        else:
            s.update({"command": "/bin/sh", "args": ["-c", SH_APP]})
        s.update(settings)
        self.bus.call("Add", name, s)

    def start(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        up = self.bus.wait_state(name, "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        # The watch is in place once the job is up: wait for the app's own
        # line, so the first change below is not made before it runs.
        self.bus.wait_output(name, lambda lines: any(l.startswith("app ") for l in lines),
                             "the app's first line")
        return up

    def wait_restart(self, name, since):
        """The next file-change restart: its "starting" details (up again)."""
        starting = self.bus.wait_state(name, "starting", since=since)
        self.assertEqual(starting["reason"], "file-change", starting)
        up = self.bus.wait_state(name, "up", since=starting["_index"])
        self.jobd.note_pid(up["main-pid"])
        return starting

    def file_change_restarts(self, name, since=0):
        return [d for _o, new, d in self.bus.transitions(name, since=since)
                if new == "starting" and d.get("reason") == "file-change"]

    def assert_no_restart(self, name, since):
        """Nothing happened to name since the mark, for QUIET seconds."""
        self.bus.settle(QUIET)
        self.assertEqual(self.bus.transitions(name, since=since), [],
                         "the job changed state although no change counted")


class Restart(WatchCase):

    def test_php_change_restarts_once_and_txt_does_not(self):
        self.add_app("web", **{"watch-glob": ["*.php"]})
        self.start("web")

        mark = self.bus.mark()
        write(os.path.join(self.dir, "notes.txt"))
        self.assert_no_restart("web", mark)

        changed = os.path.join(self.dir, "lib.php")
        write(changed, "<?php\n")
        starting = self.wait_restart("web", mark)
        self.assertEqual(starting["trigger"], changed)
        after = self.bus.mark()
        self.assert_no_restart("web", after)
        self.assertEqual(len(self.file_change_restarts("web", mark)), 1)

        rt = self.bus.runtime("web")
        self.assertEqual(rt["restarts"], 1)
        self.assertEqual(rt["last-restart-reason"], "file-change")
        newest = self.bus.call("GetHistory", "web", 2)
        self.assertEqual(newest[0]["reason"], "file-change")
        self.assertEqual(newest[0]["trigger"], changed)
        self.assertEqual(newest[1]["stop-cause"] if "stop-cause" in newest[1]
                         else "file-change", "file-change")

        # jobctl history shows it too.
        out = run_jobctl(["history", "web"], address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("file-change", out.stdout)

    def test_new_subdirectory_is_watched(self):
        self.add_app("sub", **{"watch-glob": ["*.php"]})
        self.start("sub")

        # A folder tree moved in, files and all: its files come without
        # events of their own; the scan of the new folder finds them.
        outside = tempfile.mkdtemp(prefix="outside-", dir=self.jobd.root)
        write(os.path.join(outside, "new", "deeper", "a.php"))
        mark = self.bus.mark()
        os.rename(os.path.join(outside, "new"), os.path.join(self.dir, "new"))
        deep = os.path.join(self.dir, "new", "deeper")
        starting = self.wait_restart("sub", mark)
        self.assertEqual(starting["trigger"], os.path.join(deep, "a.php"))

        # Later changes there come through the folder's own watch.
        mark = self.bus.mark()
        write(os.path.join(deep, "b.php"))
        starting = self.wait_restart("sub", mark)
        self.assertEqual(starting["trigger"], os.path.join(deep, "b.php"))

        # A folder made and filled at once (before or after jobd watches
        # it, either way it counts).
        mark = self.bus.mark()
        made = os.path.join(self.dir, "made", "here")
        os.makedirs(made)
        write(os.path.join(made, "c.php"))
        self.assertEqual(self.wait_restart("sub", mark)["trigger"],
                         os.path.join(made, "c.php"))

    def test_burst_of_1000_files_restarts_once(self):
        self.add_app("burst")
        self.start("burst")

        # 1 000 files in 10 folders, written in 10 batches 100 ms apart:
        # the burst lasts about 1 s, five times the debounce.
        mark = self.bus.mark()
        began = time.monotonic()
        for batch in range(10):
            folder = os.path.join(self.dir, "src", "m%d" % batch)
            os.makedirs(folder, exist_ok=True)
            for i in range(100):
                write(os.path.join(folder, "f%d.php" % i))
            time.sleep(0.1)
        burst = time.monotonic() - began
        self.assertGreater(burst, DEBOUNCE_MS / 1000 * 2)
        self.wait_restart("burst", mark)
        settled = self.bus.mark()
        self.assert_no_restart("burst", settled)
        self.assertEqual(len(self.file_change_restarts("burst", mark)), 1)
        self.assertEqual(self.bus.runtime("burst")["restarts"], 1)

        # Touching them all (attributes only) is one more restart.
        mark = self.bus.mark()
        now = time.time()
        for root, _dirs, files in os.walk(os.path.join(self.dir, "src")):
            for f in files:
                os.utime(os.path.join(root, f), (now, now))
        self.wait_restart("burst", mark)
        self.assert_no_restart("burst", self.bus.mark())
        self.assertEqual(len(self.file_change_restarts("burst", mark)), 1)

    def test_changes_while_restarting_do_not_restart_again(self):
        # The app takes 0.5 s to stop: changes during the stop are read by
        # the next run anyway. The debounce (1 s) is longer than the stop,
        # so a change counted then would restart the next run again.
        slow = 'echo "app $$"; trap "sleep 0.5; exit 0" TERM; while :; do sleep 0.1; done'
        self.bus.call("Add", "slow", {
            "command": "/bin/sh", "args": ["-c", slow], "watch": [self.dir],
            "watch-debounce-ms": 1000, "stop-timeout-ms": 5000})
        self.start("slow")
        mark = self.bus.mark()
        write(os.path.join(self.dir, "one"))
        stopping = self.bus.wait_state("slow", "stopping", since=mark)
        self.assertEqual(stopping["reason"], "file-change")
        write(os.path.join(self.dir, "two"))
        self.wait_restart("slow", mark)
        self.assert_no_restart("slow", self.bus.mark())
        self.assertEqual(len(self.file_change_restarts("slow", mark)), 1)

    def test_excludes_and_builtin_excludes_do_not_count(self):
        self.add_app("ex", **{"watch-exclude": ["cache", "*.log"]})
        self.start("ex")
        mark = self.bus.mark()
        write(os.path.join(self.dir, "cache", "compiled.php"))
        write(os.path.join(self.dir, "app.log"))
        write(os.path.join(self.dir, ".git", "index"))
        write(os.path.join(self.dir, ".app.php.swp"))
        self.assert_no_restart("ex", mark)

        control = os.path.join(self.dir, "routes.php")
        write(control)
        self.assertEqual(self.wait_restart("ex", mark)["trigger"], control)

    def test_reload_action_sends_the_reload_signal(self):
        script = ('echo "app $$"; trap "echo reloaded" HUP; trap "exit 0" TERM; '
                  'while :; do sleep 0.1; done')
        self.bus.call("Add", "rl", {
            "command": "/bin/sh", "args": ["-c", script], "watch": [self.dir],
            "watch-action": "reload", "watch-debounce-ms": DEBOUNCE_MS})
        self.start("rl")
        mark = self.bus.mark()
        for i in range(20):
            write(os.path.join(self.dir, "conf%d.ini" % i))
        self.bus.wait_output("rl", lambda lines: "reloaded" in lines, "the reload signal")
        self.bus.settle(QUIET)
        self.assertEqual(self.bus.lines("rl").count("reloaded"), 1)
        self.assertEqual(self.bus.transitions("rl", since=mark), [])
        self.assertEqual(self.bus.runtime("rl")["restarts"], 0)

    def test_relative_path_is_relative_to_the_working_directory(self):
        os.makedirs(os.path.join(self.dir, "src"))
        self.add_app("rel", watch=["src"], php=False, **{"working-directory": self.dir})
        self.start("rel")
        mark = self.bus.mark()
        changed = os.path.join(self.dir, "src", "a.php")
        write(changed)
        self.assertEqual(self.wait_restart("rel", mark)["trigger"], changed)

    def test_watched_folder_removed_and_made_again(self):
        self.add_app("gone", php=False)
        self.start("gone")
        mark = self.bus.mark()
        shutil.rmtree(self.dir)
        self.assertEqual(self.wait_restart("gone", mark)["trigger"], self.dir)
        # Made again: watched again.
        mark = self.bus.mark()
        os.makedirs(self.dir)
        write(os.path.join(self.dir, "back.php"))
        self.wait_restart("gone", mark)
        mark = self.bus.mark()
        changed = os.path.join(self.dir, "again.php")
        write(changed)
        self.assertEqual(self.wait_restart("gone", mark)["trigger"], changed)

    def test_symlink_loop_is_not_followed(self):
        os.makedirs(os.path.join(self.dir, "a", "b"))
        os.symlink(self.dir, os.path.join(self.dir, "a", "b", "loop"))
        os.symlink("../..", os.path.join(self.dir, "a", "up"))
        self.add_app("loop", php=False)
        self.start("loop")
        mark = self.bus.mark()
        changed = os.path.join(self.dir, "a", "b", "x.php")
        write(changed)
        self.assertEqual(self.wait_restart("loop", mark)["trigger"], changed)
        self.assert_no_restart("loop", self.bus.mark())

    def test_queue_overflow_is_one_change(self):
        self.add_app("flood", php=False, **{"watch-glob": ["*.php"]})
        self.start("flood")
        files = [os.path.join(self.dir, "f%d.txt" % i) for i in range(2)]
        for f in files:
            write(f)
        mark = self.bus.mark()
        self.assert_no_restart("flood", mark)
        # jobd frozen (our own process, by its PID): the kernel's queue
        # (fs.inotify.max_queued_events, 16384) overflows. Only .txt
        # files change, so a restart can only come from the overflow.
        with open("/proc/sys/fs/inotify/max_queued_events") as f:
            queue = int(f.read())
        self.assertLessEqual(queue, 100000, "the queue is too long to overflow here")
        os.kill(self.jobd.proc.pid, signal.SIGSTOP)
        try:
            now = time.time()
            for i in range(queue + 1000):
                os.utime(files[i % 2], (now, now))
        finally:
            os.kill(self.jobd.proc.pid, signal.SIGCONT)
        starting = self.wait_restart("flood", mark)
        self.assertEqual(starting["trigger"], self.dir)
        self.assert_no_restart("flood", self.bus.mark())
        self.assertEqual(len(self.file_change_restarts("flood", mark)), 1)
        # Still watching afterwards.
        mark = self.bus.mark()
        write(os.path.join(self.dir, "after.php"))
        self.wait_restart("flood", mark)


class Settings(WatchCase):

    def test_bad_paths_are_refused(self):
        missing = os.path.join(self.dir, "missing")
        self.assertError("InvalidArgs", "Add", "m", {
            "command": "/bin/true", "watch": [missing]}, contains="does not exist")
        regular = os.path.join(self.dir, "file.php")
        write(regular)
        self.assertError("InvalidArgs", "Add", "f", {
            "command": "/bin/true", "watch": [regular]}, contains="not a directory")
        self.assertError("InvalidArgs", "Add", "e", {
            "command": "/bin/true", "watch": [""]}, contains="must not be empty")
        self.assertError("InvalidArgs", "Add", "a", {
            "command": "/bin/true", "watch": [self.dir], "watch-action": "explode"},
            contains="restart or reload")
        # Update is checked the same way; an unrelated update is not.
        self.bus.call("Add", "ok", {"command": "/bin/true", "watch": [self.dir]})
        self.assertError("InvalidArgs", "Update", "ok", {"watch": [missing]},
                         contains="does not exist")
        self.bus.call("Update", "ok", {"watch-debounce-ms": 100})

    def test_settings_round_trip_through_jobctl_and_job_files(self):
        env = {"JOBD_ADDRESS": self.jobd.address}
        out = run_jobctl(["add", "w", "--workdir", self.dir, "--watch", self.dir,
                          "--watch", ".", "--watch-glob", "*.php", "--watch-glob", "*.ini",
                          "--watch-exclude", "vendor", "--watch-action", "reload",
                          "--watch-debounce", "2s", "--", "/bin/sleep", "100"],
                         address=self.jobd.address)
        self.assertEqual(out.returncode, 0, out.stderr)
        s = self.bus.call("GetSettings", "w")
        self.assertEqual(s["watch"], [self.dir, "."])
        self.assertEqual(s["watch-glob"], ["*.php", "*.ini"])
        self.assertEqual(s["watch-exclude"], ["vendor"])
        self.assertEqual(s["watch-action"], "reload")
        self.assertEqual(s["watch-debounce-ms"], 2000)
        show = run_jobctl(["show", "w"], address=self.jobd.address)
        self.assertIn("'*.php' '*.ini'", show.stdout)
        self.assertIn("reload", show.stdout)
        bad = run_jobctl(["update", "w", "--watch-action", "boom"], address=self.jobd.address)
        self.assertNotEqual(bad.returncode, 0)

        exported = run_jobctl(["export", "w"], address=self.jobd.address)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        for line in ("Watch=%s" % self.dir, "Watch=.", "WatchGlob=*.php", "WatchGlob=*.ini",
                     "WatchExclude=vendor", "WatchAction=reload", "WatchDebounce=2s"):
            self.assertIn(line, exported.stdout.splitlines())
        # Persisted: the same after a jobd restart.
        self.tearDown()
        self.jobd.start()
        self.bus = self.jobd.connect()
        self.assertEqual(self.bus.call("GetSettings", "w")["watch-glob"], ["*.php", "*.ini"])
        del env


class Unprivileged(WatchCase):
    """A job owned by nobody: its owner must not learn about changes in
    folders they cannot read."""

    def nobody_add(self, name, settings_text):
        return jobdtest.call_as_nobody(self.jobd.address, "Add", "('%s', %s)" % (name, settings_text))

    def test_unreadable_paths_are_refused(self):
        secret = os.path.join(self.dir, "secret")
        os.makedirs(os.path.join(secret, "open"))
        os.chmod(secret, 0o700)
        os.chmod(os.path.join(secret, "open"), 0o755)
        for path in (secret, os.path.join(secret, "open"), os.path.join(secret, "nothere")):
            out = self.nobody_add("n", "{'command': <'/bin/true'>, 'watch': <['%s']>}" % path)
            self.assertFalse(out["ok"], path)
            # The same answer whether it exists or not: nothing leaks.
            self.assertEqual(out["error"], jobdtest.ERR + "AccessDenied", out)
        out = self.nobody_add("n", "{'command': <'/bin/true'>, 'watch': <['%s']>}" % self.dir)
        self.assertTrue(out["ok"], out)

    def test_changes_in_unreadable_subfolders_are_not_seen(self):
        private = os.path.join(self.dir, "private")
        os.makedirs(private)
        os.chmod(private, 0o700)
        out = self.nobody_add("nb", "{'command': <'/bin/sh'>, 'args': <['-c', '%s']>, "
                              "'watch': <['%s']>, 'watch-debounce-ms': <uint32 %d>}"
                              % (SH_APP.replace("'", "\\'"), self.dir, DEBOUNCE_MS))
        self.assertTrue(out["ok"], out)
        self.start("nb")
        # A readable folder made now is watched (this restart proves it)...
        later = os.path.join(self.dir, "later")
        os.makedirs(later)
        mark = self.bus.mark()
        write(os.path.join(later, "seen.php"))
        self.wait_restart("nb", mark)
        # ...and no longer once the owner may not read it.
        # (The chmod's event comes before the write's in the same queue.)
        os.chmod(later, 0o700)
        mark = self.bus.mark()
        write(os.path.join(later, "hidden.php"))
        write(os.path.join(private, "secret.php"))
        self.assert_no_restart("nb", mark)
        control = os.path.join(self.dir, "public.php")
        write(control)
        self.assertEqual(self.wait_restart("nb", mark)["trigger"], control)


class OutOfWatches(JobdTestCase):
    """jobd in a user namespace of its own whose inotify watch limit
    (user.max_inotify_watches) is 40: the machine's limit is untouched."""

    LIMIT = 40

    def setUp(self):
        self.jobd = Jobd()
        self.addCleanup(self.jobd.cleanup)
        wrapper = os.path.join(self.jobd.root, "jobd-userns")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec unshare --user --map-root-user /bin/sh -c "
                    "'echo %d > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\"' "
                    "%s \"$@\"\n" % (self.LIMIT, JOBD))
        os.chmod(wrapper, 0o755)
        self.jobd.exe = wrapper
        self.jobd.start()
        self.bus = self.jobd.connect()

    def test_running_out_of_watches_is_a_clear_error(self):
        tree = tempfile.mkdtemp(prefix="many-", dir=self.jobd.root)
        for i in range(self.LIMIT * 2):
            os.makedirs(os.path.join(tree, "d%03d" % i))
        self.bus.call("Add", "many", {"command": "/bin/sh", "args": ["-c", SH_APP],
                                      "watch": [tree], "watch-debounce-ms": DEBOUNCE_MS})
        mark = self.bus.mark()
        self.bus.call("Start", "many")
        up = self.bus.wait_state("many", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])

        def error():
            return self.bus.runtime("many")["last-error"]
        wait_until(lambda: "inotify" in error(), "the watch error")
        message = error()
        self.assertIn("fs.inotify.max_user_watches", message)
        self.assertIn("user.max_inotify_watches = %d" % self.LIMIT, message)
        show = run_jobctl(["show", "many"], address=self.jobd.address)
        self.assertIn("fs.inotify.max_user_watches", show.stdout)
        log = "\n".join(self.bus.call("GetServerLog", 50))
        self.assertIn("out of inotify watches", log)
        # Nothing half-watched: a change in the first folder does nothing.
        mark = self.bus.mark()
        write(os.path.join(tree, "d000", "x.php"))
        self.bus.settle(QUIET)
        self.assertEqual(self.bus.transitions("many", since=mark), [])


if __name__ == "__main__":
    main()
