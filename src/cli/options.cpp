#include "cli/options.h"

#include <CLI/CLI.hpp>

#include <string>
#include <variant>
#include <vector>

#include "version.h"

namespace rustland::cli {
namespace {

using config::Key;
using config::Settings;

// The configuration key each scheduler option sets.
struct Binding {
    CLI::Option* option;
    const Key* key;
};

// The option of one key, writing into its field of `s`. Names, help and
// ranges come from the key table; the shown defaults from `s`, which starts
// as Settings{}.
struct AddOption {
    CLI::App& app;
    Settings& s;
    const Key& key;

    std::string flags() const { return std::string(key.flags); }
    std::string help() const { return std::string(key.help); }

    CLI::Option* operator()(bool Settings::* member) const { return app.add_flag(flags(), s.*member, help()); }

    CLI::Option* operator()(policy::Ordering Settings::* member) const {
        const auto set = [&settings = s, member](const std::string& name) {
            settings.*member = *config::parse_ordering(name);
        };
        const CLI::Validator known(
            [](const std::string& name) {
                return config::parse_ordering(name) ? std::string() : "unknown ordering: " + name;
            },
            "");
        return app.add_option_function<std::string>(flags(), set, help())
            ->check(known)
            ->default_str(std::string(config::ordering_name(s.*member)));
    }

    // Numbers accept exactly the key's range. With zero_is_off the default
    // (0, off) is outside it and not shown: leaving the option out is off.
    template <class Number>
    CLI::Option* operator()(Number Settings::* member) const {
        CLI::Option* option =
            app.add_option(flags(), s.*member, help())->check(CLI::Range(key.min, key.max).description(key.range()));
        if (!key.zero_is_off)
            option->capture_default_str();
        return option;
    }
};

// One option per key that has flags, in the table's order.
std::vector<Binding> add_scheduler_options(CLI::App& app, Settings& s) {
    std::vector<Binding> bindings;
    for (const Key& key : config::keys()) {
        if (key.flags.empty())
            continue;
        CLI::Option* option = std::visit(AddOption{app, s, key}, key.field);
        if (!key.value_name.empty())
            option->type_name(std::string(key.value_name));
        bindings.push_back({option, &key});
    }
    return bindings;
}

}  // namespace

ParseResult parse(int argc, char** argv) {
    Options o;
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

    const std::vector<Binding> bindings = add_scheduler_options(app, o.settings);
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
    for (const Binding& b : bindings)
        if (b.option->count() > 0)
            o.given.insert(std::string(b.key->name));
    return o;
}

}  // namespace rustland::cli
