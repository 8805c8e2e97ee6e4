#include "policy/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

// Counts every global operator new in this binary, so a test can prove that a
// stretch of code allocated nothing. Not inlined: GCC would otherwise pair the
// library's inlined `new` with our `free` and warn about a mismatch.
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n))
        return p;
    throw std::bad_alloc();
}
// The nothrow forms too: with AddressSanitizer, whose own would otherwise
// allocate what our delete frees (std::stable_sort's buffer).
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++g_allocations;
    return std::malloc(n == 0 ? 1 : n);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace rustland::policy {
namespace {

constexpr std::uint64_t kUs = 1'000;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSec = 1'000'000'000;

Scheduler make_scheduler(Settings settings = {}, std::size_t capacity = 64) {
    Scheduler s(capacity);
    s.configure(settings);
    return s;
}

Decision pop_next(Scheduler& s) {
    Decision d;
    EXPECT_TRUE(s.peek(d));
    s.pop();
    return d;
}

std::vector<std::int32_t> drain(Scheduler& s) {
    std::vector<std::int32_t> pids;
    for (Decision d; s.peek(d); s.pop())
        pids.push_back(d.pid);
    return pids;
}

// --- ordering ----------------------------------------------------------------

TEST(Ordering, VruntimeIgnoresExecRuntime) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    // New tasks are charged their sum_exec_runtime (below one slice here).
    s.enqueue({.pid = 1, .sum_exec_runtime = 3 * kMs, .exec_runtime = 0}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 1 * kMs, .exec_runtime = 50 * kMs}, 0);
    s.enqueue({.pid = 3, .sum_exec_runtime = 2 * kMs, .exec_runtime = 9 * kMs}, 0);
    const Decision first = pop_next(s);
    EXPECT_EQ(first.pid, 2);
    EXPECT_EQ(first.vtime, 1 * kMs);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{3, 1}));
}

TEST(Ordering, DeadlineAddsExecRuntime) {
    auto s = make_scheduler();  // Deadline is the default
    s.enqueue({.pid = 1, .sum_exec_runtime = 1 * kMs, .exec_runtime = 4 * kMs}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 2 * kMs, .exec_runtime = 1 * kMs}, 0);
    s.enqueue({.pid = 3, .sum_exec_runtime = 3 * kMs, .exec_runtime = 0}, 0);
    const Decision first = pop_next(s);
    EXPECT_EQ(first.pid, 2);
    EXPECT_EQ(first.vtime, 3 * kMs);  // 2 ms vruntime + 1 ms since it last slept
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{3, 1}));
}

TEST(Ordering, DeadlineCapsExecRuntimeAtOneSlice) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .exec_runtime = 10 * kSec}, 0);
    Decision d;
    ASSERT_TRUE(s.peek(d));
    EXPECT_EQ(d.vtime, s.settings().slice_ns);
}

TEST(Ordering, LatencyCriticalInShortBurstsFirst) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .sum_exec_runtime = 0}, 0);
    s.enqueue({.pid = 2, .latency_critical = true, .sum_exec_runtime = 4 * kMs, .exec_runtime = 1 * kMs}, 0);
    s.enqueue({.pid = 3, .sum_exec_runtime = 1 * kMs}, 0);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{2, 1, 3}));
}

// A held task that used up a whole slice is busy: it waits its turn, so a
// held CPU hog cannot keep everyone else off the CPUs.
TEST(Ordering, LatencyCriticalAfterAWholeSliceWaitsItsTurn) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .sum_exec_runtime = 0}, 0);
    s.enqueue({.pid = 2, .latency_critical = true, .sum_exec_runtime = 4 * kMs, .exec_runtime = 5 * kMs}, 0);
    s.enqueue({.pid = 3, .sum_exec_runtime = 1 * kMs}, 0);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{1, 3, 2}));
}

TEST(Ordering, EqualKeysKeepEnqueueOrder) {
    auto s = make_scheduler();
    for (std::int32_t pid : {50, 30, 90, 10, 70})
        s.enqueue({.pid = pid}, 0);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{50, 30, 90, 10, 70}));
}

// --- vruntime ----------------------------------------------------------------

