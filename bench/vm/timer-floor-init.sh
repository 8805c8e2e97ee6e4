#!/bin/sh
# timer-floor-init.sh - /init of a diagnostic VM: the frame loop's wakeup
# latency alone (no cyclictest, no tracing), idle and under two CPU hogs,
# EEVDF and scx-rustland in turn, 2 repetitions of 8 s each. Booted with and
# without `tests/vm/boot.sh -R`, it shows how much of the tail is the host
# scheduling QEMU's timer thread rather than the guest scheduler
# (docs/benchmarks.md, "Emulation"):
#
#   tests/vm/mkinitramfs.sh -o I.cpio.zst -i bench/vm/timer-floor-init.sh \
#       -b BUILD/src/scx-rustland -b BUILD/bench/frameloop/frameloop
#   tests/vm/boot.sh [-R] -q -i I.cpio.zst -l LOG -t 600; grep '^FLOOR' LOG
#
# Output, one line per session:
#   FLOOR <sched> <idle|hogs> rep<r> n=<frames> wake p50=.. p90=.. p99=.. max=.. (us)
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 600

LOOPS_PER_MS=$(frameloop --calibrate | sed -n 's/.*"loops_per_ms":\([0-9.]*\).*/\1/p')
MAIN_LOOPS=$(awk -v l="$LOOPS_PER_MS" 'BEGIN { printf "%d", l * 1000 / 60 * 0.10 }')
RENDER_LOOPS=$(awk -v l="$LOOPS_PER_MS" 'BEGIN { printf "%d", l * 1000 / 60 * 0.05 }')

# frames TAG: 8 s of the frame loop at 60 Hz, then the percentiles of its wakeups.
frames() {
	frameloop --hz 60 -d 8 -w "$MAIN_LOOPS" -r --render-loops "$RENDER_LOOPS" \
		--raw /tmp/raw -j /tmp/fl.json >/dev/null 2>&1
	awk '{ print $1 / 1000 }' /tmp/raw | sort -n | awk -v tag="$1" '{ v[NR] = $1 }
		END { printf "FLOOR %s n=%d wake p50=%.0f p90=%.0f p99=%.0f max=%.0f\n", tag, NR,
			v[int(NR * 0.5) + 1], v[int(NR * 0.9) + 1], v[int(NR * 0.99) + 1], v[NR] }'
}

for rep in 1 2; do
	for sched in eevdf scx-rustland; do
		if [ "$sched" != eevdf ]; then
			scx-rustland >/tmp/rl.log 2>&1 &
			_daemon=$!
			check "attached (rep $rep)" wait_for_state enabled 120 || continue
			sleep 1
		fi
		frames "$sched idle rep$rep"
		stress-ng --cpu 2 --cpu-method int64 --quiet &
		_hogs=$!
		sleep 1
		frames "$sched hogs rep$rep"
		kill "$_hogs"
		wait "$_hogs"
		if [ "$sched" != eevdf ]; then
			kill -INT "$_daemon"
			wait "$_daemon"
		fi
	done
done
finish
