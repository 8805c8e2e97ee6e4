#!/usr/bin/env bash
# compare.sh - scx-rustland against the kernel's default scheduler (EEVDF),
# side by side in one boot of the sched_ext VM (QEMU, see tests/vm/).
#
# Builds an initramfs with the daemon and the load tools whose /init is
# bench/vm/compare-init.sh, boots it (TCG, 2 vCPUs), and turns the RESULT
# lines of the serial log into a markdown report: per scheduler the median
# and min-max of the repetitions, the ratio scx-rustland/EEVDF, the daemon's
# own counters and cost, every run, and any failed check.
#
# Usage: bench/vm/compare.sh [options] [OUT.md]
#   OUT.md      report (default build/bench/compare.md); the initramfs and the
#               serial log go next to it (OUT.cpio.zst, OUT.serial.log)
#   -r N        repetitions per scheduler (default 3)
#   -c SECS     cyclictest duration per run (default 10: 5000 periods at 500 Hz)
#   -p N        perf bench sched pipe loops (default 2000)
#   -l N        hackbench -g 2 loops (default 100)
#   -o OPTS     extra scx-rustland options, e.g. "-o '--slice-us 2000'"
#               (default none: the daemon's defaults)
#   -b DAEMON   scx-rustland binary (default build/src/scx-rustland)
#   -g REV      instead of -b: build scx-rustland from git revision REV (e.g.
#               HEAD) in a private tree under build/bench/, so that edits in
#               the work tree do not leak into the measurement
#   -t SECS     boot timeout (default 1800)
#   -k FILE     kernel.env (default: tests/vm/fetch-kernel.sh's cache)
#   -R          report only: rewrite OUT.md from the OUT.serial.log and
#               OUT.meta of an earlier run, without booting
#   -h          this help
#
# Exit status: 0 when every run was clean; the guest's status otherwise
# (1: a check failed, e.g. the scheduler was ejected; 124: timeout; see
# tests/vm/boot.sh). The report is written whenever the guest produced
# results, failed or not.
#
# Under TCG only differences of about 2x are trustworthy from 3 repetitions
# (docs/benchmarks.md).
set -euo pipefail

log() { printf 'compare: %s\n' "$*" >&2; }
die() { printf 'compare: ERROR: %s\n' "$*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
vm=$top/tests/vm

reps=3 cyc_s=10 pipe=2000 hb=100 rl_opts="" daemon=$top/build/src/scx-rustland timeout_s=1800 env_file=""
git_rev="" report_only=0
while getopts "r:c:p:l:o:b:g:t:k:Rh" opt; do
	case $opt in
	r) reps=$OPTARG ;;
	c) cyc_s=$OPTARG ;;
	p) pipe=$OPTARG ;;
	l) hb=$OPTARG ;;
	o) rl_opts=$OPTARG ;;
	b) daemon=$OPTARG ;;
	g) git_rev=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	k) env_file=$OPTARG ;;
	R) report_only=1 ;;
	h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "bad option (try -h)" ;;
	esac
done
shift $((OPTIND - 1))
(($# <= 1)) || die "unexpected arguments: $* (try -h)"
out=${1:-$top/build/bench/compare.md}
for v in reps cyc_s pipe hb timeout_s; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ $rl_opts != *,* ]] || die "-o: options cannot contain ',' (it encodes spaces on the kernel command line)"

mkdir -p "$(dirname "$out")"
base=${out%.md}
initrd=$base.cpio.zst
serial=$base.serial.log
meta=$base.meta
if ((report_only)); then
	[[ -f $serial && -f $meta ]] || die "-R: $serial or $meta missing"
	# shellcheck disable=SC1090
	. "$meta"
