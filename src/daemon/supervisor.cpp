#include "daemon/supervisor.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <semaphore>
#include <sstream>
#include <thread>

#include "dispatcher/bpf_dispatcher.h"
#include "dispatcher/cpu_list.h"
#include "dispatcher/scheduling_loop.h"

namespace rustland::daemon {
namespace {

using dispatcher::BpfDispatcher;
using dispatcher::Error;

constexpr int kSchedExt = 7;  // SCHED_EXT policy number (uapi sched.h, Linux >= 6.12)

// Minor + major faults of one thread of this process, from procfs.
std::uint64_t thread_page_faults(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto comm_end = stat.rfind(')');
    if (comm_end == std::string::npos)
        return 0;
    // Fields after "pid (comm)": state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12)
    std::istringstream fields(stat.substr(comm_end + 2));
    std::string skip;
    std::uint64_t minflt = 0, majflt = 0;
    for (int i = 3; i < 10; ++i)
        fields >> skip;
    fields >> minflt >> skip >> majflt;
    return minflt + majflt;
}

// Memory must never need reclaim to be touched by the scheduler: a fault
// that waits on a task the scheduler has not scheduled yet deadlocks.
// Transparent huge pages are off for this process: khugepaged would collapse
// our locked pages into huge ones, and the scheduling thread would fault
// (seen in the VM, once per run) and might wait on khugepaged itself.
void lock_memory() {
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        spdlog::warn("Cannot disable transparent huge pages: {}", std::strerror(errno));
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0)
        spdlog::warn("Cannot lift RLIMIT_MEMLOCK: {}", std::strerror(errno));
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        throw Error(Error::Kind::Failure,
                    std::string("Cannot lock the daemon's memory (mlockall): ") + std::strerror(errno) + ".");
}

// Compaction may migrate even mlocked pages, and touching a migrated page
// faults. vm.compact_unevictable_allowed=0 keeps our locked pages in place
// while we run; the old value is restored when we stop (not after SIGKILL:
// the setting is harmless to leave behind).
class PinnedPagesGuard {
public:
    PinnedPagesGuard() {
        std::ifstream in(kPath);
        if (!(in >> saved_) || saved_ == "0" || !write("0"))
            saved_.clear();
        else
            spdlog::debug("{}: {} -> 0 while attached", kPath, saved_);
    }
    ~PinnedPagesGuard() {
        if (!saved_.empty())
            write(saved_);
    }
    PinnedPagesGuard(const PinnedPagesGuard&) = delete;
    PinnedPagesGuard& operator=(const PinnedPagesGuard&) = delete;

private:
    static constexpr const char* kPath = "/proc/sys/vm/compact_unevictable_allowed";
    static bool write(const std::string& value) {
        std::ofstream out(kPath);
        return static_cast<bool>(out << value << '\n');
    }
    std::string saved_;
};

// Blocks the signals we handle in every thread and returns a signalfd for them.
int take_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    const int fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd < 0)
        throw Error(Error::Kind::Failure, std::string("signalfd: ") + std::strerror(errno));
    return fd;
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0)
            close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

enum class Outcome { Stopped, Restart, Ejected };

// One attach cycle: a fresh policy, BPF program and scheduling thread.
class Session {
public:
    Session(const cli::Options& options, int signal_fd)
        : options_(options), signal_fd_(signal_fd), policy_(options.max_tasks),
          loop_(policy_, dispatcher::online_cpus()), done_(eventfd(0, EFD_CLOEXEC)) {
        policy_.configure(options.policy_settings());
    }

    Outcome run();

private:
    void scheduling_thread_main(std::promise<pid_t>& tid);
    void log_stats(const BpfDispatcher& bpf) const;

    const cli::Options& options_;
    int signal_fd_;
    policy::Scheduler policy_;
    dispatcher::SchedulingLoop loop_;
    Fd done_;
    std::atomic<bool> stop_{false};
    std::binary_semaphore go_{0};
    BpfDispatcher* bpf_ = nullptr;
    pid_t tid_ = 0;
    std::atomic<std::uint64_t> fault_baseline_{0};
};

