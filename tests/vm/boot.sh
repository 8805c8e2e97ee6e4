#!/usr/bin/env bash
# boot.sh - boot the cached sched_ext kernel with an initramfs under qemu and
# return the guest's verdict.
#
# The guest's /init (see guest-lib.sh) prints "VM-EXIT-STATUS=<n>" and powers
# off; this script exits with <n>. The serial console goes to stdout and to a
# log file. /dev/kvm is not usable here, so the default is TCG emulation.
#
# Usage: tests/vm/boot.sh -i INITRAMFS [options]
#   -i FILE     initramfs (from mkinitramfs.sh)
#   -d IMAGE    raw disk image attached as a virtio disk (/dev/vda); repeatable
#   -r IMAGE    raw disk image attached read-only, after the -d ones (so
#               several VMs can share it); repeatable
#   -l FILE     serial log (default: INITRAMFS with .serial.log instead of the
#               .cpio.* suffix)
#   -t SECS     overall timeout (default 300)
#   -a ARGS     extra kernel command line arguments; repeatable
#   -s N        vCPUs (default 2; more than the host's cores makes timings
#               meaningless)
#   -m SIZE     memory (default 2G)
#   -k FILE     kernel.env (default: output of fetch-kernel.sh, i.e. the cache)
#   -A ACCEL    qemu accelerator (default tcg,thread=multi; env SCX_VM_ACCEL)
#   -R          run QEMU's main-loop thread as SCHED_FIFO 1 on the host (root):
#               it fires the guest's timers, and behind busy vCPU threads the
#               host's own scheduler delays it by milliseconds, a timer
#               lateness real hardware does not have (docs/benchmarks.md,
#               "Emulation"). Threads it starts later are reset to normal
#               (reset-on-fork); the vCPU threads stay normal
#   -q          don't copy the serial console to stdout (log file only)
#   -h          this help
#
# Exit status: the guest's <n>; 124 on timeout; 125 when the guest stopped
# without printing the marker (kernel panic, /init crashed); 126 when qemu
# could not run.
set -euo pipefail

log() { printf 'boot.sh: %s\n' "$*" >&2; }
die() { printf 'boot.sh: ERROR: %s\n' "$*" >&2; exit 126; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
initrd="" logfile="" timeout_s=300 smp=2 mem=2G env_file="" quiet=0 rt_timers=0
# One host thread per vCPU (multi-threaded TCG): cross-CPU wakeups need no
# vCPU switch. QEMU 7.2 crashed the guest this way ("Oops: int3" while
# sched_ext live-patched its static keys); QEMU 10 (scripts/install-deps.sh
# installs it from bookworm-backports) passed the attach/detach loop of
# docs/benchmarks.md ("Emulation"). SCX_VM_ACCEL=tcg,thread=single is the
# way back.
accel=${SCX_VM_ACCEL:-tcg,thread=multi}
extra=() disks=() ro_disks=()
while getopts "i:d:r:l:t:a:s:m:k:A:Rqh" opt; do
	case $opt in
	i) initrd=$OPTARG ;;
	d) disks+=("$OPTARG") ;;
	r) ro_disks+=("$OPTARG") ;;
	l) logfile=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	a) extra+=("$OPTARG") ;;
	s) smp=$OPTARG ;;
	m) mem=$OPTARG ;;
	k) env_file=$OPTARG ;;
	A) accel=$OPTARG ;;
	R) rt_timers=1 ;;
	q) quiet=1 ;;
	h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "bad option (try -h)" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || die "unexpected arguments: $* (try -h)"
[[ -n $initrd ]] || die "-i INITRAMFS is required"
[[ -f $initrd ]] || die "initramfs $initrd not found"
[[ $timeout_s =~ ^[0-9]+$ ]] || die "-t wants whole seconds, got '$timeout_s'"
((rt_timers == 0)) || chrt -f 1 true 2>/dev/null || die "-R: this user may not use SCHED_FIFO (chrt -f 1 failed; run as root)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)"

if [[ -z $env_file ]]; then
	env_file=$("$here/fetch-kernel.sh") || die "fetch-kernel.sh failed"
fi
[[ -f $env_file ]] || die "kernel.env $env_file not found"
# shellcheck disable=SC1090
. "$env_file"
[[ -f $VMLINUZ ]] || die "kernel $VMLINUZ (from $env_file) not found; run tests/vm/fetch-kernel.sh --refresh"

