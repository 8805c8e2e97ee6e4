// The scheduling thread: moves records from the dispatcher to the policy and
// decisions back, as fast as tasks arrive. After start it never allocates,
// never takes a lock another thread may hold, and only makes syscalls that do
// not wait on other tasks (sched_yield).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dispatcher/bpf_dispatcher.h"
#include "policy/scheduler.h"

namespace rustland::dispatcher {

// Numbers the scheduling thread publishes for other threads (relaxed reads).
struct LoopCounters {
    std::atomic<std::uint64_t> rounds{0};          // loop iterations: the progress counter
    std::atomic<std::uint64_t> nr_waiting{0};      // tasks waiting in the policy
    std::atomic<std::uint64_t> nr_tasks{0};        // pids the policy knows
    std::atomic<std::uint64_t> nr_starved{0};      // decisions forced by the starvation guard
    std::atomic<std::uint64_t> nr_untracked{0};    // records the policy had no room for
    std::atomic<std::uint64_t> slice_ns{0};        // current effective slice
    std::atomic<std::uint64_t> ring_full{0};       // rounds cut short by a full dispatch ring
};

class SchedulingLoop final : public QueuedSink {
public:
    // online_cpus: ids of the CPUs tasks can be dispatched to.
    SchedulingLoop(policy::Scheduler& policy, std::vector<unsigned> online_cpus)
        : policy_(policy), online_cpus_(std::move(online_cpus)) {}

    // Runs until `stop` is set or the kernel ends the scheduler.
    void run(BpfDispatcher& dispatcher, const std::atomic<bool>& stop);

    const LoopCounters& counters() const { return counters_; }

    // Control thread: new policy settings for the loop to adopt at the start
    // of its next round (copied there, so no allocation on the loop's side).
    // `settings` must stay alive until adopted() returns it.
    void offer(const policy::Settings* settings) { offered_.store(settings, std::memory_order_release); }
    const policy::Settings* adopted() const { return adopted_.load(std::memory_order_acquire); }

    void on_queued(const rl_queued_task& task) override;

private:
    void dispatch_round(BpfDispatcher& dispatcher);

    policy::Scheduler& policy_;
    const std::vector<unsigned> online_cpus_;
    std::uint64_t now_ns_ = 0;
    std::uint64_t last_dsq_vtime_ = 0;
    std::atomic<const policy::Settings*> offered_{nullptr};
    std::atomic<const policy::Settings*> adopted_{nullptr};
    LoopCounters counters_;
};

// Makes the calling thread safe to be the scheduler: its stack is touched
// (already locked by mlockall) and mmap(2) is refused on it from now on.
// Returns false, with errno, if the guard could not be installed.
bool harden_scheduling_thread();

}  // namespace rustland::dispatcher
