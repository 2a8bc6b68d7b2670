#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Print the test cases of Python unittest modules, one Module.Class.test a
line, for meson to register each case as a test of its own (so a failure
names its case and independent cases run in parallel).

Usage: list-cases.py DIR MODULE...   (DIR and tests/common on sys.path, as
meson's PYTHONPATH puts them when the cases run). Run at configure time:
the modules are imported, not run, so importing must have no effects
beyond definitions."""
import importlib
import os
import sys
import unittest


def cases(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from cases(item)
        else:
            yield item.id()


def main():
    folder, modules = sys.argv[1], sys.argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [folder, os.path.join(here, "common")]
    loader = unittest.TestLoader()
    for name in modules:
        found = list(cases(loader.loadTestsFromName(name)))
        if not found or any(c.startswith("unittest.loader.") for c in found):
            importlib.import_module(name)  # raises the import error, if that was it
            sys.exit("%s: no test cases" % name)
        for case in found:
            print(case)


if __name__ == "__main__":
    main()
