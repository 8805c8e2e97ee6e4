// scx-rustlandctl against a mock daemon (the generated adaptor) on a private
// dbus-daemon: output, exit codes, holds, and `run`'s process handling.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>
#include <nlohmann/json.hpp>

#include "mock_daemon.h"
#include "private_bus.h"
#include "process.h"

namespace rustland::ctl::test {
namespace {

using test_support::PrivateBus;

const std::string kCtl = SCX_RUSTLANDCTL_PATH;

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

class CtlTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // The system bus of the mock (in this process) and of every
        // scx-rustlandctl started.
        bus_ = new PrivateBus({.policy = PrivateBus::Policy::open});
    }
    static void TearDownTestSuite() {
        delete bus_;
        bus_ = nullptr;
    }

    void start_mock() { mock_ = MockDaemon::start(); }

    // scx-rustlandctl ARGS, run to completion.
    static std::unique_ptr<Process> ctl(const std::vector<std::string>& args,
                                        const std::map<std::string, std::string>& env = {}) {
        auto process = start_ctl(args, env);
        process->wait();
        return process;
    }
    static std::unique_ptr<Process> start_ctl(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env = {}) {
        std::vector<std::string> argv{kCtl};
        argv.insert(argv.end(), args.begin(), args.end());
        return std::make_unique<Process>(argv, env);
    }
    // A process to hold that lives until killed.
    static std::unique_ptr<Process> start_target() {
        return std::make_unique<Process>(std::vector<std::string>{"sleep", "600"});
    }
    bool mock_has_holds(std::size_t count) const {
        return mock_->wait_until([count](const MockDaemon& mock) { return mock.holds().size() == count; });
    }

    static PrivateBus* bus_;
    std::unique_ptr<MockDaemon> mock_;
};

PrivateBus* CtlTest::bus_ = nullptr;

RecordedHold sample_hold() { return {"Hold", 41, 4242, "steam:570", "game \x1b[31mred", true, 1'000'000}; }

TEST_F(CtlTest, StatusShowsStateOpsVersionHoldsAndCounters) {
    start_mock();
    mock_->add_hold(sample_hold());
    const auto status = ctl({"status"});
    EXPECT_EQ(exit_code(status->wait()), 0) << status->err();
    const std::string& out = status->out();
    EXPECT_NE(out.find("attached"), std::string::npos) << out;
    EXPECT_NE(out.find("rustland"), std::string::npos) << out;
    EXPECT_NE(out.find("9.9.9-mock"), std::string::npos) << out;
    EXPECT_NE(out.find("Holds (1)"), std::string::npos) << out;
    EXPECT_NE(out.find("steam:570"), std::string::npos) << out;
    EXPECT_NE(out.find("4242"), std::string::npos) << out;
    EXPECT_NE(out.find("1234567"), std::string::npos) << out;
    // A reason chosen by some user cannot drive the terminal.
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_NE(out.find("game \\x1b[31mred"), std::string::npos) << out;
}

TEST_F(CtlTest, StatusJsonHasEveryProperty) {
    start_mock();
    mock_->add_hold(sample_hold());
    const auto status = ctl({"status", "--json"});
    ASSERT_EQ(exit_code(status->wait()), 0) << status->err();
    const auto json = nlohmann::json::parse(status->out());
    EXPECT_EQ(json.at("state"), "attached");
    EXPECT_EQ(json.at("ops_name"), "rustland");
    EXPECT_EQ(json.at("version"), "9.9.9-mock");
    EXPECT_EQ(json.at("counters").at("scheduled"), 1234567);
    ASSERT_EQ(json.at("holds").size(), 1U);
    const auto& hold = json.at("holds").at(0);
    EXPECT_EQ(hold.at("cookie"), 41);
    EXPECT_EQ(hold.at("pid"), 4242);
    EXPECT_EQ(hold.at("app_id"), "steam:570");
    EXPECT_EQ(hold.at("reason"), "game \x1b[31mred");
    EXPECT_EQ(hold.at("since_usec"), 1'000'000);
    EXPECT_EQ(hold.at("persistent"), true);
}

TEST_F(CtlTest, ListShowsHoldsAsTableAndJson) {
    start_mock();
    const auto empty = ctl({"list"});
    EXPECT_EQ(exit_code(empty->wait()), 0) << empty->err();
    EXPECT_EQ(empty->out(), "no holds\n");

    mock_->add_hold(sample_hold());
    const auto table = ctl({"list"});
    EXPECT_EQ(exit_code(table->wait()), 0) << table->err();
    EXPECT_NE(table->out().find("COOKIE"), std::string::npos) << table->out();
    EXPECT_NE(table->out().find("steam:570"), std::string::npos) << table->out();

    const auto json = ctl({"list", "--json"});
    ASSERT_EQ(exit_code(json->wait()), 0) << json->err();
    const auto holds = nlohmann::json::parse(json->out());
    ASSERT_EQ(holds.size(), 1U);
    EXPECT_EQ(holds.at(0).at("cookie"), 41);
}

