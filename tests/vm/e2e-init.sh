#!/bin/sh
# /init of the end-to-end VM test: scx-rustland on a real sched_ext kernel.
# Each block starts the daemon, checks one behaviour from the outside (sysfs,
# dmesg, exit status, its own stats line) and stops it again.
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 900

LOG=/tmp/rustland.log
RL_PID=

# start_rustland [OPTIONS...]: start the daemon in the background, logging
# one stats line per second, and wait until the kernel reports it enabled.
start_rustland() {
	: >"$LOG"
	scx-rustland --stats 1 "$@" >>"$LOG" 2>&1 &
	RL_PID=$!
	wait_for_state enabled 10
}

# start_notified NOTIFY_LOG WATCHDOG_USEC: like start_rustland, with the
# daemon's sd_notify messages going to a listener that logs them to
# NOTIFY_LOG (its pid in LISTENER).
start_notified() {
	notify-listen /run/notify.sock >"$1" &
	LISTENER=$!
	sleep 0.5
	export NOTIFY_SOCKET=/run/notify.sock WATCHDOG_USEC="$2"
	start_rustland
	_started=$?
	unset NOTIFY_SOCKET WATCHDOG_USEC
	return "$_started"
}

# stop_rustland SIGNAL: send it and wait for the exit; status in RL_RC.
# (Not in a $(...) subshell: only this shell can wait for the daemon.)
stop_rustland() {
	kill -"$1" "$RL_PID"
	wait "$RL_PID"
	RL_RC=$?
}

# last_stat NAME: the value of NAME= in the daemon's latest stats line.
last_stat() {
	grep 'stats:' "$LOG" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Lines in which the kernel reports a sched_ext failure.
scx_errors() {
	scx_dmesg | grep -Ei 'error|stall|fail' | grep -v 'unregistered from user space' || true
}

# dmesg_since MARK: kernel log lines after the line count MARK.
dmesg_lines() { dmesg | wc -l; }
dmesg_since() { dmesg | tail -n +"$(($1 + 1))"; }

assert_eq "sched_ext starts disabled" disabled "$(sched_ext_state)"

# --- Attach, then hold up under load ----------------------------------------
check "attaches: state enabled within 10 s" start_rustland
assert_eq "ops name is rustland" rustland "$(sched_ext_ops)"

out=$(scx-rustland 2>&1); rc=$?
assert_eq "a second instance is refused with exit code 4" 4 "$rc"
assert_match "the refusal says why" "already attached" "$out"
assert_eq "the first instance is still attached" enabled "$(sched_ext_state)"

log "load: stress-ng cpu+fork+switch for 20 s, hackbench alongside"
tail -f "$LOG" &
follow=$!
stress-ng --cpu 2 --fork 2 --switch 2 --timeout 20s --quiet &
load=$!
hackbench -g 4 -l 200 >/tmp/hackbench.log 2>&1
hb=$?
wait "$load"
kill "$follow"
assert_eq "hackbench completed under the scheduler" 0 "$hb"
sleep 1.5
assert_eq "still enabled after the load" enabled "$(sched_ext_state)"
assert_eq "no sched_ext error in dmesg" "" "$(scx_errors)"
tail -n 3 "$LOG"
params=$(last_stat param_updates)
assert_match "the policy published task parameters (param_updates=$params)" '^[1-9][0-9]*$' "$params"
kernel=$(last_stat kernel_dispatches)
assert_match "BPF scheduled tasks itself (kernel_dispatches=$kernel)" '^[1-9][0-9]*$' "$kernel"
assert_eq "no decision waited in user space (default mode)" 0 "$(last_stat user_dispatches)"
assert_eq "no page fault in the scheduling thread" 0 "$(last_stat page_faults)"

# Interactive tasks only: cyclictest, and two stress-ng workers that run
# 3-ms bursts at 30% load. When both CPUs run a worker, a cyclictest wakeup
# cannot preempt either (same class), so it waits; ops.tick ends a worker's
# slice for it. cyclictest pins its thread to CPU 0, and a pinned wakeup may
# preempt its own class, so the thread is let onto both CPUs (mask 3).
log "interactive wakeups behind interactive tasks: cyclictest and two 30% stress-ng workers"
ticks_before=$(last_stat tick_preemptions)
stress-ng --cpu 2 --cpu-load 30 --cpu-load-slice 3 --timeout 8s --quiet &
load=$!
sleep 2
cyclictest --policy=other -i 1000 -D 5 -q >/dev/null &
cyc=$!
sleep 0.5
for task in /proc/"$cyc"/task/*; do taskset -p 3 "${task##*/}" >/dev/null; done
check "cyclictest's threads may run on both CPUs" \
	[ "$(grep -h Cpus_allowed_list /proc/"$cyc"/task/*/status | sort -u | awk '{ print $2 }')" = 0-1 ]
