#!/usr/bin/env bash
# lintian.sh - lintian on the .changes from build-deb.sh (the .deb and the
# .buildinfo): fails on any error or warning. Overrides, each with its reason,
# are in debian/scx-rustland.lintian-overrides.
#
# Usage: tests/packaging/lintian.sh DEB_DIR
set -euo pipefail
(($# == 1)) || { echo "usage: $0 DEB_DIR" >&2; exit 2; }
shopt -s nullglob
changes=("$1"/scx-rustland_*.changes)
((${#changes[@]} == 1)) || { echo "expected one .changes in $1, found ${#changes[@]}" >&2; exit 1; }
# --info: show the informational tags too; --show-overrides: and what the
# overrides hide, so the log says everything lintian found.
lintian --info --show-overrides --fail-on error,warning "${changes[0]}"
echo "lintian: no errors or warnings"
