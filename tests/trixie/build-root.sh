#!/usr/bin/env bash
# build-root.sh - a Debian 13 (trixie) root to build and check the package in:
# mmdebstrap's buildd variant, the Build-Depends of debian/control and
# lintian, from Debian's archive. Cached as a tarball under
# ${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/rootfs, keyed on
# debian/control, this script and the mirror; prints the tarball's path.
#
# Usage: tests/trixie/build-root.sh
# Needs root (mmdebstrap's root mode), mmdebstrap and the network the first
# time. Environment: SCX_RUSTLAND_CACHE, SCX_DEBIAN_MIRROR.
set -euo pipefail

log() { printf 'trixie-root: %s\n' "$*" >&2; }
die() { printf 'trixie-root: ERROR: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
((EUID == 0)) || die "must run as root (mmdebstrap in root mode)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (scripts/install-deps.sh installs it)"

suite=trixie
mirror=${SCX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}
key=$(cat "$src/debian/control" "$here/build-root.sh" <(printf '%s\n' "$mirror") | sha256sum | cut -c1-16)
tarball=$cache/rootfs/$suite-build-$key.tar.zst
mkdir -p "$cache/rootfs"
if [[ -f $tarball ]]; then
	log "cached $tarball"
	printf '%s\n' "$tarball"
	exit 0
fi

start=$(date +%s)
log "mmdebstrap --variant=buildd $suite ($mirror) + Build-Depends + lintian"
# apt-get build-dep on a directory reads its debian/control: the root gets
# exactly what the package declares, so a dependency that does not resolve
# on trixie fails here.
# shellcheck disable=SC2016 # "$1" is the hook's argument, expanded by mmdebstrap's shell
mmdebstrap --quiet --variant=buildd --include=lintian \
	--customize-hook="mkdir -p \"\$1/tmp/src/debian\" && cp '$src/debian/control' \"\$1/tmp/src/debian/\"" \
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y --no-install-recommends /tmp/src' \
	--customize-hook='rm -rf "$1/tmp/src"' \
	"$suite" "$tarball.tmp.tar.zst" "deb $mirror $suite main" >&2 ||
	{ rm -f "$tarball.tmp.tar.zst"; die "mmdebstrap failed"; }
mv "$tarball.tmp.tar.zst" "$tarball"
log "built in $(($(date +%s) - start)) s ($(du -h "$tarball" | cut -f1)): $tarball"
printf '%s\n' "$tarball"