if [[ -z $logfile ]]; then
	logfile=${initrd%.cpio*}
	logfile=${logfile%.zst}
	logfile=${logfile%.gz}.serial.log
fi
mkdir -p "$(dirname "$logfile")"

# quiet: only warnings from the kernel, so test output stays readable.
# panic=-1 + -no-reboot: a kernel panic ends qemu at once instead of hanging.
# no_timer_check: the early check that the timer interrupt arrives through
# the IO-APIC within a few ticks fails when the host starves the vCPU
# threads ("IO-APIC + timer doesn't work!" panic, seen once with the host's
# 2 cores busy); QEMU's timer works, the check only measures host load.
cmdline="console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init ${extra[*]}"
qemu=(
	qemu-system-x86_64
	-accel "$accel"
	-smp "$smp"
	-m "$mem"
	-nographic
	-no-reboot
	-net none
	-kernel "$VMLINUZ"
	-initrd "$initrd"
	-append "$cmdline"
)
for d in "${disks[@]}"; do
	[[ -f $d ]] || die "disk image $d not found"
	qemu+=(-drive "file=$d,format=raw,if=virtio")
done
for d in "${ro_disks[@]}"; do
	[[ -f $d ]] || die "disk image $d not found"
	qemu+=(-drive "file=$d,format=raw,if=virtio,readonly=on")
done

if ((rt_timers)); then
	pid_dir=$(mktemp -d)
	trap 'rm -rf "$pid_dir"' EXIT
	qemu+=(-pidfile "$pid_dir/qemu.pid")
	# QEMU writes its pid before it starts the guest; a failed chrt stops
	# QEMU, so a run never silently measures without it.
	(
		for _ in $(seq 200); do
			if [[ -s $pid_dir/qemu.pid ]]; then
				pid=$(<"$pid_dir/qemu.pid")
				chrt --reset-on-fork -f -p 1 "$pid" >/dev/null ||
					{ log "-R: chrt on QEMU ($pid) failed; stopping it"; kill "$pid"; }
				exit 0
			fi
			sleep 0.05
		done
		log "-R: QEMU wrote no pid file in 10 s"
	) &
fi
log "kernel $KERNEL_RELEASE ($KERNEL_PACKAGE), initramfs $initrd, $accel -smp $smp -m $mem$( ((rt_timers)) && echo ", main loop SCHED_FIFO 1"), timeout ${timeout_s}s"
log "cmdline: $cmdline"
log "serial log: $logfile"
t0=$(date +%s.%N)
# stdin from /dev/null: qemu must not grab the terminal (or a CI pipe).
# timeout -k: SIGKILL if qemu ignores SIGTERM.
set +e
if ((quiet)); then
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$logfile" 2>&1
	qemu_rc=$?
else
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tee "$logfile"
	qemu_rc=${PIPESTATUS[0]}
fi
set -e
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# The marker may share a line with kernel output and carry a CR.
status=$(tr -d '\r' <"$logfile" | grep -ao 'VM-EXIT-STATUS=[0-9]\+' | tail -n1 | cut -d= -f2 || true)
init_at=$(tr -d '\r' <"$logfile" | grep -ao 'GUEST-INIT-UPTIME=[0-9.]\+' | tail -n1 | cut -d= -f2 || true)
timing="wall ${wall}s${init_at:+, /init reached at ${init_at}s guest time}"

if ((qemu_rc == 124 || qemu_rc == 137)); then
	log "TIMEOUT after ${timeout_s}s ($timing); last lines:"
	tail -n 5 "$logfile" | sed 's/^/  | /' >&2
	exit 124
fi
if [[ -z $status ]]; then
	if grep -aq 'Kernel panic' "$logfile"; then
		log "guest kernel panicked ($timing):"
		grep -a -A3 'Kernel panic' "$logfile" | sed 's/^/  | /' >&2
	else
		log "guest stopped without VM-EXIT-STATUS (qemu exit $qemu_rc, $timing); last lines:"
		tail -n 5 "$logfile" | sed 's/^/  | /' >&2
	fi
	exit 125
fi
log "guest exit status $status ($timing)"
exit "$status"
