#!/usr/bin/env python3
"""Tests of bench/report.py's statistics and verdicts, on synthetic suite output."""
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402


def write_suite_output(root, build_s, reps):
    """A results directory as suite.sh writes it: `build` phases only, one
    value per (scheduler, repetition) from build_s[sched][rep]."""
    data = root / "data"
    (data / "raw").mkdir(parents=True)
    (data / "config").write_text(f"reps={reps}\nscheds={' '.join(build_s)}\nncpu=2\n")
    runs = []
    for rep in range(1, reps + 1):
        for slot, (sched, values) in enumerate(build_s.items(), 1):
            (data / "raw" / f"{rep}-{sched}-build.out").write_text(f"build_s={values[rep - 1]}\n")
            runs.append(f"{rep}\t{slot}\t{sched}\tbuild\t1\t{values[rep - 1]}\tna\t")
    (data / "runs.tsv").write_text("\n".join(runs) + "\n")


def write_latency_output(root, fl_p99, reps, phase="lat-hogs"):
    """A results directory with one latency phase per (scheduler, repetition):
    the frame loop's p99 from fl_p99[sched][rep], a flat cyclictest, and for
    gamemode the follower's wait and a daemon line with its exit status."""
    data = root / "data"
    (data / "raw").mkdir(parents=True)
    (data / "config").write_text(f"reps={reps}\nscheds={' '.join(fl_p99)}\nncpu=2\nlat_s=2\ncyc_interval_us=2000\n")
    runs, daemon = [], []
    for rep in range(1, reps + 1):
        for slot, (sched, values) in enumerate(fl_p99.items(), 1):
            base = data / "raw" / f"{rep}-{sched}-{phase}"
            p99 = values[rep - 1]
            Path(f"{base}-fl.json").write_text(json.dumps(
                {"wakeup_us": {"p50": p99 / 4, "p99": p99, "max": p99 * 2}, "miss_ratio": 0.0}))
            Path(f"{base}-cyc.json").write_text(json.dumps(
                {"thread": {"0": {"histogram": {"100": 1000}, "cycles": 1000, "max": 100}}}))
            if sched == "gamemode":
                Path(f"{base}-hold.out").write_text(f"pids_s=0.0{rep} hold_s=0.{rep}\n")
            runs.append(f"{rep}\t{slot}\t{sched}\t{phase}\t1\t2\tna\t")
            if sched != "eevdf":
                follower = "0" if sched == "gamemode" else "na"
                daemon.append(f"rep={rep} sched={sched} exit=0 follower_exit={follower}")
    (data / "runs.tsv").write_text("\n".join(runs) + "\n")
    (data / "daemon.tsv").write_text("\n".join(daemon) + "\n")


