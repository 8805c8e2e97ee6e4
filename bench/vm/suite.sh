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
# Order: a cyclic Latin square. Repetition r runs the schedulers starting
# with the r-th of the list, and within each scheduler's session the phases
# starting with the r-th; so over as many repetitions as there are
# schedulers each one holds each position once, and drift of the host or of
# the guest (page cache, fragmentation) falls on all alike.
#
#   schedulers  eevdf       the kernel's default (sched_ext off)
#               rustland    scx-rustland, default options, nothing held
#               held        scx-rustland; the latency phases' frame loop and
#                           cyclictest run under `scx-rustlandctl run`, held
#                           latency-critical through the D-Bus API
#               gamemode    scx-rustland, a session bus of the suite's own,
#                           the real gamemoded (a gamemode.ini that changes
#                           nothing else) and `scx-rustlandctl follow-gamemode`;
#                           the latency tools run under `gamemoderun` and are
#                           measured once the follower holds them (await_holds)
#               user        scx-rustland -u (every decision in user space)
#               baseline    another build's scx-rustland ($SUITE_RL_BASELINE),
#                           default options, nothing held: an A/B in one boot
#               scx_simple, scx_qmap   the kernel's example schedulers
#                           (bench/peers.sh), binaries on $PATH
#   phases      throughput, nothing else running (not under held):
#                 hogs   stress-ng --cpu NCPU --cpu-method $HOG_METHOD for
#                        $HOG_S s: bogo-ops/s
#                 build  one real parallel build (bench/vm/build.mk: C files
#                        of Lua 5.4 compiled by make -j2*NCPU in the build
#                        disk's chroot): s
#                 hb     hackbench: s; msg  perf bench sched messaging: s;
#                 pipe   perf bench sched pipe: µs/op
#               latency, $LAT_S s of the frame loop at 60 Hz (with a render
#               thread) and cyclictest --policy=other at the same time:
#                 lat-hogs   under CPU hogs (the same stress-ng, no limit)
#                 lat-build  under the build, run again and again
#                 lat-none   idle (held and gamemode only: their baseline)
#               SUITE_PHASES limits every scheduler to the phases it names.
#
# Output in $SUITE_OUT:
#   config       key=value: what was run, calibration
#   runs.tsv     one line per phase: rep slot sched phase ok seconds
#                daemon_cpu_ms note  (slot: position in the repetition;
#                daemon_cpu_ms: CPU the scheduler's process used meanwhile)
#   daemon.tsv   one line per scheduler session: its cost and counters
#   raw/         each phase's own output, named rep-sched-phase[-tool].*
#                (gamemode: -hold.out, pids_s= and hold_s= the waits for
#                the tools' start and for their holds; scx-rustland:
#                -daemon.out, starved= the daemon's counter over the phase)
#   daemon/      each session's log (gamemode: also gamemoded's, the
#                follower's and the gamemode.ini used)
# A phase is ok=1 when its tools succeeded and the scheduler it was meant to
# run under was in place before and after it, with no sched_ext error in
# the kernel log meanwhile. Exit status: 0 if every phase was ok.
#
# Knobs (environment):
#   SUITE_OUT SUITE_REPS(10) SUITE_SCHEDS("eevdf rustland held scx_simple")
#   SUITE_LAT_S(15) SUITE_HOG_S(5) SUITE_HOG_METHOD(int64) SUITE_PIPE(2000)
#   SUITE_MSG(20) SUITE_HB(50) SUITE_BUILD_ROOT(/bld: the mounted build disk)
#   SUITE_BUILD_GOAL(part) SUITE_BUILD_CFLAGS(-O0)
#   SUITE_BUILD_MK(/usr/lib/scx-vm/build.mk)
#   SUITE_RL(scx-rustland) SUITE_RL_BASELINE(scx-rustland-baseline)
#   SUITE_CTL(scx-rustlandctl) SUITE_FRAMELOOP(frameloop)
#   SUITE_LIB(/usr/lib/scx-vm/guest-lib.sh)
#   SUITE_GAMEMODED(gamemoded) SUITE_GAMEMODERUN(gamemoderun)
#   SUITE_SESSION_BUS_CONF(/etc/dbus-1/bench-session.conf)

