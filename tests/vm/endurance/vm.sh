#!/usr/bin/env bash
# vm.sh - the endurance tests that run in an initramfs VM (like e2e.sh):
# boots the sched_ext kernel with scx-rustland and one guest script, and
# exits with the guest's verdict.
#
# Usage: tests/vm/endurance/vm.sh SCENARIO LENGTH DAEMON [WORKDIR]
#   SCENARIO  soak     stress-ng cpu/fork/exec/switch/futex + hackbench loop
#             hotplug  CPU 1 offline/online cycles under load
#   LENGTH    ci (soak 120 s, 5 hotplug cycles) or full (600 s, 20 cycles)
#
# A guest kernel crash (boot.sh exit 125) is a failure like any other here:
# surviving a long run is what these tests measure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vmdir=$(cd "$here/.." && pwd)
usage="usage: vm.sh soak|hotplug ci|full DAEMON [WORKDIR]"
scenario=${1:?$usage}
length=${2:?$usage}
daemon=${3:?$usage}
work=${4:-$(dirname "$daemon")/vm}

case $scenario:$length in
soak:ci) param=soak_s=120 timeout_s=900 ;;
soak:full) param=soak_s=600 timeout_s=1800 ;;
hotplug:ci) param=cycles=5 timeout_s=1200 ;;   # 15 s a cycle, and 2 events of 60 s at most
hotplug:full) param=cycles=20 timeout_s=3900 ;;
*) echo "vm.sh: unknown scenario or length '$scenario' '$length'; $usage" >&2; exit 2 ;;
esac
mkdir -p "$work"
name=endurance-$scenario-$length
# chrt: the guest watchdog runs SCHED_FIFO (guest-lib.sh).
"$vmdir/mkinitramfs.sh" -o "$work/$name.cpio.zst" -i "$here/$scenario-init.sh" -b "$daemon" \
	-b "$(command -v chrt)" -f "$here/endurance-lib.sh:/usr/lib/scx-vm/endurance-lib.sh"
# no_timer_check: on a busy host the emulated timer can miss the kernel's
# boot-time IO-APIC check ("IO-APIC + timer doesn't work!" panic).
exec "$vmdir/boot.sh" -i "$work/$name.cpio.zst" -l "$work/$name.serial.log" -t "$timeout_s" \
	-a no_timer_check -a "scx_endurance.$param"
