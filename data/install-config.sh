#!/bin/sh
# SPDX-License-Identifier: MIT
# Meson install script: put the default jobd.conf in place only when there is
# none, so `meson install` (rerun on every upgrade) never overwrites an
# administrator's edits. The default also ships as jobd.conf.example.
# Usage: install-config.sh SOURCE-FILE CONFIG-DIR  (DESTDIR respected)
set -eu
src="$1"
dest="${DESTDIR:-}$2/jobd.conf"
if [ -e "$dest" ] || [ -L "$dest" ]; then
  echo "Keeping existing $dest (the default is in jobd.conf.example)"
  exit 0
fi
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
  echo "Would install $dest"
  exit 0
fi
install -D -m 0644 "$src" "$dest"
echo "Installing $src to $dest"
