#!/usr/bin/env bash
# run.sh - the benchmark suite: EEVDF, scx-rustland (nothing held, the
# latency tools held through D-Bus, or held by the GameMode follower after
# `gamemoderun` registered them) and the kernel's example schedulers side
# by side in one boot, in a rotated order (bench/vm/suite.sh); then the
# results table with confidence intervals and the latency plots
# (bench/report.py).
#
# By default it boots the Debian sched_ext kernel under QEMU (tests/vm/,
# multi-threaded TCG) with bench/vm/suite-init.sh as /init, the build disk of
# bench/vm/build-rootfs.sh and the peers of bench/peers.sh (both cached).
# QEMU's main-loop thread, which fires the guest's timers, runs SCHED_FIFO 1
# on the host (boot.sh -R), so timer interrupts are not late behind the busy
# vCPU threads. A user who may not use SCHED_FIFO gets a warning and an
# ordinary thread, and results.md says so.
# With --host it runs bench/vm/suite.sh on this machine, which must have
# sched_ext and nothing attached (root; the build disk is loop-mounted).
#
# Usage: bench/run.sh [options]
#   --quick          smoke mode: 1 repetition, 2-s latency phases, short
#                    tools, schedulers eevdf,rustland,held,gamemode (about
#                    5 min); results under build/bench/smoke/
#   --reps N         repetitions (default 10)
#   --seconds N      seconds of each latency phase (default 15)
#   --scheds LIST    schedulers, comma-separated, from eevdf, rustland,
#                    held, gamemode, user, baseline, scx_simple, scx_qmap
#                    (default eevdf,rustland,held,scx_simple). gamemode:
#                    the latency tools run under gamemoderun, the real
#                    gamemoded and `scx-rustlandctl follow-gamemode` hold
#                    them (needs the gamemode package on this machine)
#   --phases LIST    only these phases, comma-separated, from hogs, build,
#                    hb, msg, pipe, lat-none, lat-hogs, lat-build (default
#                    all); held and gamemode run only the latency phases,
#                    and lat-none runs only under them
#   --out DIR        results directory (default bench/results/<UTC date>)
#   --host           run here instead of in the VM
#   --build DIR      build tree with scx-rustland, scx-rustlandctl and
#                    frameloop (default build/; they are built there first)
#   --baseline DIR   another build tree (of another commit, say) whose
#                    scx-rustland runs as the scheduler `baseline`, nothing
#                    held: an A/B of two versions in one boot
#   --timeout SECS   VM timeout (default 5400)
#   --check          exit 1 unless every scheduler/phase cell of the table
#                    is filled from a clean run (the ctest smoke test)
#   -h, --help       this help
#
# Output in the results directory: results.md (the table), runs.csv (every
# phase's numbers), *.png (plots): the summary to commit; data/ (everything
# the suite wrote) and serial.log (VM) stay out of git. Exit status: 0 when
# every phase was clean.
set -euo pipefail

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
vm=$top/tests/vm

default_scheds=eevdf,rustland,held,scx_simple
quick=0 reps=10 seconds=15 scheds=$default_scheds phases="" out="" host=0 bld=$top/build timeout_s=5400 check=0
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--reps) reps=${2:?--reps needs a number}; shift ;;
	--seconds) seconds=${2:?--seconds needs a number}; shift ;;
	--scheds) scheds=${2:?--scheds needs a list}; scheds_given=1; shift ;;
	--phases) phases=${2:?--phases needs a list}; shift ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--host) host=1 ;;
	--build) bld=${2:?--build needs a directory}; shift ;;
	--baseline) base_bld=${2:?--baseline needs a directory}; shift ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift ;;
	--check) check=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer, got '$reps'"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer, got '$timeout_s'"
for s in ${scheds//,/ }; do
	case $s in eevdf | rustland | held | gamemode | user | baseline | scx_simple | scx_qmap) ;;
	*) die "--scheds: unknown scheduler '$s' (eevdf, rustland, held, gamemode, user, baseline, scx_simple, scx_qmap)" ;;
	esac