# shellcheck disable=SC1090 # path given by the caller
. "${SUITE_LIB:-/usr/lib/scx-vm/guest-lib.sh}"

OUT=${SUITE_OUT:?SUITE_OUT must name the results directory}
REPS=${SUITE_REPS:-10}
SCHEDS=${SUITE_SCHEDS:-eevdf rustland held scx_simple}
LAT_S=${SUITE_LAT_S:-15}
HOG_S=${SUITE_HOG_S:-5}
HOG_METHOD=${SUITE_HOG_METHOD:-int64}
PIPE_LOOPS=${SUITE_PIPE:-2000}
MSG_LOOPS=${SUITE_MSG:-20}
HB_LOOPS=${SUITE_HB:-50}
BROOT=${SUITE_BUILD_ROOT:-/bld}
BUILD_GOAL=${SUITE_BUILD_GOAL:-part}
BUILD_CFLAGS=${SUITE_BUILD_CFLAGS:--O0}
RL=${SUITE_RL:-scx-rustland}
RL_BASELINE=${SUITE_RL_BASELINE:-scx-rustland-baseline}
CTL=${SUITE_CTL:-scx-rustlandctl}
FL=${SUITE_FRAMELOOP:-frameloop}
GAMEMODED=${SUITE_GAMEMODED:-gamemoded}
GAMEMODERUN=${SUITE_GAMEMODERUN:-gamemoderun}
SESSION_BUS_CONF=${SUITE_SESSION_BUS_CONF:-/etc/dbus-1/bench-session.conf}
NCPU=$(nproc)
BUILD_JOBS=$((2 * NCPU))
# only LIST WORDS...: the words that are in LIST (all of them without a LIST).
only() {
	_list=$1
	shift
	for _w; do
		case " ${_list:-$_w} " in *" $_w "*) printf '%s ' "$_w" ;; esac
	done
}
TP_PHASES=$(only "${SUITE_PHASES:-}" hogs build hb msg pipe lat-hogs lat-build)
HELD_PHASES=$(only "${SUITE_PHASES:-}" lat-none lat-hogs lat-build)
# How long gamemoderun's tools may wait for the follower's holds, and
# gamemoded for its bus name, before the phase or session fails.
HOLD_TIMEOUT=30
CYC_INTERVAL_US=2000
PHASE_TIMEOUT=300 # per tool, in case a scheduler starves it
USER_HZ=100       # /proc/<pid>/stat ticks
# Frame work as a share of the period, main thread and render thread: a
# game that uses 15% of its frame budget on an idle VM, so that with one
# CPU hog per CPU (a fair share of half a CPU) it still fits in its frame.
FL_WORK_PCT=10
FL_RENDER_PCT=5

