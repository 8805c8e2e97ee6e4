#!/usr/bin/env bash
# run.sh - system test of the .deb: installed with apt in a Debian bookworm
# (or trixie) system, booted with systemd as PID 1 on a sched_ext kernel
# under QEMU.
#
# Usage: tests/vm/system/run.sh BUILD_DIR
#
# SCX_SYSTEM_SUITE picks the system: bookworm (default) or trixie. Each has
# its own outputs, BUILD_DIR/vm/system or BUILD_DIR/vm/system-trixie.
#
#  1. The package: $SCX_SYSTEM_DEB if set; else the newest
#     scx-rustland_*.deb that is newer than every source file, in
#     BUILD_DIR/tests/packaging/deb or BUILD_DIR/vm/system/deb (bookworm;
#     else scripts/build-deb.sh builds one into the latter) or in
#     BUILD_DIR/tests/trixie (trixie, from tests/trixie/deb.sh build).
#  2. A minbase rootfs of the suite (mmdebstrap) with systemd, dbus, polkitd,
#     bpftool, gamemode, dbus-user-session, a non-root user (scxuser, uid 1000)
#     and, for bookworm, the bookworm-backports source (where libbpf1 >= 1.4
#     comes from; trixie has 1.5), cached as a tarball under
#     ${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/rootfs, keyed on
#     everything that goes into it. Its apt lists are kept, and downloaded
#     packages are cached in .../apt-archives, so a rerun needs no network
#     once the dependencies have been fetched.
#  3. A fresh copy of it, where `apt-get install [-t bookworm-backports]
#     ./scx-rustland_*.deb` runs in a chroot: apt resolves the real
#     dependencies (on bookworm libbpf1 >= 1.4 from backports, the rest from
#     bookworm). Then the test itself: guest-test.sh run by
#     scx-system-test.service (enabled) after multi-user.target.
#  4. An ext4 image (mke2fs -d) and a busybox initramfs that loads
#     virtio_blk and ext4 and switch_roots to it.
#  5. Two boots of the same image (tests/vm/boot.sh -d): the first runs the
#     service tests and leaves the unit enabled, the second checks that it
#     came back attached at boot, then purges the package.
#
# Outputs in BUILD_DIR/vm/system/ (image, initramfs, serial logs).
# Needs root (mmdebstrap, chroot, ownership in the image), mmdebstrap
# (installed with apt-get when missing), mke2fs, busybox-static,
# qemu-system-x86, and the network the first time. Environment:
# SCX_SYSTEM_SUITE, SCX_RUSTLAND_CACHE, SCX_SYSTEM_DEB, SCX_SYSTEM_TIMEOUT
# (per boot, default 900 s), SCX_DEBIAN_MIRROR.
set -euo pipefail

log() { printf 'system-test: %s\n' "$*" >&2; }
die() { printf 'system-test: ERROR: %s\n' "$*" >&2; exit 126; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

(($# == 1)) || die "usage: $0 BUILD_DIR"
build=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vmdir=$(cd "$here/.." && pwd)
src=$(cd "$here/../../.." && pwd)
((EUID == 0)) || die "must run as root (mmdebstrap, chroot, file ownership in the image)"
for t in mke2fs xz cpio zstd chroot mount; do command -v "$t" >/dev/null || die "$t not found"; done
suite=${SCX_SYSTEM_SUITE:-bookworm}
case $suite in
bookworm)
	out=$build/vm/system
	# apt considers only each package's candidate, and libbpf1's is
	# bookworm's 1.1, which the package refuses.
	apt_target=(-t bookworm-backports)
	deb_dirs=("$build/tests/packaging/deb" "$out/deb")
	;;
trixie)
	out=$build/vm/system-trixie
	apt_target=()
	deb_dirs=("$build/tests/trixie")
	;;
*) die "SCX_SYSTEM_SUITE='$suite': bookworm or trixie" ;;
esac
mkdir -p "$out"

t_all=$(now)
env_file=$("$vmdir/fetch-kernel.sh") || die "fetch-kernel.sh failed"
# shellcheck disable=SC1090
. "$env_file"
[[ -d ${MODULES:-} ]] || die "kernel module tree missing ($env_file: MODULES='${MODULES:-}')"

