#include "systemd/watchdog_gate.h"

#include <gtest/gtest.h>

namespace rustland::systemd {
namespace {

ProgressSample sample(std::uint64_t rounds, std::uint64_t nr_queued = 0, std::uint64_t nr_scheduled = 0,
                      std::uint64_t heartbeats = 0) {
    return ProgressSample{rounds, nr_queued, nr_scheduled, heartbeats};
}

TEST(WatchdogGate, PingsWhileTheLoopTurns) {
    WatchdogGate gate;
    for (std::uint64_t rounds : {5u, 90u, 91u, 1000u}) {
        const auto v = gate.check(sample(rounds, 3, 7, 0));
        EXPECT_TRUE(v.ping);
        EXPECT_EQ(v.reason, GateReason::Progress);
        EXPECT_EQ(v.stalled_checks, 0u);
    }
}

TEST(WatchdogGate, ProgressWinsOverPendingWorkAndHeartbeats) {
    WatchdogGate gate;
    gate.check(sample(10, 0, 0, 1));
    const auto v = gate.check(sample(11, 500, 40, 9));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Progress);
}

TEST(WatchdogGate, IdleMachineStillPings) {
    WatchdogGate gate;
    gate.check(sample(42));
    for (int i = 0; i < 5; ++i) {
        const auto v = gate.check(sample(42));
        EXPECT_TRUE(v.ping);
        EXPECT_EQ(v.reason, GateReason::Idle);
    }
}

TEST(WatchdogGate, FreshGateOnAnIdleFreshLoopPings) {
    // All counters still zero right after attach: nothing to do yet.
    WatchdogGate gate;
    const auto v = gate.check(sample(0));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Idle);
}

TEST(WatchdogGate, QueuedRecordsWithoutProgressStopThePings) {
    WatchdogGate gate;
    gate.check(sample(100));
    auto v = gate.check(sample(100, 1, 0));
    EXPECT_FALSE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Stalled);
    EXPECT_EQ(v.stalled_checks, 1u);
    v = gate.check(sample(100, 64, 0));
    EXPECT_FALSE(v.ping);
    EXPECT_EQ(v.stalled_checks, 2u);
    EXPECT_EQ(gate.stalled_checks(), 2u);
}

TEST(WatchdogGate, WaitingTasksWithoutProgressStopThePings) {
    WatchdogGate gate;
    gate.check(sample(100, 0, 3));
    const auto v = gate.check(sample(100, 0, 3));
    EXPECT_FALSE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Stalled);
}

TEST(WatchdogGate, WorkAtThePreviousCheckIsNotIdleNow) {
    // Zero now but work at the last check and no turn in between: the thread
    // cannot have handled it (only it resets nr_queued), so the numbers are
    // not trusted.
    WatchdogGate gate;
    gate.check(sample(100, 2, 0));
    EXPECT_FALSE(gate.check(sample(100, 0, 0)).ping);

    WatchdogGate other;
    other.check(sample(100, 0, 5));
    EXPECT_FALSE(other.check(sample(100, 0, 0)).ping);
}

TEST(WatchdogGate, TwoUnansweredHeartbeatsStopThePings) {
    // BPF had to wake the thread twice and it never turned: stuck even if
    // nothing is queued (an idle machine with a stuck scheduler).
    WatchdogGate gate;
    gate.check(sample(100, 0, 0, 4));  // progress, at heartbeat 4
    EXPECT_TRUE(gate.check(sample(100, 0, 0, 5)).ping) << "one heartbeat may be in flight";
    const auto v = gate.check(sample(100, 0, 0, 6));
    EXPECT_FALSE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Stalled);
}

TEST(WatchdogGate, HeartbeatsCountFromTheLastProgressNotTheLastCheck) {
    // Checks closer together than heartbeats: each interval alone looks idle.
    WatchdogGate gate;
    gate.check(sample(50, 0, 0, 10));  // progress
    EXPECT_TRUE(gate.check(sample(50, 0, 0, 10)).ping);
    EXPECT_TRUE(gate.check(sample(50, 0, 0, 11)).ping);
    EXPECT_TRUE(gate.check(sample(50, 0, 0, 11)).ping);
    EXPECT_FALSE(gate.check(sample(50, 0, 0, 12)).ping);
    EXPECT_FALSE(gate.check(sample(50, 0, 0, 12)).ping) << "still no round since heartbeat 10";
    EXPECT_TRUE(gate.check(sample(51, 0, 0, 12)).ping);
}

TEST(WatchdogGate, ProgressAgainResumesThePings) {
    WatchdogGate gate;
    gate.check(sample(100));
    EXPECT_FALSE(gate.check(sample(100, 9)).ping);
    EXPECT_FALSE(gate.check(sample(100, 12)).ping);
    const auto v = gate.check(sample(101, 0));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.stalled_checks, 0u);
    EXPECT_EQ(gate.stalled_checks(), 0u);
}

TEST(WatchdogGate, StalledThenDrainedWithoutTurningNeedsAnIdleInterval) {
    // Stalled with work, then (say) the kernel ejected the tasks and the
    // numbers read zero: one clean interval of zeros is needed before Idle.
    WatchdogGate gate;
    gate.check(sample(7, 5, 0));
    EXPECT_FALSE(gate.check(sample(7, 0, 0)).ping);
    const auto v = gate.check(sample(7, 0, 0));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Idle);
}

TEST(WatchdogGate, AFreshGateComparesAgainstFreshCounters) {
    // Each attach gets a new gate: its first check compares against zeros.
    WatchdogGate turned;
    auto v = turned.check(sample(3, 4, 0));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Progress);
    WatchdogGate never_turned;
    v = never_turned.check(sample(0, 4, 0));
    EXPECT_FALSE(v.ping);
}

TEST(WatchdogGate, CountersGoingBackwardsCountAsAReattach) {
    WatchdogGate gate;
    gate.check(sample(5000, 0, 0, 30));
    // The same gate across a reattach: fresh counters, loop turned twice.
    auto v = gate.check(sample(2, 1, 0, 0));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Progress);
    // Fresh counters, loop not yet turned, work queued: stalled.
    gate.check(sample(9000, 0, 0, 50));
    v = gate.check(sample(0, 1, 0, 0));
    EXPECT_FALSE(v.ping);
    // Only heartbeats went back (rounds happen to match): still a reattach.
    gate.check(sample(10, 0, 0, 50));
    v = gate.check(sample(10, 0, 0, 1));
    EXPECT_TRUE(v.ping);
    EXPECT_EQ(v.reason, GateReason::Progress);
}

TEST(WatchdogGate, ReasonNames) {
    EXPECT_EQ(to_string(GateReason::Progress), "progress");
    EXPECT_EQ(to_string(GateReason::Idle), "idle");
    EXPECT_EQ(to_string(GateReason::Stalled), "stalled");
}

}  // namespace
}  // namespace rustland::systemd