mkdir -p "$OUT/raw" "$OUT/daemon"
: >"$OUT/runs.tsv"
: >"$OUT/daemon.tsv"
BAD_RUNS=0
BUILD_DIR=$BROOT/tmp/build

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# rotate N WORDS...: the words starting with the (N mod count)-th.
rotate() {
	_n=$1
	shift
	_k=$((_n % $#))
	_head=""
	while [ "$_k" -gt 0 ]; do
		_head="$_head $1"
		shift
		_k=$((_k - 1))
	done
	echo "$*$_head"
}

# ---- calibration (idle machine, whatever scheduler is in place: run first) ----

# Iterations of frameloop's work loop per millisecond, idle.
calibrate() {
	LOOPS_PER_MS=$("$FL" --calibrate | sed -n 's/.*"loops_per_ms":\([0-9.]*\).*/\1/p')
	[ -n "$LOOPS_PER_MS" ] || { fail "frameloop --calibrate gave no number"; return 1; }
}

# loops HZ PCT: work-loop iterations for PCT percent of a frame at HZ.
loops() { awk -v l="$LOOPS_PER_MS" -v hz="$1" -v p="$2" 'BEGIN { printf "%d", l * 1000 / hz * p / 100 }'; }

# ---- the build ------------------------------------------------------------------

# The build disk is mounted read-only; compiler temporaries and objects go
# to a tmpfs inside it.
setup_build() {
	[ -x "$BROOT/usr/bin/make" ] || { fail "no build root at $BROOT (bench/vm/build-rootfs.sh)"; return 1; }
	mount -t tmpfs -o mode=1777 tmpfs "$BROOT/tmp" || { fail "mounting a tmpfs on $BROOT/tmp"; return 1; }
	mount -o bind /dev "$BROOT/dev" || { fail "binding /dev into $BROOT"; return 1; }
	mkdir -p "$BUILD_DIR"
	cp "${SUITE_BUILD_MK:-/usr/lib/scx-vm/build.mk}" "$BUILD_DIR/Makefile"
}
teardown_build() {
	umount "$BROOT/dev" 2>/dev/null
	umount "$BROOT/tmp" 2>/dev/null
}

# build_once: a clean build, in a session of its own so that stop_load can
# end every compiler with it; 0 when it succeeded.
build_once() {
	setsid chroot "$BROOT" /bin/sh -c \
		"cd /tmp/build && make -s clean && exec make -s -j$BUILD_JOBS CFLAGS='$BUILD_CFLAGS' $BUILD_GOAL" &
	echo $! >"$BUILD_DIR.pid"
	wait $!
}

# Builds again and again until $BUILD_DIR.stop appears.
build_loop() {
	while [ ! -e "$BUILD_DIR.stop" ]; do
		build_once >/dev/null 2>&1 || [ -e "$BUILD_DIR.stop" ] || { fail "rep $REP $SCHED: the build load failed"; return 1; }
	done
}

# ---- background loads of the latency phases ------------------------------------

start_load() {
	LOAD_PID=
	case $1 in
	hogs)
		# A session of its own: stop_load kills the whole group at once
		# (stress-ng's own orderly exit takes seconds under TCG).
		setsid stress-ng --cpu "$NCPU" --cpu-method "$HOG_METHOD" >/dev/null 2>&1 &
		LOAD_PID=$!
		;;
	build)
		rm -f "$BUILD_DIR.stop"
		build_loop &
		LOAD_PID=$!
		;;
	esac
	# Let the load reach its steady state before measuring.
	[ -z "$LOAD_PID" ] || sleep 1
}

stop_load() {
	[ -n "$LOAD_PID" ] || return 0
	case $1 in
	hogs) kill -KILL -"$LOAD_PID" ;;
	build)
		touch "$BUILD_DIR.stop"
		kill -TERM -"$(cat "$BUILD_DIR.pid")" 2>/dev/null
		;;
	esac
	wait "$LOAD_PID"
	LOAD_PID=
}

# ---- schedulers -------------------------------------------------------------------

want_state() { if [ "$SCHED" = eevdf ]; then echo disabled; else echo enabled; fi; }
is_rustland() { case $SCHED in rustland | held | gamemode | user | baseline) return 0 ;; *) return 1 ;; esac; }

# start_sched: attaches the session's scheduler; 0 when it is in place.
start_sched() {
	SCHED_PID=
	FOLLOW_EXIT=na
	DMESG_MARK=$(dmesg | wc -l)
	[ "$SCHED" = eevdf ] && return 0
	SCHED_LOG=$OUT/daemon/rep$REP-$SCHED.log
	# No -v and no --stats: logging would cost CPU of its own; the counters
	# are read once at the end (stop_sched).
	case $SCHED in
	rustland | held | gamemode) "$RL" >"$SCHED_LOG" 2>&1 & ;;
	user) "$RL" -u >"$SCHED_LOG" 2>&1 & ;;
	baseline) "$RL_BASELINE" >"$SCHED_LOG" 2>&1 & ;;
	*) "$SCHED" >"$SCHED_LOG" 2>&1 & ;;
	esac
	SCHED_PID=$!
	_i=0
	while [ "$(sched_ext_state)" != enabled ] && kill -0 "$SCHED_PID" 2>/dev/null && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if [ "$(sched_ext_state)" != enabled ]; then
		fail "$SCHED rep $REP: did not attach (state '$(sched_ext_state)')"
		tail -n 20 "$SCHED_LOG"
		kill -INT "$SCHED_PID" 2>/dev/null
		wait "$SCHED_PID"
		SCHED_PID=
		return 1
	fi
	if is_rustland; then
		# The D-Bus name appears once the service is up (the counters and
		# the held phases need it).
		_i=0
		until "$CTL" status >/dev/null 2>&1 || [ $_i -ge 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	fi
	SCHED_T0=$(now)
	SCHED_STAT0=$(proc_stat "$SCHED_PID")
	return 0
}

