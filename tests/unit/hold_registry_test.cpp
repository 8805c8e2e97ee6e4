// The hold registry's rules, with a map-like sink in memory and an exit
// probe the test controls: no processes, no BPF, no D-Bus.
#include "service/hold_registry.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

namespace rustland::service {
namespace {

// A bounded map like the dispatcher's: held processes plus the children
// that inherited their hold.
class FakeMap final : public HoldSink {
public:
    explicit FakeMap(std::size_t capacity) : capacity_(capacity) {}

    bool hold(pid_t tgid, uid_t holder) override {
        if (entries_.size() >= capacity_ && !entries_.contains(tgid))
            return false;
        entries_[tgid] = {tgid, holder};
        ++holds_;
        return true;
    }
    void release(pid_t tgid) override {
        std::erase_if(entries_, [&](const auto& entry) { return entry.second.first == tgid; });
    }
    void forget(pid_t key) override { entries_.erase(key); }
    std::vector<Entry> entries() const override {
        std::vector<Entry> result;
        for (const auto& [key, value] : entries_)
            result.push_back({key, value.first});
        return result;
    }

    // What the dispatcher does when a held process forks.
    void inherit(pid_t child, pid_t held) {
        ASSERT_LT(entries_.size(), capacity_);
        entries_[child] = {held, entries_.at(held).second};
    }
    std::set<pid_t> keys() const {
        std::set<pid_t> keys;
        for (const auto& [key, value] : entries_)
            keys.insert(key);
        return keys;
    }
    uid_t holder_of(pid_t key) const { return entries_.at(key).second; }
    unsigned holds() const { return holds_; }

private:
    std::size_t capacity_;
    std::map<pid_t, std::pair<pid_t, uid_t>> entries_;  // key -> held tgid, holder
    unsigned holds_ = 0;
};

class HoldRegistryTest : public ::testing::Test {
protected:
    // A stand-in for a pidfd: any open descriptor, whose process has exited
    // once the test says so.
    UniqueFd identity() {
        UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        EXPECT_TRUE(fd);
        return fd;
    }
    HoldRegistry::Outcome hold(pid_t tgid, uid_t holder = 1000) { return registry_.hold(tgid, identity(), holder); }
    void exit_process(pid_t tgid) {
        for (const auto& process : registry_.held())
            if (process.tgid == tgid)
                exited_.insert(process.pidfd);
    }

