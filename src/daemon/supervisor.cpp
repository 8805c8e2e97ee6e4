#include "daemon/supervisor.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <semaphore>
#include <sstream>

#include "daemon/control_plane.h"
#include "daemon/ejection_budget.h"
#include "daemon/memory_lock.h"
#include "common/stack_thread.h"
#include "common/unique_fd.h"
#include "dispatcher/bpf_dispatcher.h"
#include "dispatcher/scheduling_loop.h"
#include "systemd/logging.h"
#include "systemd/notifier.h"
#include "systemd/watchdog_gate.h"

namespace rustland::daemon {
namespace {

using dispatcher::BpfDispatcher;
using dispatcher::Error;

constexpr int kSchedExt = 7;  // SCHED_EXT policy number (uapi sched.h, Linux >= 6.12)
// The scheduling loop's deepest call chain needs a few KiB; the stack is
// locked and its first 256 KiB prefaulted, so keep it small.
constexpr std::size_t kSchedulingThreadStack = 512 << 10;

// Minor + major faults of one thread of this process, from procfs; nothing
// once the thread has exited.
std::optional<std::uint64_t> thread_page_faults(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto comm_end = stat.rfind(')');
    if (comm_end == std::string::npos)
        return std::nullopt;
    // Fields after "pid (comm)": state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12)
    std::istringstream fields(stat.substr(comm_end + 2));
    std::string skip;
    std::uint64_t minflt = 0, majflt = 0;
    for (int i = 3; i < 10; ++i)
        fields >> skip;
    fields >> minflt >> skip >> majflt;
    return minflt + majflt;
}

// Compaction may migrate even mlocked pages, and touching a migrated page
// faults. vm.compact_unevictable_allowed=0 keeps our locked pages in place
// while we run, and the original value comes back when we stop. It is also
// kept in the runtime directory: after a crash, the restarted daemon finds
// 0 in the sysctl, and must restore what was there before the first start.
class PinnedPagesGuard {
public:
    PinnedPagesGuard() : saved_file_(runtime_dir() / "compact_unevictable_allowed") {
        if (!read(saved_file_, original_) && read(kSysctl, original_)) {
            std::error_code ignored;
            std::filesystem::create_directories(saved_file_.parent_path(), ignored);
            write(saved_file_, original_);
        }
        if (original_.empty() || !write(kSysctl, "0"))
            original_.clear();
        else
            spdlog::debug("{}: {} -> 0 while attached", kSysctl, original_);
    }
    ~PinnedPagesGuard() {
        if (original_.empty())
            return;
        write(kSysctl, original_);
        std::error_code ignored;
        std::filesystem::remove(saved_file_, ignored);
    }
    PinnedPagesGuard(const PinnedPagesGuard&) = delete;
    PinnedPagesGuard& operator=(const PinnedPagesGuard&) = delete;

private:
    static constexpr const char* kSysctl = "/proc/sys/vm/compact_unevictable_allowed";

    // systemd's RuntimeDirectory= (kept across restarts by the unit).
    static std::filesystem::path runtime_dir() {
        const char* dir = std::getenv("RUNTIME_DIRECTORY");
        return dir && *dir ? dir : "/run/scx-rustland";
    }
    static bool read(const std::filesystem::path& path, std::string& value) {
        std::ifstream in(path);
        return static_cast<bool>(in >> value);
    }
    static bool write(const std::filesystem::path& path, const std::string& value) {
        std::ofstream out(path);
        return static_cast<bool>(out << value << '\n');
    }

    std::filesystem::path saved_file_;
    std::string original_;
};

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

enum class Outcome { Stopped, Restart, Reattach, Ejected };

// What a reload did: nothing (bad file: `problems`), applied live, or the new
// settings need another attach.
struct ReloadResult {
    bool reattach = false;
    std::string problems;
};

std::string join(const std::vector<std::string>& keys) { return fmt::format("{}", fmt::join(keys, ", ")); }
std::string join_lines(const std::vector<std::string>& lines) { return fmt::format("{}", fmt::join(lines, "\n")); }

// One attach cycle: a fresh policy, BPF program and scheduling thread.
class Session {
public:
    Session(const config::Settings& settings, const ConfigSource& source, systemd::Notifier& notifier,
            int signal_fd, ControlPlane& control)
        : settings_(settings), source_(source), notifier_(notifier), control_(control), signal_fd_(signal_fd),
          done_(eventfd(0, EFD_CLOEXEC)) {}