# proc_stat PID: "cpu_ms minflt majflt" of a process (all threads).
proc_stat() {
	# The command name (field 2) has no spaces here, so fields split plainly.
	awk -v hz="$USER_HZ" '{ printf "%d %d %d", ($14 + $15) * 1000 / hz, $10, $12 }' "/proc/$1/stat" 2>/dev/null
}
cpu_ms() { [ -n "$SCHED_PID" ] && proc_stat "$SCHED_PID" | cut -d' ' -f1; }

# counter NAME: a counter of `scx-rustlandctl status --json` ($STATUS_JSON).
counter() { printf '%s\n' "$STATUS_JSON" | sed -n "s/^ *\"$1\": \([0-9]*\),\{0,1\}$/\1/p" | head -n 1; }

# starved_now: the daemon's `starved` counter now (scx-rustland only, else
# nothing), for the per-phase counts the target names.
starved_now() {
	is_rustland && [ -n "$SCHED_PID" ] || return 0
	STATUS_JSON=$("$CTL" status --json 2>/dev/null) && counter starved
}

# stop_sched: detaches (SIGINT, must exit 0) and appends the session's cost
# and counters to daemon.tsv; exit=gone when the scheduler died before;
# follower_exit: the GameMode follower's status (gamemode), else na.
stop_sched() {
	[ -n "$SCHED_PID" ] || return 0
	_window=$(since "$SCHED_T0")
	_stat1='' _hwm='' _rss='' STATUS_JSON=''
	if kill -0 "$SCHED_PID" 2>/dev/null; then
		_stat1=$(proc_stat "$SCHED_PID")
		_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SCHED_PID/status" 2>/dev/null)
		_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SCHED_PID/status" 2>/dev/null)
		! is_rustland || STATUS_JSON=$("$CTL" status --json 2>&1) || log "scx-rustlandctl status --json failed: $STATUS_JSON"
		kill -INT "$SCHED_PID"
	fi
	wait "$SCHED_PID"
	_rc=$?
	if [ -z "$_stat1" ]; then
		_rc=gone
		fail "$SCHED rep $REP: the scheduler was gone before the end of its session"
	elif [ "$_rc" -ne 0 ]; then
		fail "$SCHED rep $REP: exited with status $_rc"
	fi
	# Every ejection is in the kernel log; a detach by SIGINT says
	# "unregistered from user space".
	_ejections=$(dmesg | tail -n +"$((DMESG_MARK + 1))" | grep 'sched_ext: BPF scheduler ".*" disabled' |
		grep -c -v 'unregistered from user space')
	_cost="cpu_ms=na minflt=na majflt=na"
	if [ -n "$_stat1" ]; then
		# shellcheck disable=SC2086 # two "cpu minflt majflt" triples
		set -- $SCHED_STAT0 $_stat1
		_cost="cpu_ms=$(($4 - $1)) minflt=$(($5 - $2)) majflt=$(($6 - $3))"
	fi
	printf 'rep=%s sched=%s exit=%s window_s=%s %s hwm_kb=%s rss_kb=%s tasks=%s page_faults=%s starved=%s congested=%s user=%s kernel=%s ejections=%s ncpu=%s follower_exit=%s\n' \
		"$REP" "$SCHED" "$_rc" "$_window" "$_cost" "${_hwm:-na}" "${_rss:-na}" \
		"$(counter tasks)" "$(counter page_faults)" "$(counter starved)" "$(counter congested)" \
		"$(counter user_dispatches)" "$(counter kernel_dispatches)" "$_ejections" "$NCPU" "$FOLLOW_EXIT" >>"$OUT/daemon.tsv"
	SCHED_PID=
}

