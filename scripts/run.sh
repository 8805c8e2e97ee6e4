#!/usr/bin/env bash
# Sets up, builds and runs scx-rustland. Arguments go to scx-rustland.
#
# On a kernel with sched_ext it runs the scheduler here (as root) until Ctrl-C.
# Otherwise it boots a Debian sched_ext kernel under QEMU and shows a short
# live demo: the scheduler's counters while stress-ng and hackbench load the VM.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SCX_RUSTLAND_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target scx-rustland

if [ -d /sys/kernel/sched_ext ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	exec $sudo "$build/src/scx-rustland" --stats 2 "$@"
fi

echo "run.sh: this kernel ($(uname -r)) has no sched_ext; running the demo in a VM" >&2
work=$build/vm-demo
mkdir -p "$work"
printf '%s\n' "$@" >"$work/args"
"$root/tests/vm/mkinitramfs.sh" -o "$work/demo.cpio.zst" -i "$root/tests/vm/demo-init.sh" \
	-b "$build/src/scx-rustland" -f "$work/args:/etc/scx-rustland.args"
exec "$root/tests/vm/boot.sh" -i "$work/demo.cpio.zst" -l "$work/demo.serial.log" -t 600
