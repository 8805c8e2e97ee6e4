#!/usr/bin/env python3
"""report.py - the results table and latency plots of a bench/run.sh run.

Usage: bench/report.py RESULTS_DIR [--check]

Reads RESULTS_DIR/data/ (written by bench/vm/suite.sh, plus `host` from
bench/run.sh) and writes RESULTS_DIR/results.md, RESULTS_DIR/runs.csv (every
run's numbers) and RESULTS_DIR/*.png (percentile curves drawn by gnuplot).

Medians and ranges use clean runs only (ok=1: the tool succeeded and the
scheduler stayed in place, see suite.sh). A ratio is a scheduler's median over
EEVDF's median from the same run; the range in brackets is the per-repetition
ratios.

--check: exit 1 unless every scheduler x load x workload cell has a value
from a clean run, every background load its throughput, and every
scx-rustland session its cost line with exit status 0.
"""
import argparse
import csv
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SCHED_NAMES = {"eevdf": "EEVDF", "rustland": "scx-rustland", "held": "scx-rustland, held",
               "user": "scx-rustland -u"}
LOAD_NAMES = {"none": "no background load", "hogs": "CPU hogs (stress-ng --cpu NCPU)",
              "build": "parallel build (make -j 2xNCPU of short processes)"}
WL_NAMES = {"fl60": "frameloop 60 Hz", "fl144": "frameloop 144 Hz", "cyc": "cyclictest --policy=other",
            "pipe": "perf bench sched pipe", "msg": "perf bench sched messaging", "hb": "hackbench"}

# (workload, metric key, label, better): the table's rows, in order.
METRICS = [
    ("fl60", "wake_p50", "frameloop 60 Hz wakeup p50 (µs)", "lower"),
    ("fl60", "wake_p99", "frameloop 60 Hz wakeup p99 (µs)", "lower"),
    ("fl60", "wake_max", "frameloop 60 Hz wakeup max (µs)", "lower"),
    ("fl60", "frame_p99", "frameloop 60 Hz frame time p99 (µs)", "lower"),
    ("fl60", "handoff_p99", "frameloop 60 Hz render hand-off p99 (µs)", "lower"),
    ("fl60", "miss_pct", "frameloop 60 Hz missed deadlines (%)", "lower"),
    ("fl144", "wake_p99", "frameloop 144 Hz wakeup p99 (µs)", "lower"),
    ("fl144", "frame_p99", "frameloop 144 Hz frame time p99 (µs)", "lower"),
    ("fl144", "miss_pct", "frameloop 144 Hz missed deadlines (%)", "lower"),
    ("cyc", "p99", "cyclictest p99 (µs)", "lower"),
    ("cyc", "max", "cyclictest max (µs)", "lower"),
    ("cyc", "served_pct", "cyclictest periods served (%)", "higher"),
    ("pipe", "us_op", "perf bench sched pipe (µs/op)", "lower"),
    ("msg", "s", "perf bench sched messaging (s)", "lower"),
    ("hb", "s", "hackbench (s)", "lower"),
]
# The workload's headline value: what --check requires in each cell.
HEADLINE = {"fl60": "wake_p99", "fl144": "wake_p99", "cyc": "p99", "pipe": "us_op", "msg": "s", "hb": "s"}
# Latency curves to plot: workload -> what is plotted.
PLOTS = {"fl60": "frameloop 60 Hz wakeup latency", "fl144": "frameloop 144 Hz wakeup latency",
         "cyc": "cyclictest wakeup latency"}


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


def cyclictest_histogram(doc):
    """(bucket µs -> count, cycles, max) of the single thread of a --json file."""
    thread = next(iter(doc["thread"].values()))
    hist = {int(k): int(v) for k, v in thread.get("histogram", {}).items()}
    return hist, int(thread["cycles"]), int(thread["max"])