    Outcome run();
    // The settings in force; after Outcome::Reattach, the ones to attach with.
    const config::Settings& settings() const { return settings_; }

private:
    void scheduling_thread_main(std::promise<pid_t>& tid);
    void log_stats(const BpfDispatcher& bpf) const;
    void check_watchdog(const BpfDispatcher& bpf);
    void publish_counters(const BpfDispatcher& bpf);
    std::uint64_t scheduling_thread_faults() const;
    std::string status_line(const BpfDispatcher& bpf) const;
    ReloadResult reload(const char* trigger);
    void apply_live(const config::Settings& next);

    config::Settings settings_;
    const ConfigSource& source_;
    systemd::Notifier& notifier_;
    ControlPlane& control_;
    systemd::WatchdogGate gate_;
    // Policy settings handed to the scheduling thread; freed once it moved on.
    std::vector<std::unique_ptr<const policy::Settings>> offered_;
    int signal_fd_;
    // Built in run(), once the BPF program is loaded.
    std::optional<policy::Scheduler> policy_;
    std::optional<dispatcher::SchedulingLoop> loop_;
    UniqueFd done_;
    std::atomic<bool> stop_{false};
    std::binary_semaphore go_{0};
    BpfDispatcher* bpf_ = nullptr;
    pid_t tid_ = 0;
    std::atomic<std::uint64_t> fault_baseline_{0};
    mutable std::atomic<std::uint64_t> last_faults_{0};
};

void Session::scheduling_thread_main(std::promise<pid_t>& tid) {
    pthread_setname_np(pthread_self(), "rustland-sched");
    tid.set_value(gettid());
    go_.acquire();
    if (bpf_ && !stop_.load()) {
        if (settings_.partial) {
            const sched_param param{};
            if (sched_setscheduler(0, kSchedExt, &param) != 0)
                spdlog::warn("Cannot move the scheduling thread to SCHED_EXT: {}", std::strerror(errno));
        }
        if (!dispatcher::harden_scheduling_thread())
            spdlog::warn("Cannot install the mmap guard on the scheduling thread: {}", std::strerror(errno));
        // getrusage, not procfs: reading a file here would allocate.
        rusage usage{};
        getrusage(RUSAGE_THREAD, &usage);
        fault_baseline_.store(static_cast<std::uint64_t>(usage.ru_minflt + usage.ru_majflt));
        loop_->run(*bpf_, stop_);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(done_.get(), &one, sizeof(one));
}

// Faults of the scheduling thread since its loop started. After an ejection
// the thread is gone from procfs: the last count read stands (subtracting
// the baseline from nothing printed 18446744073709551583).
std::uint64_t Session::scheduling_thread_faults() const {
    if (const auto faults = thread_page_faults(tid_))
        last_faults_.store(*faults - std::min(*faults, fault_baseline_.load()));
    return last_faults_.load();
}

void Session::publish_counters(const BpfDispatcher& bpf) {
    const auto k = bpf.counters();
    const auto& l = loop_->counters();
    control_.publish_counters({{"queued", k.nr_queued},
                               {"user_dispatches", k.user},
                               {"kernel_dispatches", k.kernel},
                               {"param_updates", k.params},
                               {"preemptions", k.preemptions},
                               {"cancelled", k.cancel},
                               {"bounced", k.bounce},
                               {"failed", k.failed},
                               {"congested", k.congested},
                               {"exit_drops", k.exit_drops},
                               {"ring_full", l.ring_full.load()},
                               {"starved", l.nr_starved.load() + k.starved},
                               {"untracked", l.nr_untracked.load()},
                               {"heartbeats", k.heartbeats},
                               {"page_faults", scheduling_thread_faults()}},
                              {{"scheduled", l.nr_waiting.load()},
                               {"running", k.nr_running},
                               {"tasks", l.nr_tasks.load()},
                               {"interactive", l.nr_interactive.load()},
                               {"slice_us", l.slice_ns.load() / 1000}});
}

void Session::log_stats(const BpfDispatcher& bpf) const {
    const auto k = bpf.counters();
    const auto& l = loop_->counters();
    spdlog::info(
        "stats: queued={} scheduled={} running={} user={} kernel={} params={} preempt={} cancel={} bounce={} "
        "failed={} congested={} exit_drops={} ring_full={} starved={} untracked={} heartbeats={} page_faults={} "
        "slice_us={} tasks={} interactive={}",
        k.nr_queued, l.nr_waiting.load(), k.nr_running, k.user, k.kernel, k.params, k.preemptions, k.cancel,
        k.bounce, k.failed, k.congested, k.exit_drops, l.ring_full.load(), l.nr_starved.load() + k.starved,
        l.nr_untracked.load(), k.heartbeats, scheduling_thread_faults(),
        l.slice_ns.load() / 1000, l.nr_tasks.load(), l.nr_interactive.load());
}

Outcome Session::run() {
    std::promise<pid_t> tid_promise;
    auto tid_future = tid_promise.get_future();
    StackThread thread(kSchedulingThreadStack, [&] { scheduling_thread_main(tid_promise); });
    tid_ = tid_future.get();

    // The loop must already be running when attach starts: from the moment
    // the kernel enables the ops, tasks wait on us, and enabling itself needs
    // them to run.
    std::unique_ptr<BpfDispatcher> bpf;
    try {
        dispatcher::LoadOptions load;
        load.scheduler_tid = tid_;
        load.tunables = dispatcher::tunables_of(settings_.policy_settings());
        load.full_user = settings_.full_user;
        load.partial = settings_.partial;
        load.debug = settings_.debug;
        load.exit_dump_len = settings_.exit_dump_len;
        bpf = std::make_unique<BpfDispatcher>(load);
        // Only now the policy's tables (2 MiB by default, locked in memory):
        // libbpf holds the kernel's BTF, two copies of some 6 MiB, while it
        // loads, and freed it when done; allocated before, the two added up to
        // the daemon's peak RSS.
        policy_.emplace(settings_.max_tasks);
        policy_->configure(settings_.policy_settings());
        loop_.emplace(*policy_, settings_.full_user);
    } catch (...) {
        stop_ = true;
        go_.release();
        thread.join();
        throw;
    }
    bpf_ = bpf.get();
    // Held processes are in the map before the first task is scheduled.
    control_.held().bind(bpf->latency_hints_fd());
    go_.release();
    try {
        bpf->attach();
    } catch (...) {
        control_.held().unbind();
        stop_ = true;
        thread.join();
        throw;
    }
    control_.set_state("attached", "");
    control_.answer_pending("");
    spdlog::info("scx-rustland attached: ops=rustland, scheduling thread {}, {} mode", tid_,
                 settings_.partial ? "partial (SCHED_EXT tasks only)" : "all tasks");

    notifier_.ready(status_line(*bpf));

    // Two clocks drive this loop besides signals: the stats line and the
    // systemd watchdog check. Both are optional.
    using Clock = std::chrono::steady_clock;
    const auto watchdog_every = systemd::Notifier::watchdog_interval();
    constexpr auto kCountersEvery = std::chrono::seconds(1);
    auto next_watchdog = Clock::now();
    auto next_stats = Clock::now();
    auto next_counters = Clock::now();
    const auto stats_every = [this] {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settings_.stats_interval_s));
    };
    next_stats += stats_every();

