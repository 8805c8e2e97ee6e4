#!/usr/bin/env python3
"""Tests of bench/report.py's statistics and verdicts, on synthetic suite output."""
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


if __name__ == "__main__":
    unittest.main()
