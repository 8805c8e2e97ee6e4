#include "daemon/session.h"

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
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>

namespace rustland::daemon {
namespace {

using dispatcher::Error;
using Clock = std::chrono::steady_clock;

constexpr int kSchedExt = 7;  // SCHED_EXT policy number (uapi sched.h, Linux >= 6.12)
// The scheduling loop's deepest call chain needs a few KiB; the stack is
// locked and its first 256 KiB prefaulted, so keep it small.
constexpr std::size_t kSchedulingThreadStack = 512 << 10;
// How often the D-Bus Counters property is refreshed while it is served.
constexpr auto kCountersEvery = std::chrono::seconds(1);

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    return fmt::format("{}", fmt::join(items, separator));
}

// A periodic duty of the control loop: due at `next`, then every `every`
// (none: never).
struct Every {
    std::optional<Clock::duration> every;
    Clock::time_point next = Clock::now();

    bool due(Clock::time_point now) {
        if (!every || now < next)
            return false;
        next = now + *every;
        return true;
    }
};

std::optional<Clock::duration> seconds(double s) {
    if (s <= 0)
        return std::nullopt;
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Milliseconds until the first of the duties is due; -1: none is.
int poll_timeout(std::initializer_list<const Every*> duties) {
    auto deadline = Clock::time_point::max();
    for (const Every* duty : duties)
        if (duty->every)
            deadline = std::min(deadline, duty->next);
    if (deadline == Clock::time_point::max())
        return -1;
    return static_cast<int>(
        std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

}  // namespace

Session::Session(const config::Settings& settings, const ConfigSource& source, systemd::Notifier& notifier,
                 int signal_fd, ControlPlane& control)
    : settings_(settings),
      source_(source),
      notifier_(notifier),
      control_(control),
      signal_fd_(signal_fd),
      done_(eventfd(0, EFD_CLOEXEC)) {}

// The scheduling thread outlives nothing it uses.
Session::~Session() { stop_scheduling_thread(); }

Outcome Session::run() {
    // The loop must already be running when attach starts: from the moment
    // the kernel enables the ops, tasks wait on us, and enabling itself needs
    // them to run.
    start_scheduling_thread();
    load();
    attach();
    const Outcome outcome = serve();
    stop_scheduling_thread();
    control_.held().unbind();
    control_.publish_counters(telemetry());
    control_.session_ended();
    if (outcome != Outcome::Ejected)
        return outcome;
    const dispatcher::ExitInfo info = bpf_->exit_info();
    bpf_->detach();
    return report_end(info, control_, notifier_);
}

void Session::start_scheduling_thread() {
    std::promise<pid_t> tid;
    auto tid_future = tid.get_future();
    thread_.emplace(kSchedulingThreadStack, [this, &tid] {
        pthread_setname_np(pthread_self(), "rustland-sched");
        tid.set_value(gettid());
        scheduling_thread_main();
    });
    tid_ = tid_future.get();
}

void Session::scheduling_thread_main() {
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

// Lets the scheduling thread go (to run the loop if there is one, else to
// return at once) and waits for it. Idempotent.
void Session::stop_scheduling_thread() {
    if (!thread_)
        return;
    stop_ = true;
    let_go();
    thread_->join();
    thread_.reset();
}

void Session::let_go() {
    if (!let_go_)
        go_.release();
    let_go_ = true;
}

void Session::load() {
    dispatcher::LoadOptions load;
    load.scheduler_tid = tid_;
    load.tunables = dispatcher::tunables_of(settings_.policy_settings());
    load.full_user = settings_.full_user;
    load.partial = settings_.partial;
    load.debug = settings_.debug;
    load.exit_dump_len = settings_.exit_dump_len;
    bpf_ = std::make_unique<dispatcher::BpfDispatcher>(load);
    // Only now the policy's tables (2 MiB by default, locked in memory):
    // libbpf holds the kernel's BTF, two copies of some 6 MiB, while it
    // loads, and freed it when done; allocated before, the two added up to
    // the daemon's peak RSS.
    policy_.emplace(settings_.max_tasks);
    policy_->configure(settings_.policy_settings());
    loop_.emplace(*policy_, settings_.full_user);
}

void Session::attach() {
    // Held processes are in the map before the first task is scheduled.
    control_.held().bind(bpf_->latency_hints_fd());
    let_go();
    try {
        bpf_->attach();
    } catch (...) {
        control_.held().unbind();
        throw;
    }
    control_.set_state(State::Attached, "");
    // The D-Bus service starts (or follows a reload) once the scheduler is
    // in place: connecting to the bus is not worth delaying the attach for,
    // since a new daemon has no holds to put in the map.
    control_.apply(settings_);
    control_.answer_pending("");
    spdlog::info("scx-rustland attached: ops=rustland, scheduling thread {}, {} mode", tid_,
                 settings_.partial ? "partial (SCHED_EXT tasks only)" : "all tasks");
    notifier_.ready(status_line(telemetry(), settings_.partial));
}

// The control loop: signals, D-Bus reloads, the end of the scheduling
// thread, and three optional clocks (the watchdog check, the stats line and
// the D-Bus counters).
Outcome Session::serve() {
    Every watchdog{systemd::Notifier::watchdog_interval()};
    Every stats{seconds(settings_.stats_interval_s)};
    stats.next += stats.every.value_or(Clock::duration{});
    Every counters{kCountersEvery};
    for (;;) {
        // A reload may have changed both.
        stats.every = seconds(settings_.stats_interval_s);
        counters.every = control_.serving() ? std::optional<Clock::duration>(kCountersEvery) : std::nullopt;
        pollfd fds[3] = {
            {signal_fd_, POLLIN, 0}, {done_.get(), POLLIN, 0}, {control_.reload_requests().fd(), POLLIN, 0}};
        const int n = poll(fds, 3, poll_timeout({&watchdog, &stats, &counters}));
        if (n < 0 && errno != EINTR)
            throw Error(Error::Kind::Failure, std::string("poll: ") + std::strerror(errno));
        const auto now = Clock::now();
        if (watchdog.due(now))
            check_watchdog();
        if (stats.due(now))
            spdlog::info("stats: {}", stats_line(telemetry()));
        if (counters.due(now))
            control_.publish_counters(telemetry());
        if (n <= 0)
            continue;
        if ((fds[2].revents & POLLIN) && on_reload_requests() == Step::End)
            break;
        if ((fds[0].revents & POLLIN) && on_signal() == Step::End)
            break;
        if (fds[1].revents & POLLIN)
            break;  // the kernel ended the scheduler
    }
    return ending_;
}

Session::Step Session::on_reload_requests() { return reload("a D-Bus Reload call", control_.reload_requests().take()); }

Session::Step Session::on_signal() {
    signalfd_siginfo info{};
    [[maybe_unused]] auto r = read(signal_fd_, &info, sizeof(info));
    const int signo = static_cast<int>(info.ssi_signo);
    if (signo == SIGHUP)
        return reload("SIGHUP", {});
    spdlog::info("Received {}: detaching the scheduler", strsignal(signo));
    notifier_.stopping("Detaching the scheduler");
    control_.set_state(State::Detached, "stopped");
    ending_ = Outcome::Stopped;
    stop_ = true;
    bpf_->detach();
    return Step::End;
}

// Reads the configuration again, from whichever trigger. A bad one changes
// nothing; a good one is applied live where it can be, or ends the session
// to attach again with it. `requests` (D-Bus callers) are answered once the
// outcome is known: after the new attach if there is one.
Session::Step Session::reload(std::string_view trigger, std::vector<ReloadRequests::Done> requests) {
    spdlog::info("Received {}: reloading the configuration", trigger);
    notifier_.reloading();
    std::string problems;
    bool reattach = false;
    try {
        const config::Loaded next = source_.load();
        const config::Diff diff = config::compare(settings_, next.settings);
        if (diff.change == config::Change::None)
            spdlog::info("The configuration is unchanged");
        if (diff.change == config::Change::Live) {
            apply_live(next.settings);
            spdlog::info("Applied without reattaching: {}", join(diff.live, ", "));
        }
        if (diff.change == config::Change::Reattach) {
            spdlog::info("Reattaching the scheduler to apply: {}", join(diff.reattach, ", "));
            settings_ = next.settings;
            reattach = true;
        }
    } catch (const config::Error& e) {
        for (const std::string& problem : e.problems())
            spdlog::error("{}", problem);
        spdlog::error("The new configuration is invalid: the running one stays unchanged");
        problems = join(e.problems(), "\n");
    }
    notifier_.ready(status_line(telemetry(), settings_.partial));
    if (!reattach) {
        for (auto& done : requests)
            done(problems);
        return Step::Continue;
    }
    control_.answer_after_attach(std::move(requests));
    control_.set_state(State::Detached, "reattaching to apply a reload");
    ending_ = Outcome::Reattach;
    stop_ = true;
    bpf_->detach();
    return Step::End;
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

// WATCHDOG=1 only while the scheduling thread makes progress (or has nothing
// to do): a stuck scheduling thread must get the daemon restarted.
void Session::check_watchdog() {
    const Telemetry now = telemetry();
    const systemd::GateVerdict verdict = gate_.check(progress_sample(now));
    if (verdict.ping) {
        notifier_.watchdog();
        notifier_.status(status_line(now, settings_.partial));
    } else {
        spdlog::warn(
            "The scheduling thread made no progress with work pending ({} checks): "
            "not pinging the systemd watchdog",
            verdict.stalled_checks);
    }
}

Telemetry Session::telemetry() const {
    return take_telemetry(bpf_->counters(), loop_->counters(), scheduling_thread_faults());
}

// Faults of the scheduling thread since its loop started. After an ejection
// the thread is gone from procfs: the last count read stands (subtracting
// the baseline from nothing printed 18446744073709551583).
std::uint64_t Session::scheduling_thread_faults() const {
    if (const auto faults = thread_page_faults(tid_))
        last_faults_.store(*faults - std::min(*faults, fault_baseline_.load()));
    return last_faults_.load();
}

}  // namespace rustland::daemon
