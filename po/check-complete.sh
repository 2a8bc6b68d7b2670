#!/bin/sh
# Fails when a string that jobctl or jobd marks for translation (po/POTFILES)
# has no translation in a catalogue, or only a fuzzy one: a fresh template is
# extracted from the sources as `ninja jobd-pot` would (meson's glib preset),
# then msgcmp checks that the catalogue translates every entry of it.
# Usage: check-complete.sh SOURCE_ROOT CATALOGUE.po
set -eu
root=$1
catalogue=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
xgettext --from-code=UTF-8 --add-comments --language=C \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --files-from=po/POTFILES --output="$tmp/jobd.pot"
# msgcmp counts an untranslated or fuzzy entry of the catalogue as missing.
if ! msgcmp "$catalogue" "$tmp/jobd.pot" 2>"$tmp/missing"; then
  echo "$catalogue: untranslated strings:" >&2
  cat "$tmp/missing" >&2
  exit 1
fi
