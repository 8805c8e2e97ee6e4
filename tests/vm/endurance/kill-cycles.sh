#!/usr/bin/env bash
# kill-cycles.sh - kill -9 cycles of the installed unit in the systemd VM.
#
# Usage: tests/vm/endurance/kill-cycles.sh ci|full BUILD_DIR
#   ci: 10 cycles, full: 50 (kill-guest.sh says what each cycle checks)
#
# The VM is the system test's (tests/vm/system/run.sh, steps 1-4): the .deb
# installed with apt in the cached bookworm rootfs, an ext4 image and an
# initramfs that switch_roots to it; only the test unit differs
# (scx-endurance-test.service running kill-guest.sh), and there is one boot.
# run.sh has no hook for another guest test, so its steps are repeated here
# (the rootfs tarball and the apt archives are shared through the cache).
# Outputs in BUILD_DIR/vm/endurance/. Needs root. Environment: as run.sh
# (SCX_RUSTLAND_CACHE, SCX_SYSTEM_DEB, SCX_DEBIAN_MIRROR).
set -euo pipefail

log() { printf 'kill-cycles: %s\n' "$*" >&2; }
die() { printf 'kill-cycles: ERROR: %s\n' "$*" >&2; exit 126; }

usage="usage: $0 ci|full BUILD_DIR"
(($# == 2)) || die "$usage"
case $1 in
ci) cycles=10 ;;
full) cycles=50 ;;
*) die "$usage" ;;
esac
build=$(realpath "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vmdir=$(cd "$here/.." && pwd)
src=$(cd "$here/../../.." && pwd)
((EUID == 0)) || die "must run as root (chroot, file ownership in the image)"
out=$build/vm/endurance
mkdir -p "$out"
env_file=$("$vmdir/fetch-kernel.sh") || die "fetch-kernel.sh failed"
# shellcheck disable=SC1090
. "$env_file"

# ---- the package (as run.sh step 1) --------------------------------------------
fresh_deb() {
	local deb newest
	# shellcheck disable=SC2012 # our own file names
	deb=$(ls -t "$1"/scx-rustland_*.deb 2>/dev/null | head -n1) || true
	[[ -n $deb ]] || return 1
	newest=$(cd "$src" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
		xargs -0 -r stat -c %Y 2>/dev/null | sort -n | tail -n1)
	[[ -n $newest ]] && (($(stat -c %Y "$deb") >= newest)) && printf '%s\n' "$deb"
}
if [[ -n ${SCX_SYSTEM_DEB:-} ]]; then
	deb=$(realpath "$SCX_SYSTEM_DEB")
elif ! deb=$(fresh_deb "$build/tests/packaging/deb") && ! deb=$(fresh_deb "$build/vm/system/deb") &&
	! deb=$(fresh_deb "$out/deb"); then
	rm -rf "$out/deb"
	log "package: building with scripts/build-deb.sh (log: $out/build-deb.log)"
	deb=$("$src/scripts/build-deb.sh" "$out/deb" "$src" 2>"$out/build-deb.log" | grep '/scx-rustland_[^/]*\.deb$') ||
		{ tail -n 30 "$out/build-deb.log" >&2; die "building the .deb failed"; }
fi
[[ -f $deb ]] || die "package $deb not found"
log "package: $deb"

# ---- the rootfs run.sh caches (step 2) -------------------------------------------
# Built by run.sh when missing: the key below must stay the same as there.
suite=bookworm
mirror=${SCX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd-sysv,dbus,polkitd,udev,procps,bpftool,ca-certificates,gamemode,dbus-user-session,libpam-systemd
cache=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}
key=$( (printf '%s\n' "$suite" "$mirror" minbase "$packages" scxuser backports-v1) | sha256sum | cut -c1-16)
tarball=$cache/rootfs/$suite-system-$key.tar
[[ -f $tarball ]] || die "no cached rootfs $tarball: run tests/vm/system/run.sh once (it builds it)"

# ---- install the package, add the test (step 3) ----------------------------------
root=$out/rootfs
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
mkdir -p "$cache/apt-archives/partial"
bind "$cache/apt-archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root apt-get -q update >&2 || log "apt-get update failed: using the lists cached in the rootfs"
in_root apt-get install -y -t bookworm-backports stress-ng "/tmp/$(basename "$deb")" 2>&1 | sed 's/^/  apt: /' >&2 ||
	die "apt-get install -t bookworm-backports stress-ng ./$(basename "$deb") failed"
rm -f "$root/tmp/$(basename "$deb")" "$root/etc/resolv.conf"
cleanup
mounts=()

install -D -m 644 "$vmdir/guest-lib.sh" "$root/usr/lib/scx-vm/guest-lib.sh"
install -D -m 644 "$here/endurance-lib.sh" "$root/usr/lib/scx-vm/endurance-lib.sh"
install -D -m 755 "$here/kill-guest.sh" "$root/usr/lib/scx-vm/kill-guest.sh"
install -D -m 644 "$here/scx-endurance-test.service" "$root/etc/systemd/system/scx-endurance-test.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../scx-endurance-test.service "$root/etc/systemd/system/multi-user.target.wants/"
ln -sf /usr/lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
for u in serial-getty@ttyS0.service getty@tty1.service; do ln -sf /dev/null "$root/etc/systemd/system/$u"; done
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"
echo scx-vm >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 0\n' >"$root/etc/fstab"
img=$out/kill-cycles.ext4
rm -f "$img"
mke2fs -q -F -t ext4 -L scx-root -d "$root" "$img" "$(($(du -sm "$root" | cut -f1) + 256))M" || die "mke2fs failed"
rm -rf "$root"

# ---- initramfs (step 4) ----------------------------------------------------------
stage=$(mktemp -d "${TMPDIR:-/tmp}/scx-endurance-mods.XXXXXX")
mkdir -p "$stage/modules"
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
initrd=$out/kill-cycles.cpio.zst
"$vmdir/mkinitramfs.sh" -T -o "$initrd" -i "$vmdir/system/initramfs-init.sh" -f "$stage/modules:/" 2>&1 | sed 's/^/  /' >&2

# ---- one boot --------------------------------------------------------------------
# no_timer_check: as in vm.sh.
exec "$vmdir/boot.sh" -k "$env_file" -i "$initrd" -d "$img" -l "$out/kill-cycles-$1.serial.log" \
	-t $(((cycles + 3) * 240 + 600)) -a no_timer_check -a "scx_endurance.cycles=$cycles"
