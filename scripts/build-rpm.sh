#!/usr/bin/env bash
# build-rpm.sh - build the scx-rustland .rpm from rpm/scx-rustland.spec on
# Debian, and check it.
#
# Usage: scripts/build-rpm.sh OUT_DIR [SOURCE_DIR]
#
# Packs a clean copy of SOURCE_DIR (default: this repository; see
# lib-pkgsrc.sh) as Source0, then runs `rpmbuild -bb --nodeps` in a private
# _topdir: --nodeps because the BuildRequires name Fedora packages, and
# Debian's equivalents (debian/control) are installed instead. rpm/debian-macros
# supplies the Fedora macros Debian's rpm lacks (%cmake, %ctest,
# %systemd_post, ...). The binary .rpm goes to OUT_DIR (its path is printed on
# stdout); then `rpm -qlp` lists it and rpmlint checks it (output on stderr;
# rpmlint errors fail the script).
# Environment: SCX_BUILD_JOBS (parallel jobs, default 2).
set -euo pipefail

die() { printf 'build-rpm: ERROR: %s\n' "$*" >&2; exit 1; }

(($# == 1 || $# == 2)) || die "usage: $0 OUT_DIR [SOURCE_DIR]"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
src=$(cd "${2:-$here/..}" && pwd)
spec=$src/rpm/scx-rustland.spec
[[ -f $spec ]] || die "$spec not found"
for t in rpmbuild rpm rpmspec rpmlint git tar; do
	command -v "$t" >/dev/null || die "$t not found (Debian: rpm, rpmlint, git)"
done
# shellcheck source=scripts/lib-pkgsrc.sh
. "$here/lib-pkgsrc.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/scx-rustland-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
rpmargs=(--load "$src/rpm/debian-macros" --define "_topdir $work/rpmbuild"
	--define "_smp_mflags -j${SCX_BUILD_JOBS:-2}")
nv=$(rpmspec "${rpmargs[@]}" -q --srpm --qf '%{name}-%{version}' "$spec")
mkdir -p "$work/rpmbuild/SOURCES"
copy_clean_source "$src" "$work/$nv"
tar -C "$work" -czf "$work/rpmbuild/SOURCES/$nv.tar.gz" "$nv"

rpmbuild "${rpmargs[@]}" -bb --nodeps "$spec" >&2 || die "rpmbuild failed"
shopt -s nullglob
rpms=("$work"/rpmbuild/RPMS/*/*.rpm)
((${#rpms[@]})) || die "rpmbuild produced no .rpm"
mv -f "${rpms[@]}" "$out/"

for f in "${rpms[@]}"; do
	f=$out/$(basename "$f")
	printf -- '--- rpm -qlp %s\n' "$f" >&2
	rpm -qlp "$f" >&2
	printf -- '--- rpmlint %s\n' "$f" >&2
	# rpmlint exits non-zero on errors (and on warnings once over its badness
	# threshold, which we do not set).
	rpmlint -c "$src/rpm/rpmlint.toml" "$f" >&2 || die "rpmlint found errors in $f"
	printf '%s\n' "$f"
done
