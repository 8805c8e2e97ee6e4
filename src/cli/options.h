// Command-line options of scx-rustland and their validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "policy/scheduler.h"

namespace rustland::cli {

// Process exit codes, documented in --help and the README.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,      // runtime failure (load, attach, repeated ejection)
    kExitUsage = 2,        // bad option or value: nothing was loaded
    kExitNoSchedExt = 3,   // the running kernel has no sched_ext
    kExitBusy = 4,         // another sched_ext scheduler is attached
};

struct Options {
    std::uint64_t slice_us = 5000;
    std::uint64_t slice_us_min = 500;
    std::uint64_t slice_boost = 100;
    bool builtin_idle = false;
    bool no_preemption = false;
    bool full_user = false;
    bool partial = false;
    policy::Ordering ordering = policy::Ordering::Deadline;
    std::uint32_t exit_dump_len = 0;
    bool debug = false;
    bool verbose = false;
    std::optional<double> stats_interval_s;
    std::uint32_t max_tasks = 65536;

    policy::Settings policy_settings() const;
};

// Either options to run with, or an exit code to leave with right away
// (after --help, --version, or an error that has already been printed).
using ParseResult = std::variant<Options, int>;

ParseResult parse(int argc, char** argv);

}  // namespace rustland::cli
