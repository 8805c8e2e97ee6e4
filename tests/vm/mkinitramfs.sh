#!/usr/bin/env bash
# mkinitramfs.sh - build the initramfs a test VM boots into.
#
# The VM has no disk: everything a test needs lives in this cpio archive.
# It always contains busybox-static (with applet symlinks), the guest helper
# library (/usr/lib/scx-vm/guest-lib.sh) and, unless -T, the load/benchmark
# tools stress-ng, hackbench, cyclictest and perf. Dynamic binaries are copied
# with every library `ldd` reports plus the dynamic loader, at the same paths
# as on the host, so the guest needs no package manager.
#
# Usage: tests/vm/mkinitramfs.sh -o OUT -i INIT [options]
#   -o OUT        output; compression from the name: *.zst (zstd) or *.gz (gzip)
#   -i INIT       script installed as /init (must start with #!/bin/sh)
#   -b BIN[:DST]  binary (+ its libraries) installed as DST (default
#                 /usr/bin/<name>); repeatable. If <name> is also a busybox
#                 applet, the guest shell runs the applet unless you call it
#                 by full path.
#   -L LIB        extra shared library (e.g. one that is dlopen()ed), copied at
#                 its host path with its own dependencies; repeatable
#   -f SRC:DST    plain file or directory copied to DST (a DST ending in / is a
#                 directory to copy into); repeatable
#   -T            leave out stress-ng/hackbench/cyclictest/perf
#   -h            this help
#
# Example (e2e test):
#   tests/vm/mkinitramfs.sh -o build/vm/e2e.cpio.zst -i tests/vm/e2e-init.sh \
#       -b build/src/scx-rustland -f tests/vm/cases/:/tests/
set -euo pipefail

log() { printf 'mkinitramfs: %s\n' "$*" >&2; }
die() { printf 'mkinitramfs: ERROR: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="" init="" tools=1
bins=() libs=() files=()
while getopts "o:i:b:L:f:Th" opt; do
	case $opt in
	o) out=$OPTARG ;;
	i) init=$OPTARG ;;
	b) bins+=("$OPTARG") ;;
	L) libs+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	T) tools=0 ;;
	h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "bad option (try -h)" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || die "unexpected arguments: $* (try -h)"
[[ -n $out ]] || die "-o OUT is required"
[[ -n $init ]] || die "-i INIT is required"
[[ -f $init ]] || die "init script $init not found"
[[ $(head -c 2 "$init") == '#!' ]] || die "$init must start with a #! line (e.g. #!/bin/sh)"
case $out in
*.zst) compress=(zstd -q -T0 -3 -c) ;;
*.gz) compress=(gzip -1 -c) ;;
*) die "output name must end in .zst or .gz: $out" ;;
esac
for t in cpio ldd "${compress[0]}"; do
	command -v "$t" >/dev/null || die "$t not found (Debian packages: cpio, libc-bin, zstd/gzip)"
done

