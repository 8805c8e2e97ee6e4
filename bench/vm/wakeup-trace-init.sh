#!/bin/sh
# wakeup-trace-init.sh - /init of a diagnostic VM: where a wakeup's time goes,
# EEVDF against one or more scx-rustland builds, from the kernel's own
# tracepoints (hrtimer_start, hrtimer_expire_entry, sched_waking,
# sched_wakeup, sched_switch), on the CLOCK_MONOTONIC trace clock so that a
# sleep's target and the events share one time line.
#
# Under two CPU hogs, the frame loop at 60 Hz (10% and 5% of a frame on its
# main and render threads) and cyclictest --policy=other -i 2000 run 8 s
# per session; sessions rotate EEVDF and every /usr/bin/scx-rustland* over
# 3 repetitions. For each wakeup of the frame loop's threads and of
# cyclictest it splits the time into waking -> wakeup (select_cpu and the
# enqueue: the scheduler's decision) and wakeup -> running (the wait for the
# CPU: a preemption, or a slice), and says whether the task ran on the CPU
# that woke it ("local") or on another one ("remote": an IPI away). For a
# wakeup by the task's own sleep timer (the frame loop's main thread,
# cyclictest) it adds target -> expiry (the timer interrupt's delay: the
# timer's slack, and any time the CPU ran with interrupts off) and
# expiry -> waking.
#
#   tests/vm/mkinitramfs.sh -o I.cpio.zst -i bench/vm/wakeup-trace-init.sh \
#       -b BUILD/src/scx-rustland -b OTHER/src/scx-rustland:/usr/bin/scx-rustland-other \
#       -b BUILD/bench/frameloop/frameloop
#   tests/vm/boot.sh -R -i I.cpio.zst -t 900 | grep '^SUM\|^TIMER\|^TLATE\|^LONG'
#
# With these added to the initramfs, a scheduler "held" joins the rotation:
# /usr/bin/scx-rustland with both tools held through D-Bus (`scx-rustlandctl
# run`, as the suite's held rows):
#       -b BUILD/src/ctl/scx-rustlandctl -b "$(command -v dbus-daemon)" \
#       -f bench/vm/dbus-system.conf:/etc/dbus-1/bench-system.conf \
#       -f dbus/org.scx.Rustland1.conf:/etc/dbus-1/system.d/org.scx.Rustland1.conf
#
# Output: a line per scheduler, thread and placement:
#   SUM <sched> <flmain|flrender|cyc> <local|remote|all> n=<wakeups>
#       waking->wakeup p50/p99=<us> wakeup->run p50/p90/p99=<us>
#   TIMER <sched> <flmain|cyc> n=<timer wakeups> target->expiry p50/p90/p99=<us>
#       expiry->waking p50/p99=<us> target->running p50/p90/p99=<us>
#   TLATE <sched> <thread> expiry >300us late, CPU running <comm>: <count>
# and, per scheduler and thread, what ran last before its waits over 1 ms:
#   LONG <sched> <thread> >1ms after <comm>: <count>
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 900

HELD=""
if [ -x /usr/bin/scx-rustlandctl ] && [ -f /etc/dbus-1/bench-system.conf ]; then
	# sd-bus clients and the daemon want a machine id.
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >/etc/machine-id
	mkdir -p /run/dbus
	check "dbus-daemon started" dbus-daemon --config-file=/etc/dbus-1/bench-system.conf --fork --nopidfile &&
		HELD=held
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
fi

TRACE=/sys/kernel/tracing
mount -t tracefs nodev "$TRACE" 2>/dev/null
echo 32768 >"$TRACE/buffer_size_kb"
echo mono >"$TRACE/trace_clock"
for event in sched/sched_waking sched/sched_wakeup sched/sched_switch \
	timer/hrtimer_start timer/hrtimer_expire_entry; do
	echo 1 >"$TRACE/events/$event/enable"
done
# Only the sleeps of the measured tools; every expiry, as the owner is not in its record.
echo 'comm == "frameloop" || comm == "cyclictest"' >"$TRACE/events/timer/hrtimer_start/filter"
echo 0 >"$TRACE/tracing_on"

