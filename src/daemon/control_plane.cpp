#include "daemon/control_plane.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/Error.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rustland::daemon {

namespace {

bool exited(int pidfd) {
    pollfd entry{pidfd, POLLIN, 0};
    return ::poll(&entry, 1, 0) > 0;
}

}  // namespace

bool HeldProcesses::mark(pid_t tgid, int pidfd, uid_t holder) {
    UniqueFd identity(::fcntl(pidfd, F_DUPFD_CLOEXEC, 3));
    if (!identity)
        return false;
    std::lock_guard lock(mutex_);
    if (map_) {
        bool marked = map_->hold(tgid, holder);
        // Each pass frees at least one entry; the dispatcher may refill it.
        for (int pass = 0; !marked && pass < 4 && make_room(); ++pass)
            marked = map_->hold(tgid, holder);
        if (!marked)
            return false;
    }
    held_.insert_or_assign(tgid, Held{std::move(identity), holder});
    return true;
}

bool HeldProcesses::make_room() {
    std::map<uid_t, std::vector<pid_t>> inherited;
    for (const auto& [key, hint] : map_->entries()) {
        const auto holder = held_.find(hint.held_tgid);
        if (key != hint.held_tgid)
            inherited[holder == held_.end() ? 0 : holder->second.holder].push_back(key);
    }
    const auto most = std::max_element(inherited.begin(), inherited.end(), [](const auto& a, const auto& b) {
        return a.second.size() < b.second.size();
    });
    if (most == inherited.end())
        return false;
    spdlog::warn("The latency hint map is full: children of processes held by uid {} lose their hint ({} of them)",
                 most->first, most->second.size());
    for (const pid_t key : most->second)
        map_->forget(key);
    return true;
}

void HeldProcesses::unmark(pid_t tgid) {
    std::lock_guard lock(mutex_);
    held_.erase(tgid);
    if (map_)
        map_->release(tgid);
}

void HeldProcesses::bind(int map_fd) {
    std::lock_guard lock(mutex_);
    map_.emplace(map_fd);
    for (const auto& [tgid, held] : held_) {
        // Exited, its end not yet seen by the service: the pid may be another process's now.
        if (exited(held.pidfd.get()))
            continue;
        if (!map_->hold(tgid, held.holder))
            spdlog::warn("The latency hint map is full: process {} is held but not marked", tgid);
    }
}

void HeldProcesses::unbind() {
    std::lock_guard lock(mutex_);
    map_.reset();
}

ReloadRequests::ReloadRequests() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0)
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

ReloadRequests::~ReloadRequests() { close(fd_); }

void ReloadRequests::reload(Done done) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(done));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(fd_, &one, sizeof(one));
}

std::vector<ReloadRequests::Done> ReloadRequests::take() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = read(fd_, &count, sizeof(count));
    std::lock_guard lock(mutex_);
    return std::exchange(pending_, {});
}

service::Limits service_limits(const config::Settings& settings) {
    service::Limits limits;
    limits.max_holds_per_uid = settings.max_holds_per_user;
    limits.rate_burst = settings.hold_rate_burst;
    limits.rate_per_second = settings.hold_rate_per_second;
    limits.call_burst = settings.call_burst;
    limits.call_rate_per_second = settings.call_rate_per_second;
    limits.max_pending_authorizations_per_uid = settings.max_pending_authorizations_per_user;
    return limits;
}

ControlPlane::~ControlPlane() { stop(); }

void ControlPlane::apply(const config::Settings& settings) {
    if (!settings.dbus_enabled) {
        if (service_)
            spdlog::info("Stopping the D-Bus API (dbus.enabled = false)");
        stop();
        return;
    }
    const service::Limits limits = service_limits(settings);
    if (service_) {
        service_->set_limits(limits);
        return;
    }
    try {
        auto service = std::make_unique<service::Service>(sdbus::createSystemBusConnection(), limits, held_,
                                                          reload_requests_);
        service->set_state(state_);
        service->start();
        service_ = std::move(service);
        spdlog::info("Serving org.scx.Rustland1 on the system bus");
    } catch (const sdbus::Error& e) {
        spdlog::warn("The D-Bus API is not available ({}): scheduling without it", e.getMessage());
    }
}

void ControlPlane::stop() {
    if (!service_)
        return;
    service_->stop();
    service_.reset();
}

void ControlPlane::set_state(State state, const std::string& reason) {
    constexpr const char* kNames[] = {"attached", "detached", "ejected"};
    state_.state = kNames[static_cast<int>(state)];
    state_.reason = reason;
    state_.ops_name = state == State::Attached ? "rustland" : "";
    if (service_)
        service_->set_state(state_);
}

void ControlPlane::publish_counters(const Telemetry& current) {
    last_ = current;
    if (!service_)
        return;
    std::map<std::string, std::uint64_t> all{{"ejections", ejections_}};
    for (const TelemetryField& field : telemetry_fields())
        all[std::string(field.name)] = current.*field.value + (field.cumulative ? earlier_.*field.value : 0);
    service_->set_counters(all);
}

void ControlPlane::session_ended() {
    for (const TelemetryField& field : telemetry_fields())
        if (field.cumulative)
            earlier_.*field.value += last_.*field.value;
    last_ = {};
}

void ControlPlane::answer_after_attach(std::vector<ReloadRequests::Done> requests) {
    for (auto& done : requests)
        after_attach_.push_back(std::move(done));
}

void ControlPlane::answer_pending(const std::string& problems) {
    for (auto& done : std::exchange(after_attach_, {}))
        done(problems);
}

}  // namespace rustland::daemon