    Outcome outcome = Outcome::Ejected;
    for (;;) {
        auto deadline = Clock::time_point::max();
        if (settings_.stats_interval_s > 0)
            deadline = std::min(deadline, next_stats);
        if (watchdog_every)
            deadline = std::min(deadline, next_watchdog);
        if (control_.serving())
            deadline = std::min(deadline, next_counters);
        int timeout_ms = -1;
        if (deadline != Clock::time_point::max())
            timeout_ms = static_cast<int>(std::max<std::int64_t>(
                0, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count()));

        pollfd fds[3] = {{signal_fd_, POLLIN, 0},
                         {done_.get(), POLLIN, 0},
                         {control_.reload_requests().fd(), POLLIN, 0}};
        const int n = poll(fds, 3, timeout_ms);
        if (n < 0 && errno != EINTR)
            throw Error(Error::Kind::Failure, std::string("poll: ") + std::strerror(errno));
        const auto now = Clock::now();
        if (watchdog_every && now >= next_watchdog) {
            check_watchdog(*bpf);
            next_watchdog = now + *watchdog_every;
        }
        if (settings_.stats_interval_s > 0 && now >= next_stats) {
            log_stats(*bpf);
            next_stats = now + stats_every();
        }
        if (control_.serving() && now >= next_counters) {
            publish_counters(*bpf);
            next_counters = now + kCountersEvery;
        }
        if (n <= 0)
            continue;
        if (fds[2].revents & POLLIN) {
            auto requests = control_.reload_requests().take();
            notifier_.reloading();
            const ReloadResult result = reload("a D-Bus Reload call");
            notifier_.ready_again(status_line(*bpf));
            if (result.reattach) {
                control_.answer_after_attach(std::move(requests));
                outcome = Outcome::Reattach;
                stop_ = true;
                bpf->detach();
                break;
            }
            for (auto& done : requests)
                done(result.problems);
            continue;
        }
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            [[maybe_unused]] auto r = read(signal_fd_, &info, sizeof(info));
            const int signo = static_cast<int>(info.ssi_signo);
            if (signo == SIGHUP) {
                notifier_.reloading();
                const bool reattach = reload("SIGHUP").reattach;
                notifier_.ready_again(status_line(*bpf));
                if (!reattach)
                    continue;
                outcome = Outcome::Reattach;
            } else {
                spdlog::info("Received {}: detaching the scheduler", strsignal(signo));
                notifier_.stopping("Detaching the scheduler");
                outcome = Outcome::Stopped;
            }
            stop_ = true;
            bpf->detach();
            break;
        }
        if (fds[1].revents & POLLIN)
            break;  // the kernel ended the scheduler
    }
    thread.join();
    control_.held().unbind();
    publish_counters(*bpf);
    control_.session_ended();

