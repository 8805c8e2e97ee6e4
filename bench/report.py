#!/usr/bin/env python3
"""report.py - the results table, the targets and the latency plots of a bench/run.sh run.

Usage: bench/report.py RESULTS_DIR [--check]

Reads RESULTS_DIR/data/ (written by bench/vm/suite.sh, plus `host` from
bench/run.sh) and writes RESULTS_DIR/results.md, RESULTS_DIR/runs.csv (every
phase's numbers) and RESULTS_DIR/*.png (percentile curves drawn by gnuplot).

Only clean phases count (ok=1: the tools succeeded and the scheduler stayed
in place, see suite.sh). A cell is the median over the repetitions. A ratio
compares a scheduler with EEVDF measured in the same boot: the ratio of the
medians, with a 95% confidence interval from a paired bootstrap over the
repetitions (a repetition's two values are drawn together, since they share
that repetition's share of drift). A target is met only when the interval's
bad end meets it, missed when the whole interval misses it, and not resolved
when the interval straddles it or fewer than MIN_PAIRS repetitions have both
values.

The gamemode row (the latency tools under `gamemoderun`, held by the
GameMode follower) must show the held row's win: see same_win_verdict.

--check: exit 1 unless every scheduler x phase cell has a value from a clean
run, every scheduler session its cost line with exit status 0 and, under
gamemode, the follower exited 0 too.
"""
import argparse
import csv
import itertools
import json
import math
import random
import re
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

SCHED_NAMES = {"eevdf": "EEVDF", "rustland": "scx-rustland", "held": "scx-rustland, held",
               "gamemode": "scx-rustland, GameMode", "user": "scx-rustland -u",
               "baseline": "scx-rustland, baseline build", "scx_simple": "scx_simple", "scx_qmap": "scx_qmap"}
# The scx-rustland variants (their counters come from scx-rustlandctl).
RUSTLAND = ("rustland", "held", "gamemode", "user", "baseline")
# The variants whose latency tools are held, and their idle baseline.
HOLDING = ("held", "gamemode")
LAT_PHASES = {"lat-none": "idle", "lat-hogs": "under CPU hogs", "lat-build": "under the parallel build"}
BOOTSTRAP_DRAWS = 2000
MIN_PAIRS = 5  # fewer repetitions than this: no verdict

# (phase, metric, label, better): the rows of the throughput table.
THROUGHPUT = [
    ("hogs", "ops_s", "CPU hogs alone (bogo-ops/s)", "higher"),
    ("build", "s", "parallel build alone (s)", "lower"),
    ("hb", "s", "hackbench (s)", "lower"),
    ("msg", "s", "perf bench sched messaging (s)", "lower"),
    ("pipe", "us_op", "perf bench sched pipe (µs/op)", "lower"),
]
# (metric, label, better): the rows of each latency table.
LATENCY = [
    ("fl_p50", "frame loop 60 Hz wakeup p50 (µs)", "lower"),
    ("fl_p99", "frame loop 60 Hz wakeup p99 (µs)", "lower"),
    ("fl_max", "frame loop 60 Hz wakeup max (µs)", "lower"),
    ("fl_miss", "frame loop 60 Hz missed deadlines (%)", "lower"),
    ("fl_wait_p50", "frame loop 60 Hz wait for a CPU after the wakeup, p50 (µs)", "lower"),
    ("fl_wait_p99", "frame loop 60 Hz wait for a CPU after the wakeup, p99 (µs)", "lower"),
    ("fl_ho_p50", "frame loop render thread hand-off p50 (µs)", "lower"),
    ("fl_ho_p99", "frame loop render thread hand-off p99 (µs)", "lower"),
    ("cyc_p99", "cyclictest p99 (µs)", "lower"),
    ("cyc_max", "cyclictest max (µs)", "lower"),
    ("cyc_served", "cyclictest periods served (%)", "higher"),
]
# The value --check requires in each cell.
HEADLINE = {"hogs": "ops_s", "build": "s", "hb": "s", "msg": "s", "pipe": "us_op",
            "lat-none": "fl_p99", "lat-hogs": "fl_p99", "lat-build": "fl_p99"}
# Latency curves to plot: file stem -> (tool, title).
PLOTS = {"fl60": ("fl", "frame loop 60 Hz wakeup latency"), "cyc": ("cyc", "cyclictest wakeup latency")}


def read_kv(path):
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def read_tsv(path):
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines() if line.strip()]


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def nearest_rank(sorted_vals, q):
    rank = max(1, min(len(sorted_vals), math.ceil(q * len(sorted_vals) - 1e-9)))
    return sorted_vals[rank - 1]


