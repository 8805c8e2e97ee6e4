#!/usr/bin/env bash
# End-to-end test: boots the sched_ext kernel with scx-rustland in an
# initramfs and runs e2e-init.sh inside it. Exits with the guest's verdict.
#
# Usage: tests/vm/e2e.sh DAEMON SCHED_EXT_RUN NOTIFY_LISTEN [WORKDIR]
#
# A guest kernel crash (boot.sh exit 125: no verdict, e.g. a panic) is retried
# once. QEMU 7.2's TCG has crashed the guest kernel a few times in about 40
# boots (an int3 oops in patched kernel text, a double fault with garbage
# EFLAGS), in code paths our BPF program does not touch. The crashed attempt's
# serial log is kept next to the new one. A failed check is never retried.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage="usage: e2e.sh DAEMON SCHED_EXT_RUN NOTIFY_LISTEN [WORKDIR]"
daemon=${1:?$usage}
sched_ext_run=${2:?$usage}
notify_listen=${3:?$usage}
work=${4:-$(dirname "$daemon")/vm}
mkdir -p "$work"

"$here/mkinitramfs.sh" -o "$work/e2e.cpio.zst" -i "$here/e2e-init.sh" \
	-b "$daemon" -b "$sched_ext_run" -b "$notify_listen"
status=0
"$here/boot.sh" -i "$work/e2e.cpio.zst" -l "$work/e2e.serial.log" -t 1200 || status=$?
if [ "$status" -eq 125 ]; then
	mv "$work/e2e.serial.log" "$work/e2e.crashed.serial.log"
	echo "e2e.sh: the guest kernel crashed without a verdict (log: $work/e2e.crashed.serial.log); retrying once" >&2
	status=0
	"$here/boot.sh" -i "$work/e2e.cpio.zst" -l "$work/e2e.serial.log" -t 1200 || status=$?
fi
exit "$status"