TEST_F(CtlTest, PersistentHoldPrintsCookieAndReleaseEndsIt) {
    start_mock();
    const auto target = start_target();
    const auto held =
        ctl({"hold", std::to_string(target->pid()), "--persistent", "--app-id", "game", "--reason", "testing"});
    ASSERT_EQ(exit_code(held->wait()), 0) << held->err();
    const auto requested = mock_->holds_requested();
    ASSERT_EQ(requested.size(), 1U);
    EXPECT_EQ(requested[0].method, "Hold");
    EXPECT_EQ(requested[0].pid, target->pid());
    EXPECT_EQ(requested[0].app_id, "game");
    EXPECT_EQ(requested[0].reason, "testing");
    EXPECT_TRUE(requested[0].persistent);
    EXPECT_EQ(held->out(), std::to_string(requested[0].cookie) + "\n");

    const auto released = ctl({"release", std::to_string(requested[0].cookie)});
    EXPECT_EQ(exit_code(released->wait()), 0) << released->err();
    EXPECT_TRUE(mock_->holds().empty());

    const auto again = ctl({"release", std::to_string(requested[0].cookie)});
    EXPECT_EQ(exit_code(again->wait()), 5);
    EXPECT_NE(again->err().find("scx-rustlandctl: release " + std::to_string(requested[0].cookie) + ": no such hold"),
              std::string::npos)
        << again->err();
}

TEST_F(CtlTest, HoldDefaultsAppIdToTheTargetsCommandName) {
    start_mock();
    const auto target = start_target();
    const auto held = ctl({"hold", std::to_string(target->pid()), "--persistent"});
    ASSERT_EQ(exit_code(held->wait()), 0) << held->err();
    ASSERT_EQ(mock_->holds_requested().size(), 1U);
    EXPECT_EQ(mock_->holds_requested()[0].app_id, "sleep");
    EXPECT_EQ(mock_->holds_requested()[0].reason, "scx-rustlandctl hold");
}

struct ErrorCase {
    const char* name;
    int exit_code;
    const char* text;
};

TEST_F(CtlTest, EachDaemonErrorHasItsExitCodeAndMessage) {
    start_mock();
    const auto target = start_target();
    const std::string pid = std::to_string(target->pid());
    const ErrorCase cases[] = {
        {"org.scx.Rustland1.Error.PermissionDenied", 4, "permission denied"},
        {"org.scx.Rustland1.Error.NoSuchProcess", 5, "no such process"},
        {"org.scx.Rustland1.Error.NoSuchHold", 5, "no such hold"},
        {"org.scx.Rustland1.Error.LimitExceeded", 6, "limit exceeded"},
        {"org.scx.Rustland1.Error.InvalidArgument", 2, "invalid argument"},
        {"org.scx.Rustland1.Error.BadConfig", 7, "bad config"},
        {"org.scx.Rustland1.Error.Failed", 1, "failed"},
        {"org.freedesktop.DBus.Error.AccessDenied", 4, "permission denied by the bus policy"},
        {"org.example.Unexpected", 1, "org.example.Unexpected"},
    };
    for (const auto& error : cases) {
        SCOPED_TRACE(error.name);
        mock_->fail_next_call(error.name, "mock says no");
        const auto held = ctl({"hold", pid, "--persistent"});
        EXPECT_EQ(exit_code(held->wait()), error.exit_code) << held->err();
        EXPECT_EQ(held->err(), "scx-rustlandctl: hold " + pid + ": " + error.text + ": mock says no\n");
    }
    mock_->fail_next_call("org.scx.Rustland1.Error.BadConfig", "/etc/x.toml:3: bad key");
    const auto reload = ctl({"reload"});
    EXPECT_EQ(exit_code(reload->wait()), 7);
    EXPECT_EQ(reload->err(), "scx-rustlandctl: reload: bad config: /etc/x.toml:3: bad key\n");
    EXPECT_TRUE(mock_->holds_requested().empty());
}

TEST_F(CtlTest, ReloadSucceeds) {
    start_mock();
    const auto reload = ctl({"reload"});
    EXPECT_EQ(exit_code(reload->wait()), 0) << reload->err();
}

TEST_F(CtlTest, NoDaemonOrNoBusIsExitCode3) {
    const auto status = ctl({"status"});
    EXPECT_EQ(exit_code(status->wait()), 3);
    EXPECT_NE(status->err().find("scx-rustlandctl: status: daemon not running"), std::string::npos) << status->err();

    const auto no_bus = ctl({"list"}, {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}});
    EXPECT_EQ(exit_code(no_bus->wait()), 3);
    EXPECT_NE(no_bus->err().find("daemon not running (no system bus"), std::string::npos) << no_bus->err();
}