// A task whose key keeps it behind a stream of newcomers still runs once it
// has waited starvation_ns; before that, the order is the heap's.
TEST(Starvation, LongWaiterGoesNextAfterTheLimit) {
    auto s = make_scheduler({.starvation_ns = 100 * kMs});
    s.enqueue({.pid = 1, .exec_runtime = 10 * kSec}, 0);  // key 500 ms ahead
    std::int32_t pid = 100;
    for (std::uint64_t now = 10 * kMs; now < 100 * kMs; now += 10 * kMs) {
        s.enqueue({.pid = ++pid}, now);
        EXPECT_EQ(pop_next(s).pid, pid) << "at " << now / kMs << " ms";
    }
    s.enqueue({.pid = ++pid}, 100 * kMs);
    EXPECT_EQ(pop_next(s).pid, 1);
    EXPECT_EQ(s.counters().nr_starved, 1u);
    EXPECT_EQ(pop_next(s).pid, pid);
    EXPECT_EQ(s.nr_scheduled(), 0u);
}

TEST(Starvation, OldestWaiterFirstAmongStarved) {
    auto s = make_scheduler({.starvation_ns = 50 * kMs});
    s.enqueue({.pid = 1, .exec_runtime = 2 * kSec}, 0);
    s.enqueue({.pid = 2, .exec_runtime = 1 * kSec}, 10 * kMs);
    s.enqueue({.pid = 3}, 60 * kMs);  // smallest key, but 1 and 2 are starved
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{1, 2, 3}));
    EXPECT_EQ(s.counters().nr_starved, 2u);
}

TEST(Starvation, RequeueKeepsTheWaitStart) {
    auto s = make_scheduler({.starvation_ns = 50 * kMs});
    s.enqueue({.pid = 1, .exec_runtime = kSec, .enq_cnt = 1}, 0);
    s.enqueue({.pid = 2}, 10 * kMs);
    s.enqueue({.pid = 1, .exec_runtime = kSec, .enq_cnt = 2}, 55 * kMs);  // still waiting
    const Decision d = pop_next(s);
    EXPECT_EQ(d.pid, 1);
    EXPECT_EQ(d.enq_cnt, 2u);
}

TEST(Starvation, ExitingStarvedTaskLeavesTheWaitingList) {
    auto s = make_scheduler({.starvation_ns = 50 * kMs});
    s.enqueue({.pid = 1, .exec_runtime = kSec}, 0);
    s.enqueue({.pid = 2}, 10 * kMs);
    s.enqueue({.pid = 1, .exiting = true}, 60 * kMs);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{2}));
    EXPECT_EQ(s.counters().nr_starved, 0u);
}

TEST(Vruntime, HeavierTaskAccruesMoreSlowly) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .weight = 100}, 0);
    s.enqueue({.pid = 2, .weight = 200}, 0);
    drain(s);
    s.enqueue({.pid = 1, .sum_exec_runtime = 4 * kMs, .weight = 100}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 4 * kMs, .weight = 200}, 0);
    const Decision heavy = pop_next(s);
    const Decision light = pop_next(s);
    EXPECT_EQ(heavy.pid, 2);
    EXPECT_EQ(heavy.vtime, 2 * kMs);
    EXPECT_EQ(light.pid, 1);
    EXPECT_EQ(light.vtime, 4 * kMs);
}

TEST(Vruntime, WeightIsClampedToMax) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .sum_exec_runtime = 5 * kMs, .weight = kMaxWeight * 10}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 5 * kMs, .weight = 0}, 0);
    EXPECT_EQ(pop_next(s).vtime, 5 * kMs * 100 / kMaxWeight);
    EXPECT_EQ(pop_next(s).vtime, 5 * kMs * 100);  // weight 0 counts as 1
}

TEST(Vruntime, HeavierTaskIsPickedProportionallyMore) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    std::uint64_t sum[3] = {};
    const std::uint64_t weight[3] = {0, 100, 200};
    s.enqueue({.pid = 1, .weight = weight[1]}, 0);
    s.enqueue({.pid = 2, .weight = weight[2]}, 0);
    int picks[3] = {};
    for (int round = 0; round < 3000; ++round) {
        const std::int32_t pid = pop_next(s).pid;
        ++picks[pid];
        sum[pid] += 1 * kMs;  // it ran for 1 ms, then was preempted
        s.enqueue({.pid = pid, .sum_exec_runtime = sum[pid], .weight = weight[pid]}, 0);
    }
    EXPECT_NEAR(picks[2], 2 * picks[1], 3);
}

