# SPDX-License-Identifier: MIT
"""File watches and root's inotify budget (issue 13, the file-watch part).

jobd runs as root and every inotify instance and watch it makes counts
against root (fs.inotify.max_user_instances = 128 per uid): a local user
(the private socket is open to all) must not be able to use it up. jobd
reads every job's watches through ONE inotify descriptor, and the
directories the jobs of one owner watch are bounded by MaxWatchesPerUser=.

Jobs are added by unprivileged users (nobody, daemon) through one client
process each, run as `setpriv --reuid=USER --regid=GROUP --clear-groups`;
root only starts them and watches the signals."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from jobdtest import (JobdTestCase, DEADLINE, ERR, PYTHON, run_jobctl, wait_until, main)
import jobdtest

for _key, _type in (("watch", "as"), ("watch-glob", "as"), ("watch-debounce-ms", "u")):
    jobdtest.SETTING_TYPES.setdefault(_key, _type)
jobdtest.SIGNATURES.setdefault("ReloadConfig", None)

DEBOUNCE_MS = 100
QUIET = 1.2   # seconds: well past the debounce (a restart would have begun)
# One line (so a client can see the run began), then nothing but a sleep.
APP = 'echo "app $$"; exec sleep 100000'


def write(path, text="x\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# The mask of jobd's directory watches in /proc/PID/fdinfo (IN_CREATE,
# IN_DELETE, IN_MOVED_*, IN_CLOSE_WRITE, IN_ATTRIB, IN_*_SELF,
# IN_EXCL_UNLINK): jobd has other inotify instances of a fixed number
# (GLib's monitor of /etc/localtime, cgroup and memory.events watches).
DIR_MASK = "mask:4000fcc "


def inotify_fds(pid):
    """jobd's inotify instances: {fd: [its watches' fdinfo lines]}."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:inotify":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                out[fd] = [line for line in f if line.startswith("inotify wd:")]
        except OSError:
            continue
    return out


def dir_instances(pid):
    """How many of jobd's inotify instances hold directory watches."""
    return sum(1 for lines in inotify_fds(pid).values()
               if any(DIR_MASK in line for line in lines))


def dir_watches(pid):
    """jobd's kernel watches of directories, over all its instances."""
    return sum(1 for lines in inotify_fds(pid).values() for line in lines if DIR_MASK in line)


def calls_as(user, group, address, calls):
    """Make calls [(method, gvariant text)] as user:group, over one
    connection of one client process; returns their results (see
    jobdtest.py's call helper)."""
    proc = subprocess.run(
        ["setpriv", "--reuid=" + user, "--regid=" + group, "--clear-groups",
         PYTHON, os.path.abspath(__file__), "calls", address],
        input=json.dumps(calls), capture_output=True, text=True,
        timeout=DEADLINE * 4, cwd="/")
    if proc.returncode != 0:
        raise AssertionError("client as %s failed: %s" % (user, proc.stderr))
    return json.loads(proc.stdout)


def _calls_helper(address):
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
    out = []
    for method, args_text in json.load(sys.stdin):
        params = GLib.Variant.parse(None, args_text, None, None) if args_text else None
        try:
            conn.call_sync(None, jobdtest.MANAGER_PATH, jobdtest.MANAGER_IFACE, method, params,
                           None, Gio.DBusCallFlags.NONE, int(DEADLINE * 1000), None)
            out.append({"ok": True, "uid": os.getuid()})
        except GLib.Error as exc:
            name, message = jobdtest.remote_error(exc)
            out.append({"ok": False, "error": name, "message": message})
    print(json.dumps(out))


def add_text(name, folder, **extra):
    """The Add call of a job that runs APP and watches folder."""
    settings = ("{'command': <'/bin/sh'>, 'args': <['-c', '%s']>, 'watch': <['%s']>, "
                "'watch-debounce-ms': <uint32 %d>, 'stop-timeout-ms': <uint32 3000>, "
                "'start-limit-burst': <uint32 1000>"
                % (APP, folder, DEBOUNCE_MS))
    for key, value in extra.items():
        settings += ", '%s': <%s>" % (key, value)
    return ("Add", "('%s', %s})" % (name, settings))


