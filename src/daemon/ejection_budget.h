// How the daemon answers the kernel ejecting its scheduler (a stall, a
// runtime error): attach again after a growing delay, but give up after too
// many ejections in a short time and let systemd's restart policy decide.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace rustland::daemon {

class EjectionBudget {
public:
    using Clock = std::chrono::steady_clock;

    // max_ejections within `window` are retried; the next one gives up.
    EjectionBudget(std::size_t max_ejections, Clock::duration window, Clock::duration first_delay)
        : max_(max_ejections), window_(window), first_delay_(first_delay) {}

    // Records an ejection at `now`. Returns how long to wait before attaching
    // again (doubling with each recent ejection), or nothing to give up.
    std::optional<Clock::duration> after_ejection(Clock::time_point now) {
        while (!recent_.empty() && now - recent_.front() > window_)
            recent_.pop_front();
        recent_.push_back(now);
        if (recent_.size() > max_)
            return std::nullopt;
        return first_delay_ * (1 << (recent_.size() - 1));
    }

    std::size_t recent() const { return recent_.size(); }

private:
    std::size_t max_;
    Clock::duration window_;
    Clock::duration first_delay_;
    std::deque<Clock::time_point> recent_;
};

}  // namespace rustland::daemon
