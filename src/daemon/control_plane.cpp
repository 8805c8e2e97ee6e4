#include "daemon/control_plane.h"

#include <utility>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>
#include <spdlog/spdlog.h>

#include "service/target.h"

namespace rustland::daemon {

HeldProcesses::HeldProcesses() : registry_(service::process_exited) {}

HeldProcesses::~HeldProcesses() { unbind(); }

void HeldProcesses::bind(int map_fd) {
    unbind();  // the registry lets go of the old map before it is replaced
    map_.emplace(map_fd);
    registry_.bind(*map_);
}

void HeldProcesses::unbind() {
    registry_.unbind();
    map_.reset();
}

std::vector<service::HoldSink::Entry> HeldProcesses::MapSink::entries() const {
    std::vector<Entry> entries;
    for (const auto& [key, hint] : map_.entries())
        entries.push_back({key, hint.held_tgid});
    return entries;
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
        auto service = std::make_unique<service::Service>(sdbus::createSystemBusConnection(), limits, held_.registry(),
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
