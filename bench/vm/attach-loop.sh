#!/usr/bin/env bash
# attach-loop.sh - does the guest kernel survive sched_ext attach/detach
# under the emulator? Boots the test kernel BOOTS times; in each boot
# scx-rustland attaches and detaches CYCLES times, with CPU hogs and
# hackbench running across every attach and detach (sched_ext flips its
# static keys then: the moment multi-threaded TCG on QEMU 7.2 crashed the
# guest with "Oops: int3"). Prints one line per boot and a tally.
#
# Usage: bench/vm/attach-loop.sh DAEMON [BOOTS [CYCLES]]   (defaults 15, 5)
#   env SCX_VM_ACCEL picks the accelerator (tests/vm/boot.sh's default
#   otherwise). Logs in ${TMPDIR:-/tmp}/scx-attach-loop.*/.
# Exit status: 0 when every boot passed every check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm=$(cd "$here/../../tests/vm" && pwd)
usage="usage: attach-loop.sh DAEMON [BOOTS [CYCLES]]"
daemon=${1:?$usage}
boots=${2:-15}
cycles=${3:-5}
[[ $boots =~ ^[1-9][0-9]*$ && $cycles =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/scx-attach-loop.XXXXXX")

cat >"$work/init.sh" <<'EOF'
#!/bin/sh
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 400
c=1
while [ "$c" -le "$attach_cycles" ]; do
	stress-ng --cpu 2 --timeout 12s >/dev/null 2>&1 &
	hogs=$!
	(while hackbench -g 2 -l 20 >/dev/null 2>&1; do :; done) &
	hb=$!
	scx-rustland >/tmp/rl.log 2>&1 &
	rl=$!
	check "cycle $c: attached under load" wait_for_state enabled 30
	sleep 3
	kill -INT "$rl"
	wait "$rl"
	assert_eq "cycle $c: SIGINT detach exits 0" 0 "$?"
	check "cycle $c: detached" wait_for_state disabled 10
	kill "$hb" "$hogs" 2>/dev/null
	wait "$hb" "$hogs" 2>/dev/null
	c=$((c + 1))
done
assert_eq "no oops, BUG or panic in the kernel log" "" "$(dmesg | grep -E 'Oops|BUG:|Kernel panic|general protection' || true)"
finish
EOF
"$vm/mkinitramfs.sh" -o "$work/attach.cpio.zst" -i "$work/init.sh" -b "$daemon" 2>/dev/null

passed=0 crashed=0 failed=0
for ((b = 1; b <= boots; b++)); do
	rc=0
	"$vm/boot.sh" -q -i "$work/attach.cpio.zst" -l "$work/boot$b.log" -t 600 -a "attach_cycles=$cycles" 2>"$work/boot$b.err" || rc=$?
	accel=$(sed -n 's/.*initramfs [^,]*, \([^ ]*\) -smp.*/\1/p' "$work/boot$b.err")
	wall=$(sed -n 's/.*(wall \([0-9.]*\)s.*/\1/p' "$work/boot$b.err")
	case $rc in
	0) passed=$((passed + 1)) ;;
	1) failed=$((failed + 1)) ;;
	*) crashed=$((crashed + 1)) ;;
	esac
	oops=$(grep -a -c -E 'Oops|BUG:|Kernel panic' "$work/boot$b.log" || true)
	printf 'boot %d/%d: status %d, %s, wall %s s, %d attach/detach cycles, oops lines %s\n' \
		"$b" "$boots" "$rc" "$accel" "${wall:-?}" "$cycles" "$oops"
done
printf 'tally: %d boots x %d cycles: %d passed, %d failed a check, %d crashed or timed out (logs: %s)\n' \
	"$boots" "$cycles" "$passed" "$failed" "$crashed" "$work"
((passed == boots))
