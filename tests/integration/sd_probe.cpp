// sd-probe: stands in for scx-rustland under the real unit file where the
// kernel has no sched_ext (see systemd-sandbox.sh). It makes the privileged
// calls the daemon makes, reports each as "probe: <name>: ok|FAILED ...",
// then behaves like the daemon towards systemd: READY=1 with a STATUS=,
// WATCHDOG=1 pings, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
// SIGUSR1 stops the pings (a stalled scheduler), to watch systemd's watchdog.
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "dispatcher/scheduling_loop.h"
#include "systemd/logging.h"
#include "systemd/notifier.h"

namespace {

using rustland::systemd::Notifier;

int failures = 0;

void report(const std::string& name, bool ok, int err = 0, const std::string& detail = {}) {
    if (ok) {
        spdlog::info("probe: {}: ok{}{}", name, detail.empty() ? "" : " ", detail);
    } else {
        ++failures;
        spdlog::error("probe: {}: FAILED ({}){}{}", name, std::strerror(err), detail.empty() ? "" : " ", detail);
    }
}

long sys_bpf(int cmd, bpf_attr& attr) { return syscall(SYS_bpf, cmd, &attr, sizeof(attr)); }

// Runs `call` (returning 0 or a valid fd on success) and reports it with its errno.
template <typename Call>
long checked(const std::string& name, Call call) {
    errno = 0;
    const long rc = call();
    report(name, rc >= 0, errno);
    return rc;
}

void check_memory_lock() {
    checked("prctl(PR_SET_THP_DISABLE)", [] { return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); });
    // With LimitMEMLOCK=infinity the daemon's setrlimit changes nothing and
    // needs no CAP_SYS_RESOURCE. A sandbox whose host cannot grant that
    // limit sets a finite one instead: then there is nothing to test.
    rlimit current{};
    getrlimit(RLIMIT_MEMLOCK, &current);
    if (current.rlim_max == RLIM_INFINITY) {
        checked("setrlimit(RLIMIT_MEMLOCK, infinity)", [] {
            const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
            return setrlimit(RLIMIT_MEMLOCK, &unlimited);
        });
    } else {
        spdlog::warn(
            "probe: setrlimit(RLIMIT_MEMLOCK, infinity): skipped, the hard limit here is {} bytes, "
            "not LimitMEMLOCK=infinity",
            current.rlim_max);
    }
    checked("mlockall(MCL_CURRENT|MCL_FUTURE)", [] { return mlockall(MCL_CURRENT | MCL_FUTURE); });
}

// The daemon writes 0 while attached and restores the old value; the probe
// writes the current value back (no change to the host).
void check_tunables() {
    const char* path = "/proc/sys/vm/compact_unevictable_allowed";
    std::string value;
    std::ifstream(path) >> value;
    const int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0;
    int err = errno;
    if (ok) {
        const std::string line = value + "\n";
        ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
        err = errno;
        close(fd);
    }
    report(std::string("write ") + path, ok, err, "(value " + value + ")");

    // Any other tunable must be read-only (ProtectKernelTunables=yes).
    const int other = open("/proc/sys/vm/swappiness", O_WRONLY | O_CLOEXEC);
    err = errno;
    if (other >= 0)
        close(other);
    report("/proc/sys/vm/swappiness is read-only", other < 0 && err == EROFS, other < 0 ? err : 0);
}

void check_bpf() {
    bpf_attr map{};
    map.map_type = BPF_MAP_TYPE_ARRAY;
    map.key_size = 4;
    map.value_size = 8;
    map.max_entries = 1;
    const long map_fd = checked("bpf(BPF_MAP_CREATE)", [&] { return sys_bpf(BPF_MAP_CREATE, map); });
    if (map_fd >= 0)
        close(static_cast<int>(map_fd));

    // r0 = 0; exit. A tracing program type, so CAP_PERFMON is checked like
    // for the struct_ops programs of the scheduler.
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    static const char license[] = "GPL";
    bpf_attr prog{};
    prog.prog_type = BPF_PROG_TYPE_KPROBE;
    prog.insns = reinterpret_cast<std::uintptr_t>(insns);
    prog.insn_cnt = 2;
    prog.license = reinterpret_cast<std::uintptr_t>(license);
    const long prog_fd = checked("bpf(BPF_PROG_LOAD, kprobe)", [&] { return sys_bpf(BPF_PROG_LOAD, prog); });
    if (prog_fd >= 0)
        close(static_cast<int>(prog_fd));
}

void check_perf_event_open() {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    const long fd = checked("perf_event_open", [&] { return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0); });
    if (fd >= 0)
        close(static_cast<int>(fd));
}

// What the scheduling thread does: SCHED_EXT in partial mode, then its own
// seccomp filter refusing mmap.
void check_scheduling_thread() {
    std::thread([] {
        constexpr int kSchedExt = 7;
        const sched_param param{};
        const int rc = sched_setscheduler(0, kSchedExt, &param);
        const int err = errno;
        // EINVAL: this kernel has no SCHED_EXT. EPERM would be the sandbox.
        const bool ok = rc == 0 || err == EINVAL;
        report("sched_setscheduler(SCHED_EXT)", ok, err,
               rc == 0 ? "(set)"
               : ok    ? "(EINVAL: no sched_ext in this kernel, not refused)"
                       : "");

        errno = 0;
        const bool hardened = rustland::dispatcher::harden_scheduling_thread();
        report("seccomp filter on the scheduling thread", hardened, errno);
        if (hardened) {
            void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            report("mmap refused on the scheduling thread", p == MAP_FAILED && errno == EPERM,
                   p == MAP_FAILED ? errno : 0);
        }
    }).join();
}

}  // namespace

int main() {
    rustland::systemd::setup_logging(false);
    spdlog::info("probe: logging to {}", rustland::systemd::logging_to_journal() ? "the journal" : "stderr");
    rustland::systemd::log_with_fields(spdlog::level::warn, "probe: message with extra journal fields",
                                       {{"SCX_EXIT_REASON", "probe reason"}, {"SCX_EXIT_KIND", "1024"}});

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1})
        sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    const int sfd = signalfd(-1, &set, SFD_CLOEXEC);

    check_memory_lock();
    check_tunables();
    check_bpf();
    check_perf_event_open();
    check_scheduling_thread();

    Notifier notifier;
    const auto interval = Notifier::watchdog_interval();
    const std::string summary = failures ? std::to_string(failures) + " probe checks FAILED" : "all probe checks ok";
    spdlog::info("probe: {}; watchdog interval {} ms", summary,
                 interval ? std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count() : -1);
    notifier.ready(summary);

    bool pinging = true;
    for (;;) {
        pollfd pfd{sfd, POLLIN, 0};
        const int timeout = interval ? static_cast<int>(interval->count() / 1000) : -1;
        if (poll(&pfd, 1, timeout) == 0) {
            if (pinging)
                notifier.watchdog();
            continue;
        }
        signalfd_siginfo info{};
        if (read(sfd, &info, sizeof(info)) != sizeof(info))
            continue;
        switch (info.ssi_signo) {
        case SIGHUP:
            spdlog::info("probe: SIGHUP: reloading");
            notifier.reloading();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            notifier.ready(summary + ", reloaded");
            break;
        case SIGUSR1:
            spdlog::warn("probe: SIGUSR1: pretending the scheduling thread is stuck (no more WATCHDOG=1)");
            pinging = false;
            notifier.status("stalled on purpose");
            break;
        default:
            spdlog::info("probe: {}: stopping", strsignal(static_cast<int>(info.ssi_signo)));
            notifier.stopping("stopping");
            return failures ? 1 : 0;
        }
    }
}
