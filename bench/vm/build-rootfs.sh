#!/usr/bin/env bash
# build-rootfs.sh - the disk the benchmark VM compiles real C sources from:
# a Debian bookworm minbase system with gcc and make (mmdebstrap) and the
# unpacked Debian source of Lua 5.4 in /src/lua (35 C files, a plain
# Makefile: `make -j` compiles them in parallel with no configure step).
# The guest mounts it read-only and builds in a tmpfs (bench/vm/suite.sh).
#
# Usage: bench/vm/build-rootfs.sh      prints the ext4 image's path
#
# Cached as ${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/bench/, keyed on
# everything that goes into it; the first run needs the Debian archive
# (about 90 MB of packages). Needs root (mmdebstrap, mke2fs -d keeps owners).
# Environment: SCX_RUSTLAND_CACHE, SCX_DEBIAN_MIRROR.
set -euo pipefail

log() { printf 'build-rootfs: %s\n' "$*" >&2; }
die() { printf 'build-rootfs: ERROR: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "must run as root (mmdebstrap, file ownership in the image)"
suite=bookworm
mirror=${SCX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=gcc,make,libc6-dev,dpkg-dev
source_pkg=lua5.4
cache=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/bench
key=$(printf '%s\n' "$suite" "$mirror" "$packages" "$source_pkg" v1 | sha256sum | cut -c1-16)
img=$cache/$suite-build-$key.ext4
if [[ -f $img ]]; then
	log "cached $img"
	echo "$img"
	exit 0
fi
for t in mmdebstrap mke2fs; do command -v "$t" >/dev/null || die "$t not found (Debian: mmdebstrap, e2fsprogs)"; done
mkdir -p "$cache"
work=$(mktemp -d "$cache/.rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "mmdebstrap --variant=minbase --include=$packages $suite, plus apt-get source $source_pkg ($mirror)"
t0=$(date +%s)
# apt-get source runs as root in the chroot (the _apt sandbox user could not
# write /src); the source's own directory name differs per version, hence the
# rename to /src/lua. The apt lists and the .orig tarball are dropped.
mmdebstrap --quiet --variant=minbase --include="$packages" \
	--customize-hook="chroot \"\$1\" sh -ec 'mkdir -p /src && cd /src &&
		apt-get -q -o APT::Sandbox::User=root source $source_pkg >/dev/null &&
		mv \$(find . -maxdepth 1 -mindepth 1 -type d) lua && rm -f *.tar.* *.dsc'" \
	"$suite" "$work/root" "deb $mirror $suite main" "deb-src $mirror $suite main" >&2 ||
	die "mmdebstrap failed"
[[ -f $work/root/src/lua/src/Makefile ]] || die "the $source_pkg source has no src/Makefile"
size_mb=$(($(du -sm "$work/root" | cut -f1) + 64))
mke2fs -q -F -t ext4 -L scx-bench-build -d "$work/root" "$work/img" "${size_mb}M" >&2 || die "mke2fs failed"
mv "$work/img" "$img"
log "built $img (${size_mb} MiB) in $(($(date +%s) - t0)) s"
echo "$img"
