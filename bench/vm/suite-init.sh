#!/bin/sh
# /init of the benchmark VM (bench/run.sh): loads the modules for the disks
# (/modules/order), mounts the build disk /dev/vdb (bench/vm/build-rootfs.sh)
# read-only at /bld, starts a system-like D-Bus daemon (the held variant
# talks to scx-rustland through it), runs bench/vm/suite.sh, and writes the
# results directory as a tar archive onto the raw disk /dev/vda for the host
# to read.
#
# Knobs arrive as kernel command line key=value pairs (environment variables
# of /init); ',' stands for ' ' in lists:
#   bench_reps bench_scheds bench_lat_s bench_hog_s bench_hog_method
#   bench_pipe bench_msg bench_hb bench_build_goal bench_build_cflags bench_phases
# shellcheck disable=SC1091 # installed by tests/vm/mkinitramfs.sh
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog "${bench_watchdog:-3600}"

while read -r m; do
	insmod "/modules/$m" || fail "insmod $m"
done </modules/order
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
assert_file "results disk" /dev/vda
mkdir -p /bld
if mount -t ext4 -o ro /dev/vdb /bld; then
	pass "build disk mounted"
else
	fail "mounting the build disk /dev/vdb"
fi

# sd-bus clients and the daemon want a machine id.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >/etc/machine-id
mkdir -p /run/dbus
if dbus-daemon --config-file=/etc/dbus-1/bench-system.conf --fork --nopidfile; then
	pass "dbus-daemon started"
else
	fail "dbus-daemon did not start"
fi
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket

export SUITE_OUT=/tmp/results
for k in reps scheds lat_s hog_s hog_method pipe msg hb build_goal build_cflags phases; do
	eval "v=\${bench_$k:-}"
	[ -n "$v" ] || continue
	# bench_fl_s -> SUITE_FL_S; lists come with ',' for ' '.
	v=$(echo "$v" | tr ',' ' ')
	export "SUITE_$(echo "$k" | tr '[:lower:]' '[:upper:]')=$v"
done

# A subshell: suite.sh sources guest-lib.sh again and exits with its verdict.
if sh /usr/lib/scx-vm/suite.sh; then
	pass "suite finished, every run clean"
else
	fail "suite finished with failed checks (see FAIL lines)"
fi
echo "suite results: $(wc -l </tmp/results/runs.tsv) runs"
if tar -c -C /tmp/results . >/dev/vda && sync; then
	pass "results written to /dev/vda"
else
	fail "writing results to /dev/vda"
fi
finish
