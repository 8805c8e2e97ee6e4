#include "daemon/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/exit_codes.h"
#include "common/unique_fd.h"
#include "daemon/control_plane.h"
#include "daemon/ejection_budget.h"
#include "daemon/exit_outcome.h"
#include "daemon/memory_lock.h"
#include "daemon/session.h"
#include "dispatcher/bpf_dispatcher.h"
#include "systemd/notifier.h"

namespace rustland::daemon {
namespace {

using dispatcher::Error;

// Blocks the signals we handle in every thread and returns a signalfd for them.
int take_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    const int fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd < 0)
        throw Error(Error::Kind::Failure, std::string("signalfd: ") + std::strerror(errno));
    return fd;
}

// Waits `delay` before a reattach. Returns false if SIGINT/SIGTERM came
// meanwhile (stop instead); SIGHUP reloads `settings` (kept if invalid).
bool wait_before_reattach(int signal_fd, std::chrono::steady_clock::duration delay, const ConfigSource& source,
                          config::Settings& settings) {
    pollfd fd{signal_fd, POLLIN, 0};
    const int n = poll(&fd, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(delay).count()));
    if (n <= 0)
        return true;
    signalfd_siginfo info{};
    [[maybe_unused]] auto r = read(signal_fd, &info, sizeof(info));
    if (info.ssi_signo != SIGHUP)
        return false;
    try {
        settings = source.load().settings;
    } catch (const config::Error& e) {
        for (const std::string& problem : e.problems())
            spdlog::error("{}", problem);
    }
    return true;
}

}  // namespace

config::Loaded ConfigSource::load() const {
    config::Loaded loaded = config::load(main_file, main_required, dropin_dir);
    config::overlay(loaded, cli, cli_given);
    return loaded;
}

namespace {

// Attaches again and again: after a restart the kernel asks for, a reload
// that needs one, or an ejection (up to a budget). Returns the exit code.
int supervise(const ConfigSource& source, config::Settings settings, int signal_fd, systemd::Notifier& notifier,
              ControlPlane& control) {
    // Three ejections in a minute are retried after 1, 2 and 4 s (well within
    // the unit's 10 s watchdog); the fourth ends the daemon.
    EjectionBudget ejections(3, std::chrono::minutes(1), std::chrono::seconds(1));
    for (;;) {
        Session session(settings, source, notifier, signal_fd, control);
        switch (session.run()) {
        case Outcome::Stopped: spdlog::info("scx-rustland detached; tasks are back on the fair class"); return kExitOk;
        case Outcome::Restart: continue;
        case Outcome::Reattach: settings = session.settings(); break;
        case Outcome::Ejected:
            const auto delay = ejections.after_ejection(std::chrono::steady_clock::now());
            if (!delay) {
                spdlog::error("The kernel ejected the scheduler {} times within a minute: giving up",
                              ejections.recent());
                return kExitFailure;
            }
            spdlog::warn("Reattaching in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(*delay).count());
            if (!wait_before_reattach(signal_fd, *delay, source, settings)) {
                notifier.stopping("Stopped while waiting to reattach");
                return kExitOk;
            }
            break;
        }
    }
}

}  // namespace

int run(const ConfigSource& source, config::Settings settings) {
    systemd::Notifier notifier;
    ControlPlane control;
    try {
        dispatcher::check_kernel_ready();
        lock_memory();
        const PinnedPagesGuard pinned_pages;
        UniqueFd signals(take_signals());
        return supervise(source, std::move(settings), signals.get(), notifier, control);
    } catch (const Error& e) {
        spdlog::error("{}", e.what());
        notifier.status(e.what());
        control.answer_pending(e.what());
        return exit_code_of(e.kind());
    }
}

}  // namespace rustland::daemon