LOOPS_PER_MS=$(frameloop --calibrate | sed -n 's/.*"loops_per_ms":\([0-9.]*\).*/\1/p')
MAIN_LOOPS=$(awk -v l="$LOOPS_PER_MS" 'BEGIN { printf "%d", l * 1000 / 60 * 0.10 }')
RENDER_LOOPS=$(awk -v l="$LOOPS_PER_MS" 'BEGIN { printf "%d", l * 1000 / 60 * 0.05 }')

# wakeups SCHED REP FRAMELOOP_MAIN_TID: one line per traced wakeup,
# "D sched rep thread placement waking->wakeup_us wakeup->run_us prev_comm
# target->expiry_us expiry->waking_us comm_at_expiry" (the last three "-"
# for a wakeup that was not its own sleep timer's).
wakeups() {
	awk -v sched="$1" -v rep="$2" -v fl="$3" '
	function field(line, key,   i, v) {
		i = index(line, key)
		if (!i) return ""
		v = substr(line, i + length(key))
		sub(/[ \t].*/, "", v)
		return v
	}
	function cpu_of(line,   c) { c = line; sub(/.*\[/, "", c); return substr(c, 1, 3) + 0 }
	function ts_of(line,   t) { t = line; sub(/.*\] [^ ]* +/, "", t); sub(/:.*/, "", t); return t }
	# The running task of a line: "comm-pid" before the CPU column.
	function task_of(line,   t) { t = line; sub(/^ +/, "", t); sub(/ +\[.*/, "", t); return t }
	function pid_of_task(t) { sub(/.*-/, "", t); return t }
	function comm_of_task(t) { sub(/-[0-9]+$/, "", t); return t }
	# A sleep target: the soft expiry of the latest timer the task started.
	# (Timer addresses print hashed, all alike, early after boot: an expiry
	# is matched to its owner by the wakeup it raises on the same CPU.)
	/hrtimer_start:/ {
		if (field($0, "function=") == "hrtimer_wakeup")
			target_of[pid_of_task(task_of($0))] = field($0, "softexpires=")
		next
	}
	/hrtimer_expire_entry:/ {
		c = cpu_of($0)
		if (field($0, "function=") != "hrtimer_wakeup") { delete expiry_now[c]; next }
		expiry_now[c] = field($0, "now="); expiry_ts[c] = ts_of($0)
		expiry_comm[c] = comm_of_task(task_of($0))
		next
	}
	/sched_waking:/ {
		c = cpu_of($0)
		pid = field($0, "pid=")
		by_timer[pid] = (c in expiry_now) && (pid in target_of)
		if (by_timer[pid]) {
			timer_late[pid] = sprintf("%.1f %.1f %s", (expiry_now[c] - target_of[pid]) / 1e3,
				(ts_of($0) - expiry_ts[c]) * 1e6, expiry_comm[c])
			from_target[pid] = target_of[pid] / 1e9
		}
		delete expiry_now[c]
		comm = field($0, "comm=")
		if (comm != "frameloop" && comm != "cyclictest") next
		waking[pid] = ts_of($0); waking_cpu[pid] = cpu_of($0); name[pid] = comm
		next
	}
	/sched_wakeup:/ {
		pid = field($0, "pid=")
		if (pid in waking) wakeup[pid] = ts_of($0)
		next
	}
	/sched_switch:/ {
		pid = field($0, "next_pid=")
		if (!(pid in waking) || !(pid in wakeup)) next
		thread = pid == fl ? "flmain" : (name[pid] == "frameloop" ? "flrender" : "cyc")
		place = cpu_of($0) == waking_cpu[pid] ? "local" : "remote"
		printf "D %s %s %s %s %.1f %.1f %s %s %s\n", sched, rep, thread, place,
			(wakeup[pid] - waking[pid]) * 1e6, (ts_of($0) - wakeup[pid]) * 1e6, field($0, "prev_comm="),
			by_timer[pid] ? timer_late[pid] : "- - -",
			by_timer[pid] ? sprintf("%.1f", (ts_of($0) - from_target[pid]) * 1e6) : "-"
		delete waking[pid]; delete wakeup[pid]
	}' "$TRACE/trace"
}

# session SCHED REP: the load, the two tools and the trace under SCHED.
session() {
	_hold=""
	[ "$1" != held ] || _hold="scx-rustlandctl run --app-id trace --reason diagnostic --strict --"
	stress-ng --cpu 2 --cpu-method int64 --quiet &
	_hogs=$!
	sleep 1
	echo >"$TRACE/trace"
	echo 1 >"$TRACE/tracing_on"
	$_hold frameloop --hz 60 -d 8 -w "$MAIN_LOOPS" --render --render-loops "$RENDER_LOOPS" -j /tmp/fl.json >/dev/null 2>&1 &
	_fl=$!
	$_hold cyclictest --policy=other -i 2000 -D 8 -q >/dev/null 2>&1 &
	_cyc=$!
	# Held, the tools are children of scx-rustlandctl: find the frame loop itself.
	sleep 0.5
	_flmain=$(pidof frameloop)
	wait "$_fl"
	wait "$_cyc"
	echo 0 >"$TRACE/tracing_on"
	kill "$_hogs"
	wait "$_hogs" 2>/dev/null
	wakeups "$1" "$2" "$_flmain" >"/tmp/wakeups.$1.$2"
}

# percentiles COLUMN Q...: nearest-rank percentiles of a column of /tmp/rows.
percentiles() {
	_col=$1
	shift
	awk -v c="$_col" '{ print $c }' /tmp/rows | sort -n |
		awk -v qs="$*" '{ v[NR] = $1 } END { n = split(qs, q, " "); s = "";
			for (i = 1; i <= n; i++) s = s (i > 1 ? "/" : "") sprintf("%.0f", v[int(NR * q[i]) + 1]); print s }'
}

