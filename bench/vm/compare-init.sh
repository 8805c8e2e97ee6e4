#!/bin/sh
# /init of the comparison VM (bench/vm/compare.sh): the kernel's default
# scheduler (EEVDF, sched_ext off) against scx-rustland with its defaults, in
# one boot, with the same workloads under the same background load.
#
# For each repetition, EEVDF then scx-rustland (interleaved so that drift of
# the host hits both alike), with 2 stress-ng CPU hogs in the background:
#   1. cyclictest, one SCHED_OTHER thread at 500 Hz: p99 and max wakeup
#      latency, periods served of those due in the window;
#   2. perf bench sched pipe: µs per round trip;
#   3. hackbench -g 2 -l 100: seconds;
#   4. the hogs' bogo-ops/s over the whole window (stress-ng --metrics-brief).
# For scx-rustland also: its counters (last stats line), CPU time and peak RSS.
#
# Each run prints one machine-readable line
#   RESULT sched=<eevdf|rustland> rep=<n> key=value ...
# which compare.sh turns into the report. Checks (state enabled around every
# workload, clean detach, no sched_ext error in dmesg) are PASS/FAIL lines; any
# FAIL makes the VM exit non-zero. The runs go on after a failure so that the
# report shows what happened; a value measured after scx-rustland was lost
# (ejected mid-run) carries a '*'.
#
# Knobs (kernel command line key=value, which the kernel hands to /init as
# environment variables; compare.sh sets them):
#   bench_reps  repetitions per scheduler (3)
#   bench_cyc_s cyclictest duration in seconds (10; 500 Hz, so 5000 periods due)
#   bench_pipe  perf bench sched pipe loops (2000)
#   bench_hb    hackbench loops (100)
#   bench_args  extra scx-rustland options, ',' for ' ' (none: the defaults)
# shellcheck disable=SC1091 # installed by tests/vm/mkinitramfs.sh
. /usr/lib/scx-vm/guest-lib.sh
guest_setup

REPS=${bench_reps:-3}
CYC_S=${bench_cyc_s:-10}
PIPE_LOOPS=${bench_pipe:-2000}
HB_LOOPS=${bench_hb:-100}
RL_ARGS=$(echo "${bench_args:-}" | tr ',' ' ')
CYC_INTERVAL_US=2000
CYC_HIST_US=250000  # histogram range; later wakeups count as overflows
WORKLOAD_TIMEOUT=180 # per workload, in case a scheduler starves it
USER_HZ=100          # /proc/<pid>/stat ticks on x86

# Whole-run watchdog, generous: a broken scheduler may make every run slow.
guest_watchdog $((REPS * 2 * (CYC_S + 3 * WORKLOAD_TIMEOUT / 4) + 120))

RL_LOG=/tmp/rustland.log
HOG_LOG=/tmp/hogs.log
FAILURES=0

log "compare: kernel $(uname -r), $(nproc) CPUs, reps=$REPS cyclictest=${CYC_S}s@500Hz pipe=$PIPE_LOOPS hackbench=-g2 -l$HB_LOOPS rustland args='${RL_ARGS}'"
echo "BENCH-CONFIG reps=$REPS cyc_s=$CYC_S cyc_interval_us=$CYC_INTERVAL_US pipe_loops=$PIPE_LOOPS hb_loops=$HB_LOOPS ncpu=$(nproc) kernel=$(uname -r) rl_args=$(echo "$RL_ARGS" | tr ' ' ',')"

