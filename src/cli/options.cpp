#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <map>

#include "version.h"

namespace rustland::cli {

policy::Settings Options::policy_settings() const {
    policy::Settings s;
    s.slice_ns = slice_us * 1000;
    s.slice_min_ns = slice_us_min * 1000;
    s.slice_boost = slice_boost;
    s.per_cpu_dispatch = builtin_idle;
    s.preemption = !no_preemption;
    s.ordering = ordering;
    return s;
}

ParseResult parse(int argc, char** argv) {
    Options o;
    CLI::App app{
        "scx-rustland: a sched_ext CPU scheduler that favours interactive tasks.\n"
        "A BPF dispatcher sends runnable tasks to this program, which decides\n"
        "which one runs next, where and for how long.\n\n"
        "Exit codes: 0 clean exit, 1 runtime failure, 2 bad usage,\n"
        "3 no sched_ext in this kernel, 4 another sched_ext scheduler is attached.",
        "scx-rustland"};
    app.set_version_flag("-V,--version", std::string("scx-rustland ") + kVersion);

    app.add_option("-s,--slice-us", o.slice_us,
                   "Base time slice in microseconds; shrinks as more tasks wait")
        ->check(CLI::Range(100, 1'000'000))->capture_default_str();
    app.add_option("-S,--slice-us-min", o.slice_us_min,
                   "Smallest time slice in microseconds, however many tasks wait")
        ->check(CLI::Range(10, 1'000'000))->capture_default_str();
    app.add_option("-b,--slice-boost", o.slice_boost,
                   "Weight multiplier for interactive tasks (0 or 1: no boost)")
        ->check(CLI::Range(0, 10'000))->capture_default_str();
    app.add_flag("-i,--builtin-idle", o.builtin_idle,
                 "Keep each task on the CPU it last ran on instead of the first free CPU");
    app.add_flag("-n,--no-preemption", o.no_preemption,
                 "Interactive tasks do not preempt others nor get the full slice");
    app.add_flag("-u,--full-user", o.full_user,
                 "Send every decision through user space (no kernel shortcut for idle CPUs)");
    app.add_flag("-p,--partial", o.partial,
                 "Schedule only tasks that set SCHED_EXT; others stay on the fair class");
    const std::map<std::string, policy::Ordering> orderings{
        {"deadline", policy::Ordering::Deadline}, {"vruntime", policy::Ordering::Vruntime}};
    app.add_option("--ordering", o.ordering,
                   "deadline: vruntime + CPU time since last sleep (default); "
                   "vruntime: weighted CPU time only")
        ->transform(CLI::CheckedTransformer(orderings, CLI::ignore_case))
        ->option_text("deadline|vruntime");
    app.add_option("--exit-dump-len", o.exit_dump_len,
                   "Bytes of kernel debug dump kept when the scheduler is ejected (0: kernel default)")
        ->check(CLI::Range(0u, 1u << 24));
    app.add_flag("-d,--debug", o.debug, "Trace dispatcher events to the kernel trace pipe");
    app.add_flag("-v,--verbose", o.verbose, "Verbose logging, including libbpf's");
    app.add_option("--stats", o.stats_interval_s,
                   "Print a line of counters every SECS seconds")
        ->type_name("SECS")->check(CLI::Range(0.1, 3600.0));
    app.add_option("--max-tasks", o.max_tasks,
                   "Most tasks the scheduler keeps state for (storage is allocated at start)")
        ->check(CLI::Range(1024u, 1u << 22))->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }
    if (o.slice_us_min > o.slice_us) {
        fmt::print(stderr, "--slice-us-min ({}) must not exceed --slice-us ({})\n", o.slice_us_min, o.slice_us);
        return kExitUsage;
    }
    return o;
}

}  // namespace rustland::cli