else
	if [[ -n $git_rev ]]; then
		commit=$(git -C "$top" rev-parse --verify "$git_rev^{commit}") || die "-g: no such revision '$git_rev'"
		short=${commit:0:12}
		src=$top/build/bench/rev-$short/src
		bld=$top/build/bench/rev-$short/build
		if [[ ! -f $src/CMakeLists.txt ]]; then
			rm -rf "$src"
			mkdir -p "$src"
			git -C "$top" archive "$commit" | tar -x -C "$src"
		fi
		log "building scx-rustland from $git_rev ($short) in $bld"
		cmake -S "$src" -B "$bld" >/dev/null
		cmake --build "$bld" -j"$(nproc)" --target scx-rustland >/dev/null
		daemon=$bld/src/scx-rustland
	fi
	[[ -x $daemon ]] || die "daemon $daemon not found: cmake --build build --target scx-rustland"
	daemon_sha=$(sha256sum "$daemon" | cut -c1-16)
	if [[ -z $env_file ]]; then
		env_file=$("$vm/fetch-kernel.sh") || die "fetch-kernel.sh failed"
	fi
	# shellcheck disable=SC1090
	. "$env_file"

	t0=$(date +%s)
	"$vm/mkinitramfs.sh" -o "$initrd" -i "$here/compare-init.sh" -b "$daemon"

	# Knobs reach /init as environment variables (unknown key=value boot
	# parameters); spaces in the daemon's options travel as ','.
	kargs="bench_reps=$reps bench_cyc_s=$cyc_s bench_pipe=$pipe bench_hb=$hb"
	[[ -z $rl_opts ]] || kargs+=" bench_args=$(tr ' ' ',' <<<"$rl_opts")"
	# Host CPU the VM did not use while it ran: how much other processes
	# competed with its 2 vCPU threads (all busy jiffies minus those of our
	# waited-for children, i.e. qemu).
	host_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
	kids_cpu() { awk '{ print $16 + $17 }' /proc/$$/stat; }
	b0=$(host_busy) k0=$(kids_cpu) w0=$(date +%s.%N)
	rc=0
	"$vm/boot.sh" -i "$initrd" -l "$serial" -t "$timeout_s" -s 2 -k "$env_file" -a "$kargs" || rc=$?
	b1=$(host_busy) k1=$(kids_cpu) w1=$(date +%s.%N)
	t1=$(date +%s)
	host_other=$(awk -v b="$((b1 - b0))" -v k="$((k1 - k0))" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { o = (b - k) / hz / (w1 - w0); if (o < 0) o = 0; printf "%.2f", o }')
	vm_cores=$(awk -v k="$((k1 - k0))" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", k / hz / (w1 - w0) }')

	if [[ -n $git_rev ]]; then
		source_desc="commit $short (\`$git_rev\`), built by compare.sh in a private tree"
	else
		source_desc="\`$daemon\` from the work tree at $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
		if [[ -n $(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null || true) ]]; then
			source_desc+=" + uncommitted changes"
		fi
	fi
	cmd="bench/vm/compare.sh"
	[[ $reps == 3 ]] || cmd+=" -r $reps"
	[[ $cyc_s == 10 ]] || cmd+=" -c $cyc_s"
	[[ $pipe == 2000 ]] || cmd+=" -p $pipe"
	[[ $hb == 100 ]] || cmd+=" -l $hb"
	[[ -z $rl_opts ]] || cmd+=" -o '$rl_opts'"
	[[ -z $git_rev ]] || cmd+=" -g $git_rev"
	cmd+=" ${out#"$top"/}"
	# What the report needs besides the serial log, for -R.
	for v in rc t0 t1 host_other vm_cores source_desc daemon_sha cmd cyc_s pipe hb reps rl_opts KERNEL_PACKAGE KERNEL_VERSION; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$meta"
fi

clean=$(mktemp)
trap 'rm -f "$clean"' EXIT
tr -d '\r' <"$serial" >"$clean"
if ! grep -q '^RESULT ' "$clean"; then
	log "no RESULT lines in $serial (guest status $rc)"
	exit $((rc ? rc : 1))
fi

host_cpu=$(awk -F': *' '/^model name/ && !m { m = $2 } /^cpu family/ && !f { f = $2 }
	/^model[ \t]*:/ && !o { o = $2 } /^cpu MHz/ && !z { z = $2 }
	END { printf "%s (family %s model %s, %.0f MHz)", m, f, o, z }' /proc/cpuinfo)
qemu_ver=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
host_cores=$(nproc)
guest_kernel=$(sed -n 's/.*GUEST-KERNEL=//p' "$clean" | tail -n1)
config=$(sed -n 's/^BENCH-CONFIG //p' "$clean" | tail -n1)
done_line=$(sed -n 's/^BENCH-DONE //p' "$clean" | tail -n1)

{
	echo "# scx-rustland vs EEVDF in the sched_ext VM"
	echo
	echo "Generated by \`bench/vm/compare.sh\` on $(date -u +%Y-%m-%d) (wall $((t1 - t0)) s incl. initramfs and boot)."
	echo
	echo "- Command: \`$cmd\`"
	echo "- scx-rustland: $source_desc (sha256 $daemon_sha…); options: ${rl_opts:-none (defaults)}"
	echo "- Host: $host_cpu, $host_cores cores; guest: QEMU $qemu_ver TCG, 2 vCPUs, 2 GiB"
	echo "- Host CPU during the boot: the VM used $vm_cores cores on average, other processes $host_other"
	echo "  (anything above ~0 competes with the vCPUs and adds noise)"
	echo "- Guest kernel: $guest_kernel ($KERNEL_PACKAGE $KERNEL_VERSION)"
	echo "- Configuration: $config"
	echo "- Guest: $done_line"
	echo "- Background load in every run: \`stress-ng --cpu 2\` (2 hogs on 2 vCPUs); workloads in order:"
	echo "  \`cyclictest --policy=other -i 2000 -D ${cyc_s}\` (SCHED_OTHER, 500 Hz), \`perf bench sched pipe -l $pipe\`,"
	echo "  \`hackbench -g 2 -l $hb\`. Runs interleaved: EEVDF, scx-rustland, EEVDF, ..."
	echo
} >"$out"

# Aggregation. mawk-compatible (no asort): values per (sched, metric) in
# run order, median and min-max over the numeric ones, ratios
# rustland/EEVDF of the medians and per repetition.
awk -v reps="$reps" '
function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
function tagged(x) { return x ~ /^[0-9]+(\.[0-9]+)?\*$/ }
function sortv(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
}
# Sets M (median), LO, HI, N (numeric count), BAD (non-numeric values seen).
function stats(s, k,   v, n, i, r) {
	delete w; n = 0; BAD = ""
	for (r = 1; r <= nrep[s]; r++) {
		v = val[s, r, k]
		if (num(v)) w[++n] = v + 0
		else if (tagged(v)) BAD = BAD (BAD == "" ? "" : ", ") fmt(v)
	}
	N = n
	if (n == 0) { M = LO = HI = ""; return }
	sortv(w, n)
	M = (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
	LO = w[1]; HI = w[n]
}
function fmt(x) {
	if (x == "" || x == "na") return "n/a"
	if (tagged(x)) return fmt(substr(x, 1, length(x) - 1)) "*"
	if (!num(x)) return x
	x = x + 0
	if (x == int(x)) return sprintf("%d", x)
	if (x >= 100) return sprintf("%.0f", x)
	if (x >= 10) return sprintf("%.1f", x)
	if (x >= 1) return sprintf("%.2f", x)
	return sprintf("%.3f", x)
}
function cell(s, k,   t) {
	stats(s, k)
	if (N == 0) t = "n/a"
	else t = fmt(M)
	if (N > 1) t = t " [" fmt(LO) "–" fmt(HI) "]"
	if (BAD != "") t = t "; after ejection: " BAD
	return t
}
function ratio(k,   me, mr, r, lo, hi, x, n) {
	stats("eevdf", k); me = M
	stats("rustland", k); mr = M
	if (me == "" || mr == "" || me == 0) return "n/a"
	n = 0
	for (r = 1; r <= reps; r++) {
		if (num(val["eevdf", r, k]) && num(val["rustland", r, k]) && val["eevdf", r, k] > 0) {
			x = val["rustland", r, k] / val["eevdf", r, k]
			if (n == 0 || x < lo) lo = x
			if (n == 0 || x > hi) hi = x
			n++
		}
	}
	return sprintf("**%.2f**", mr / me) (n > 1 ? sprintf(" [%.2f–%.2f]", lo, hi) : "")
}
/^RESULT / {
	s = ""; r = 0
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "sched") s = kv[2]
		if (kv[1] == "rep") r = kv[2] + 0
	}
	if (r > nrep[s]) nrep[s] = r
	for (i = 2; i <= NF; i++) {
		eq = index($i, "="); k = substr($i, 1, eq - 1); val[s, r, k] = substr($i, eq + 1)
	}
	line[++nlines] = $0
}
END {
	print "## Results"
	print ""
	print "Median of the repetitions, [min–max]. Ratio = scx-rustland median / EEVDF median,"
	print "[min–max] of the per-repetition ratios (runs next to each other in time)."
	print "Values marked `*` were measured after scx-rustland had been ejected in that run (so at"
	print "least partly under EEVDF): listed, but left out of medians and ratios."
	print ""
	print "| metric | better | EEVDF | scx-rustland | ratio rustland/EEVDF |"
	print "|---|---|---|---|---|"
	for (si = 1; si <= 2; si++) {
		s = si == 1 ? "eevdf" : "rustland"; okc[s] = 0
		for (r = 1; r <= nrep[s]; r++) if (val[s, r, "ok"] == 1) okc[s]++
	}
	printf "| runs without a failed check | higher | %d of %d | %d of %d | |\n", okc["eevdf"], nrep["eevdf"], okc["rustland"], nrep["rustland"]
	n = split("cyc_p99_us cyc_max_us cyc_served pipe_us_op hb_s hog_ops_s", keys, " ")
	split("cyclictest p99 wakeup latency (µs)|cyclictest max wakeup latency (µs)|cyclictest periods served|perf bench sched pipe (µs/op)|hackbench -g 2 (s)|hog throughput (bogo-ops/s)", names, "|")
	split("lower|lower|higher|lower|lower|higher", better, "|")
	for (i = 1; i <= n; i++) {
		nm = names[i]
		if (keys[i] == "cyc_served") nm = nm " of " val["eevdf", 1, "cyc_due"]
		printf "| %s | %s | %s | %s | %s |\n", nm, better[i], cell("eevdf", keys[i]), cell("rustland", keys[i]), ratio(keys[i])
	}
	print ""
	print "## scx-rustland itself"
	print ""
	print "Counters from its last stats line before SIGINT (cumulative since start); CPU time from"
	print "/proc/<pid>/stat (utime+stime, all threads): at attach (includes loading the BPF program)"
	print "and during the loaded window; peak RSS = VmHWM."
	print ""
	print "| quantity | median [min–max] |"
	print "|---|---|"
	m = split("rl_user rl_kernel rl_page_faults rl_congested rl_cpu_ms_start rl_cpu_ms_load rl_cpu_pct rl_hwm_mib", rk, " ")
	split("dispatches by user space (`user`)|dispatches by the kernel shortcut (`kernel`)|page faults of the scheduling thread|`congested` (queue full, kernel fallback)|CPU time until attached (ms)|CPU time during the loaded window (ms)|CPU share of one vCPU during the window (%)|peak RSS (MiB)", rn, "|")
	for (r = 1; r <= nrep["rustland"]; r++) {
		u = val["rustland", r, "rl_cpu_ms_load"]; w2 = val["rustland", r, "load_s"]
		star = tagged(u) ? "*" : ""
		if (star != "") u = substr(u, 1, length(u) - 1)
		val["rustland", r, "rl_cpu_pct"] = (num(u) && num(w2) && w2 > 0) ? sprintf("%.1f", u / 10 / w2) star : "na"
		h = val["rustland", r, "rl_hwm_kb"]
		val["rustland", r, "rl_hwm_mib"] = num(h) ? sprintf("%.1f", h / 1024) : "na"
	}
	for (i = 1; i <= m; i++) printf "| %s | %s |\n", rn[i], cell("rustland", rk[i])
	print ""
	print "## Every run"
	print ""
	print "| rep | scheduler | clean | p99 µs | max µs | served | pipe µs/op | hackbench s | hog ops/s | window s | daemon CPU ms | user | kernel |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (r = 1; r <= reps; r++) {
		for (si = 1; si <= 2; si++) {
			s = si == 1 ? "eevdf" : "rustland"
			if (!((s, r, "ok") in val)) continue
			printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r, s == "eevdf" ? "EEVDF" : "scx-rustland",
				val[s, r, "ok"] == 1 ? "yes" : "**NO**", fmt(val[s, r, "cyc_p99_us"]), fmt(val[s, r, "cyc_max_us"]),
				fmt(val[s, r, "cyc_served"]), fmt(val[s, r, "pipe_us_op"]), fmt(val[s, r, "hb_s"]), fmt(val[s, r, "hog_ops_s"]),
				fmt(val[s, r, "load_s"]), s == "rustland" ? fmt(val[s, r, "rl_cpu_ms_load"]) : "",
				s == "rustland" ? fmt(val[s, r, "rl_user"]) : "", s == "rustland" ? fmt(val[s, r, "rl_kernel"]) : ""
		}
	}
	print ""
}' "$clean" >>"$out"

{
	echo "## Checks"
	echo
	echo "Guest verdict: exit status $rc ($(grep -c '^PASS:' "$clean") passed, $(grep -c '^FAIL:' "$clean") failed)."
	if grep -q '^FAIL:' "$clean"; then
		echo
		echo '```'
		grep -E '^(FAIL:|  dmesg\| )' "$clean"
		echo '```'
	fi
	if grep -qE 'Oops|Kernel panic|BUG:' "$clean"; then
		echo
		echo "The guest kernel crashed (first lines; the full trace is in the serial log):"
		echo
		echo '```'
		grep -m1 -B1 -A6 -E 'Oops|Kernel panic|BUG:' "$clean" || true
		grep -m1 'Kernel panic' "$clean" || true
		echo '```'
	fi
	echo
	echo "sched_ext lines of the guest kernel log at the end:"
	echo
	echo '```'
	# After BENCH-DONE, scx_dmesg prints the tail of the sched_ext log lines.
	sed -n '/^BENCH-DONE/,/passed, .* failed$/p' "$clean" | sed '1d;$d' | grep -v '^PASS:\|^FAIL:' | tail -n 12 || true
	echo '```'
} >>"$out"

log "report: $out (serial log $serial, $((t1 - t0)) s)"
if ((rc != 0)); then
	log "FAILED: guest status $rc"
	grep '^FAIL:' "$clean" | sed 's/^/  /' >&2 || true
fi
exit "$rc"