def cyclictest_samples(path):
    """(sorted wakeup latencies in µs, cycles, max) of the single thread of a --json file."""
    thread = next(iter(json.loads(path.read_text())["thread"].values()))
    hist = {int(k): int(v) for k, v in thread.get("histogram", {}).items()}
    values = sorted(float(b) for b, c in hist.items() for _ in range(c))
    cycles = int(thread["cycles"])
    # Wakeups past the histogram's range count as its end (a lower bound).
    values += [float(max(hist, default=0) + 1)] * max(0, cycles - len(values))
    return values, cycles, int(thread["max"])


def parse_phase(base, phase, cfg):
    """Metrics of one phase from its files, {} when they are missing or broken."""
    out = parse_tool_output(base, phase, cfg)
    # The daemon's counters over the phase (scx-rustland only; older suites
    # read them once a session).
    daemon = Path(f"{base}-daemon.out")
    found = re.search(r"starved=(\d+)", daemon.read_text()) if out and daemon.exists() else None
    if found:
        out["starved"] = int(found.group(1))
    return out


def parse_tool_output(base, phase, cfg):
    """The tools' metrics of one phase, {} when their files are missing or broken."""
    try:
        if phase in LAT_PHASES:
            j = json.loads(Path(f"{base}-fl.json").read_text())
            values, cycles, mx = cyclictest_samples(Path(f"{base}-cyc.json"))
            due = float(cfg["lat_s"]) * 1e6 / float(cfg["cyc_interval_us"])
            out = {"fl_p50": j["wakeup_us"]["p50"], "fl_p99": j["wakeup_us"]["p99"], "fl_max": j["wakeup_us"]["max"],
                   "fl_miss": 100.0 * j["miss_ratio"], "cyc_p99": nearest_rank(values, 0.99), "cyc_max": mx}
            # Under gamemode (a -hold.out) cyclictest runs until the frame
            # loop ends, not for lat_s: nothing to count its periods against.
            if not Path(f"{base}-hold.out").exists():
                out["cyc_served"] = 100.0 * cycles / due
            # The scheduler's part of the wakeup, and the render thread's
            # wakeup by the main thread (no timer in it); older frame loops
            # wrote neither.
            for key, field in (("fl_wait", "wait_us"), ("fl_ho", "handoff_us")):
                if field in j:
                    out[f"{key}_p50"], out[f"{key}_p99"] = j[field]["p50"], j[field]["p99"]
            # gamemode: how long until both tools had started, and until
            # the follower held both.
            hold = Path(f"{base}-hold.out")
            if hold.exists():
                for key, value in re.findall(r"(pids_s|hold_s)=([\d.]+)", hold.read_text()):
                    out[key] = float(value)
            return out
        text = Path(f"{base}.out").read_text()
        if phase == "hogs":
            # "stress-ng: metrc: [pid] cpu <bogo ops> <real s> <usr s> <sys s> <ops/s real> <ops/s cpu>"
            found = re.search(r"\]\s+cpu\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)", text)
            return {"ops_s": float(found.group(1))} if found else {}
        pattern = {"build": r"build_s=([\d.]+)", "pipe": r"([\d.]+)\s+usecs/op", "msg": r"Total time:\s*([\d.]+)",
                   "hb": r"Time:\s*([\d.]+)"}[phase]
        found = re.search(pattern, text)
        if not found:
            return {}
        return {"us_op" if phase == "pipe" else "s": float(found.group(1))}
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return {}


def latency_samples(base, tool):
    """Every wakeup latency of one latency phase, in µs."""
    if tool == "fl":
        raw = Path(f"{base}-fl.raw")
        return [int(line.split()[0]) / 1000.0 for line in raw.read_text().splitlines() if line.strip()]
    return cyclictest_samples(Path(f"{base}-cyc.json"))[0]


