// scx-rustlandctl's pure parts: command line, error classification, output.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ctl/arguments.h"
#include "ctl/errors.h"
#include "ctl/format.h"
#include "ctl/gamemode_follower.h"
#include "ctl/process_tree.h"

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
    EXPECT_EQ(parse_as<MonitorCommand>({"monitor", "--interval", "0.25"}).interval, std::chrono::milliseconds(250));
    EXPECT_EQ(parse({"monitor", "--interval", "0"}).exit_code, 2);
    EXPECT_EQ(parse({"monitor", "--interval", "-1"}).exit_code, 2);
}

TEST(CtlArguments, HoldTakesPidAppIdReasonPersistent) {
    const auto plain = parse_as<HoldCommand>({"hold", "1234"});
    EXPECT_EQ(plain.pid, 1234);
    EXPECT_FALSE(plain.app_id.has_value());
    EXPECT_EQ(plain.reason, "scx-rustlandctl hold");
    EXPECT_FALSE(plain.persistent);

    const auto full =
        parse_as<HoldCommand>({"hold", "7", "--app-id", "steam:570", "--reason", "match", "--persistent"});
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
    EXPECT_EQ(parse_as<ReleaseCommand>({"release", "18446744073709551615"}).cookie, 18446744073709551615ULL);
    EXPECT_EQ(parse({"release"}).exit_code, 2);
    EXPECT_EQ(parse({"release", "cookie"}).exit_code, 2);
}

TEST(CtlArguments, RunKeepsTheCommandsOwnOptionsAfterDoubleDash) {
    const auto run = parse_as<RunCommand>({"run", "--strict", "--", "/usr/bin/game", "-c", "--x"});
    EXPECT_EQ(run.argv, (std::vector<std::string>{"/usr/bin/game", "-c", "--x"}));
    EXPECT_TRUE(run.strict);
    EXPECT_EQ(run.app_id, "game");
    EXPECT_EQ(run.reason, "scx-rustlandctl run");

    const auto named = parse_as<RunCommand>({"run", "--app-id", "steam:570", "--reason", "r", "--", "sh"});
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
    const auto denied =
        failure_from_dbus_error("org.scx.Rustland1.Error.PermissionDenied", "process 1234 belongs to uid 1000");
    EXPECT_EQ(failure_line("hold 1234", denied),
              "scx-rustlandctl: hold 1234: permission denied: process 1234 belongs to uid 1000");

    const auto absent = failure_from_dbus_error("org.freedesktop.DBus.Error.ServiceUnknown",
                                                "The name org.scx.Rustland1 was not provided");
    EXPECT_EQ(failure_line("status", absent),
              "scx-rustlandctl: status: daemon not running (org.scx.Rustland1 has no owner on "
              "the system bus)");

    EXPECT_EQ(failure_from_dbus_error("org.scx.Rustland1.Error.NoSuchHold", "").text, "no such hold");
    EXPECT_EQ(failure_from_dbus_error("org.example.Whatever", "odd").text, "org.example.Whatever: odd");

    const auto no_bus = no_system_bus("Failed to open bus (No such file or directory)");
    EXPECT_EQ(no_bus.code, ExitCode::daemon_not_running);
    EXPECT_EQ(no_bus.text,
              "daemon not running (no system bus: Failed to open bus (No such file "
              "or directory))");
}

TEST(CtlErrors, DaemonTextCannotDriveTheTerminalButKeepsItsLines) {
    const auto bad =
        failure_from_dbus_error("org.scx.Rustland1.Error.BadConfig", "a.toml:1: x\na.toml:2: \x1b]0;evil\x07");
    EXPECT_EQ(failure_line("reload", bad),
              "scx-rustlandctl: reload: bad config: a.toml:1: x\na.toml:2: \\x1b]0;evil\\x07");
}

