#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bash and zsh completion of jobctl.

The scripts offer what `jobctl --help` lists (verbs, each verb's options),
the signals common/jobd-signal.c knows and the restart policies `jobctl add
--help` names; bash completes job names from a running jobd, and with jobd
away offers none and prints nothing. bash runs for real: an interactive
bash with bash-completion, loading the script from where `meson install`
put it (bash-completion's own lookup), its function called as readline
calls it (COMP_LINE, COMP_POINT, COMP_WORDS, COMP_CWORD).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import docsources as ds
from jobdtest import Jobd

BASH_SCRIPT = ds.source_path("data", "completion", "jobctl.bash")
ZSH_SCRIPT = ds.source_path("data", "completion", "_jobctl")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def bash_words(name):
    """The words of a `name="..."` assignment in the bash script."""
    text = open(BASH_SCRIPT).read()
    match = re.search(r'^%s="([^"]*)"' % re.escape(name), text, re.M)
    assert match, "%s has no %s" % (BASH_SCRIPT, name)
    return match.group(1).split()


def bash_verb_options(verb):
    text = open(BASH_SCRIPT).read()
    body = text.split("__jobctl_verb_opts() {", 1)[1].split("\n}", 1)[0]
    match = re.search(r"^\s+%s\) echo \"([^\"]*)\"" % re.escape(verb), body, re.M)
    words = match.group(1).split() if match else []
    options = set()
    for word in words:
        if word == "$__jobctl_setting_opts":
            options |= set(bash_words("__jobctl_setting_opts"))
        else:
            options.add(word)
    return options


def source_signals():
    """SIG names of common/jobd-signal.c's table (before its aliases)."""
    text = ds.read_source("common", "jobd-signal.c")
    table = text.split("{ SIGHUP", 1)[1].split("};", 1)[0]
    table = "{ SIGHUP" + table
    names = []
    for line in table.splitlines():
        if "alias" in line.lower() or "SIGIOT" in line:
            break
        names += re.findall(r'"SIG([A-Z0-9]+)"', line)
    return names


def restart_policies():
    text = ds.run_help([ds.JOBCTL, "add", "--help"])
    return re.search(r"--restart=([\w|-]+)", text).group(1).split("|")


def complete(line, env_extra=None, rc_extra=""):
    """Run an interactive bash, complete `line` (cursor at its end) with the
    installed script; (replies, stderr of the completion, seconds)."""
    tmp = tempfile.mkdtemp(prefix="jobd-compl-")
    try:
        rc = os.path.join(tmp, "rc")
        errors = os.path.join(tmp, "errors")
        with open(rc, "w") as f:
            f.write("source %s\n%s\n" % (BASH_COMPLETION, rc_extra))
        words = line.split()
        if line.endswith(" "):
            words.append("")
        script = (
            'exec 2>"$ERRORS"\n'
            "COMP_LINE=$LINE; COMP_POINT=${#LINE}; COMP_WORDS=(%s); COMP_CWORD=%d\n"
            "start=$EPOCHREALTIME; _jobctl; end=$EPOCHREALTIME\n"
            "printf 'reply:%%s\\n' \"${COMPREPLY[@]}\"\n"
            "echo \"took:$start $end\"\n"
            % (" ".join("'%s'" % w for w in words), len(words) - 1))
        env = dict(os.environ, LINE=line, ERRORS=errors, HOME=tmp, LC_ALL="C")
        env["PATH"] = os.path.dirname(os.path.abspath(ds.JOBCTL)) + ":" + env["PATH"]
        env.pop("JOBD_ADDRESS", None)
        env.update(env_extra or {})
        result = subprocess.run(["bash", "--rcfile", rc, "-i", "-c", script],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        replies = [l[6:] for l in result.stdout.splitlines() if l.startswith("reply:") and l[6:]]
        took = [float(x) for x in re.search(r"took:(\S+) (\S+)", result.stdout).groups()]
        with open(errors) as f:
            return replies, f.read(), took[1] - took[0]
    finally:
        shutil.rmtree(tmp)


class Sources(unittest.TestCase):
    """The scripts and --help agree (a new verb or option fails here until
    the scripts know it)."""

    def test_bash_verbs_and_options(self):
        problems = []
        verbs = ds.jobctl_verbs()
        offered = bash_words("__jobctl_verbs")
        if set(verbs) != set(offered):
            problems.append("data/completion/jobctl.bash __jobctl_verbs lacks %s, has extra %s"
                            % (sorted(set(verbs) - set(offered)), sorted(set(offered) - set(verbs))))
        common = set(bash_words("__jobctl_common_opts"))
        for verb, options in ds.jobctl_options().items():
            have = common | ({"--version"} if verb is None else bash_verb_options(verb))
            if options != have:
                problems.append("data/completion/jobctl.bash, %s: lacks %s, has extra %s"
                                % (verb or "bare jobctl", sorted(options - have), sorted(have - options)))
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_zsh_verbs_and_options(self):
        text = open(ZSH_SCRIPT).read()
        block = text.split("verbs=(", 1)[1].split("\n  )", 1)[0]
        offered = set(re.findall(r"^\s+'([a-z][\w-]*):", block, re.M))
        verbs = set(ds.jobctl_verbs())
        problems = []
        if offered != verbs:
            problems.append("data/completion/_jobctl verbs lack %s, have extra %s"
                            % (sorted(verbs - offered), sorted(offered - verbs)))
        every = set().union(*ds.jobctl_options().values())
        named = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)(?=[=+\[,}'\"])", text))
        if every - named:
            problems.append("data/completion/_jobctl never offers %s" % sorted(every - named))
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_signals_and_policies(self):
        self.assertEqual(bash_words("__jobctl_signals"), source_signals(),
                         "jobctl.bash __jobctl_signals differs from common/jobd-signal.c")
        zsh = open(ZSH_SCRIPT).read()
        zsh_signals = re.search(r"_jobctl_signals=\(([^)]*)\)", zsh).group(1).split()
        self.assertEqual(zsh_signals, source_signals(),
                         "_jobctl _jobctl_signals differs from common/jobd-signal.c")
        self.assertEqual(bash_words("__jobctl_restart_policies"), restart_policies())
        self.assertIn("(%s)" % " ".join(restart_policies()), zsh)

    def test_zsh_script_parses(self):
        if shutil.which("zsh") is None:
            self.fail("zsh is not installed (.ci/deps installs it)")
        result = subprocess.run(["zsh", "-n", ZSH_SCRIPT], stderr=subprocess.PIPE, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)


class Bash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Install, so that bash-completion finds the script where meson put it.
        cls.destdir = tempfile.mkdtemp(prefix="jobd-compl-install-")
        result = subprocess.run(["meson", "install", "-C", os.environ["MESON_BUILD_ROOT"],
                                 "--no-rebuild", "--quiet", "--destdir", cls.destdir],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout
        found = [os.path.join(d, f) for d, _, files in os.walk(cls.destdir) for f in files
                 if f == "jobctl" and d.endswith("bash-completion/completions")]
        assert found, "meson install put no bash-completion/completions/jobctl in " + cls.destdir
        cls.completions = os.path.dirname(found[0])
        # bash-completion looks in $XDG_DATA_DIRS/bash-completion/completions.
        cls.rc = "export XDG_DATA_DIRS=%s\n_completion_loader jobctl" % os.path.dirname(
            os.path.dirname(cls.completions))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir)

    def complete(self, line, **env):
        return complete(line, env, self.rc)

    def test_loaded_by_bash_completion(self):
        tmp = tempfile.mkdtemp(prefix="jobd-compl-")
        try:
            rc = os.path.join(tmp, "rc")
            with open(rc, "w") as f:
                f.write("source %s\n%s\n" % (BASH_COMPLETION, self.rc))
            result = subprocess.run(["bash", "--rcfile", rc, "-i", "-c", "complete -p jobctl"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, timeout=60,
                                    env=dict(os.environ, HOME=tmp))
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(result.stdout.strip(), "complete -F _jobctl jobctl", result.stderr)

    def test_verbs_options_values(self):
        cases = [
            ("jobctl st", ["status", "start", "stop"]),
            ("jobctl logs --fo", ["--follow"]),
            ("jobctl kill -s US", ["USR1", "USR2"]),
            ("jobctl kill --signal=K", ["KILL"]),
            ("jobctl add --restart ", ["no", "on-failure", "always"]),
            ("jobctl add --restart=on", ["on-failure"]),
            ("jobctl update --stop-signal=HU", ["HUP"]),
            ("jobctl add --write-log ", ["yes", "no"]),
            ("jobctl server ", ["log"]),
        ]
        for line, expected in cases:
            replies, errors, _ = self.complete(line, JOBD_ADDRESS="unix:path=/nonexistent")
            self.assertEqual(sorted(replies), sorted(expected), line)
            self.assertEqual(errors, "", line)

    def test_job_names_from_jobd(self):
        jobd = Jobd().start()
        try:
            client = jobd.connect()
            for name in ("alpha", "beta-1", "beta-2"):
                client.add(name, "/bin/true")
            replies, errors, _ = self.complete("jobctl start ", JOBD_ADDRESS=jobd.address)
            self.assertEqual(sorted(replies), ["alpha", "beta-1", "beta-2"])
            self.assertEqual(errors, "")
            # The address on the command line is the one asked (and bash
            # splits it at = and :, which must not confuse the script).
            replies, errors, _ = self.complete("jobctl --address=%s stop be" % jobd.address)
            self.assertEqual(sorted(replies), ["beta-1", "beta-2"])
            replies, errors, _ = self.complete("jobctl logs --address %s -f al" % jobd.address)
            self.assertEqual(replies, ["alpha"])
            self.assertEqual(errors, "")
        finally:
            jobd.stop()
            shutil.rmtree(jobd.root)

    def test_jobd_away_is_silent(self):
        tmp = tempfile.mkdtemp(prefix="jobd-away-")
        try:
            # A socket path with nobody listening, and one that does not exist.
            for address in ("unix:path=%s/bus" % tmp, "unix:path=/nonexistent/jobd/bus"):
                replies, errors, took = self.complete("jobctl restart ", JOBD_ADDRESS=address)
                self.assertEqual(replies, [])
                self.assertEqual(errors, "")
                self.assertLess(took, 1.5)
                replies, errors, _ = self.complete("jobctl --address=%s stop " % address)
                self.assertEqual((replies, errors), ([], ""))
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