# ---- the GameMode stack (gamemode only) ---------------------------------------------
# A session bus of our own (the VM has no user session; on a host the
# user's gamemoded stays untouched), the real gamemoded on it and the
# follower, started after the scheduler and stopped before it.

# gamemode.ini: the hold is all that may differ from `rustland`. No renice,
# no SCHED_ISO, no screensaver inhibition, no core parking or pinning
# (gamemode >= 1.8; 1.7 logs and ignores the keys), no iGPU heuristic. The
# I/O priority is set to BE/4, what a nice-0 task has anyway (unset it
# means BE/0, and 1.7 turns "off" into 0 as well). The governor cannot be
# left alone (gamemoded always asks pkexec cpugovctl for desiredgov): it is
# set to the current one where there is cpufreq; the VM has neither
# cpufreq nor pkexec.
write_gamemode_ini() {
	_gov=$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null)
	cat <<EOF
[general]
renice=0
ioprio=4
softrealtime=off
inhibit_screensaver=0
igpu_power_threshold=-1
${_gov:+desiredgov=$_gov}
${_gov:+defaultgov=$_gov}
[cpu]
park_cores=no
pin_cores=no
EOF
}

# start_gamemode: 0 when gamemoded owns its name and the follower runs.
start_gamemode() {
	GM_DIR=$(mktemp -d /tmp/scx-bench-gm.XXXXXX)
	# Exported: gamemoded, the follower and the games under gamemoderun
	# find the bus through it.
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$GM_DIR/bus"
	GM_LOG=$OUT/daemon/rep$REP-gamemode
	write_gamemode_ini >"$GM_DIR/gamemode.ini"
	cp "$GM_DIR/gamemode.ini" "$GM_LOG.ini"
	BUS_PID=$(dbus-daemon --config-file="$SESSION_BUS_CONF" --address="$DBUS_SESSION_BUS_ADDRESS" --fork --print-pid --nopidfile) ||
		{ fail "gamemode rep $REP: the session bus did not start"; return 1; }
	# XDG_CONFIG_HOME: gamemoded reads our gamemode.ini after the shipped
	# and /etc ones (later files override); its working directory, also
	# read, is /.
	(cd / && exec env XDG_CONFIG_HOME="$GM_DIR" "$GAMEMODED" >"$GM_LOG-gamemoded.log" 2>&1) &
	GMD_PID=$!
	# `gamemoded -s` asks the running one through libgamemode, as a game would.
	_t=$(now)
	until "$GAMEMODED" -s >/dev/null 2>&1; do
		if ! kill -0 "$GMD_PID" 2>/dev/null || [ "$(since "$_t" | cut -d. -f1)" -ge "$HOLD_TIMEOUT" ]; then
			fail "gamemode rep $REP: gamemoded not on the session bus after $(since "$_t") s"
			tail -n 20 "$GM_LOG-gamemoded.log"
			return 1
		fi
		sleep 0.2
	done
	"$CTL" follow-gamemode >"$GM_LOG-follower.log" 2>&1 &
	FOLLOW_PID=$!
	log "gamemode rep $REP: gamemoded $GMD_PID and follower $FOLLOW_PID on $DBUS_SESSION_BUS_ADDRESS"
}

# stop_gamemode: ends the follower (SIGINT, must exit 0), gamemoded and the
# bus; FOLLOW_EXIT for daemon.tsv.
stop_gamemode() {
	FOLLOW_EXIT=na
	if [ -n "${FOLLOW_PID:-}" ]; then
		kill -INT "$FOLLOW_PID" 2>/dev/null
		wait "$FOLLOW_PID"
		FOLLOW_EXIT=$?
		[ "$FOLLOW_EXIT" -eq 0 ] || fail "gamemode rep $REP: the follower exited with status $FOLLOW_EXIT"
	fi
	[ -z "${GMD_PID:-}" ] || { kill -TERM "$GMD_PID" 2>/dev/null; wait "$GMD_PID"; }
	[ -z "${BUS_PID:-}" ] || kill -TERM "$BUS_PID" 2>/dev/null
	[ -z "${GM_DIR:-}" ] || rm -rf "$GM_DIR"
	FOLLOW_PID='' GMD_PID='' BUS_PID='' GM_DIR=''
	unset DBUS_SESSION_BUS_ADDRESS
}