wait "$cyc"
wait "$load"
sleep 1.5
ticks_after=$(last_stat tick_preemptions)
check "a waiting interactive wakeup ended a slice at a tick (tick_preemptions $ticks_before -> $ticks_after)" \
	[ "${ticks_after:-0}" -gt "${ticks_before:-0}" ]

# The same workers with cyclictest's thread pinned to CPU 0: a wakeup that
# may run on one CPU only preempts a task of its own class there
# (can_preempt_on), where an unpinned one would wait for a tick. Counted
# apart from the other preemptions, so the check fails without the rule.
log "pinned interactive wakeups behind interactive tasks: cyclictest on CPU 0 and two 30% stress-ng workers"
pinned_before=$(last_stat pinned_preemptions)
stress-ng --cpu 2 --cpu-load 30 --cpu-load-slice 3 --timeout 6s --quiet &
load=$!
sleep 2
cyclictest --policy=other -i 1000 -D 3 -q -a 0 >/dev/null
wait "$load"
sleep 1.5
pinned_after=$(last_stat pinned_preemptions)
check "a pinned wakeup preempted a task of its own class (pinned_preemptions $pinned_before -> $pinned_after)" \
	[ "${pinned_after:-0}" -gt "${pinned_before:-0}" ]

# hackbench's workers wake each other: a worker displaced by a wakeup runs
# slice_us_min before the next unheld wakeup may displace it. Measured in
# this VM, 20 runs: 11 532 and 32 007 preemptions without that rule (the
# build of 268aa03: storms that made runs 2-7x slower); with it 474-2 272
# in 16 windows of 20 runs, the highest with one run at 2.3x the median
# (docs/scheduler.md). The bound sits halfway between, on a log scale:
# 2 500 was too close to what the rule allows. A count, no timing.
log "hackbench 20 times: preemptions stay clear of a storm"
pre_before=$(last_stat preemptions)
i=0
while [ $i -lt 20 ]; do
	hackbench -g 2 -l 50 >/dev/null 2>&1 || break
	i=$((i + 1))
done
sleep 1.5
pre_after=$(last_stat preemptions)
assert_eq "hackbench ran 20 times" 20 "$i"
assert_match "the preemption counter was read before and after" '^[0-9]+ [0-9]+$' "$pre_before $pre_after"
check "20 hackbench runs made fewer than 5000 preemptions ($pre_before -> $pre_after)" \
	[ $((${pre_after:-0} - ${pre_before:-0})) -lt 5000 ]

# --- Clean detach on SIGINT and SIGTERM --------------------------------------
for sig in INT TERM; do
	[ "$sig" = TERM ] && check "reattaches for SIGTERM" start_rustland
	mark=$(dmesg_lines)
	stop_rustland "$sig"
	assert_eq "SIG$sig: exit status 0" 0 "$RL_RC"
	assert_eq "SIG$sig: state disabled" disabled "$(sched_ext_state)"
	assert_match "SIG$sig: kernel logs a clean unregistration" \
		'unregistered from user space' "$(dmesg_since "$mark")"
done

# --- SIGKILL: the kernel falls back to the fair class ------------------------
check "attaches for SIGKILL" start_rustland
kill -KILL "$RL_PID"
wait "$RL_PID"
check "after SIGKILL the kernel disables sched_ext" wait_for_state disabled 10
check "the machine keeps running tasks after SIGKILL" \
	stress-ng --cpu 2 --timeout 2s --quiet

# --- Partial mode: only SCHED_EXT tasks ---------------------------------------
check "attaches in partial mode" start_rustland --partial
sleep 30 &
fair=$!
sched-ext-run stress-ng --cpu 1 --timeout 6s --quiet &
ext=$!
sleep 4
assert_match "an ordinary task stays on the fair class" 'ext\.enabled +: +0|^$' \
	"$(grep 'ext.enabled' /proc/$fair/sched)"
assert_match "a SCHED_EXT task is scheduled by rustland" 'ext\.enabled +: +1' \
	"$(grep 'ext.enabled' /proc/$ext/sched)"
wait "$ext"
sleep 1.5
kernel=$(last_stat kernel_dispatches)
assert_match "partial mode: BPF scheduled the SCHED_EXT tasks (kernel_dispatches=$kernel)" '^[1-9][0-9]*$' "$kernel"
kill "$fair"
stop_rustland INT
assert_eq "partial mode: clean exit" 0 "$RL_RC"

