// What the scheduling loop needs from the kernel side: the BPF dispatcher in
// the daemon, a fake in the tests. Calls come from the scheduling thread, so
// implementations must not allocate or block.
#pragma once

#include <cstdint>

#include "intf.h"

namespace rustland::dispatcher {

// The policy settings BPF applies itself (default mode, and fallbacks).
struct Tunables {
    std::uint64_t slice_ns = 0;       // slice with nobody waiting
    std::uint64_t slice_min_ns = 0;   // floor of the shrinking slice
    bool deadline_ordering = true;    // add the current burst to the ordering key
    bool per_cpu_dispatch = false;    // queue tasks on the CPU they last ran on (-i)
    std::uint64_t starvation_ns = 0;  // a task queued longer runs next, whatever its deadline
};

// Receives each queued record while the scheduling thread drains the ring.
class QueuedSink {
public:
    virtual void on_queued(const rl_queued_task& task) = 0;

protected:
    ~QueuedSink() = default;
};

class KernelPort {
public:
    // Hands every available queued record to `sink`; returns how many, or
    // a negative errno.
    virtual int drain_queued(QueuedSink& sink) = 0;
    // Queues one decision (-u) for the kernel; false if the ring is full.
    virtual bool submit(const rl_dispatched_task& decision) = 0;
    // Queues one task's parameters (default mode); false if the ring is full.
    virtual bool submit(const rl_task_params& params) = 0;
    // Tells BPF what user space holds (-u), so it knows when to run us.
    virtual void publish(std::uint64_t nr_scheduled, bool drained) = 0;
    // New policy settings for BPF's own use (a live reload).
    virtual void publish(const Tunables& tunables) = 0;
    // The kernel ended the scheduler.
    virtual bool exited() const = 0;

protected:
    ~KernelPort() = default;
};

}  // namespace rustland::dispatcher
