// The org.scx.Rustland1 D-Bus service: holds (latency-critical processes),
// caller authorization, admin methods, and the scheduler's state as
// properties. Runs its own thread; never touches the scheduling thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "service/hold_registry.h"

namespace sdbus {
class IConnection;
}

namespace rustland::service {

// Admin actions carried out by the daemon (the supervisor).
class Admin {
public:
    // Reload the configuration; `done` is called exactly once, from any
    // thread, with an empty string on success or the problems (one per line,
    // "file:line: ...") when nothing was applied.
    virtual void reload(std::function<void(std::string problems)> done) = 0;

protected:
    ~Admin() = default;
};

struct Limits {
    unsigned max_holds_per_uid = 32;   // live holds one non-root uid may own
    unsigned max_holds_total = 1024;   // live holds in all (bounds memory)
    unsigned rate_burst = 20;          // hold requests one non-root uid may make at once...
    double rate_per_second = 2.0;      // ...refilled at this rate
    std::size_t max_text_bytes = 255;  // app_id, reason
    // Every call and property read of a non-root uid spends from this budget
    // first, so one user's flood is refused cheaply instead of queueing
    // everyone else's calls behind it.
    unsigned call_burst = 200;
    double call_rate_per_second = 100.0;
    // Reloads of one non-root uid waiting for polkit's answer; polkit must
    // answer within authorization_timeout (it may be asking for a password).
    unsigned max_pending_authorizations_per_uid = 2;
    std::chrono::milliseconds authorization_timeout{60000};
};

struct SchedulerState {
    std::string state = "starting";  // starting | attached | detached | ejected
    std::string reason;
    std::string ops_name;
};

class Service {
public:
    // `bus` is the connection to serve on (the system bus in production, a
    // private bus in tests); `held` is where holds are counted and take
    // effect, from the service thread. Does not request the name yet.
    Service(std::unique_ptr<sdbus::IConnection> bus, const Limits& limits, HoldRegistry& held, Admin& admin);
    ~Service();  // stop()s
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Registers the object, requests org.scx.Rustland1 and starts the service
    // thread. Throws sdbus::Error if the name cannot be owned.
    void start();
    // Ends every hold (HoldRemoved "daemon-stopping"), releases the name and
    // joins the thread. Idempotent.
    void stop();

    // Thread-safe; properties change and PropertiesChanged is emitted.
    void set_state(const SchedulerState& state);
    void set_counters(const std::map<std::string, std::uint64_t>& counters);
    void set_limits(const Limits& limits);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rustland::service