# --- Full-user mode: every decision through user space -------------------------
check "attaches in full-user mode (-u)" start_rustland -u
hackbench -g 2 -l 100 >/tmp/hackbench-u.log 2>&1
assert_eq "full-user mode: hackbench completed" 0 "$?"
stress-ng --cpu 3 --timeout 3s --quiet
sleep 1.5
assert_eq "full-user mode: still enabled after the load" enabled "$(sched_ext_state)"
user=$(last_stat user_dispatches)
assert_match "full-user mode: user-space dispatches happened (user_dispatches=$user)" '^[1-9][0-9]*$' "$user"
assert_eq "full-user mode: no page fault in the scheduling thread" 0 "$(last_stat page_faults)"
stop_rustland INT
assert_eq "full-user mode: clean exit" 0 "$RL_RC"

# --- SIGHUP: reload the configuration -----------------------------------------
mkdir -p /etc/scx-rustland
printf '[scheduler]\nslice_us = 5000\n' >/etc/scx-rustland/config.toml
check "attaches with /etc/scx-rustland/config.toml" start_rustland
sleep 1.5
assert_eq "the file's slice is in force" 5000 "$(last_stat slice_us)"
printf '[scheduler]\nslice_us = 20000\n' >/etc/scx-rustland/config.toml
kill -HUP "$RL_PID"
sleep 2.5
assert_match "a live change is applied without reattaching" \
	'Applied without reattaching: scheduler.slice_us' "$(cat "$LOG")"
assert_eq "the new slice is in force" 20000 "$(last_stat slice_us)"
printf '[scheduler]\nslice_us = "fast"\n' >/etc/scx-rustland/config.toml
kill -HUP "$RL_PID"
sleep 2.5
assert_match "a broken config is reported with file:line:col" \
	'config.toml:2:[0-9]+: scheduler.slice_us' "$(cat "$LOG")"
assert_eq "a broken config keeps the scheduler attached" enabled "$(sched_ext_state)"
assert_eq "a broken config keeps the old slice" 20000 "$(last_stat slice_us)"
printf '[scheduler]\nslice_us = 20000\npartial = true\n' >/etc/scx-rustland/config.toml
kill -HUP "$RL_PID"
sleep 3
assert_match "a change that needs it reattaches" 'Reattaching the scheduler to apply: scheduler.partial' \
	"$(cat "$LOG")"
check "reattached in partial mode" wait_for_state enabled 10
assert_match "the kernel sees partial mode" 'enabled \(partial\)' "$(scx_dmesg | tail -n 1)"
stop_rustland INT
assert_eq "reload: clean exit" 0 "$RL_RC"
rm -f /etc/scx-rustland/config.toml

# --- systemd notifications, through a real notify socket ----------------------
check "attaches with NOTIFY_SOCKET set" start_notified /tmp/notify.log 2000000
sleep 3
assert_match "READY=1 with a STATUS, sent once attached" '^state=enabled READY=1 STATUS=Scheduling' \
	"$(grep -m1 'READY=1' /tmp/notify.log)"
assert_match "WATCHDOG=1 pings while the scheduler makes progress" 'WATCHDOG=1' "$(cat /tmp/notify.log)"
kill -HUP "$RL_PID"
sleep 2
assert_match "RELOADING=1 then READY=1 around a reload" 'RELOADING=1 MONOTONIC_USEC=[0-9]+' \
	"$(sed -n '/RELOADING=1/,$p' /tmp/notify.log | head -n 1)"
assert_match "READY=1 again after the reload" 'READY=1' "$(sed -n '/RELOADING=1/,$p' /tmp/notify.log | tail -n +2)"
stop_rustland TERM
assert_match "STOPPING=1 on SIGTERM" 'STOPPING=1' "$(tail -n 2 /tmp/notify.log)"
kill "$LISTENER"