TEST(Vruntime, NewTaskChargedAtMostOneSlice) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .sum_exec_runtime = 10 * kSec}, 0);
    EXPECT_EQ(pop_next(s).vtime, s.settings().slice_ns);
}

TEST(Vruntime, CounterGoingBackwardsChargedAsNew) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .sum_exec_runtime = 4 * kMs}, 0);
    EXPECT_EQ(pop_next(s).vtime, 4 * kMs);
    // The pid was reused: the new process reports less CPU time than before.
    s.enqueue({.pid = 1, .sum_exec_runtime = 1 * kMs}, 0);
    EXPECT_EQ(pop_next(s).vtime, 5 * kMs);
}

TEST(Vruntime, MinVruntimeNeverGoesBackwards) {
    auto s = make_scheduler();  // Deadline: the order differs from vruntime order
    s.enqueue({.pid = 1, .sum_exec_runtime = 4 * kMs, .exec_runtime = 0}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 1 * kMs, .exec_runtime = 10 * kMs}, 0);
    EXPECT_EQ(pop_next(s).pid, 1);  // vruntime 4 ms: the clock moves to 4 ms
    EXPECT_EQ(pop_next(s).pid, 2);  // vruntime 1 ms: the clock must stay at 4 ms
    s.enqueue({.pid = 3}, 0);       // new tasks start at the clock
    EXPECT_EQ(pop_next(s).vtime, 4 * kMs);
}

TEST(Vruntime, SleeperCreditCappedAtOneSlice) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    const std::uint64_t slice = s.settings().slice_ns;
    s.enqueue({.pid = 1}, 0);  // the sleeper, vruntime 0
    s.enqueue({.pid = 2}, 0);  // a CPU hog
    EXPECT_EQ(pop_next(s).pid, 1);
    std::uint64_t hog_sum = 0;
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(pop_next(s).pid, 2);
        hog_sum += slice;
        s.enqueue({.pid = 2, .sum_exec_runtime = hog_sum}, 0);
    }
    EXPECT_EQ(pop_next(s).vtime, 10 * slice);  // the clock is now 10 slices
    s.enqueue({.pid = 1, .wakeup = true}, 0);
    EXPECT_EQ(pop_next(s).vtime, 9 * slice);
}

TEST(Vruntime, RecentSleeperKeepsItsVruntime) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .sum_exec_runtime = 1 * kMs}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 3 * kMs}, 0);
    drain(s);  // clock at 3 ms: pid 1 lags by 2 ms, less than a slice
    s.enqueue({.pid = 1, .sum_exec_runtime = 1 * kMs}, 0);
    EXPECT_EQ(pop_next(s).vtime, 1 * kMs);
}

// --- interactivity -----------------------------------------------------------

// Pid 1 wakes up every `period` and runs `burst` each time; returns one
// character per wakeup: 'i' once it is classified interactive, '.' if not.
std::string wakeup_trace(Scheduler& s, std::uint64_t& now, std::uint64_t period, std::uint64_t burst, int wakeups) {
    std::string out;
    TaskParams params;
    for (int i = 0; i < wakeups; ++i) {
        now += period;
        s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = burst}, now, params);
        out += s.counters().nr_interactive == 1 ? 'i' : '.';
    }
    return out;
}

TEST(Interactive, ClassifiedAtItsFirstWakeup) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    TaskParams params;
    s.observe({.pid = 1}, now, params);  // first seen: nothing known yet
    EXPECT_EQ(s.counters().nr_interactive, 0U);
    // A 60 Hz frame loop that works 2 ms per frame.
    EXPECT_EQ(wakeup_trace(s, now, 16 * kMs, 2 * kMs, 3), "iii");
}