def fmt(x):
    if x is None:
        return "n/a"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x)}"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def quantile(sorted_vals, q):
    """Linear-interpolation quantile of a sorted list."""
    pos = q * (len(sorted_vals) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


class Estimate:
    """A median (or a ratio of medians) with its bootstrap 95% interval."""

    def __init__(self, value, low, high, n):
        self.value, self.low, self.high, self.n = value, low, high, n

    def cell(self, ratio):
        if self.value is None:
            return "n/a"
        if ratio:
            text = f"×**{self.value:.2f}**"
            return text + (f" [{self.low:.2f}–{self.high:.2f}]" if self.n >= 2 else "")
        return fmt(self.value) + (f" [{fmt(self.low)}–{fmt(self.high)}]" if self.n >= 2 else "")

    def verdict(self, limit, better):
        """met / missed / not resolved for "value <= limit" (better lower) or ">= limit"."""
        if self.value is None:
            return "n/a"
        if self.n < MIN_PAIRS:
            return f"not resolved (n={self.n})"
        bad, good = (self.high, self.low) if better == "lower" else (self.low, self.high)
        meets = (lambda v: v <= limit) if better == "lower" else (lambda v: v >= limit)
        if meets(bad):
            return "**met**"
        if not meets(good):
            return "**missed**"
        return "not resolved"

    def text(self, unit="", ratio=False):
        if self.value is None:
            return "n/a"
        f = (lambda x: f"{x:.2f}") if ratio else fmt
        if self.n < 2:
            return f"{f(self.value)}{unit} (n={self.n})"
        return f"{f(self.value)}{unit} [{f(self.low)}–{f(self.high)}] (n={self.n})"


def same_win_verdict(gm, held, limit):
    """met / missed / not resolved for "gamemode wins like held": gamemode's
    ratio to EEVDF (its median) is no worse than the held row's interval
    allows (within it, or below it), or gamemode's whole interval meets the
    absolute target (<= limit). Missed when gamemode's whole interval is
    worse than both."""
    if gm.value is None or held.value is None:
        return "n/a"
    n = min(gm.n, held.n)
    if n < MIN_PAIRS:
        return f"not resolved (n={n})"
    if gm.value <= held.high or gm.high <= limit:
        return "**met**"
    if gm.low > held.high and gm.low > limit:
        return "**missed**"
    return "not resolved"


def bootstrap(pairs, stat, seed):
    """Estimate of stat over the pairs, with a paired bootstrap 95% interval."""
    if not pairs:
        return Estimate(None, None, None, 0)
    value = stat(pairs)
    rng = random.Random(seed)
    draws = sorted(stat([pairs[rng.randrange(len(pairs))] for _ in pairs]) for _ in range(BOOTSTRAP_DRAWS))
    return Estimate(value, quantile(draws, 0.025), quantile(draws, 0.975), len(pairs))


def ratio_of_medians(pairs):
    return statistics.median(v for _, v in pairs) / statistics.median(b for b, _ in pairs)


def median_of(values):
    return bootstrap([(None, v) for v in values if v is not None],
                     lambda p: statistics.median(v for _, v in p), seed=len(values))


class Results:
    def __init__(self, root):
        self.root = root
        data = root / "data"
        self.cfg = read_kv(data / "config")
        self.host = read_kv(data / "host")
        self.scheds = self.cfg.get("scheds", "").split()
        self.reps = int(self.cfg.get("reps", "0") or 0)
        self.ncpu = num(self.cfg.get("ncpu")) or 1
        self.runs = {}  # (rep, sched, phase) -> {"ok", "note", "slot", "secs", "dcpu_ms", "metrics"}
        for row in read_tsv(data / "runs.tsv"):
            rep, slot, sched, phase, ok, secs, dcpu, *note = row + [""]
            metrics = parse_phase(data / "raw" / f"{rep}-{sched}-{phase}", phase, self.cfg) if ok == "1" else {}
            self.runs[(int(rep), sched, phase)] = {
                "ok": ok == "1" and bool(metrics), "note": note[0] if note else "", "slot": int(slot),
                "secs": num(secs), "dcpu_ms": num(dcpu), "metrics": metrics}
        self.phases = sorted({k[2] for k in self.runs}, key=list(HEADLINE).index)
        self.daemon = {}  # (rep, sched) -> {key: value}
        path = data / "daemon.tsv"
        for line in path.read_text().splitlines() if path.exists() else []:
            kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
            self.daemon[(int(kv["rep"]), kv["sched"])] = kv

    def values(self, sched, phase, key):
        """Per repetition: the value or None."""
        out = []
        for rep in range(1, self.reps + 1):
            run = self.runs.get((rep, sched, phase))
            out.append(num(run["metrics"].get(key)) if run and run["ok"] else None)
        return out

    def daemon_values(self, sched, key):
        return [num(self.daemon.get((rep, sched), {}).get(key)) for rep in range(1, self.reps + 1)]

    def daemon_cpu_pct(self, sched, phase):
        """Per repetition: the scheduler's CPU over a phase, % of machine time."""
        out = []
        for rep in range(1, self.reps + 1):
            run = self.runs.get((rep, sched, phase))
            ok = run and run["ok"] and run["dcpu_ms"] is not None and run["secs"]
            out.append(100.0 * run["dcpu_ms"] / (run["secs"] * 1000.0 * self.ncpu) if ok else None)
        return out

    def ratio(self, sched, phase, key, base=("eevdf", None)):
        """sched's median over the base's (EEVDF, same phase, by default), paired by repetition."""
        base_sched, base_phase = base[0], base[1] or phase
        pairs = [(b, v) for b, v in zip(self.values(base_sched, base_phase, key), self.values(sched, phase, key))
                 if b and v is not None]
        # A seed fixed by the cell (str hashes vary per process): the same data
        # gives the same interval.
        return bootstrap(pairs, ratio_of_medians, seed=zlib.crc32(f"{sched}/{phase}/{key}/{base}".encode()))


def starved_rows(res):
    """The target's `starved` ~0 over the phases it names (CPU hogs, with or
    without the latency tools, and hackbench), from the per-phase counts;
    suites that read the counters once a session give the whole session."""
    phases = [p for p in ("hogs", "lat-hogs", "hb") if p in res.phases]
    per_phase = [v for p in phases for v in res.values("rustland", p, "starved") if v is not None]
    session = [v for v in res.daemon_values("rustland", "starved") if v is not None]
    if per_phase:
        label = f"`starved` ~0 under hogs + hackbench ({', '.join(phases)}, nothing held)"
        rows = [(label, f"max {fmt(max(per_phase))} over {len(per_phase)} phases",
                 "**met**" if max(per_phase) == 0 else "**missed**")]
        if session:
            rows.append(("`starved` over whole sessions (every phase, the build's too; no target)",
                         f"max {fmt(max(session))} over {len(session)} sessions", "—"))
        return rows
    if session:
        return [("`starved` ~0 under hogs + hackbench (whole session, nothing held)",
                 f"max {fmt(max(session))} over {len(session)} sessions",
                 "**met**" if max(session) == 0 else "**missed**")]
    return []


def write_table(res, lines, rows, phase_of):
    """One table: a row per (label, metric), a column per scheduler with the
    median [95% CI] and under it the ratio to EEVDF [95% CI]."""
    scheds = [s for s in res.scheds if any((r, s, phase_of(row)) in res.runs
                                           for r in range(1, res.reps + 1) for row in rows)]
    if not scheds:
        return
    lines.append("| metric | better | " + " | ".join(SCHED_NAMES.get(s, s) for s in scheds) + " |")
    lines.append("|---|---|" + "---|" * len(scheds))
    for row in rows:
        phase, key, label, better = phase_of(row), row[-3], row[-2], row[-1]
        cells = []
        for s in scheds:
            if (1, s, phase) not in res.runs and not any((r, s, phase) in res.runs for r in range(1, res.reps + 1)):
                cells.append("–")
                continue
            cell = median_of(res.values(s, phase, key)).cell(ratio=False)
            if s != "eevdf" and "eevdf" in res.scheds:
                r = res.ratio(s, phase, key)
                if r.value is not None:
                    cell += "<br>" + r.cell(ratio=True)
            cells.append(cell)
        lines.append(f"| {label} | {better} | " + " | ".join(cells) + " |")
    lines.append("")


def write_daemon_table(res, lines):
    variants = [s for s in res.scheds if s != "eevdf" and any(k[1] == s for k in res.daemon)]
    if not variants:
        return
    for d in res.daemon.values():
        for src, dst in (("hwm_kb", "hwm_mib"), ("rss_kb", "rss_mib")):
            v = num(d.get(src))
            d[dst] = v / 1024.0 if v is not None else None
        cpu, window = num(d.get("cpu_ms")), num(d.get("window_s"))
        d["cpu_pct"] = 100.0 * cpu / (window * 1000.0 * res.ncpu) if cpu is not None and window else None
    rows = [("cpu_pct", "CPU, % of machine time over the session"),
            ("rss_mib", "RSS at the end of the session, steady (MiB)"), ("hwm_mib", "peak RSS, VmHWM (MiB)"),
            ("minflt", "minor page faults of the process over the session"),
            ("majflt", "major page faults of the process over the session"),
            ("page_faults", "page faults of the scheduling thread"), ("tasks", "tasks known to the policy at the end"),
            ("starved", "`starved` (decisions forced after 100 ms)"), ("congested", "`congested` (kernel fallback)"),
            ("user", "dispatches by user space"), ("kernel", "dispatches by the kernel shortcut"),
            ("ejections", "ejections"), ("exit", "exit status at SIGINT"),
            ("follower_exit", "GameMode follower's exit status at SIGINT")]
    lines += ["| quantity | " + " | ".join(SCHED_NAMES.get(s, s) for s in variants) + " |",
              "|---|" + "---|" * len(variants)]
    for key, label in rows:
        cells = []
        for s in variants:
            vals = [v for v in res.daemon_values(s, key) if v is not None]
            cells.append("n/a" if not vals else fmt(statistics.median(vals)) +
                         (f" [{fmt(min(vals))}–{fmt(max(vals))}]" if len(vals) > 1 else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: median [min–max] over the sessions. Counters from `scx-rustlandctl status --json` at"
              " the end of each session (scx-rustland variants only); CPU, RSS and faults from /proc.", ""]


def write_baseline_table(res, lines):
    """The A/B of two builds in one boot: scx-rustland's median over the
    baseline build's, paired by repetition, for every measured row."""
    rows = [(phase, key, label, better) for phase, key, label, better in THROUGHPUT if phase in res.phases]
    rows += [(phase, key, f"{label}, {where}", better) for phase, where in LAT_PHASES.items()
             if phase in res.phases for key, label, better in LATENCY]
    lines += ["| metric | better | scx-rustland / baseline |", "|---|---|---|"]
    for phase, key, label, better in rows:
        r = res.ratio("rustland", phase, key, base=("baseline", None))
        if r.value is not None:
            lines.append(f"| {label} | {better} | ×{r.text(ratio=True)} |")
    lines += ["", "Each cell: the ratio of the medians, paired by repetition [bootstrap 95% interval]; below 1 the"
              " build under test has the lower value.", ""]


def evaluate_targets(res):
    """[(target, measured, verdict)]: issue #10's acceptance list."""
    out = []
    has = lambda s: s in res.scheds and "eevdf" in res.scheds  # noqa: E731

    def ratio_target(label, sched, phase, key, limit, better):
        if has(sched) and phase in res.phases:
            r = res.ratio(sched, phase, key)
            out.append((label, "×" + r.text(ratio=True), r.verdict(limit, better)))

    ratio_target("CPU hogs alone, nothing held: throughput ≥ 0.95× EEVDF", "rustland", "hogs", "ops_s", 0.95, "higher")
    ratio_target("real parallel build (make -j), nothing held: wall time ≤ 1.05× EEVDF", "rustland", "build", "s",
                 1.05, "lower")
    ratio_target("hackbench, nothing held: time ≤ 1.05× EEVDF", "rustland", "hb", "s", 1.05, "lower")
    ratio_target("perf bench sched messaging: time ≤ 1.2× EEVDF", "rustland", "msg", "s", 1.2, "lower")
    ratio_target("perf bench sched pipe: µs/op ≤ 1.5× EEVDF", "rustland", "pipe", "us_op", 1.5, "lower")
    for phase in ("lat-hogs", "lat-build"):
        where = LAT_PHASES[phase]
        ratio_target(f"frame loop 60 Hz p99, nothing held, {where}: ≤ 0.5× EEVDF", "rustland", phase, "fl_p99", 0.5,
                     "lower")
        ratio_target(f"frame loop 60 Hz p50, nothing held, {where}: ≤ 1.0× EEVDF", "rustland", phase, "fl_p50", 1.0,
                     "lower")
        ratio_target(f"cyclictest p99, nothing held, {where}: ≤ 1.0× EEVDF", "rustland", phase, "cyc_p99", 1.0,
                     "lower")
        ratio_target(f"cyclictest periods served, nothing held, {where}: ≥ EEVDF's", "rustland", phase, "cyc_served",
                     1.0, "higher")
    # The render thread's wakeup: a futex wakeup by the main thread, with no
    # timer in it (under emulation the timer interrupt's own delay makes
    # most of the main thread's wakeup tail, whatever the scheduler).
    for sched in ("rustland",) + HOLDING:
        for phase in ("lat-hogs", "lat-build"):
            if not any(v is not None for v in res.values(sched, phase, "fl_ho_p99")):
                continue  # a frame loop older than the measure
            who = "nothing held" if sched == "rustland" else sched
            ratio_target(f"frame loop render thread hand-off p99, {who}, {LAT_PHASES[phase]}: ≤ 0.5× EEVDF", sched,
                         phase, "fl_ho_p99", 0.5, "lower")
    for sched in HOLDING:
        for phase in ("lat-hogs", "lat-build"):
            ratio_target(f"{sched}: frame loop 60 Hz p99 {LAT_PHASES[phase]} ≤ 0.5× EEVDF", sched, phase, "fl_p99",
                         0.5, "lower")
        if sched in res.scheds and "lat-none" in res.phases:
            for phase in ("lat-hogs", "lat-build"):
                if phase in res.phases:
                    r = res.ratio(sched, phase, "fl_p99", base=(sched, "lat-none"))
                    out.append((f"{sched}: frame loop 60 Hz p99 {LAT_PHASES[phase]} ≤ 1.5× its own idle p99",
                                "×" + r.text(ratio=True), r.verdict(1.5, "lower")))
    # Issue #13: a game started through gamemoderun wins like an explicit hold.
    if has("gamemode") and "held" in res.scheds:
        for phase, (key, what) in itertools.product(
                ("lat-hogs", "lat-build"),
                (("fl_p99", "frame loop 60 Hz p99"), ("fl_ho_p99", "frame loop render thread hand-off p99"))):
            if phase not in res.phases or not any(v is not None for v in res.values("gamemode", phase, key)):
                continue
            gm, held = res.ratio("gamemode", phase, key), res.ratio("held", phase, key)
            direct = res.ratio("gamemode", phase, key, base=("held", None))
            out.append((f"gamemode: {what} {LAT_PHASES[phase]}, the held row's win (ratio to EEVDF"
                        " within or below held's interval, or ≤ 0.5×)",
                        f"×{gm.text(ratio=True)}; held ×{held.text(ratio=True)}; gamemode/held"
                        f" ×{direct.text(ratio=True)}", same_win_verdict(gm, held, 0.5)))
    if "gamemode" in res.scheds:
        for key, what in (("pids_s", "both tools started (exec'd, about to register)"), ("hold_s", "both tools held")):
            waits = [v for p in LAT_PHASES for v in res.values("gamemode", p, key)]
            e = median_of(waits)
            if e.value is not None:
                out.append((f"gamemode: from gamemoderun's start to {what} (all latency phases)",
                            e.text(" s") + f", max {fmt(max(v for v in waits if v is not None))} s", "(information)"))
    if "rustland" in res.scheds:
        for phase in ("hogs", "lat-hogs"):
            if phase in res.phases:
                e = median_of(res.daemon_cpu_pct("rustland", phase))
                what = "CPU hogs alone" if phase == "hogs" else "the latency phase under hogs"
                out.append((f"daemon CPU ≤ 2% of machine time ({what})", e.text("%"), e.verdict(2.0, "lower")))
        tasks = max((v for v in res.daemon_values("rustland", "tasks") if v is not None), default=None)
        few = tasks is None or tasks < 10000
        for key, limit, label in (("rss_kb", 20, "steady (end of session)"), ("hwm_kb", 24, "peak (VmHWM)")):
            e = median_of([v / 1024.0 if v is not None else None for v in res.daemon_values("rustland", key)])
            verdict = e.verdict(limit, "lower")
            if few and verdict != "n/a":
                verdict = f"not resolved: {fmt(tasks)} tasks known, not 10k (as measured: {verdict})"
            out.append((f"daemon RSS {label} ≤ {limit} MiB with 10k tasks known", e.text(" MiB"), verdict))
        out += starved_rows(res)
    rl = [s for s in res.scheds if s in RUSTLAND]
    faults = [v for s in rl for v in res.daemon_values(s, "page_faults") if v is not None]
    if faults:
        out.append(("0 page faults in the scheduling thread", f"max {fmt(max(faults))} over {len(faults)} sessions",
                    "**met**" if max(faults) == 0 else "**missed**"))
    sessions = [(k, d) for k, d in res.daemon.items() if k[1] in rl]
    if sessions:
        ej = sum(num(d.get("ejections")) or 0 for _, d in sessions)
        lost = sum(1 for k, r in res.runs.items() if k[1] in rl and "state-after" in r["note"])
        out.append(("0 ejections in every run", f"{fmt(ej)} ejections logged, {lost} phases lost the scheduler,"
                    f" over {len(sessions)} sessions", "**met**" if ej == 0 and lost == 0 else "**missed**"))
    return out


def curve(samples):
    """(nines, µs) points: nines = -log10(1 - q), from the median to the maximum."""
    s = sorted(samples)
    n = len(s)
    if n == 0:
        return []
    top = math.log10(n)
    steps = 60
    pts = []
    for i in range(steps + 1):
        nines = math.log10(2) + (top - math.log10(2)) * i / steps
        # The last point is the maximum (q = 1), drawn at 1 - 1/n.
        q = 1.0 if i == steps else 1 - 10 ** -nines
        pts.append((nines, nearest_rank(s, q)))
    return pts


def plot(res):
    """One PNG per latency tool, one panel per latency phase, one curve per scheduler."""
    phases = [p for p in LAT_PHASES if p in res.phases]
    if not phases:
        return []
    with tempfile.TemporaryDirectory(prefix="scx-bench-plot.") as tmp:
        return [png for stem, (tool, title) in PLOTS.items()
                for png in plot_one(res, phases, stem, tool, title, Path(tmp))]


def plot_one(res, phases, stem, tool, title, plotdir):
    """The PNG of one tool: [(stem, file name)], or [] if gnuplot failed."""
    data = res.root / "data"
    script = [f"set terminal pngcairo size {520 * len(phases)},460 font ',10'",
              f"set output '{res.root / ('latency-' + stem + '.png')}'",
              f"set multiplot layout 1,{len(phases)} title '{title}, all clean phases pooled (log scales)'",
              "set logscale y", "set grid", "set key inside top left",
              "set lmargin 11", "set rmargin 3", "set format y '%g'",
              "set xlabel 'percentile'", "set ylabel 'wakeup latency (µs)'",
              "set xtics ('50' log10(2), '90' 1, '99' 2, '99.9' 3, '99.99' 4)"]
    curves = {}
    for phase in phases:
        for s in res.scheds:
            samples = []
            for rep in range(1, res.reps + 1):
                run = res.runs.get((rep, s, phase))
                if run and run["ok"]:
                    try:
                        samples += latency_samples(data / "raw" / f"{rep}-{s}-{phase}", tool)
                    except (OSError, ValueError, KeyError, StopIteration):
                        pass
            pts = curve([max(v, 1.0) for v in samples])
            if pts:
                curves[(phase, s)] = pts
    # The same axes in every panel, so the phases compare at a glance.
    deepest = max((p[-1][0] for p in curves.values()), default=1.0)
    script.append(f"set xrange [{math.log10(2):.3f}:{max(deepest, 1.0) + 0.05:.3f}]")
    for phase in phases:
        plots = []
        for s in res.scheds:
            if (phase, s) not in curves:
                continue
            f = plotdir / f"{stem}-{phase}-{s}.dat"
            f.write_text("".join(f"{x:.4f} {y:.1f}\n" for x, y in curves[(phase, s)]))
            plots.append(f"'{f}' using 1:2 with linespoints pt 7 ps 0.4 title '{SCHED_NAMES.get(s, s)}'")
        script.append(f"set title '{LAT_PHASES[phase]}'")
        script.append("plot " + ", ".join(plots) if plots else "plot NaN title 'no data'")
    script.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True, capture_output=True)
        return [(stem, f"latency-{stem}.png")]
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"report: gnuplot failed for {stem}: {err.strip()}", file=sys.stderr)
        return []


