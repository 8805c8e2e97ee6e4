// The scheduling thread: moves records from the dispatcher to the policy, and
// the policy's answers back. After start it never allocates, never takes a
// lock another thread may hold, and only makes syscalls that do not wait on
// other tasks (sched_yield).
//
// Default mode: records only teach the policy, and what it learns about a
// task (its parameters) is published to BPF when it changes. Full-user mode
// (-u): every record is a task waiting for a decision, and each round hands
// the kernel a decision for every task waiting.
#pragma once

#include <atomic>
#include <cstdint>

#include "dispatcher/kernel_port.h"
#include "policy/scheduler.h"

namespace rustland::dispatcher {

// Numbers the scheduling thread publishes for other threads (relaxed reads).
struct LoopCounters {
    std::atomic<std::uint64_t> rounds{0};          // loop iterations: the progress counter
    std::atomic<std::uint64_t> nr_scheduled{0};    // tasks waiting in the policy (-u)
    std::atomic<std::uint64_t> nr_tasks{0};        // pids the policy knows
    std::atomic<std::uint64_t> nr_interactive{0};  // of those, classified interactive
    std::atomic<std::uint64_t> nr_starved{0};      // decisions forced by the starvation guard
    std::atomic<std::uint64_t> nr_untracked{0};    // records the policy had no room for
    std::atomic<std::uint64_t> slice_ns{0};        // slice of the latest round (-u)
    std::atomic<std::uint64_t> ring_full{0};       // answers that waited for room in a full ring
};

// The part of the policy's settings that BPF applies itself.
Tunables tunables_of(const policy::Settings& settings);

class SchedulingLoop final : public QueuedSink {
public:
    SchedulingLoop(policy::Scheduler& policy, bool full_user) : policy_(policy), full_user_(full_user) {}

    // Runs until `stop` is set or the kernel ends the scheduler, yielding
    // the CPU after every round: BPF runs us again when there is work.
    void run(KernelPort& kernel, const std::atomic<bool>& stop);
    // One round: adopt offered settings, read every record, answer.
    void run_round(KernelPort& kernel);

    const LoopCounters& counters() const { return counters_; }

    // Control thread: new policy settings for the loop to adopt at the start
    // of its next round (copied there, so no allocation on the loop's side).
    // `settings` must stay alive until adopted() returns it.
    void offer(const policy::Settings* settings) { offered_.store(settings, std::memory_order_release); }
    const policy::Settings* adopted() const { return adopted_.load(std::memory_order_acquire); }

    void on_queued(const rl_queued_task& task) override;

private:
    void adopt_offered(KernelPort& kernel);
    void publish_params(const policy::TaskParams& params);
    void queue_for_decision(const rl_queued_task& task);
    void dispatch_round();
    void publish_counters();

    policy::Scheduler& policy_;
    const bool full_user_;
    KernelPort* kernel_ = nullptr;  // set for the duration of a round
    std::uint64_t now_ns_ = 0;
    std::atomic<const policy::Settings*> offered_{nullptr};
    std::atomic<const policy::Settings*> adopted_{nullptr};
    LoopCounters counters_;
};

// Makes the calling thread safe to be the scheduler: its stack is touched
// (already locked by mlockall) and mmap(2) is refused on it from now on.
// Returns false, with errno, if the guard could not be installed.
bool harden_scheduling_thread();

}  // namespace rustland::dispatcher
