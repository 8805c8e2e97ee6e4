// Policy throughput on one core, with N tasks kept runnable.
//
//   BM_EnqueueDispatch/N  one decision (peek + pop) and one record (enqueue)
//                         per item: the steady state of the scheduling loop.
//   BM_Record/N           one record per item for a task that is already
//                         waiting: the QueuedTask path alone (pid lookup,
//                         state update, in-place heap fix), no decision.
// Both fit a complexity curve over N = 10 .. 100k (the "BigO" rows of the
// output): the heap makes it O(log n); the hash index keeps lookups O(1).
#include "policy/scheduler.h"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using rustland::policy::Decision;
using rustland::policy::QueuedTask;
using rustland::policy::Scheduler;

// xorshift64: cheap, deterministic run lengths so tasks land all over the heap.
struct Rng {
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;
    std::uint64_t operator()() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    }
};

// N tasks, each with its own CPU-time counter, all queued once.
struct Workload {
    explicit Workload(std::int32_t n) : sched(static_cast<std::size_t>(n)), sum(n + 1) {
        for (std::int32_t pid = 1; pid <= n; ++pid)
            record(pid);
    }

    // The task ran for a random while below 5 ms, then was queued again.
    void record(std::int32_t pid) {
        const std::uint64_t ran = rng() % 5'000'000;
        sum[pid] += ran;
        now += 1'000;
        sched.enqueue(QueuedTask{.pid = pid,
                                 .nr_cpus_allowed = 8,
                                 .sum_exec_runtime = sum[pid],
                                 .exec_runtime = ran,
                                 .burst_ns = ran / 4,
                                 .enq_cnt = now},
                      now);
    }

    Scheduler sched;
    std::vector<std::uint64_t> sum;
    std::uint64_t now = 0;
    Rng rng;
};

void BM_EnqueueDispatch(benchmark::State& state) {
    Workload w(static_cast<std::int32_t>(state.range(0)));
    Decision d;
    for (auto _ : state) {
        w.sched.peek(d);
        w.sched.pop();
        w.record(d.pid);
        benchmark::DoNotOptimize(d);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetComplexityN(state.range(0));
}

void BM_Record(benchmark::State& state) {
    const auto n = static_cast<std::int32_t>(state.range(0));
    Workload w(n);
    std::int32_t pid = 0;
    for (auto _ : state) {
        pid = pid == n ? 1 : pid + 1;
        w.record(pid);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetComplexityN(state.range(0));
}

// 100 between 10 and 1k gives the fit a fifth point.
BENCHMARK(BM_EnqueueDispatch)->Arg(10)->Arg(100)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Complexity();
BENCHMARK(BM_Record)->Arg(10)->Arg(100)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Complexity();

}  // namespace
