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
    t.wakeups = r.wakeups;
    t.sum_exec_runtime = r.sum_exec_runtime;
    t.exec_runtime = r.exec_runtime;
    t.burst_ns = r.burst_ns;
    t.weight = r.weight;
    t.enq_cnt = r.enq_cnt;
    return t;
}

rl_dispatched_task to_record(const policy::Decision& d) {
    rl_dispatched_task r{};
    r.pid = d.pid;
    r.cpu = d.cpu == policy::kCpuAny ? RL_CPU_ANY : d.cpu;
    r.flags = d.preempt ? RL_DISPATCH_PREEMPT : 0;
    r.slice_ns = d.slice_ns;
    r.vtime = d.vtime;
    r.enq_cnt = d.enq_cnt;
    return r;
}

rl_task_params to_record(const policy::TaskParams& p) {
    rl_task_params r{};
    r.pid = p.pid;
    r.flags = p.preempt_on_wakeup ? RL_PARAM_PREEMPT_ON_WAKEUP : 0;
    r.weight_boost = p.weight_boost;
    return r;
}

}  // namespace rustland::dispatcher
