#!/usr/bin/env bash
# peers.sh - build the kernel's own example schedulers scx_simple and
# scx_qmap (tools/sched_ext) from the Debian source of the very kernel the
# benchmark VM boots, so that they run as peers in the same boot.
# (scx_userland, the C user-space ancestor of rustland, is not in the kernel
# tree: it lives in sched-ext/scx, which Debian does not package.)
#
# tests/vm/fetch-kernel.sh names the kernel (KERNEL_VERSION, KERNEL_SUITE,
# KERNEL_MIRROR). A private apt state (like fetch-kernel.sh's: never the
# host's configuration) reads that suite's Sources and `apt-get source
# --download-only linux=<version>` fetches the upstream tarball, checked
# against the SHA-256 of the signed Sources index. Only tools/ and include/ of the upstream
# tarball are unpacked (Debian's patches do not touch tools/sched_ext); the
# BPF side is compiled against the BTF of the test kernel's own vmlinux
# (bpf/gen-vmlinux.sh unpacks it), with the host's clang and bpftool.
#
# Usage: bench/peers.sh        prints the directory holding both binaries
#
# Cached in ${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/peers/<version>/;
# the source (about 150 MB) is deleted once they are built.
set -euo pipefail

log() { printf 'peers: %s\n' "$*" >&2; }
die() { printf 'peers: ERROR: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
env_file=$("$top/tests/vm/fetch-kernel.sh") || die "fetch-kernel.sh failed"
# shellcheck disable=SC1090
. "$env_file"
root=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/peers
out=$root/$KERNEL_VERSION
peers=(scx_simple scx_qmap)
if [[ -x $out/scx_simple && -x $out/scx_qmap ]]; then
	log "cached ${peers[*]} from linux $KERNEL_VERSION"
	echo "$out"
	exit 0
fi
for t in apt-get bpftool make cc; do command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"; done
clang=$(command -v clang-19 || command -v clang) || die "clang-19 not found (scripts/install-deps.sh installs it)"
keyring=${SCX_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

apt_dir=$root/apt
mkdir -p "$apt_dir"/{lists/partial,archives/partial,sources.list.d,preferences.d}
: >"$apt_dir/status"
cat >"$apt_dir/sources.list.d/scx-kernel-src.sources" <<EOF
Types: deb-src
URIs: $KERNEL_MIRROR
Suites: $KERNEL_SUITE
Components: main
Signed-By: $keyring
EOF
apt_opts=(-q -o "Dir::State=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir" -o "Dir::Cache::archives=$apt_dir/archives" -o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d" -o "Dir::Etc::Preferences=/dev/null"
	-o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d" -o "Acquire::Languages=none")
((EUID != 0)) || apt_opts+=(-o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update >&2 || die "apt-get update of $KERNEL_SUITE's Sources failed"

src=$root/src-$KERNEL_VERSION
mkdir -p "$src"
log "downloading the source of linux $KERNEL_VERSION ($KERNEL_SUITE)"
# Only the upstream tarball is needed. The archive has been seen to serve it
# but not the .dsc and Debian diff (404): go on when the tarball arrived and
# its SHA-256 is the one the signed Sources index lists (its name, with the
# upstream version, is unique in the index).
(cd "$src" && apt-get "${apt_opts[@]}" source --download-only "linux=$KERNEL_VERSION" >&2) ||
	log "apt-get source reported an error; checking the upstream tarball alone"
orig=$(compgen -G "$src/linux_*.orig.tar.*" | head -n1) || die "no linux_*.orig.tar.* downloaded into $src"
want=$(apt-cache "${apt_opts[@]}" showsrc linux |
	awk -v f="$(basename "$orig")" '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && $3 == f && !n++ { print $1 }')
[[ -n $want && $(sha256sum "$orig" | cut -d' ' -f1) == "$want" ]] ||
	die "$orig does not match the SHA-256 in $KERNEL_SUITE's Sources ('${want:-none listed}')"
tree=$src/tree
rm -rf "$tree"
mkdir -p "$tree"
log "unpacking tools/ and include/ of $(basename "$orig")"
tar -x -f "$orig" -C "$tree" --strip-components=1 --wildcards '*/tools/*' '*/include/*' '*/scripts/*' ||
	die "unpacking $orig failed"

vmlinux=$KERNEL_ROOT/vmlinux-$KERNEL_RELEASE
if [[ ! -s $vmlinux ]]; then
	"$top/bpf/gen-vmlinux.sh" -o "$src/vmlinux.h" >&2 || die "bpf/gen-vmlinux.sh failed"
fi
[[ -s $vmlinux ]] || die "$vmlinux missing (bpf/gen-vmlinux.sh should have unpacked it)"
log "make -C tools/sched_ext ${peers[*]} (CLANG=$clang, VMLINUX_BTF=$vmlinux)"
make -C "$tree/tools/sched_ext" -j2 CLANG="$clang" BPFTOOL="$(command -v bpftool)" VMLINUX_BTF="$vmlinux" \
	"${peers[@]}" >"$src/make.log" 2>&1 || { tail -n 40 "$src/make.log" >&2; die "building ${peers[*]} failed (log: $src/make.log)"; }
mkdir -p "$out.tmp"
for p in "${peers[@]}"; do
	install -m 755 "$tree/tools/sched_ext/build/bin/$p" "$out.tmp/$p" || die "$p was not built"
done
rm -rf "$out"
mv "$out.tmp" "$out"
rm -rf "$src"
log "built ${peers[*]} into $out"
echo "$out"