    if (outcome == Outcome::Stopped || outcome == Outcome::Reattach) {
        control_.set_state("detached", outcome == Outcome::Stopped ? "stopped" : "reattaching to apply a reload");
        return outcome;
    }
    const auto info = bpf->exit_info();
    bpf->detach();
    if (info.restart) {
        spdlog::info("The kernel asked for a restart ({}): reattaching the scheduler", info.reason);
        control_.set_state("detached", "the kernel asked for a restart: " + info.reason);
        return Outcome::Restart;
    }
    control_.set_state("ejected", info.message.empty() ? info.reason : info.reason + ": " + info.message);
    control_.count_ejection();
    systemd::log_with_fields(spdlog::level::err,
                             fmt::format("The kernel ejected the scheduler: {}{}{}", info.reason,
                                         info.message.empty() ? "" : ": ", info.message),
                             {{"SCX_EXIT_REASON", info.reason}, {"SCX_EXIT_MESSAGE", info.message}});
    notifier_.status("Ejected by the kernel: " + info.reason);
    if (!info.dump.empty())
        spdlog::error("Kernel debug dump:\n{}", info.dump);
    return Outcome::Ejected;
}

// WATCHDOG=1 only while the scheduling thread makes progress (or has nothing
// to do): a stuck scheduling thread must get the daemon restarted.
void Session::check_watchdog(const BpfDispatcher& bpf) {
    const auto k = bpf.counters();
    const auto& l = loop_->counters();
    const systemd::GateVerdict verdict = gate_.check({.rounds = l.rounds.load(),
                                                      .nr_queued = k.nr_queued,
                                                      .nr_waiting = l.nr_waiting.load(),
                                                      .heartbeats = k.heartbeats});
    if (verdict.ping) {
        notifier_.watchdog();
        notifier_.status(status_line(bpf));
    } else {
        spdlog::warn("The scheduling thread made no progress with work pending ({} checks): "
                     "not pinging the systemd watchdog",
                     verdict.stalled_checks);
    }
}

