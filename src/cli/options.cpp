#include "cli/options.h"

#include <CLI/CLI.hpp>

#include <map>
#include <vector>

#include "version.h"

namespace rustland::cli {
namespace {

// The configuration key each scheduler option sets.
struct Binding {
    CLI::Option* option;
    const char* key;
};

}  // namespace

ParseResult parse(int argc, char** argv) {
    Options o;
    config::Settings& s = o.settings;
    CLI::App app{
        "scx-rustland: a sched_ext CPU scheduler that favours interactive tasks.\n"
        "A BPF dispatcher sends runnable tasks to this program, which decides\n"
        "which one runs next, where and for how long.\n\n"
        "Options also read from /etc/scx-rustland/config.toml and config.d/*.toml;\n"
        "the command line wins over the files.\n\n"
        "Exit codes: 0 clean exit, 1 runtime failure, 2 bad usage,\n"
        "3 no sched_ext in this kernel, 4 another sched_ext scheduler is attached,\n"
        "5 invalid configuration file.",
        "scx-rustland"};
    app.set_version_flag("-V,--version", std::string("scx-rustland ") + kVersion);

    double stats_interval = 0;
    const std::map<std::string, policy::Ordering> orderings{
        {"deadline", policy::Ordering::Deadline}, {"vruntime", policy::Ordering::Vruntime}};
    // Each scheduler option sets one configuration key and, if numeric,
    // accepts exactly that key's range.
    std::vector<Binding> bindings;
    const auto bind = [&bindings](CLI::Option* option, const char* key) {
        const config::Key* k = config::find_key(key);
        if (k->max > k->min)
            option->check(CLI::Range(k->min, k->max));
        bindings.push_back({option, key});
    };
    bind(app.add_option("-s,--slice-us", s.slice_us,
                        "Base time slice in microseconds; shrinks as more tasks wait")
             ->capture_default_str(),
         "scheduler.slice_us");
    bind(app.add_option("-S,--slice-us-min", s.slice_us_min,
                        "Smallest time slice in microseconds, however many tasks wait")
             ->capture_default_str(),
         "scheduler.slice_us_min");
    bind(app.add_option("-b,--slice-boost", s.slice_boost,
                        "Weight multiplier for interactive tasks (0 or 1: no boost)")
             ->capture_default_str(),
         "scheduler.slice_boost");
    bind(app.add_flag("-i,--builtin-idle", s.builtin_idle,
                      "Keep each task on the CPU it last ran on instead of the first free CPU"),
         "scheduler.builtin_idle");
    bind(app.add_flag("-n,--no-preemption", s.no_preemption,
                      "Interactive tasks do not preempt others nor get the full slice"),
         "scheduler.no_preemption");
    bind(app.add_flag("-u,--full-user", s.full_user,
                      "Send every decision through user space (no kernel shortcut)"),
         "scheduler.full_user");
    bind(app.add_flag("-p,--partial", s.partial,
                      "Schedule only tasks that set SCHED_EXT; others stay on the fair class"),
         "scheduler.partial");
    bind(app.add_option("--ordering", s.ordering,
                        "deadline: vruntime + CPU time since last sleep (default); "
                        "vruntime: weighted CPU time only")
             ->transform(CLI::CheckedTransformer(orderings))
             ->option_text("deadline|vruntime"),
         "scheduler.ordering");
    bind(app.add_option("--exit-dump-len", s.exit_dump_len,
                        "Bytes of kernel debug dump kept when the scheduler is ejected (0: kernel default)"),
         "scheduler.exit_dump_len");
    bind(app.add_option("--max-tasks", s.max_tasks,
                        "Most tasks the scheduler keeps state for (storage is allocated at start)")
             ->capture_default_str(),
         "scheduler.max_tasks");
    bind(app.add_flag("-d,--debug", s.debug, "Trace dispatcher events to the kernel trace pipe"),
         "logging.debug");
    bind(app.add_flag("-v,--verbose", s.verbose, "Verbose logging, including libbpf's"), "logging.verbose");
    bind(app.add_option("--stats", stats_interval, "Print a line of counters every SECS seconds")
             ->type_name("SECS"),
         "logging.stats_interval");
    app.add_option("--config", o.config_file,
                   "Read this configuration file only (default: /etc/scx-rustland/config.toml "
                   "then config.d/*.toml)")
        ->type_name("PATH");
    app.add_flag("--check-config", o.check_config,
                 "Validate the configuration, print the effective values and where each came "
                 "from, and exit without loading anything");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }
    s.stats_interval_s = stats_interval;
    for (const Binding& b : bindings)
        if (b.option->count() > 0)
            o.given.insert(b.key);
    return o;
}

}  // namespace rustland::cli
