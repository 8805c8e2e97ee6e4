#!/usr/bin/env bash
# smoke.sh - prove the VM test pipeline end to end, without our scheduler:
# fetch the kernel, build an initramfs, boot it and check that the guest runs
# the sched_ext kernel (state "disabled", nothing loaded) and that the load
# tools the e2e tests rely on work there. Prints the time of each step.
#
# Usage: tests/vm/smoke.sh [WORKDIR]
#   WORKDIR keeps the initramfs and the serial log (default: a new temp dir;
#   env SCX_VM_WORKDIR works too).
set -euo pipefail

log() { printf 'smoke: %s\n' "$*" >&2; }
die() { printf 'smoke: ERROR: %s\n' "$*" >&2; exit 1; }

case ${1:-} in
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
-*) die "unknown option $1 (try -h)" ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:-${SCX_VM_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/scx-vm-smoke.XXXXXX")}}
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
env_file=$("$here/fetch-kernel.sh") || die "fetch-kernel.sh failed"
# shellcheck disable=SC1090
. "$env_file"
t1=$(now)

# The kernel hands unknown key=value boot parameters to /init as environment
# variables: that is how the guest learns which release to expect.
cat >"$work/init.sh" <<'EOF'
#!/bin/sh
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 240

log "kernel $(uname -r), $(nproc) CPUs"
assert_eq "guest runs the cached kernel" "$scx_expect_release" "$(uname -r)"
assert_eq "guest sees 2 CPUs" 2 "$(nproc)"
assert_file "sched_ext sysfs exists" /sys/kernel/sched_ext/state
assert_eq "sched_ext state is disabled" disabled "$(sched_ext_state)"
assert_eq "no BPF scheduler loaded" "" "$(sched_ext_ops)"
check "wait_for_state sees disabled" wait_for_state disabled 1
check "debugfs is mounted" grep -q ' /sys/kernel/debug debugfs ' /proc/mounts

log "stress-ng, 2 CPU hogs for 2 s"
check "stress-ng --cpu 2 -t 2s" stress-ng --cpu 2 --timeout 2s --metrics-brief
log "hackbench"
check "hackbench -g 2 -l 50" hackbench -g 2 -l 50
log "perf bench sched pipe"
check "perf bench sched pipe" perf bench sched pipe -l 2000
log "cyclictest (SCHED_OTHER, 1 s)"
check "cyclictest --policy=other" cyclictest --policy=other -i 2000 -l 500 -q
finish
EOF

"$here/mkinitramfs.sh" -o "$work/smoke.cpio.zst" -i "$work/init.sh"
t2=$(now)

rc=0
"$here/boot.sh" -i "$work/smoke.cpio.zst" -l "$work/serial.log" -t 300 \
	-a "scx_expect_release=$KERNEL_RELEASE" || rc=$?
t3=$(now)

init_at=$(tr -d '\r' <"$work/serial.log" | grep -ao 'GUEST-INIT-UPTIME=[0-9.]\+' | tail -n1 | cut -d= -f2 || true)
log "timings: kernel $(elapsed "$t0" "$t1")s, initramfs $(elapsed "$t1" "$t2")s," \
	"boot+run $(elapsed "$t2" "$t3")s (/init at ${init_at:-?}s guest time), total $(elapsed "$t0" "$t3")s"
log "serial log: $work/serial.log"
if ((rc != 0)); then
	log "FAILED (guest status $rc)"
	grep -a '^FAIL:' "$work/serial.log" | tr -d '\r' >&2 || true
	exit "$rc"
fi
log "PASSED"
