#include "systemd/watchdog_gate.h"

namespace rustland::systemd {

std::string_view to_string(GateReason reason) {
    switch (reason) {
    case GateReason::Progress: return "progress";
    case GateReason::Idle: return "idle";
    case GateReason::Stalled: return "stalled";
    }
    return "?";
}

namespace {

// A heartbeat means BPF found the scheduling thread had not run for a second
// and woke it; a healthy thread answers with a round at once. A check may
// land between the two, so one unanswered heartbeat is tolerated; two mean
// the thread is stuck, whether or not anything is queued.
constexpr std::uint64_t kUnansweredHeartbeats = 2;

}  // namespace

GateVerdict WatchdogGate::check(const ProgressSample& now) {
    // rounds and heartbeats only grow while one scheduler stays attached;
    // smaller values mean a new attach with fresh counters.
    if (now.rounds < last_.rounds || now.heartbeats < last_.heartbeats) {
        last_ = ProgressSample{};
        heartbeats_at_progress_ = 0;
    }

    GateVerdict verdict;
    if (now.rounds != last_.rounds) {
        verdict.reason = GateReason::Progress;
        heartbeats_at_progress_ = now.heartbeats;
    } else if (now.heartbeats - heartbeats_at_progress_ >= kUnansweredHeartbeats) {
        verdict.reason = GateReason::Stalled;
    } else if (now.nr_queued == 0 && last_.nr_queued == 0 && now.nr_scheduled == 0 && last_.nr_scheduled == 0) {
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

}  // namespace rustland::systemd