# ---- 1. the package ------------------------------------------------------------
# fresh_deb DIR: the newest scx-rustland_*.deb in DIR if no source file is
# newer than it.
fresh_deb() {
	local deb newest
	# shellcheck disable=SC2012 # our own file names
	deb=$(ls -t "$1"/scx-rustland_*.deb 2>/dev/null | head -n1) || true
	[[ -n $deb ]] || return 1
	newest=$(cd "$src" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
		xargs -0 -r stat -c %Y 2>/dev/null | sort -n | tail -n1)
	[[ -n $newest ]] && (($(stat -c %Y "$deb") >= newest)) && printf '%s\n' "$deb"
}
reused=""
if [[ -z ${SCX_SYSTEM_DEB:-} ]]; then
	for dir in "${deb_dirs[@]}"; do
		reused=$(fresh_deb "$dir") && break
	done
fi
if [[ -n ${SCX_SYSTEM_DEB:-} ]]; then
	deb=$(realpath "$SCX_SYSTEM_DEB")
elif [[ -n $reused ]]; then
	deb=$reused
	log "package: reusing $deb (newer than every source file)"
elif [[ $suite == trixie ]]; then
	die "no trixie .deb newer than the source in ${deb_dirs[*]} (tests/trixie/deb.sh build builds it)"
else
	t=$(now)
	rm -rf "$out/deb"
	log "package: building with scripts/build-deb.sh (log: $out/build-deb.log)"
	deb=$("$src/scripts/build-deb.sh" "$out/deb" "$src" 2>"$out/build-deb.log" | grep '/scx-rustland_[^/]*\.deb$') ||
		{ tail -n 30 "$out/build-deb.log" >&2; die "building the .deb failed"; }
	log "package: built in $(since "$t") s"
fi
[[ -f $deb ]] || die "package $deb not found"
log "package: $deb"

# ---- 2. rootfs (cached) ------------------------------------------------------
mirror=${SCX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
sources=("deb $mirror $suite main")
[[ $suite == bookworm ]] && sources+=("deb $mirror $suite-backports main")
# gamemode, dbus-user-session and libpam-systemd: the GameMode follower's test (the real
# gamemoded under scxuser's user manager, on its own session bus).
packages=systemd-sysv,dbus,polkitd,udev,procps,bpftool,ca-certificates,gamemode,dbus-user-session,libpam-systemd
user=scxuser
cache=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}
key=$( (printf '%s\n' "$suite" "$mirror" minbase "$packages" "$user" backports-v1) | sha256sum | cut -c1-16)
tarball=$cache/rootfs/$suite-system-$key.tar
archives=$cache/apt-archives
mkdir -p "$cache/rootfs" "$archives/partial"
if [[ -f $tarball ]]; then
	log "rootfs: cached $tarball"
else
	if ! command -v mmdebstrap >/dev/null; then
		log "mmdebstrap not found: installing it with apt-get (Debian package mmdebstrap)"
		apt-get install -y --no-install-recommends mmdebstrap >&2 || die "apt-get install mmdebstrap failed"
	fi
	t=$(now)
	log "rootfs: mmdebstrap --variant=minbase --include=$packages ${sources[*]}"
	# The apt lists stay in the image (skip cleanup/apt/lists): `apt-get
	# install ./x.deb` can then resolve offline against the cached archives.
	mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
		--skip=cleanup/apt/lists \
		--customize-hook="chroot \"\$1\" useradd --create-home --uid 1000 --shell /bin/bash $user" \
		"$suite" "$tarball.tmp" "${sources[@]}" >&2 ||
		{ rm -f "$tarball.tmp"; die "mmdebstrap failed"; }
	mv "$tarball.tmp" "$tarball"
	log "rootfs: built in $(since "$t") s ($(du -h "$tarball" | cut -f1))"
fi

# ---- 3. install the package with apt, add the test -----------------------------------
root=$out/rootfs
t=$(now)
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$tarball"

mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
	[[ -n ${stage:-} ]] && rm -rf "$stage"
	return 0
}
trap cleanup EXIT
bind() { mount --bind "$1" "$2" && mounts+=("$2"); }
bind /dev "$root/dev"
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount -t sysfs sysfs "$root/sys" && mounts+=("$root/sys")
bind "$archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# Fresh lists if the mirror is reachable; otherwise the image's own.
in_root apt-get -q update >&2 || log "apt-get update failed: using the lists cached in the rootfs"
# The way a user installs it (docs/packaging.md): apt resolves every
# dependency.
if ! in_root apt-get install -y "${apt_target[@]}" "/tmp/$(basename "$deb")" 2>&1 | sed 's/^/  apt: /' >&2; then
	die "apt-get install ${apt_target[*]} ./$(basename "$deb") failed"
