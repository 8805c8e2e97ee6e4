// The systemd layer against a real notify socket: an AF_UNIX datagram socket
// that plays the service manager, NOTIFY_SOCKET pointing at it, and the exact
// datagrams sd_notify delivers.
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "systemd/logging.h"
#include "systemd/notifier.h"
#include "systemd/watchdog_gate.h"

namespace rustland::systemd {
namespace {

using namespace std::chrono_literals;

struct Datagram {
    std::string text;
    pid_t sender = 0;
};

std::uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

// The service manager's end: a bound datagram socket in a private directory.
class NotifySocket {
public:
    NotifySocket() {
        char tmpl[] = "/tmp/scx-notify-XXXXXX";
        if (mkdtemp(tmpl) == nullptr)
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        dir_ = tmpl;
        path_ = dir_ + "/notify";
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
            throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
        // Like systemd: the kernel attaches the sender's credentials.
        const int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    }
    ~NotifySocket() {
        close(fd_);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return path_; }

    // The next datagram, or nothing within `timeout`.
    std::optional<Datagram> receive(std::chrono::milliseconds timeout = 2000ms) {
        pollfd pfd{fd_, POLLIN, 0};
        if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
            return std::nullopt;
        char buf[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec iov{buf, sizeof(buf)};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
        if (n < 0)
            return std::nullopt;
        Datagram d;
        d.text.assign(buf, static_cast<std::size_t>(n));
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                ucred cred{};
                std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                d.sender = cred.pid;
            }
        return d;
    }

    // Every datagram already delivered (none expected to be in flight:
    // sd_notify returns after sendmsg, and local delivery is synchronous).
    std::vector<std::string> drain() {
        std::vector<std::string> all;
        while (auto d = receive(0ms))
            all.push_back(d->text);
        return all;
    }

private:
    std::string dir_, path_;
    int fd_ = -1;
};

class NotifyTest : public ::testing::Test {
protected:
    void SetUp() override { setenv("NOTIFY_SOCKET", manager_.path().c_str(), 1); }
    void TearDown() override {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }

    std::string next() {
        auto d = manager_.receive();
        return d ? d->text : "<nothing>";
    }

    NotifySocket manager_;
    Notifier notifier_;
};

TEST_F(NotifyTest, ReadyCarriesTheStatus) {
    EXPECT_TRUE(Notifier::enabled());
    EXPECT_TRUE(notifier_.ready("scheduler attached, all tasks"));
    EXPECT_EQ(next(), "READY=1\nSTATUS=scheduler attached, all tasks");
    EXPECT_TRUE(notifier_.ready());
    EXPECT_EQ(next(), "READY=1");
}

TEST_F(NotifyTest, StatusIsOneLine) {
    EXPECT_TRUE(notifier_.status("ejected: runtime error\nstall detected"));
    EXPECT_EQ(next(), "STATUS=ejected: runtime error stall detected");
}

TEST_F(NotifyTest, ReloadSequence) {
    const auto before = monotonic_usec();
    EXPECT_TRUE(notifier_.reloading());
    const auto after = monotonic_usec();
    const std::string reloading = next();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(reloading, m, std::regex("RELOADING=1\nMONOTONIC_USEC=([0-9]+)"))) << reloading;
    const auto stamp = std::stoull(m[1].str());
    EXPECT_GE(stamp, before);
    EXPECT_LE(stamp, after);

    EXPECT_TRUE(notifier_.ready("scheduler attached, config reloaded"));
    EXPECT_EQ(next(), "READY=1\nSTATUS=scheduler attached, config reloaded");
}

TEST_F(NotifyTest, Stopping) {
    EXPECT_TRUE(notifier_.stopping("detaching the scheduler"));
    EXPECT_EQ(next(), "STOPPING=1\nSTATUS=detaching the scheduler");
    EXPECT_TRUE(notifier_.stopping());
    EXPECT_EQ(next(), "STOPPING=1");
}

TEST_F(NotifyTest, Watchdog) {
    EXPECT_TRUE(notifier_.watchdog());
    EXPECT_EQ(next(), "WATCHDOG=1");
}

TEST_F(NotifyTest, SentFromAnotherThreadTheSenderIsTheProcess) {
    // NotifyAccess=main: systemd accepts only datagrams whose credentials
    // name the main pid; the control thread is not the process's first thread.
    std::thread([this] { notifier_.watchdog(); }).join();
    auto d = manager_.receive();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->text, "WATCHDOG=1");
    EXPECT_EQ(d->sender, getpid());
}

