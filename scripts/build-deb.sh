#!/usr/bin/env bash
# build-deb.sh - build the scx-rustland .deb from a clean copy of the source.
#
# Usage: scripts/build-deb.sh OUT_DIR [SOURCE_DIR]
#
# Copies SOURCE_DIR (default: this repository; see lib-pkgsrc.sh for what is
# copied) to a temporary directory, runs `dpkg-buildpackage -us -uc -b`
# there (unsigned, binary only; the unit tests run in dh_auto_test) and moves
# the .deb, .buildinfo and .changes files to OUT_DIR. Prints the path of each
# .deb on stdout; the build log goes to stderr.
#
# Needs the Build-Depends of debian/control (scripts/install-deps.sh installs
# them; `dpkg-checkbuilddeps` says what is missing). Environment:
# SCX_BUILD_JOBS (parallel jobs, default 2), DEB_BUILD_OPTIONS (e.g. nocheck).
set -euo pipefail

die() { printf 'build-deb: ERROR: %s\n' "$*" >&2; exit 1; }

(($# == 1 || $# == 2)) || die "usage: $0 OUT_DIR [SOURCE_DIR]"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
src=$(cd "${2:-$here/..}" && pwd)
[[ -f $src/debian/control ]] || die "$src/debian/control not found"
for t in dpkg-buildpackage dpkg-checkbuilddeps git tar; do
	command -v "$t" >/dev/null || die "$t not found (Debian: dpkg-dev, git)"
done
# shellcheck source=scripts/lib-pkgsrc.sh
. "$here/lib-pkgsrc.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/scx-rustland-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# dpkg-buildpackage writes its results next to the source directory.
copy_clean_source "$src" "$work/scx-rustland"
(cd "$work/scx-rustland" && dpkg-checkbuilddeps) >&2 || die "missing build dependencies (above)"
(cd "$work/scx-rustland" && dpkg-buildpackage -us -uc -b -j"${SCX_BUILD_JOBS:-2}") >&2 ||
	die "dpkg-buildpackage failed"

shopt -s nullglob
debs=("$work"/*.deb)
((${#debs[@]})) || die "dpkg-buildpackage produced no .deb"
for f in "${debs[@]}" "$work"/*.buildinfo "$work"/*.changes; do
	mv -f "$f" "$out/"
done
for f in "${debs[@]}"; do printf '%s/%s\n' "$out" "$(basename "$f")"; done
