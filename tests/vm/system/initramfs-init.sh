#!/bin/sh
# initramfs-init.sh - /init of the system test's initramfs (busybox sh).
#
# Loads the modules the root disk needs (copied by run.sh to /modules, with
# the load order in /modules/order), mounts /dev/vda (ext4) and hands over
# to systemd with switch_root. On failure it prints the VM-EXIT-STATUS
# marker boot.sh looks for, so a broken image fails fast instead of timing out.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "GUEST-INIT-UPTIME=$(cut -d' ' -f1 /proc/uptime)"

die() {
	echo "FAIL: initramfs: $*"
	echo "VM-EXIT-STATUS=125"
	sleep 0.2
	poweroff -f
}

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/modules/$m" || die "insmod $m failed"
done </modules/order

i=0
while [ ! -b /dev/vda ]; do
	i=$((i + 1))
	[ $i -le 100 ] || die "/dev/vda did not appear in 10 s"
	sleep 0.1
done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || die "cannot mount /dev/vda"
[ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || die "/sbin/init missing on /dev/vda"
echo "initramfs: /dev/vda mounted at $(cut -d' ' -f1 /proc/uptime) s; switching to systemd"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
