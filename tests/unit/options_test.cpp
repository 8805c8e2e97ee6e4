#include "cli/options.h"

#include <gtest/gtest.h>

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

TEST(Options, DefaultsMatchThePolicyDefaults) {
    const auto o = parse_ok({});
    const policy::Settings defaults;
    const auto s = o.policy_settings();
    EXPECT_EQ(s.slice_ns, defaults.slice_ns);
    EXPECT_EQ(s.slice_min_ns, defaults.slice_min_ns);
    EXPECT_EQ(s.slice_boost, defaults.slice_boost);
    EXPECT_TRUE(s.preemption);
    EXPECT_EQ(s.ordering, policy::Ordering::Deadline);
    EXPECT_FALSE(o.stats_interval_s.has_value());
}

TEST(Options, ShortFlagsMapToSettings) {
    const auto o = parse_ok({"-s", "8000", "-S", "200", "-b", "50", "-i", "-n", "-u", "-p",
                             "--ordering", "vruntime", "--stats", "0.5", "--exit-dump-len", "4096"});
    const auto s = o.policy_settings();
    EXPECT_EQ(s.slice_ns, 8'000'000u);
    EXPECT_EQ(s.slice_min_ns, 200'000u);
    EXPECT_EQ(s.slice_boost, 50u);
    EXPECT_TRUE(s.per_cpu_dispatch);
    EXPECT_FALSE(s.preemption);
    EXPECT_EQ(s.ordering, policy::Ordering::Vruntime);
    EXPECT_TRUE(o.full_user);
    EXPECT_TRUE(o.partial);
    EXPECT_EQ(o.exit_dump_len, 4096u);
    ASSERT_TRUE(o.stats_interval_s.has_value());
    EXPECT_DOUBLE_EQ(*o.stats_interval_s, 0.5);
}

TEST(Options, BadValuesAreUsageErrors) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"-s", "5"}, {"-s", "abc"}, {"-S", "0"}, {"-b", "-1"}, {"--stats", "0"},
             {"--ordering", "fifo"}, {"--no-such-option"}, {"-s", "1000", "-S", "2000"}})
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

}  // namespace
}  // namespace rustland::cli