// BPF sums up the wakeups of a task that wakes very often: one record then
// stands for several, and its period and burst are their averages.
TEST(Interactive, ARecordSummingWakeupsCountsTheirAverage) {
    auto s = make_scheduler();
    TaskParams params;
    s.observe({.pid = 1, .wakeup = true, .wakeups = 1}, 0, params);
    s.observe({.pid = 1, .wakeup = true, .wakeups = 5, .burst_ns = 5 * kMs}, 50 * kMs, params);
    EXPECT_EQ(s.counters().nr_interactive, 1U);  // 1 ms bursts every 10 ms
    s.observe({.pid = 2, .wakeup = true, .wakeups = 1}, 0, params);
    s.observe({.pid = 2, .wakeup = true, .wakeups = 5, .burst_ns = 40 * kMs}, 50 * kMs, params);
    EXPECT_EQ(s.counters().nr_interactive, 1U);  // pid 2 runs 8 ms of every 10
}

TEST(Interactive, RareWakeupsAreOrdinary) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    // Five times a second is below the threshold of ten, however short the bursts.
    EXPECT_EQ(wakeup_trace(s, now, 200 * kMs, 10 * kUs, 10), std::string(10, '.'));
}

TEST(Interactive, RunningMostOfThePeriodIsBusyNotInteractive) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    // 60 wakeups a second, but 12 ms of CPU out of every 16: it waits for nobody.
    EXPECT_EQ(wakeup_trace(s, now, 16 * kMs, 12 * kMs, 10), std::string(10, '.'));
    // Less than half the period is interactive again, once the average follows.
    EXPECT_EQ(wakeup_trace(s, now, 16 * kMs, 6 * kMs, 10).back(), 'i');
}

TEST(Interactive, OneLateWakeupDoesNotFlipIt) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    wakeup_trace(s, now, 16 * kMs, 1 * kMs, 10);
    // A 150 ms gap moves the average period a quarter of the way: ~50 ms.
    EXPECT_EQ(wakeup_trace(s, now, 150 * kMs, 1 * kMs, 1), "i");
    // Sleeping ever longer does, within a few wakeups.
    EXPECT_EQ(wakeup_trace(s, now, 500 * kMs, 1 * kMs, 3), "...");
}

TEST(Interactive, TurningIntoACpuHogLosesItWithinAFewSlices) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    wakeup_trace(s, now, 10 * kMs, 1 * kMs, 10);
    ASSERT_EQ(s.counters().nr_interactive, 1U);
    // It stops sleeping: no more wakeups, only slices used up.
    TaskParams params;
    std::string trace;
    for (std::uint64_t ran = 5 * kMs; ran <= 30 * kMs; ran += 5 * kMs) {
        s.observe({.pid = 1, .exec_runtime = ran}, now + ran, params);
        trace += s.counters().nr_interactive == 1 ? 'i' : '.';
    }
    EXPECT_EQ(trace, "ii....");
}

TEST(Interactive, CountedOncePerTaskAndForgottenAtExit) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    wakeup_trace(s, now, 10 * kMs, 1 * kMs, 5);
    wakeup_trace(s, now, 10 * kMs, 1 * kMs, 5);
    EXPECT_EQ(s.counters().nr_interactive, 1U);
    TaskParams params;
    s.observe({.pid = 1, .exiting = true}, now, params);
    EXPECT_EQ(s.counters().nr_interactive, 0U);
    EXPECT_EQ(s.counters().nr_tasks, 0U);
}

