#include "dispatcher/scheduling_loop.h"

#include "dispatcher/records.h"

#include <sched.h>
#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace rustland::dispatcher {
namespace {

std::uint64_t monotonic_ns() {
    // steady_clock is CLOCK_MONOTONIC through the vDSO: no syscall. BPF
    // timestamps (bpf_ktime_get_ns) use the same clock.
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

// Touches the stack the loop may use so no fault happens in it later.
[[gnu::noinline]] void prefault_stack() {
    constexpr std::size_t kBytes = 256 * 1024;
    char area[kBytes];
    for (std::size_t i = 0; i < kBytes; i += 4096)
        area[i] = 0;
    // Keeps the compiler from dropping the stores to a buffer nobody reads.
    asm volatile("" : : "r"(area) : "memory");
}

}  // namespace

void SchedulingLoop::on_queued(const rl_queued_task& task) { policy_.enqueue(to_policy(task), now_ns_); }

void SchedulingLoop::dispatch_round(BpfDispatcher& dispatcher) {
    // One decision per CPU that can take a task now; the kernel asks again
    // (and runs us) as soon as another CPU frees up.
    unsigned budget = dispatcher.free_cpus(online_cpus_);
    if (budget == 0)
        budget = 1;
    policy::Decision decision;
    while (budget > 0 && policy_.peek(decision)) {
        // The DSQs must run tasks in the order the policy chose them. Its
        // keys are not monotonic (a starved task goes next with a large key),
        // so a vtime-ordered DSQ would let later, smaller keys overtake it
        // again. Strictly increasing DSQ vtimes keep the policy's order, and
        // a task that later falls back to the kernel (congestion) keeps the
        // place its last vtime gives it.
        const std::uint64_t dsq_vtime = std::max(last_dsq_vtime_ + 1, decision.vtime);
        if (!dispatcher.submit(to_record(decision, dsq_vtime))) {
            counters_.ring_full.fetch_add(1, std::memory_order_relaxed);
            break;
        }
        last_dsq_vtime_ = dsq_vtime;
        policy_.pop();
        --budget;
    }
}

void SchedulingLoop::run(BpfDispatcher& dispatcher, const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed) && !dispatcher.exited()) {
        if (const policy::Settings* offered = offered_.load(std::memory_order_acquire);
            offered != adopted_.load(std::memory_order_relaxed)) {
            policy_.configure(*offered);
            adopted_.store(offered, std::memory_order_release);
        }
        now_ns_ = monotonic_ns();
        const int drained = dispatcher.drain_queued();
        dispatch_round(dispatcher);

        const auto waiting = policy_.nr_waiting();
        const auto slice = policy_.effective_slice_ns();
        dispatcher.publish(waiting, slice, drained >= 0);

        counters_.nr_waiting.store(waiting, std::memory_order_relaxed);
        const policy::Counters policy_counters = policy_.counters();
        counters_.nr_tasks.store(policy_counters.nr_tasks, std::memory_order_relaxed);
        counters_.nr_starved.store(policy_counters.nr_starved, std::memory_order_relaxed);
        counters_.nr_untracked.store(policy_counters.nr_untracked, std::memory_order_relaxed);
        counters_.slice_ns.store(slice, std::memory_order_relaxed);
        counters_.rounds.fetch_add(1, std::memory_order_relaxed);

        // Give the CPU back: BPF runs us again only when there is work.
        sched_yield();
    }
}

bool harden_scheduling_thread() {
    prefault_stack();
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return false;
    // Without TSYNC the filter binds this thread only: the control thread
    // keeps mmap for reloads and reattaches.
    int err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 0);
    if (!err)
        err = seccomp_load(ctx);
    seccomp_release(ctx);
    if (err)
        errno = -err;
    return err == 0;
}

}  // namespace rustland::dispatcher
