#!/usr/bin/env bash
# run.sh - system test: the real systemd unit (systemd/scx-rustland.service,
# all its hardening) on a sched_ext kernel, in a VM running Debian bookworm
# with systemd as PID 1.
#
# Usage: tests/vm/system/run.sh BUILD_DIR
#
#  1. A bookworm minbase rootfs (mmdebstrap; systemd-sysv, dbus, udev,
#     procps for the unit's /bin/kill), cached as a tarball under
#     ${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/rootfs, keyed on
#     suite, mirror and package list.
#  2. A fresh copy gets BUILD_DIR/src/scx-rustland as /usr/sbin/scx-rustland
#     (plus the libraries `ldd` lists that the rootfs lacks, and always
#     libbpf, which must be >= 1.4), etc/scx-rustland/config.toml, the unit
#     in /usr/lib/systemd/system, and scx-system-test.service (enabled),
#     which runs guest-test.sh after multi-user.target. The serial getty is
#     masked: it would hang up the console we read the results from.
#  3. An ext4 image (mke2fs -d) and a busybox initramfs that loads
#     virtio_blk and ext4 (modules in the Debian kernel) and switch_roots.
#  4. tests/vm/boot.sh -d IMAGE; exits with the guest's status.
#
# Outputs in BUILD_DIR/vm/system/ (image, initramfs, serial log).
# Needs root (mmdebstrap, ownership in the image), mmdebstrap (installed
# with apt-get when missing), mke2fs, busybox-static, qemu-system-x86.
# Environment: SCX_RUSTLAND_CACHE, SCX_SYSTEM_TIMEOUT (boot timeout,
# default 600 s).
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
daemon=$build/src/scx-rustland
[[ -x $daemon ]] || die "$daemon not found; build first (cmake --build $build)"
((EUID == 0)) || die "must run as root (mmdebstrap, file ownership in the image)"
for t in mke2fs xz cpio zstd ldd; do command -v "$t" >/dev/null || die "$t not found"; done

t_all=$(now)
env_file=$("$vmdir/fetch-kernel.sh") || die "fetch-kernel.sh failed"
# shellcheck disable=SC1090
. "$env_file"
[[ -d ${MODULES:-} ]] || die "kernel module tree missing ($env_file: MODULES='${MODULES:-}')"

# ---- 1. rootfs (cached) ------------------------------------------------------
suite=bookworm
mirror=${KERNEL_MIRROR:-http://deb.debian.org/debian}
packages=systemd-sysv,dbus,udev,procps
cache=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}/rootfs
key=$(printf '%s\n' "$suite" "$mirror" minbase "$packages" | sha256sum | cut -c1-16)
tarball=$cache/$suite-minbase-$key.tar
mkdir -p "$cache"
if [[ -f $tarball ]]; then
	log "rootfs: cached $tarball"
else
	if ! command -v mmdebstrap >/dev/null; then
		log "mmdebstrap not found: installing it with apt-get (Debian package mmdebstrap)"
		apt-get install -y --no-install-recommends mmdebstrap >&2 || die "apt-get install mmdebstrap failed"
	fi
	t=$(now)
	log "rootfs: mmdebstrap --variant=minbase --include=$packages $suite ($mirror)"
	mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" "$suite" "$tarball.tmp" "$mirror" >&2 ||
		{ rm -f "$tarball.tmp"; die "mmdebstrap failed"; }
	mv "$tarball.tmp" "$tarball"
	log "rootfs: built in $(since "$t") s ($(du -h "$tarball" | cut -f1))"
fi

# ---- 2. populate a fresh copy ------------------------------------------------------
out=$build/vm/system
root=$out/rootfs
t=$(now)
mkdir -p "$out"
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$tarball"

install -D -m 755 "$daemon" "$root/usr/sbin/scx-rustland"
# Libraries: those the rootfs lacks, at the path ldd printed (/lib is
# /usr/lib in both); libbpf always (bookworm's own would be 1.1, too old).
while read -r lib; do
	[[ -n $lib ]] || continue
	if [[ ! -e $root$lib || $lib == */libbpf.so* ]]; then
		mkdir -p "$root$(dirname "$lib")"
		cp -L --remove-destination "$lib" "$root$lib"
		log "copied $lib"
	fi
done < <(ldd "$daemon" | sed -nE 's/.*=> (\/[^ ]+) .*/\1/p; s/^[[:space:]]+(\/[^ ]+) .*/\1/p')
install -D -m 644 "$src/etc/scx-rustland/config.toml" "$root/etc/scx-rustland/config.toml"
install -D -m 644 "$src/systemd/scx-rustland.service" "$root/usr/lib/systemd/system/scx-rustland.service"
install -D -m 644 "$vmdir/guest-lib.sh" "$root/usr/lib/scx-vm/guest-lib.sh"
install -D -m 755 "$here/guest-test.sh" "$root/usr/lib/scx-vm/guest-test.sh"
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

# ---- 3. initramfs -------------------------------------------------------------
t=$(now)
stage=$(mktemp -d "${TMPDIR:-/tmp}/scx-system-mods.XXXXXX")
trap 'rm -rf "$stage"' EXIT
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

# ---- 4. boot --------------------------------------------------------------------
t=$(now)
set +e
"$vmdir/boot.sh" -k "$env_file" -i "$initrd" -d "$img" -l "$out/serial.log" \
	-t "${SCX_SYSTEM_TIMEOUT:-600}"
rc=$?
set -e
log "boot: $(since "$t") s; whole run: $(since "$t_all") s; guest status $rc"
exit "$rc"