// Makes pid `pid` interactive in full-user mode: seen once, then a wakeup
// 10 ms later after a 1 ms burst.
void make_interactive(Scheduler& s, std::int32_t pid, std::uint64_t& now) {
    s.enqueue({.pid = pid}, now);
    now += 10 * kMs;
    s.enqueue({.pid = pid, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, now);
    for (Decision d; s.peek(d) && d.pid == pid;)
        s.pop();
}

std::uint64_t vtime_of_interactive_run(std::uint64_t slice_boost) {
    auto s = make_scheduler({.slice_boost = slice_boost, .ordering = Ordering::Vruntime});
    std::uint64_t now = 0;
    make_interactive(s, 1, now);
    s.enqueue({.pid = 1, .wakeup = true, .wakeups = 1, .sum_exec_runtime = 10 * kMs, .burst_ns = 1 * kMs},
              now + 10 * kMs);
    return pop_next(s).vtime;
}

TEST(Interactive, BoostDividesTheCharge) {
    EXPECT_EQ(vtime_of_interactive_run(100), 10 * kMs / 100);
    EXPECT_EQ(vtime_of_interactive_run(4), 10 * kMs / 4);
    EXPECT_EQ(vtime_of_interactive_run(0), 10 * kMs);  // 0 = off
}

// --- parameters published to BPF (default mode) --------------------------------

TEST(Params, OnlyChangesArePublished) {
    auto s = make_scheduler({.slice_boost = 50});
    TaskParams params;
    // A new task gets BPF's defaults (no boost, no preemption): nothing to send.
    EXPECT_FALSE(s.observe({.pid = 1}, 0, params));
    ASSERT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params));
    EXPECT_EQ(params.pid, 1);
    EXPECT_EQ(params.weight_boost, 50U);
    EXPECT_TRUE(params.preempt_on_wakeup);
    s.published(params);
    EXPECT_FALSE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 20 * kMs, params));
}

TEST(Params, OfferedAgainUntilPublished) {
    auto s = make_scheduler();
    TaskParams params;
    s.observe({.pid = 1}, 0, params);
    ASSERT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params));
    // The ring was full: published() was not called, so the next record offers it again.
    EXPECT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 20 * kMs, params));
}

TEST(Params, BackToDefaultsWhenNoLongerInteractive) {
    auto s = make_scheduler();
    TaskParams params;
    s.observe({.pid = 1}, 0, params);
    ASSERT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params));
    s.published(params);
    ASSERT_TRUE(s.observe({.pid = 1, .exec_runtime = kSec}, 20 * kMs, params));
    EXPECT_EQ(params.weight_boost, 1U);
    EXPECT_FALSE(params.preempt_on_wakeup);
}

TEST(Params, NoPreemptionSettingKeepsOnlyTheBoost) {
    auto s = make_scheduler({.slice_boost = 10, .preemption = false});
    TaskParams params;
    s.observe({.pid = 1}, 0, params);
    ASSERT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params));
    EXPECT_EQ(params.weight_boost, 10U);
    EXPECT_FALSE(params.preempt_on_wakeup);
}

// --- slices ------------------------------------------------------------------

TEST(Slice, ShrinksWithWaitingTasksDownToTheFloor) {
    auto s = make_scheduler({.slice_ns = 5 * kMs, .slice_min_ns = 500 * kUs});
    const std::vector<std::pair<std::int32_t, std::uint64_t>> expected = {
        {0, 5 * kMs},    {1, 5 * kMs},     {2, 5 * kMs},    {3, 2500 * kUs},
        {4, 2500 * kUs}, {5, 5 * kMs / 3}, {20, 500 * kUs}, {40, 500 * kUs},
    };
    std::int32_t waiting = 0;
    for (const auto& [n, slice] : expected) {
        for (; waiting < n; ++waiting)
            s.enqueue({.pid = waiting + 1}, 0);
        EXPECT_EQ(s.effective_slice_ns(), slice) << n << " waiting";
    }
}

TEST(Slice, OrdinaryTaskGetsTheEffectiveSlice) {
    auto s = make_scheduler();
    for (std::int32_t pid = 1; pid <= 6; ++pid)
        s.enqueue({.pid = pid}, 0);
    Decision d;
    ASSERT_TRUE(s.peek(d));
    EXPECT_EQ(d.slice_ns, s.effective_slice_ns());
    EXPECT_LT(d.slice_ns, s.settings().slice_ns);
    EXPECT_FALSE(d.preempt);
}

// The decision for pid 1 among five ordinary tasks.
Decision decision_for_pid1(Scheduler& s) {
    for (std::int32_t pid = 2; pid <= 6; ++pid)
        s.enqueue({.pid = pid}, 0);
    s.start_round();
    for (Decision d; s.peek(d); s.pop())
        if (d.pid == 1)
            return d;
    ADD_FAILURE() << "pid 1 was never dispatched";
    return {};
}

TEST(Slice, InteractiveWakeupGetsFullSliceAndPreempts) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    make_interactive(s, 1, now);
    s.enqueue({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, now + 10 * kMs);
    const Decision d = decision_for_pid1(s);
    EXPECT_EQ(d.slice_ns, s.settings().slice_ns);
    EXPECT_TRUE(d.preempt);
}

