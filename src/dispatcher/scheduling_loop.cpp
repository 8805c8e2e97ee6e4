#include "dispatcher/scheduling_loop.h"

#include "dispatcher/records.h"

#include <sched.h>
#include <seccomp.h>

#include <cerrno>
#include <chrono>

namespace rustland::dispatcher {
namespace {

std::uint64_t monotonic_ns() {
    // steady_clock is CLOCK_MONOTONIC through the vDSO: no syscall. BPF
    // timestamps (bpf_ktime_get_ns) use the same clock.
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
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

Tunables tunables_of(const policy::Settings& s) {
    return Tunables{.slice_ns = s.slice_ns,
                    .slice_min_ns = s.slice_min_ns,
                    .deadline_ordering = s.ordering == policy::Ordering::Deadline,
                    .per_cpu_dispatch = s.per_cpu_dispatch,
                    .starvation_ns = s.starvation_ns};
}

void SchedulingLoop::on_queued(const rl_queued_task& record) {
    if (full_user_) {
        queue_for_decision(record);
        return;
    }
    policy::TaskParams params;
    // The record's own timestamp: how often a task wakes is measured between
    // the wakeups themselves, not between the rounds that read them.
    if (policy_.observe(to_policy(record), record.timestamp, params))
        publish_params(params);
}

// A full ring drops nothing: the policy only marks what BPF received, and
// offers the rest again at the task's next record.
void SchedulingLoop::publish_params(const policy::TaskParams& params) {
    if (kernel_->submit(to_record(params)))
        policy_.published(params);
    else
        counters_.ring_full.fetch_add(1, std::memory_order_relaxed);
}

// A task the policy has no room for still has to run: it gets a decision at
// once, or it would wait until the kernel ejects the scheduler.
void SchedulingLoop::queue_for_decision(const rl_queued_task& record) {
    const policy::QueuedTask task = to_policy(record);
    if (!policy_.enqueue(task, now_ns_) && !kernel_->submit(to_record(policy_.fallback(task))))
        counters_.ring_full.fetch_add(1, std::memory_order_relaxed);
}

// Every waiting task gets its decision now. The DSQs are ordered by the
// policy's keys, so the kernel runs them in the policy's order, and tasks
// that arrive later still sort ahead of these if their keys are smaller.
void SchedulingLoop::dispatch_round() {
    policy_.start_round();
    counters_.slice_ns.store(policy_.effective_slice_ns(), std::memory_order_relaxed);
    for (policy::Decision decision; policy_.peek(decision); policy_.pop()) {
        if (!kernel_->submit(to_record(decision))) {
            counters_.ring_full.fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
}

void SchedulingLoop::adopt_offered(KernelPort& kernel) {
    const policy::Settings* offered = offered_.load(std::memory_order_acquire);
    if (offered == adopted_.load(std::memory_order_relaxed))
        return;
    policy_.configure(*offered);
    kernel.publish(tunables_of(*offered));
    adopted_.store(offered, std::memory_order_release);
}

void SchedulingLoop::publish_counters() {
    const policy::Counters c = policy_.counters();
    counters_.nr_scheduled.store(c.nr_scheduled, std::memory_order_relaxed);
    counters_.nr_tasks.store(c.nr_tasks, std::memory_order_relaxed);
    counters_.nr_interactive.store(c.nr_interactive, std::memory_order_relaxed);
    counters_.nr_starved.store(c.nr_starved, std::memory_order_relaxed);
    counters_.nr_untracked.store(c.nr_untracked, std::memory_order_relaxed);
    counters_.rounds.fetch_add(1, std::memory_order_relaxed);
}

void SchedulingLoop::run_round(KernelPort& kernel) {
    kernel_ = &kernel;
    adopt_offered(kernel);
    now_ns_ = monotonic_ns();
    const int drained = kernel.drain_queued(*this);
    if (full_user_)
        dispatch_round();
    else
        counters_.slice_ns.store(policy_.settings().slice_ns, std::memory_order_relaxed);
    kernel.publish(policy_.nr_scheduled(), drained >= 0);
    publish_counters();
    kernel_ = nullptr;
}

void SchedulingLoop::run(KernelPort& kernel, const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed) && !kernel.exited()) {
        run_round(kernel);
        // Give the CPU back: BPF runs us again only when there is work.
        sched_yield();
    }
}

bool harden_scheduling_thread() {
    prefault_stack();
    // The vDSO's clock data (the [vvar] pages) is a special mapping that
    // mlockall does not populate, and the daemon may not have read a clock
    // yet (its log lines carry no time): the loop's first clock read faulted
    // once per session. Read it here, before the fault count starts.
    monotonic_ns();
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
