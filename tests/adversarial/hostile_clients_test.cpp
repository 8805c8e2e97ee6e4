// org.scx.Rustland1 against hostile local users: floods, stalled polkit,
// disconnect storms, prying, processes that change identity, descriptor
// exhaustion. Each test reproduces one finding of issue #12 on the private
// system-like bus (tests/integration/private_bus.h) and bounds what a
// well-behaved caller sees meanwhile. The bounds are generous (a loaded CI
// machine) yet far below what the old code took; measured figures are
// printed as "[figure] ..." lines (docs/reliability.md). Needs root.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <rustland1_names.h>

#include "fail.h"
#include "service_fixtures.h"

namespace rustland::service::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uid_t kHostile = 65534;
constexpr uid_t kBystander = 1;  // "daemon": a uid every Debian has (dbus-daemon refuses unknown uids)
constexpr const char* kError = "org.scx.Rustland1.Error.";
// For the raw sd-bus calls (sdbus-c++ 2.x's INTERFACE_NAME is no C string).
const std::string kInterface = org::scx::Rustland1_proxy::INTERFACE_NAME;
const std::map<std::string, sdbus::Variant> kNoOptions;
// What a well-behaved caller may wait during an attack: generous for a
// loaded 2-core CI machine, far below the 13 s, 30 s and 40 s of issue #12.
constexpr auto kPromptly = 2s;
// Calls each of the 100 flooding connections keeps in flight (dbus-daemon
// allows 128): deep enough that the old loop, which drained every message
// before looking at pidfds and its mailbox, took seconds to notice an exit
// and 43 s to stop. The bystander's calls wait in the same FIFO as the
// flood, so that test uses a shallower flood (docs/reliability.md).
constexpr int kDeepWindow = 100;
constexpr int kShallowWindow = 4;
// Only against hangs.
constexpr auto kDeadline = 30s;

std::string err(const char* name) { return std::string(kError) + name; }

using test_support::fail;

void print_figure(const std::string& what, Clock::duration took) {
    std::cout << "[figure] " << what << ": " << std::chrono::duration_cast<std::chrono::microseconds>(took).count()
              << " us" << std::endl;
}

// A child process of `uid` whose `connections` bus connections each keep
// `window` calls of `member` (Release(999999) or Reload()) in flight, a new
// one sent for every answer, until the Flood is destroyed. Raw sd-bus: one
// thread drives every connection.
class Flood {
public:
    Flood(uid_t uid, int connections, int window, const std::string& member) {
        int stop[2], ready[2];
        if (::pipe2(stop, O_CLOEXEC) != 0 || ::pipe2(ready, O_CLOEXEC) != 0)
            fail("pipe2");
        child_ = ::fork();
        if (child_ < 0)
            fail("fork");
        if (child_ == 0) {
            ::close(stop[1]);
            ::close(ready[0]);
            if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)
                ::_exit(2);
            run(stop[0], ready[1], connections, window, member);
        }
        ::close(stop[0]);
        ::close(ready[1]);
        stop_ = stop[1];
        // Every call of the first round is on its way before we measure.
        pollfd entry{ready[0], POLLIN, 0};
        char byte = 0;
        const bool started = ::poll(&entry, 1, static_cast<int>(std::chrono::milliseconds(kDeadline).count())) == 1 &&
                             ::read(ready[0], &byte, 1) == 1;
        ::close(ready[0]);
        if (!started)
            throw std::runtime_error("the flood did not start");
    }

    ~Flood() {
        ::close(stop_);
        ::waitpid(child_, nullptr, 0);
    }

    Flood(const Flood&) = delete;
    Flood& operator=(const Flood&) = delete;

