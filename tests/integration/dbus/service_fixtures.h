// Test fixtures for the D-Bus service on a private system-like bus
// (tests/integration/private_bus.h): clients, a fake polkit authority,
// stand-ins for the daemon's side, and the test fixture that puts them
// together.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sdbus_compat.h>

#include "private_bus.h"
#include "rustland1_proxy.h"
#include "service/hold_registry.h"
#include "service/service.h"
#include "service/target.h"

namespace rustland::service::testing {

using test_support::PrivateBus;

// Records holds like the dispatcher's map would have them.
class FakeHints final : public HoldSink {
public:
    bool hold(pid_t tgid, uid_t holder) override;
    void release(pid_t tgid) override;
    void forget(pid_t key) override;
    std::vector<Entry> entries() const override;

    void refuse_holds(bool refuse);
    unsigned holds() const;
    unsigned releases() const;
    // tgids held and not released yet.
    std::vector<pid_t> held() const;
    // hold() of a held tgid, release() of one not held, forget() (no
    // child ever inherits here).
    unsigned misuses() const;

private:
    mutable std::mutex mutex_;
    std::map<pid_t, bool> held_;
    unsigned holds_ = 0;
    unsigned releases_ = 0;
    unsigned misuses_ = 0;
    bool refuse_ = false;
};

// Answers every reload from another thread with the configured problems,
// and keeps each callback until it is destroyed itself (after the service,
// in the fixtures): the service must not care where or when the daemon
// lets go of a callback.
class FakeAdmin final : public Admin {
public:
    explicit FakeAdmin(std::string problems = {}) : problems_(std::move(problems)) {}
    ~FakeAdmin();
    void reload(std::function<void(std::string problems)> done) override;
    unsigned reloads() const;

private:
    using Done = std::function<void(std::string problems)>;
    std::string problems_;
    mutable std::mutex mutex_;
    unsigned reloads_ = 0;
    std::vector<std::thread> threads_;
    std::vector<std::shared_ptr<Done>> kept_;
};

// A client of org.scx.Rustland1 on its own connection, recording signals.
class Client final : public sdbus::ProxyInterfaces<org::scx::Rustland1_proxy, sdbus::Properties_proxy> {
public:
    Client();
    ~Client();

    struct Event {
        std::string what;  // "added", "removed", "changed"
        std::uint64_t cookie = 0;
        std::string detail;  // why (removed) or the property (changed)
        std::chrono::steady_clock::time_point at;
    };

    std::string unique_name();
    // Waits (up to a generous deadline, for hangs only) until `count` events match.
    bool wait_for(const std::function<bool(const Event&)>& match, std::size_t count = 1);
    std::vector<Event> events() const;

private:
    void onHoldAdded(const std::uint64_t& cookie, const std::uint32_t& pid, const std::uint32_t& uid,
                     const std::string& app_id, const std::string& reason) override;
    void onHoldRemoved(const std::uint64_t& cookie, const std::string& why) override;
    void onPropertiesChanged(const dbus_compat::InterfaceName& interface_name, const dbus_compat::PropertyMap& changed,
                             const dbus_compat::PropertyNames& invalidated) override;
    void record(Event event);

    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<Event> events_;
};

// org.freedesktop.PolicyKit1 on the private bus, answering every
// CheckAuthorization with `authorize` and recording what it was asked.
class FakePolkit {
public:
    explicit FakePolkit(bool authorize);
    // Never answers (a polkit waiting for a password nobody types).
    struct Stalled {};
    explicit FakePolkit(Stalled);
    ~FakePolkit();

    struct Question {
        std::string subject_kind;
        std::string subject_name;
        std::string action;
        std::uint32_t flags;
    };
    std::vector<Question> questions() const;
    // Waits (up to a generous deadline, for hangs only) until the bus name
    // `subject` was asked about.
    bool wait_for_question_from(const std::string& subject) const;

private:
    using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
    using Answer = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
    FakePolkit(bool authorize, bool stall);
    void record(const Subject& subject, const std::string& action, std::uint32_t flags);

    bool authorize_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> object_;
    mutable std::mutex mutex_;
    mutable std::condition_variable asked_;
    std::vector<Question> questions_;
    std::vector<sdbus::Result<Answer>> unanswered_;
};

// The D-Bus error name `call` fails with, or "ok".
std::string error_of(const std::function<void()>& call);

// Runs `body` in a forked child as uid/gid `uid` with its own bus
// connections; returns what the body returned (or the exception it threw).
std::string as_user(uid_t uid, const std::function<std::string()>& body);
// as_user(65534) (nobody).
std::string as_nobody(const std::function<std::string()>& body);

// A child process that just waits to be killed; killed and reaped on destruction.
class Sleeper {
public:
    Sleeper();
    ~Sleeper();
    Sleeper(const Sleeper&) = delete;
    Sleeper& operator=(const Sleeper&) = delete;
    pid_t pid() const { return pid_; }
    // SIGKILL without reaping: the process becomes a zombie.
    void kill();
    void reap();

private:
    pid_t pid_;
    bool reaped_ = false;
};

int open_fd_count();
int pidfd_of(pid_t pid);

// A fresh private system-like bus for each test and the daemon's side
// faked; the test calls start() once what the service must find (a
// FakePolkit, say) is in place. Needs root: the service owns its name as
// root, and clients switch to other uids.
class ServiceOnPrivateBus : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    void start(const Limits& limits = {});

    // Matches the HoldRemoved of `cookie` for `why`.
    static std::function<bool(const Client::Event&)> removed(std::uint64_t cookie, const std::string& why);

    std::optional<PrivateBus> bus_;
    FakeHints hints_;
    HoldRegistry held_{process_exited};
    FakeAdmin admin_{};
    std::unique_ptr<Service> service_;
};

}  // namespace rustland::service::testing
