#include "systemd/watchdog_gate.h"

namespace rustland::systemd {

std::string_view to_string(GateReason reason) {
    switch (reason) {
    case GateReason::Progress:
        return "progress";
    case GateReason::Idle:
        return "idle";
    case GateReason::Stalled:
        return "stalled";
    }
    return "?";
}

GateVerdict WatchdogGate::check(const ProgressSample& now) {
    // rounds and heartbeats only grow while one scheduler stays attached;
    // smaller values mean a new attach with fresh counters.
    if (now.rounds < last_.rounds || now.heartbeats < last_.heartbeats)
        last_ = ProgressSample{};

    GateVerdict verdict;
    if (now.rounds != last_.rounds) {
        verdict.reason = GateReason::Progress;
    } else if (now.nr_queued == 0 && last_.nr_queued == 0 && now.nr_waiting == 0 && last_.nr_waiting == 0 &&
               now.heartbeats == last_.heartbeats) {
        verdict.reason = GateReason::Idle;
    } else {
        verdict.reason = GateReason::Stalled;
    }
    verdict.ping = verdict.reason != GateReason::Stalled;
    stalled_checks_ = verdict.ping ? 0 : stalled_checks_ + 1;
    verdict.stalled_checks = stalled_checks_;
    last_ = now;
    return verdict;
}

void WatchdogGate::reset() {
    last_ = ProgressSample{};
    stalled_checks_ = 0;
}

}  // namespace rustland::systemd