TEST_F(CtlTest, HoldNeverReleasesAHoldOfARestartedDaemon) {
    start_mock();
    const auto target = start_target();
    const auto held = start_ctl({"hold", std::to_string(target->pid())});
    ASSERT_TRUE(held->wait_for_output("as cookie 1 "));
    ASSERT_TRUE(mock_has_holds(1));
    // The daemon dies without a word and a new one starts, where somebody
    // else's hold gets the cookie the first one had handed out.
    mock_.reset();
    start_mock();
    auto others = sample_hold();
    others.cookie = 1;
    mock_->add_hold(others);
    ::kill(held->pid(), SIGINT);
    EXPECT_EQ(exit_code(held->wait()), 0) << held->err();
    EXPECT_TRUE(mock_->releases().empty()) << "released cookie " << mock_->releases().front();
    EXPECT_EQ(mock_->holds().size(), 1U);
}

TEST_F(CtlTest, HoldOfAMissingProcessIsExitCode5) {
    start_mock();
    auto target = start_target();
    const pid_t gone = target->pid();
    target.reset();  // killed and reaped
    const auto held = ctl({"hold", std::to_string(gone)});
    EXPECT_EQ(exit_code(held->wait()), 5);
    EXPECT_EQ(held->err(), "scx-rustlandctl: hold " + std::to_string(gone) + ": no such process\n");
}

TEST_F(CtlTest, BadCommandLineIsExitCode2) {
    EXPECT_EQ(exit_code(ctl({})->wait()), 2);
    EXPECT_EQ(exit_code(ctl({"hold", "notapid"})->wait()), 2);
    EXPECT_EQ(exit_code(ctl({"run"})->wait()), 2);
    EXPECT_EQ(exit_code(ctl({"monitor", "--interval", "0"})->wait()), 2);
    EXPECT_EQ(exit_code(ctl({"--help"})->wait()), 0);
}

TEST_F(CtlTest, RunHoldsTheChildByPidfdAndExitsWithItsStatus) {
    start_mock();
    const auto run = ctl({"run", "--", "sh", "-c", "echo $$; exit 3"});
    EXPECT_EQ(exit_code(run->wait()), 3) << run->err();
    EXPECT_EQ(run->err(), "");
    const auto requested = mock_->holds_requested();
    ASSERT_EQ(requested.size(), 1U);
    EXPECT_EQ(requested[0].method, "Hold");
    EXPECT_EQ(std::to_string(requested[0].pid) + "\n", run->out());
    EXPECT_EQ(requested[0].app_id, "sh");
    EXPECT_EQ(requested[0].reason, "scx-rustlandctl run");
    EXPECT_FALSE(requested[0].persistent);
}

TEST_F(CtlTest, RunWithoutDaemonWarnsAndRunsTheCommand) {
    const auto run = ctl({"run", "--", "sh", "-c", "echo ran; exit 4"});
    EXPECT_EQ(exit_code(run->wait()), 4);
    EXPECT_EQ(run->out(), "ran\n");
    EXPECT_NE(run->err().find("scx-rustlandctl: warning: run sh: daemon not running"), std::string::npos) << run->err();
}

TEST_F(CtlTest, RunStrictWithoutDaemonDoesNotRunTheCommand) {
    const auto run = ctl({"run", "--strict", "--", "sh", "-c", "echo ran"});
    EXPECT_EQ(exit_code(run->wait()), 3);
    EXPECT_EQ(run->out(), "");
    EXPECT_NE(run->err().find("scx-rustlandctl: run sh: daemon not running"), std::string::npos) << run->err();
}

TEST_F(CtlTest, RunRefusedWarnsOrWithStrictStops) {
    start_mock();
    mock_->fail_next_call("org.scx.Rustland1.Error.LimitExceeded", "too many holds");
    const auto run = ctl({"run", "--", "sh", "-c", "echo ran"});
    EXPECT_EQ(exit_code(run->wait()), 0);
    EXPECT_EQ(run->out(), "ran\n");
    EXPECT_EQ(run->err(),
              "scx-rustlandctl: warning: run sh: limit exceeded: too many holds; "
              "running it without a hold\n");

    mock_->fail_next_call("org.scx.Rustland1.Error.PermissionDenied", "not yours");
    const auto strict = ctl({"run", "--strict", "--", "sh", "-c", "echo ran"});
    EXPECT_EQ(exit_code(strict->wait()), 4);
    EXPECT_EQ(strict->out(), "");
    EXPECT_EQ(strict->err(), "scx-rustlandctl: run sh: permission denied: not yours\n");
}