void Session::scheduling_thread_main(std::promise<pid_t>& tid) {
    pthread_setname_np(pthread_self(), "rustland-sched");
    tid.set_value(gettid());
    go_.acquire();
    if (bpf_ && !stop_.load()) {
        if (options_.partial) {
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
        loop_.run(*bpf_, stop_);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(done_.get(), &one, sizeof(one));
}

void Session::log_stats(const BpfDispatcher& bpf) const {
    const auto k = bpf.counters();
    const auto& l = loop_.counters();
    spdlog::info(
        "stats: queued={} scheduled={} running={} user={} kernel={} cancel={} bounce={} failed={} "
        "congested={} exit_drops={} ring_full={} starved={} untracked={} heartbeats={} page_faults={} "
        "slice_us={} tasks={}",
        k.nr_queued, l.nr_waiting.load(), k.nr_running, k.user, k.kernel, k.cancel, k.bounce, k.failed,
        k.congested, k.exit_drops, l.ring_full.load(), l.nr_starved.load(), l.nr_untracked.load(), k.heartbeats,
        thread_page_faults(tid_) - fault_baseline_.load(), l.slice_ns.load() / 1000, l.nr_tasks.load());
}

Outcome Session::run() {
    std::promise<pid_t> tid_promise;
    auto tid_future = tid_promise.get_future();
    std::thread thread([&] { scheduling_thread_main(tid_promise); });
    tid_ = tid_future.get();

    // The loop must already be running when attach starts: from the moment
    // the kernel enables the ops, tasks wait on us, and enabling itself needs
    // them to run.
    std::unique_ptr<BpfDispatcher> bpf;
    try {
        dispatcher::LoadOptions load;
        load.scheduler_tid = tid_;
        load.slice_ns = options_.slice_us * 1000;
        load.full_user = options_.full_user;
        load.partial = options_.partial;
        load.debug = options_.debug;
        load.exit_dump_len = options_.exit_dump_len;
        bpf = std::make_unique<BpfDispatcher>(load, loop_);
    } catch (...) {
        stop_ = true;
        go_.release();
        thread.join();
        throw;
    }
    bpf_ = bpf.get();
    go_.release();
    try {
        bpf->attach();
    } catch (...) {
        stop_ = true;
        thread.join();
        throw;
    }
    spdlog::info("scx-rustland attached: ops=rustland, scheduling thread {}, {} mode", tid_,
                 options_.partial ? "partial (SCHED_EXT tasks only)" : "all tasks");

    const int timeout_ms = options_.stats_interval_s ? static_cast<int>(*options_.stats_interval_s * 1000) : -1;
    Outcome outcome = Outcome::Ejected;
    for (;;) {
        pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {done_.get(), POLLIN, 0}};
        const int n = poll(fds, 2, timeout_ms);
        if (n < 0 && errno != EINTR)
            throw Error(Error::Kind::Failure, std::string("poll: ") + std::strerror(errno));
        if (n == 0) {
            log_stats(*bpf);
            continue;
        }
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            [[maybe_unused]] auto r = read(signal_fd_, &info, sizeof(info));
            spdlog::info("Received {}: detaching the scheduler", strsignal(static_cast<int>(info.ssi_signo)));
            stop_ = true;
            bpf->detach();
            outcome = Outcome::Stopped;
            break;
        }
        if (fds[1].revents & POLLIN)
            break;  // the kernel ended the scheduler
    }
    thread.join();

    if (outcome == Outcome::Stopped)
        return outcome;
    const auto info = bpf->exit_info();
    bpf->detach();
    if (info.restart) {
        spdlog::info("The kernel asked for a restart ({}): reattaching the scheduler", info.reason);
        return Outcome::Restart;
    }
    spdlog::error("The kernel ejected the scheduler: {}{}{}", info.reason, info.message.empty() ? "" : ": ",
                  info.message);
    if (!info.dump.empty())
        spdlog::error("Kernel debug dump:\n{}", info.dump);
    return Outcome::Ejected;
}

}  // namespace

int run(const cli::Options& options) {
    try {
        dispatcher::check_kernel_ready();
        lock_memory();
        const PinnedPagesGuard pinned_pages;
        Fd signals(take_signals());
        for (;;) {
            Session session(options, signals.get());
            switch (session.run()) {
            case Outcome::Stopped:
                spdlog::info("scx-rustland detached; tasks are back on the fair class");
                return cli::kExitOk;
            case Outcome::Restart:
                continue;
            case Outcome::Ejected:
                return cli::kExitFailure;
            }
        }
    } catch (const Error& e) {
        spdlog::error("{}", e.what());
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
