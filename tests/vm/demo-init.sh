#!/bin/sh
# /init of the demo VM (scripts/run.sh): scx-rustland under load, live.
. /usr/lib/scx-vm/guest-lib.sh
guest_setup
guest_watchdog 300

args=$(cat /etc/scx-rustland.args 2>/dev/null)
echo "=== scx-rustland${args:+ $args}: counters every 2 s (user = decisions made in user space)"
# shellcheck disable=SC2086 # the arguments are meant to split
scx-rustland --stats 2 $args &
pid=$!
check "scheduler attached" wait_for_state enabled 10
assert_eq "ops" rustland "$(sched_ext_ops)"

echo "=== 20 s of load: 2 CPU hogs + hackbench"
stress-ng --cpu 2 --timeout 20s --quiet &
hogs=$!
end=$(($(date +%s) + 20))
while [ "$(date +%s)" -lt "$end" ]; do hackbench -g 2 -l 50 >/dev/null; done
wait "$hogs"
assert_eq "still attached after the load" enabled "$(sched_ext_state)"

echo "=== stopping (SIGINT)"
kill -INT "$pid"
wait "$pid"
assert_eq "clean exit" 0 "$?"
scx_dmesg
finish