std::string Session::status_line(const BpfDispatcher& bpf) const {
    const auto k = bpf.counters();
    const auto& l = loop_->counters();
    return fmt::format("Scheduling{}: {} tasks known, {} interactive, {} waiting; {} user / {} kernel dispatches",
                       settings_.partial ? " SCHED_EXT tasks" : "", l.nr_tasks.load(), l.nr_interactive.load(),
                       l.nr_waiting.load(), k.user, k.kernel);
}

// Reads the configuration again. A bad one changes nothing; a good one is
// applied live where it can be, or needs a new attach.
ReloadResult Session::reload(const char* trigger) {
    spdlog::info("Received {}: reloading the configuration", trigger);
    config::Loaded next;
    try {
        next = source_.load();
    } catch (const config::Error& e) {
        for (const std::string& problem : e.problems())
            spdlog::error("{}", problem);
        spdlog::error("The new configuration is invalid: the running one stays unchanged");
        return {.problems = join_lines(e.problems())};
    }
    const config::Diff diff = config::compare(settings_, next.settings);
    switch (diff.change) {
    case config::Change::None:
        spdlog::info("The configuration is unchanged");
        return {};
    case config::Change::Live:
        apply_live(next.settings);
        spdlog::info("Applied without reattaching: {}", join(diff.live));
        return {};
    case config::Change::Reattach:
        spdlog::info("Reattaching the scheduler to apply: {}", join(diff.reattach));
        settings_ = next.settings;
        return {.reattach = true, .problems = {}};
    }
    return {};
}

void Session::apply_live(const config::Settings& next) {
    // Snapshots the scheduling thread has moved past can go; the one it uses
    // (or has not seen yet) stays.
    std::erase_if(offered_, [this](const auto& p) { return p.get() != loop_->adopted(); });
    offered_.push_back(std::make_unique<const policy::Settings>(next.policy_settings()));
    loop_->offer(offered_.back().get());
    if (next.verbose != settings_.verbose) {
        spdlog::set_level(next.verbose ? spdlog::level::debug : spdlog::level::info);
        dispatcher::route_libbpf_logs(next.verbose);
    }
    control_.apply(next);
    settings_ = next;
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

int run(const ConfigSource& source, config::Settings settings) {
    systemd::Notifier notifier;
    // Three ejections in a minute are retried after 1, 2 and 4 s (well within
    // the unit's 10 s watchdog); the fourth ends the daemon.
    EjectionBudget ejections(3, std::chrono::minutes(1), std::chrono::seconds(1));
    ControlPlane control;
    try {
        dispatcher::check_kernel_ready();
        lock_memory();
        const PinnedPagesGuard pinned_pages;
        UniqueFd signals(take_signals());
        control.apply(settings);
        for (;;) {
            Session session(settings, source, notifier, signals.get(), control);
            switch (session.run()) {
            case Outcome::Stopped:
                spdlog::info("scx-rustland detached; tasks are back on the fair class");
                return cli::kExitOk;
            case Outcome::Restart:
                continue;
            case Outcome::Reattach:
                settings = session.settings();
                control.apply(settings);
                continue;
            case Outcome::Ejected: {
                const auto delay = ejections.after_ejection(std::chrono::steady_clock::now());
                if (!delay) {
                    spdlog::error("The kernel ejected the scheduler {} times within a minute: giving up",
                                  ejections.recent());
                    return cli::kExitFailure;
                }
                spdlog::warn("Reattaching in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(*delay).count());
                if (!wait_before_reattach(signals.get(), *delay, source, settings)) {
                    notifier.stopping("Stopped while waiting to reattach");
                    return cli::kExitOk;
                }
                control.apply(settings);
                continue;
            }
            }
        }
    } catch (const Error& e) {
        spdlog::error("{}", e.what());
        notifier.status(e.what());
        control.answer_pending(e.what());
        switch (e.kind()) {
        case Error::Kind::NoSchedExt:
            return cli::kExitNoSchedExt;
        case Error::Kind::Busy:
            return cli::kExitBusy;
        case Error::Kind::Failure:
            break;
        }
        return cli::kExitFailure;
    }
}

}  // namespace rustland::daemon