# --- A stalled scheduling thread stops the watchdog pings ---------------------
# The scheduling thread alone is frozen (a threaded cgroup with cgroup.freeze),
# while the control thread keeps running and checking the watchdog gate. The
# kernel may eject the stalled scheduler ("runnable task stall"): expected
# here, so dmesg is checked before this block and only after it at the end.
assert_eq "no sched_ext error before the stall test" "" "$(scx_errors)"
check "attaches for the stall test" start_notified /tmp/notify2.log 1000000
sleep 2
assert_match "pings before the stall" 'WATCHDOG=1' "$(cat /tmp/notify2.log)"
sched_tid=$(for t in /proc/"$RL_PID"/task/*; do
	[ "$(cat "$t/comm")" = rustland-sched ] && basename "$t"; done)
mkdir -p /sys/fs/cgroup/stall
echo threaded >/sys/fs/cgroup/stall/cgroup.type
echo "$sched_tid" >/sys/fs/cgroup/stall/cgroup.threads
echo 1 >/sys/fs/cgroup/stall/cgroup.freeze
# Two unanswered heartbeats (1 s apart, the first 1 s after the last round)
# make a stall: wait for them before counting.
sleep 4
stalled_from=$(wc -l </tmp/notify2.log)
sleep 3
assert_eq "no WATCHDOG=1 while the scheduling thread is stalled" 0 \
	"$(tail -n +"$((stalled_from + 1))" /tmp/notify2.log | grep -c 'WATCHDOG=1')"
assert_match "the stall is logged" 'made no progress with work pending' "$(cat "$LOG")"
echo 0 >/sys/fs/cgroup/stall/cgroup.freeze
resumed_from=$(wc -l </tmp/notify2.log)
sleep 4
check "attached again after the thaw" wait_for_state enabled 15
sleep 2
assert_match "pings resume after the thaw" 'WATCHDOG=1' \
	"$(tail -n +"$((resumed_from + 1))" /tmp/notify2.log)"
stop_rustland INT
assert_eq "stall test: clean exit" 0 "$RL_RC"
rmdir /sys/fs/cgroup/stall
kill "$LISTENER"
errors_from=$(dmesg_lines)

# --- Ejection by the kernel: reattach with backoff, then give up --------------
echo 1 >/proc/sys/kernel/sysrq
check "attaches before the ejections" start_rustland
echo S >/proc/sysrq-trigger
sleep 1
check "reattached by itself after an ejection (sysrq-S)" wait_for_state enabled 10
assert_match "the ejection reason is logged, then the backoff" 'ejected the scheduler: .*sysrq' "$(cat "$LOG")"
assert_eq "the same daemon process is still running after the ejection" 0 "$(kill -0 "$RL_PID"; echo $?)"
for i in 2 3 4; do
	wait_for_state enabled 15 >/dev/null
	echo S >/proc/sysrq-trigger
	sleep 0.5
done
wait "$RL_PID"
RL_RC=$?
assert_eq "the fourth ejection within a minute ends the daemon with status 1" 1 "$RL_RC"
assert_match "and says it gives up" 'giving up' "$(cat "$LOG")"
assert_eq "the kernel is back on the fair class" disabled "$(sched_ext_state)"

# --- CPU hotplug: the scheduler stays attached -------------------------------
# The dispatcher has the kernel's hotplug callbacks: no restart request, no
# reattach, the same attachment (enable_seq) before and after.
check "attaches before hotplug" start_rustland
seq_before=$(cat "$SCX_SYSFS/enable_seq")
echo 0 >/sys/devices/system/cpu/cpu1/online
stress-ng --cpu 2 --timeout 3s --quiet
assert_eq "still enabled on one CPU under load" enabled "$(sched_ext_state)"
echo 1 >/sys/devices/system/cpu/cpu1/online
stress-ng --cpu 2 --timeout 2s --quiet
assert_eq "still enabled with CPU 1 back" enabled "$(sched_ext_state)"
assert_eq "the same attachment through both events" "$seq_before" "$(cat "$SCX_SYSFS/enable_seq")"
assert_eq "no restart request" "" "$(grep -i 'asked for a restart' "$LOG")"
stop_rustland INT
assert_eq "hotplug: clean exit" 0 "$RL_RC"

# With -i every task a CPU ran waits in that CPU's own DSQ: when the CPU
# goes offline, the other CPU's starvation guard must run what is left there
# (without it, a stress-ng worker waited there until the kernel ejected the
# scheduler; before the guard looked at other CPUs' DSQs, 2 runs in 10 did).
check "attaches with -i" start_rustland -i
seq_before=$(cat "$SCX_SYSFS/enable_seq")
timeout 60 stress-ng --cpu 4 --timeout 10s --quiet &
load=$!
sleep 2
echo 0 >/sys/devices/system/cpu/cpu1/online
wait "$load"
assert_eq "-i: every stress-ng worker finished with CPU 1 offline" 0 "$?"
assert_eq "-i: the same attachment" "$seq_before" "$(cat "$SCX_SYSFS/enable_seq")"
echo 1 >/sys/devices/system/cpu/cpu1/online
stop_rustland INT
assert_eq "-i hotplug: clean exit" 0 "$RL_RC"
assert_eq "no sched_ext error in dmesg after the stall test" "" \
	"$(dmesg_since "$errors_from" | grep -i sched_ext | grep -Ei 'error|stall|fail')"

scx_dmesg | tail -n 20
finish
