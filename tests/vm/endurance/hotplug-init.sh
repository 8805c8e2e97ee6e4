#!/bin/sh
# /init of the CPU hotplug endurance test: scx_endurance.cycles (default 20)
# offline/online cycles of CPU 1 under load. The dispatcher implements the
# kernel's CPU hotplug callbacks, so the scheduler must ride through every
# event: attached all along (enable_seq unchanged, no restart request, no
# ejection), by the same daemon process. CPU 1 stays offline longer than
# the kernel's 10-s watchdog timeout, so a task left in its DSQ with no one
# to run it would get the scheduler ejected.
. /usr/lib/scx-vm/guest-lib.sh
. /usr/lib/scx-vm/endurance-lib.sh
guest_setup
CYCLES=$(param cycles 20)
OFFLINE_S=12
ONLINE_S=3
# A write to CPU 1's online file returns when the hotplug operation is done:
# under TCG with the load, that took up to a few seconds.
EVENT_S=60
# A hotplug event has hung the guest with every task of ours starved (while
# the kernel still ended the scheduler at each event): the stall bound ends
# such a run in minutes, with the kernel's view of it.
guest_watchdog $((CYCLES * (OFFLINE_S + ONLINE_S + 2 * EVENT_S) + 180)) $((EVENT_S + 60))

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
SEQ=$(enable_seq)

as_nobody stress-ng --cpu 2 --switch 2 --futex 1 --timeout 1h >/tmp/stress.log 2>&1 &
load=$!

attached() {
	[ "$(sched_ext_state)" = enabled ] && [ "$(enable_seq)" = "$SEQ" ]
}

# event VALUE WHAT DWELL: write VALUE to CPU 1's online file (its duration
# goes to /tmp/event.times), then check every second for DWELL seconds
# that the scheduler is still the one attached at the start.
event() {
	_t0=$(uptime_s)
	if ! echo "$1" >"$CPU1"; then
		fail "cycle $i: writing $1 to $CPU1"
		return 1
	fi
	_took=$(awk -v a="$_t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')
	echo "$_took" >>/tmp/event.times
	_n=0
	while [ "$_n" -le "$3" ]; do
		heartbeat
		if ! attached; then
			fail "cycle $i: $_n s after CPU 1 went $2: state $(sched_ext_state), enable_seq $(enable_seq) (was $SEQ)"
			return 1
		fi
		[ "$_n" -eq "$3" ] || sleep 1
		_n=$((_n + 1))
	done
	log "cycle $i: CPU 1 $2 in $_took s, still attached $3 s later"
}

: >/tmp/event.times
survived=0
i=1
while [ "$i" -le "$CYCLES" ]; do
	event 0 offline "$OFFLINE_S" && event 1 online "$ONLINE_S" || break
	survived=$i
	i=$((i + 1))
done
log "hotplug: $survived of $CYCLES cycles; each event's write (s): $(median_max /tmp/event.times)"
assert_eq "attached through every offline and online event" "$CYCLES" "$survived"
assert_eq "CPU 1 ends online" 1 "$(cat "$CPU1")"
assert_eq "the same daemon process is still running" 0 "$(kill -0 "$RL_PID"; echo $?)"
assert_eq "no restart request and no ejection" "" "$(grep -Ei 'asked for a restart|ejected|giving up' "$LOG")"
assert_eq "no sched_ext error in dmesg" "" "$(scx_errors)"
assert_eq "no task left behind on the dying CPU" "" "$(dmesg | grep -i 'not properly vacated')"
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