def write_csv(res):
    keys = sorted({k for r in res.runs.values() for k in r["metrics"]})
    with open(res.root / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "slot", "sched", "phase", "ok", "seconds", "sched_cpu_ms", "note"] + keys)
        for (rep, s, phase), r in sorted(res.runs.items(), key=lambda kv: (kv[0][0], kv[1]["slot"])):
            w.writerow([rep, r["slot"], s, phase, int(r["ok"]), fmt(r["secs"]),
                        "" if r["dcpu_ms"] is None else int(r["dcpu_ms"]), r["note"]] +
                       [r["metrics"].get(k, "") for k in keys])


def check(res):
    """Problems that make the table incomplete."""
    if not res.runs:
        return ["no runs at all (data/runs.tsv missing or empty)"]
    missing = []
    for (rep, s, phase), r in sorted(res.runs.items()):
        if not r["ok"] or num(r["metrics"].get(HEADLINE[phase])) is None:
            missing.append(f"rep {rep} {s} {phase}: no clean value ({r['note'] or 'no parsable output'})")
    for s in res.scheds:
        if s == "eevdf":
            continue
        for rep in range(1, res.reps + 1):
            d = res.daemon.get((rep, s))
            if d is None:
                missing.append(f"{s} rep {rep}: no session cost line")
            elif d.get("exit") != "0":
                missing.append(f"{s} rep {rep}: exit status {d.get('exit')}")
            elif s == "gamemode" and d.get("follower_exit") != "0":
                missing.append(f"{s} rep {rep}: the GameMode follower's exit status {d.get('follower_exit')}")
    return missing


