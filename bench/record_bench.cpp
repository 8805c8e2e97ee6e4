// The ring-buffer record path of the scheduling thread, through the daemon's
// own code: each item copies one rl_queued_task out of a byte buffer laid out
// like the BPF ring's data (as the libbpf callback does), hands it to
// SchedulingLoop::on_queued (record -> policy::QueuedTask, then enqueue),
// takes one decision (peek + pop) with N tasks waiting, and encodes it as the
// rl_dispatched_task BPF reads. Not covered: reserving room in the user ring,
// which needs a live BPF map.
#include "dispatcher/records.h"
#include "dispatcher/scheduling_loop.h"
#include "policy/scheduler.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

namespace {

using rustland::dispatcher::SchedulingLoop;
using rustland::policy::Decision;
using rustland::policy::Scheduler;

// One record as the BPF side fills it: a task that ran `ran` ns and was queued again.
rl_queued_task make_record(std::int32_t pid, std::uint64_t sum, std::uint64_t ran, std::uint64_t gen) {
    rl_queued_task r{};
    r.pid = pid;
    r.cpu = pid % 8;
    r.flags = (gen & 3) == 0 ? RL_QUEUED_WAKEUP : 0;
    r.latency_class = RL_LATENCY_NORMAL;
    r.nr_cpus_allowed = 8;
    r.sum_exec_runtime = sum;
    r.exec_runtime = ran;
    r.burst_ns = ran / 4;
    r.weight = 100;
    r.enq_cnt = gen;
    r.timestamp = gen * 1'000;
    return r;
}

void BM_QueuedRecordPath(benchmark::State& state) {
    const auto n = static_cast<std::int32_t>(state.range(0));
    Scheduler policy(static_cast<std::size_t>(n));
    SchedulingLoop loop(policy, /*full_user=*/true);
    std::vector<std::uint64_t> sum(static_cast<std::size_t>(n) + 1);
    std::uint64_t gen = 0;

    // The ring's data area, holding the one record in flight.
    std::vector<unsigned char> ring(sizeof(rl_queued_task));
    const auto queue = [&](std::int32_t pid) {
        const std::uint64_t ran = (gen * 7919) % 5'000'000;
        sum[static_cast<std::size_t>(pid)] += ran;
        const rl_queued_task r = make_record(pid, sum[static_cast<std::size_t>(pid)], ran, ++gen);
        std::memcpy(ring.data(), &r, sizeof(r));
        rl_queued_task record;
        std::memcpy(&record, ring.data(), sizeof(record));
        loop.on_queued(record);
    };
    for (std::int32_t pid = 1; pid <= n; ++pid)
        queue(pid);

    Decision d;
    for (auto _ : state) {
        policy.peek(d);
        policy.pop();
        rl_dispatched_task out = rustland::dispatcher::to_record(d);
        benchmark::DoNotOptimize(out);
        queue(d.pid);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetComplexityN(state.range(0));
}

BENCHMARK(BM_QueuedRecordPath)->Arg(10)->Arg(100)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Complexity();

}  // namespace
