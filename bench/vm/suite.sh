#!/bin/sh
# suite.sh - the workloads of the benchmark suite, under each scheduler in
# turn, in one boot (or on one sched_ext host). bench/run.sh starts it (in the
# VM through bench/vm/suite-init.sh) and bench/report.py turns its output
# directory into the results table and plots.
#
# POSIX sh: runs under busybox ash in the VM and under dash/bash on a host.
# It uses the helpers of tests/vm/guest-lib.sh (log, pass, fail,
# sched_ext_state; path in $SUITE_LIB) and never powers anything off.
#
# For each repetition, each scheduler (interleaved, so host drift hits all
# alike), each background load, each workload:
#   schedulers  eevdf     the kernel's default (sched_ext off)
#               rustland  scx-rustland, default options
#               held      scx-rustland, the interactive workloads (frameloop,
#                         cyclictest) started by `scx-rustlandctl run` and so
#                         held latency-critical through the D-Bus API
#               user      scx-rustland -u (every decision in user space)
#   loads       none; hogs (stress-ng --cpu NCPU --metrics-brief); build (a
#               generated Makefile run by make -j2*NCPU over and over, each
#               target a short CPU-bound process)
#   workloads   fl60, fl144 (frameloop at 60/144 Hz with a render thread),
#               cyc (cyclictest --policy=other: SCHED_OTHER; -p would make it
#               SCHED_FIFO, which sched_ext does not schedule), pipe (perf
#               bench sched pipe), msg (perf bench sched messaging), hb
#               (hackbench)
#
# Output in $SUITE_OUT:
#   config           key=value: what was run, calibration
#   runs.tsv         one line per workload run: rep sched load wl ok note
#   loads.tsv        one line per load phase: rep sched load seconds ops
#   daemon.tsv       one line per scx-rustland session: its cost and counters
#   raw/             each run's own output (JSON, text), named rep-sched-load-wl.*
#   daemon/          the daemon's log of each session
# A run is ok=1 when its tool succeeded and the scheduler it was meant to run
# under was in place before and after it, with no sched_ext error in the
# kernel log meanwhile. Exit status: 0 if every run was ok, 1 otherwise.
#
# Knobs (environment):
#   SUITE_OUT SUITE_REPS(3) SUITE_SCHEDS("eevdf rustland held user")
#   SUITE_LOADS("none hogs build") SUITE_WORKLOADS("fl60 fl144 cyc pipe msg hb")
#   SUITE_FL_S(4) SUITE_CYC_S(4) SUITE_PIPE(500) SUITE_MSG(5) SUITE_HB(20)
#   SUITE_BUILD_TARGETS(64) SUITE_BUILD_WORK(awk loop count per target, 5000)
#   SUITE_RL(scx-rustland) SUITE_CTL(scx-rustlandctl) SUITE_FRAMELOOP(frameloop)
#   SUITE_LIB(/usr/lib/scx-vm/guest-lib.sh)

# shellcheck disable=SC1090 # path given by the caller
. "${SUITE_LIB:-/usr/lib/scx-vm/guest-lib.sh}"

OUT=${SUITE_OUT:?SUITE_OUT must name the results directory}
REPS=${SUITE_REPS:-3}
SCHEDS=${SUITE_SCHEDS:-eevdf rustland held user}
LOADS=${SUITE_LOADS:-none hogs build}
WORKLOADS=${SUITE_WORKLOADS:-fl60 fl144 cyc pipe msg hb}
FL_S=${SUITE_FL_S:-4}
CYC_S=${SUITE_CYC_S:-4}
PIPE_LOOPS=${SUITE_PIPE:-500}
MSG_LOOPS=${SUITE_MSG:-5}
HB_LOOPS=${SUITE_HB:-20}
BUILD_TARGETS=${SUITE_BUILD_TARGETS:-64}
BUILD_WORK=${SUITE_BUILD_WORK:-5000}
RL=${SUITE_RL:-scx-rustland}
CTL=${SUITE_CTL:-scx-rustlandctl}
FL=${SUITE_FRAMELOOP:-frameloop}
NCPU=$(nproc)
CYC_INTERVAL_US=2000
WORKLOAD_TIMEOUT=240 # per workload, in case a scheduler starves it
USER_HZ=100          # /proc/<pid>/stat ticks
# Frame work as a share of the period, main thread and render thread: a
# game that uses 15% of its frame budget on an idle VM, so that with one
# CPU hog per CPU (a fair share of half a CPU) it still fits in its frame.
FL_WORK_PCT=10
FL_RENDER_PCT=5

