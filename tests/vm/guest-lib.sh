# guest-lib.sh - helpers for the /init scripts of the test VMs.
#
# Runs INSIDE the guest under busybox sh (ash), so: POSIX sh, busybox applets
# only, no bash-isms. mkinitramfs.sh installs it as /usr/lib/scx-vm/guest-lib.sh.
#
# Typical /init:
#   #!/bin/sh
#   . /usr/lib/scx-vm/guest-lib.sh
#   guest_setup                      # mounts, console, PATH, exit trap
#   guest_watchdog 120               # optional: power off if we hang
#   assert_eq "state before" disabled "$(sched_ext_state)"
#   scx-rustland & pid=$!
#   check "scheduler enabled" wait_for_state enabled 10
#   ...
#   finish                           # "N passed, M failed", marker, poweroff
#
# Note: Debian's busybox sh runs its own applet for a bare command name even
# when a real binary of that name was put in /usr/bin (timeout, taskset, ...);
# call such binaries by full path.
#
# Contract with tests/vm/boot.sh: the last thing the guest prints is
# "VM-EXIT-STATUS=<n>"; boot.sh exits with <n>. If /init ends or dies without
# calling finish/vm_exit, the EXIT trap reports it and exits with status 1.

GL_PASSED=0
GL_FAILED=0
GL_EXITING=0
SCX_SYSFS=/sys/kernel/sched_ext

# Seconds since boot, e.g. "4.21".
uptime_s() { cut -d' ' -f1 /proc/uptime; }

log() { echo "[$(uptime_s)] $*"; }

# Mount the pseudo filesystems the tests and tools need. Idempotent.
_gl_mount() { # type target [options]
	mkdir -p "$2"
	grep -q " $2 " /proc/mounts 2>/dev/null && return 0
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" 2>/dev/null || echo "guest-lib: warning: cannot mount $1 on $2"
}

guest_setup() {
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root TERM=dumb
	_gl_mount proc /proc
	_gl_mount sysfs /sys
	_gl_mount devtmpfs /dev
	# If the initramfs had no /dev/console node the kernel gave us no stdio:
	# (re)attach to the console now that devtmpfs provides it.
	if [ -c /dev/console ]; then exec </dev/console >/dev/console 2>&1; fi
	_gl_mount devpts /dev/pts
	_gl_mount tmpfs /dev/shm mode=1777
	_gl_mount tmpfs /tmp mode=1777
	_gl_mount tmpfs /run mode=755
	_gl_mount debugfs /sys/kernel/debug
	_gl_mount tracefs /sys/kernel/tracing
	_gl_mount cgroup2 /sys/fs/cgroup
	ip link set lo up 2>/dev/null || true
	hostname scx-vm 2>/dev/null || true
	# Turn "init exited/died without a verdict" into a clean failure.
	trap '_gl_on_exit $?' EXIT
	echo "GUEST-INIT-UPTIME=$(uptime_s)"
	echo "GUEST-KERNEL=$(uname -r)"
}

_gl_on_exit() {
	if [ "$GL_EXITING" = 1 ]; then return 0; fi
	echo "FAIL: /init exited (status $1) before finish"
	GL_FAILED=$((GL_FAILED + 1))
	summary
	vm_exit 1
}

# Power the VM off after $1 seconds whatever happens (hung test, stuck
# scheduler). Prints a FAIL line and exits with status 124. With $2, also
# when the test has not called `heartbeat` for $2 seconds: its own waits
# have bounds, so that long without one means nothing of the test runs.
# Where the initramfs has chrt, the watchdog is SCHED_FIFO, which sched_ext
# does not schedule: it fires even when every other task is starved, and
# first prints what the CPUs run, which tasks are blocked and every task's
# stack (sysrq l, w, t).
# After it starts it uses shell builtins only: at a CPU hotplug hang a
# watchdog that forked a `sleep` every 5 s never fired; this one did.
guest_watchdog() {
	heartbeat
	[ -p /run/gl-watchdog-tick ] || mkfifo /run/gl-watchdog-tick
	(
		# Nobody writes this FIFO: a read with a timeout is the sleep.
		exec 3<>/run/gl-watchdog-tick
		_gl_uptime
		_gl_start=$_gl_up
		while :; do
			read -r -t 5 _ <&3
			_gl_uptime
			if [ $((_gl_up - _gl_start)) -ge "$1" ]; then
				_gl_why="guest watchdog fired after $1 s"
				break
			fi
			if [ -n "${2:-}" ]; then
				read -r _gl_beat </run/gl-heartbeat
				if [ $((_gl_up - _gl_beat)) -ge "$2" ]; then
					_gl_why="no heartbeat from the test for $2 s (its tasks are not running)"
					break
				fi
			fi
		done
		echo "FAIL: $_gl_why"
		if [ -n "${2:-}" ]; then
			read -r _gl_state <"$SCX_SYSFS/state" 2>/dev/null || _gl_state=missing
			echo "sched_ext state: $_gl_state"
			# Past `quiet`: the CPUs' backtraces come after sysrq's own
			# raised log level has been restored.
			echo 8 >/proc/sys/kernel/printk
			echo l >/proc/sysrq-trigger
			echo w >/proc/sysrq-trigger
			# Every task: a lock's holder is often runnable, not blocked.
			echo t >/proc/sysrq-trigger
			read -r -t 3 _ <&3
		fi
		echo "VM-EXIT-STATUS=124"
		# Let the console drain, then reset at once: sysrq b needs no new
		# task (poweroff does), and qemu's -no-reboot ends the VM.
		read -r -t 0.2 _ <&3
		echo b >/proc/sysrq-trigger
	) &
	GL_WATCHDOG_PID=$!
	if command -v chrt >/dev/null 2>&1; then
		chrt -f -p 10 "$GL_WATCHDOG_PID" >/dev/null
	fi
}

