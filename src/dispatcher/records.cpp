#include "dispatcher/records.h"

namespace rustland::dispatcher {

policy::QueuedTask to_policy(const rl_queued_task& r) {
    policy::QueuedTask t;
    t.pid = r.pid;
    t.cpu = r.cpu;
    t.exiting = r.flags & RL_QUEUED_EXITING;
    t.wakeup = r.flags & RL_QUEUED_WAKEUP;
    t.latency_critical = r.latency_class == RL_LATENCY_CRITICAL;
    t.nr_cpus_allowed = r.nr_cpus_allowed;
    t.sum_exec_runtime = r.sum_exec_runtime;
    t.exec_runtime = r.exec_runtime;
    t.nvcsw = r.nvcsw;
    t.weight = r.weight;
    t.enq_cnt = r.enq_cnt;
    return t;
}

rl_dispatched_task to_record(const policy::Decision& d, std::uint64_t dsq_vtime) {
    rl_dispatched_task r{};
    r.pid = d.pid;
    r.cpu = d.cpu == policy::kCpuAny ? RL_CPU_ANY : d.cpu;
    r.flags = d.preempt ? RL_DISPATCH_PREEMPT : 0;
    r.slice_ns = d.slice_ns;
    r.vtime = dsq_vtime;
    r.enq_cnt = d.enq_cnt;
    return r;
}

}  // namespace rustland::dispatcher