private:
    struct Sender {
        std::string member;
    };

    static int send(sd_bus* bus, Sender* sender) {
        if (sender->member == "Release")
            return sd_bus_call_method_async(bus, nullptr, dbus_names::kBusName, dbus_names::kObjectPath,
                                            kInterface.c_str(), "Release", on_reply, sender, "t",
                                            std::uint64_t{999999});
        return sd_bus_call_method_async(bus, nullptr, dbus_names::kBusName, dbus_names::kObjectPath, kInterface.c_str(),
                                        sender->member.c_str(), on_reply, sender, nullptr);
    }

    static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
        send(sd_bus_message_get_bus(reply), static_cast<Sender*>(userdata));
        return 0;
    }

    [[noreturn]] static void run(int stop, int ready, int connections, int window, const std::string& member) {
        Sender sender{member};
        std::vector<sd_bus*> buses;
        for (int i = 0; i < connections; ++i) {
            sd_bus* bus = nullptr;
            if (sd_bus_open_system(&bus) < 0)
                ::_exit(3);
            for (int call = 0; call < window; ++call)
                send(bus, &sender);
            if (sd_bus_flush(bus) < 0)
                ::_exit(4);
            buses.push_back(bus);
        }
        [[maybe_unused]] const auto written = ::write(ready, "r", 1);
        std::vector<pollfd> fds(buses.size() + 1);
        for (;;) {
            fds[0] = {stop, POLLIN, 0};
            for (std::size_t i = 0; i < buses.size(); ++i)
                fds[i + 1] = {sd_bus_get_fd(buses[i]), static_cast<short>(sd_bus_get_events(buses[i])), 0};
            ::poll(fds.data(), fds.size(), 100);
            if (fds[0].revents != 0)
                ::_exit(0);
            for (sd_bus* bus : buses) {
                while (sd_bus_process(bus, nullptr) > 0) {
                }
            }
        }
    }

    pid_t child_ = -1;
    int stop_ = -1;
};

// Counts the service's log messages by level and text.
class CountingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    unsigned warnings() {
        std::lock_guard lock(mutex_);
        return warnings_;
    }
    unsigned containing(const std::string& text) {
        std::lock_guard lock(mutex_);
        return static_cast<unsigned>(std::count_if(messages_.begin(), messages_.end(), [&](const auto& message) {
            return message.find(text) != std::string::npos;
        }));
    }

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        if (message.level >= spdlog::level::warn)
            ++warnings_;
        messages_.emplace_back(message.payload.begin(), message.payload.end());
    }
    void flush_() override {}

private:
    unsigned warnings_ = 0;
    std::vector<std::string> messages_;
};

class HostileClients : public ServiceOnPrivateBus {};

// --- 1: a call flood ---

TEST_F(HostileClients, AnotherUsersHoldAndReleaseStayFastDuringACallFlood) {
    start();
    // The bystander connects and is known to the service before the flood;
    // then its calls wait only behind what the flood has queued.
    int warm[2], go[2];
    ASSERT_EQ(::pipe2(warm, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    std::string result;
    std::thread bystander([&] {
        result = as_user(kBystander, [&] {
            ::close(warm[0]);
            ::close(go[1]);
            Client client;
            client.State();
            [[maybe_unused]] const auto written = ::write(warm[1], "w", 1);
            char byte;
            if (::read(go[0], &byte, 1) != 1)
                return std::string("no flood");
            const auto self = static_cast<std::uint32_t>(::getpid());
            Clock::duration worst{};
            for (int i = 0; i < 3; ++i) {
                const auto begin = Clock::now();
                client.Release(client.HoldPid(self, "game", "", kNoOptions));
                worst = std::max(worst, Clock::now() - begin);
            }
            return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(worst).count());
        });
    });
    char byte = 0;
    const bool warmed = ::read(warm[0], &byte, 1) == 1;
    {
        const Flood flood(kHostile, 100, kShallowWindow, "Release");
        if (warmed) {
            EXPECT_EQ(::write(go[1], "g", 1), 1);
        }
        bystander.join();
    }
    for (const int fd : {warm[0], warm[1], go[0], go[1]})
        ::close(fd);
    ASSERT_TRUE(warmed) << result;
    const auto worst = std::chrono::microseconds(std::stoll(result));  // throws on an error text
    print_figure("bystander's slowest Hold+Release during a Release flood (100 connections)", worst);
    EXPECT_LT(worst, kPromptly);
}

TEST_F(HostileClients, AKilledHeldProcessIsUnmarkedPromptlyDuringACallFlood) {
    start();
    Client observer;
    Sleeper target;
    const auto cookie = observer.HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kNoOptions);
    const Flood flood(kHostile, 100, kDeepWindow, "Release");
    const auto killed = Clock::now();
    target.kill();
    ASSERT_TRUE(observer.wait_for(removed(cookie, "process-exited")));
    const auto events = observer.events();
    const auto ended = std::find_if(events.begin(), events.end(), removed(cookie, "process-exited"))->at;
    print_figure("killed held process to HoldRemoved during a Release flood", ended - killed);
    EXPECT_LT(ended - killed, kPromptly);
    EXPECT_TRUE(hints_.held().empty());
}

