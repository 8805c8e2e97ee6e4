// scx-rustlandctl's pure parts: command line, error classification, output.
#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ctl/arguments.h"
#include "ctl/errors.h"
#include "ctl/format.h"

namespace rustland::ctl {
namespace {

ParsedArguments parse(std::vector<const char*> args) {
    args.insert(args.begin(), "scx-rustlandctl");
    return parse_arguments(args);
}

template <class T>
T parse_as(std::vector<const char*> args) {
    const auto parsed = parse(std::move(args));
    EXPECT_TRUE(parsed.command.has_value()) << parsed.err;
    EXPECT_TRUE(std::holds_alternative<T>(*parsed.command));
    return std::get<T>(*parsed.command);
}

TEST(CtlArguments, StatusAndListTakeJson) {
    EXPECT_FALSE(parse_as<StatusCommand>({"status"}).json);
    EXPECT_TRUE(parse_as<StatusCommand>({"status", "--json"}).json);
    EXPECT_TRUE(parse_as<ListCommand>({"list", "--json"}).json);
}

TEST(CtlArguments, MonitorIntervalIsInSecondsWithinRange) {
    EXPECT_EQ(parse_as<MonitorCommand>({"monitor"}).interval, std::chrono::milliseconds(1000));
    EXPECT_EQ(parse_as<MonitorCommand>({"monitor", "--interval", "0.25"}).interval,
              std::chrono::milliseconds(250));
    EXPECT_EQ(parse({"monitor", "--interval", "0"}).exit_code, 2);
    EXPECT_EQ(parse({"monitor", "--interval", "-1"}).exit_code, 2);
}

TEST(CtlArguments, HoldTakesPidAppIdReasonPersistent) {
    const auto plain = parse_as<HoldCommand>({"hold", "1234"});
    EXPECT_EQ(plain.pid, 1234);
    EXPECT_FALSE(plain.app_id.has_value());
    EXPECT_EQ(plain.reason, "scx-rustlandctl hold");
    EXPECT_FALSE(plain.persistent);

    const auto full = parse_as<HoldCommand>(
        {"hold", "7", "--app-id", "steam:570", "--reason", "match", "--persistent"});
    EXPECT_EQ(full.app_id, "steam:570");
    EXPECT_EQ(full.reason, "match");
    EXPECT_TRUE(full.persistent);

    for (const char* bad : {"0", "-5", "x12", "99999999999"}) {
        const auto parsed = parse({"hold", bad});
        EXPECT_FALSE(parsed.command.has_value()) << bad;
        EXPECT_EQ(parsed.exit_code, 2) << bad;
        EXPECT_FALSE(parsed.err.empty()) << bad;
    }
}

TEST(CtlArguments, ReleaseTakesA64BitCookie) {
    EXPECT_EQ(parse_as<ReleaseCommand>({"release", "18446744073709551615"}).cookie,
              18446744073709551615ULL);
    EXPECT_EQ(parse({"release"}).exit_code, 2);
    EXPECT_EQ(parse({"release", "cookie"}).exit_code, 2);
}

TEST(CtlArguments, RunKeepsTheCommandsOwnOptionsAfterDoubleDash) {
    const auto run = parse_as<RunCommand>({"run", "--strict", "--", "/usr/bin/game", "-c", "--x"});
    EXPECT_EQ(run.argv, (std::vector<std::string>{"/usr/bin/game", "-c", "--x"}));
    EXPECT_TRUE(run.strict);
    EXPECT_EQ(run.app_id, "game");
    EXPECT_EQ(run.reason, "scx-rustlandctl run");

    const auto named = parse_as<RunCommand>({"run", "--app-id", "steam:570", "--reason", "r",
                                             "--", "sh"});
    EXPECT_EQ(named.app_id, "steam:570");
    EXPECT_EQ(named.reason, "r");
    EXPECT_FALSE(named.strict);

    EXPECT_EQ(parse({"run"}).exit_code, 2);
    EXPECT_EQ(parse({"run", "--"}).exit_code, 2);
}

TEST(CtlArguments, HelpAndVersionSucceedUsageErrorsAre2) {
    const auto help = parse({"--help"});
    EXPECT_FALSE(help.command.has_value());
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Exit codes"), std::string::npos);

    const auto version = parse({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_FALSE(version.out.empty());

    EXPECT_EQ(parse({}).exit_code, 2);
    EXPECT_EQ(parse({"frobnicate"}).exit_code, 2);
    EXPECT_EQ(parse({"status", "--bogus"}).exit_code, 2);
}

TEST(CtlArguments, DescribeNamesTheCommandAndItsTarget) {
    EXPECT_EQ(describe(StatusCommand{}), "status");
    HoldCommand hold;
    hold.pid = 1234;
    EXPECT_EQ(describe(hold), "hold 1234");
    EXPECT_EQ(describe(ReleaseCommand{.cookie = 9}), "release 9");
    RunCommand run;
    run.argv = {"steam", "-x"};
    EXPECT_EQ(describe(run), "run steam");
}

TEST(CtlErrors, DaemonErrorsMapToDistinctExitCodes) {
    const std::array<std::pair<const char*, ExitCode>, 11> cases{{
        {"org.scx.Rustland1.Error.PermissionDenied", ExitCode::permission_denied},
        {"org.scx.Rustland1.Error.NoSuchProcess", ExitCode::no_such_target},
        {"org.scx.Rustland1.Error.NoSuchHold", ExitCode::no_such_target},
        {"org.scx.Rustland1.Error.LimitExceeded", ExitCode::limit_exceeded},
        {"org.scx.Rustland1.Error.InvalidArgument", ExitCode::usage},
        {"org.scx.Rustland1.Error.BadConfig", ExitCode::bad_config},
        {"org.scx.Rustland1.Error.Failed", ExitCode::failure},
        {"org.freedesktop.DBus.Error.AccessDenied", ExitCode::permission_denied},
        {"org.freedesktop.DBus.Error.ServiceUnknown", ExitCode::daemon_not_running},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", ExitCode::daemon_not_running},
        {"org.example.Whatever", ExitCode::failure},
    }};
    for (const auto& [name, code] : cases) {
        EXPECT_EQ(failure_from_dbus_error(name, "m").code, code) << name;
    }
}

TEST(CtlErrors, MessagesNameWhatFailedInOneLine) {
    const auto denied = failure_from_dbus_error("org.scx.Rustland1.Error.PermissionDenied",
                                                "process 1234 belongs to uid 1000");
    EXPECT_EQ(failure_line("hold 1234", denied),
              "scx-rustlandctl: hold 1234: permission denied: process 1234 belongs to uid 1000");

    const auto absent = failure_from_dbus_error("org.freedesktop.DBus.Error.ServiceUnknown",
                                                "The name org.scx.Rustland1 was not provided");
    EXPECT_EQ(failure_line("status", absent),
              "scx-rustlandctl: status: daemon not running (org.scx.Rustland1 has no owner on "
              "the system bus)");

    EXPECT_EQ(failure_from_dbus_error("org.scx.Rustland1.Error.NoSuchHold", "").text,
              "no such hold");
    EXPECT_EQ(failure_from_dbus_error("org.example.Whatever", "odd").text,
              "org.example.Whatever: odd");

    const auto no_bus = no_system_bus("Failed to open bus (No such file or directory)");
    EXPECT_EQ(no_bus.code, ExitCode::daemon_not_running);
    EXPECT_EQ(no_bus.text, "daemon not running (no system bus: Failed to open bus (No such file "
                           "or directory))");
}

TEST(CtlErrors, DaemonTextCannotDriveTheTerminalButKeepsItsLines) {
    const auto bad = failure_from_dbus_error("org.scx.Rustland1.Error.BadConfig",
                                             "a.toml:1: x\na.toml:2: \x1b]0;evil\x07");
    EXPECT_EQ(failure_line("reload", bad),
              "scx-rustlandctl: reload: bad config: a.toml:1: x\na.toml:2: \\x1b]0;evil\\x07");
}

TEST(CtlFormat, PrintableEscapesControlsAndInvalidUtf8Only) {
    EXPECT_EQ(printable("steam:570 Über 游戏"), "steam:570 Über 游戏");
    EXPECT_EQ(printable("a\tb\nc\x7f"), "a\\x09b\\x0ac\\x7f");
    EXPECT_EQ(printable("a\nb", Newlines::keep), "a\nb");
    EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");        // C1 CSI
    EXPECT_EQ(printable("\xc0\x9b"), "\\xc0\\x9b");                // overlong ESC
    EXPECT_EQ(printable("\xe0\x80\x9b"), "\\xe0\\x80\\x9b");       // overlong ESC, 3 bytes
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");       // surrogate
    EXPECT_EQ(printable("ok\xff"), "ok\\xff");
    EXPECT_EQ(printable("\xe6\xb8"), "\\xe6\\xb8");                // truncated
}

TEST(CtlFormat, AgeUsesTheTwoLargestUnits) {
    EXPECT_EQ(format_age(-5'000'000), "0s");
    EXPECT_EQ(format_age(999'999), "0s");
    EXPECT_EQ(format_age(59'000'000), "59s");
    EXPECT_EQ(format_age(185'000'000), "3m05s");
    EXPECT_EQ(format_age(3600LL * 1'000'000), "1h00m");
    EXPECT_EQ(format_age((2 * 3600 + 7 * 60 + 59) * 1'000'000LL), "2h07m");
    EXPECT_EQ(format_age((3 * 86400 + 4 * 3600 + 1) * 1'000'000LL), "3d04h");
}

std::vector<HoldInfo> two_holds() {
    return {{7, 1234, 1000, "steam:570", "game", 100'000'000, false},
            {12345678901, 99, 0, "Über", "x\x1b", 0, true}};
}

TEST(CtlFormat, HoldsTableAlignsColumnsByCharacters) {
    EXPECT_EQ(format_holds({}, 0), "no holds\n");
    EXPECT_EQ(format_holds(two_holds(), 300'000'000),
              "COOKIE       PID   UID   AGE    PERSISTENT  APP-ID     REASON\n"
              "7            1234  1000  3m20s  no          steam:570  game\n"
              "12345678901  99    0     5m00s  yes         Über       x\\x1b\n");
}

TEST(CtlFormat, StatusShowsEveryBlock) {
    DaemonStatus status{"ejected", "runtime error (stall)", "", "0.1.0", two_holds(),
                        {{"queued", 5}, {"page_faults", 123456}}};
    EXPECT_EQ(format_status(status, 300'000'000),
              "State:    ejected\n"
              "Reason:   runtime error (stall)\n"
              "Ops:      -\n"
              "Version:  0.1.0\n"
              "\n"
              "Holds (2):\n" +
                  format_holds(status.holds, 300'000'000) +
                  "\n"
                  "Counters:\n"
                  "  page_faults  123456\n"
                  "  queued            5\n");
    status.counters.clear();
    status.state_reason.clear();
    const std::string bare = format_status(status, 0);
    EXPECT_EQ(bare.find("Reason:"), std::string::npos);
    EXPECT_NE(bare.find("Counters:\nnone\n"), std::string::npos) << bare;
}

TEST(CtlFormat, JsonCarriesRawValues) {
    const DaemonStatus status{"attached", "", "rustland", "0.1.0", two_holds(), {{"queued", 5}}};
    const auto json = status_to_json(status);
    EXPECT_EQ(json.at("state"), "attached");
    EXPECT_EQ(json.at("counters").at("queued"), 5);
    EXPECT_EQ(json.at("holds").at(1).at("cookie"), 12345678901ULL);
    EXPECT_EQ(json.at("holds").at(1).at("reason"), "x\x1b");  // JSON escapes it itself
    EXPECT_EQ(json.at("holds").at(1).at("persistent"), true);
    const std::string text = json_text(holds_to_json({{1, 2, 3, "a\xff", "r", 4, false}}));
    EXPECT_EQ(text.back(), '\n');
    // The stray byte becomes U+FFFD instead of aborting the output.
    EXPECT_EQ(nlohmann::json::parse(text).at(0).at("app_id"), "a\xef\xbf\xbd");
}

}  // namespace
}  // namespace rustland::ctl