TEST(CtlFormat, PrintableEscapesControlsAndInvalidUtf8Only) {
    EXPECT_EQ(printable("steam:570 Über 游戏"), "steam:570 Über 游戏");
    EXPECT_EQ(printable("a\tb\nc\x7f"), "a\\x09b\\x0ac\\x7f");
    EXPECT_EQ(printable("a\nb", Newlines::keep), "a\nb");
    EXPECT_EQ(printable("\xc2\x9b"
                        "31m"),
              "\\xc2\\x9b31m");                               // C1 CSI
    EXPECT_EQ(printable("\xc0\x9b"), "\\xc0\\x9b");           // overlong ESC
    EXPECT_EQ(printable("\xe0\x80\x9b"), "\\xe0\\x80\\x9b");  // overlong ESC, 3 bytes
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
    EXPECT_EQ(printable("ok\xff"), "ok\\xff");
    EXPECT_EQ(printable("\xe6\xb8"), "\\xe6\\xb8");  // truncated
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
    return {{7, 1234, 1000, "steam:570", "game", 100'000'000, false}, {12345678901, 99, 0, "Über", "x\x1b", 0, true}};
}

TEST(CtlFormat, HoldsTableAlignsColumnsByCharacters) {
    EXPECT_EQ(format_holds({}, 0), "no holds\n");
    EXPECT_EQ(format_holds(two_holds(), 300'000'000),
              "COOKIE       PID   UID   AGE    PERSISTENT  APP-ID     REASON\n"
              "7            1234  1000  3m20s  no          steam:570  game\n"
              "12345678901  99    0     5m00s  yes         Über       x\\x1b\n");
}