TEST_F(HostileClients, StopFinishesPromptlyDuringACallFlood) {
    start();
    const Flood flood(kHostile, 100, kDeepWindow, "Release");
    const auto begin = Clock::now();
    service_->stop();
    const auto took = Clock::now() - begin;
    print_figure("Service::stop() during a Release flood", took);
    EXPECT_LT(took, kPromptly);  // TimeoutStopSec= is 15 s
}

TEST_F(HostileClients, EveryCallAndPropertyReadSpendsTheCallersBudget) {
    Limits limits;
    limits.call_burst = 4;
    limits.call_rate_per_second = 0.001;  // no refill within the test
    start(limits);
    const std::string hostile = as_user(kHostile, [] {
        Client client;
        std::string out;
        out += error_of([&] { client.State(); }) + " ";
        out += error_of([&] { client.Holds(); }) + " ";
        out += error_of([&] { client.Release(999999); }) + " ";
        out += error_of([&] { client.Counters(); }) + " ";
        out += error_of([&] { client.Release(999999); }) + " ";
        out += error_of([&] { client.Version(); }) + " ";
        out += error_of([&] { client.Reload(); });
        return out;
    });
    EXPECT_EQ(hostile, "ok ok " + err("NoSuchHold") + " ok " + err("LimitExceeded") + " " + err("LimitExceeded") + " " +
                           err("LimitExceeded"));
    // Another uid has its own budget.
    EXPECT_EQ(as_user(kBystander, [] { return error_of([] { Client().State(); }); }), "ok");
}

// --- 2: a stalled polkit ---

