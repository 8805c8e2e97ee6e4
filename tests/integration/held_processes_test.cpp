// The hold registry bound by HeldProcesses to a LatencyHintsMap, against a
// real BPF hash map with the
// dispatcher's key and value layout (creating one needs root or CAP_BPF, not
// sched_ext). The dispatcher's own writes (children inheriting a hint) are
// played by writing entries the way rustland.bpf.c does.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/control_plane.h"

namespace rustland {
namespace {

class BpfMap {
public:
    explicit BpfMap(unsigned capacity) {
        fd_ = bpf_map_create(BPF_MAP_TYPE_HASH, "hints_test", sizeof(s32), sizeof(rl_latency_hint), capacity, nullptr);
    }
    ~BpfMap() {
        if (fd_ >= 0)
            close(fd_);
    }
    int fd() const { return fd_; }
    // What the dispatcher does when a held process forks.
    void inherit(pid_t child, pid_t held) const {
        const s32 key = child;
        const rl_latency_hint hint{.latency_class = RL_LATENCY_CRITICAL, .held_tgid = held, .holder_uid = 1000};
        ASSERT_EQ(bpf_map_update_elem(fd_, &key, &hint, BPF_NOEXIST), 0);
    }
    std::vector<std::pair<pid_t, pid_t>> keys_and_holders() const {
        std::vector<std::pair<pid_t, pid_t>> out;
        for (const auto& [key, hint] : dispatcher::LatencyHintsMap(fd_).entries())
            out.emplace_back(key, hint.held_tgid);
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    int fd_ = -1;
};

class HeldProcessesTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_GE(map_.fd(), 0) << "creating a BPF map needs root or CAP_BPF: " << std::strerror(errno);
        ASSERT_TRUE(pidfd_of(::getpid())) << "pidfd_open: " << std::strerror(errno);
    }
    static UniqueFd pidfd_of(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u))); }
    // The made-up tgids are given this process's identity: one that stays alive.
    bool hold(pid_t tgid, uid_t holder, UniqueFd identity = pidfd_of(::getpid())) {
        return held_.registry().hold(tgid, std::move(identity), holder) == service::HoldRegistry::Outcome::Held;
    }
    void release(pid_t tgid) { held_.registry().release(tgid); }

    BpfMap map_{8};
    daemon::HeldProcesses held_;
};

using Entries = std::vector<std::pair<pid_t, pid_t>>;

TEST_F(HeldProcessesTest, AHoldWritesTheProcessAsItsOwnHolder) {
    held_.bind(map_.fd());
    ASSERT_TRUE(hold(100, 1000));
    const auto entries = dispatcher::LatencyHintsMap(map_.fd()).entries();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].first, 100);
    EXPECT_EQ(entries[0].second.latency_class, static_cast<u32>(RL_LATENCY_CRITICAL));
    EXPECT_EQ(entries[0].second.held_tgid, 100);
    // BPF applies the hint only to tasks still running as that user.
    EXPECT_EQ(entries[0].second.holder_uid, 1000u);
}

TEST_F(HeldProcessesTest, ARebindWritesTheHolderAgain) {
    ASSERT_TRUE(hold(100, 1000));
    held_.bind(map_.fd());
    const auto entries = dispatcher::LatencyHintsMap(map_.fd()).entries();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].second.holder_uid, 1000u);
}

TEST_F(HeldProcessesTest, AReleaseRemovesTheProcessAndWhatItsChildrenInherited) {
    held_.bind(map_.fd());
    ASSERT_TRUE(hold(100, 1000));
    ASSERT_TRUE(hold(200, 1000));
    map_.inherit(101, 100);
    map_.inherit(102, 100);
    map_.inherit(201, 200);
    release(100);
    EXPECT_EQ(map_.keys_and_holders(), (Entries{{200, 200}, {201, 200}}));
    release(200);
    EXPECT_TRUE(map_.keys_and_holders().empty());
}

TEST_F(HeldProcessesTest, ANewMapGetsEveryHeldProcessAndAnOldOneIsLeftAlone) {
    ASSERT_TRUE(hold(7, 1000));  // between two attaches: no map yet
    held_.bind(map_.fd());
    EXPECT_EQ(map_.keys_and_holders(), (Entries{{7, 7}}));
    held_.unbind();
    release(7);
    EXPECT_EQ(map_.keys_and_holders(), (Entries{{7, 7}})) << "an unbound map must not be written";

    BpfMap next(8);
    ASSERT_TRUE(hold(8, 1000));
    held_.bind(next.fd());
    EXPECT_EQ(next.keys_and_holders(), (Entries{{8, 8}}));
}

TEST_F(HeldProcessesTest, AFullMapRefusesTheHold) {
    held_.bind(map_.fd());
    for (pid_t tgid = 1; tgid <= 8; ++tgid)
        ASSERT_TRUE(hold(tgid, 1000));
    EXPECT_FALSE(hold(9, 1000));
    release(1);
    EXPECT_TRUE(hold(9, 1000));
    BpfMap next(8);
    held_.bind(next.fd());
    EXPECT_EQ(next.keys_and_holders().size(), 8u) << "a refused hold must not be replayed later";
}

TEST_F(HeldProcessesTest, AForkStormOfOneUserCannotBlockAnotherUsersHold) {
    held_.bind(map_.fd());
    ASSERT_TRUE(hold(100, 1000));
    for (pid_t child = 101; child <= 107; ++child)
        map_.inherit(child, 100);  // the map is full
    EXPECT_TRUE(hold(200, 1001)) << "another user's hold";
    EXPECT_TRUE(hold(300, 0)) << "root's hold";
    const auto entries = map_.keys_and_holders();
    EXPECT_TRUE(std::count(entries.begin(), entries.end(), std::pair<pid_t, pid_t>{100, 100}))
        << "the storming user's own hold stays";
    EXPECT_TRUE(std::count(entries.begin(), entries.end(), std::pair<pid_t, pid_t>{200, 200}));
    EXPECT_TRUE(std::count(entries.begin(), entries.end(), std::pair<pid_t, pid_t>{300, 300}));
}

TEST_F(HeldProcessesTest, ANewMapGetsNoProcessThatExitedMeanwhile) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    UniqueFd identity = pidfd_of(child);
    ASSERT_TRUE(identity);
    ASSERT_TRUE(hold(child, 1000, std::move(identity)));
    ASSERT_TRUE(hold(7, 1000));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);  // its pid is free for another process now
    held_.bind(map_.fd());
    EXPECT_EQ(map_.keys_and_holders(), (Entries{{7, 7}}));
}

}  // namespace
}  // namespace rustland