TEST_F(CtlTest, RunForwardsSigtermToTheCommand) {
    start_mock();
    const auto run = start_ctl({"run", "--", "sh", "-c",
                                "trap 'echo got-term; exit 42' TERM; echo ready; "
                                "while :; do sleep 0.1; done"});
    ASSERT_TRUE(run->wait_for_output("ready\n")) << run->err();
    ASSERT_EQ(::kill(run->pid(), SIGTERM), 0);
    EXPECT_EQ(exit_code(run->wait()), 42) << run->err();
    EXPECT_NE(run->out().find("got-term"), std::string::npos) << run->out();
}

TEST_F(CtlTest, RunDiesOfTheSignalThatKilledTheCommand) {
    start_mock();
    const auto run = ctl({"run", "--", "sh", "-c", "kill -USR1 $$"});
    const int status = run->wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << status << run->err();
    EXPECT_EQ(WTERMSIG(status), SIGUSR1);
}

TEST_F(CtlTest, RunReportsCommandsThatCannotStartLikeAShell) {
    start_mock();
    const auto missing = ctl({"run", "--", "/nonexistent/command"});
    EXPECT_EQ(exit_code(missing->wait()), 127);
    EXPECT_NE(missing->err().find("run /nonexistent/command: command not found"), std::string::npos) << missing->err();

    const std::string not_executable =
        std::filesystem::temp_directory_path() / ("scx-rustlandctl-noexec-" + std::to_string(getpid()));
    std::ofstream(not_executable) << "echo never\n";
    ::chmod(not_executable.c_str(), 0644);
    const auto denied = ctl({"run", "--", not_executable});
    EXPECT_EQ(exit_code(denied->wait()), 126);
    EXPECT_EQ(denied->out(), "");
    std::filesystem::remove(not_executable);
}

TEST_F(CtlTest, ForegroundHoldEndsWhenTheTargetExits) {
    start_mock();
    auto target = start_target();
    const auto held = start_ctl({"hold", std::to_string(target->pid())});
    ASSERT_TRUE(mock_has_holds(1)) << held->err();
    target.reset();  // killed and reaped
    EXPECT_EQ(exit_code(held->wait()), 0) << held->err();
    EXPECT_NE(held->out().find("holding pid"), std::string::npos) << held->out();
}

TEST_F(CtlTest, ForegroundHoldReleasesOnSigterm) {
    start_mock();
    const auto target = start_target();
    const auto held = start_ctl({"hold", std::to_string(target->pid())});
    ASSERT_TRUE(mock_has_holds(1)) << held->err();
    const auto cookie = mock_->holds()[0].cookie;
    ASSERT_EQ(::kill(held->pid(), SIGTERM), 0);
    EXPECT_EQ(exit_code(held->wait()), 0) << held->err();
    EXPECT_EQ(mock_->releases(), std::vector<std::uint64_t>{cookie});
    EXPECT_TRUE(mock_->holds().empty());
}

TEST_F(CtlTest, ForegroundHoldEndsWhenTheDaemonRemovesIt) {
    start_mock();
    const auto target = start_target();
    const auto held = start_ctl({"hold", std::to_string(target->pid())});
    ASSERT_TRUE(mock_has_holds(1)) << held->err();
    // Someone else (root) releases it: the mock signals HoldRemoved.
    const auto released = ctl({"release", std::to_string(mock_->holds()[0].cookie)});
    ASSERT_EQ(exit_code(released->wait()), 0) << released->err();
    EXPECT_EQ(exit_code(held->wait()), 0) << held->err();
    EXPECT_NE(held->out().find("ended: released"), std::string::npos) << held->out();
}

TEST_F(CtlTest, MonitorRefreshesOnSignalsAndStopsOnSigterm) {
    start_mock();
    // An hour between refreshes: a second frame can only come from a signal.
    const auto monitor = start_ctl({"monitor", "--interval", "3600"});
    ASSERT_TRUE(monitor->wait_for_output("Holds (0)")) << monitor->err();
    const auto target = start_target();
    const auto held = ctl({"hold", std::to_string(target->pid()), "--persistent"});
    ASSERT_EQ(exit_code(held->wait()), 0) << held->err();
    EXPECT_TRUE(monitor->wait_for_output("Holds (1)")) << monitor->out();
    ASSERT_EQ(::kill(monitor->pid(), SIGTERM), 0);
    EXPECT_EQ(exit_code(monitor->wait()), 0) << monitor->err();
    // Not a terminal: frames follow each other, no screen clearing.
    EXPECT_EQ(monitor->out().find("\033[2J"), std::string::npos);
}

}  // namespace
}  // namespace rustland::ctl::test
