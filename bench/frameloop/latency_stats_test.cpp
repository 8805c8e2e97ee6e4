#include "latency_stats.h"

#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

namespace frameloop {
namespace {

std::vector<std::int64_t> one_to(std::int64_t n) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 1);
    return v;
}

TEST(Percentile, NearestRankOnOneToHundred) {
    const auto v = one_to(100);
    EXPECT_EQ(percentile(v, 0.50), 50);
    EXPECT_EQ(percentile(v, 0.99), 99);
    EXPECT_EQ(percentile(v, 0.999), 100);
    EXPECT_EQ(percentile(v, 1.0), 100);
    EXPECT_EQ(percentile(v, 0.001), 1);
}

TEST(Percentile, RoundsRankUpBetweenSamples) {
    const std::vector<std::int64_t> v{10, 20, 30};
    EXPECT_EQ(percentile(v, 0.34), 20);  // rank ceil(1.02) = 2
    EXPECT_EQ(percentile(v, 0.33), 10);  // rank ceil(0.99) = 1
}

TEST(Percentile, RejectsEmptyInputAndBadQuantile) {
    const std::vector<std::int64_t> none;
    EXPECT_THROW(percentile(none, 0.5), std::invalid_argument);
    const auto v = one_to(3);
    EXPECT_THROW(percentile(v, 0.0), std::invalid_argument);
    EXPECT_THROW(percentile(v, 1.5), std::invalid_argument);
}

TEST(Summarize, SortsAndReportsTail) {
    std::vector<std::int64_t> v = one_to(1000);
    std::reverse(v.begin(), v.end());
    v[0] = 50'000;  // one outlier replaces 1000
    const Summary s = summarize(v);
    EXPECT_EQ(s.count, 1000u);
    EXPECT_EQ(s.p50, 500);
    EXPECT_EQ(s.p90, 900);
    EXPECT_EQ(s.p99, 990);
    EXPECT_EQ(s.p999, 999);
    EXPECT_EQ(s.max, 50'000);
    EXPECT_DOUBLE_EQ(s.mean, (500'500.0 - 1000.0 + 50'000.0) / 1000.0);
}

TEST(Summarize, EmptyGivesZeroCount) {
    const Summary s = summarize({});
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.max, 0);
}

TEST(Summarize, JsonIsInMicroseconds) {
    const auto j = to_json_us(summarize({1'500, 2'500}));
    EXPECT_DOUBLE_EQ(j.at("p50").get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(j.at("max").get<double>(), 2.5);
    EXPECT_DOUBLE_EQ(j.at("mean").get<double>(), 2.0);
    EXPECT_EQ(j.at("count").get<std::size_t>(), 2u);
}

TEST(TailCurve, StartsAtMedianAndClimbsIntoTheTail) {
    const auto curve = tail_curve(one_to(10'000), 5);
    ASSERT_EQ(curve.size(), 5u);
    EXPECT_DOUBLE_EQ(curve.front().q, 0.5);
    EXPECT_EQ(curve.front().value, 5'000);
    // The deepest point resolves 1 in n: q = 1 - 1/n.
    EXPECT_NEAR(curve.back().q, 1.0 - 1.0 / 10'000, 1e-12);
    for (std::size_t i = 1; i < curve.size(); ++i) {
        EXPECT_GT(curve[i].q, curve[i - 1].q);
        EXPECT_GE(curve[i].value, curve[i - 1].value);
    }
}

TEST(TailCurve, EmptyInputGivesNoPoints) { EXPECT_TRUE(tail_curve({}, 10).empty()); }

TEST(PeriodsOverrun, CountsWholePeriodsOnly) {
    EXPECT_EQ(periods_overrun(0, 100), 0u);
    EXPECT_EQ(periods_overrun(99, 100), 0u);
    EXPECT_EQ(periods_overrun(100, 100), 1u);
    EXPECT_EQ(periods_overrun(350, 100), 3u);
    EXPECT_EQ(periods_overrun(-5, 100), 0u);
    EXPECT_THROW(periods_overrun(10, 0), std::invalid_argument);
}

TEST(DeadlineTally, LateFramesAndSkippedTargetsCountAsMisses) {
    DeadlineTally t;
    t.add_frame(1'000, 1'050, 100);  // in time
    t.add_frame(1'100, 1'200, 100);  // exactly on the deadline: in time
    t.add_frame(1'200, 1'301, 100);  // late
    t.skipped = 1;
    EXPECT_EQ(t.frames, 3u);
    EXPECT_EQ(t.missed, 1u);
    EXPECT_DOUBLE_EQ(t.miss_ratio(), 2.0 / 4.0);
}

TEST(DeadlineTally, NoFramesMeansNoMisses) { EXPECT_DOUBLE_EQ(DeadlineTally{}.miss_ratio(), 0.0); }

}  // namespace
}  // namespace frameloop
