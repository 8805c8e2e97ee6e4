#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run through trap, check and wait_for
# systemd-sandbox.sh - run the real unit file under a real systemd, on a host
# whose PID 1 is not systemd (a build container or VM).
#
# Boots the host's systemd as PID 1 of a throwaway container: its own pid,
# mount, cgroup, UTS and IPC namespaces and an overlay of / whose writes go
# to a tmpfs and vanish. The unit file is installed unchanged, plus a drop-in
# that swaps ExecStart for sd-probe (which makes the daemon's privileged
# calls and speaks sd_notify like it) and, when the kernel has no sched_ext,
# drops the ConditionPathIsDirectory=. Then it checks, with systemctl and
# journalctl inside the container: the probe's calls all pass under the
# hardening, READY=1/STATUS=, the journal fields, reload (RELOADING=1 ...
# READY=1), the watchdog (pings stop -> SIGABRT -> restart), STOPPING=1 and a
# clean stop, and prints `systemd-analyze security scx-rustland`.
#
# Usage (root): tests/integration/systemd-sandbox.sh UNIT SD_PROBE
#   UNIT      systemd/scx-rustland.service
#   SD_PROBE  build/tests/integration/sd-probe
# Exit status: 0 when every check passed.
set -euo pipefail

log() { printf 'systemd-sandbox: %s\n' "$*" >&2; }
die() { printf 'systemd-sandbox: ERROR: %s\n' "$*" >&2; exit 2; }

