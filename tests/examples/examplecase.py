# SPDX-License-Identifier: MIT
"""examplecase — the examples in examples/ followed as their READMEs say.

Each test starts its own jobd (the integration harness: direct backend,
temporary folders) and runs the README's commands with /bin/sh in the
example's folder, with the built jobctl first in PATH and JOBD_ADDRESS set,
as a user who copies them would. A command the test runs must appear in the
example's README word for word, so the README and the test cannot drift
apart. What a command shows is checked from jobd itself (D-Bus, /proc)."""
import os
import shutil
import subprocess
import tempfile

from jobdtest import JobdTestCase, DEADLINE, JOBCTL, wait_until  # noqa: F401

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(SOURCE_ROOT, "examples")


class ExampleCase(JobdTestCase):
    example = None   # the folder under examples/

    def setUp(self):
        super().setUp()
        self.folder = os.path.join(EXAMPLES, self.example)
        with open(os.path.join(self.folder, "README.md")) as f:
            self.readme = f.read()

    def sh(self, command, check=True, timeout=DEADLINE, env_extra=None, replace=None):
        """Run one README command; returns the CompletedProcess. replace
        maps texts of the command to what the test runs instead (a free
        port for the README's fixed one)."""
        self.assertIn(command, self.readme,
                      "the test runs a command that examples/%s/README.md does not show"
                      % self.example)
        for old, new in (replace or {}).items():
            command = command.replace(old, new)
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(os.path.abspath(JOBCTL)) + ":" + env.get("PATH", "")
        env["JOBD_ADDRESS"] = self.jobd.address
        env["LC_ALL"] = "C"
        env.update(env_extra or {})
        proc = subprocess.run(["/bin/sh", "-c", command], cwd=self.folder, env=env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError("`%s` exited %d: %s%s" % (command, proc.returncode,
                                                          proc.stdout, proc.stderr))
        return proc

    def children(self, pid):
        """PIDs whose parent is pid (from /proc)."""
        kids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(entry))
        return sorted(kids)

    def copy_example(self, replace=None):
        """Run the example from a copy (the test edits its files, and an
        unprivileged job user must be able to read them): a folder open to
        everyone, with texts of its files replaced (a free port)."""
        root = tempfile.mkdtemp(prefix="jobd-example-")
        self.addCleanup(shutil.rmtree, root, True)
        os.chmod(root, 0o755)
        self.folder = os.path.join(root, self.example)
        shutil.copytree(os.path.join(EXAMPLES, self.example), self.folder)
        for where, _dirs, files in os.walk(self.folder):
            os.chmod(where, 0o755)
            for name in files:
                path = os.path.join(where, name)
                with open(path) as f:
                    text = f.read()
                for old, new in (replace or {}).items():
                    text = text.replace(old, new)
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, os.stat(path).st_mode | 0o444)

    def history(self, name):
        return self.bus.call("GetHistory", name, 0)