def parse_run(path_base, wl, cfg):
    """Metrics of one run from its files, {} when they are missing or broken."""
    out = path_base.with_suffix(".out")
    try:
        if wl in ("fl60", "fl144"):
            j = json.loads(path_base.with_suffix(".json").read_text())
            m = {"wake_p50": j["wakeup_us"]["p50"], "wake_p99": j["wakeup_us"]["p99"],
                 "wake_p999": j["wakeup_us"]["p99.9"], "wake_max": j["wakeup_us"]["max"],
                 "frame_p99": j["frame_us"]["p99"], "miss_pct": 100.0 * j["miss_ratio"]}
            if "handoff_us" in j:
                m["handoff_p99"] = j["handoff_us"]["p99"]
            return m
        if wl == "cyc":
            hist, cycles, mx = cyclictest_histogram(json.loads(path_base.with_suffix(".json").read_text()))
            values = sorted(b for b, c in hist.items() for _ in range(c))
            # Wakeups past the histogram's range count as its end (a lower bound).
            values += [max(hist, default=0) + 1] * max(0, cycles - len(values))
            due = float(cfg["cyc_s"]) * 1e6 / float(cfg["cyc_interval_us"])
            return {"p50": nearest_rank(values, 0.5), "p99": nearest_rank(values, 0.99), "max": mx,
                    "served_pct": 100.0 * cycles / due}
        text = out.read_text()
        pattern = {"pipe": r"([\d.]+)\s+usecs/op", "msg": r"Total time:\s*([\d.]+)", "hb": r"Time:\s*([\d.]+)"}[wl]
        found = re.search(pattern, text)
        if not found:
            return {}
        return {"us_op" if wl == "pipe" else "s": float(found.group(1))}
    except (OSError, ValueError, KeyError, StopIteration):
        return {}


def latency_samples(path_base, wl):
    """Every wakeup latency of one run, in µs."""
    if wl in ("fl60", "fl144"):
        raw = path_base.with_suffix(".raw")
        return [int(line.split()[0]) / 1000.0 for line in raw.read_text().splitlines() if line.strip()]
    hist, cycles, _ = cyclictest_histogram(json.loads(path_base.with_suffix(".json").read_text()))
    values = [float(b) for b, c in hist.items() for _ in range(c)]
    return values + [float(max(hist, default=0) + 1)] * max(0, cycles - len(values))


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


