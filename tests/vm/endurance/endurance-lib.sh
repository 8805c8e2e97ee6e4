# endurance-lib.sh - helpers shared by the endurance tests' guest scripts.
# Sourced after guest-lib.sh, in busybox sh (initramfs guests) or bash (the
# systemd guest): POSIX sh only. Installed as /usr/lib/scx-vm/endurance-lib.sh.

# param NAME DEFAULT: the value of scx_endurance.NAME=VALUE on the kernel
# command line (the host script chooses the length of a run there).
param() {
	_v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^scx_endurance\.$1=//p" | tail -n 1)
	echo "${_v:-$2}"
}

# enable_seq: how many times a BPF scheduler has been enabled since boot.
# Unlike the state file it cannot miss an ejection followed by a quick
# reattach between two samples.
enable_seq() { cat "$SCX_SYSFS/enable_seq"; }

# vm_rss_kb PID: resident set size of PID in kB.
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Lines in which the kernel reports a sched_ext failure (a restart the
# kernel asks for, e.g. on CPU hotplug, is not one).
scx_errors() {
	scx_dmesg | grep -Ei 'error|stall|fail' | grep -v 'unregistered from user space' || true
}

# stat_of LOG NAME: NAME= in the daemon's latest stats line in LOG.
stat_of() {
	grep 'stats:' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# max_stat LOG NAME: the largest NAME= over all stats lines in LOG (the
# daemon's counters start again at each attach).
max_stat() {
	grep 'stats:' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -n | tail -n 1
}

# median_max FILE: "median M max X" of the numbers in FILE (one a line).
median_max() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "median - max -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %.3f max %.3f\n", m, v[NR] }'
}

# as_nobody CMD...: run CMD as user nobody in /tmp (stress-ng refuses to run
# its exec stressor as root).
as_nobody() {
	su -s /bin/sh nobody -c "cd /tmp && exec $*"
}

# finish_with_log LOG: guest-lib's finish, with the end of the daemon's log
# (and the kernel's sched_ext lines) first when a check failed.
finish_with_log() {
	if [ "$GL_FAILED" -gt 0 ]; then
		# The kernel's dump of the first ejection: which tasks waited, where.
		if grep -q 'Kernel debug dump' "$1"; then
			echo "---- $1: the first kernel debug dump ----"
			sed -n '/Kernel debug dump/,/Event counters/p' "$1" | head -n 300
		fi
		echo "---- $1 (last 40 lines) ----"
		tail -n 40 "$1"
		echo "---- dmesg (sched_ext) ----"
		scx_dmesg | tail -n 20
	fi
	finish
}