# await_holds TIMEOUT NAME...: waits until the one process of each NAME is
# held through the daemon's D-Bus API (`scx-rustlandctl list`); HOLD_S: the
# seconds it took, PIDS_S: until all had exec'd (their registration with
# gamemoded comes right after). 1 after TIMEOUT seconds. Polls every 0.2 s:
# each poll is a process start, which costs the CPUs being measured.
await_holds() {
	_limit=$1
	shift
	_t=$(now)
	PIDS_S=""
	while :; do
		_holds=$("$CTL" list --json 2>/dev/null)
		_missing="" _started=1
		for _name; do
			_pid=$(pidof "$_name") || _started=0
			case $_holds in *"\"pid\": ${_pid:-none},"*) ;; *) _missing="$_missing $_name" ;; esac
		done
		HOLD_S=$(since "$_t")
		[ "$_started" = 0 ] || PIDS_S=${PIDS_S:-$HOLD_S}
		[ -n "$_missing" ] || return 0
		if [ "$(since "$_t" | cut -d. -f1)" -ge "$_limit" ]; then
			fail "rep $REP $SCHED: not held after $_limit s:$_missing (follower log:)"
			tail -n 10 "$GM_LOG-follower.log" | sed 's/^/  follower| /'
			return 1
		fi
		sleep 0.2
	done
}

# Kernel log lines since the session began that mean sched_ext failed.
scx_errors() {
	dmesg | tail -n +"$((DMESG_MARK + 1))" | grep -Ei 'sched_ext|scx' |
		grep -Ei 'error|stall|fail|disabl' | grep -v 'unregistered from user space' || true
}

# ---- phases -------------------------------------------------------------------------

# Words to put before a latency tool: under held it runs under
# `scx-rustlandctl run`, which holds the command's own process. --strict: a
# refused hold fails the tool (and so the phase) instead of measuring an
# unheld task; that is the check that both were held (polling the daemon
# for the holds raced with 2-s tools and loaded the CPUs it measures).
# Under gamemode they run under `gamemoderun`, which registers them with
# gamemoded (its library preloaded), and nothing of ours.
hold_prefix() {
	case $SCHED in
	held) echo "$CTL run --app-id bench --reason benchmark --strict --" ;;
	gamemode) echo "$GAMEMODERUN" ;;
	esac
}

# latency LOAD: the frame loop and cyclictest together under LOAD. Under
# gamemode the frame loop's first frame waits until the follower holds both
# tools (cyclictest measures from its start, so its first HOLD_S are unheld),
# and cyclictest runs until the frame loop ends: stopped on its own earlier,
# it wrote its 250000-bucket histogram out, still held, during the frame
# loop's last half second, and the frame loop measured that, not GameMode.
latency() {
	start_load "$1"
	_hold=$(hold_prefix)
	_start=""
	_cyc_s=$LAT_S
	if [ "$SCHED" = gamemode ]; then
		_start="--start-file $_f.start"
		_cyc_s=$((LAT_S + HOLD_TIMEOUT + 10))
	fi
	# shellcheck disable=SC2086 # $_hold and $_start are words or nothing
	timeout "$PHASE_TIMEOUT" $_hold "$FL" --hz 60 -d "$LAT_S" $_start \
		-w "$(loops 60 "$FL_WORK_PCT")" --render --render-loops "$(loops 60 "$FL_RENDER_PCT")" \
		-j "$_f-fl.json" --raw "$_f-fl.raw" >"$_f-fl.out" 2>&1 &
	_flpid=$!
	# shellcheck disable=SC2086
	timeout "$PHASE_TIMEOUT" $_hold cyclictest --policy=other -i "$CYC_INTERVAL_US" -D "$_cyc_s" -q \
		-h 250000 --histfile=/dev/null --json="$_f-cyc.json" >"$_f-cyc.out" 2>&1 &
	_cycpid=$!
	if [ "$SCHED" = gamemode ]; then
		if await_holds "$HOLD_TIMEOUT" "${FL##*/}" cyclictest; then
			echo "pids_s=$PIDS_S hold_s=$HOLD_S" >"$_f-hold.out"
			touch "$_f.start"
		else
			_note="$_note not-held"
			kill "$_flpid" "$_cycpid" 2>/dev/null
		fi
	fi
	wait "$_flpid" || _note="$_note frameloop-exit-$?"
	# SIGINT: cyclictest stops and writes its results as at its end. Its pid
	# is timeout's, which is cyclictest itself under busybox (timeout and
	# gamemoderun exec) and forwards the signal elsewhere.
	[ "$SCHED" != gamemode ] || kill -INT "$_cycpid" 2>/dev/null
	wait "$_cycpid" || _note="$_note cyclictest-exit-$?"
	stop_load "$1"
}