TEST(CtlFormat, StatusShowsEveryBlock) {
    DaemonStatus status{
        "ejected", "runtime error (stall)", "", "0.1.0", two_holds(), {{"queued", 5}, {"page_faults", 123456}}};
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

TEST(CtlArguments, FollowGameModeTakesMaxHoldsWithinRange) {
    EXPECT_EQ(parse_as<FollowGameModeCommand>({"follow-gamemode"}).max_holds, 16U);
    EXPECT_EQ(parse_as<FollowGameModeCommand>({"follow-gamemode", "--max-holds", "3"}).max_holds, 3U);
    EXPECT_EQ(parse({"follow-gamemode", "--max-holds", "0"}).exit_code, 2);
    EXPECT_EQ(parse({"follow-gamemode", "--max-holds", "4097"}).exit_code, 2);
    EXPECT_EQ(parse({"follow-gamemode", "extra"}).exit_code, 2);
    EXPECT_EQ(describe(FollowGameModeCommand{}), "follow-gamemode");
}

TEST(CtlProcessTree, StatFieldsComeAfterTheLastParenthesisOfTheName) {
    const std::string tail = " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4242 1 2 3";
    // Fields 4 (parent) and 22 (start time): field 3 is the state letter.
    const auto plain = parse_proc_stat("123 (game) S 77" + tail);
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(*plain, (ProcessInfo{123, 77, 4242}));
    // A name with spaces and parentheses chosen to mislead.
    const auto tricky = parse_proc_stat("124 (a) S 1 (b c) R 78" + tail);
    ASSERT_TRUE(tricky.has_value());
    EXPECT_EQ(*tricky, (ProcessInfo{124, 78, 4242}));
    EXPECT_FALSE(parse_proc_stat("").has_value());
    EXPECT_FALSE(parse_proc_stat("x (game) S 77" + tail).has_value());
    EXPECT_FALSE(parse_proc_stat("123 (game) S 77 0 0").has_value());
    EXPECT_FALSE(parse_proc_stat("123 (game) S -x" + tail).has_value());
}

TEST(CtlProcessTree, ReadsThisProcessFromProc) {
    const auto self = read_process(::getpid());
    ASSERT_TRUE(self.has_value());
    EXPECT_EQ(self->parent, ::getppid());
    EXPECT_LE(self->start_ticks, boot_clock_ticks());
    EXPECT_EQ(read_process_snapshot().find(::getpid()), self);
}

TEST(CtlProcessTree, DescendantsListParentsBeforeChildren) {
    const ProcessSnapshot snapshot({{1, 0, 0}, {10, 1, 5}, {11, 10, 6}, {12, 10, 7}, {13, 11, 8}, {20, 1, 9}});
    std::vector<pid_t> below;
    for (const auto& process : snapshot.descendants(10)) {
        below.push_back(process.pid);
    }
    EXPECT_EQ(below, (std::vector<pid_t>{11, 12, 13}));
    EXPECT_TRUE(snapshot.descendants(13).empty());
    EXPECT_TRUE(snapshot.descendants(99).empty());
    EXPECT_FALSE(snapshot.find(99).has_value());
}

// The daemon as the follower sees it: grants holds at the current tick, or
// refuses with the failure it is told to.
class FakeHoldService final : public HoldService {
public:
    struct Request {
        pid_t pid;
        std::string app_id;
        std::string reason;
    };

    std::variant<HoldGrant, Failure> hold(const ProcessInfo& process, const std::string& app_id,
                                          const std::string& reason) override {
        requests.push_back({process.pid, app_id, reason});
        if (!refusals.empty()) {
            auto refusal = refusals.front();
            refusals.erase(refusals.begin());
            return refusal;
        }
        live[next_cookie] = process.pid;
        return HoldGrant{next_cookie++, UniqueFd(), now_ticks};
    }
    std::optional<Failure> release(std::uint64_t cookie) override {
        released.push_back(cookie);
        if (live.erase(cookie) == 0) {
            return Failure{ExitCode::no_such_target, "no such hold"};
        }
        return std::nullopt;
    }
    std::vector<pid_t> held_pids() const {
        std::vector<pid_t> pids;
        for (const auto& [cookie, pid] : live) {
            pids.push_back(pid);
        }
        std::sort(pids.begin(), pids.end());
        return pids;
    }

    std::uint64_t now_ticks = 100;
    std::vector<Failure> refusals;  // answered to the next requests, in order
    std::vector<Request> requests;
    std::vector<std::uint64_t> released;
    std::map<std::uint64_t, pid_t> live;  // cookie -> pid
    std::uint64_t next_cookie = 1;
};

class GameModeFollowerTest : public ::testing::Test {
protected:
    GameModeFollowerTest()
        : follower_(
              service_, [this] { return ProcessSnapshot(processes_); },
              [this](std::string_view line) { log_.emplace_back(line); }, 16) {}

    // A process started at tick `start`, child of `parent`.
    void spawn(pid_t pid, pid_t parent, std::uint64_t start) { processes_.push_back({pid, parent, start}); }
    void exit_process(pid_t pid) {
        // Its children go to init, as the kernel does.
        std::erase_if(processes_, [pid](const ProcessInfo& p) { return p.pid == pid; });
        for (auto& process : processes_) {
            if (process.parent == pid) {
                process.parent = 1;
            }
        }
    }
    bool logged(std::string_view text) const {
        return std::any_of(log_.begin(), log_.end(),
                           [text](const std::string& line) { return line.find(text) != std::string::npos; });
    }

    FakeHoldService service_;
    std::vector<ProcessInfo> processes_{{1, 0, 0}};
    std::vector<std::string> log_;
    GameModeFollower follower_;
};

TEST_F(GameModeFollowerTest, HoldsTheGameAndEachProcessItForkedBeforeItsHold) {
    spawn(100, 1, 10);    // the game (a launcher script, say)
    spawn(101, 100, 20);  // forked before the hold: the hint will not reach it
    spawn(102, 101, 30);
    spawn(200, 1, 15);  // not the game's
    follower_.game_registered({100, "supergame"});
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101, 102}));
    ASSERT_EQ(service_.requests.size(), 3U);
    EXPECT_EQ(service_.requests[0].pid, 100);  // parents first
    EXPECT_EQ(service_.requests[0].app_id, "supergame");
    EXPECT_EQ(service_.requests[0].reason, "GameMode game");
    EXPECT_EQ(service_.requests[2].app_id, "supergame");
    EXPECT_EQ(service_.requests[2].reason, "GameMode: started by game 100 before its hold");
    EXPECT_EQ(follower_.holds().size(), 3U);
}

TEST_F(GameModeFollowerTest, RegisteredChildForkedAfterItsHeldAncestorNeedsNoHold) {
    spawn(100, 1, 10);
    follower_.game_registered({100, "sh"});  // held at tick 100
    spawn(101, 100, 150);                    // inherits the hint in BPF
    spawn(102, 101, 160);
    follower_.game_registered({102, "game"});  // gamemoderun's LD_PRELOAD registers it too
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100}));
    EXPECT_EQ(service_.requests.size(), 1U);
}

