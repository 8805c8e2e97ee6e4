// Statistics of the frame-loop benchmark: pure functions over samples, no
// clocks or threads, so they can be unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace frameloop {

// Nearest-rank percentile of sorted samples: the smallest value with at
// least q of the samples at or below it. q in (0, 1]. Throws
// std::invalid_argument on an empty input or a q out of range.
std::int64_t percentile(std::span<const std::int64_t> sorted, double q);

struct Summary {
    std::size_t count = 0;
    std::int64_t p50 = 0;
    std::int64_t p90 = 0;
    std::int64_t p99 = 0;
    std::int64_t p999 = 0;
    std::int64_t max = 0;
    double mean = 0.0;
};

// Summary of unsorted samples (all zero with count 0 when there are none).
Summary summarize(std::vector<std::int64_t> samples);

// The summary in microseconds, for the JSON report.
nlohmann::json to_json_us(const Summary& s);

// Percentile curve for plots: `points` (q, value) pairs with q spread
// logarithmically towards 1 (0.5, 0.9, 0.99, ... up to the sample count's
// resolution), so the tail gets as many points as the body.
struct CurvePoint {
    double q;
    std::int64_t value;
};
std::vector<CurvePoint> tail_curve(std::vector<std::int64_t> samples, std::size_t points);

// How many whole periods a wakeup `late_ns` after its target has overrun:
// the frames a vsync-style loop skips to get back on schedule.
std::uint64_t periods_overrun(std::int64_t late_ns, std::int64_t period_ns);

// Frames that ended after their deadline.
struct DeadlineTally {
    std::uint64_t frames = 0;   // frames run
    std::uint64_t missed = 0;   // of those, ended after target + period
    std::uint64_t skipped = 0;  // targets skipped because a wakeup overran them

    // One frame that started at `target_ns` and ended at `end_ns`.
    void add_frame(std::int64_t target_ns, std::int64_t end_ns, std::int64_t period_ns);
    // Late frames plus skipped targets over every target due.
    double miss_ratio() const;
};

}  // namespace frameloop
