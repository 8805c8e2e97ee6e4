// The scheduling loop against a fake kernel: what each round reads, and what
// it hands back, in both modes.
#include "dispatcher/scheduling_loop.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <deque>
#include <vector>

#include "dispatcher/records.h"

namespace rustland::dispatcher {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

// Records queued by the test, answers recorded for it; `room` limits how
// many answers the user rings take (nothing is taken back when full).
class FakeKernel final : public KernelPort {
public:
    int drain_queued(QueuedSink& sink) override {
        const int n = static_cast<int>(queued.size());
        for (; !queued.empty(); queued.pop_front())
            sink.on_queued(queued.front());
        return n;
    }
    bool submit(const rl_dispatched_task& d) override { return take(decisions, d); }
    bool submit(const rl_task_params& p) override { return take(params, p); }
    void publish(std::uint64_t nr_scheduled, bool) override { published_scheduled = nr_scheduled; }
    void publish(const Tunables& t) override { tunables.push_back(t); }
    bool exited() const override { return false; }

    std::deque<rl_queued_task> queued;
    std::vector<rl_dispatched_task> decisions;
    std::vector<rl_task_params> params;
    std::vector<Tunables> tunables;
    std::uint64_t published_scheduled = 0;
    std::size_t room = SIZE_MAX;

private:
    template <typename T>
    bool take(std::vector<T>& out, const T& record) {
        if (room == 0)
            return false;
        --room;
        out.push_back(record);
        return true;
    }
};

rl_queued_task wakeup(std::int32_t pid, std::uint64_t at, std::uint64_t burst = 1 * kMs) {
    rl_queued_task r{};
    r.pid = pid;
    r.flags = RL_QUEUED_WAKEUP;
    r.nr_cpus_allowed = 2;
    r.wakeups = 1;
    r.burst_ns = burst;
    r.weight = 100;
    r.timestamp = at;
    return r;
}

rl_queued_task slice_end(std::int32_t pid, std::uint64_t ran, std::uint64_t gen = 1) {
    rl_queued_task r{};
    r.pid = pid;
    r.nr_cpus_allowed = 2;
    r.sum_exec_runtime = ran;
    r.exec_runtime = ran;
    r.weight = 100;
    r.enq_cnt = gen;
    return r;
}

// --- default mode: records teach, parameters go back -------------------------

TEST(DefaultModeLoop, InteractiveTaskIsPublishedOnceWithItsParameters) {
    policy::Scheduler policy(64);
    policy.configure({.slice_boost = 100});
    SchedulingLoop loop(policy, /*full_user=*/false);
    FakeKernel kernel;
    kernel.queued = {slice_end(7, 0), wakeup(7, 16 * kMs), wakeup(7, 32 * kMs), wakeup(7, 48 * kMs)};
    loop.run_round(kernel);
    ASSERT_EQ(kernel.params.size(), 1U);
    EXPECT_EQ(kernel.params[0].pid, 7);
    EXPECT_EQ(kernel.params[0].weight_boost, 100U);
    EXPECT_EQ(kernel.params[0].flags, static_cast<std::uint32_t>(RL_PARAM_PREEMPT_ON_WAKEUP));
    EXPECT_TRUE(kernel.decisions.empty());  // nothing waits for a decision
    EXPECT_EQ(loop.counters().nr_interactive.load(), 1U);
}

TEST(DefaultModeLoop, ParametersThatFoundTheRingFullAreSentWithTheNextRecord) {
    policy::Scheduler policy(64);
    SchedulingLoop loop(policy, false);
    FakeKernel kernel;
    kernel.room = 0;
    kernel.queued = {slice_end(7, 0), wakeup(7, 16 * kMs)};
    loop.run_round(kernel);
    EXPECT_TRUE(kernel.params.empty());
    EXPECT_EQ(loop.counters().ring_full.load(), 1U);
    kernel.room = SIZE_MAX;
    kernel.queued = {wakeup(7, 32 * kMs)};
    loop.run_round(kernel);
    ASSERT_EQ(kernel.params.size(), 1U);
    EXPECT_EQ(kernel.params[0].pid, 7);
}

TEST(DefaultModeLoop, BusyTaskSendsNothing) {
    policy::Scheduler policy(64);
    SchedulingLoop loop(policy, false);
    FakeKernel kernel;
    for (std::uint64_t gen = 1; gen <= 10; ++gen)
        kernel.queued.push_back(slice_end(9, gen * 5 * kMs, gen));
    loop.run_round(kernel);
    EXPECT_TRUE(kernel.params.empty());
    EXPECT_EQ(loop.counters().nr_tasks.load(), 1U);
}

TEST(DefaultModeLoop, OfferedSettingsReachBpfOnce) {
    policy::Scheduler policy(64);
    SchedulingLoop loop(policy, false);
    FakeKernel kernel;
    const policy::Settings settings{.slice_ns = 3 * kMs,
                                    .slice_min_ns = kMs / 4,
                                    .starvation_ns = 50 * kMs,
                                    .ordering = policy::Ordering::Vruntime};
    loop.offer(&settings);
    loop.run_round(kernel);
    loop.run_round(kernel);
    ASSERT_EQ(kernel.tunables.size(), 1U);
    EXPECT_EQ(kernel.tunables[0].slice_ns, 3 * kMs);
    EXPECT_EQ(kernel.tunables[0].slice_min_ns, kMs / 4);
    EXPECT_FALSE(kernel.tunables[0].deadline_ordering);
    EXPECT_EQ(kernel.tunables[0].starvation_ns, 50 * kMs);
    EXPECT_EQ(loop.adopted(), &settings);
    EXPECT_EQ(policy.settings().slice_ns, 3 * kMs);
}

// --- full-user mode: every record waits for a decision -------------------------

TEST(FullUserLoop, EveryWaitingTaskIsDecidedInOneRound) {
    policy::Scheduler policy(64);
    SchedulingLoop loop(policy, /*full_user=*/true);
    FakeKernel kernel;
    for (std::int32_t pid = 1; pid <= 10; ++pid)
        kernel.queued.push_back(slice_end(pid, static_cast<std::uint64_t>(11 - pid) * kMs));
    loop.run_round(kernel);
    ASSERT_EQ(kernel.decisions.size(), 10U);
    EXPECT_EQ(kernel.published_scheduled, 0U);
    // In the policy's order, with its keys as DSQ vtimes (no forced gaps).
    for (std::size_t i = 1; i < kernel.decisions.size(); ++i)
        EXPECT_LE(kernel.decisions[i - 1].vtime, kernel.decisions[i].vtime);
    EXPECT_EQ(kernel.decisions.front().pid, 10);
    // Every task of the round shares the slice measured when it started.
    for (const auto& d : kernel.decisions)
        EXPECT_EQ(d.slice_ns, kernel.decisions.front().slice_ns);
    EXPECT_LT(kernel.decisions.front().slice_ns, policy.settings().slice_ns);
}

TEST(FullUserLoop, FullRingKeepsTheRestWaitingForTheNextRound) {
    policy::Scheduler policy(64);
    SchedulingLoop loop(policy, true);
    FakeKernel kernel;
    kernel.room = 3;
    for (std::int32_t pid = 1; pid <= 5; ++pid)
        kernel.queued.push_back(slice_end(pid, kMs));
    loop.run_round(kernel);
    EXPECT_EQ(kernel.decisions.size(), 3U);
    EXPECT_EQ(kernel.published_scheduled, 2U);  // BPF knows we still owe two
    kernel.room = SIZE_MAX;
    loop.run_round(kernel);
    EXPECT_EQ(kernel.decisions.size(), 5U);
    EXPECT_EQ(kernel.published_scheduled, 0U);
}

// More runnable threads than --max-tasks must not get the scheduler ejected:
// the ones the policy can't keep run anyway.
TEST(FullUserLoop, TaskThePolicyHasNoRoomForStillGetsADecision) {
    policy::Scheduler policy(2);
    SchedulingLoop loop(policy, true);
    FakeKernel kernel;
    kernel.queued = {slice_end(1, kMs), slice_end(2, kMs), slice_end(3, kMs, 42)};
    loop.run_round(kernel);
    ASSERT_EQ(kernel.decisions.size(), 3U);
    EXPECT_EQ(kernel.decisions[0].pid, 3);  // decided at once, while draining
    EXPECT_EQ(kernel.decisions[0].enq_cnt, 42U);
    EXPECT_EQ(kernel.decisions[0].cpu, RL_CPU_ANY);
    EXPECT_EQ(loop.counters().nr_untracked.load(), 1U);
}

}  // namespace
}  // namespace rustland::dispatcher