mkdir -p "$OUT/raw" "$OUT/daemon"
: >"$OUT/runs.tsv"
: >"$OUT/loads.tsv"
: >"$OUT/daemon.tsv"
BAD_RUNS=0
BLD=/tmp/suite-build

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- calibration (idle machine, whatever scheduler is in place: run first) ----

# Iterations of frameloop's work loop per millisecond, idle.
calibrate() {
	LOOPS_PER_MS=$("$FL" --calibrate | sed -n 's/.*"loops_per_ms":\([0-9.]*\).*/\1/p')
	[ -n "$LOOPS_PER_MS" ] || { fail "frameloop --calibrate gave no number"; return 1; }
}

# loops HZ PCT: work-loop iterations for PCT percent of a frame at HZ.
loops() { awk -v l="$LOOPS_PER_MS" -v hz="$1" -v p="$2" 'BEGIN { printf "%d", l * 1000 / hz * p / 100 }'; }

# ---- the build load --------------------------------------------------------------

# A Makefile of independent targets, each a short CPU-bound process.
make_build_tree() {
	rm -rf "$BLD"
	mkdir -p "$BLD/o"
	{
		printf 'all:'
		i=1
		while [ $i -le "$BUILD_TARGETS" ]; do printf ' o/t%d' $i; i=$((i + 1)); done
		printf '\n\no/t%%:\n\t@awk '"'"'BEGIN { for (i = 0; i < %d; i++) s += i * i }'"'"' && : >$@\n' "$BUILD_WORK"
	} >"$BLD/Makefile"
}

# Runs the build again and again until $BLD/stop appears; each complete
# round adds a line to $BLD/rounds.
build_loop() {
	: >"$BLD/rounds"
	while [ ! -e "$BLD/stop" ]; do
		rm -f "$BLD"/o/t*
		make -s -j$((2 * NCPU)) -C "$BLD" all >/dev/null 2>&1 &
		echo $! >"$BLD/make.pid"
		if wait $!; then
			echo 1 >>"$BLD/rounds"
		elif [ ! -e "$BLD/stop" ]; then
			# Not our SIGTERM: a broken build would otherwise spin here.
			fail "rep $REP $SCHED: the build load failed"
			return 1
		fi
	done
}

# ---- loads -------------------------------------------------------------------

start_load() {
	LOAD_T0=$(now)
	LOAD_PID=
	case $1 in
	none) ;;
	hogs)
		stress-ng --cpu "$NCPU" --metrics-brief >/tmp/suite-hogs.log 2>&1 &
		LOAD_PID=$!
		;;
	build)
		rm -f "$BLD/stop"
		build_loop &
		LOAD_PID=$!
		;;
	esac
	# Let the load reach its steady state before measuring.
	[ "$1" = none ] || sleep 1
}

# stop_load NAME: ends the load, appends its throughput to loads.tsv
# (hogs: bogo-ops/s over real time; build: targets completed per second).
stop_load() {
	_ops=na
	case $1 in
	hogs)
		kill -INT "$LOAD_PID"
		wait "$LOAD_PID"
		# "stress-ng: metrc: [pid] cpu <bogo ops> <real s> <usr s> <sys s> <ops/s real> ..."
		_ops=$(awk '$4 == "cpu" && $5 ~ /^[0-9]/ { print $9 }' /tmp/suite-hogs.log)
		[ -n "$_ops" ] || { _ops=na; cat /tmp/suite-hogs.log; }
		;;
	build)
		_s=$(since "$LOAD_T0")
		touch "$BLD/stop"
		kill -TERM "$(cat "$BLD/make.pid")" 2>/dev/null
		wait "$LOAD_PID"
		_done=$(($(wc -l <"$BLD/rounds") * BUILD_TARGETS + $(find "$BLD/o" -name 't*' | wc -l)))
		_ops=$(awk -v n="$_done" -v s="$_s" 'BEGIN { printf "%.2f", n / s }')
		;;
	esac
	[ "$1" = none ] || printf '%s\t%s\t%s\t%s\t%s\n' "$REP" "$SCHED" "$1" "$(since "$LOAD_T0")" "$_ops" >>"$OUT/loads.tsv"
}

