// One reading of every number the daemon reports about the scheduler, taken
// in one place and rendered from one name table: the stats line, the D-Bus
// Counters property, systemd's STATUS= line and the watchdog's progress
// sample all show the same values under the same names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dispatcher/bpf_dispatcher.h"
#include "dispatcher/scheduling_loop.h"
#include "systemd/watchdog_gate.h"

namespace rustland::daemon {

struct Telemetry {
    // Cumulative since the attach (docs/dbus-api.md names each).
    std::uint64_t queued = 0;
    std::uint64_t user_dispatches = 0;
    std::uint64_t kernel_dispatches = 0;
    std::uint64_t param_updates = 0;
    std::uint64_t preemptions = 0;
    std::uint64_t pinned_preemptions = 0;
    std::uint64_t tick_preemptions = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t bounced = 0;
    std::uint64_t failed = 0;
    std::uint64_t congested = 0;
    std::uint64_t exit_drops = 0;
    std::uint64_t ring_full = 0;
    std::uint64_t starved = 0;
    std::uint64_t untracked = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t page_faults = 0;  // of the scheduling thread, since its loop started
    // Current values.
    std::uint64_t scheduled = 0;  // tasks waiting in the policy for a decision (-u)
    std::uint64_t running = 0;
    std::uint64_t tasks = 0;
    std::uint64_t interactive = 0;
    std::uint64_t slice_us = 0;
    // The watchdog's progress counter; not reported.
    std::uint64_t rounds = 0;
};

struct TelemetryField {
    std::string_view name;
    std::uint64_t Telemetry::* value;
    bool cumulative;  // adds up across attaches; otherwise a current value
};

// Every reported field, in the order of the stats line.
std::span<const TelemetryField> telemetry_fields();

Telemetry take_telemetry(const dispatcher::KernelCounters& kernel, const dispatcher::LoopCounters& loop,
                         std::uint64_t page_faults);

// "queued=1 user_dispatches=0 ...": every field, in table order.
std::string stats_line(const Telemetry& t);
// systemd's STATUS=: what the scheduler is doing, in words.
std::string status_line(const Telemetry& t, bool partial);
// What the watchdog gate judges progress by.
systemd::ProgressSample progress_sample(const Telemetry& t);

// Minor + major page faults of one thread of this process, from procfs;
// nothing once the thread has exited.
std::optional<std::uint64_t> thread_page_faults(pid_t tid);

}  // namespace rustland::daemon