now() { uptime_s; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Kernel lines that mean sched_ext failed: an ejection, a stall, an error.
scx_errors() {
	dmesg | tail -n +"$(($1 + 1))" | grep -Ei 'sched_ext|scx' |
		grep -Ei 'error|stall|fail|disabl' | grep -v 'unregistered from user space' || true
}

# ensure_state SCHED WHEN: for rustland, sched_ext must be enabled; for
# EEVDF, disabled (nothing attached). Prints a FAIL line otherwise.
ensure_state() {
	_want=disabled
	[ "$1" = rustland ] && _want=enabled
	_st=$(sched_ext_state)
	[ "$1" = rustland ] && sample_daemon
	if [ "$_st" = "$_want" ]; then
		RUN_OK_CHECKS=$((RUN_OK_CHECKS + 1))
	else
		fail "$1 rep $REP: sched_ext state '$_st' $2 (wanted '$_want')"
		RUN_BAD=1
		RUN_LOST=1
	fi
}

# tag VALUE: VALUE, with a '*' once the run has lost its scheduler (the
# workload ended, at least partly, on another one). compare.sh leaves such
# values out of medians and ratios and lists them apart.
tag() {
	if [ "$RUN_LOST" = 1 ] && [ "$1" != na ]; then echo "$1*"; else echo "$1"; fi
}

# cyclictest -> CYC_P99 CYC_MAX CYC_SERVED (µs, µs, count).
# --policy=other and never -p: -p makes the thread SCHED_FIFO, which
# sched_ext does not schedule. The sparse histogram comes from the JSON file;
# the full one goes to /dev/null so it does not flood the console.
run_cyclictest() {
	rm -f /tmp/cyc.json
	timeout "$WORKLOAD_TIMEOUT" cyclictest --policy=other -i "$CYC_INTERVAL_US" -D "$CYC_S" -q \
		-h "$CYC_HIST_US" --histfile=/dev/null --json=/tmp/cyc.json >/tmp/cyc.out 2>&1
	_rc=$?
	CYC_P99=na CYC_MAX=na CYC_SERVED=na
	if [ "$_rc" -ne 0 ] || [ ! -s /tmp/cyc.json ]; then
		fail "$SCHED rep $REP: cyclictest exited $_rc"
		cat /tmp/cyc.out
		RUN_BAD=1
		return
	fi
	# shellcheck disable=SC2046 # three numbers, split on purpose
	# One thread: read its histogram ("<us>": <count>), cycles and max.
	set -- $(awk -v hmax="$CYC_HIST_US" '
		/"histogram"/ { inh = 1; next }
		inh && /}/ { inh = 0; next }
		inh { gsub(/[",:]/, " "); b[n] = $1 + 0; c[n] = $2 + 0; n++; next }
		/"cycles"/ { gsub(/[",:]/, " "); cycles = $2 + 0 }
		/"max"/ { gsub(/[",:]/, " "); max = $2 + 0 }
		END {
			# Nearest-rank p99 over all cycles; beyond the histogram it
			# is an overflow, reported as ">range".
			rank = int(cycles * 0.99); if (rank < cycles * 0.99) rank++
			p99 = ">" hmax; cum = 0
			for (i = 0; i < n; i++) { cum += c[i]; if (cum >= rank) { p99 = b[i]; break } }
			print p99, max, cycles
		}' /tmp/cyc.json)
	CYC_P99=$1 CYC_MAX=$2 CYC_SERVED=$3
}

# measure NAME AWK_PROGRAM CMD...: runs CMD under the workload timeout and
# sets MEASURED to what AWK_PROGRAM prints from its output ("na" if nothing,
# or if CMD failed, which also fails the run).
measure() {
	_name=$1 _prog=$2
	shift 2
	MEASURED=na
	if ! timeout "$WORKLOAD_TIMEOUT" "$@" >/tmp/measure.out 2>&1; then
		fail "$SCHED rep $REP: $_name failed or timed out"
		cat /tmp/measure.out
		RUN_BAD=1
		return
	fi
	MEASURED=$(awk "$_prog" /tmp/measure.out)
	[ -n "$MEASURED" ] || MEASURED=na
}

# perf bench sched pipe -> PIPE_US (µs per op).
run_pipe() {
	measure "perf bench sched pipe" '/usecs\/op/ { print $1 }' perf bench sched pipe -l "$PIPE_LOOPS"
	PIPE_US=$MEASURED
}

# hackbench -> HB_S (seconds).
run_hackbench() {
	measure hackbench '/^Time:/ { print $2 }' hackbench -g 2 -l "$HB_LOOPS"
	HB_S=$MEASURED
}

# CPU time (ms) of a process, all threads: utime + stime.
cpu_ms() {
	awk -v hz="$USER_HZ" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo na
}

# sample_daemon: the daemon's CPU time and peak RSS, kept from the last
# sample taken while it was alive (it exits by itself when ejected).
sample_daemon() {
	[ -n "${RL_PID:-}" ] && [ -r "/proc/$RL_PID/status" ] || return 0
	_c=$(cpu_ms "$RL_PID")
	_h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RL_PID/status" 2>/dev/null)
	[ -n "$_c" ] && [ "$_c" != na ] && RL_CPU=$_c
	[ -n "$_h" ] && RL_HWM=$_h
	return 0
}

# last_stat NAME: NAME= of the daemon's latest stats line.
last_stat() {
	grep 'stats:' "$RL_LOG" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# one_run SCHED: one repetition of every workload under SCHED.
one_run() {
	SCHED=$1
	RUN_BAD=0
	RUN_LOST=0
	RUN_OK_CHECKS=0
	mark=$(dmesg | wc -l)
	t_run=$(now)
	log "=== rep $REP/$REPS: $SCHED"
	RL_EXTRA=""
	if [ "$SCHED" = rustland ]; then
		: >"$RL_LOG"
		# shellcheck disable=SC2086 # RL_ARGS is meant to split
		scx-rustland --stats 1 $RL_ARGS >>"$RL_LOG" 2>&1 &
		RL_PID=$!
		# Up to 15 s, but give up at once if the daemon exits.
		i=0
		while [ "$(sched_ext_state)" != enabled ] && kill -0 "$RL_PID" 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ "$(sched_ext_state)" != enabled ]; then
			wait "$RL_PID"
			fail "rustland rep $REP: not attached (daemon exit status $?, state '$(sched_ext_state)'); runs skipped"
			echo "--- scx-rustland log (last 20 lines)"
			tail -n 20 "$RL_LOG"
			FAILURES=$((FAILURES + 1))
			RL_PID=
			echo "RESULT sched=$SCHED rep=$REP ok=0 cyc_p99_us=na cyc_max_us=na cyc_served=na cyc_due=$((CYC_S * 1000000 / CYC_INTERVAL_US)) pipe_us_op=na hb_s=na hog_ops_s=na load_s=na run_s=$(elapsed "$t_run")"
			return
		fi
		log "scx-rustland attached after $(elapsed "$t_run") s"
		RL_CPU=na RL_HWM=na
		sample_daemon
		cpu_attach=$RL_CPU
	fi
	ensure_state "$SCHED" "before the hogs"

	stress-ng --cpu 2 --metrics-brief >"$HOG_LOG" 2>&1 &
	hogs=$!
	sleep 1
	t_load=$(now)
	[ "$SCHED" = rustland ] && sample_daemon && cpu0=$RL_CPU

	ensure_state "$SCHED" "before cyclictest"
	run_cyclictest
	ensure_state "$SCHED" "after cyclictest"
	CYC_P99=$(tag "$CYC_P99") CYC_MAX=$(tag "$CYC_MAX") CYC_SERVED=$(tag "$CYC_SERVED")
	run_pipe
	ensure_state "$SCHED" "after pipe"
	PIPE_US=$(tag "$PIPE_US")
	run_hackbench
	ensure_state "$SCHED" "after hackbench"
	HB_S=$(tag "$HB_S")

	kill -INT "$hogs"
	wait "$hogs"
	load_s=$(elapsed "$t_load")
	[ "$SCHED" = rustland ] && sample_daemon && cpu1=$RL_CPU
	# "cpu <bogo ops> <real s> <usr s> <sys s> <ops/s real> <ops/s usr+sys>"
	HOG=$(awk '$4 == "cpu" && $5 ~ /^[0-9]/ { print $9 }' "$HOG_LOG")
	if [ -z "$HOG" ]; then
		fail "$SCHED rep $REP: no stress-ng metrics"
		cat "$HOG_LOG"
		RUN_BAD=1
		HOG=na
	fi
	HOG=$(tag "$HOG")

	if [ "$SCHED" = rustland ]; then
		# A fresh stats line (one per second) so the counters cover the
		# whole window, then the daemon's own cost, then a clean detach.
		n0=$(grep -c 'stats:' "$RL_LOG")
		i=0
		while [ "$(grep -c 'stats:' "$RL_LOG")" -le "$n0" ] && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		ensure_state rustland "at the end of the run"
		hwm=$RL_HWM
		kill -0 "$RL_PID" 2>/dev/null && kill -INT "$RL_PID"
		wait "$RL_PID"
		rl_rc=$?
		if [ "$rl_rc" -ne 0 ]; then
			fail "rustland rep $REP: daemon exit status $rl_rc"
			RUN_BAD=1
		fi
		if [ "$(sched_ext_state)" != disabled ]; then
			wait_for_state disabled 5 || { fail "rustland rep $REP: still attached after SIGINT"; RUN_BAD=1; }
		fi
		cpu_load=na
		[ "$cpu0" != na ] && [ "$cpu1" != na ] && cpu_load=$(tag $((cpu1 - cpu0)))
		RL_PID=
		RL_EXTRA="rl_user=$(last_stat user) rl_kernel=$(last_stat kernel) rl_page_faults=$(last_stat page_faults) rl_congested=$(last_stat congested) rl_cpu_ms_start=$cpu_attach rl_cpu_ms_load=$cpu_load rl_hwm_kb=$hwm rl_rc=$rl_rc"
		grep 'stats:' "$RL_LOG" | tail -n 1
	fi

	errs=$(scx_errors "$mark")
	if [ -n "$errs" ]; then
		fail "$SCHED rep $REP: sched_ext errors in dmesg:"
		echo "$errs" | sed 's/^/  dmesg| /'
		RUN_BAD=1
	fi
	if [ "$RUN_BAD" -ne 0 ]; then
		FAILURES=$((FAILURES + 1))
		if [ "$SCHED" = rustland ]; then
			echo "--- scx-rustland log (last 20 lines)"
			tail -n 20 "$RL_LOG"
		fi
	else
		pass "$SCHED rep $REP: $RUN_OK_CHECKS state checks, clean"
	fi
	echo "RESULT sched=$SCHED rep=$REP ok=$((1 - RUN_BAD)) cyc_p99_us=$CYC_P99 cyc_max_us=$CYC_MAX cyc_served=$CYC_SERVED cyc_due=$((CYC_S * 1000000 / CYC_INTERVAL_US)) pipe_us_op=$PIPE_US hb_s=$HB_S hog_ops_s=$HOG load_s=$load_s run_s=$(elapsed "$t_run") $RL_EXTRA"
}

assert_eq "sched_ext starts disabled" disabled "$(sched_ext_state)"
t_all=$(now)
REP=1
while [ "$REP" -le "$REPS" ]; do
	one_run eevdf
	one_run rustland
	REP=$((REP + 1))
done
echo "BENCH-DONE runs=$((REPS * 2)) failed_runs=$FAILURES guest_s=$(elapsed "$t_all")"
scx_dmesg | tail -n 12
finish