TEST_F(NotifyTest, NoSocketNoMessages) {
    unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(Notifier::enabled());
    EXPECT_FALSE(notifier_.ready("x"));
    EXPECT_FALSE(notifier_.status("x"));
    EXPECT_FALSE(notifier_.reloading());
    EXPECT_FALSE(notifier_.stopping());
    EXPECT_FALSE(notifier_.watchdog());
    EXPECT_FALSE(manager_.receive(100ms));
}

TEST_F(NotifyTest, WatchdogInterval) {
    EXPECT_FALSE(Notifier::watchdog_interval());
    setenv("WATCHDOG_USEC", "10000000", 1);
    EXPECT_EQ(Notifier::watchdog_interval(), std::chrono::microseconds(5'000'000));
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    EXPECT_EQ(Notifier::watchdog_interval(), std::chrono::microseconds(5'000'000));
    // Meant for another process (e.g. inherited from a parent): not ours.
    setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
    EXPECT_FALSE(Notifier::watchdog_interval());
}

// The daemon's watchdog duty in miniature: a fake scheduling thread publishes
// the progress counter; the control thread checks the gate every `tick` and
// pings only when allowed.
class FakeScheduler {
public:
    std::atomic<std::uint64_t> rounds{0};
    std::atomic<std::uint64_t> nr_queued{0};
    std::atomic<std::uint64_t> nr_scheduled{0};
    std::atomic<std::uint64_t> heartbeats{0};
    std::atomic<bool> stop{false};

    void start() {
        thread_ = std::thread([this] {
            while (!stop.load()) {
                if (stall_.load()) {
                    parked_ = true;
                } else {
                    parked_ = false;
                    rounds.fetch_add(1);
                }
                std::this_thread::sleep_for(1ms);
            }
        });
    }

    // Returns once the thread has certainly stopped turning.
    void stall() {
        stall_ = true;
        while (!parked_.load())
            std::this_thread::sleep_for(1ms);
    }
    void resume() { stall_ = false; }

    // Returns once the loop turned at least once more (or after 5 s).
    void wait_for_turn() const {
        const auto from = rounds.load();
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (rounds.load() == from && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
    }
    ~FakeScheduler() {
        stop = true;
        if (thread_.joinable())
            thread_.join();
    }

    ProgressSample sample() const {
        return ProgressSample{rounds.load(), nr_queued.load(), nr_scheduled.load(), heartbeats.load()};
    }

private:
    std::atomic<bool> stall_{false};
    std::atomic<bool> parked_{false};
    std::thread thread_;
};

// One control-thread check: returns whether a ping went out.
bool control_tick(WatchdogGate& gate, Notifier& notifier, const FakeScheduler& sched) {
    const auto verdict = gate.check(sched.sample());
    return verdict.ping && notifier.watchdog();
}

TEST_F(NotifyTest, WatchdogOnlyWhileTheSchedulingThreadProgresses) {
    FakeScheduler sched;
    WatchdogGate gate;
    sched.nr_queued = 12;  // a busy machine: work is always pending
    sched.nr_scheduled = 30;
    sched.start();

    for (int i = 0; i < 3; ++i) {
        sched.wait_for_turn();
        EXPECT_TRUE(control_tick(gate, notifier_, sched));
        EXPECT_EQ(next(), "WATCHDOG=1");
    }

    // The scheduling thread gets stuck with work pending: pings stop.
    sched.stall();
    control_tick(gate, notifier_, sched);  // may or may not see a last turn
    manager_.drain();
    const auto stalled_before = gate.stalled_checks();
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(20ms);
        EXPECT_FALSE(control_tick(gate, notifier_, sched));
    }
    EXPECT_EQ(gate.stalled_checks(), stalled_before + 3);
    EXPECT_FALSE(manager_.receive(100ms)) << "no WATCHDOG=1 while stalled";

    // It recovers: pings resume.
    sched.resume();
    sched.wait_for_turn();
    EXPECT_TRUE(control_tick(gate, notifier_, sched));
    EXPECT_EQ(next(), "WATCHDOG=1");
}

