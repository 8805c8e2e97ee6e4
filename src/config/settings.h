// Every scheduler option, with its built-in default, and the table of
// configuration keys that describes them (name, type, range, whether a change
// applies live, the command-line option and its help). Parsing, validation,
// provenance, the command-line options and overlay, and the reload classifier
// all work from that one table; tests/unit/option_docs_test.cpp holds the
// manuals, config.toml and the shell completions to it.
//
// Pure C++: nothing here touches the scheduler, BPF or the file system.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/scheduler.h"

namespace rustland::config {

// Units, ranges and meanings: the key table (settings.cpp). One rule spans
// two keys: slice_us_min <= slice_us (checked when a configuration is loaded).
struct Settings {
    // [scheduler]
    std::uint64_t slice_us = 5000;
    std::uint64_t slice_us_min = 500;
    std::uint64_t slice_boost = 100;
    bool builtin_idle = false;
    bool no_preemption = false;
    bool full_user = false;
    bool partial = false;
    policy::Ordering ordering = policy::Ordering::Deadline;
    std::uint32_t exit_dump_len = 0;
    std::uint32_t max_tasks = 16384;
    // [logging]
    bool verbose = false;
    bool debug = false;
    double stats_interval_s = 0.0;
    // [dbus]: the org.scx.Rustland1 service and its limits for non-root callers
    bool dbus_enabled = true;
    std::uint32_t max_holds_per_user = 32;
    std::uint32_t hold_rate_burst = 20;
    double hold_rate_per_second = 2.0;
    std::uint32_t call_burst = 200;
    double call_rate_per_second = 100.0;
    std::uint32_t max_pending_authorizations_per_user = 2;

    policy::Settings policy_settings() const;

    bool operator==(const Settings&) const = default;
};

// Where a key's value lives in Settings; the alternative is the key's type.
using Field = std::variant<std::uint64_t Settings::*, std::uint32_t Settings::*, bool Settings::*, double Settings::*,
                           policy::Ordering Settings::*>;

struct Key {
    std::string_view name;  // "section.key", e.g. "scheduler.slice_us"
    Field field;
    double min = 0;  // inclusive range of numeric keys
    double max = 0;
    bool zero_is_off = false;  // 0 is also accepted (the feature is off)
    bool live = false;         // a change applies without reattaching the BPF scheduler
    // The command-line option that sets the key; keys without one ([dbus])
    // are set in the files only.
    std::string_view flags{};       // as CLI11 takes them: "-s,--slice-us"
    std::string_view value_name{};  // the option's value in --help and the man page: "N"; empty for a flag
    std::string_view help{};        // one line of --help

    std::string_view section() const;  // "scheduler"
    std::string_view leaf() const;     // "slice_us"
    // The range of a numeric key as --help, errors and the manuals write it:
    // "100..1000000", "0.1..3600".
    std::string range() const;
};

// Every key, [scheduler], [logging] then [dbus], in the order of the default file.
std::span<const Key> keys();
// nullptr if there is no such key.
const Key* find_key(std::string_view name);

// The value of one key as a TOML literal: 5000, true, 2.5, "deadline".
std::string to_toml(const Settings& settings, const Key& key);

std::string_view ordering_name(policy::Ordering ordering);              // "deadline" | "vruntime"
std::optional<policy::Ordering> parse_ordering(std::string_view name);  // exact, lower case

// What it takes to go from one Settings to another.
enum class Change {
    None,      // nothing changed
    Live,      // apply to the running scheduler (policy, stats, log level)
    Reattach,  // at least one value is only read when the BPF scheduler is loaded
};

struct Diff {
    Change change = Change::None;
    std::vector<std::string> live;      // changed keys that apply live, "section.key"
    std::vector<std::string> reattach;  // changed keys that need a reattach
};

Diff compare(const Settings& before, const Settings& after);

}  // namespace rustland::config
