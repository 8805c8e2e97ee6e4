// Everything the daemon does besides scheduling: the D-Bus service, the set
// of held processes written into each attach's BPF map, reload requests that
// arrive over D-Bus, and the counters and state the service publishes.
// Lives across attach cycles; used by the supervisor thread only, except for
// what the service thread calls (HeldProcesses, ReloadRequests).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "config/settings.h"
#include "daemon/telemetry.h"
#include "dispatcher/latency_hints.h"
#include "service/service.h"

namespace rustland::daemon {

// The held processes, written into whichever BPF map is current (none
// between two attaches: a new map gets all of them before it attaches).
//
// A held process is known by its pidfd: a new map gets only processes that
// are still alive, never a successor that reused a pid. Direct holds come
// first in a full map: the children's entries (added by the dispatcher) of
// the uid with the most of them make room, so one user's fork storm cannot
// block another user's or root's hold.
class HeldProcesses final : public service::LatencyHints {
public:
    bool mark(pid_t tgid, int pidfd, uid_t holder) override;
    void unmark(pid_t tgid) override;
    void bind(int map_fd);
    void unbind();

private:
    struct Held {
        UniqueFd pidfd;
        uid_t holder;
    };
    // Deletes inherited entries of the uid with the most; false if none.
    bool make_room();

    std::mutex mutex_;
    std::map<pid_t, Held> held_;
    std::optional<dispatcher::LatencyHintsMap> map_;
};

// Reload requests from D-Bus, answered by the supervisor thread.
class ReloadRequests final : public service::Admin {
public:
    using Done = std::function<void(std::string problems)>;
    ReloadRequests();
    ~ReloadRequests();
    ReloadRequests(const ReloadRequests&) = delete;
    ReloadRequests& operator=(const ReloadRequests&) = delete;

    void reload(Done done) override;
    // Readable when requests are waiting.
    int fd() const { return fd_; }
    std::vector<Done> take();

private:
    int fd_;
    std::mutex mutex_;
    std::vector<Done> pending_;
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