// Back from a used-up slice (not a wakeup), an interactive task is busy: it
// shares the CPUs like everyone else and preempts nobody.
TEST(Slice, InteractiveWithoutWakeupIsOrdinary) {
    auto s = make_scheduler();
    std::uint64_t now = 0;
    make_interactive(s, 1, now);
    s.enqueue({.pid = 1, .exec_runtime = 1 * kMs}, now);
    const std::uint64_t scaled = s.settings().slice_ns / 3;  // 6 waiting
    const Decision d = decision_for_pid1(s);
    EXPECT_EQ(d.slice_ns, scaled);
    EXPECT_FALSE(d.preempt);
}

TEST(Slice, InteractiveIsOrdinaryWithoutPreemption) {
    auto s = make_scheduler({.preemption = false});
    std::uint64_t now = 0;
    make_interactive(s, 1, now);
    s.enqueue({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, now + 10 * kMs);
    const std::uint64_t scaled = s.settings().slice_ns / 3;  // 6 waiting
    const Decision d = decision_for_pid1(s);
    EXPECT_EQ(d.slice_ns, scaled);
    EXPECT_FALSE(d.preempt);
}

TEST(Slice, LatencyCriticalWakeupGetsFullSliceAndPreempts) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .wakeup = true, .latency_critical = true}, 0);
    const Decision d = decision_for_pid1(s);
    EXPECT_EQ(d.slice_ns, s.settings().slice_ns);
    EXPECT_TRUE(d.preempt);
}

TEST(Slice, LatencyCriticalBackFromYieldGoesFirstWithoutPreempting) {
    auto s = make_scheduler();
    s.enqueue({.pid = 2, .sum_exec_runtime = 0}, 0);
    s.enqueue({.pid = 1, .wakeup = false, .latency_critical = true, .exec_runtime = 1 * kMs}, 0);
    Decision d;
    ASSERT_TRUE(s.peek(d));
    EXPECT_EQ(d.pid, 1);
    EXPECT_FALSE(d.preempt);
}

TEST(Slice, LatencyCriticalWithoutPreemptionGetsFullSliceOnly) {
    auto s = make_scheduler({.preemption = false});
    s.enqueue({.pid = 1, .wakeup = true, .latency_critical = true}, 0);
    const Decision d = decision_for_pid1(s);
    EXPECT_EQ(d.slice_ns, s.settings().slice_ns);
    EXPECT_FALSE(d.preempt);
}

// --- records -----------------------------------------------------------------

TEST(Records, DuplicateUpdatesTheWaitingEntry) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .exec_runtime = 0, .enq_cnt = 1}, 0);
    s.enqueue({.pid = 2, .exec_runtime = 1 * kMs, .enq_cnt = 7}, 0);
    s.enqueue({.pid = 1, .exec_runtime = 2 * kMs, .enq_cnt = 2}, 0);  // now later than pid 2
    EXPECT_EQ(s.nr_scheduled(), 2U);
    EXPECT_EQ(s.counters().nr_requeued, 1U);
    const Decision a = pop_next(s);
    const Decision b = pop_next(s);
    EXPECT_EQ(a.pid, 2);
    EXPECT_EQ(a.enq_cnt, 7U);
    EXPECT_EQ(b.pid, 1);
    EXPECT_EQ(b.enq_cnt, 2U);
    Decision none;
    EXPECT_FALSE(s.peek(none));
}

TEST(Records, ExitingWaitingTaskIsRemoved) {
    auto s = make_scheduler();
    for (std::int32_t pid = 1; pid <= 3; ++pid)
        s.enqueue({.pid = pid}, 0);
    s.enqueue({.pid = 2, .exiting = true}, 0);
    const Counters c = s.counters();
    EXPECT_EQ(c.nr_scheduled, 2U);
    EXPECT_EQ(c.nr_tasks, 2U);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{1, 3}));
}