done
[[ ,$scheds, != *,baseline,* ]] || [[ -n ${base_bld:-} ]] || die "--scheds baseline needs --baseline DIR"
[[ -z ${base_bld:-} ]] || [[ ,$scheds, == *,baseline,* ]] || die "--baseline DIR needs baseline in --scheds"
for p in ${phases//,/ }; do
	case $p in hogs | build | hb | msg | pipe | lat-none | lat-hogs | lat-build) ;;
	*) die "--phases: unknown phase '$p' (hogs, build, hb, msg, pipe, lat-none, lat-hogs, lat-build)" ;;
	esac
done

# The knobs of suite.sh (bench/vm/suite.sh documents them).
knobs=(reps="$reps" scheds="$scheds" lat_s="$seconds")
[ -z "$phases" ] || knobs+=(phases="$phases")
if ((quick)); then
	reps=1
	((${scheds_given:-0})) || scheds=eevdf,rustland,held,gamemode
	knobs=(reps=1 scheds="$scheds" lat_s=2 hog_s=1 pipe=500 msg=2 hb=5 build_goal="lcorolib.o,lutf8lib.o")
	[ -z "$phases" ] || knobs+=(phases="$phases")
	out=${out:-$top/build/bench/smoke}
fi
out=${out:-$top/bench/results/$(date -u +%Y-%m-%d)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/data"
mkdir -p "$out/data"

# held and gamemode need scx-rustlandctl and the daemon's bus policy.
need_held=0 need_gamemode=0
[[ ,$scheds, != *,held,* ]] || need_held=1
[[ ,$scheds, != *,gamemode,* ]] || need_held=1 need_gamemode=1
targets=(scx-rustland frameloop)
((need_held)) && targets+=(scx-rustlandctl)
log "building ${targets[*]} in $bld"
[[ -f $bld/CMakeCache.txt ]] || cmake -S "$top" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bld" -j2 --target "${targets[@]}" >/dev/null || die "build failed: cmake --build $bld --target ${targets[*]}"
daemon=$bld/src/scx-rustland
if [[ -n ${base_bld:-} ]]; then
	log "building scx-rustland in $base_bld (the baseline)"
	[[ -f $base_bld/CMakeCache.txt ]] || die "--baseline $base_bld: not a configured build tree (no CMakeCache.txt)"
	cmake --build "$base_bld" -j2 --target scx-rustland >/dev/null || die "build failed: cmake --build $base_bld --target scx-rustland"
	base_src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$base_bld/CMakeCache.txt")
fi
frameloop=$bld/bench/frameloop/frameloop
ctl=$(find "$bld" -name scx-rustlandctl -type f -perm -u+x 2>/dev/null | head -n1 || true)
((need_held == 0)) || [[ -n $ctl ]] || die "scx-rustlandctl was not built (the held and gamemode variants need it)"
# GameMode from this machine's gamemode package: the daemon, gamemoderun
# (a bash script) and the libraries it preloads (libgamemodeauto dlopens
# libgamemode).
gm_lib() { ldconfig -p | sed -n "s|^[[:space:]]*$1 (libc6,x86-64) => ||p" | head -n1; }
if ((need_gamemode)); then
	gamemoded=$(command -v gamemoded || true)
	gamemoderun=$(command -v gamemoderun || echo /usr/games/gamemoderun)
	gm_auto=$(gm_lib libgamemodeauto.so.0) gm_lib0=$(gm_lib libgamemode.so.0)
	[[ -n $gamemoded && -x $gamemoderun && -n $gm_auto && -n $gm_lib0 ]] ||
		die "--scheds gamemode needs the gamemode package (gamemoded, gamemoderun, libgamemode0, libgamemodeauto0): scripts/install-deps.sh"
fi
peer_bins=()
for s in ${scheds//,/ }; do
	case $s in scx_*)
		peer_dir=${peer_dir:-$("$here/peers.sh")} || die "bench/peers.sh failed"
		peer_bins+=("$peer_dir/$s")
		;;
	esac
done
build_img=$("$here/vm/build-rootfs.sh") || die "bench/vm/build-rootfs.sh failed"
# The bus policy of the source tree the binaries were built from.
src_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$bld/CMakeCache.txt")
dbus_policy=${src_dir:-$top}/dbus/org.scx.Rustland1.conf
((need_held == 0)) || [[ -f $dbus_policy ]] || die "$dbus_policy missing (the held variant needs the D-Bus policy)"

# Host CPU other processes used while the suite ran: how much the VM's vCPU
# threads (or the suite on a host) had to compete (all busy jiffies minus
# those of our waited-for children).
host_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
kids_cpu() { awk '{ print $16 + $17 }' /proc/$$/stat; }
b0=$(host_busy) k0=$(kids_cpu) w0=$(date +%s.%N)
rc=0
if ((host)); then
	[[ -d /sys/kernel/sched_ext ]] || die "--host: this kernel has no sched_ext (/sys/kernel/sched_ext missing)"
	((EUID == 0)) || die "--host: run as root (the scheduler needs CAP_BPF and CAP_SYS_ADMIN)"
	# The build disk, read-only, as in the VM; the peers found on PATH.
	bld_root=$(mktemp -d "${TMPDIR:-/tmp}/scx-bench-bld.XXXXXX")
	trap 'umount -R "$bld_root" 2>/dev/null; rmdir "$bld_root"' EXIT
	mount -o loop,ro "$build_img" "$bld_root" || die "--host: cannot loop-mount $build_img"
	env_args=(SUITE_OUT="$out/data" SUITE_LIB="$vm/guest-lib.sh" SUITE_RL="$daemon" SUITE_FRAMELOOP="$frameloop"
		SUITE_CTL="${ctl:-scx-rustlandctl}" SUITE_BUILD_ROOT="$bld_root" SUITE_BUILD_MK="$here/vm/build.mk"
		SUITE_GAMEMODED="${gamemoded:-gamemoded}" SUITE_GAMEMODERUN="${gamemoderun:-gamemoderun}"
		SUITE_SESSION_BUS_CONF="$here/vm/dbus-session.conf" PATH="${peer_dir:+$peer_dir:}$PATH")
	[[ -z ${base_bld:-} ]] || env_args+=(SUITE_RL_BASELINE="$base_bld/src/scx-rustland")
	for k in "${knobs[@]}"; do
		key=${k%%=*} val=${k#*=}
		env_args+=("SUITE_${key^^}=${val//,/ }")
	done
	env "${env_args[@]}" sh "$here/vm/suite.sh" || rc=$?
	kernel_desc="$(uname -r) on this host"
else
	env_file=$("$vm/fetch-kernel.sh") || die "fetch-kernel.sh failed"
	# shellcheck disable=SC1090
	. "$env_file"
	stage=$(mktemp -d "${TMPDIR:-/tmp}/scx-bench.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	# The disks need virtio_blk, and the build disk ext4 (with what it
	# depends on); modules of Debian's kernel, unless built in.
	mkdir -p "$stage/modules"
	: >"$stage/modules/order"
	for m in drivers/block/virtio_blk lib/crc/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
		name=${m##*/}
		! grep -q "/$name.ko\$" "$MODULES/modules.builtin" || continue
		f=$(compgen -G "$MODULES/kernel/$m.ko*" | head -n1) || die "module $m not found in $MODULES"
		case $f in
		*.xz) xz -dc "$f" ;; *.zst) zstd -qdc "$f" ;; *.gz) gzip -dc "$f" ;; *) cat "$f" ;;
		esac >"$stage/modules/$name.ko"
		echo "$name.ko" >>"$stage/modules/order"
	done
	initrd_args=(-o "$out/initramfs.cpio.zst" -i "$here/vm/suite-init.sh"
		-b "$daemon" -b "$frameloop" -b "$(command -v dbus-daemon)"
		-f "$stage/modules:/" -f "$here/vm/suite.sh:/usr/lib/scx-vm/suite.sh"
		-f "$here/vm/build.mk:/usr/lib/scx-vm/build.mk"
		-f "$here/vm/dbus-system.conf:/etc/dbus-1/bench-system.conf")
	[[ -z $ctl ]] || initrd_args+=(-b "$ctl")
	if [[ -n ${base_bld:-} ]]; then
		cp "$base_bld/src/scx-rustland" "$stage/scx-rustland-baseline"
		initrd_args+=(-b "$stage/scx-rustland-baseline")
	fi
	for p in "${peer_bins[@]}"; do initrd_args+=(-b "$p"); done
	((need_gamemode == 0)) || initrd_args+=(-b "$gamemoded" -b "$(command -v bash)" -L "$gm_auto" -L "$gm_lib0"
		-f "$gamemoderun:/usr/bin/gamemoderun" -f "$here/vm/dbus-session.conf:/etc/dbus-1/bench-session.conf")
	[[ ! -f $dbus_policy ]] || initrd_args+=(-f "$dbus_policy:/etc/dbus-1/system.d/org.scx.Rustland1.conf")
	"$vm/mkinitramfs.sh" "${initrd_args[@]}"
	disk=$out/results-disk.img
	rm -f "$disk"
	truncate -s 64M "$disk"
	kargs="bench_watchdog=$((timeout_s - 60))"
	for k in "${knobs[@]}"; do kargs+=" bench_$k"; done
	rt_timers=(-R) timer_desc="QEMU's main loop SCHED_FIFO 1 on the host"
	if ! chrt -f 1 true 2>/dev/null; then
		log "warning: this user may not use SCHED_FIFO: QEMU's timer thread stays ordinary, and the latency tails include the host's delay (docs/benchmarks.md, \"Emulation\")"
		rt_timers=() timer_desc="QEMU's main loop an ordinary host thread (not root: timer tails include the host's delay)"
	fi
	"$vm/boot.sh" -q "${rt_timers[@]}" -i "$out/initramfs.cpio.zst" -d "$disk" -r "$build_img" -l "$out/serial.log" -t "$timeout_s" -s 2 \
		-k "$env_file" -a "$kargs" || rc=$?
	tar -x -f "$disk" -C "$out/data" 2>/dev/null || log "no results archive on the disk (guest status $rc)"
	rm -f "$disk" "$out/initramfs.cpio.zst"
	grep -a -E '^(FAIL|PASS):' "$out/serial.log" | tr -d '\r' >&2 || true
	kernel_desc="$KERNEL_RELEASE ($KERNEL_PACKAGE $KERNEL_VERSION) under QEMU $(qemu-system-x86_64 --version |
		sed -n '1s/.*version \([^ ]*\).*/\1/p') TCG (${SCX_VM_ACCEL:-tcg,thread=multi}), 2 vCPUs, 2 GiB, $timer_desc"
