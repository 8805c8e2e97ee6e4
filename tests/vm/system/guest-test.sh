#!/bin/bash
# shellcheck disable=SC2317 # helpers below are called through check()
# guest-test.sh - system test of systemd/scx-rustland.service, run INSIDE the
# VM by scx-system-test.service after multi-user.target (see run.sh).
#
# Drives the real unit with systemctl, with all its hardening, on a kernel
# with sched_ext: start (Type=notify), StatusText, live reload, refused
# reload, crash + Restart=on-failure, stop, and prints
# `systemd-analyze security`. Ends with guest-lib's summary and the
# VM-EXIT-STATUS marker, then powers off.
# shellcheck source=tests/vm/guest-lib.sh
. /usr/lib/scx-vm/guest-lib.sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat PAGER=cat
U=scx-rustland
TUNABLE=/proc/sys/vm/compact_unevictable_allowed
tunable() { cat "$TUNABLE" 2>/dev/null || echo none; }
CONF=/etc/scx-rustland/config.toml
guest_watchdog 300
# Dying before finish still prints FAIL + the marker (guest-lib's handler).
trap '_gl_on_exit $?' EXIT

prop() { systemctl show -p "$1" --value "$U"; }
# journal_has REGEX TIMEOUT_S: the unit's journal (this boot) matches REGEX.
journal_has() {
	local i=0
	while ((i < $2 * 10)); do
		journalctl -b -u "$U" --no-pager -o cat 2>/dev/null | grep -Eq -- "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# count_journal REGEX: number of matching lines in the unit's journal.
count_journal() { journalctl -b -u "$U" --no-pager -o cat 2>/dev/null | grep -Ec -- "$1"; }
# wait_active TIMEOUT_S
wait_active() {
	local i=0
	while ((i < $1 * 10)); do
		[[ $(systemctl is-active "$U") == active ]] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
dump_unit() {
	echo "---- systemctl status $U ----"
	systemctl status --no-pager -l "$U" 2>&1 | sed 's/^/  | /'
	echo "---- journalctl -u $U ----"
	journalctl -b -u "$U" --no-pager -o short-monotonic 2>&1 | tail -n 60 | sed 's/^/  | /'
}

log "system test starting: $(systemctl --version | head -n1), kernel $(uname -r)"
log "multi-user.target reached at $(systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target | awk '{ printf "%.2f", $1 / 1e6 }') s guest time"
assert_eq "sched_ext state before start" disabled "$(sched_ext_state)"
assert_eq "unit inactive before start" inactive "$(systemctl is-active "$U")"
tunable0=$(tunable)
log "vm.compact_unevictable_allowed before start: $tunable0"

# ---- start -----------------------------------------------------------------
t0=$(uptime_s)
if timeout 90 systemctl start "$U"; then
	pass "systemctl start $U (returned after $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }') s)"
else
	fail "systemctl start $U (exit $?)"
	dump_unit
fi
# Type=notify: `systemctl start` returns only after READY=1, so the unit
# must be active and the scheduler attached right now, without polling.
assert_eq "unit active right after start (READY=1)" active "$(systemctl is-active "$U")"
assert_eq "sched_ext state enabled right after start" enabled "$(sched_ext_state)"
assert_eq "sched_ext ops is rustland" rustland "$(sched_ext_ops)"
status=$(prop StatusText)
log "StatusText: $status"
assert_match "StatusText is set" '.' "$status"
pid1=$(prop MainPID)
assert_match "MainPID set" '^[1-9][0-9]*$' "$pid1"
log "MainPID $pid1, NRestarts $(prop NRestarts)"
# What the hardening must still let through: mlockall (LimitMEMLOCK=,
# CAP_IPC_LOCK) and the one writable tunable (ReadWritePaths= under
# ProtectKernelTunables=yes).
vmlck=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid1/status" 2>/dev/null)
assert_match "daemon memory is locked (VmLck ${vmlck:-?} kB)" '^[1-9][0-9]*$' "$vmlck"
if [[ -f /proc/sys/vm/compact_unevictable_allowed ]]; then
	assert_eq "vm.compact_unevictable_allowed set to 0 while attached" 0 "$(cat /proc/sys/vm/compact_unevictable_allowed)"
fi

# ---- live reload -------------------------------------------------------------
cp "$CONF" /root/config.toml.orig
if grep -Eq '^#?slice_us = ' "$CONF"; then
	sed -i -E 's/^#?slice_us = .*/slice_us = 4000/' "$CONF"
else
	fail "config has no slice_us line to change"
fi
grep -E '^slice_us' "$CONF" | sed 's/^/  config: /'
check "systemctl reload (live key slice_us)" timeout 30 systemctl reload "$U"
check "journal: Applied without reattaching" journal_has 'Applied without reattaching' 15
journalctl -b -u "$U" --no-pager -o cat | grep -E 'Applied without reattaching' | tail -n1 | sed 's/^/  journal: /'
assert_eq "active after live reload" active "$(systemctl is-active "$U")"
assert_eq "enabled after live reload" enabled "$(sched_ext_state)"
assert_eq "same MainPID after live reload" "$pid1" "$(prop MainPID)"

# ---- broken config + reload ----------------------------------------------------
n_invalid=$(count_journal 'configuration is invalid')
printf '\n[scheduler\nthis is = = not toml\n' >>"$CONF"
check "systemctl reload (broken config)" timeout 30 systemctl reload "$U"
check "journal: invalid config refused" journal_has "configuration is invalid" 15
((n_invalid == 0)) || log "note: $n_invalid earlier 'invalid' lines"
journalctl -b -u "$U" --no-pager -o cat | grep -iE 'invalid|error|toml' | tail -n3 | sed 's/^/  journal: /'
sleep 1
assert_eq "active after broken reload" active "$(systemctl is-active "$U")"
assert_eq "enabled after broken reload" enabled "$(sched_ext_state)"
assert_eq "same MainPID after broken reload" "$pid1" "$(prop MainPID)"
cp /root/config.toml.orig "$CONF"

# ---- crash: kill -9 → Restart=on-failure ----------------------------------------
n0=$(prop NRestarts)
t0=$(uptime_s)
kill -9 "$pid1"
check "state falls back after kill -9" wait_for_state disabled 5
tunable_killed=$(tunable)
log "vm.compact_unevictable_allowed after kill -9: $tunable_killed (a killed daemon cannot restore it)"
check "unit restarted and active again" wait_active 60
check "sched_ext enabled again after restart" wait_for_state enabled 30
log "back after $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }') s (RestartSec=2s)"
pid2=$(prop MainPID)
assert_match "new MainPID set" '^[1-9][0-9]*$' "$pid2"
assert_ne "MainPID changed after restart" "$pid1" "$pid2"
n1=$(prop NRestarts)
assert_eq "NRestarts incremented" "$((n0 + 1))" "$n1"
assert_eq "ops is rustland after restart" rustland "$(sched_ext_ops)"

# ---- stop --------------------------------------------------------------------
check "systemctl stop" timeout 30 systemctl stop "$U"
assert_eq "unit inactive after stop" inactive "$(systemctl is-active "$U")"
check "sched_ext state disabled after stop" wait_for_state disabled 5
check "journal: clean detach" journal_has 'scx-rustland detached; tasks are back on the fair class' 5
assert_eq "unit result success (clean exit)" success "$(prop Result)"
# After kill -9 the tunable stays 0; the restarted daemon must restore the
# value from before the first start (kept in /run/scx-rustland), not that 0.
assert_eq "vm.compact_unevictable_allowed back to its original value after stop (after kill -9: $tunable_killed)" \
	"$tunable0" "$(tunable)"
scx_dmesg | tail -n 6 | sed 's/^/  dmesg: /'

# ---- hardening report -------------------------------------------------------------
echo "---- systemd-analyze security $U ----"
systemd-analyze security --no-pager "$U" 2>&1 | sed 's/^/  | /'
exposure=$(systemd-analyze security --no-pager "$U" 2>/dev/null | grep -Eo 'Overall exposure level for [^:]*: [0-9.]+ [A-Z]+' | tail -n1)
assert_match "systemd-analyze security reports an exposure level" 'Overall exposure level' "$exposure"
log "$exposure"

# Hardening failures show up as "Failed to ..." / EPERM lines in the journal.
echo "---- journal of $U (this boot) ----"
journalctl -b -u "$U" --no-pager -o short-monotonic 2>&1 | sed 's/^/  | /'
bad=$(journalctl -b --no-pager -o cat 2>/dev/null | grep -E 'scx-rustland.*(Failed at step|status=2[0-9][0-9]/)' || true)
assert_eq "no exec-setup (hardening) failure in the journal" "" "$bad"

finish