TEST_F(GameModeFollowerTest, ChildForkedInTheTickOfTheHoldIsHeldToBeSafe) {
    spawn(100, 1, 10);
    follower_.game_registered({100, "sh"});
    spawn(101, 100, 100);  // same tick as the hold: maybe before it
    follower_.game_registered({101, "game"});
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101}));
}

TEST_F(GameModeFollowerTest, UnregisteringReleasesOnlyWhatNoRegisteredGameNeeds) {
    spawn(100, 1, 10);
    spawn(101, 100, 20);  // registered too, held as 100's child
    spawn(102, 101, 30);
    follower_.game_registered({100, "launcher"});
    follower_.game_registered({101, "game"});
    ASSERT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101, 102}));
    const auto cookies = follower_.holds();

    follower_.game_unregistered(100);
    // 101 and its child stay held, without a gap: no new hold, no release.
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{101, 102}));
    EXPECT_EQ(service_.released, (std::vector<std::uint64_t>{cookies.at(100)}));
    EXPECT_EQ(service_.requests.size(), 3U);

    follower_.game_unregistered(101);
    EXPECT_TRUE(service_.held_pids().empty());
    EXPECT_TRUE(follower_.holds().empty());
    follower_.game_unregistered(555);  // never registered: nothing happens
    EXPECT_EQ(service_.released.size(), 3U);
}

TEST_F(GameModeFollowerTest, ReparentedHelperStaysHeldWhileItsGameIsRegistered) {
    spawn(100, 1, 10);
    spawn(101, 100, 20);
    spawn(102, 101, 30);  // a helper that daemonizes: its parent 101 exits
    follower_.game_registered({100, "game"});
    exit_process(101);  // 102 now belongs to init, no longer below the game
    follower_.process_exited(101);
    EXPECT_EQ(follower_.holds().count(100), 1U);
    EXPECT_EQ(follower_.holds().count(101), 0U);
    EXPECT_EQ(follower_.holds().count(102), 1U);
    EXPECT_TRUE(service_.released.empty());
    follower_.game_unregistered(100);
    EXPECT_TRUE(follower_.holds().empty());
}

TEST_F(GameModeFollowerTest, OrphanedRegisteredGameIsHeldWhenItsHeldAncestorExits) {
    spawn(100, 1, 10);
    follower_.game_registered({100, "sh"});
    spawn(101, 100, 150);  // covered by 100's hold
    follower_.game_registered({101, "game"});
    ASSERT_EQ(follower_.holds().size(), 1U);
    // The daemon drops 100's hint and every hint it passed on when 100 exits.
    exit_process(100);
    service_.live.clear();
    follower_.process_exited(100);
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{101}));
    EXPECT_EQ(service_.requests.back().reason, "GameMode game");
}

TEST_F(GameModeFollowerTest, ListGamesReplacesTheGamesAndGameModeLeavingEndsEveryHold) {
    spawn(100, 1, 10);
    spawn(200, 1, 11);
    follower_.games_listed({{100, "a"}, {200, "b"}});
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 200}));
    follower_.games_listed({{200, "b"}});  // a new gamemoded knows only 200
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{200}));
    follower_.gamemode_vanished();
    EXPECT_TRUE(service_.held_pids().empty());
    EXPECT_TRUE(follower_.holds().empty());
}

TEST_F(GameModeFollowerTest, GameThatExitedBeforeItsHoldIsSkipped) {
    follower_.game_registered({100, "gone"});
    EXPECT_TRUE(service_.requests.empty());
    spawn(200, 1, 11);
    service_.refusals.push_back({ExitCode::no_such_target, "no such process"});
    follower_.game_registered({200, "racing"});  // exits while being held
    EXPECT_TRUE(follower_.holds().empty());
    EXPECT_FALSE(follower_.wants_retry());
}

