#include "latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace frameloop {

std::int64_t percentile(std::span<const std::int64_t> sorted, double q) {
    if (sorted.empty())
        throw std::invalid_argument("percentile of no samples");
    if (!(q > 0.0 && q <= 1.0))
        throw std::invalid_argument("percentile: q must be in (0, 1], got " + std::to_string(q));
    const auto n = static_cast<double>(sorted.size());
    // ceil(q * n) ranks from 1; the epsilon keeps 0.99 * 100 from becoming 99.000001 -> 100.
    auto rank = static_cast<std::size_t>(std::ceil(q * n - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

Summary summarize(std::vector<std::int64_t> samples) {
    Summary s;
    if (samples.empty())
        return s;
    std::sort(samples.begin(), samples.end());
    s.count = samples.size();
    s.p50 = percentile(samples, 0.50);
    s.p90 = percentile(samples, 0.90);
    s.p99 = percentile(samples, 0.99);
    s.p999 = percentile(samples, 0.999);
    s.max = samples.back();
    const long double total = std::accumulate(samples.begin(), samples.end(), 0.0L);
    s.mean = static_cast<double>(total / static_cast<long double>(samples.size()));
    return s;
}

nlohmann::json to_json_us(const Summary& s) {
    const auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
    return {{"count", s.count},    {"p50", us(s.p50)}, {"p90", us(s.p90)},       {"p99", us(s.p99)},
            {"p99.9", us(s.p999)}, {"max", us(s.max)}, {"mean", s.mean / 1000.0}};
}

std::vector<CurvePoint> tail_curve(std::vector<std::int64_t> samples, std::size_t points) {
    std::vector<CurvePoint> curve;
    if (samples.empty() || points == 0)
        return curve;
    std::sort(samples.begin(), samples.end());
    // Tail fraction 1-q from 0.5 down to 1/n, evenly on a log scale: the
    // deepest point is the maximum.
    const double deepest = std::log10(static_cast<double>(samples.size()) * 0.5);
    for (std::size_t i = 0; i < points; ++i) {
        const double depth = points == 1 ? deepest : deepest * static_cast<double>(i) / static_cast<double>(points - 1);
        const double q = 1.0 - 0.5 * std::pow(10.0, -depth);
        curve.push_back({q, percentile(samples, q)});
    }
    return curve;
}

std::uint64_t periods_overrun(std::int64_t late_ns, std::int64_t period_ns) {
    if (period_ns <= 0)
        throw std::invalid_argument("periods_overrun: period must be positive");
    return late_ns < period_ns ? 0 : static_cast<std::uint64_t>(late_ns / period_ns);
}

void DeadlineTally::add_frame(std::int64_t target_ns, std::int64_t end_ns, std::int64_t period_ns) {
    ++frames;
    if (end_ns > target_ns + period_ns)
        ++missed;
}

double DeadlineTally::miss_ratio() const {
    const std::uint64_t due = frames + skipped;
    return due == 0 ? 0.0 : static_cast<double>(missed + skipped) / static_cast<double>(due);
}

}  // namespace frameloop