TEST(Records, ExitingIdleTaskIsForgotten) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime});
    s.enqueue({.pid = 1, .sum_exec_runtime = 4 * kMs}, 0);
    pop_next(s);
    EXPECT_EQ(s.counters().nr_tasks, 1U);
    s.enqueue({.pid = 1, .exiting = true}, 0);
    s.enqueue({.pid = 9, .exiting = true}, 0);  // unknown: nothing to do
    EXPECT_EQ(s.counters().nr_tasks, 0U);
    EXPECT_EQ(s.nr_scheduled(), 0U);
    // The pid comes back as a new task: charged its whole (small) sum again.
    s.enqueue({.pid = 1, .sum_exec_runtime = 4 * kMs}, 0);
    EXPECT_EQ(pop_next(s).vtime, 8 * kMs);
}

TEST(Records, CpuHints) {
    auto s = make_scheduler();
    s.enqueue({.pid = 1, .cpu = 3, .nr_cpus_allowed = 1}, 0);
    s.enqueue({.pid = 2, .cpu = 3, .nr_cpus_allowed = 8}, 0);
    EXPECT_EQ(pop_next(s).cpu, 3);        // pinned: it can run nowhere else
    EXPECT_EQ(pop_next(s).cpu, kCpuAny);  // default: the first free CPU

    s.configure({.per_cpu_dispatch = true});
    s.enqueue({.pid = 2, .cpu = 5, .nr_cpus_allowed = 8}, 0);
    EXPECT_EQ(pop_next(s).cpu, 5);
}

TEST(Records, ManyPidsSurviveInsertAndErase) {
    // Exercises index collisions and backward-shift deletion.
    constexpr std::int32_t kN = 5000;
    auto s = make_scheduler({}, kN);
    for (std::int32_t pid = 1; pid <= kN; ++pid)
        s.enqueue({.pid = pid * 7, .enq_cnt = static_cast<std::uint64_t>(pid)}, 0);
    for (std::int32_t pid = 1; pid <= kN; pid += 2)
        s.enqueue({.pid = pid * 7, .exiting = true}, 0);
    // Each remaining pid is still found: a duplicate updates it, no new entry.
    for (std::int32_t pid = 2; pid <= kN; pid += 2)
        s.enqueue({.pid = pid * 7, .enq_cnt = static_cast<std::uint64_t>(pid)}, 0);
    EXPECT_EQ(s.counters().nr_tasks, static_cast<std::uint64_t>(kN / 2));
    EXPECT_EQ(s.counters().nr_requeued, static_cast<std::uint64_t>(kN / 2));
    for (Decision d; s.peek(d); s.pop())
        EXPECT_EQ(static_cast<std::uint64_t>(d.pid), 7 * d.enq_cnt);
}

// --- capacity ----------------------------------------------------------------

TEST(Capacity, OldestIdleStateIsReclaimedThenRecordsAreDropped) {
    auto s = make_scheduler({.ordering = Ordering::Vruntime}, 2);
    s.enqueue({.pid = 1, .sum_exec_runtime = 1 * kMs}, 0);
    s.enqueue({.pid = 2, .sum_exec_runtime = 2 * kMs}, 0);
    drain(s);                  // idle since: pid 1, then pid 2; the clock is at 2 ms
    s.enqueue({.pid = 3}, 0);  // reclaims pid 1's entry
    EXPECT_EQ(s.counters().nr_tasks, 2U);
    s.enqueue({.pid = 2, .sum_exec_runtime = 2 * kMs}, 0);
    // Both entries wait now: a third pid can't be kept.
    s.enqueue({.pid = 1}, 0);
    const Counters c = s.counters();
    EXPECT_EQ(c.nr_untracked, 1U);
    EXPECT_EQ(c.nr_tasks, 2U);
    const Decision first = pop_next(s);
    const Decision second = pop_next(s);
    EXPECT_EQ(first.pid, 3);
    EXPECT_EQ(first.vtime, 2 * kMs);  // new: starts at the clock
    EXPECT_EQ(second.pid, 2);
    EXPECT_EQ(second.vtime, 2 * kMs);  // kept its state: nothing new to charge
    EXPECT_EQ(s.nr_scheduled(), 0U);
}