class RatioVerdictTest(unittest.TestCase):
    def verdict(self, eevdf, rustland, limit=1.05):
        with tempfile.TemporaryDirectory() as tmp:
            write_suite_output(Path(tmp), {"eevdf": eevdf, "rustland": rustland}, len(eevdf))
            res = report.Results(Path(tmp))
            return res.ratio("rustland", "build", "s").verdict(limit, "lower")

    def test_met_when_the_whole_interval_is_within_the_limit(self):
        eevdf = [10.0, 10.4, 9.8, 10.1, 10.2, 9.9, 10.3, 10.0, 10.1, 9.7]
        self.assertEqual(self.verdict(eevdf, [v * 1.01 for v in eevdf]), "**met**")

    def test_missed_when_the_whole_interval_is_beyond_the_limit(self):
        eevdf = [10.0, 10.4, 9.8, 10.1, 10.2, 9.9, 10.3, 10.0, 10.1, 9.7]
        self.assertEqual(self.verdict(eevdf, [v * 1.3 for v in eevdf]), "**missed**")

    def test_not_resolved_when_the_interval_straddles_the_limit(self):
        eevdf = [10.0] * 10
        rustland = [9.0, 11.5, 9.2, 11.4, 9.5, 11.2, 9.8, 11.0, 10.0, 11.3]
        self.assertEqual(self.verdict(eevdf, rustland), "not resolved")

    def test_not_resolved_with_too_few_repetitions_whatever_the_ratio(self):
        self.assertEqual(self.verdict([10.0, 10.0], [5.0, 5.0]), "not resolved (n=2)")

    def test_ratio_is_the_ratio_of_the_medians_paired_by_repetition(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_suite_output(Path(tmp), {"eevdf": [10.0, 20.0, 30.0, 40.0, 50.0],
                                           "rustland": [15.0, 30.0, 45.0, 60.0, 75.0]}, 5)
            r = report.Results(Path(tmp)).ratio("rustland", "build", "s")
        self.assertAlmostEqual(r.value, 1.5)
        self.assertLessEqual(r.low, r.value)
        self.assertGreaterEqual(r.high, r.value)


class BaselineTest(unittest.TestCase):
    def test_the_baseline_build_is_compared_with_scx_rustland_paired_by_repetition(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_suite_output(Path(tmp), {"eevdf": [10.0] * 5, "baseline": [8.0, 16.0, 24.0, 32.0, 40.0],
                                           "rustland": [6.0, 12.0, 18.0, 24.0, 30.0]}, 5)
            self.assertEqual(report.main([tmp]), 0)
            text = (Path(tmp) / "results.md").read_text()
        section = text.split("## scx-rustland against the baseline build")[1].split("##")[0]
        self.assertIn("| parallel build alone (s) | lower | ×0.75 [0.75–0.75] (n=5) |", section)

    def test_without_a_baseline_there_is_no_such_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_suite_output(Path(tmp), {"eevdf": [10.0] * 5, "rustland": [6.0] * 5}, 5)
            self.assertEqual(report.main([tmp]), 0)
            self.assertNotIn("baseline", (Path(tmp) / "results.md").read_text())


class VerdictDirectionTest(unittest.TestCase):
    def test_higher_is_better_uses_the_low_end_of_the_interval(self):
        e = report.Estimate(1.0, 0.96, 1.04, 10)
        self.assertEqual(e.verdict(0.95, "higher"), "**met**")
        self.assertEqual(e.verdict(0.97, "higher"), "not resolved")
        self.assertEqual(e.verdict(1.05, "higher"), "**missed**")

    def test_lower_is_better_uses_the_high_end_of_the_interval(self):
        e = report.Estimate(1.0, 0.96, 1.04, 10)
        self.assertEqual(e.verdict(1.05, "lower"), "**met**")
        self.assertEqual(e.verdict(1.0, "lower"), "not resolved")
        self.assertEqual(e.verdict(0.9, "lower"), "**missed**")


class CheckTest(unittest.TestCase):
    def test_a_broken_phase_is_left_out_and_fails_the_check(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_suite_output(root, {"eevdf": [10.0] * 5, "rustland": [10.0] * 5}, 5)
            (root / "data" / "raw" / "3-rustland-build.out").write_text("make: *** error\n")
            res = report.Results(root)
            self.assertIsNone(res.values("rustland", "build", "s")[2])
            self.assertTrue(any("rep 3 rustland build" in p for p in report.check(res)))


def write_starved_output(root, starved, session=None):
    """hogs, hb and build phases of scx-rustland (and EEVDF) over 5
    repetitions; starved[phase] is scx-rustland's count over each phase
    (None: no per-phase file), session its whole-session counter."""
    data = root / "data"
    (data / "raw").mkdir(parents=True)
    (data / "config").write_text("reps=5\nscheds=eevdf rustland\nncpu=2\n")
    tool = {"hogs": "stress-ng: metrc: [1] cpu 3000 5.00 9.9 0.1 600.00 300.00\n", "hb": "Time: 0.25\n",
            "build": "build_s=3.0\n"}
    runs, daemon = [], []
    for rep in range(1, 6):
        for sched in ("eevdf", "rustland"):
            for slot, phase in enumerate(tool, 1):
                base = data / "raw" / f"{rep}-{sched}-{phase}"
                Path(f"{base}.out").write_text(tool[phase])
                if sched == "rustland" and starved.get(phase) is not None:
                    Path(f"{base}-daemon.out").write_text(f"starved={starved[phase]}\n")
                runs.append(f"{rep}\t{slot}\t{sched}\t{phase}\t1\t5\tna\t")
        if session is not None:
            daemon.append(f"rep={rep} sched=rustland exit=0 starved={session} follower_exit=na")
    (data / "runs.tsv").write_text("\n".join(runs) + "\n")
    (data / "daemon.tsv").write_text("".join(line + "\n" for line in daemon))


class StarvedTest(unittest.TestCase):
    def rows(self, starved, session=None):
        with tempfile.TemporaryDirectory() as tmp:
            write_starved_output(Path(tmp), starved, session)
            return report.starved_rows(report.Results(Path(tmp)))

    def test_the_target_counts_only_the_phases_under_hogs_and_hackbench(self):
        rows = self.rows({"hogs": 0, "hb": 0, "build": 3}, session=3)
        self.assertEqual(rows[0][2], "**met**")
        self.assertIn("max 0 over 10 phases", rows[0][1])
        self.assertIn("max 3 over 5 sessions", rows[1][1])

    def test_one_starved_dispatch_under_hackbench_misses_it(self):
        self.assertEqual(self.rows({"hogs": 0, "hb": 1, "build": 0})[0][2], "**missed**")

    def test_without_per_phase_counts_the_whole_session_is_judged(self):
        rows = self.rows({}, session=1)
        self.assertEqual(len(rows), 1)
        self.assertIn("whole session", rows[0][0])
        self.assertEqual(rows[0][2], "**missed**")


class HandOffTest(unittest.TestCase):
    def test_the_render_hand_off_is_a_target_when_the_frame_loop_wrote_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_latency_output(root, {"eevdf": [1000.0] * 5, "held": [900.0] * 5}, 5)
            for rep in range(1, 6):
                for sched, handoff_p99 in (("eevdf", 400.0), ("held", 100.0)):
                    path = root / "data" / "raw" / f"{rep}-{sched}-lat-hogs-fl.json"
                    j = json.loads(path.read_text())
                    j["wait_us"] = {"p50": 0.0, "p99": 50.0}
                    j["handoff_us"] = {"p50": handoff_p99 / 10, "p99": handoff_p99}
                    path.write_text(json.dumps(j))
            res = report.Results(root)
            self.assertEqual(res.values("held", "lat-hogs", "fl_wait_p99"), [50.0] * 5)
            targets = {t: (m, v) for t, m, v in report.evaluate_targets(res)}
        handoff = next(v for t, v in targets.items() if t.startswith("frame loop render thread hand-off p99, held"))
        self.assertTrue(handoff[0].startswith("×0.25"), handoff)
        self.assertEqual(handoff[1], "**met**")

    def test_older_frame_loop_output_has_no_hand_off_target(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_latency_output(Path(tmp), {"eevdf": [1000.0] * 5, "held": [900.0] * 5}, 5)
            targets = report.evaluate_targets(report.Results(Path(tmp)))
        self.assertEqual([t for t, _, _ in targets if "hand-off" in t], [])


class SameWinTest(unittest.TestCase):
    held = report.Estimate(0.40, 0.30, 0.60, 8)

    def test_met_within_helds_interval(self):
        self.assertEqual(report.same_win_verdict(report.Estimate(0.55, 0.45, 0.8, 8), self.held, 0.5), "**met**")

    def test_met_when_better_than_held(self):
        self.assertEqual(report.same_win_verdict(report.Estimate(0.2, 0.1, 0.7, 8), self.held, 0.5), "**met**")

    def test_met_when_the_whole_interval_is_within_the_target(self):
        held = report.Estimate(0.20, 0.15, 0.25, 8)
        self.assertEqual(report.same_win_verdict(report.Estimate(0.4, 0.35, 0.45, 8), held, 0.5), "**met**")

    def test_missed_when_the_whole_interval_is_worse_than_held_and_the_target(self):
        self.assertEqual(report.same_win_verdict(report.Estimate(1.0, 0.9, 1.2, 8), self.held, 0.5), "**missed**")

    def test_not_resolved_when_the_interval_reaches_helds(self):
        self.assertEqual(report.same_win_verdict(report.Estimate(0.8, 0.55, 1.2, 8), self.held, 0.5), "not resolved")

    def test_not_resolved_with_too_few_repetitions(self):
        self.assertEqual(report.same_win_verdict(report.Estimate(0.4, 0.3, 0.6, 3), self.held, 0.5),
                         "not resolved (n=3)")


class GameModeRowTest(unittest.TestCase):
    EEVDF = [10000.0, 10400.0, 9800.0, 10100.0, 10200.0, 9900.0]

    HELD = [0.30, 0.50, 0.40, 0.60, 0.35, 0.55]  # ratios to EEVDF per repetition

    def targets(self, gamemode_factor):
        with tempfile.TemporaryDirectory() as tmp:
            write_latency_output(Path(tmp), {"eevdf": self.EEVDF,
                                             "held": [v * h for v, h in zip(self.EEVDF, self.HELD)],
                                             "gamemode": [v * gamemode_factor for v in self.EEVDF]}, 6)
            res = report.Results(Path(tmp))
            return {t: (m, v) for t, m, v in report.evaluate_targets(res)}, report.check(res)

    def same_win(self, targets):
        return next(v for t, v in targets.items() if t.startswith("gamemode: frame loop 60 Hz p99")
                    and "held row's win" in t)

    def test_gamemode_like_held_meets_the_same_win(self):
        # 0.52: not <= 0.5, but within held's interval.
        targets, problems = self.targets(0.52)
        self.assertEqual(self.same_win(targets)[1], "**met**")
        self.assertEqual(problems, [])
        wait = next(v for t, v in targets.items() if "both tools held" in t)
        self.assertTrue(wait[0].startswith("0.350 s"), wait)
        started = next(v for t, v in targets.items() if "both tools started" in t)
        self.assertTrue(started[0].startswith("0.035 s"), started)

    def test_the_render_hand_off_gets_the_same_check_when_measured(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_latency_output(root, {"eevdf": self.EEVDF, "held": self.EEVDF, "gamemode": self.EEVDF}, 6)
            for rep in range(1, 7):
                for sched, p99 in (("eevdf", 1000.0), ("held", 300.0), ("gamemode", 320.0)):
                    path = root / "data" / "raw" / f"{rep}-{sched}-lat-hogs-fl.json"
                    j = json.loads(path.read_text())
                    j["handoff_us"] = {"p50": p99 / 2, "p99": p99 * (1 + rep / 100)}
                    path.write_text(json.dumps(j))
            targets = {t: v for t, _, v in report.evaluate_targets(report.Results(root))}
        verdict = next(v for t, v in targets.items() if t.startswith("gamemode: frame loop render thread hand-off p99"))
        self.assertEqual(verdict, "**met**")

    def test_gamemode_without_the_win_misses_it(self):
        targets, _ = self.targets(1.0)
        self.assertEqual(self.same_win(targets)[1], "**missed**")

    def test_cyclictest_periods_served_are_counted_only_where_it_ran_for_lat_s(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_latency_output(Path(tmp), {"eevdf": self.EEVDF, "gamemode": self.EEVDF}, 6)
            res = report.Results(Path(tmp))
            self.assertEqual(res.values("eevdf", "lat-hogs", "cyc_served"), [100.0] * 6)
            self.assertEqual(res.values("gamemode", "lat-hogs", "cyc_served"), [None] * 6)
            self.assertEqual(report.check(res), [])

    def test_a_follower_that_failed_fails_the_check(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_latency_output(root, {"eevdf": self.EEVDF, "gamemode": self.EEVDF}, 6)
            tsv = root / "data" / "daemon.tsv"
            tsv.write_text(tsv.read_text().replace("rep=2 sched=gamemode exit=0 follower_exit=0",
                                                   "rep=2 sched=gamemode exit=0 follower_exit=1"))
            problems = report.check(report.Results(root))
        self.assertEqual(problems, ["gamemode rep 2: the GameMode follower's exit status 1"])


if __name__ == "__main__":
    unittest.main()
