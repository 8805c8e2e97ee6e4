#!/bin/bash
# kill-guest.sh - kill cycles of the installed scx-rustland unit, run INSIDE
# the systemd VM by scx-endurance-test.service (see kill-cycles.sh).
#
# scx_endurance.cycles times, under load: kill -9 the unit's main process;
# the kernel must be back on the fair class (sched_ext state leaves
# `enabled`) within 1 s, and systemd must have attached a new main process
# (state enabled, ops rustland) within 5 s. Every cycle is measured, also
# when it misses a bound; a cycle that never reattaches ends the run.
#
# The unit allows 5 starts in 2 minutes (StartLimitBurst=5,
# StartLimitIntervalSec=2min) and a cycle takes a few seconds, so after each
# reattach `systemctl reset-failed` clears the start counter; without it
# the fifth kill (the sixth start) would leave the unit failed (what the
# limit is for).
. /usr/lib/scx-vm/guest-lib.sh
. /usr/lib/scx-vm/endurance-lib.sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat
U=scx-rustland
CYCLES=$(param cycles 50)
FAIR_BOUND_S=1
ATTACH_BOUND_S=5
GIVE_UP_S=30
guest_watchdog $((CYCLES * GIVE_UP_S + 180))
trap '_gl_on_exit $?' EXIT

main_pid() { systemctl show -p MainPID --value "$U"; }
# The polls below use bash builtins only (read, $EPOCHREALTIME): no fork
# that would make them lag behind what they measure.
# poll_state: the sched_ext state into $state, the microseconds since the
# kill into $us.
poll_state() {
	read -r state <"$SCX_SYSFS/state"
	us=$((${EPOCHREALTIME/./} - t0))
}
seconds() { printf '%d.%03d\n' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }

log "kill cycles: $(systemctl --version | head -n1), kernel $(uname -r), $(dpkg-query -W -f='${Package} ${Version}' "$U")"
check "systemctl enable --now $U" systemctl enable --now "$U"
check "attached after the start" wait_for_state enabled 30
assert_eq "ops is rustland" rustland "$(sched_ext_ops)"
journal_from=$(date '+%Y-%m-%d %H:%M:%S')

as_nobody stress-ng --cpu 2 --switch 2 --futex 1 --timeout 2h >/tmp/stress.log 2>&1 &
load=$!

: >/tmp/fair.times
: >/tmp/attach.times
: >/tmp/started.times
UNIT_CGROUP=/sys/fs/cgroup/system.slice/$U.service
survived=0
late_fair=0
late_attach=0
not_by_restart=0
for ((i = 1; i <= CYCLES; i++)); do
	pid=$(main_pid)
	seq=$(enable_seq)
	if [[ $pid == 0 || -z $pid ]]; then
		fail "cycle $i: the unit has no main process ($(systemctl is-active "$U"))"
		break
	fi
	t0=${EPOCHREALTIME/./}
	kill -9 "$pid"
	poll_state
	while [[ $state == enabled ]] && ((us < GIVE_UP_S * 1000000)); do
		sleep 0.005
		poll_state
	done
	fair_us=$us
	# Attached again: a new enable, and then ops rustland and a new main
	# process (checked once enabled: they fork).
	# On the way, when systemd started the new process (the first pid in the
	# unit's cgroup that is not the killed one): the rest is the daemon's
	# own start and attach.
	started_us=
	read -r now_seq <"$SCX_SYSFS/enable_seq"
	poll_state
	until ((now_seq > seq)) && [[ $state == enabled ]] || ((us >= GIVE_UP_S * 1000000)); do
		sleep 0.02
		if [[ -z $started_us ]]; then
			first=
			# The cgroup is gone between the kill and the restart.
			{ read -r first <"$UNIT_CGROUP/cgroup.procs"; } 2>/dev/null || true
			[[ -n $first && $first != "$pid" ]] && started_us=$us
		fi
		read -r now_seq <"$SCX_SYSFS/enable_seq"
		poll_state
	done
	attach_us=$us
	: "${started_us:=$us}"
	ops=$(sched_ext_ops)
	new_pid=$(main_pid)
	seconds "$fair_us" >>/tmp/fair.times
	seconds "$attach_us" >>/tmp/attach.times
	seconds "$started_us" >>/tmp/started.times
	log "cycle $i: killed $pid, fair class after $(seconds "$fair_us") s, restarted by systemd after $(seconds "$started_us") s, attached after $(seconds "$attach_us") s (ops $ops, main pid $new_pid)"
	((fair_us <= FAIR_BOUND_S * 1000000)) || late_fair=$((late_fair + 1))
	((attach_us <= ATTACH_BOUND_S * 1000000)) || late_attach=$((late_attach + 1))
	if ! ((now_seq > seq)) || [[ $state != enabled || $ops != rustland || $new_pid == "$pid" || $new_pid == 0 ]]; then
		fail "cycle $i: not attached again within $GIVE_UP_S s (state $state, ops '$ops', main pid $new_pid, unit $(systemctl is-active "$U"))"
		break
	fi
	survived=$i
	# reset-failed also sets NRestarts back to 0: read it first.
	(($(systemctl show -p NRestarts --value "$U") >= 1)) || not_by_restart=$((not_by_restart + 1))
	systemctl reset-failed "$U"
done

log "kill cycles: $survived of $CYCLES survived"
log "back on the fair class (s): $(median_max /tmp/fair.times)"
log "new process started by systemd (s): $(median_max /tmp/started.times)"
log "attached again by systemd (s): $(median_max /tmp/attach.times)"
assert_eq "every cycle reattached" "$CYCLES" "$survived"
assert_eq "back on the fair class within $FAIR_BOUND_S s in every cycle (late: $late_fair)" 0 "$late_fair"
assert_eq "attached again within $ATTACH_BOUND_S s in every cycle (late: $late_attach)" 0 "$late_attach"
assert_eq "each new process came from the unit's Restart= (NRestarts grew; cycles without: $not_by_restart)" 0 "$not_by_restart"
assert_eq "the unit is active" active "$(systemctl is-active "$U")"
assert_eq "the load ran throughout" 0 "$(kill -0 "$load"; echo $?)"
kill "$load"
assert_eq "the daemon logged no ejection" "" \
	"$(journalctl -u "$U" --since "$journal_from" --no-pager -o cat | grep -Ei 'ejected|giving up')"
assert_eq "no sched_ext error in dmesg" "" "$(scx_errors)"
check "systemctl stop $U" timeout 30 systemctl stop "$U"
check "sched_ext disabled after the stop" wait_for_state disabled 5
finish
