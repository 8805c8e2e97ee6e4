// One attach cycle: a fresh policy, BPF program and scheduling thread, and
// the control loop that watches them until a signal, a reload that needs a
// new attach, or the end of the scheduler in the kernel.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "common/stack_thread.h"
#include "common/unique_fd.h"
#include "config/settings.h"
#include "daemon/control_plane.h"
#include "daemon/exit_outcome.h"
#include "daemon/supervisor.h"
#include "daemon/telemetry.h"
#include "dispatcher/bpf_dispatcher.h"
#include "dispatcher/scheduling_loop.h"
#include "policy/scheduler.h"
#include "systemd/notifier.h"
#include "systemd/watchdog_gate.h"

namespace rustland::daemon {

class Session {
public:
    Session(const config::Settings& settings, const ConfigSource& source, systemd::Notifier& notifier, int signal_fd,
            ControlPlane& control);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Attaches, serves until the session ends, and says why it ended.
    // Throws dispatcher::Error if the program cannot be loaded or attached.
    Outcome run();
    // The settings in force; after Outcome::Reattach, the ones to attach with.
    const config::Settings& settings() const { return settings_; }

private:
    // What the control loop learned from one wakeup.
    enum class Step { Continue, End };

    void start_scheduling_thread();
    void scheduling_thread_main();
    void load();
    void attach();
    // The scheduling thread waits for this, once, before it starts its loop.
    void let_go();
    void stop_scheduling_thread();
    Outcome serve();
    Step on_signal();
    Step on_reload_requests();
    Step reload(std::string_view trigger, std::vector<ReloadRequests::Done> requests);
    void apply_live(const config::Settings& next);
    void check_watchdog();
    Telemetry telemetry() const;
    std::uint64_t scheduling_thread_faults() const;

    config::Settings settings_;
    const ConfigSource& source_;
    systemd::Notifier& notifier_;
    ControlPlane& control_;
    int signal_fd_;
    systemd::WatchdogGate gate_;
    // Policy settings handed to the scheduling thread; freed once it moved on.
    std::vector<std::unique_ptr<const policy::Settings>> offered_;
    // Built in load(), once the BPF program is loaded.
    std::unique_ptr<dispatcher::BpfDispatcher> bpf_;
    std::optional<policy::Scheduler> policy_;
    std::optional<dispatcher::SchedulingLoop> loop_;
    std::optional<StackThread> thread_;
    UniqueFd done_;  // readable once the scheduling thread has returned
    std::atomic<bool> stop_{false};
    std::binary_semaphore go_{0};
    bool let_go_ = false;
    pid_t tid_ = 0;
    Outcome ending_ = Outcome::Ejected;  // unless a signal or reload ends it first
    std::atomic<std::uint64_t> fault_baseline_{0};
    mutable std::atomic<std::uint64_t> last_faults_{0};
};

}  // namespace rustland::daemon
