#include "config/settings.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace rustland::config {

namespace {

// The single description of every key and of the command-line option that
// sets it: the parser, the validation, the reload classifier and --help all
// read it. `live`: the running daemon can apply a change without reloading
// the BPF program; the others are read at load time (BPF rodata, struct_ops
// flags, the policy's preallocated storage).
// One entry per key, laid out by hand.
// clang-format off
const Key kKeys[] = {
    {.name = "scheduler.slice_us", .field = &Settings::slice_us, .min = 100, .max = 1'000'000, .live = true,
     .flags = "-s,--slice-us", .value_name = "N",
     .help = "Base time slice in microseconds; shrinks as more tasks wait"},
    {.name = "scheduler.slice_us_min", .field = &Settings::slice_us_min, .min = 10, .max = 1'000'000,
     .live = true, .flags = "-S,--slice-us-min", .value_name = "N",
     .help = "Smallest time slice in microseconds, however many tasks wait"},
    {.name = "scheduler.slice_boost", .field = &Settings::slice_boost, .min = 0, .max = 10'000, .live = true,
     .flags = "-b,--slice-boost", .value_name = "N",
     .help = "Weight multiplier for interactive tasks (0 or 1: no boost)"},
    // Same key and flag as upstream scx_rustland, another meaning: kept so
    // that existing configurations and command lines still work.
    {.name = "scheduler.builtin_idle", .field = &Settings::builtin_idle, .live = true,
     .flags = "-i,--builtin-idle",
     .help = "Keep each task on the CPU it last ran on instead of the first free CPU. Not upstream "
             "scx_rustland's -i (use the kernel's built-in idle-CPU selection): here that selection "
             "places waking tasks either way, except with -u"},
    {.name = "scheduler.no_preemption", .field = &Settings::no_preemption, .live = true,
     .flags = "-n,--no-preemption", .help = "Interactive tasks do not preempt others nor get the full slice"},
    {.name = "scheduler.full_user", .field = &Settings::full_user, .live = false, .flags = "-u,--full-user",
     .help = "Send every decision through user space (no kernel shortcut)"},
    {.name = "scheduler.partial", .field = &Settings::partial, .live = false, .flags = "-p,--partial",
     .help = "Schedule only tasks that set SCHED_EXT; others stay on the fair class"},
    {.name = "scheduler.ordering", .field = &Settings::ordering, .live = true, .flags = "--ordering",
     .value_name = "deadline|vruntime",
     .help = "deadline: vruntime + CPU time since last sleep; vruntime: weighted CPU time only"},
    {.name = "scheduler.exit_dump_len", .field = &Settings::exit_dump_len, .min = 0, .max = 1 << 24,
     .live = false, .flags = "--exit-dump-len", .value_name = "N",
     .help = "Bytes of kernel debug dump kept when the scheduler is ejected (0: kernel default)"},
    {.name = "scheduler.max_tasks", .field = &Settings::max_tasks, .min = 1024, .max = 1 << 22, .live = false,
     .flags = "--max-tasks", .value_name = "N",
     .help = "Most tasks the scheduler keeps state for (storage is allocated at start)"},
    {.name = "logging.verbose", .field = &Settings::verbose, .live = true, .flags = "-v,--verbose",
     .help = "Verbose logging, including libbpf's"},
    {.name = "logging.debug", .field = &Settings::debug, .live = false, .flags = "-d,--debug",
     .help = "Trace dispatcher events to the kernel trace pipe"},
    // On the command line, no counters is the absence of --stats: 0 is refused there.
    {.name = "logging.stats_interval", .field = &Settings::stats_interval_s, .min = 0.1, .max = 3600,
     .zero_is_off = true, .live = true, .flags = "--stats", .value_name = "SECS",
     .help = "Print a line of counters every SECS seconds"},
    {.name = "dbus.enabled", .field = &Settings::dbus_enabled, .live = true},
    {.name = "dbus.max_holds_per_user", .field = &Settings::max_holds_per_user, .min = 1, .max = 4096,
     .live = true},
    {.name = "dbus.hold_rate_burst", .field = &Settings::hold_rate_burst, .min = 1, .max = 10'000, .live = true},
    {.name = "dbus.hold_rate_per_second", .field = &Settings::hold_rate_per_second, .min = 0.01, .max = 1000,
     .live = true},
    {.name = "dbus.call_burst", .field = &Settings::call_burst, .min = 1, .max = 100'000, .live = true},
    {.name = "dbus.call_rate_per_second", .field = &Settings::call_rate_per_second, .min = 0.01,
     .max = 100'000, .live = true},
    // At most the service's total of pending polkit questions (64).
    {.name = "dbus.max_pending_authorizations_per_user", .field = &Settings::max_pending_authorizations_per_user,
     .min = 1, .max = 64, .live = true},
};
// clang-format on

}  // namespace

policy::Settings Settings::policy_settings() const {
    policy::Settings s;
    s.slice_ns = slice_us * 1000;
    s.slice_min_ns = slice_us_min * 1000;
    s.slice_boost = slice_boost;
    s.per_cpu_dispatch = builtin_idle;
    s.preemption = !no_preemption;
    s.ordering = ordering;
    return s;
}

std::string_view Key::section() const { return name.substr(0, name.find('.')); }

std::string_view Key::leaf() const { return name.substr(name.find('.') + 1); }

std::string Key::range() const {
    const bool integer = std::holds_alternative<std::uint64_t Settings::*>(field) ||
                         std::holds_alternative<std::uint32_t Settings::*>(field);
    // Integers without a fraction or an exponent: 1000000, not 1e+06.
    return integer ? fmt::format("{}..{}", static_cast<std::int64_t>(min), static_cast<std::int64_t>(max))
                   : fmt::format("{}..{}", min, max);
}

std::span<const Key> keys() { return kKeys; }

const Key* find_key(std::string_view name) {
    const auto it = std::find_if(std::begin(kKeys), std::end(kKeys), [&](const Key& k) { return k.name == name; });
    return it == std::end(kKeys) ? nullptr : &*it;
}

std::string_view ordering_name(policy::Ordering ordering) {
    return ordering == policy::Ordering::Vruntime ? "vruntime" : "deadline";
}

std::optional<policy::Ordering> parse_ordering(std::string_view name) {
    if (name == "deadline")
        return policy::Ordering::Deadline;
    if (name == "vruntime")
        return policy::Ordering::Vruntime;
    return std::nullopt;
}

std::string to_toml(const Settings& settings, const Key& key) {
    struct Format {
        const Settings& s;
        std::string operator()(std::uint64_t Settings::* m) const { return fmt::format("{}", s.*m); }
        std::string operator()(std::uint32_t Settings::* m) const { return fmt::format("{}", s.*m); }
        std::string operator()(bool Settings::* m) const { return s.*m ? "true" : "false"; }
        std::string operator()(double Settings::* m) const {
            // Shortest form that reads back as the same double, always a TOML float.
            std::string text = fmt::format("{}", s.*m);
            if (std::isfinite(s.*m) && text.find_first_of(".e") == std::string::npos)
                text += ".0";
            return text;
        }
        std::string operator()(policy::Ordering Settings::* m) const {
            return fmt::format("\"{}\"", ordering_name(s.*m));
        }
    };
    return std::visit(Format{settings}, key.field);
}

Diff compare(const Settings& before, const Settings& after) {
    Diff diff;
    for (const Key& key : kKeys) {
        const bool same = std::visit([&](auto member) { return before.*member == after.*member; }, key.field);
        if (!same)
            (key.live ? diff.live : diff.reattach).emplace_back(key.name);
    }
    if (!diff.reattach.empty())
        diff.change = Change::Reattach;
    else if (!diff.live.empty())
        diff.change = Change::Live;
    return diff;
}

}  // namespace rustland::config