# Whole seconds since boot in $_gl_up, without forking.
_gl_uptime() {
	read -r _gl_up _ </proc/uptime
	_gl_up=${_gl_up%%.*}
}

# The test is alive (see guest_watchdog's second argument).
heartbeat() {
	_gl_uptime
	echo "$_gl_up" >/run/gl-heartbeat
}

# Print the marker boot.sh looks for and power off at once.
vm_exit() {
	GL_EXITING=1
	sync
	echo "VM-EXIT-STATUS=${1:-0}"
	# The 8250 console drains its buffer asynchronously; give it a moment so
	# the marker is not cut off by the power-off.
	sleep 0.2
	poweroff -f
	# Not reached unless poweroff failed; make the kernel panic instead
	# (panic=-1 + qemu -no-reboot ends the VM either way).
	exit "${1:-0}"
}

# ---- sched_ext ------------------------------------------------------------

# "enabled", "disabled", "enabling", "disabling", or "missing" (no sched_ext).
sched_ext_state() {
	cat "$SCX_SYSFS/state" 2>/dev/null || echo missing
}

# Name of the running BPF scheduler, empty when none.
sched_ext_ops() {
	cat "$SCX_SYSFS/root/ops" 2>/dev/null || true
}

# wait_for_state STATE TIMEOUT_S: poll every 0.1 s; 0 when reached in time.
# Prints how long it took (or the last state seen).
wait_for_state() {
	_want=$1
	_deadline=$(awk -v t="$(uptime_s)" -v d="${2:-10}" 'BEGIN { printf "%.2f", t + d }')
	_t0=$(uptime_s)
	while :; do
		_st=$(sched_ext_state)
		if [ "$_st" = "$_want" ]; then
			log "sched_ext state '$_want' after $(awk -v a="$_t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }') s"
			return 0
		fi
		if awk -v now="$(uptime_s)" -v dl="$_deadline" 'BEGIN { exit !(now >= dl) }'; then
			log "sched_ext state still '$_st' after ${2:-10} s (wanted '$_want')"
			return 1
		fi
		sleep 0.1
	done
}

# Kernel log lines about sched_ext (enable/disable reasons, errors).
scx_dmesg() {
	dmesg | grep -i 'sched_ext' || true
}

# ---- assertions -------------------------------------------------------------

pass() {
	GL_PASSED=$((GL_PASSED + 1))
	echo "PASS: $*"
}

fail() {
	GL_FAILED=$((GL_FAILED + 1))
	echo "FAIL: $*"
}

# check DESC CMD [ARGS...]: pass when the command succeeds.
check() {
	_desc=$1
	shift
	if "$@"; then
		pass "$_desc"
	else
		fail "$_desc (exit $?: $*)"
	fi
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (expected '$2', got '$3')"
	fi
}

# assert_ne DESC UNEXPECTED ACTUAL
assert_ne() {
	if [ "$2" != "$3" ]; then
		pass "$1"
	else
		fail "$1 (got '$3')"
	fi
}

# assert_match DESC EXTENDED_REGEX TEXT
assert_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1 ('$3' does not match /$2/)"
	fi
}

# assert_file DESC PATH: PATH exists.
assert_file() {
	if [ -e "$2" ]; then
		pass "$1"
	else
		fail "$1 ($2 does not exist)"
	fi
}

# assert_le DESC A B: numeric A <= B (decimals allowed).
assert_le() {
	if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
		pass "$1 ($2 <= $3)"
	else
		fail "$1 ($2 > $3)"
	fi
}

# Print the summary line: "N passed, M failed".
summary() {
	echo "$GL_PASSED passed, $GL_FAILED failed"
}

# Summary, then exit the VM: 0 when at least one check ran and none failed.
finish() {
	GL_EXITING=1
	if [ -n "${GL_WATCHDOG_PID:-}" ]; then kill "$GL_WATCHDOG_PID" 2>/dev/null || true; fi
	if [ $((GL_PASSED + GL_FAILED)) -eq 0 ]; then
		echo "FAIL: no checks ran"
		GL_FAILED=1
	fi
	summary
	if [ "$GL_FAILED" -eq 0 ]; then vm_exit 0; else vm_exit 1; fi
}