# ---- schedulers ----------------------------------------------------------------

# Expected /sys/kernel/sched_ext/state under the current scheduler.
want_state() { if [ "$SCHED" = eevdf ]; then echo disabled; else echo enabled; fi; }

# start_sched: attaches scx-rustland for the rustland variants; 0 when the
# wanted scheduler is in place.
start_sched() {
	RL_PID=
	DMESG_MARK=$(dmesg | wc -l)
	[ "$SCHED" = eevdf ] && return 0
	# -v for the service's debug lines, which show each hold granted (see
	# holds_logged); every variant gets it, so that all log alike.
	_opts="--stats 1 -v"
	[ "$SCHED" = user ] && _opts="$_opts -u"
	RL_LOG=$OUT/daemon/rep$REP-$SCHED.log
	# shellcheck disable=SC2086 # options are words
	"$RL" $_opts >"$RL_LOG" 2>&1 &
	RL_PID=$!
	_i=0
	while [ "$(sched_ext_state)" != enabled ] && kill -0 "$RL_PID" 2>/dev/null && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if [ "$(sched_ext_state)" != enabled ]; then
		fail "$SCHED rep $REP: scx-rustland did not attach (state '$(sched_ext_state)')"
		tail -n 20 "$RL_LOG"
		kill -INT "$RL_PID" 2>/dev/null
		wait "$RL_PID"
		RL_PID=
		return 1
	fi
	if [ "$SCHED" = held ]; then
		# The D-Bus name appears once the service is up; the held runs use --strict.
		_i=0
		until "$CTL" status >/dev/null 2>&1 || [ $_i -ge 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	fi
	RL_T0=$(now)
	RL_STAT0=$(proc_stat "$RL_PID")
	return 0
}

# proc_stat PID: "cpu_ms minflt majflt" of a process (all threads).
proc_stat() {
	# The command name (field 2) has no spaces here, so fields split plainly.
	awk -v hz="$USER_HZ" '{ printf "%d %d %d", ($14 + $15) * 1000 / hz, $10, $12 }' "/proc/$1/stat" 2>/dev/null
}

# stats_field NAME: NAME= of the daemon's latest stats line.
stats_field() { grep 'stats:' "$RL_LOG" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# stop_sched: detaches scx-rustland (SIGINT, must exit 0) and appends its
# cost over the session to daemon.tsv.
stop_sched() {
	[ -n "$RL_PID" ] || return 0
	# A fresh stats line so the counters cover the whole session.
	_n0=$(grep -c 'stats:' "$RL_LOG")
	_i=0
	while [ "$(grep -c 'stats:' "$RL_LOG")" -le "$_n0" ] && [ $_i -lt 30 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	_window=$(since "$RL_T0")
	_stat1=$(proc_stat "$RL_PID")
	_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RL_PID/status" 2>/dev/null)
	_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RL_PID/status" 2>/dev/null)
	# Most pids known to the policy at any stats line of the session.
	_tasks=$(grep 'stats:' "$RL_LOG" | tr ' ' '\n' | sed -n 's/^tasks=//p' | sort -n | tail -n 1)
	kill -INT "$RL_PID"
	wait "$RL_PID"
	_rc=$?
	[ "$_rc" -eq 0 ] || fail "$SCHED rep $REP: scx-rustland exited with status $_rc"
	# shellcheck disable=SC2086 # two "cpu minflt majflt" triples
	set -- $RL_STAT0 $_stat1
	printf 'rep=%s sched=%s exit=%s window_s=%s cpu_ms=%s minflt=%s majflt=%s hwm_kb=%s rss_kb=%s tasks_max=%s page_faults=%s user=%s kernel=%s congested=%s failed=%s starved=%s ncpu=%s\n' \
		"$REP" "$SCHED" "$_rc" "$_window" "$(($4 - $1))" "$(($5 - $2))" "$(($6 - $3))" "${_hwm:-na}" "${_rss:-na}" \
		"${_tasks:-na}" "$(stats_field page_faults)" "$(stats_field user)" "$(stats_field kernel)" \
		"$(stats_field congested)" "$(stats_field failed)" "$(stats_field starved)" "$NCPU" >>"$OUT/daemon.tsv"
	RL_PID=
}

# Kernel log lines since the session began that mean sched_ext failed.
scx_errors() {
	dmesg | tail -n +"$((DMESG_MARK + 1))" | grep -Ei 'sched_ext|scx' |
		grep -Ei 'error|stall|fail|disabl' | grep -v 'unregistered from user space' || true
}

# ---- workloads -------------------------------------------------------------------

is_interactive() { case $1 in fl60 | fl144 | cyc) return 0 ;; *) return 1 ;; esac; }

# Holds the daemon has granted to app id "bench" so far in this session
# (its debug log line "D-Bus: hold <cookie> on process <pid> (bench) ...").
holds_logged() {
	if [ -n "$RL_PID" ]; then grep -c 'D-Bus: hold [0-9]* on process [0-9]* (bench)' "$RL_LOG"; else echo 0; fi
}

# Words to put before an interactive workload's command: under the held
# variant it runs under `scx-rustlandctl run`, which holds the command's own
# process (so it must come right before it, after `timeout`). --strict: a
# refused hold fails the run instead of measuring an unheld task.
hold_prefix() {
	[ "$SCHED" != held ] || echo "$CTL run --app-id bench --reason benchmark --strict --"
}

# run_workload WL: runs one workload into raw/<rep>-<sched>-<load>-<wl>.*;
# 0 when the tool succeeded.
run_workload() {
	_f=$OUT/raw/$REP-$SCHED-$LOAD-$1
	_hold=$(hold_prefix)
	# shellcheck disable=SC2086 # $_hold is words or nothing
	case $1 in
	fl60 | fl144)
		_hz=${1#fl}
		timeout "$WORKLOAD_TIMEOUT" $_hold "$FL" --hz "$_hz" -d "$FL_S" \
			-w "$(loops "$_hz" "$FL_WORK_PCT")" --render --render-loops "$(loops "$_hz" "$FL_RENDER_PCT")" \
			-j "$_f.json" --raw "$_f.raw" >"$_f.out" 2>&1
		;;
	cyc)
		timeout "$WORKLOAD_TIMEOUT" $_hold cyclictest --policy=other -i "$CYC_INTERVAL_US" -D "$CYC_S" -q \
			-h 250000 --histfile=/dev/null --json="$_f.json" >"$_f.out" 2>&1
		;;
	pipe) timeout "$WORKLOAD_TIMEOUT" perf bench sched pipe -l "$PIPE_LOOPS" >"$_f.out" 2>&1 ;;
	msg) timeout "$WORKLOAD_TIMEOUT" perf bench sched messaging -g 1 -l "$MSG_LOOPS" >"$_f.out" 2>&1 ;;
	hb) timeout "$WORKLOAD_TIMEOUT" hackbench -g 2 -l "$HB_LOOPS" >"$_f.out" 2>&1 ;;
	*)
		echo "unknown workload $1" >"$_f.out"
		return 2
		;;
	esac
}

