// Decides, at each watchdog check of the control thread, whether WATCHDOG=1
// may be sent to systemd. Pure logic: the caller samples the counters and
// sends the ping.
//
// The rule. A ping is allowed when, since the previous check,
//   - progress: the scheduling loop turned (LoopCounters::rounds changed), or
//   - idle: the scheduling thread had nothing to do, which means all of
//       nr_queued  == 0 now and at the previous check (no record waits in the
//                       BPF ring: BPF counts each record it sends, and only
//                       the scheduling thread resets the count when it drains),
//       nr_scheduled == 0 now and at the previous check (the policy holds no
//                       task that still needs a decision), and
//       heartbeats unchanged (the BPF timer did not have to wake the thread:
//                       it does so when the thread has not run for 1 s, and a
//                       healthy thread then turns at once).
// Otherwise the thread is stalled with work pending: no ping, and after
// WatchdogSec without one systemd kills and restarts the daemon.
//
// A healthy loop turns at least once a second even on an idle machine (the
// heartbeat sees to it), so with checks every WatchdogSec/2 >= 1 s the idle
// rule is only a safety margin; it never lets a stuck thread through once a
// task waits for it or the heartbeat fires.
//
// Counters start from zero with each attach. The gate starts from an
// all-zero baseline, so the first check compares against a fresh loop: the
// daemon makes a new gate for each attach (a counter that went backwards is
// also taken as a reattach).
#pragma once

#include <cstdint>
#include <string_view>

namespace rustland::systemd {

// What the control thread reads at a check (relaxed loads are enough).
struct ProgressSample {
    std::uint64_t rounds = 0;        // dispatcher::LoopCounters::rounds
    std::uint64_t nr_queued = 0;     // dispatcher::KernelCounters::nr_queued
    std::uint64_t nr_scheduled = 0;  // dispatcher::LoopCounters::nr_scheduled
    std::uint64_t heartbeats = 0;    // dispatcher::KernelCounters::heartbeats
};

enum class GateReason {
    Progress,  // the loop turned since the last check
    Idle,      // nothing for the loop to do since the last check
    Stalled,   // work pending and the loop did not turn: no ping
};

std::string_view to_string(GateReason reason);

struct GateVerdict {
    bool ping = false;
    GateReason reason = GateReason::Stalled;
    std::uint32_t stalled_checks = 0;  // consecutive Stalled verdicts, this one included
};

class WatchdogGate {
public:
    // Judges `now` against the previous sample, then keeps `now` as the new one.
    GateVerdict check(const ProgressSample& now);

    std::uint32_t stalled_checks() const { return stalled_checks_; }

private:
    ProgressSample last_{};
    std::uint64_t heartbeats_at_progress_ = 0;  // heartbeats seen at the last progress
    std::uint32_t stalled_checks_ = 0;
};

}  // namespace rustland::systemd