class LimitsCase(JobdTestCase):

    def folder(self, dirs=0):
        """A folder readable by everyone with dirs subfolders (so 1 + dirs
        directories to watch)."""
        path = tempfile.mkdtemp(prefix="watched-", dir=self.jobd.root)
        os.chmod(path, 0o755)
        for i in range(dirs):
            os.mkdir(os.path.join(path, "d%03d" % i))
        return path

    def add_as(self, user, group, jobs):
        """jobs: [(name, folder)], added by user in one client."""
        results = calls_as(user, group, self.jobd.address,
                           [add_text(name, folder) for name, folder in jobs])
        for (name, _f), result in zip(jobs, results):
            self.assertTrue(result["ok"], (name, result))

    def start(self, name):
        mark = self.bus.mark()
        self.bus.call("Start", name)
        up = self.bus.wait_state(name, "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        # The watch is made when the job comes up, in the same turn of
        # jobd's loop that sends the signal: a call answered after it
        # proves it is in place (or failed) before any change below.
        return self.bus.runtime(name)

    def wait_restart(self, name, since, trigger=None):
        starting = self.bus.wait_state(name, "starting", since=since)
        self.assertEqual(starting["reason"], "file-change", starting)
        if trigger is not None:
            self.assertEqual(starting["trigger"], trigger)
        up = self.bus.wait_state(name, "up", since=starting["_index"])
        self.jobd.note_pid(up["main-pid"])
        self.bus.runtime(name)   # its new watch in place (see start)
        return starting

    def overflow_queue_of(self, folder):
        """More events in folder (two .txt files in turn: the kernel merges
        an event equal to the last) than an inotify queue holds, with jobd
        frozen (our own process, by its PID) while the queue fills."""
        files = [os.path.join(folder, "f%d.txt" % i) for i in range(2)]
        for f in files:
            write(f)
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

    def file_change_restarts(self, name, since):
        return [d for _o, new, d in self.bus.transitions(name, since=since)
                if new == "starting" and d.get("reason") == "file-change"]


class OneInstance(LimitsCase):

    JOBS = 150   # more than fs.inotify.max_user_instances (128) here
    BATCH = 10

    def test_one_inotify_instance_for_150_watched_jobs_of_nobody(self):
        pid = self.jobd.proc.pid
        before = len(inotify_fds(pid))
        folders = {"w%03d" % i: self.folder() for i in range(self.JOBS)}
        self.add_as("nobody", "nogroup", sorted(folders.items()))
        # Started a batch at a time, counting after each: the old code
        # (an instance per job) fails at the first batch, long before it
        # would take root's last instances.
        names = sorted(folders)
        for first in range(0, len(names), self.BATCH):
            for name in names[first:first + self.BATCH]:
                rt = self.start(name)
                self.assertEqual(rt.get("last-error", ""), "", name)
            running = first + self.BATCH
            self.assertEqual(dir_instances(pid), 1,
                             "jobd's inotify instances with directory watches, "
                             "%d watched jobs running" % running)
            self.assertEqual(len(inotify_fds(pid)), before + 1,
                             "jobd's inotify instances, %d watched jobs running" % running)
            self.assertEqual(dir_watches(pid), running)

        # Each job restarts on a change to its own folder, and only it.
        mark = self.bus.mark()
        for name in names:
            write(os.path.join(folders[name], "changed.php"))
        for name in names:
            self.wait_restart(name, mark, os.path.join(folders[name], "changed.php"))
        self.bus.settle(QUIET)
        for name in names:
            self.assertEqual(len(self.file_change_restarts(name, mark)), 1, name)
        self.assertEqual(dir_instances(pid), 1)
        self.assertEqual(dir_watches(pid), self.JOBS)

        # Stopped: every kernel watch is let go (the instance stays).
        for name in names:
            self.bus.call("Stop", name)
        wait_until(lambda: dir_watches(pid) == 0, "jobd's directory watches to go")


class Budget(LimitsCase):

    LIMIT = 20
    config_extra = "MaxWatchesPerUser=%d\n" % LIMIT

    def assert_no_restart(self, names, since):
        self.bus.settle(QUIET)
        for name in names:
            self.assertEqual(self.file_change_restarts(name, since), [], name)

    def test_owner_past_max_watches_per_user_gets_a_clear_error(self):
        big = self.folder(24)       # 25 directories: past 20 on its own
        small = self.folder(4)      # 5
        fill = self.folder(14)      # 15: with small, exactly 20
        self.add_as("nobody", "nogroup", [("big", big), ("small", small), ("fill", fill)])

        # Past the budget at its start: the job runs, nothing is watched,
        # and it says so, naming the key and its value.
        rt = self.start("big")
        error = rt.get("last-error", "")
        self.assertIn("MaxWatchesPerUser = %d" % self.LIMIT, error)
        self.assertIn("nobody", error)
        self.assertEqual(self.bus.state("big"), "up")
        show = run_jobctl(["show", "big"], address=self.jobd.address)
        self.assertIn("MaxWatchesPerUser", show.stdout)
        log = "\n".join(self.bus.call("GetServerLog", 50))
        self.assertIn("MaxWatchesPerUser = %d" % self.LIMIT, log)

        # Nothing of big's watch was kept: 20 are left for the others.
        for name in ("small", "fill"):
            self.assertEqual(self.start(name).get("last-error", ""), "", name)
        mark = self.bus.mark()
        write(os.path.join(big, "d000", "x.php"))
        write(os.path.join(small, "d000", "x.php"))
        write(os.path.join(fill, "d013", "x.php"))
        self.wait_restart("small", mark, os.path.join(small, "d000", "x.php"))
        self.wait_restart("fill", mark, os.path.join(fill, "d013", "x.php"))
        self.assert_no_restart(["big"], mark)

        # At 20 now: a folder made later in small's tree is not watched,
        # and that is said, not silent.
        mark = self.bus.mark()
        os.mkdir(os.path.join(small, "later"))
        wait_until(lambda: "MaxWatchesPerUser" in self.bus.runtime("small").get("last-error", ""),
                   "small's error about the folder made past the budget")
        self.assertIn("later", self.bus.runtime("small")["last-error"])
        write(os.path.join(small, "later", "y.php"))
        self.assert_no_restart(["small"], mark)

        # Root's jobs are not bound by it; nor is another user by nobody's.
        tree = self.folder(24)
        self.bus.call("Add", "rootjob", {"command": "/bin/sh", "args": ["-c", APP],
                                         "watch": [tree], "watch-debounce-ms": DEBOUNCE_MS})
        self.assertEqual(self.start("rootjob").get("last-error", ""), "")
        other = self.folder(9)
        self.add_as("daemon", "daemon", [("daemonjob", other)])
        self.assertEqual(self.start("daemonjob").get("last-error", ""), "")
        mark = self.bus.mark()
        write(os.path.join(tree, "d023", "z.php"))
        write(os.path.join(other, "d008", "z.php"))
        self.wait_restart("rootjob", mark, os.path.join(tree, "d023", "z.php"))
        self.wait_restart("daemonjob", mark, os.path.join(other, "d008", "z.php"))

        # A reload applies a new value to later starts: big is watched then.
        with open(self.jobd.config) as f:
            text = f.read()
        with open(self.jobd.config, "w") as f:
            f.write(text.replace("MaxWatchesPerUser=%d" % self.LIMIT, "MaxWatchesPerUser=100"))
        self.bus.call("ReloadConfig")
        mark = self.bus.mark()
        self.bus.call("Restart", "big")
        up = self.bus.wait_state("big", "up", since=mark)
        self.jobd.note_pid(up["main-pid"])
        self.bus.runtime("big")
        mark = self.bus.mark()
        write(os.path.join(big, "d023", "w.php"))
        self.wait_restart("big", mark, os.path.join(big, "d023", "w.php"))


class SharedWatch(LimitsCase):
    """Two jobs watching the same folder share one kernel watch (inotify
    gives the same watch descriptor to both)."""

    def test_two_jobs_on_one_folder(self):
        pid = self.jobd.proc.pid
        shared = self.folder(2)
        self.add_as("nobody", "nogroup", [("a", shared), ("b", shared)])
        self.start("a")
        self.start("b")
        self.assertEqual(dir_watches(pid), 3)   # the folder and its two: once each
        self.assertEqual(dir_instances(pid), 1)

        # One change: both restart.
        mark = self.bus.mark()
        changed = os.path.join(shared, "d001", "one.php")
        write(changed)
        self.wait_restart("a", mark, changed)
        self.wait_restart("b", mark, changed)

        # a stops: b's watch (the same kernel watch) still works.
        mark = self.bus.mark()
        self.bus.call("Stop", "a")
        self.bus.wait_state("a", "down", since=mark)
        self.bus.runtime("a")
        mark = self.bus.mark()
        changed = os.path.join(shared, "d000", "two.php")
        write(changed)
        self.wait_restart("b", mark, changed)
        self.assertEqual(dir_watches(pid), 3)
        self.bus.settle(QUIET)
        self.assertEqual(self.bus.transitions("a", since=mark), [])

        # The folder removed (IN_IGNORED, one event for both) and made
        # again: both see it go, both watch it again.
        # (Emptied first, and that change let pass: then the folder's own
        # removal is the only event left.)
        self.start("a")
        mark = self.bus.mark()
        for entry in os.listdir(shared):
            shutil.rmtree(os.path.join(shared, entry))
        self.wait_restart("a", mark)
        self.wait_restart("b", mark)
        self.bus.settle(QUIET)
        mark = self.bus.mark()
        os.rmdir(shared)
        self.wait_restart("a", mark, shared)
        self.wait_restart("b", mark, shared)
        os.makedirs(os.path.join(shared, "new"))
        os.chmod(shared, 0o755)
        # (Made again: that is a change too; let it pass.)
        self.bus.settle(QUIET)
        mark = self.bus.mark()
        changed = os.path.join(shared, "new", "three.php")
        write(changed)
        self.wait_restart("a", mark, changed)
        self.wait_restart("b", mark, changed)

        # Both stopped: nothing left in the kernel.
        for name in ("a", "b"):
            self.bus.call("Stop", name)
        wait_until(lambda: dir_watches(pid) == 0, "jobd's directory watches to go")

    def test_queue_overflow_is_one_change_for_every_job(self):
        # One queue for all jobs of an owner: when it overflows, events of
        # every job on it may be lost, so every job counts it as one change. Only .txt
        # files change (the jobs watch *.php): a restart can only come
        # from the overflow.
        one, two = self.folder(), self.folder()
        calls = [add_text(name, folder, **{"watch-glob": "['*.php']"})
                 for name, folder in (("one", one), ("two", two))]
        self.assertTrue(all(r["ok"] for r in calls_as("nobody", "nogroup",
                                                      self.jobd.address, calls)))
        self.start("one")
        self.start("two")
        mark = self.bus.mark()
        self.overflow_queue_of(one)
        self.wait_restart("one", mark, one)
        self.wait_restart("two", mark, two)
        self.bus.settle(QUIET)
        for name in ("one", "two"):
            self.assertEqual(len(self.file_change_restarts(name, mark)), 1, name)
        # Both still watched afterwards.
        mark = self.bus.mark()
        write(os.path.join(two, "after.php"))
        self.wait_restart("two", mark, os.path.join(two, "after.php"))
        self.bus.settle(QUIET)
        self.assertEqual(self.file_change_restarts("one", mark), [])


class Isolation(LimitsCase):

    def test_one_owners_overflow_does_not_restart_another_owners_jobs(self):
        # One queue per owner: nobody flooding a folder of its own while
        # jobd is slow (frozen here) overflows nobody's queue only; root's
        # job sees nothing and keeps its watch.
        noisy, quiet = self.folder(), self.folder()
        self.assertTrue(all(r["ok"] for r in calls_as(
            "nobody", "nogroup", self.jobd.address,
            [add_text("noisy", noisy, **{"watch-glob": "['*.php']"})])))
        self.assertTrue(all(r["ok"] for r in calls_as(
            "root", "root", self.jobd.address, [add_text("rootjob", quiet)])))
        self.start("noisy")
        self.start("rootjob")
        mark = self.bus.mark()
        self.overflow_queue_of(noisy)
        self.wait_restart("noisy", mark, noisy)
        self.bus.settle(QUIET)
        self.assertEqual(self.file_change_restarts("rootjob", mark), [])
        mark = self.bus.mark()
        write(os.path.join(quiet, "after.php"))
        self.wait_restart("rootjob", mark, os.path.join(quiet, "after.php"))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "calls":
        _calls_helper(sys.argv[2])
    else:
        main()
