#include "mock_daemon.h"

#include <chrono>
#include <fstream>
#include <string>

#include <rustland1_names.h>

namespace rustland::ctl::test {
namespace {

// The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:" line).
pid_t pid_of_pidfd(int pidfd) {
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(pidfd));
    std::string line;
    while (std::getline(info, line)) {
        if (line.rfind("Pid:", 0) == 0) {
            return static_cast<pid_t>(std::stol(line.substr(4)));
        }
    }
    throw sdbus::Error(dbus_compat::ErrorName{dbus_names::error::kInvalidArgument}, "not a pidfd");
}

std::int64_t now_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::unique_ptr<MockDaemon> MockDaemon::start() {
    auto mock = std::unique_ptr<MockDaemon>(
        new MockDaemon(sdbus::createSystemBusConnection(dbus_compat::ServiceName{dbus_names::kBusName})));
    mock->connection_->enterEventLoopAsync();
    return mock;
}

MockDaemon::MockDaemon(std::unique_ptr<sdbus::IConnection> connection)
    : AdaptorInterfaces(*connection, sdbus::ObjectPath{dbus_names::kObjectPath}), connection_(std::move(connection)) {
    registerAdaptor();
}

MockDaemon::~MockDaemon() {
    connection_->leaveEventLoop();
    unregisterAdaptor();
}

void MockDaemon::fail_next_call(const std::string& error_name, const std::string& message) {
    const std::lock_guard lock(mutex_);
    next_error_.emplace(error_name, message);
}

void MockDaemon::add_hold(const RecordedHold& hold) {
    const std::lock_guard lock(mutex_);
    live_.push_back(hold);
}

std::vector<RecordedHold> MockDaemon::holds() const {
    const std::lock_guard lock(mutex_);
    return live_;
}

std::vector<RecordedHold> MockDaemon::holds_requested() const {
    const std::lock_guard lock(mutex_);
    return requested_;
}

std::vector<std::uint64_t> MockDaemon::releases() const {
    const std::lock_guard lock(mutex_);
    return released_;
}

bool MockDaemon::wait_until(const std::function<bool(const MockDaemon&)>& ready) const {
    // A safety net against hangs, not a timing assertion.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ready(*this)) {
        if (std::chrono::steady_clock::now() > limit) {
            return false;
        }
        // Short slices: a change between ready() and the wait is not missed for long.
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
}

void MockDaemon::fail_if_told() {
    std::optional<std::pair<std::string, std::string>> error;
    {
        const std::lock_guard lock(mutex_);
        error.swap(next_error_);
    }
    if (error) {
        throw sdbus::Error(dbus_compat::ErrorName{error->first}, error->second);
    }
}

std::uint64_t MockDaemon::add(RecordedHold hold, const std::map<std::string, sdbus::Variant>& options) {
    for (const auto& [key, value] : options) {
        if (key != "persistent" || !value.containsValueOfType<bool>()) {
            throw sdbus::Error(dbus_compat::ErrorName{dbus_names::error::kInvalidArgument}, "bad option " + key);
        }
        hold.persistent = value.get<bool>();
    }
    {
        const std::lock_guard lock(mutex_);
        hold.cookie = next_cookie_++;
        hold.since_usec = now_usec();
        live_.push_back(hold);
        requested_.push_back(hold);
    }
    emitHoldAdded(hold.cookie, static_cast<std::uint32_t>(hold.pid), 0, hold.app_id, hold.reason);
    emitPropertiesChangedSignal(dbus_compat::InterfaceName{org::scx::Rustland1_adaptor::INTERFACE_NAME},
                                {dbus_compat::MemberName{"Holds"}});
    changed_.notify_all();
    return hold.cookie;
}

std::uint64_t MockDaemon::Hold(const sdbus::UnixFd& pidfd, const std::string& app_id, const std::string& reason,
                               const std::map<std::string, sdbus::Variant>& options) {
    fail_if_told();
    return add({"Hold", 0, pid_of_pidfd(pidfd.get()), app_id, reason, false, 0}, options);
}

std::uint64_t MockDaemon::HoldPid(const std::uint32_t& pid, const std::string& app_id, const std::string& reason,
                                  const std::map<std::string, sdbus::Variant>& options) {
    fail_if_told();
    return add({"HoldPid", 0, static_cast<pid_t>(pid), app_id, reason, false, 0}, options);
}

void MockDaemon::Release(const std::uint64_t& cookie) {
    fail_if_told();
    {
        const std::lock_guard lock(mutex_);
        const auto erased = std::erase_if(live_, [cookie](const RecordedHold& hold) { return hold.cookie == cookie; });
        if (erased == 0) {
            throw sdbus::Error(dbus_compat::ErrorName{dbus_names::error::kNoSuchHold},
                               "no hold with cookie " + std::to_string(cookie));
        }
        released_.push_back(cookie);
    }
    emitHoldRemoved(cookie, "released");
    emitPropertiesChangedSignal(dbus_compat::InterfaceName{org::scx::Rustland1_adaptor::INTERFACE_NAME},
                                {dbus_compat::MemberName{"Holds"}});
    changed_.notify_all();
}

void MockDaemon::Reload(sdbus::Result<>&& result) {
    try {
        fail_if_told();
        result.returnResults();
    } catch (const sdbus::Error& error) {
        result.returnError(error);
    }
}

std::vector<sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string, std::int64_t, bool>>
MockDaemon::Holds() {
    const std::lock_guard lock(mutex_);
    std::vector<
        sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string, std::int64_t, bool>>
        holds;
    for (const auto& hold : live_) {
        holds.emplace_back(hold.cookie, static_cast<std::uint32_t>(hold.pid), 0U, hold.app_id, hold.reason,
                           hold.since_usec, hold.persistent);
    }
    return holds;
}

}  // namespace rustland::ctl::test