# run_phase PHASE: one phase into raw/<rep>-<sched>-<phase>*; problems are
# appended to $_note.
run_phase() {
	_f=$OUT/raw/$REP-$SCHED-$1
	case $1 in
	hogs)
		timeout "$PHASE_TIMEOUT" stress-ng --cpu "$NCPU" --cpu-method "$HOG_METHOD" -t "${HOG_S}s" \
			--metrics-brief >"$_f.out" 2>&1 || _note="$_note tool-exit-$?"
		;;
	build)
		_t=$(now)
		build_once >"$_f.out" 2>&1 || _note="$_note build-failed"
		echo "build_s=$(since "$_t")" >>"$_f.out"
		;;
	hb) timeout "$PHASE_TIMEOUT" hackbench -g 2 -l "$HB_LOOPS" >"$_f.out" 2>&1 || _note="$_note tool-exit-$?" ;;
	msg) timeout "$PHASE_TIMEOUT" perf bench sched messaging -g 1 -l "$MSG_LOOPS" >"$_f.out" 2>&1 || _note="$_note tool-exit-$?" ;;
	pipe) timeout "$PHASE_TIMEOUT" perf bench sched pipe -l "$PIPE_LOOPS" >"$_f.out" 2>&1 || _note="$_note tool-exit-$?" ;;
	lat-none) latency none ;;
	lat-hogs) latency hogs ;;
	lat-build) latency build ;;
	*) _note="$_note unknown-phase" ;;
	esac
}

# one_phase PHASE: the phase with the checks around it; one line in runs.tsv.
one_phase() {
	_want=$(want_state)
	_note=""
	_before=$(sched_ext_state)
	# Outside the CPU window: the D-Bus call is the daemon's work, not the phase's.
	_s0=$(starved_now)
	_c0=$(cpu_ms)
	_t0=$(now)
	run_phase "$1"
	_secs=$(since "$_t0")
	_c1=$(cpu_ms)
	_s1=$(starved_now)
	[ -z "$_s0" ] || [ -z "$_s1" ] || echo "starved=$((_s1 - _s0))" >"$OUT/raw/$REP-$SCHED-$1-daemon.out"
	_after=$(sched_ext_state)
	[ "$_before" = "$_want" ] || _note="$_note state-before-$_before"
	[ "$_after" = "$_want" ] || _note="$_note state-after-$_after"
	if [ -n "$SCHED_PID" ] && ! kill -0 "$SCHED_PID" 2>/dev/null; then _note="$_note scheduler-gone"; fi
	if [ -n "${FOLLOW_PID:-}" ] && ! kill -0 "$FOLLOW_PID" 2>/dev/null; then _note="$_note follower-gone"; fi
	if [ -n "${GMD_PID:-}" ] && ! kill -0 "$GMD_PID" 2>/dev/null; then _note="$_note gamemoded-gone"; fi
	_errs=$(scx_errors)
	[ -z "$_errs" ] || _note="$_note dmesg-scx-error"
	_ok=1
	if [ -n "$_note" ]; then
		_ok=0
		BAD_RUNS=$((BAD_RUNS + 1))
		fail "rep $REP $SCHED $1:$_note"
		[ -z "$_errs" ] || echo "$_errs" | sed 's/^/  dmesg| /'
		tail -n 5 "$OUT/raw/$REP-$SCHED-$1"*.out 2>/dev/null | sed 's/^/  out| /'
	fi
	_dcpu=na
	[ -z "$_c0" ] || [ -z "$_c1" ] || _dcpu=$((_c1 - _c0))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$SLOT" "$SCHED" "$1" "$_ok" "$_secs" "$_dcpu" "${_note# }" >>"$OUT/runs.tsv"
	log "rep $REP slot $SLOT $SCHED $1: ok=$_ok ($_secs s)"
	SLOT=$((SLOT + 1))
}

phases_of() { case $SCHED in held | gamemode) echo "$HELD_PHASES" ;; *) echo "$TP_PHASES" ;; esac; }