summary() {
	for thread in flmain flrender cyc; do
		for place in local remote all; do
			pattern="^D $1 [0-9]* $thread "
			[ "$place" = all ] || pattern="$pattern$place "
			cat /tmp/wakeups."$1".* | grep "$pattern" >/tmp/rows
			n=$(wc -l </tmp/rows)
			[ "$n" -gt 0 ] || continue
			echo "SUM $1 $thread $place n=$n waking->wakeup p50/p99=$(percentiles 6 0.5 0.99)" \
				"wakeup->run p50/p90/p99=$(percentiles 7 0.5 0.9 0.99)"
		done
		# Wakeups by the task's own sleep timer, from the target on.
		cat /tmp/wakeups."$1".* | grep "^D $1 [0-9]* $thread " | awk '$9 != "-"' >/tmp/rows
		n=$(wc -l </tmp/rows)
		if [ "$n" -gt 0 ]; then
			echo "TIMER $1 $thread n=$n target->expiry p50/p90/p99=$(percentiles 9 0.5 0.9 0.99)" \
				"expiry->waking p50/p99=$(percentiles 10 0.5 0.99)" \
				"target->running p50/p90/p99=$(percentiles 12 0.5 0.9 0.99)"
			awk -v s="$1" -v t="$thread" '$9 > 300 { n[$11]++ }
				END { for (c in n) printf "TLATE %s %s expiry >300us late, CPU running %s: %d\n", s, t, c, n[c] }' /tmp/rows
		fi
		# Who had the CPU last before the long waits: the task switched out for it.
		cat /tmp/wakeups."$1".* | grep "^D $1 [0-9]* $thread " |
			awk -v s="$1" -v t="$thread" '$7 > 1000 { n[$8]++ }
				END { for (c in n) printf "LONG %s %s >1ms after %s: %d\n", s, t, c, n[c] }'
	done
}

SCHEDS="eevdf"
for bin in /usr/bin/scx-rustland /usr/bin/scx-rustland-*; do
	[ -x "$bin" ] && SCHEDS="$SCHEDS ${bin##*/}"
done
SCHEDS="$SCHEDS $HELD"
for rep in 1 2 3; do
	for sched in $SCHEDS; do
		if [ "$sched" != eevdf ]; then
			_bin=$sched
			[ "$sched" != held ] || _bin=scx-rustland
			"$_bin" >"/tmp/$sched.log" 2>&1 &
			_daemon=$!
			check "$sched attached (rep $rep)" wait_for_state enabled 120 || continue
			sleep 1
		fi
		log "rep $rep: $sched"
		session "$sched" "$rep"
		if [ "$sched" != eevdf ]; then
			kill -INT "$_daemon"
			wait "$_daemon"
		fi
	done
done
for sched in $SCHEDS; do summary "$sched"; done
finish