# one_run WL: the workload with the checks around it; one line in runs.tsv.
one_run() {
	_want=$(want_state)
	_note=""
	_before=$(sched_ext_state)
	_holds=$(holds_logged)
	_t=$(now)
	run_workload "$1"
	_rc=$?
	_after=$(sched_ext_state)
	[ "$_rc" -eq 0 ] || _note="$_note tool-exit-$_rc"
	[ "$_before" = "$_want" ] || _note="$_note state-before-$_before"
	[ "$_after" = "$_want" ] || _note="$_note state-after-$_after"
	if [ -n "$(hold_prefix)" ] && is_interactive "$1" && [ "$(holds_logged)" -le "$_holds" ]; then
		_note="$_note not-held"
	fi
	if [ -n "$RL_PID" ] && ! kill -0 "$RL_PID" 2>/dev/null; then _note="$_note daemon-gone"; fi
	_errs=$(scx_errors)
	[ -z "$_errs" ] || _note="$_note dmesg-scx-error"
	_ok=1
	if [ -n "$_note" ]; then
		_ok=0
		BAD_RUNS=$((BAD_RUNS + 1))
		fail "rep $REP $SCHED $LOAD $1:$_note"
		[ -z "$_errs" ] || echo "$_errs" | sed 's/^/  dmesg| /'
		tail -n 5 "$OUT/raw/$REP-$SCHED-$LOAD-$1.out" 2>/dev/null | sed 's/^/  out| /'
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$SCHED" "$LOAD" "$1" "$_ok" "$(since "$_t")" "${_note# }" >>"$OUT/runs.tsv"
	log "rep $REP $SCHED $LOAD $1: ok=$_ok ($(since "$_t") s)"
}

# ---- main ------------------------------------------------------------------------

[ "$(sched_ext_state)" = disabled ] || { fail "sched_ext is '$(sched_ext_state)' before the suite: another scheduler is attached"; exit 1; }
calibrate || exit 1
make_build_tree
{
	echo "reps=$REPS"
	echo "scheds=$SCHEDS"
	echo "loads=$LOADS"
	echo "workloads=$WORKLOADS"
	echo "ncpu=$NCPU"
	echo "kernel=$(uname -r)"
	echo "loops_per_ms=$LOOPS_PER_MS"
	echo "fl_s=$FL_S"
	echo "fl_work_pct=$FL_WORK_PCT"
	echo "fl_render_pct=$FL_RENDER_PCT"
	echo "cyc_s=$CYC_S"
	echo "cyc_interval_us=$CYC_INTERVAL_US"
	echo "pipe_loops=$PIPE_LOOPS"
	echo "msg_loops=$MSG_LOOPS"
	echo "hb_loops=$HB_LOOPS"
	echo "build_targets=$BUILD_TARGETS"
	echo "build_work=$BUILD_WORK"
	echo "build_jobs=$((2 * NCPU))"
} >"$OUT/config"
log "suite: $REPS reps; schedulers: $SCHEDS; loads: $LOADS; workloads: $WORKLOADS; $NCPU CPUs; $LOOPS_PER_MS loops/ms"

T_ALL=$(now)
REP=1
while [ "$REP" -le "$REPS" ]; do
	for SCHED in $SCHEDS; do
		log "=== rep $REP/$REPS: $SCHED"
		if ! start_sched; then
			BAD_RUNS=$((BAD_RUNS + 1))
			for LOAD in $LOADS; do for WL in $WORKLOADS; do
				printf '%s\t%s\t%s\t%s\t0\t0\tnot-attached\n' "$REP" "$SCHED" "$LOAD" "$WL" >>"$OUT/runs.tsv"
			done; done
			continue
		fi
		for LOAD in $LOADS; do
			start_load "$LOAD"
			for WL in $WORKLOADS; do one_run "$WL"; done
			stop_load "$LOAD"
		done
		stop_sched
		if [ "$(sched_ext_state)" != disabled ]; then
			fail "$SCHED rep $REP: sched_ext still '$(sched_ext_state)' after the session"
			BAD_RUNS=$((BAD_RUNS + 1))
		fi
	done
	REP=$((REP + 1))
done
echo "suite_s=$(since "$T_ALL")" >>"$OUT/config"
dmesg | grep -i sched_ext >"$OUT/dmesg-sched_ext.txt"
if [ "$BAD_RUNS" -eq 0 ]; then
	pass "suite: every run clean"
	exit 0
fi
fail "suite: $BAD_RUNS runs or sessions failed a check"
exit 1