def header(res):
    h, c = res.host, res.cfg
    total = len(res.runs)
    clean = sum(r["ok"] for r in res.runs.values())
    return ["# Benchmark results: scx-rustland vs EEVDF and the kernel's example schedulers", "",
            f"- Command: `{h.get('command', '?')}` at commit {h.get('commit', '?')}, {h.get('date', '?')}",
            f"- Machine: {h.get('host_cpu', '?')}", f"- Kernel under test: {h.get('kernel', '?')}",
            f"- Wall time {h.get('wall_s', '?')} s; the suite itself {c.get('suite_s', '?')} s. Other processes on the"
            f" host used {h.get('host_other_cores', '?')} cores on average meanwhile (the VM used"
            f" {h.get('suite_cores', '?')}).",
            f"- {res.reps} repetitions, each in a rotated order of schedulers and of phases (a cyclic Latin"
            f" square); {clean} of {total} phases clean (suite status {h.get('status', '?')}).",
            f"- Throughput phases, nothing else running: stress-ng --cpu {c.get('ncpu')} --cpu-method"
            f" {c.get('hog_method')} for {c.get('hog_s')} s; a real build: `make -j{c.get('build_jobs')} {c.get('build_goal')}`"
            f" of bench/vm/build.mk, compiling Lua 5.4's C sources with gcc 12 (CFLAGS {c.get('build_cflags')});"
            f" hackbench -g 2 -l {c.get('hb_loops')}; perf bench sched messaging -g 1 -l"
            f" {c.get('msg_loops')}; perf bench sched pipe -l {c.get('pipe_loops')}.",
            f"- Latency phases, {c.get('lat_s')} s each: the frame loop at 60 Hz (main thread {c.get('fl_work_pct')}%"
            f" of a period, render thread {c.get('fl_render_pct')}%, loop counts calibrated idle:"
            f" {fmt(num(c.get('loops_per_ms')))} loops/ms) and cyclictest --policy=other -i {c.get('cyc_interval_us')}"
            " at the same time, under the same CPU hogs, under the build run again and again, or idle (held and"
            " GameMode only).",
            *(["- GameMode: the latency tools run under `gamemoderun` (the real gamemoded on a session bus of the"
                " suite's own, a gamemode.ini that changes nothing else), held by `scx-rustlandctl follow-gamemode`;"
                " the frame loop's first frame waits until both tools are held."] if "gamemode" in res.scheds else []),
            *([f"- The baseline: scx-rustland of commit {h.get('baseline_commit') or '?'} (`--baseline`), run"
               " like scx-rustland, nothing held."] if "baseline" in res.scheds else []),
            "- The scx-rustland daemon runs without `-v` and `--stats`; its counters are read once at the end.", "",
            "Cells: the median over the repetitions [bootstrap 95% confidence interval of the median]; under it,"
            " ×the ratio of the scheduler's median to EEVDF's from the same boot [paired bootstrap 95% interval]."
            f" A target is met only when the interval's bad end meets it, missed when the whole interval misses"
            f" it, not resolved when the interval straddles it or fewer than {MIN_PAIRS} repetitions pair up.", ""]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    res = Results(args.results_dir)
    if not res.cfg:
        print(f"report: {args.results_dir / 'data' / 'config'} missing: the suite produced nothing", file=sys.stderr)
        return 1
    lines = header(res)
    lines += ["## Targets (issue #10)", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in evaluate_targets(res)]
    lines += ["", "## Throughput, nothing else running", ""]
    write_table(res, lines, [r for r in THROUGHPUT if r[0] in res.phases], phase_of=lambda row: row[0])
    for phase, where in LAT_PHASES.items():
        if phase in res.phases:
            lines += [f"## Latency {where}", ""]
            write_table(res, lines, LATENCY, phase_of=lambda row, p=phase: p)
    if "baseline" in res.scheds and "rustland" in res.scheds:
        lines += ["## scx-rustland against the baseline build", ""]
        write_baseline_table(res, lines)
    lines += ["## The schedulers' own cost", ""]
    write_daemon_table(res, lines)
    pngs = plot(res)
    if pngs:
        lines += ["## Latency distributions", ""]
        lines += [f"![{PLOTS[stem][1]}]({name})" for stem, name in pngs]
        lines.append("")
    bad = [(k, r) for k, r in sorted(res.runs.items()) if not r["ok"]]
    lines += ["## Checks", "",
              "Every phase: the tools succeeded, and sched_ext was in the wanted state (`enabled` under a sched_ext"
              " scheduler, `disabled` for EEVDF) before and after it, the scheduler alive, no sched_ext error in the"
              " kernel log; under `held` both latency tools held (`--strict`), under `gamemode` both held by the"
              " follower within 30 s of their start and the follower and gamemoded alive.", ""]
    if bad:
        lines += [f"{len(bad)} phases failed a check (left out of the tables):", ""]
        lines += [f"- rep {k[0]} {k[1]} {k[2]}: {r['note'] or 'no parsable output'}" for k, r in bad]
    else:
        lines.append(f"All {len(res.runs)} phases passed.")
    lines += ["", "Every phase's numbers: [runs.csv](runs.csv).", ""]
    (res.root / "results.md").write_text("\n".join(lines))
    write_csv(res)
    if args.check:
        problems = check(res)
        if problems:
            print("report: incomplete table:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print(f"report: complete: {len(res.scheds)} schedulers, {len(res.phases)} phases, {res.reps} reps",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
