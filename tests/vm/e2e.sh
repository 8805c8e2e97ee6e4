#!/usr/bin/env bash
# End-to-end test: boots the sched_ext kernel with scx-rustland in an
# initramfs and runs e2e-init.sh inside it. Exits with the guest's verdict.
#
# Usage: tests/vm/e2e.sh DAEMON SCHED_EXT_RUN [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
daemon=${1:?usage: e2e.sh DAEMON SCHED_EXT_RUN [WORKDIR]}
sched_ext_run=${2:?usage: e2e.sh DAEMON SCHED_EXT_RUN [WORKDIR]}
work=${3:-$(dirname "$daemon")/vm}
mkdir -p "$work"

"$here/mkinitramfs.sh" -o "$work/e2e.cpio.zst" -i "$here/e2e-init.sh" \
	-b "$daemon" -b "$sched_ext_run"
exec "$here/boot.sh" -i "$work/e2e.cpio.zst" -l "$work/e2e.serial.log" -t 1200
