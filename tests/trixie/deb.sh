#!/usr/bin/env bash
# deb.sh - the package on Debian 13 (trixie), from this Debian 12 machine:
# built and linted in the trixie root of build-root.sh.
#
# Usage: tests/trixie/deb.sh build OUT_DIR
#          A fresh copy of the root in OUT_DIR/root, the source copied in
#          (scripts/lib-pkgsrc.sh), dpkg-buildpackage -us -uc -b there (its
#          dh_auto_test runs the unit tests against trixie's libraries); the
#          .deb, .buildinfo and .changes end up in OUT_DIR. The root stays
#          for the lintian step.
#        tests/trixie/deb.sh lintian OUT_DIR
#          trixie's lintian on those, in OUT_DIR/root: no error or warning.
# Needs root (chroot, mounts). Environment: SCX_BUILD_JOBS (default 2).
set -euo pipefail

log() { printf 'trixie-deb: %s\n' "$*" >&2; }
die() { printf 'trixie-deb: ERROR: %s\n' "$*" >&2; exit 1; }

(($# == 2)) || die "usage: $0 build|lintian OUT_DIR"
step=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
root=$out/root
((EUID == 0)) || die "must run as root (chroot, mounts)"

# A command in the root, with /dev and a /proc of its own (the unit tests
# read /proc); the mounts go with the private mount namespace.
in_root() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --pid --fork --kill-child sh -c '
		root=$1; shift
		mount --bind /dev "$root/dev" && mount -t proc proc "$root/proc" || exit 125
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"
	' in_root "$root" "$@"
}

case $step in
build)
	tarball=$("$here/build-root.sh") || die "build-root.sh failed"
	start=$(date +%s)
	rm -rf "$root" "$out"/scx-rustland_*
	mkdir -p "$root"
	tar -C "$root" -xf "$tarball" || die "cannot unpack $tarball"
	# shellcheck source=scripts/lib-pkgsrc.sh
	. "$src/scripts/lib-pkgsrc.sh"
	copy_clean_source "$src" "$root/build/scx-rustland"
	log "root unpacked in $(($(date +%s) - start)) s; dpkg-buildpackage"
	in_root sh -c "cd /build/scx-rustland && dpkg-checkbuilddeps && dpkg-buildpackage -us -uc -b -j${SCX_BUILD_JOBS:-2}" ||
		die "dpkg-buildpackage failed in the trixie root"
	shopt -s nullglob
	results=("$root"/build/scx-rustland_*.deb "$root"/build/scx-rustland_*.buildinfo "$root"/build/scx-rustland_*.changes)
	((${#results[@]} == 3)) || die "expected a .deb, a .buildinfo and a .changes, found: ${results[*]}"
	cp "${results[@]}" "$out/"
	rm -rf "$root/build/scx-rustland"
	log "built in $(($(date +%s) - start)) s: $(cd "$out" && echo scx-rustland_*.deb)"
	;;
lintian)
	[[ -d $root/build ]] || die "$root has no build (run: $0 build $2)"
	changes=$(cd "$root/build" && echo scx-rustland_*.changes)
	[[ -f $root/build/$changes ]] || die "no .changes in $root/build"
	in_root lintian --version
	# The same flags as the bookworm check (tests/packaging/lintian.sh).
	in_root lintian --info --show-overrides --fail-on error,warning "/build/$changes" ||
		die "lintian (trixie) found errors or warnings"
	echo "lintian (trixie): no errors or warnings"
	;;
*) die "unknown step '$step' (build or lintian)" ;;
esac