# ---- main ------------------------------------------------------------------------

[ "$(sched_ext_state)" = disabled ] || { fail "sched_ext is '$(sched_ext_state)' before the suite: another scheduler is attached"; exit 1; }
calibrate || exit 1
setup_build || exit 1
{
	echo "reps=$REPS"
	echo "scheds=$SCHEDS"
	echo "ncpu=$NCPU"
	echo "kernel=$(uname -r)"
	echo "loops_per_ms=$LOOPS_PER_MS"
	echo "lat_s=$LAT_S"
	echo "fl_work_pct=$FL_WORK_PCT"
	echo "fl_render_pct=$FL_RENDER_PCT"
	echo "cyc_interval_us=$CYC_INTERVAL_US"
	echo "hog_s=$HOG_S"
	echo "hog_method=$HOG_METHOD"
	echo "pipe_loops=$PIPE_LOOPS"
	echo "msg_loops=$MSG_LOOPS"
	echo "hb_loops=$HB_LOOPS"
	echo "build_goal=$BUILD_GOAL"
	echo "build_cflags=$BUILD_CFLAGS"
	echo "build_jobs=$BUILD_JOBS"
} >"$OUT/config"
log "suite: $REPS reps; schedulers: $SCHEDS; $NCPU CPUs; $LOOPS_PER_MS loops/ms"

T_ALL=$(now)
REP=1
while [ "$REP" -le "$REPS" ]; do
	SLOT=1
	# shellcheck disable=SC2086 # lists are words
	for SCHED in $(rotate $((REP - 1)) $SCHEDS); do
		log "=== rep $REP/$REPS: $SCHED"
		_why=""
		if ! start_sched; then
			_why=not-attached
		elif [ "$SCHED" = gamemode ] && ! start_gamemode; then
			_why=no-gamemode
			stop_gamemode
			stop_sched
		fi
		if [ -n "$_why" ]; then
			BAD_RUNS=$((BAD_RUNS + 1))
			for PHASE in $(phases_of); do
				printf '%s\t%s\t%s\t%s\t0\t0\tna\t%s\n' "$REP" "$SLOT" "$SCHED" "$PHASE" "$_why" >>"$OUT/runs.tsv"
				SLOT=$((SLOT + 1))
			done
			continue
		fi
		# shellcheck disable=SC2046
		for PHASE in $(rotate $((REP - 1)) $(phases_of)); do one_phase "$PHASE"; done
		if [ "$SCHED" = gamemode ]; then
			stop_gamemode
			[ "$FOLLOW_EXIT" = 0 ] || BAD_RUNS=$((BAD_RUNS + 1))
		fi
		stop_sched
		if [ "$(sched_ext_state)" != disabled ]; then
			fail "$SCHED rep $REP: sched_ext still '$(sched_ext_state)' after the session"
			BAD_RUNS=$((BAD_RUNS + 1))
		fi
	done
	REP=$((REP + 1))
done
echo "suite_s=$(since "$T_ALL")" >>"$OUT/config"
teardown_build
dmesg | grep -i sched_ext >"$OUT/dmesg-sched_ext.txt"
if [ "$BAD_RUNS" -eq 0 ]; then
	pass "suite: every phase clean"
	exit 0
fi
fail "suite: $BAD_RUNS phases or sessions failed a check"
exit 1