(($# == 2)) || die "usage: $0 UNIT SD_PROBE"
unit=$(realpath "$1") probe=$(realpath "$2")
[[ $EUID -eq 0 ]] || die "needs root (namespaces, mounts, cgroups)"
[[ -x /lib/systemd/systemd ]] || die "systemd is not installed"
cgroot=$(findmnt -t cgroup2 -n -o TARGET | head -n1)
[[ -n $cgroot ]] || die "no cgroup2 hierarchy mounted"

work=$(mktemp -d /tmp/scx-sd-sandbox.XXXXXX)
cg=$cgroot/scx-sd-sandbox.$$
mkdir "$cg"
ns_pid="" unshare_pid=""

cleanup() {
	if [[ -n $ns_pid ]] && kill -0 "$ns_pid" 2>/dev/null; then
		kill -s SIGRTMIN+4 "$ns_pid" 2>/dev/null || true  # poweroff
		for _ in $(seq 50); do kill -0 "$ns_pid" 2>/dev/null || break; sleep 0.2; done
		kill -s KILL "$ns_pid" 2>/dev/null || true
	fi
	if [[ -n $unshare_pid ]]; then wait "$unshare_pid" 2>/dev/null || true; fi
	# Sub-cgroups systemd made, deepest first.
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# --- The files the container gets on top of the host's / ---
mkdir -p "$work/add/etc/systemd/system/scx-rustland.service.d" "$work/add/usr/sbin"
cp "$unit" "$work/add/etc/systemd/system/scx-rustland.service"
cp "$probe" "$work/add/usr/sbin/sd-probe"
{
	echo "[Unit]"
	[[ -d /sys/kernel/sched_ext ]] || echo "ConditionPathIsDirectory="
	echo "[Service]"
	echo "ExecStart="
	echo "ExecStart=/usr/sbin/sd-probe"
	# PID 1 cannot raise a hard limit without CAP_SYS_RESOURCE; some build
	# containers drop it from every bounding set.
	capbnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
	if (((0x$capbnd >> 24 & 1) == 0)); then
		echo "LimitMEMLOCK=$(($(ulimit -Hl) * 1024))"
	fi
} >"$work/add/etc/systemd/system/scx-rustland.service.d/sandbox.conf"
cat >"$work/add/etc/systemd/system/scx-sandbox.target" <<'EOF'
[Unit]
Description=scx-rustland sandbox
Requires=basic.target
After=basic.target
Wants=scx-rustland.service
AllowIsolate=yes
EOF

# --- PID 1 of the container: build the root, then become systemd ---
cat >"$work/init.sh" <<'EOF'
#!/bin/sh
set -e
w=$1
mount -t tmpfs tmpfs "$w/ovl"
mkdir -p "$w/ovl/up" "$w/ovl/work" "$w/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$w/ovl/up,workdir=$w/ovl/work" "$w/root"
r=$w/root
cp -a "$w/add/." "$r/"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t sysfs -o ro sysfs "$r/sys"
mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
exec chroot "$r" /usr/bin/env -i container=scx-sandbox /lib/systemd/systemd --unit=scx-sandbox.target \
	--show-status=no
EOF
chmod +x "$work/init.sh"
mkdir -p "$work/ovl"

log "booting systemd in a container (log: $work/console.log)"
# The shell moves itself into the new cgroup, so the cgroup namespace of
# the container is rooted there.
sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare --cgroup --pid --mount --uts --ipc --fork \
	--propagation private "$2/init.sh" "$2"' sh "$cg" "$work" >"$work/console.log" 2>&1 &
unshare_pid=$!
for _ in $(seq 50); do
	ns_pid=$(cat /proc/"$unshare_pid"/task/*/children 2>/dev/null | awk '{print $1}')
	[[ -n $ns_pid ]] && break
	sleep 0.1
done
[[ -n $ns_pid ]] || die "the container did not start: $(cat "$work/console.log")"

in_ct() { nsenter -t "$ns_pid" -m -p -u -i -C -r -w -- "$@"; }
prop() { in_ct systemctl show -P "$1" scx-rustland.service; }
failures=0
check() {  # check NAME COMMAND...
	local name=$1; shift
	if "$@"; then log "ok: $name"; else log "FAILED: $name"; failures=$((failures + 1)); fi
}
wait_for() {  # wait_for SECS COMMAND...
	local secs=$1; shift
	for _ in $(seq $((secs * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}

target_up() { in_ct systemctl is-active -q scx-sandbox.target 2>/dev/null; }
wait_for 60 target_up ||
	{ tail -n 50 "$work/console.log" >&2; die "the container's systemd did not reach scx-sandbox.target"; }
log "systemd $(in_ct systemctl --version | head -n1 | awk '{print $2}') is up"

active_running() { [[ $(prop ActiveState)/$(prop SubState) == active/running ]]; }
check "scx-rustland.service active (running) after READY=1" wait_for 20 active_running
log "status: $(prop StatusText)"
check "STATUS= says every probe check passed" test "$(prop StatusText)" = "all probe checks ok"
unit_journal() { in_ct journalctl -b -u scx-rustland.service -o cat --no-pager; }
probe_summary_logged() { unit_journal | grep -q 'probe: .*probe checks'; }
wait_for 10 probe_summary_logged || true  # journald may lag behind READY=1
unit_journal >"$work/probe.log" || true
sed 's/^/    /' "$work/probe.log" >&2
check "journal: the probe ran every check and none FAILED" \
	bash -c "grep -q 'probe: all probe checks ok' '$work/probe.log' && ! grep -q FAILED '$work/probe.log'"
check "journal: priority and extra fields" bash -c "nsenter -t $ns_pid -m -p -u -i -C -r -w -- \
	journalctl -b SYSLOG_IDENTIFIER=scx-rustland SCX_EXIT_REASON='probe reason' -o verbose --no-pager |
	grep -q 'PRIORITY=4' "
log "the message with extra fields, as the journal stores it:"
in_ct journalctl -b SYSLOG_IDENTIFIER=scx-rustland SCX_EXIT_REASON='probe reason' -o verbose --no-pager |
	grep -E '^ +(MESSAGE|PRIORITY|SYSLOG_IDENTIFIER|SCX_[A-Z_]+|_SYSTEMD_UNIT)=' | sed 's/^ */    /' >&2 || true
check "journal: probe lines carry the daemon's identifier" bash -c "nsenter -t $ns_pid -m -p -u -i -C -r -w -- \
	journalctl -b SYSLOG_IDENTIFIER=scx-rustland PRIORITY=6 -o cat --no-pager | grep -q 'logging to the journal'"

check "systemctl reload (RELOADING=1 ... READY=1)" in_ct timeout 20 systemctl reload scx-rustland.service
check "STATUS= after reload" wait_for 5 bash -c "[[ \$(nsenter -t $ns_pid -m -p -u -i -C -r -w -- \
	systemctl show -P StatusText scx-rustland.service) == 'all probe checks ok, reloaded' ]]"

pid_before=$(prop MainPID)
sleep 12  # > WatchdogSec: the pings keep it alive
check "watchdog: pings keep the service alive past WatchdogSec" test "$(prop MainPID)/$(prop NRestarts)" = "$pid_before/0"
in_ct systemctl kill --kill-whom=main -s SIGUSR1 scx-rustland.service
restarted() { [[ $(prop NRestarts) == 1 ]] && active_running; }
check "watchdog: no pings -> killed and restarted" wait_for 30 restarted
check "watchdog: systemd logged the timeout" bash -c "nsenter -t $ns_pid -m -p -u -i -C -r -w -- \
	journalctl -b -u scx-rustland.service --no-pager | grep -q 'Watchdog timeout'"

in_ct systemd-analyze security scx-rustland.service --no-pager >"$work/security.txt" 2>&1 || true
cat "$work/security.txt"

check "systemctl stop (STOPPING=1, clean exit)" in_ct timeout 20 systemctl stop scx-rustland.service
check "stopped cleanly" test "$(prop ActiveState)/$(prop Result)" = "inactive/success"
in_ct journalctl -b -u scx-rustland.service -o short-monotonic --no-pager >"$work/final.log" || true
log "journal of scx-rustland.service:"
sed 's/^/    /' "$work/final.log" >&2

if ((failures == 0)); then
	log "all checks passed"
	exit 0
fi
log "$failures check(s) FAILED"
exit 1