TEST_F(NotifyTest, IdleSchedulerStillPings) {
    FakeScheduler sched;  // never turns, nothing to do
    WatchdogGate gate;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(control_tick(gate, notifier_, sched));
        EXPECT_EQ(next(), "WATCHDOG=1");
    }
    // A task arrives and the thread does not pick it up: pings stop.
    sched.nr_queued = 1;
    EXPECT_FALSE(control_tick(gate, notifier_, sched));
    EXPECT_FALSE(control_tick(gate, notifier_, sched));
    // The BPF heartbeat fires twice and the thread still does not turn: no
    // ping either (one unanswered heartbeat is tolerated, two are not).
    sched.nr_queued = 0;
    control_tick(gate, notifier_, sched);  // zero now, work last time: still no ping
    sched.heartbeats = 2;
    EXPECT_FALSE(control_tick(gate, notifier_, sched));
    EXPECT_FALSE(manager_.receive(100ms));
}

TEST_F(NotifyTest, FullLifecycle) {
    // The order the daemon will send in: ready, pings, reload, pings, stop.
    FakeScheduler sched;
    WatchdogGate gate;
    sched.start();
    notifier_.ready("scheduler attached");
    sched.wait_for_turn();
    control_tick(gate, notifier_, sched);
    notifier_.reloading();
    notifier_.ready("scheduler attached, config reloaded");
    sched.wait_for_turn();
    control_tick(gate, notifier_, sched);
    notifier_.stopping("detaching");

    const auto all = manager_.drain();
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all[0], "READY=1\nSTATUS=scheduler attached");
    EXPECT_EQ(all[1], "WATCHDOG=1");
    EXPECT_EQ(all[2].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << all[2];
    EXPECT_EQ(all[3], "READY=1\nSTATUS=scheduler attached, config reloaded");
    EXPECT_EQ(all[4], "WATCHDOG=1");
    EXPECT_EQ(all[5], "STOPPING=1\nSTATUS=detaching");
}

TEST(JournalStream, MatchesOnlyTheExactDeviceAndInode) {
    EXPECT_TRUE(journal_stream_matches("8:1234", 8, 1234));
    EXPECT_FALSE(journal_stream_matches("8:1234", 8, 1235));
    EXPECT_FALSE(journal_stream_matches("9:1234", 8, 1234));
    EXPECT_FALSE(journal_stream_matches(nullptr, 8, 1234));
    EXPECT_FALSE(journal_stream_matches("", 0, 0));
    EXPECT_FALSE(journal_stream_matches("8", 8, 0));
    EXPECT_FALSE(journal_stream_matches("8:", 8, 0));
    EXPECT_FALSE(journal_stream_matches(":1234", 0, 1234));
    EXPECT_FALSE(journal_stream_matches("8:1234x", 8, 1234));
    EXPECT_FALSE(journal_stream_matches("-8:1234", 8, 1234));
}

TEST(JournalStream, FollowsStderr) {
    struct stat st{};
    ASSERT_EQ(fstat(STDERR_FILENO, &st), 0);
    const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    setenv("JOURNAL_STREAM", mine.c_str(), 1);
    EXPECT_TRUE(stderr_is_journal());
    // Inherited by a process whose stderr went elsewhere: not the journal.
    setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
    EXPECT_FALSE(stderr_is_journal());
    unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(stderr_is_journal());
}

TEST(Logging, StderrWhenNotUnderSystemd) {
    unsetenv("JOURNAL_STREAM");
    setup_logging(false);
    EXPECT_FALSE(logging_to_journal());
    testing::internal::CaptureStderr();
    spdlog::info("plain {}", 1);
    spdlog::debug("hidden");
    log_with_fields(spdlog::level::err, "ejected", {{"SCX_EXIT_REASON", "runtime error"}});
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_NE(out.find("info: plain 1\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
    EXPECT_NE(out.find("error: ejected\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("SCX_EXIT_REASON"), std::string::npos) << out;

    setup_logging(true);
    testing::internal::CaptureStderr();
    spdlog::debug("shown");
    EXPECT_NE(testing::internal::GetCapturedStderr().find("debug: shown\n"), std::string::npos);
}

}  // namespace
}  // namespace rustland::systemd
