// Everything the daemon does besides scheduling: the D-Bus service, the
// held processes written into each attach's BPF map, reload requests that
// arrive over D-Bus, and the counters and state the service publishes.
// Lives across attach cycles; used by the supervisor thread only, except for
// what the service thread calls (HeldProcesses, ReloadRequests).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_queue.h"
#include "config/settings.h"
#include "daemon/telemetry.h"
#include "dispatcher/latency_hints.h"
#include "service/hold_registry.h"
#include "service/service.h"

namespace rustland::daemon {

// The held processes (the service's hold registry) and the BPF map of the
// current attach as their sink: none between two attaches, and a new map
// gets every held process still alive before it attaches. The service
// thread holds and releases; the supervisor thread binds and unbinds.
class HeldProcesses {
public:
    HeldProcesses();
    ~HeldProcesses();
    HeldProcesses(const HeldProcesses&) = delete;
    HeldProcesses& operator=(const HeldProcesses&) = delete;

    service::HoldRegistry& registry() { return registry_; }
    void bind(int map_fd);
    void unbind();

private:
    class MapSink final : public service::HoldSink {
    public:
        explicit MapSink(int map_fd) : map_(map_fd) {}
        bool hold(pid_t tgid, uid_t holder) override { return map_.hold(tgid, holder); }
        void release(pid_t tgid) override { map_.release(tgid); }
        void forget(pid_t key) override { map_.forget(key); }
        std::vector<Entry> entries() const override;

    private:
        dispatcher::LatencyHintsMap map_;
    };

    service::HoldRegistry registry_;
    std::optional<MapSink> map_;  // the supervisor thread's; the registry uses it while bound
};

// Reload requests from D-Bus, answered by the supervisor thread.
class ReloadRequests final : public service::Admin {
public:
    using Done = std::function<void(std::string problems)>;

    void reload(Done done) override { pending_.post(std::move(done)); }
    // Readable when requests are waiting.
    int fd() const { return pending_.fd(); }
    std::vector<Done> take() { return pending_.take(); }

private:
    EventQueue<Done> pending_;
};

// The service's limits for these settings: the [dbus] keys; the other
// limits (total caps, text lengths, polkit's timeout) are built in.
service::Limits service_limits(const config::Settings& settings);

// What the D-Bus State property says.
enum class State { Attached, Detached, Ejected };

class ControlPlane {
public:
    ControlPlane() = default;
    ~ControlPlane();
    ControlPlane(const ControlPlane&) = delete;
    ControlPlane& operator=(const ControlPlane&) = delete;

    // Starts, stops or reconfigures the D-Bus service to match `settings`.
    // Without a system bus the daemon goes on scheduling, with a warning.
    void apply(const config::Settings& settings);
    void stop();

    HeldProcesses& held() { return held_; }
    ReloadRequests& reload_requests() { return reload_requests_; }
    bool serving() const { return service_ != nullptr; }

    void set_state(State state, const std::string& reason);
    // The counters of the current attach; those of earlier attaches are
    // added to its cumulative ones.
    void publish_counters(const Telemetry& current);
    // The current attach ended: keep its counts.
    void session_ended();
    void count_ejection() { ++ejections_; }

    // Reloads that need a new attach are answered once it is done.
    void answer_after_attach(std::vector<ReloadRequests::Done> requests);
    void answer_pending(const std::string& problems);

private:
    HeldProcesses held_;
    ReloadRequests reload_requests_;
    std::unique_ptr<service::Service> service_;
    service::SchedulerState state_;
    Telemetry earlier_, last_;  // only the cumulative fields are used
    std::uint64_t ejections_ = 0;
    std::vector<ReloadRequests::Done> after_attach_;
};

}  // namespace rustland::daemon