fi
b1=$(host_busy) k1=$(kids_cpu) w1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
host_other=$(awk -v b="$((b1 - b0))" -v k="$((k1 - k0))" -v w0="$w0" -v w1="$w1" -v hz="$hz" \
	'BEGIN { o = (b - k) / hz / (w1 - w0); if (o < 0) o = 0; printf "%.2f", o }')
ours=$(awk -v k="$((k1 - k0))" -v w0="$w0" -v w1="$w1" -v hz="$hz" 'BEGIN { printf "%.2f", k / hz / (w1 - w0) }')
wall=$(awk -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.0f", w1 - w0 }')

cmd="bench/run.sh"
((quick)) && cmd+=" --quick"
((quick)) || [[ $reps == 10 ]] || cmd+=" --reps $reps"
((quick)) || [[ $seconds == 15 ]] || cmd+=" --seconds $seconds"
[[ $scheds == "$default_scheds" ]] || ((quick && !${scheds_given:-0})) || cmd+=" --scheds $scheds"
[ -z "$phases" ] || cmd+=" --phases $phases"
[[ -z ${base_bld:-} ]] || cmd+=" --baseline DIR"
((host)) && cmd+=" --host"
# The commit the binaries were built from (--build may be another checkout).
commit_of() {
	local c
	c=$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo '?')
	[[ -z $(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null || true) ]] || c+=" + uncommitted changes"
	echo "$c"
}
commit=$(commit_of "${src_dir:-$top}")
host_cpu=$(awk -F': *' '/^model name/ && !m { m = $2 } END { print m }' /proc/cpuinfo)
cat >"$out/data/host" <<EOF
command=$cmd
commit=$commit
baseline_commit=$([[ -z ${base_src:-} ]] || commit_of "$base_src")
date=$(date -u +%Y-%m-%dT%H:%MZ)
wall_s=$wall
host_cpu=$host_cpu, $(nproc) cores, host kernel $(uname -r)
kernel=$kernel_desc
host_other_cores=$host_other
suite_cores=$ours
status=$rc
EOF

report_args=("$out")
((check)) && report_args+=(--check)
report_rc=0
python3 "$here/report.py" "${report_args[@]}" || report_rc=$?
log "results: $out/results.md (wall ${wall} s; other processes used $host_other cores meanwhile)"
((rc == 0)) || log "FAILED: suite status $rc"
((report_rc == 0)) || { log "report: incomplete or failed ($report_rc)"; exit "$report_rc"; }
exit "$rc"