fi
# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
in_root dpkg-query -W -f='  installed: ${Package} ${Version}\n' scx-rustland libbpf1 >&2
rm -f "$root/tmp/$(basename "$deb")" "$root/etc/resolv.conf"
cleanup
mounts=()

install -D -m 644 "$vmdir/guest-lib.sh" "$root/usr/lib/scx-vm/guest-lib.sh"
install -D -m 755 "$here/guest-test.sh" "$root/usr/lib/scx-vm/guest-test.sh"
install -D -m 644 "$here/hostile-checks.sh" "$root/usr/lib/scx-vm/hostile-checks.sh"
install -D -m 755 "$build/tests/vm/dbus-hostile" "$root/usr/lib/scx-vm/dbus-hostile" || die "build dbus-hostile first"
install -D -m 644 "$here/scx-system-test.service" "$root/etc/systemd/system/scx-system-test.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../scx-system-test.service "$root/etc/systemd/system/multi-user.target.wants/scx-system-test.service"
ln -sf /usr/lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
# A getty on the test console calls vhangup() and cuts off our output.
for u in serial-getty@ttyS0.service getty@tty1.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# A set machine id: no first-boot logic (systemd-firstboot prompts).
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"
echo scx-vm >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 0\n' >"$root/etc/fstab"

img=$out/rootfs.ext4
size_mb=$(($(du -sm "$root" | cut -f1) + 256))
rm -f "$img"
mke2fs -q -F -t ext4 -L scx-root -d "$root" "$img" "${size_mb}M" || die "mke2fs failed"
rm -rf "$root"
log "image: $img (${size_mb} MiB) in $(since "$t") s"

# ---- 4. initramfs -------------------------------------------------------------
t=$(now)
stage=$(mktemp -d "${TMPDIR:-/tmp}/scx-system-mods.XXXXXX")
mkdir -p "$stage/modules"
# Load order: dependencies first (ext4 needs jbd2, crc16, mbcache; virtio,
# virtio_pci and crc32c are built in to the Debian kernel). Built-in ones
# are skipped.
: >"$stage/modules/order"
for m in drivers/block/virtio_blk lib/crc/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
	name=${m##*/}
	if grep -q "/$name.ko\$" "$MODULES/modules.builtin"; then continue; fi
	f=$(compgen -G "$MODULES/kernel/$m.ko*" | head -n1 || true)
	[[ -n $f ]] || die "module $m not found in $MODULES"
	case $f in
	*.xz) xz -dc "$f" >"$stage/modules/$name.ko" ;;
	*.zst) zstd -qdc "$f" >"$stage/modules/$name.ko" ;;
	*.gz) gzip -dc "$f" >"$stage/modules/$name.ko" ;;
	*) cp "$f" "$stage/modules/$name.ko" ;;
	esac
	echo "$name.ko" >>"$stage/modules/order"
done
initrd=$out/initramfs.cpio.zst
"$vmdir/mkinitramfs.sh" -T -o "$initrd" -i "$here/initramfs-init.sh" -f "$stage/modules:/" 2>&1 | sed 's/^/  /' >&2
log "initramfs: $initrd in $(since "$t") s (modules: $(tr '\n' ' ' <"$stage/modules/order"))"

# ---- 5. two boots of the same disk ------------------------------------------------
# Boot 2 runs after a boot 1 with failed checks too (status 1), but not
# after a timeout, crash or qemu failure (124..126: the disk state is unknown).
rc=0
for boot in 1 2; do
	t=$(now)
	set +e
	"$vmdir/boot.sh" -k "$env_file" -i "$initrd" -d "$img" -l "$out/serial-boot$boot.log" \
		-t "${SCX_SYSTEM_TIMEOUT:-900}"
	boot_rc=$?
	set -e
	log "boot $boot: $(since "$t") s, guest status $boot_rc"
	((rc != 0)) || rc=$boot_rc
	((boot_rc == 0 || boot_rc == 1)) || break
done
log "whole run: $(since "$t_all") s; status $rc"
exit "$rc"