TEST_F(GameModeFollowerTest, BudgetRefusalStopsThePassAndIsRetriedLater) {
    spawn(100, 1, 10);
    spawn(101, 100, 20);
    spawn(102, 100, 30);
    const Failure refused{ExitCode::limit_exceeded, "limit exceeded: hold rate"};
    service_.refusals = {refused, refused};
    follower_.game_registered({100, "game"});
    // 101 and 102 are not even asked: each refused request costs a token.
    EXPECT_EQ(service_.requests.size(), 1U);
    EXPECT_TRUE(follower_.holds().empty());
    EXPECT_TRUE(follower_.wants_retry());
    EXPECT_TRUE(logged("limit exceeded: hold rate"));
    const auto lines = log_.size();
    follower_.retry();  // refused again: said once already
    EXPECT_EQ(log_.size(), lines);
    EXPECT_TRUE(follower_.wants_retry());
    follower_.retry();
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101, 102}));
    EXPECT_FALSE(follower_.wants_retry());
}

TEST_F(GameModeFollowerTest, MaxHoldsCapsTheHoldsAndLogsOnce) {
    GameModeFollower capped(
        service_, [this] { return ProcessSnapshot(processes_); },
        [this](std::string_view line) { log_.emplace_back(line); }, 2);
    spawn(100, 1, 10);
    spawn(101, 100, 20);
    spawn(102, 100, 30);
    capped.game_registered({100, "game"});
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101}));
    EXPECT_FALSE(capped.wants_retry());  // only a hold ending makes room
    EXPECT_TRUE(logged("--max-holds 2 reached"));
    spawn(300, 1, 40);
    const auto lines = log_.size();
    capped.game_registered({300, "other"});
    EXPECT_EQ(log_.size(), lines);
    EXPECT_EQ(capped.holds().size(), 2U);
}

TEST_F(GameModeFollowerTest, PermanentRefusalIsLoggedAndNotAskedAgain) {
    spawn(100, 1, 10);  // a setuid launcher, say
    spawn(101, 100, 20);
    service_.refusals = {{ExitCode::permission_denied, "uid 1000 may hold only its own processes"}};
    follower_.game_registered({100, "game"});
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{101}));
    EXPECT_TRUE(logged("not holding pid 100 (game): hold: uid 1000 may hold only"));
    EXPECT_FALSE(follower_.wants_retry());
    spawn(200, 1, 50);
    follower_.game_registered({200, "other"});
    ASSERT_EQ(service_.requests.size(), 3U);  // 100, 101, 200: not 100 again
    EXPECT_EQ(service_.requests.back().pid, 200);
}

TEST_F(GameModeFollowerTest, WithoutTheDaemonItWaitsAndHoldsEverythingWhenItAppears) {
    spawn(100, 1, 10);
    spawn(101, 100, 20);
    service_.refusals = {{ExitCode::daemon_not_running, "daemon not running"}};
    follower_.game_registered({100, "game"});
    EXPECT_TRUE(follower_.holds().empty());
    EXPECT_FALSE(follower_.wants_retry());  // its NameOwnerChanged will say when
    spawn(200, 1, 30);
    follower_.game_registered({200, "other"});
    EXPECT_EQ(service_.requests.size(), 1U);  // not asked while it is missing
    follower_.daemon_appeared();
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100, 101, 200}));
}

TEST_F(GameModeFollowerTest, DaemonRestartEndsTheHoldsAndTheyAreTakenAgain) {
    spawn(100, 1, 10);
    follower_.game_registered({100, "game"});
    follower_.daemon_vanished();
    service_.live.clear();
    EXPECT_TRUE(follower_.holds().empty());
    EXPECT_TRUE(service_.released.empty());  // they ended with the daemon
    follower_.daemon_appeared();
    EXPECT_EQ(service_.held_pids(), (std::vector<pid_t>{100}));
    EXPECT_EQ(service_.requests.size(), 2U);
}

TEST_F(GameModeFollowerTest, AReusedPidIsNotTheHeldProcess) {
    spawn(100, 1, 10);
    follower_.game_registered({100, "game"});
    const auto first = follower_.holds().at(100);
    // 100 exits unnoticed and its pid comes back as a new registered game.
    exit_process(100);
    spawn(100, 1, 500);
    follower_.game_registered({100, "game2"});
    EXPECT_NE(follower_.holds().at(100), first);
    EXPECT_EQ(service_.released, (std::vector<std::uint64_t>{first}));
    EXPECT_EQ(service_.requests.back().app_id, "game2");
}

}  // namespace
}  // namespace rustland::ctl
