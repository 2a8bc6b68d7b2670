#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The manual pages, the README's tour and --help say the same thing.

Each direction is checked: a verb, option or key that one side gains and
the other lacks fails, and the message names what is missing where (the
conventions the pages keep are in docsources.py).
"""
import os
import subprocess
import unittest

import docsources as ds


def missing(what, where, items):
    return "%s: %s" % (" ".join(p for p in (what, where) if p), ", ".join(sorted(items)))


class JobctlPage(unittest.TestCase):
    def test_verbs(self):
        helped, paged = ds.jobctl_verbs(), ds.man_jobctl_verbs()
        problems = []
        if set(helped) - set(paged):
            problems.append(missing("verbs `jobctl --help` lists but data/man/jobctl.1.scd",
                                    "(# COMMANDS) does not document", set(helped) - set(paged)))
        if set(paged) - set(helped):
            problems.append(missing("verbs data/man/jobctl.1.scd documents but `jobctl --help`",
                                    "does not list", set(paged) - set(helped)))
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_options(self):
        helped = ds.jobctl_options()
        paged = ds.man_jobctl_options([v for v in helped if v is not None])
        problems = []
        for verb, options in helped.items():
            command = "jobctl --help" if verb is None else "jobctl %s --help" % verb
            target = "the bare command" if verb is None else verb
            documented = paged.get(verb, set())
            if options - documented:
                problems.append(missing("options `%s` lists but data/man/jobctl.1.scd does not "
                                        "document for %s" % (command, target), "", options - documented))
            if documented - options:
                problems.append(missing("options data/man/jobctl.1.scd documents for %s but `%s` "
                                        "does not list" % (target, command), "", documented - options))
        for verb in set(paged) - set(helped):
            problems.append("data/man/jobctl.1.scd documents options of '%s', which `jobctl --help` "
                            "does not list as a verb" % verb)
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_built_page_renders(self):
        page = os.path.join(os.environ["MESON_BUILD_ROOT"], "data", "man", "jobctl.1")
        if not os.path.exists(page):
            self.fail("%s was not built: install scdoc (.ci/deps) or the man pages are off" % page)
        result = subprocess.run(["man", "-l", page], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                                    MANWIDTH="100"), timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("jobctl - control jobd", result.stdout)
        self.assertEqual(result.stderr.strip(), "")


class ReadmeTour(unittest.TestCase):
    def test_verbs(self):
        helped = set(ds.jobctl_verbs())
        toured = {verb for verb, _ in ds.readme_tour()}
        problems = []
        if helped - toured:
            problems.append(missing("verbs `jobctl --help` lists but README.md's tour",
                                    "(## Two commands, ## A short jobctl tour) never shows",
                                    helped - toured))
        if toured - helped:
            problems.append(missing("verbs README.md's tour shows but `jobctl --help`",
                                    "does not list", toured - helped))
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_options(self):
        helped = ds.jobctl_options()
        problems = []
        for verb, used in ds.readme_tour():
            unknown = set(used) - helped.get(verb, set())
            if unknown:
                problems.append(missing("README.md's tour uses `jobctl %s` with options that "
                                        "`jobctl %s --help` does not list" % (verb, verb), "", unknown))
        if problems:
            self.fail("\n" + "\n".join(problems))


class ConfPage(unittest.TestCase):
    def test_keys(self):
        conf, paged = ds.conf_keys(), ds.man_conf_keys()
        problems = []
        for group in sorted(set(conf) | set(paged)):
            a, b = set(conf.get(group, [])), set(paged.get(group, []))
            if a - b:
                problems.append(missing("keys of [%s] data/jobd.conf documents but "
                                        "data/man/jobd.conf.5.scd does not" % group, "", a - b))
            if b - a:
                problems.append(missing("keys of [%s] data/man/jobd.conf.5.scd documents but "
                                        "data/jobd.conf does not" % group, "", b - a))
        if problems:
            self.fail("\n" + "\n".join(problems))


class JobdPage(unittest.TestCase):
    def test_options(self):
        helped, paged = ds.jobd_options(), ds.man_jobd_options()
        problems = []
        if helped - paged:
            problems.append(missing("options `jobd --help` lists but data/man/jobd.8.scd",
                                    "(# OPTIONS) does not document", helped - paged))
        if paged - helped:
            problems.append(missing("options data/man/jobd.8.scd documents but `jobd --help`",
                                    "does not list", paged - helped))
        if problems:
            self.fail("\n" + "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