TEST_F(HostileClients, AUsersReloadsWaitingForPolkitAreCappedSoOthersStillGetAsked) {
    FakePolkit polkit(FakePolkit::Stalled{});
    start();
    const Flood flood(kHostile, 2, 100, "Reload");
    // The bystander's Reload must reach polkit (which then never answers).
    int name_pipe[2], gate[2];
    ASSERT_EQ(::pipe2(name_pipe, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    std::string outcome;
    std::thread bystander([&] {
        outcome = as_user(kBystander, [&] {
            ::close(gate[1]);
            ::close(name_pipe[0]);
            sd_bus* bus = nullptr;
            const char* unique = nullptr;
            if (sd_bus_open_system(&bus) < 0 || sd_bus_get_unique_name(bus, &unique) < 0)
                return std::string("cannot connect");
            const std::string name = std::string(unique) + "\n";
            sd_bus_call_method_async(bus, nullptr, dbus_names::kBusName, dbus_names::kObjectPath, kInterface.c_str(),
                                     "Reload", nullptr, nullptr, nullptr);
            sd_bus_flush(bus);
            [[maybe_unused]] const auto written = ::write(name_pipe[1], name.data(), name.size());
            char byte;
            [[maybe_unused]] const auto got = ::read(gate[0], &byte, 1);  // stay connected until asked
            sd_bus_close_unref(bus);
            return std::string("done");
        });
    });
    std::string name;
    char c;
    while (::read(name_pipe[0], &c, 1) == 1 && c != '\n')
        name += c;
    ::close(name_pipe[0]);
    const bool asked = polkit.wait_for_question_from(name);
    ::close(gate[1]);
    bystander.join();
    // Only now: a descriptor number freed earlier could be reused by as_user()'s own pipe.
    ::close(name_pipe[1]);
    ::close(gate[0]);
    EXPECT_TRUE(asked) << "the bystander's Reload never reached polkit";
    const auto questions = polkit.questions();
    const auto of_hostile = std::count_if(questions.begin(), questions.end(),
                                          [&](const auto& question) { return question.subject_name != name; });
    EXPECT_EQ(of_hostile, static_cast<long>(Limits{}.max_pending_authorizations_per_uid));
    EXPECT_EQ(outcome, "done");
}

TEST_F(HostileClients, PolkitThatNeverAnswersRefusesTheReloadAfterTheTimeout) {
    FakePolkit polkit(FakePolkit::Stalled{});
    Limits limits;
    limits.authorization_timeout = 200ms;
    start(limits);
    const std::string result = as_user(kHostile, [] { return error_of([] { Client().Reload(); }); });
    EXPECT_EQ(result, err("PermissionDenied"));
    EXPECT_EQ(admin_.reloads(), 0u);
}

// --- 3: holding a process that is or becomes another user ---

TEST_F(HostileClients, AProcessThatCanSwitchToRootCannotBeHeldByAUser) {
    start();
    int ready[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    const pid_t target = ::fork();
    ASSERT_GE(target, 0);
    if (target == 0) {
        // Real and effective uid nobody's, saved uid root's: one setresuid() from root.
        if (::setgroups(0, nullptr) != 0 || ::setresgid(kHostile, kHostile, kHostile) != 0 ||
            ::setresuid(kHostile, kHostile, 0) != 0)
            ::_exit(2);
        ::close(ready[1]);
        for (;;)
            ::pause();
    }
    ::close(ready[1]);
    char byte;
    ASSERT_EQ(::read(ready[0], &byte, 1), 0);  // EOF: the uids are set
    ::close(ready[0]);
    const std::string result = as_user(kHostile, [&] {
        return error_of([&] { Client().HoldPid(static_cast<std::uint32_t>(target), "", "", kNoOptions); });
    });
    ::kill(target, SIGKILL);
    ::waitpid(target, nullptr, 0);
    EXPECT_EQ(result, err("PermissionDenied"));
    EXPECT_TRUE(hints_.held().empty());
}

// A copy of sleep(1) that runs as root whoever starts it.
class SetuidSleep {
public:
    SetuidSleep() {
        char dir[] = "/tmp/rustland-setuid-XXXXXX";
        if (::mkdtemp(dir) == nullptr)
            fail("mkdtemp");
        dir_ = dir;
        ::chmod(dir_.c_str(), 0755);
        path_ = dir_ + "/sleep";
        std::filesystem::copy_file("/bin/sleep", path_);
        if (::chown(path_.c_str(), 0, 0) != 0 || ::chmod(path_.c_str(), 04755) != 0)
            fail("making " + path_ + " setuid root");
    }
    ~SetuidSleep() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    const std::string& path() const { return path_; }

private:
    std::string dir_;
    std::string path_;
};

TEST_F(HostileClients, AHeldProcessThatBecomesRootLosesItsHold) {
    const SetuidSleep setuid_sleep;
    start();
    const std::string result = as_user(kHostile, [&] {
        int go[2];
        if (::pipe2(go, O_CLOEXEC) != 0)
            fail("pipe2");
        const pid_t target = ::fork();
        if (target == 0) {
            ::close(go[1]);
            char byte;
            [[maybe_unused]] const auto got = ::read(go[0], &byte, 1);
            ::execl(setuid_sleep.path().c_str(), "sleep", "600", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(go[0]);
        Client client;
        std::string out;
        std::uint64_t cookie = 0;
        out += "hold:" +
               error_of([&] { cookie = client.HoldPid(static_cast<std::uint32_t>(target), "", "", kNoOptions); });
        ::close(go[1]);  // now exec the setuid program
        out += client.wait_for(removed(cookie, "credentials-changed")) ? " ended" : " still-held";
        ::kill(target, SIGKILL);
        ::waitpid(target, nullptr, 0);
        return out;
    });
    EXPECT_EQ(result, "hold:ok ended");
    EXPECT_TRUE(hints_.held().empty());
}

// --- 7: cookies ---

TEST_F(HostileClients, CookiesAreUnguessableAndNotReusedAfterARestart) {
    Sleeper target;
    const auto pid = static_cast<std::uint32_t>(target.pid());
    std::vector<std::uint64_t> cookies;
    for (int restart = 0; restart < 2; ++restart) {
        start();
        Client client;
        for (int i = 0; i < 10; ++i)
            cookies.push_back(client.HoldPid(pid, "", "", kNoOptions));
        service_.reset();
    }
    std::vector<std::uint64_t> sorted = cookies;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "a cookie was reused";
    // 20 random 64-bit numbers: none small, no two adjacent (each fails by chance with p < 2^-20).
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        EXPECT_GT(sorted[i], std::uint64_t{1} << 40) << "cookie " << sorted[i];
        if (i > 0) {
            EXPECT_GT(sorted[i] - sorted[i - 1], 1u << 20) << "cookies " << sorted[i - 1] << ", " << sorted[i];
        }
    }
}

// --- 8: one bus match for every caller ---

TEST_F(HostileClients, HoldsOfManyCallersDoNotCostTheServiceAMatchRuleEach) {
    bus_.reset();
    bus_.emplace(PrivateBus::Options{.max_match_rules_per_connection = 8});
    start();
    Sleeper target;
    std::vector<std::unique_ptr<Client>> callers;
    std::string outcomes;
    for (int i = 0; i < 20; ++i) {
        auto& caller = callers.emplace_back(std::make_unique<Client>());
        outcomes += error_of([&] { caller->HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kNoOptions); });
        outcomes += " ";
    }
    std::string expected;
    for (int i = 0; i < 20; ++i)
        expected += "ok ";
    EXPECT_EQ(outcomes, expected);
    // And each caller's leaving still ends its hold.
    Client observer;
    callers.clear();
    EXPECT_TRUE(
        observer.wait_for([](const Client::Event& event) { return event.detail == "client-disconnected"; }, 20));
    EXPECT_TRUE(hints_.held().empty());
}

// --- 9: callers that leave right after calling ---

TEST_F(HostileClients, CallersLeavingRightAfterCallingDoNotFloodTheLog) {
    auto sink = std::make_shared<CountingSink>();
    const auto logger = spdlog::default_logger();
    const auto level = logger->level();
    logger->sinks().push_back(sink);
    logger->set_level(spdlog::level::debug);
    start();
    constexpr int kCallers = 200;
    const std::string sent = as_user(kHostile, [] {
        for (int i = 0; i < kCallers; ++i) {
            sd_bus* bus = nullptr;
            if (sd_bus_open_system(&bus) < 0)
                return std::string("cannot connect");
            sd_bus_call_method_async(bus, nullptr, dbus_names::kBusName, dbus_names::kObjectPath, kInterface.c_str(),
                                     "Release", nullptr, nullptr, "t", std::uint64_t{1});
            sd_bus_flush(bus);
            sd_bus_close_unref(bus);
        }
        return std::string("sent");
    });
    ASSERT_EQ(sent, "sent");
    // Every call is answered (or refused) and logged at some level.
    const auto deadline = Clock::now() + kDeadline;
    while (sink->containing("D-Bus Release") < kCallers && Clock::now() < deadline)
        Client().Version();  // a round trip through the service's queue, behind the calls above
    const unsigned handled = sink->containing("D-Bus Release");
    const unsigned warnings = sink->warnings();
    service_.reset();
    logger->sinks().pop_back();
    logger->set_level(level);
    EXPECT_EQ(handled, static_cast<unsigned>(kCallers));
    EXPECT_LE(warnings, 11u) << "at most 10 warnings a minute and a summary";
}

// --- 10: out of file descriptors ---

TEST_F(HostileClients, OutOfFileDescriptorsIsNotReportedAsAMissingProcess) {
    start();
    Sleeper target;
    // The caller lives in a child, so that only the service (this process) runs out.
    int go[2], answer[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(answer, O_CLOEXEC), 0);
    const pid_t caller = ::fork();
    ASSERT_GE(caller, 0);
    if (caller == 0) {
        ::close(go[1]);
        ::close(answer[0]);
        std::string result;
        try {
            Client client;
            client.State();  // known to the service before its descriptors run out
            [[maybe_unused]] const auto known = ::write(answer[1], "k", 1);
            char byte;
            [[maybe_unused]] const auto got = ::read(go[0], &byte, 1);
            result = error_of([&] { client.HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kNoOptions); });
        } catch (const std::exception& error) {
            result = error.what();
        }
        [[maybe_unused]] const auto written = ::write(answer[1], result.data(), result.size());
        ::_exit(0);
    }
    ::close(answer[1]);
    char known = 0;
    ASSERT_EQ(::read(answer[0], &known, 1), 1);
    // Fill the descriptor table but one: the service's pidfd_open() takes
    // that, and reading /proc then finds none left. A low limit keeps it cheap.
    rlimit original{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
    int highest = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        highest = std::max(highest, std::stoi(entry.path().filename().string()));
    rlimit lowered = original;
    lowered.rlim_cur = std::min<rlim_t>(original.rlim_cur, static_cast<rlim_t>(highest) + 64);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    std::vector<int> filler;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        filler.push_back(fd);
    ASSERT_TRUE(errno == EMFILE || errno == ENFILE) << std::strerror(errno);
    ::close(filler.back());
    filler.pop_back();
    ASSERT_EQ(::write(go[1], "g", 1), 1);
    std::string result;
    char buffer[256];
    for (ssize_t got; (got = ::read(answer[0], buffer, sizeof(buffer))) > 0;)
        result.append(buffer, static_cast<std::size_t>(got));
    for (const int fd : filler)
        ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &original);
    ::close(answer[0]);
    ::close(go[1]);
    ::close(go[0]);
    ::waitpid(caller, nullptr, 0);
    EXPECT_EQ(result, err("LimitExceeded"));
    EXPECT_TRUE(hints_.held().empty());
}

// --- 11: what other users see ---

TEST_F(HostileClients, OtherUsersSeeNoAppIdOrReasonOfAHold) {
    start();
    Client root;
    Sleeper target;
    const auto cookie =
        root.HoldPid(static_cast<std::uint32_t>(target.pid()), "secret-app", "secret-reason", kNoOptions);
    EXPECT_TRUE(
        root.wait_for([&](const Client::Event& event) { return event.what == "added" && event.cookie == cookie; }));
    for (const auto& event : root.events()) {
        if (event.what == "added") {
            EXPECT_EQ(event.detail, std::to_string(target.pid()) + " 0  ") << "HoldAdded goes to everyone";
        }
    }
    const std::string listed = as_user(kHostile, [] {
        Client client;
        const auto self = static_cast<std::uint32_t>(::getpid());
        const auto own = client.HoldPid(self, "my-app", "mine", kNoOptions);
        std::vector<std::string> seen;
        for (const auto& hold : client.Holds())
            seen.push_back((std::get<0>(hold) == own ? "own:" : "other:") + std::get<3>(hold) + "/" +
                           std::get<4>(hold));
        std::sort(seen.begin(), seen.end());
        std::string out;
        for (const auto& text : seen)
            out += text + " ";
        return out;
    });
    EXPECT_EQ(listed, "other:/ own:my-app/mine ");
    const auto holds = root.Holds();
    ASSERT_EQ(holds.size(), 1u);
    EXPECT_EQ(std::get<3>(holds[0]), "secret-app") << "root sees everything";
    EXPECT_EQ(std::get<4>(holds[0]), "secret-reason");
}

}  // namespace
}  // namespace rustland::service::testing