class Results:
    def __init__(self, root):
        self.root = root
        data = root / "data"
        self.cfg = read_kv(data / "config")
        self.host = read_kv(data / "host")
        self.scheds = self.cfg.get("scheds", "").split()
        self.loads = self.cfg.get("loads", "").split()
        self.workloads = self.cfg.get("workloads", "").split()
        self.reps = int(self.cfg.get("reps", "0") or 0)
        self.runs = {}  # (rep, sched, load, wl) -> {"ok": bool, "note": str, "metrics": {...}}
        for row in read_tsv(data / "runs.tsv"):
            rep, sched, load, wl, ok, _secs, *note = row + [""]
            key = (int(rep), sched, load, wl)
            metrics = parse_run(data / "raw" / f"{rep}-{sched}-{load}-{wl}", wl, self.cfg) if ok == "1" else {}
            self.runs[key] = {"ok": ok == "1" and bool(metrics), "note": (note[0] if note else ""),
                              "metrics": metrics}
        self.load_ops = {}  # (rep, sched, load) -> ops/s
        for rep, sched, load, _secs, ops in read_tsv(data / "loads.tsv"):
            self.load_ops[(int(rep), sched, load)] = num(ops)
        self.daemon = {}  # (rep, sched) -> {key: value}
        for line in (data / "daemon.tsv").read_text().splitlines() if (data / "daemon.tsv").exists() else []:
            kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
            self.daemon[(int(kv["rep"]), kv["sched"])] = kv
            ncpu = num(kv.get("ncpu"))
            cpu, window = num(kv.get("cpu_ms")), num(kv.get("window_s"))
            kv["cpu_pct_machine"] = (100.0 * cpu / (window * 1000.0 * ncpu)
                                     if cpu is not None and window and ncpu else None)

    def values(self, sched, load, wl, key):
        """Per repetition: the value or None."""
        out = []
        for rep in range(1, self.reps + 1):
            run = self.runs.get((rep, sched, load, wl))
            out.append(num(run["metrics"].get(key)) if run and run["ok"] else None)
        return out

    def load_values(self, sched, load):
        return [self.load_ops.get((rep, sched, load)) for rep in range(1, self.reps + 1)]

    def daemon_values(self, sched, key):
        out = []
        for rep in range(1, self.reps + 1):
            d = self.daemon.get((rep, sched))
            v = d.get(key) if d else None
            out.append(v if isinstance(v, float) else num(v))
        return out


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def spread_cell(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    cell = fmt(statistics.median(vals))
    if len(vals) > 1:
        cell += f" [{fmt(min(vals))}–{fmt(max(vals))}]"
    return cell


def ratio(base_vals, vals):
    """(ratio of medians, per-rep ratios)."""
    mb, mv = median(base_vals), median(vals)
    r = mv / mb if mb and mv is not None else None
    per = [v / b for b, v in zip(base_vals, vals) if b and v is not None]
    return r, per


def ratio_cell(base_vals, vals):
    r, per = ratio(base_vals, vals)
    if r is None:
        return ""
    cell = f"×**{r:.2f}**"
    if len(per) > 1:
        cell += f" [{min(per):.2f}–{max(per):.2f}]"
    return cell


def row_cells(res, values_of):
    """One table row: each scheduler's spread, and its ratio to EEVDF from the same run."""
    base = values_of("eevdf") if "eevdf" in res.scheds else None
    cells = []
    for sched in res.scheds:
        vals = values_of(sched)
        cell = spread_cell(vals)
        if base is not None and sched != "eevdf":
            rc = ratio_cell(base, vals)
            if rc:
                cell += "<br>" + rc
        cells.append(cell)
    return cells


def write_table(res, lines):
    for load in res.loads:
        lines += [f"### {LOAD_NAMES.get(load, load)}", ""]
        lines.append("| metric | better | " + " | ".join(SCHED_NAMES.get(s, s) for s in res.scheds) + " |")
        lines.append("|---|---|" + "---|" * len(res.scheds))
        for wl, key, label, better in METRICS:
            if wl not in res.workloads:
                continue
            cells = row_cells(res, lambda sched: res.values(sched, load, wl, key))
            lines.append(f"| {label} | {better} | " + " | ".join(cells) + " |")
        if load != "none":
            unit = "bogo-ops/s" if load == "hogs" else "targets/s"
            cells = row_cells(res, lambda sched: res.load_values(sched, load))
            lines.append(f"| background throughput ({unit}) | higher | " + " | ".join(cells) + " |")
        lines.append("")


def write_daemon_table(res, lines):
    variants = [s for s in res.scheds if s != "eevdf"]
    if not variants:
        return
    rows = [("cpu_pct_machine", "CPU time, % of machine time (all CPUs) over the session"),
            ("cpu_ms", "CPU time over the session (ms)"), ("window_s", "session length (s)"),
            ("hwm_mib", "peak RSS, VmHWM (MiB)"), ("rss_mib", "RSS at the end (MiB)"),
            ("minflt", "minor page faults of the process over the session"),
            ("majflt", "major page faults of the process over the session"),
            ("page_faults", "page faults of the scheduling thread (stats line)"),
            ("tasks_max", "most pids known to the policy"), ("user", "dispatches by user space"),
            ("kernel", "dispatches by the kernel shortcut"), ("congested", "`congested` (kernel fallback)"),
            ("exit", "exit status at SIGINT")]
    for d in res.daemon.values():
        for src, dst in (("hwm_kb", "hwm_mib"), ("rss_kb", "rss_mib")):
            v = num(d.get(src))
            d[dst] = v / 1024.0 if v is not None else None
    lines += ["| quantity | " + " | ".join(SCHED_NAMES[s] for s in variants) + " |",
              "|---|" + "---|" * len(variants)]
    for key, label in rows:
        lines.append(f"| {label} | " + " | ".join(spread_cell(res.daemon_values(s, key)) for s in variants) + " |")
    lines.append("")


def evaluate_targets(res):
    """[(target, measured text, verdict)] for the issue's targets."""
    out = []

    def verdict(ok):
        return "n/a" if ok is None else ("**met**" if ok else "**missed**")

    def r_of(sched, load, wl, key):
        if sched not in res.scheds or "eevdf" not in res.scheds:
            return None, []
        return ratio(res.values("eevdf", load, wl, key), res.values(sched, load, wl, key))

    for wl, name in (("fl60", "frameloop 60 Hz"), ("cyc", "cyclictest")):
        key = HEADLINE[wl]
        for sched in ("rustland", "held"):
            r, per = r_of(sched, "hogs", wl, key)
            if r is None:
                continue
            out.append((f"{name} p99 wakeup under CPU hogs ≤ 0.5× EEVDF ({SCHED_NAMES[sched]})",
                        f"×{r:.2f} (per rep {', '.join(f'{p:.2f}' for p in per)})", verdict(r <= 0.5)))
    if "held" in res.scheds:
        for wl in ("fl60", "fl144"):
            idle, hog = median(res.values("held", "none", wl, "wake_p99")), median(res.values("held", "hogs", wl, "wake_p99"))
            if idle and hog is not None:
                out.append((f"held {WL_NAMES[wl]} p99 under hogs ≤ 1.5× its idle p99",
                            f"{fmt(hog)} vs {fmt(idle)} µs: ×{hog / idle:.2f}", verdict(hog / idle <= 1.5)))
    r, per = r_of("rustland", "hogs", "pipe", "us_op")
    if r is not None:
        out.append(("perf bench sched pipe under hogs ≤ 1.5× EEVDF", f"×{r:.2f}", verdict(r <= 1.5)))
    r, per = r_of("rustland", "hogs", "hb", "s")
    if r is not None:
        out.append(("hackbench throughput under hogs ≥ 0.95× EEVDF (time ≤ 1.053×)",
                    f"time ×{r:.2f} = throughput ×{1 / r:.2f}", verdict(1 / r >= 0.95)))
    for load, unit in (("hogs", "hog bogo-ops/s"), ("build", "build targets/s")):
        if "eevdf" in res.scheds and "rustland" in res.scheds and load in res.loads:
            r, per = ratio(res.load_values("eevdf", load), res.load_values("rustland", load))
            if r is not None:
                out.append((f"background throughput ({unit}) ≥ 0.95× EEVDF", f"×{r:.2f}", verdict(r >= 0.95)))
    if "rustland" in res.scheds:
        cpu = median(res.daemon_values("rustland", "cpu_pct_machine"))
        if cpu is not None:
            out.append(("daemon CPU ≤ 3% of machine time", f"{cpu:.1f}%", verdict(cpu <= 3.0)))
        hwm = [num(res.daemon.get((r_, "rustland"), {}).get("hwm_kb")) for r_ in range(1, res.reps + 1)]
        hwm = median(hwm)
        tasks = median(res.daemon_values("rustland", "tasks_max"))
        if hwm is not None:
            out.append(("daemon RSS ≤ 24 MiB (with 10k tasks known)",
                        f"{hwm / 1024:.1f} MiB peak, with at most {fmt(tasks)} pids known", verdict(hwm / 1024 <= 24)))
        pf = [v for s in res.scheds if s != "eevdf" for v in res.daemon_values(s, "page_faults") if v is not None]
        if pf:
            out.append(("0 page faults in the scheduling thread", f"max {fmt(max(pf))} over {len(pf)} sessions",
                        verdict(max(pf) == 0)))
    return out


def curve(samples):
    """(nines, µs) points: nines = -log10(1 - q), from the median to the maximum."""
    s = sorted(samples)
    n = len(s)
    pts = []
    if n == 0:
        return pts
    top = math.log10(n)
    steps = 60
    for i in range(steps + 1):
        nines = math.log10(2) + (top - math.log10(2)) * i / steps
        # The last point is the maximum (q = 1), drawn at 1 - 1/n.
        q = 1.0 if i == steps else 1 - 10 ** -nines
        pts.append((nines, nearest_rank(s, q)))
    return pts


def plot(res):
    """One PNG per latency workload, one panel per load, one curve per scheduler."""
    with tempfile.TemporaryDirectory(prefix="scx-bench-plot.") as tmp:
        return [png for wl, title in PLOTS.items() if wl in res.workloads
                for png in plot_one(res, wl, title, Path(tmp))]


def plot_one(res, wl, title, plotdir):
    """The PNG of one workload: [(wl, file name)], or [] if gnuplot failed."""
    data = res.root / "data"
    script = [f"set terminal pngcairo size {520 * len(res.loads)},460 font ',10'",
              f"set output '{res.root / ('latency-' + wl + '.png')}'",
              f"set multiplot layout 1,{len(res.loads)} title '{title}, all clean runs pooled (log scales)'",
              "set logscale y", "set grid", "set key inside top left",
              "set lmargin 11", "set rmargin 3", "set format y '%g'",
              "set xlabel 'percentile'", "set ylabel 'wakeup latency (µs)'",
              "set xtics ('50' log10(2), '90' 1, '99' 2, '99.9' 3, '99.99' 4)"]
    curves = {}
    for load in res.loads:
        for s in res.scheds:
            samples = []
            for rep in range(1, res.reps + 1):
                run = res.runs.get((rep, s, load, wl))
                if run and run["ok"]:
                    try:
                        samples += latency_samples(data / "raw" / f"{rep}-{s}-{load}-{wl}", wl)
                    except (OSError, ValueError, KeyError, StopIteration):
                        pass
            pts = curve([max(v, 1.0) for v in samples])
            if pts:
                curves[(load, s)] = pts
    # The same axes in every panel, so the loads compare at a glance.
    deepest = max((p[-1][0] for p in curves.values()), default=1.0)
    script.append(f"set xrange [{math.log10(2):.3f}:{max(deepest, 1.0) + 0.05:.3f}]")
    for load in res.loads:
        plots = []
        for s in res.scheds:
            if (load, s) not in curves:
                continue
            f = plotdir / f"{wl}-{load}-{s}.dat"
            f.write_text("".join(f"{x:.4f} {y:.1f}\n" for x, y in curves[(load, s)]))
            plots.append(f"'{f}' using 1:2 with linespoints pt 7 ps 0.4 title '{SCHED_NAMES[s]}'")
        script.append(f"set title '{LOAD_NAMES[load]}'")
        script.append("plot " + ", ".join(plots) if plots else "plot NaN title 'no data'")
    script.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True,
                       capture_output=True)
        return [(wl, f"latency-{wl}.png")]
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"report: gnuplot failed for {wl}: {err.strip()}", file=sys.stderr)
        return []


