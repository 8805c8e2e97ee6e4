#!/bin/sh
# /init of the CPU hotplug endurance test: scx_endurance.cycles (default 20)
# offline/online cycles of CPU 1 under load. Each hotplug event makes the
# kernel end the scheduler with a restart request; the same daemon process
# must reattach after every event and never count one as an ejection (three
# ejections in a minute would make it give up).
. /usr/lib/scx-vm/guest-lib.sh
. /usr/lib/scx-vm/endurance-lib.sh
guest_setup
CYCLES=$(param cycles 20)
# The reattach loads and verifies the BPF program again, on one CPU shared
# with the load: under TCG on a busy host that took over 15 s.
REATTACH_S=90
# A hotplug event has hung the guest twice in 10-40 events, every task of
# ours starved: the stall bound ends such a run in minutes, with the
# kernel's view of it, instead of at the overall bound.
guest_watchdog $((CYCLES * 2 * REATTACH_S + 120)) $((REATTACH_S + 60))

LOG=/tmp/rustland.log
CPU1=/sys/devices/system/cpu/cpu1/online
scx-rustland --stats 1 >"$LOG" 2>&1 &
RL_PID=$!
# Loading and verifying the BPF program under TCG on a busy host has taken
# over 10 s: the first attach is not what these tests measure.
if wait_for_state enabled 60; then
	pass "attaches: state enabled within 60 s"
else
	fail "attaches: state enabled within 60 s"
	finish_with_log "$LOG"
fi
assert_eq "CPU 1 starts online" 1 "$(cat "$CPU1")"

as_nobody stress-ng --cpu 2 --switch 2 --futex 1 --timeout 1h >/tmp/stress.log 2>&1 &
load=$!

# reattached_after SEQ: the scheduler was enabled again since enable_seq was
# SEQ, and is enabled now (a later restart may be under way: wait for it).
reattached_after() {
	[ "$(enable_seq)" -gt "$1" ] && [ "$(sched_ext_state)" = enabled ]
}

# hotplug VALUE WHAT: write VALUE to CPU 1's online file, then wait up to
# REATTACH_S for the reattach; its duration goes to /tmp/reattach.times.
hotplug() {
	_seq=$(enable_seq)
	_t0=$(uptime_s)
	if ! echo "$1" >"$CPU1"; then
		fail "cycle $i: writing $1 to $CPU1"
		return 1
	fi
	while ! reattached_after "$_seq"; do
		heartbeat
		if awk -v a="$_t0" -v b="$(uptime_s)" -v d="$REATTACH_S" 'BEGIN { exit !(b - a > d) }'; then
			fail "cycle $i: not reattached within $REATTACH_S s after CPU 1 went $2 (state $(sched_ext_state), enable_seq $(enable_seq), was $_seq)"
			return 1
		fi
		sleep 0.05
	done
	_took=$(awk -v a="$_t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')
	echo "$_took" >>/tmp/reattach.times
	log "cycle $i: CPU 1 $2, reattached after $_took s"
	return 0
}

: >/tmp/reattach.times
survived=0
i=1
while [ "$i" -le "$CYCLES" ]; do
	hotplug 0 offline && hotplug 1 online || break
	survived=$i
	i=$((i + 1))
done
log "hotplug: $survived of $CYCLES cycles; reattach after each event (s): $(median_max /tmp/reattach.times)"
assert_eq "reattached after every offline and online event" "$CYCLES" "$survived"
assert_eq "CPU 1 ends online" 1 "$(cat "$CPU1")"
assert_eq "the same daemon process is still running" 0 "$(kill -0 "$RL_PID"; echo $?)"
assert_eq "no restart was counted as an ejection" "" "$(grep -Ei 'ejected|giving up' "$LOG")"
restarts=$(grep -c 'asked for a restart' "$LOG")
assert_le "the daemon logged a restart request per event ($restarts)" $((2 * CYCLES)) "$restarts"
assert_eq "no sched_ext error in dmesg" "" "$(scx_errors)"
assert_eq "the load is still running" 0 "$(kill -0 "$load"; echo $?)"
kill "$load"
wait "$load"
sleep 2
faults=$(max_stat "$LOG" page_faults)
assert_eq "no page fault in the scheduling thread in any stats line (max page_faults=$faults)" 0 "$faults"

kill -INT "$RL_PID"
wait "$RL_PID"
assert_eq "clean exit after the cycles" 0 "$?"
finish_with_log "$LOG"
