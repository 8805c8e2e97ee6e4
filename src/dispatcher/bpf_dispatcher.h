// The BPF dispatcher, seen from user space: load, attach, detach, and the
// two rings the scheduling thread uses to talk to it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "dispatcher/kernel_port.h"
#include "intf.h"

struct rustland_bpf;
struct ring_buffer;
struct user_ring_buffer;
struct bpf_link;

namespace rustland::dispatcher {

static_assert(sizeof(rl_queued_task) == 72, "BPF and user space disagree on rl_queued_task");
static_assert(sizeof(rl_dispatched_task) == 40, "BPF and user space disagree on rl_dispatched_task");
static_assert(sizeof(rl_task_params) == 16, "BPF and user space disagree on rl_task_params");

// An error a person can act on; `what()` is one sentence.
class Error : public std::runtime_error {
public:
    enum class Kind { Failure, NoSchedExt, Busy };
    Error(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

struct LoadOptions {
    pid_t scheduler_tid = 0;  // the thread BPF treats as the scheduler
    Tunables tunables;
    bool full_user = false;
    bool partial = false;
    bool debug = false;
    std::uint32_t exit_dump_len = 0;
};

// Counters kept by the BPF side (cumulative since attach).
// Named as the daemon reports them (daemon/telemetry.h).
struct KernelCounters {
    std::uint64_t queued = 0;  // records in the ring the scheduling thread has not drained
    std::uint64_t running = 0;
    std::uint64_t user_dispatches = 0, kernel_dispatches = 0, param_updates = 0, preemptions = 0;
    std::uint64_t pinned_preemptions = 0;  // of preemptions: a pinned wakeup over its own class
    std::uint64_t tick_preemptions = 0;    // slices ended at a tick for a waiting interactive wakeup
    std::uint64_t cancelled = 0, bounced = 0, failed = 0, congested = 0, exit_drops = 0, heartbeats = 0;
    std::uint64_t starved = 0;  // tasks run out of deadline order, queued past the starvation bound
};

struct ExitInfo {
    int kind = 0;  // enum scx_exit_kind; 0 = still running
    std::int64_t exit_code = 0;
    std::string reason;
    std::string message;
    std::string dump;      // the kernel's debug dump (error exits only)
    bool restart = false;  // the kernel asks us to attach again (CPU hotplug)
};

class BpfDispatcher final : public KernelPort {
public:
    // Opens and loads the BPF program (not yet scheduling anything).
    BpfDispatcher(const LoadOptions& options);
    ~BpfDispatcher();
    BpfDispatcher(const BpfDispatcher&) = delete;
    BpfDispatcher& operator=(const BpfDispatcher&) = delete;

    // Makes the kernel use this scheduler. Throws Error{Busy} if another
    // scheduler got there first.
    void attach();
    // Gives the CPUs back to the fair class; idempotent.
    void detach();

    // --- Scheduling thread (no allocation, no blocking syscalls) ---
    int drain_queued(QueuedSink& sink) override;
    bool submit(const rl_dispatched_task& decision) override;
    bool submit(const rl_task_params& params) override;
    void publish(std::uint64_t nr_scheduled, bool drained) override;
    void publish(const Tunables& tunables) override;
    bool exited() const override;

    // --- Any thread ---
    KernelCounters counters() const;
    // The tgid -> latency hint map (see latency_hints.h).
    int latency_hints_fd() const;
    ExitInfo exit_info() const;

private:
    rustland_bpf* skel_ = nullptr;
    ring_buffer* queued_ = nullptr;
    user_ring_buffer* dispatched_ = nullptr;
    user_ring_buffer* params_ = nullptr;
    bpf_link* link_ = nullptr;
    QueuedSink* draining_ = nullptr;  // the sink of drain_queued() in progress
};

// Fails with one clear sentence unless this kernel can take a new scheduler now.
void check_kernel_ready();

// Why the daemon exits 3 on a kernel without sched_ext (kernel_release as
// uname -r gives it), and what to install: Debian 13's own 6.12 kernel is
// built without it, its backports kernels (6.17+) have it.
std::string no_sched_ext_message(const std::string& kernel_release);

// Routes libbpf's messages to our log: warnings always, debug output if verbose.
void route_libbpf_logs(bool verbose);

}  // namespace rustland::dispatcher