def write_csv(res):
    keys = sorted({k for r in res.runs.values() for k in r["metrics"]})
    with open(res.root / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "sched", "load", "workload", "ok", "note"] + keys)
        for (rep, s, load, wl), r in sorted(res.runs.items()):
            w.writerow([rep, s, load, wl, int(r["ok"]), r["note"]] + [r["metrics"].get(k, "") for k in keys])


def check(res):
    """Problems that make the table incomplete."""
    missing = []
    if not res.runs:
        return ["no runs at all (data/runs.tsv missing or empty)"]
    for s in res.scheds:
        for load in res.loads:
            for wl in res.workloads:
                if median(res.values(s, load, wl, HEADLINE[wl])) is None:
                    notes = {res.runs[k]["note"] for k in res.runs if k[1:] == (s, load, wl)}
                    missing.append(f"{s}/{load}/{wl}: no clean run ({', '.join(sorted(n for n in notes if n)) or 'no output'})")
            if load != "none" and median(res.load_values(s, load)) is None:
                missing.append(f"{s}/{load}: no background throughput")
        if s != "eevdf":
            for rep in range(1, res.reps + 1):
                d = res.daemon.get((rep, s))
                if d is None:
                    missing.append(f"{s} rep {rep}: no daemon cost line")
                elif d.get("exit") != "0":
                    missing.append(f"{s} rep {rep}: daemon exit status {d.get('exit')}")
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    res = Results(args.results_dir)
    if not res.cfg:
        print(f"report: {args.results_dir / 'data' / 'config'} missing: the suite produced nothing", file=sys.stderr)
        return 1
    h, c = res.host, res.cfg
    total = len(res.runs)
    clean = sum(r["ok"] for r in res.runs.values())
    lines = ["# Benchmark results: scx-rustland vs EEVDF", "",
             f"- Command: `{h.get('command', '?')}` at commit {h.get('commit', '?')}, {h.get('date', '?')}",
             f"- Machine: {h.get('host_cpu', '?')}", f"- Kernel under test: {h.get('kernel', '?')}",
             f"- Wall time {h.get('wall_s', '?')} s; the suite itself {c.get('suite_s', '?')} s. Other processes on the"
             f" host used {h.get('host_other_cores', '?')} cores on average meanwhile (the suite/VM used"
             f" {h.get('suite_cores', '?')}).",
             f"- {res.reps} repetitions; schedulers interleaved in each; {clean} of {total} runs clean"
             f" (suite status {h.get('status', '?')}).",
             f"- Workloads: frameloop {c.get('fl_s')} s per rate (main thread {c.get('fl_work_pct')}% of a period,"
             f" render thread {c.get('fl_render_pct')}%, as loop counts calibrated idle: {fmt(num(c.get('loops_per_ms')))}"
             f" loops/ms); cyclictest --policy=other -i {c.get('cyc_interval_us')} -D {c.get('cyc_s')};"
             f" perf bench sched pipe -l {c.get('pipe_loops')}; perf bench sched messaging -g 1 -l {c.get('msg_loops')};"
             f" hackbench -g 2 -l {c.get('hb_loops')}.",
             f"- Loads: stress-ng --cpu {c.get('ncpu')} --metrics-brief; a Makefile of {c.get('build_targets')} targets"
             f" (each an awk loop of {c.get('build_work')} iterations) built again and again by make -j{c.get('build_jobs')}.",
             "", "Cells: median [min–max] of the clean repetitions; under it, ×ratio to EEVDF's median from the same"
             " run [min–max of the per-repetition ratios].", ""]
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in evaluate_targets(res)]
    lines += ["", "## Results by background load", ""]
    write_table(res, lines)
    lines += ["## The daemon's own cost", "",
              "Per scx-rustland session (all loads and workloads of one repetition); CPU time is"
              " utime+stime of all its threads from /proc/<pid>/stat.", ""]
    write_daemon_table(res, lines)
    pngs = plot(res)
    if pngs:
        lines += ["## Latency distributions", ""]
        lines += [f"![{PLOTS[wl]}]({name})" for wl, name in pngs]
        lines.append("")
    bad = [(k, r) for k, r in sorted(res.runs.items()) if not r["ok"]]
    lines += ["## Checks", "",
              "Every run: the tool succeeded, and sched_ext was in the wanted state (`enabled` for the"
              " scx-rustland variants, `disabled` for EEVDF) before and after it, the daemon alive, and no"
              " sched_ext error in the kernel log.", ""]
    if bad:
        lines += [f"{len(bad)} runs failed a check (left out of the table):", ""]
        lines += [f"- rep {k[0]} {k[1]} {k[2]} {k[3]}: {r['note'] or 'no parsable output'}" for k, r in bad]
    else:
        lines.append(f"All {total} runs passed.")
    dm = res.root / "data" / "dmesg-sched_ext.txt"
    if dm.exists():
        lines += ["", "sched_ext lines of the kernel log:", "", "```", dm.read_text().rstrip(), "```"]
    lines += ["", "Every run's numbers: [runs.csv](runs.csv); raw data in `data/`.", ""]
    (res.root / "results.md").write_text("\n".join(lines))
    write_csv(res)
    if args.check:
        problems = check(res)
        if problems:
            print("report: incomplete table:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print(f"report: complete: {len(res.scheds)} schedulers x {len(res.loads)} loads x"
              f" {len(res.workloads)} workloads, {clean} clean runs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
