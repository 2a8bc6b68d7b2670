# SPDX-License-Identifier: MIT
"""A zh_CN user sees jobd's errors in Chinese: jobctl translates them by
their D-Bus error name (common/jobd-error.h) and keeps jobd's English detail
where it has no words of its own; in the C locale jobd's message is shown
unchanged.

jobctl reads its catalogue from the LOCALEDIR it was built with; the test
puts the built catalogue (build/po) there in a mount namespace of its own,
so nothing is installed and nothing outside the test sees it."""
import os
import subprocess
import tempfile
import shutil

from jobdtest import JobdTestCase, JOBCTL, DEADLINE, main

LOCALEDIR = os.environ.get("JOBD_LOCALEDIR", "")
PO_BUILD_DIR = os.environ.get("JOBD_PO_BUILD_DIR", "")

# Runs "$@" with the built catalogue where jobctl looks for it.
WITH_CATALOGUE = 'mount --make-rprivate / && mount --bind "$1" "$2" && shift 2 && exec "$@"'


class ZhCN(JobdTestCase):

    @classmethod
    def setUpClass(cls):
        mo = os.path.join(PO_BUILD_DIR, "zh_CN", "LC_MESSAGES", "jobd.mo")
        if not os.path.isfile(mo):
            raise AssertionError("no built catalogue at %s (JOBD_PO_BUILD_DIR)" % mo)
        if not os.path.isdir(LOCALEDIR):
            raise AssertionError("jobctl's LOCALEDIR %r does not exist to mount the "
                                 "catalogue on" % LOCALEDIR)
        # A zh_CN.UTF-8 locale of our own (the machine may have none).
        cls.locpath = tempfile.mkdtemp(prefix="jobd-locale-", dir="/tmp")
        made = subprocess.run(["localedef", "-i", "zh_CN", "-f", "UTF-8",
                               os.path.join(cls.locpath, "zh_CN.UTF-8")],
                              capture_output=True, text=True, timeout=120)
        if not os.path.isdir(os.path.join(cls.locpath, "zh_CN.UTF-8")):
            raise AssertionError("localedef zh_CN.UTF-8 failed (package locales?): %s"
                                 % made.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.locpath, ignore_errors=True)

    def ctl(self, env, *args):
        full = {k: v for k, v in os.environ.items()
                if not k.startswith("LC_") and k not in ("LANG", "LANGUAGE")}
        full.update(env)
        full["JOBD_ADDRESS"] = self.jobd.address
        return subprocess.run(["unshare", "--mount", "sh", "-c", WITH_CATALOGUE, "sh",
                               PO_BUILD_DIR, LOCALEDIR, JOBCTL] + list(args),
                              env=full, capture_output=True, text=True, timeout=DEADLINE)

    def zh(self, *args):
        return self.ctl({"LANG": "zh_CN.UTF-8", "LOCPATH": self.locpath}, *args)

    def test_zh_cn_user_sees_jobd_errors_in_chinese(self):
        proc = self.zh("status", "nope")
        self.assertEqual(proc.returncode, 4)
        self.assertEqual(proc.stderr, "jobctl: 没有名为“nope”的任务\n")
        self.add_and_start("a", "/bin/sleep", ["100"])
        proc = self.zh("remove", "a")
        self.assertEqual((proc.returncode, proc.stderr),
                         (1, "jobctl: 任务“a”处于活动状态（启动中、运行中或停止中）\n"))
        self.bus.add("d", "/bin/sleep", ["100"])
        proc = self.zh("reload", "d")
        self.assertEqual((proc.returncode, proc.stderr), (1, "jobctl: 任务“d”未在运行\n"))
        proc = self.zh("add", "d", "--", "/bin/true")
        self.assertEqual((proc.returncode, proc.stderr), (1, "jobctl: 任务“d”已存在\n"))
        # What only jobd can say stays in English, inside a Chinese sentence.
        self.bus.add("ghost", "/no/such/program")
        proc = self.zh("start", "ghost")
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(proc.stderr.startswith("jobctl: 无法启动任务："), proc.stderr)
        self.assertIn("/no/such/program", proc.stderr)
        proc = self.zh("add", "bad name", "--", "/bin/true")
        self.assertEqual(proc.returncode, 2)
        self.assertTrue(proc.stderr.startswith("jobctl: 参数无效："), proc.stderr)

    def test_language_variable(self):
        proc = self.ctl({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "stop", "nope")
        self.assertEqual((proc.returncode, proc.stderr), (4, "jobctl: 没有名为“nope”的任务\n"))
        # The C locale keeps jobd's own message.
        proc = self.ctl({"LC_ALL": "C", "LANGUAGE": "zh_CN"}, "status", "nope")
        self.assertEqual((proc.returncode, proc.stderr), (4, "jobctl: no job named 'nope'\n"))


if __name__ == "__main__":
    main()
