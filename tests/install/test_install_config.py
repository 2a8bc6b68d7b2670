#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`meson install` keeps an edited jobd.conf and ships the default as an example.

Installs the build tree twice into a temporary DESTDIR; between the two runs
the installed /etc/jobd/jobd.conf is edited. The edit must survive the second
install, the example must be there both times and equal data/jobd.conf, and a
DESTDIR without a config gets the default.
"""
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ["MESON_BUILD_ROOT"]
SOURCE = os.environ["MESON_SOURCE_ROOT"]
SYSCONFDIR = os.environ["JOBD_SYSCONFDIR"]
DATADIR = os.environ["JOBD_DATADIR"]
EDIT = "\n# edited by the administrator\n[Legacy]\nEnable=false\n"


def install(destdir):
    result = subprocess.run(
        ["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", destdir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit("meson install failed:\n" + result.stdout)
    return result.stdout


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def main():
    with open(os.path.join(SOURCE, "data", "jobd.conf")) as f:
        default = f.read()
    destdir = tempfile.mkdtemp(prefix="jobd-install-")
    try:
        conf = under(destdir, os.path.join(SYSCONFDIR, "jobd", "jobd.conf"))
        example = under(destdir, os.path.join(DATADIR, "doc", "jobd", "jobd.conf.example"))

        install(destdir)
        with open(conf) as f:
            assert f.read() == default, "first install: jobd.conf is not the default"
        with open(example) as f:
            assert f.read() == default, "jobd.conf.example is not the default"

        with open(conf, "a") as f:
            f.write(EDIT)
        install(destdir)
        with open(conf) as f:
            assert f.read() == default + EDIT, "second install overwrote the edited jobd.conf"
        with open(example) as f:
            assert f.read() == default, "second install: jobd.conf.example is not the default"
        print("ok: edited jobd.conf kept, example installed")
    finally:
        shutil.rmtree(destdir)


if __name__ == "__main__":
    main()
