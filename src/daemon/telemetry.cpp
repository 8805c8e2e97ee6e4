#include "daemon/telemetry.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace rustland::daemon {
namespace {

// The names are part of the D-Bus API (docs/dbus-api.md): never rename one.
constexpr TelemetryField kFields[] = {
    {"queued", &Telemetry::queued, true},
    {"scheduled", &Telemetry::scheduled, false},
    {"running", &Telemetry::running, false},
    {"user_dispatches", &Telemetry::user_dispatches, true},
    {"kernel_dispatches", &Telemetry::kernel_dispatches, true},
    {"param_updates", &Telemetry::param_updates, true},
    {"preemptions", &Telemetry::preemptions, true},
    {"pinned_preemptions", &Telemetry::pinned_preemptions, true},
    {"tick_preemptions", &Telemetry::tick_preemptions, true},
    {"cancelled", &Telemetry::cancelled, true},
    {"bounced", &Telemetry::bounced, true},
    {"failed", &Telemetry::failed, true},
    {"congested", &Telemetry::congested, true},
    {"exit_drops", &Telemetry::exit_drops, true},
    {"ring_full", &Telemetry::ring_full, true},
    {"starved", &Telemetry::starved, true},
    {"untracked", &Telemetry::untracked, true},
    {"heartbeats", &Telemetry::heartbeats, true},
    {"page_faults", &Telemetry::page_faults, true},
    {"slice_us", &Telemetry::slice_us, false},
    {"tasks", &Telemetry::tasks, false},
    {"interactive", &Telemetry::interactive, false},
};

}  // namespace

std::span<const TelemetryField> telemetry_fields() { return kFields; }

Telemetry take_telemetry(const dispatcher::KernelCounters& kernel, const dispatcher::LoopCounters& loop,
                         std::uint64_t page_faults) {
    return {.queued = kernel.queued,
            .user_dispatches = kernel.user_dispatches,
            .kernel_dispatches = kernel.kernel_dispatches,
            .param_updates = kernel.param_updates,
            .preemptions = kernel.preemptions,
            .pinned_preemptions = kernel.pinned_preemptions,
            .tick_preemptions = kernel.tick_preemptions,
            .cancelled = kernel.cancelled,
            .bounced = kernel.bounced,
            .failed = kernel.failed,
            .congested = kernel.congested,
            .exit_drops = kernel.exit_drops,
            .ring_full = loop.ring_full.load(),
            // The guard runs in BPF (default mode) and in the policy (-u).
            .starved = kernel.starved + loop.nr_starved.load(),
            .untracked = loop.nr_untracked.load(),
            .heartbeats = kernel.heartbeats,
            .page_faults = page_faults,
            .scheduled = loop.nr_scheduled.load(),
            .running = kernel.running,
            .tasks = loop.nr_tasks.load(),
            .interactive = loop.nr_interactive.load(),
            .slice_us = loop.slice_ns.load() / 1000,
            .rounds = loop.rounds.load()};
}

std::string stats_line(const Telemetry& t) {
    std::string line;
    for (const TelemetryField& field : kFields)
        fmt::format_to(std::back_inserter(line), "{}{}={}", line.empty() ? "" : " ", field.name, t.*field.value);
    return line;
}

std::string status_line(const Telemetry& t, bool partial) {
    return fmt::format("Scheduling{}: {} tasks known, {} interactive, {} waiting; {} user / {} kernel dispatches",
                       partial ? " SCHED_EXT tasks" : "", t.tasks, t.interactive, t.scheduled, t.user_dispatches,
                       t.kernel_dispatches);
}

systemd::ProgressSample progress_sample(const Telemetry& t) {
    return {.rounds = t.rounds, .nr_queued = t.queued, .nr_scheduled = t.scheduled, .heartbeats = t.heartbeats};
}

std::optional<std::uint64_t> thread_page_faults(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto comm_end = stat.rfind(')');
    if (comm_end == std::string::npos)
        return std::nullopt;
    // Fields after "pid (comm)": state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12)
    std::istringstream fields(stat.substr(comm_end + 2));
    std::string skip;
    std::uint64_t minflt = 0, majflt = 0;
    for (int i = 3; i < 10; ++i)
        fields >> skip;
    fields >> minflt >> skip >> majflt;
    return minflt + majflt;
}

}  // namespace rustland::daemon
