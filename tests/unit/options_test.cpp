#include "cli/options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace rustland::cli {
namespace {

ParseResult parse_args(std::vector<std::string> args) {
    args.insert(args.begin(), "scx-rustland");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    return parse(static_cast<int>(argv.size()), argv.data());
}

Options parse_ok(std::vector<std::string> args) {
    auto r = parse_args(std::move(args));
    EXPECT_TRUE(std::holds_alternative<Options>(r));
    return std::holds_alternative<Options>(r) ? std::get<Options>(r) : Options{};
}

int parse_exit(std::vector<std::string> args) {
    auto r = parse_args(std::move(args));
    EXPECT_TRUE(std::holds_alternative<int>(r));
    return std::holds_alternative<int>(r) ? std::get<int>(r) : -1;
}

using config::Key;
using config::Settings;

// "-s" and "--slice-us" for "-s,--slice-us".
std::vector<std::string> names_of(const Key& key) {
    std::vector<std::string> names;
    std::istringstream flags{std::string(key.flags)};
    for (std::string name; std::getline(flags, name, ',');)
        names.push_back(name);
    return names;
}

// A valid value for the option of a key other than its default; none for a flag.
struct OtherValue {
    const Key& key;
    std::vector<std::string> operator()(bool Settings::*) const { return {}; }
    std::vector<std::string> operator()(policy::Ordering Settings::* m) const {
        const bool deadline = Settings{}.*m == policy::Ordering::Deadline;
        return {std::string(config::ordering_name(deadline ? policy::Ordering::Vruntime : policy::Ordering::Deadline))};
    }
    // The top of the range, above every default.
    template <class Number>
    std::vector<std::string> operator()(Number Settings::*) const {
        const std::string range = key.range();
        return {range.substr(range.find("..") + 2)};
    }
};

std::vector<std::string> changed_keys(const Settings& settings) {
    auto diff = config::compare(Settings{}, settings);
    diff.live.insert(diff.live.end(), diff.reattach.begin(), diff.reattach.end());
    return diff.live;
}

TEST(Options, EveryKeyButTheDbusOnesHasAnOption) {
    for (const Key& key : config::keys())
        EXPECT_EQ(key.flags.empty(), key.section() == "dbus") << key.name;
}

TEST(Options, EachOptionSetsItsKeyAndNothingElse) {
    for (const Key& key : config::keys())
        for (const std::string& name : names_of(key)) {
            std::vector<std::string> args{name};
            for (const std::string& value : std::visit(OtherValue{key}, key.field))
                args.push_back(value);
            const auto o = parse_ok(args);
            EXPECT_EQ(o.given, std::set<std::string>{std::string(key.name)}) << name;
            EXPECT_EQ(changed_keys(o.settings), std::vector<std::string>{std::string(key.name)}) << name;
        }
}

TEST(Options, NothingGivenMeansConfigDefaults) {
    const auto o = parse_ok({});
    EXPECT_TRUE(o.given.empty());
    EXPECT_EQ(o.settings, config::Settings{});
    EXPECT_FALSE(o.config_file.has_value());
    EXPECT_FALSE(o.check_config);
}

TEST(Options, ShortFlagsSetTheirKeys) {
    const auto o = parse_ok({"-s", "8000", "-S", "200", "-b", "50", "-i", "-n", "-u", "-p", "--ordering", "vruntime",
                             "--stats", "0.5", "--exit-dump-len", "4096"});
    const auto& s = o.settings;
    EXPECT_EQ(s.slice_us, 8000u);
    EXPECT_EQ(s.slice_us_min, 200u);
    EXPECT_EQ(s.slice_boost, 50u);
    EXPECT_TRUE(s.builtin_idle);
    EXPECT_TRUE(s.no_preemption);
    EXPECT_TRUE(s.full_user);
    EXPECT_TRUE(s.partial);
    EXPECT_EQ(s.ordering, policy::Ordering::Vruntime);
    EXPECT_EQ(s.exit_dump_len, 4096u);
    EXPECT_DOUBLE_EQ(s.stats_interval_s, 0.5);
    EXPECT_EQ(o.given, (std::set<std::string>{"scheduler.slice_us", "scheduler.slice_us_min", "scheduler.slice_boost",
                                              "scheduler.builtin_idle", "scheduler.no_preemption",
                                              "scheduler.full_user", "scheduler.partial", "scheduler.ordering",
                                              "logging.stats_interval", "scheduler.exit_dump_len"}));
}

TEST(Options, OnlyGivenKeysAreRecorded) {
    const auto o = parse_ok({"--slice-us", "7000", "-v"});
    EXPECT_EQ(o.given, (std::set<std::string>{"scheduler.slice_us", "logging.verbose"}));
}

TEST(Options, ConfigFileAndCheck) {
    const auto o = parse_ok({"--config", "/tmp/x.toml", "--check-config"});
    ASSERT_TRUE(o.config_file.has_value());
    EXPECT_EQ(*o.config_file, std::filesystem::path("/tmp/x.toml"));
    EXPECT_TRUE(o.check_config);
}

TEST(Options, BadValuesAreUsageErrors) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"-s", "5"},
                                                                  {"-s", "abc"},
                                                                  {"-S", "0"},
                                                                  {"-b", "-1"},
                                                                  {"--stats", "0"},
                                                                  {"--ordering", "fifo"},
                                                                  {"--no-such-option"},
                                                                  {"--max-tasks", "10"}})
        EXPECT_EQ(parse_exit(args), kExitUsage) << args[0];
}

TEST(Options, HelpAndVersionExitCleanly) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse_exit({"--help"}), kExitOk);
    EXPECT_EQ(parse_exit({"-V"}), kExitOk);
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_NE(out.find("--slice-us"), std::string::npos);
    EXPECT_NE(out.find("scx-rustland 0."), std::string::npos);
}

// Shown next to a number: its range, then its default unless the default is
// "off". CLI11 writes the default as "=5000" up to 2.3 (bookworm) and as
// " [5000]" from 2.4 (trixie).
TEST(Options, HelpShowsEveryOptionWithItsHelpRangeAndDefault) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse_exit({"--help"}), kExitOk);
    const std::string help = testing::internal::GetCapturedStdout();
    for (const Key& key : config::keys()) {
        if (key.flags.empty())
            continue;
        EXPECT_NE(help.find(std::string(key.flags)), std::string::npos) << key.name;
        EXPECT_NE(help.find(std::string(key.help)), std::string::npos) << key.name;
        if (key.max > key.min) {
            const std::string range = key.range();
            const std::string value = config::to_toml(Settings{}, key);
            const bool shown = key.zero_is_off ? help.find(range) != std::string::npos
                                               : help.find(range + "=" + value) != std::string::npos ||
                                                     help.find(range + " [" + value + "]") != std::string::npos;
            EXPECT_TRUE(shown) << key.name << ": " << range << " with its default " << value;
        }
    }
}

}  // namespace
}  // namespace rustland::cli