    std::set<int> exited_;
    HoldRegistry registry_{[this](int pidfd) { return exited_.contains(pidfd); }};
    FakeMap map_{8};
};

using Keys = std::set<pid_t>;
using Outcome = HoldRegistry::Outcome;

TEST_F(HoldRegistryTest, TheFirstHoldWritesTheProcessToTheSinkForItsHolder) {
    registry_.bind(map_);
    ASSERT_EQ(hold(100, 1000), Outcome::Held);
    EXPECT_EQ(map_.keys(), Keys{100});
    EXPECT_EQ(map_.holder_of(100), 1000u);
}

TEST_F(HoldRegistryTest, LaterHoldsOnTheSameProcessOnlyCount) {
    registry_.bind(map_);
    ASSERT_EQ(hold(100), Outcome::Held);
    ASSERT_EQ(hold(100), Outcome::Held);
    EXPECT_EQ(map_.holds(), 1u);
    EXPECT_EQ(registry_.held().size(), 1u) << "one identity per process, however many holds";
}

TEST_F(HoldRegistryTest, TheLastReleaseRemovesTheProcessFromTheSink) {
    registry_.bind(map_);
    ASSERT_EQ(hold(100), Outcome::Held);
    ASSERT_EQ(hold(100), Outcome::Held);
    map_.inherit(101, 100);
    registry_.release(100);
    EXPECT_EQ(map_.keys(), (Keys{100, 101})) << "a hold is left";
    registry_.release(100);
    EXPECT_TRUE(map_.keys().empty());
    EXPECT_TRUE(registry_.held().empty());
}

TEST_F(HoldRegistryTest, ReleasingAProcessThatIsNotHeldChangesNothing) {
    registry_.bind(map_);
    ASSERT_EQ(hold(100), Outcome::Held);
    registry_.release(200);
    EXPECT_EQ(map_.keys(), Keys{100});
    EXPECT_EQ(registry_.held().size(), 1u);
}

TEST_F(HoldRegistryTest, HoldsWithoutASinkAreWrittenToTheNextOne) {
    ASSERT_EQ(hold(7, 1001), Outcome::Held);  // between two attaches
    registry_.bind(map_);
    EXPECT_EQ(map_.keys(), Keys{7});
    EXPECT_EQ(map_.holder_of(7), 1001u);
}

TEST_F(HoldRegistryTest, AnUnboundSinkIsNotWrittenAnyMore) {
    registry_.bind(map_);
    ASSERT_EQ(hold(7), Outcome::Held);
    registry_.unbind();
    registry_.release(7);
    ASSERT_EQ(hold(8), Outcome::Held);
    EXPECT_EQ(map_.keys(), Keys{7});

    FakeMap next(8);
    registry_.bind(next);
    EXPECT_EQ(next.keys(), Keys{8});
}

TEST_F(HoldRegistryTest, ANewMapGetsOnlyProcessesStillAlive) {
    ASSERT_EQ(hold(7), Outcome::Held);
    ASSERT_EQ(hold(8), Outcome::Held);
    exit_process(8);  // its pid may be another process's by now
    registry_.bind(map_);
    EXPECT_EQ(map_.keys(), Keys{7});
}

TEST_F(HoldRegistryTest, AProcessThatExitsWhileBeingHeldIsNeitherKeptNorInTheSink) {
    registry_.bind(map_);
    UniqueFd pidfd = identity();
    exited_.insert(pidfd.get());
    EXPECT_EQ(registry_.hold(100, std::move(pidfd), 1000), Outcome::Exited);
    EXPECT_TRUE(map_.keys().empty());
    EXPECT_TRUE(registry_.held().empty());
}

TEST_F(HoldRegistryTest, OnlyAHeldProcessThatExitedIsReportedExited) {
    ASSERT_EQ(hold(7), Outcome::Held);
    ASSERT_EQ(hold(8), Outcome::Held);
    exit_process(8);
    EXPECT_FALSE(registry_.exited(7));
    EXPECT_TRUE(registry_.exited(8));
    EXPECT_FALSE(registry_.exited(9)) << "not held";
}

TEST_F(HoldRegistryTest, AFullMapWithNothingInheritedRefusesTheHoldAndForgetsIt) {
    registry_.bind(map_);
    for (pid_t tgid = 1; tgid <= 8; ++tgid)
        ASSERT_EQ(hold(tgid), Outcome::Held);
    EXPECT_EQ(hold(9), Outcome::SinkFull);
    EXPECT_EQ(registry_.held().size(), 8u);
    FakeMap next(16);
    registry_.bind(next);
    EXPECT_FALSE(next.keys().contains(9)) << "a refused hold must not be written later";
}

TEST_F(HoldRegistryTest, AFullMapMakesRoomFromTheUidWithTheMostInheritedEntries) {
    registry_.bind(map_);
    ASSERT_EQ(hold(100, 1000), Outcome::Held);
    ASSERT_EQ(hold(200, 1001), Outcome::Held);
    for (pid_t child = 101; child <= 104; ++child)
        map_.inherit(child, 100);
    map_.inherit(201, 200);
    map_.inherit(202, 200);  // the map is full
    EXPECT_EQ(hold(300, 0), Outcome::Held) << "root's hold";
    EXPECT_EQ(map_.keys(), (Keys{100, 200, 201, 202, 300}))
        << "uid 1000's children make room; its own hold and uid 1001's children stay";
}

}  // namespace
}  // namespace rustland::service
