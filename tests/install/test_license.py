#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Every source file says its license (SPDX), and LICENSE is the one it names."""
import os
import unittest

ROOT = os.environ["MESON_SOURCE_ROOT"]
FOLDERS = ["common", "daemon", "cli", "tests", "dbus", ".ci", "contrib"]
SKIP = ("corpus-",)
TAG = "SPDX-License-Identifier: MIT"


def sources():
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, folder)):
            dirnames[:] = [d for d in dirnames if not d.startswith(SKIP) and d != "__pycache__"]
            for name in filenames:
                if name.endswith((".c", ".h", ".py", ".sh")) or name in ("meson.build", "run", "deps"):
                    yield os.path.join(dirpath, name)
    yield os.path.join(ROOT, "meson.build")


class License(unittest.TestCase):

    def test_every_source_file_has_an_spdx_line(self):
        missing = []
        for path in sources():
            with open(path, encoding="utf-8", errors="replace") as f:
                head = f.read(400)
            if TAG not in head:
                missing.append(os.path.relpath(path, ROOT))
        self.assertEqual(missing, [], "no '%s' near the top of these files" % TAG)

    def test_license_file_is_mit(self):
        with open(os.path.join(ROOT, "LICENSE")) as f:
            self.assertIn("MIT License", f.read())


if __name__ == "__main__":
    unittest.main()
