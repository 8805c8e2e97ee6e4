// scx-rustlandctl follow-gamemode between a fake gamemoded (private session
// bus) and the mock daemon (private "system" bus): which processes it
// holds, when it releases them, and how it follows either side restarting.
// The real gamemoded and daemon: the system VM test (tests/vm/system).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ctl/process_tree.h"
#include "fake_gamemode.h"
#include "mock_daemon.h"
#include "private_bus.h"
#include "process.h"

namespace rustland::ctl::test {
namespace {

using test_support::PrivateBus;

const std::string kCtl = SCX_RUSTLANDCTL_PATH;

// A shell that forks `sleep 600` (after reading a line from `gate`, if
// given) and prints the child's pid. Both are killed at the end.
class ShellWithChild {
public:
    explicit ShellWithChild(const std::string& gate = "")
        : shell_({"sh", "-c", (gate.empty() ? "" : "read line < '" + gate + "'; ") + "sleep 600 & echo $!; wait"}) {}
    ~ShellWithChild() {
        if (child_ > 0) {
            ::kill(child_, SIGKILL);
        }
    }
    pid_t pid() const { return shell_.pid(); }
    // Waits until the child is forked.
    pid_t child() {
        if (child_ == 0 && shell_.wait_for_output("\n")) {
            child_ = std::stoi(shell_.out());
        }
        return child_;
    }

private:
    Process shell_;
    pid_t child_ = 0;
};

std::set<pid_t> held_pids(const MockDaemon& mock) {
    std::set<pid_t> pids;
    for (const auto& hold : mock.holds()) {
        pids.insert(hold.pid);
    }
    return pids;
}

class FollowGameModeTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // The system bus of the mock (in this process) and of the follower.
        system_bus_ = new PrivateBus({.policy = PrivateBus::Policy::open});
        session_bus_ = new PrivateBus({.policy = PrivateBus::Policy::open, .as_system_bus = false});
    }
    static void TearDownTestSuite() {
        delete session_bus_;
        delete system_bus_;
    }

    void SetUp() override { mock_ = MockDaemon::start(); }

    void start_follower(const std::vector<std::string>& options = {}) {
        std::vector<std::string> argv{kCtl, "follow-gamemode"};
        argv.insert(argv.end(), options.begin(), options.end());
        follower_ = std::make_unique<Process>(
            argv, std::map<std::string, std::string>{{"DBUS_SESSION_BUS_ADDRESS", session_bus_->address()}});
    }
    static std::int32_t gamemode(const std::string& method, pid_t pid) {
        return call_gamemode(session_bus_->address(), method, pid);
    }
    bool mock_holds(const std::set<pid_t>& pids) const {
        return mock_->wait_until([&pids](const MockDaemon& mock) { return held_pids(mock) == pids; });
    }
    // The follower's log so far (it runs on): for failure messages.
    std::string follower_log() {
        ::kill(follower_->pid(), SIGTERM);
        follower_->wait();
        return follower_->err();
    }

    static PrivateBus* system_bus_;
    static PrivateBus* session_bus_;
    std::unique_ptr<MockDaemon> mock_;
    std::unique_ptr<Process> follower_;
};

PrivateBus* FollowGameModeTest::system_bus_ = nullptr;
PrivateBus* FollowGameModeTest::session_bus_ = nullptr;

TEST_F(FollowGameModeTest, HoldsARegisteredGameAndTheChildItForkedBeforeItsHold) {
    FakeGameMode gamemoded(session_bus_->address());
    start_follower();
    ShellWithChild game;
    const pid_t child = game.child();
    ASSERT_GT(child, 0);
    ASSERT_EQ(gamemode("RegisterGame", game.pid()), 0);
    ASSERT_TRUE(mock_holds({game.pid(), child})) << follower_log();

    const std::string executable =
        std::filesystem::read_symlink("/proc/" + std::to_string(game.pid()) + "/exe").filename();
    for (const auto& hold : mock_->holds_requested()) {
        EXPECT_EQ(hold.method, "Hold");  // by pidfd
        EXPECT_EQ(hold.app_id, executable);
        EXPECT_FALSE(hold.persistent);
        EXPECT_EQ(hold.reason, hold.pid == game.pid()
                                   ? "GameMode game"
                                   : "GameMode: started by game " + std::to_string(game.pid()) + " before its hold");
    }

    ASSERT_EQ(gamemode("UnregisterGame", game.pid()), 0);
    ASSERT_TRUE(mock_holds({})) << follower_log();
    EXPECT_EQ(mock_->releases().size(), 2U);
}