t_start=$(date +%s.%N)
root=$(mktemp -d "${TMPDIR:-/tmp}/scx-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

# usr-merged layout: /bin, /sbin, /usr/sbin are /usr/bin and /lib, /lib64
# point into /usr, so a library copied to the path ldd printed
# (/lib/x86_64-linux-gnu/...) lands in /usr/lib and every spelling resolves.
mkdir -p "$root"/{usr/bin,usr/lib,usr/lib64,usr/lib/scx-vm,proc,sys,dev,tmp,run,etc,root,mnt,var/tmp}
ln -s bin "$root/usr/sbin"
ln -s usr/bin "$root/bin"
ln -s usr/bin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

declare -A copied=()
lib_list=() # host paths of libraries; copied in one go at the end (forks are slow)

# copy_file SRC DST: DST is an absolute path inside the image; follows
# symlinks in SRC. --remove-destination everywhere: a DST that is already a
# busybox applet link points to the absolute /usr/bin/busybox, and writing
# through it would overwrite the HOST's busybox.
copy_file() {
	mkdir -p "$root${2%/*}"
	cp -L --remove-destination --preserve=mode "$1" "$root$2"
}

# queue_libs FILE: queue every library FILE needs, plus the loader, to be
# copied to their host paths.
queue_libs() {
	local f=$1 line lib ldd_out
	# ldd fails on static binaries ("not a dynamic executable"): nothing to copy.
	ldd_out=$(ldd "$f" 2>/dev/null) || return 0
	while IFS= read -r line; do
		lib=""
		case $line in
		*"=> not found"*) die "$f needs ${line%% =>*}, which ldd cannot find" ;;
		*"=> /"*) lib=${line#*=> } && lib=${lib%% (*} ;;
		[[:space:]]/*) lib=${line#"${line%%[![:space:]]*}"} && lib=${lib%% (*} ;;
		esac
		[[ -n $lib && -z ${copied[$lib]:-} ]] || continue
		copied[$lib]=1
		lib_list+=("$lib")
	done <<<"$ldd_out"
}

# add_bin SRC [DST]
add_bin() {
	local src=$1 dst=${2:-/usr/bin/$(basename "$1")}
	[[ -f $src ]] || die "binary $src not found"
	copy_file "$src" "$dst"
	chmod 755 "$root$dst"
	queue_libs "$src"
}

# Real ELF behind a command name (Debian's perf may be a wrapper script that
# execs perf_<kernel-version>, which would not match the guest's kernel).
resolve_tool() {
	local name=$1 p cand
	p=$(command -v "$name" 2>/dev/null || true)
	[[ -z $p && -x /usr/sbin/$name ]] && p=/usr/sbin/$name
	[[ -n $p ]] || return 1
	p=$(readlink -f "$p")
	if [[ $(head -c 4 "$p") != $'\x7fELF' ]]; then
		cand=$(compgen -G "$(dirname "$p")/${name}_*" | sort -V | tail -n1 || true)
		[[ -n $cand && $(head -c 4 "$cand") == $'\x7fELF' ]] || return 1
		p=$cand
	fi
	echo "$p"
}

# ---- busybox ----------------------------------------------------------------
bb=$(command -v busybox || true)
[[ -n $bb ]] || die "busybox not found (Debian: apt-get install busybox-static)"
if ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked; install busybox-static"
fi
copy_file "$bb" /usr/bin/busybox
# All applets become symlinks to /usr/bin/busybox in /usr/bin (which is also
# /bin, /sbin and /usr/sbin). `busybox --install` does it in one process but
# links to its own path, so run the host binary when that is /usr/bin/busybox;
# otherwise one `ln` per applet (~270 forks, a few seconds).
if [[ $(readlink -f "$bb") == /usr/bin/busybox ]]; then
	/usr/bin/busybox --install -s "$root/usr/bin"
else
	while IFS= read -r applet; do
		[[ -e $root/usr/bin/$applet ]] || ln -s /usr/bin/busybox "$root/usr/bin/$applet"
	done < <("$bb" --list)
fi

# ---- tools ------------------------------------------------------------------
if ((tools)); then
	declare -A pkg_of=([stress-ng]=stress-ng [hackbench]=rt-tests [cyclictest]=rt-tests [perf]=linux-perf)
	for t in stress-ng hackbench cyclictest perf; do
		p=$(resolve_tool "$t") || die "$t not found (Debian package: ${pkg_of[$t]}); or pass -T"
		add_bin "$p" "/usr/bin/$t"
	done
fi

# ---- caller's content -------------------------------------------------------
for b in "${bins[@]}"; do
	if [[ $b == *:* ]]; then add_bin "${b%%:*}" "${b#*:}"; else add_bin "$b"; fi
done
for l in "${libs[@]}"; do
	[[ -f $l ]] || die "library $l not found"
	# Keep the name we were given (usually the soname symlink), not its target.
	[[ $l == /* ]] || l=$(realpath -s "$l")
	lib_list+=("$l")
	queue_libs "$l"
done
for f in "${files[@]}"; do
	[[ $f == *:/* ]] || die "-f wants SRC:/ABSOLUTE/DST, got '$f'"
	src=${f%%:*} dst=${f#*:}
	[[ -e $src ]] || die "file $src not found"
	if [[ $dst == */ ]]; then
		mkdir -p "$root$dst"
	else
		mkdir -p "$root$(dirname "$dst")"
	fi
	cp -a --remove-destination "$src" "$root$dst"
done

# --parents recreates each library's host path under $root (through the
# lib -> usr/lib symlinks); one cp for all of them.
if ((${#lib_list[@]})); then
	declare -A dirs=()
	for l in "${lib_list[@]}"; do dirs[$root${l%/*}]=1; done
	mkdir -p "${!dirs[@]}" # cp --parents will not create dirs through a symlink
	cp -L --remove-destination --preserve=mode --parents "${lib_list[@]}" "$root/"
fi

install -m 644 "$here/guest-lib.sh" "$root/usr/lib/scx-vm/guest-lib.sh"
install -m 755 "$init" "$root/init"

# Minimal identity files: some tools call getpwuid()/getgrgid().
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost scx-vm\n' >"$root/etc/hosts"
# The kernel opens /dev/console for init before anything is mounted; without
# the node init starts with no stdout (guest-lib.sh re-attaches as a fallback).
if ((EUID == 0)); then
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | "${compress[@]}" >"$out.tmp"
mv "$out.tmp" "$out"
t_end=$(date +%s.%N)
log "wrote $out ($(du -h "$out" | cut -f1), $(du -sh "$root" | cut -f1) unpacked) in $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s"