TEST(Capacity, IdleStateStaysReclaimableAfterNewPids) {
    auto s = make_scheduler({}, 2);
    s.enqueue({.pid = 1}, 0);
    pop_next(s);               // pid 1 idle
    s.enqueue({.pid = 2}, 0);  // takes the free entry
    s.enqueue({.pid = 3}, 0);  // reclaims pid 1's entry
    EXPECT_EQ(s.counters().nr_untracked, 0U);
    EXPECT_EQ(drain(s), (std::vector<std::int32_t>{2, 3}));
}

// Default mode: no task ever waits in the policy, so every known task can
// make room; the one seen the longest ago goes first.
TEST(Capacity, ObservedTaskSeenLongestAgoMakesRoom) {
    auto s = make_scheduler({}, 2);
    TaskParams params;
    s.observe({.pid = 1}, 0, params);
    s.observe({.pid = 2}, 1, params);
    s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params);
    s.observe({.pid = 3}, 11 * kMs, params);  // pid 2 is forgotten, not pid 1
    EXPECT_EQ(s.counters().nr_untracked, 0U);
    EXPECT_EQ(s.counters().nr_tasks, 2U);
    EXPECT_EQ(s.counters().nr_interactive, 1U);  // pid 1 kept what it learnt
    s.observe({.pid = 1, .exiting = true}, 12 * kMs, params);
    s.observe({.pid = 4}, 13 * kMs, params);
    s.observe({.pid = 5}, 14 * kMs, params);  // room made again, by pid 3
    EXPECT_EQ(s.counters().nr_untracked, 0U);
    EXPECT_EQ(s.counters().nr_tasks, 2U);
}

// A task forgotten for room may still have its boost in BPF: when its pid
// comes back, the policy sends its parameters once, even BPF's defaults.
TEST(Capacity, PidMetAgainAfterItsBoostWasForgottenIsPublishedOnce) {
    auto s = make_scheduler({}, 2);
    TaskParams params;
    s.observe({.pid = 1}, 0, params);
    ASSERT_TRUE(s.observe({.pid = 1, .wakeup = true, .wakeups = 1, .burst_ns = 1 * kMs}, 10 * kMs, params));
    s.published(params);
    s.observe({.pid = 2}, 11 * kMs, params);
    s.observe({.pid = 3}, 12 * kMs, params);  // forgets pid 1, boosted in BPF
    ASSERT_TRUE(s.observe({.pid = 1}, 13 * kMs, params));
    EXPECT_EQ(params.weight_boost, 1U);
    EXPECT_FALSE(params.preempt_on_wakeup);
    s.published(params);
    EXPECT_FALSE(s.observe({.pid = 1}, 14 * kMs, params));
}

TEST(Capacity, ZeroCapacityDropsEverything) {
    Scheduler s(0);
    s.enqueue({.pid = 1}, 0);
    Decision d;
    EXPECT_FALSE(s.peek(d));
    EXPECT_EQ(s.counters().nr_untracked, 1U);
}

TEST(Capacity, HotPathDoesNotAllocate) {
    constexpr std::int32_t kN = 1000;
    auto s = make_scheduler({}, kN);
    const std::size_t before = g_allocations.load();
    std::uint64_t now = 0;
    for (int round = 0; round < 3; ++round) {
        for (std::int32_t pid = 1; pid <= kN; ++pid)
            s.enqueue({.pid = pid, .wakeup = true, .wakeups = 1, .sum_exec_runtime = now, .burst_ns = now / 100}, now);
        s.enqueue({.pid = 1}, now);                   // duplicate
        s.enqueue({.pid = 2, .exiting = true}, now);  // exit while waiting
        s.enqueue({.pid = kN + 1}, now);              // new pid, reclaims pid 2's entry
        s.enqueue({.pid = kN + 2}, now);              // table full of waiting tasks
        for (Decision d; s.peek(d); s.pop())
            now += 10 * kMs;
        s.enqueue({.pid = kN + 1, .exiting = true}, now);
        (void)s.counters();
        (void)s.effective_slice_ns();
    }
    const std::size_t allocations = g_allocations.load() - before;
    EXPECT_EQ(allocations, 0U);
    EXPECT_EQ(s.counters().nr_untracked, 3U);  // the checks above did run
}

}  // namespace
}  // namespace rustland::policy