TEST_F(FollowGameModeTest, RegisteredChildForkedAfterItsGamesHoldNeedsNone) {
    char gate_dir[] = "/tmp/follow-gamemode-test.XXXXXX";
    ASSERT_NE(::mkdtemp(gate_dir), nullptr);
    const std::string gate = std::string(gate_dir) + "/gate";
    ASSERT_EQ(::mkfifo(gate.c_str(), 0600), 0);
    FakeGameMode gamemoded(session_bus_->address());
    start_follower();
    ShellWithChild game(gate);  // forks its child only once the gate opens
    Process fence_1({"sleep", "600"});
    Process fence_2({"sleep", "600"});
    ASSERT_EQ(gamemode("RegisterGame", game.pid()), 0);
    ASSERT_EQ(gamemode("RegisterGame", fence_1.pid()), 0);
    // Events are handled in order: once the second game is held, the
    // follower has noted when the first hold began.
    ASSERT_TRUE(mock_holds({game.pid(), fence_1.pid()})) << follower_log();
    // Start times count in clock ticks: the child must start in a later one.
    const auto noted = boot_clock_ticks();
    while (boot_clock_ticks() <= noted) {
    }
    {
        const int fd = ::open(gate.c_str(), O_WRONLY);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, "go\n", 3), 3);
        ::close(fd);
    }
    const pid_t child = game.child();
    ASSERT_GT(child, 0);
    ASSERT_EQ(gamemode("RegisterGame", child), 0);  // gamemoderun's LD_PRELOAD does this
    ASSERT_EQ(gamemode("RegisterGame", fence_2.pid()), 0);
    ASSERT_TRUE(mock_holds({game.pid(), fence_1.pid(), fence_2.pid()})) << follower_log();
    EXPECT_EQ(mock_->holds_requested().size(), 3U);
    std::filesystem::remove_all(gate_dir);
}

TEST_F(FollowGameModeTest, FollowsGameModeLeavingAndTheGamesTheNextOneLists) {
    Process first({"sleep", "600"});
    Process second({"sleep", "600"});
    auto gamemoded = std::make_unique<FakeGameMode>(session_bus_->address(), std::vector<pid_t>{first.pid()});
    start_follower();  // `first` was registered before: ListGames tells
    ASSERT_TRUE(mock_holds({first.pid()})) << follower_log();
    gamemoded.reset();  // its registrations went with it
    ASSERT_TRUE(mock_holds({})) << follower_log();
    // A new gamemoded that already knows a game, and never announces it.
    gamemoded = std::make_unique<FakeGameMode>(session_bus_->address(), std::vector<pid_t>{second.pid()});
    ASSERT_TRUE(mock_holds({second.pid()})) << follower_log();
}

TEST_F(FollowGameModeTest, TakesTheHoldsAgainWhenTheDaemonComesBack) {
    FakeGameMode gamemoded(session_bus_->address());
    Process game({"sleep", "600"});
    start_follower();
    ASSERT_EQ(gamemode("RegisterGame", game.pid()), 0);
    ASSERT_TRUE(mock_holds({game.pid()})) << follower_log();
    mock_.reset();  // its holds ended with it
    mock_ = MockDaemon::start();
    ASSERT_TRUE(mock_holds({game.pid()})) << follower_log();
}

TEST_F(FollowGameModeTest, AsksAgainForAHoldRefusedForLackOfBudget) {
    FakeGameMode gamemoded(session_bus_->address());
    Process game({"sleep", "600"});
    start_follower();
    mock_->fail_next_call("org.scx.Rustland1.Error.LimitExceeded", "at most 32 holds per user");
    ASSERT_EQ(gamemode("RegisterGame", game.pid()), 0);
    // Refused, then granted on the retry 5 s later.
    ASSERT_TRUE(mock_holds({game.pid()})) << follower_log();
    ::kill(follower_->pid(), SIGTERM);
    EXPECT_EQ(follower_->wait(), 0);
    const std::string& log = follower_->err();
    EXPECT_NE(log.find("not holding every process of the games: limit exceeded: at most 32 "
                       "holds per user"),
              std::string::npos)
        << log;
}

TEST_F(FollowGameModeTest, WithoutASessionBusItSaysSoAndFails) {
    follower_ = std::make_unique<Process>(
        std::vector<std::string>{kCtl, "follow-gamemode"},
        std::map<std::string, std::string>{{"DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent"}});
    const int status = follower_->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
    EXPECT_NE(follower_->err().find("follow-gamemode: no session bus (where gamemoded runs)"), std::string::npos)
        << follower_->err();
}

}  // namespace
}  // namespace rustland::ctl::test
