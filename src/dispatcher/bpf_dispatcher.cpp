#include "dispatcher/bpf_dispatcher.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include <sys/utsname.h>
#include <unistd.h>

#include "rustland.skel.h"

namespace rustland::dispatcher {
namespace {

constexpr const char* kSchedExtDir = "/sys/kernel/sched_ext";

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// The .bss words are shared with BPF programs running on other CPUs.
template <typename T>
T load_shared(const volatile T& word) {
    return std::atomic_ref<T>(const_cast<T&>(word)).load(std::memory_order_acquire);
}

template <typename T>
void store_shared(volatile T& word, T value) {
    std::atomic_ref<T>(const_cast<T&>(word)).store(value, std::memory_order_release);
}

int on_queued_record(void* ctx, void* data, size_t size) {
    if (size < sizeof(rl_queued_task))
        return 0;  // not ours; cannot happen with a matching BPF object
    rl_queued_task record;
    std::memcpy(&record, data, sizeof(record));
    (*static_cast<QueuedSink**>(ctx))->on_queued(record);
    return 0;
}

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

bool libbpf_verbose = false;

int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG && !libbpf_verbose)
        return 0;
    // Verifier logs arrive as one long message: size the buffer to fit.
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n <= 0)
        return 0;
    std::string text(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), format, args);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
        text.pop_back();
    // libbpf starts its own messages with "libbpf: " already.
    spdlog::log(level == LIBBPF_WARN ? spdlog::level::warn : spdlog::level::debug, "{}", text);
    return 0;
}

}  // namespace

void route_libbpf_logs(bool verbose) {
    libbpf_verbose = verbose;
    libbpf_set_print(libbpf_log);
}

std::string no_sched_ext_message(const std::string& kernel_release) {
    return "This kernel (" + kernel_release +
           ") has no sched_ext support (CONFIG_SCHED_CLASS_EXT is not set: " + kSchedExtDir +
           " does not exist); scx-rustland needs Linux 6.12 or newer built with it. On Debian 13 "
           "(trixie), whose own 6.12 kernel lacks it, install the trixie-backports kernel (6.17 or "
           "newer): apt install -t trixie-backports linux-image-amd64, then reboot into it.";
}

// How long a scheduler's teardown may take before the kernel counts as busy.
constexpr int kDisablingWaitMs = 5000;

void check_kernel_ready() {
    if (access(kSchedExtDir, F_OK) != 0) {
        utsname host{};
        throw Error(Error::Kind::NoSchedExt, no_sched_ext_message(uname(&host) == 0 ? host.release : "unknown"));
    }
    const std::string state_file = std::string(kSchedExtDir) + "/state";
    std::string state = read_first_line(state_file);
    // A scheduler that just ended (ours, killed and restarted by systemd) is
    // torn down by a kernel worker: give it time rather than refuse to start.
    for (int waited_ms = 0; state == "disabling" && waited_ms < kDisablingWaitMs; waited_ms += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        state = read_first_line(state_file);
    }
    if (!state.empty() && state != "disabled") {
        std::string ops = read_first_line(std::string(kSchedExtDir) + "/root/ops");
        throw Error(Error::Kind::Busy, "Another sched_ext scheduler" + (ops.empty() ? "" : " (" + ops + ")") +
                                           " is already attached (state: " + state +
                                           "); stop it before starting scx-rustland.");
    }
}

BpfDispatcher::BpfDispatcher(const LoadOptions& options) {
    skel_ = rustland_bpf__open();
    if (!skel_)
        throw Error(Error::Kind::Failure, "Cannot open the BPF dispatcher: " + errno_text(errno) + ".");

    auto* ops = skel_->struct_ops.rustland_ops;
    if (options.partial)
        ops->flags |= skel_->rodata->switch_partial_flag;
    ops->exit_dump_len = options.exit_dump_len;
    // Lets the kernel tell us if a CPU came or went between now and attach.
    const std::string seq = read_first_line(std::string(kSchedExtDir) + "/hotplug_seq");
    if (!seq.empty())
        ops->hotplug_seq = std::stoull(seq);

    skel_->rodata->usersched_pid = options.scheduler_tid;
    skel_->rodata->full_user = options.full_user;
    skel_->rodata->debug = options.debug;
    // Each mode writes one of the two user rings; the other shrinks to one
    // page: a ring is mapped (twice over, and locked) whether used or not.
    bpf_map__set_max_entries(options.full_user ? skel_->maps.params : skel_->maps.dispatched,
                             static_cast<__u32>(sysconf(_SC_PAGESIZE)));

    if (int err = rustland_bpf__load(skel_)) {
        rustland_bpf__destroy(skel_);
        const std::string hint = err == -EPERM ? " (loading a BPF scheduler needs root, or CAP_BPF and CAP_SYS_ADMIN)"
                                 : err == -EACCES ? " (the kernel's verifier rejected it; its log is above)"
                                                  : "";
        throw Error(Error::Kind::Failure, "Cannot load the BPF dispatcher: " + errno_text(err) + hint + ".");
    }

    publish(options.tunables);

    // The callback's context is the sink of the drain in progress.
    queued_ = ring_buffer__new(bpf_map__fd(skel_->maps.queued), on_queued_record, &draining_, nullptr);
    dispatched_ = user_ring_buffer__new(bpf_map__fd(skel_->maps.dispatched), nullptr);
    params_ = user_ring_buffer__new(bpf_map__fd(skel_->maps.params), nullptr);
    if (!queued_ || !dispatched_ || !params_) {
        const int err = errno;
        ring_buffer__free(queued_);
        user_ring_buffer__free(dispatched_);
        user_ring_buffer__free(params_);
        rustland_bpf__destroy(skel_);
        throw Error(Error::Kind::Failure, "Cannot map the dispatcher's ring buffers: " + errno_text(err) + ".");
    }
}

BpfDispatcher::~BpfDispatcher() {
    detach();
    user_ring_buffer__free(params_);
    user_ring_buffer__free(dispatched_);
    ring_buffer__free(queued_);
    rustland_bpf__destroy(skel_);
}

void BpfDispatcher::attach() {
    link_ = bpf_map__attach_struct_ops(skel_->maps.rustland_ops);
    if (link_)
        return;
    const int err = errno;
    if (err == EBUSY || err == EEXIST)
        check_kernel_ready();  // names the scheduler that is there
    throw Error(err == EBUSY ? Error::Kind::Busy : Error::Kind::Failure,
                "Cannot attach the scheduler: " + errno_text(err) + ".");
}

void BpfDispatcher::detach() {
    if (!link_)
        return;
    bpf_link__destroy(link_);
    link_ = nullptr;
}

int BpfDispatcher::drain_queued(QueuedSink& sink) {
    draining_ = &sink;
    return ring_buffer__consume(queued_);
}

namespace {

template <typename Record>
bool submit_to(user_ring_buffer* ring, const Record& record) {
    void* slot = user_ring_buffer__reserve(ring, sizeof(record));
    if (!slot)
        return false;
    std::memcpy(slot, &record, sizeof(record));
    user_ring_buffer__submit(ring, slot);
    return true;
}

}  // namespace

bool BpfDispatcher::submit(const rl_dispatched_task& decision) { return submit_to(dispatched_, decision); }

bool BpfDispatcher::submit(const rl_task_params& params) { return submit_to(params_, params); }

void BpfDispatcher::publish(std::uint64_t nr_scheduled, bool drained) {
    store_shared<__u64>(skel_->bss->nr_scheduled, nr_scheduled);
    if (drained)
        store_shared<__u64>(skel_->bss->nr_queued, 0);
}

void BpfDispatcher::publish(const Tunables& tunables) {
    store_shared<__u64>(skel_->data->slice_max_ns, tunables.slice_ns);
    store_shared<__u64>(skel_->data->slice_min_ns, tunables.slice_min_ns);
    store_shared<bool>(skel_->data->deadline_ordering, tunables.deadline_ordering);
    store_shared<bool>(skel_->bss->per_cpu_dispatch, tunables.per_cpu_dispatch);
    store_shared<__u64>(skel_->data->starvation_ns, tunables.starvation_ns);
}

bool BpfDispatcher::exited() const { return load_shared(skel_->bss->exit_info.kind) != 0; }

KernelCounters BpfDispatcher::counters() const {
    const auto* bss = skel_->bss;
    KernelCounters c;
    c.queued = load_shared(bss->nr_queued);
    c.running = load_shared(bss->nr_running);
    c.user_dispatches = load_shared(bss->nr_user_dispatches);
    c.kernel_dispatches = load_shared(bss->nr_kernel_dispatches);
    c.param_updates = load_shared(bss->nr_param_updates);
    c.preemptions = load_shared(bss->nr_preemptions);
    c.pinned_preemptions = load_shared(bss->nr_pinned_preemptions);
    c.tick_preemptions = load_shared(bss->nr_tick_preemptions);
    c.cancelled = load_shared(bss->nr_cancel_dispatches);
    c.bounced = load_shared(bss->nr_bounce_dispatches);
    c.failed = load_shared(bss->nr_failed_dispatches);
    c.congested = load_shared(bss->nr_sched_congested);
    c.exit_drops = load_shared(bss->nr_exit_drops);
    c.heartbeats = load_shared(bss->nr_heartbeats);
    c.starved = load_shared(bss->nr_starved_dispatches);
    return c;
}

int BpfDispatcher::latency_hints_fd() const { return bpf_map__fd(skel_->maps.latency_hints); }

ExitInfo BpfDispatcher::exit_info() const {
    const auto& ei = skel_->bss->exit_info;
    ExitInfo info;
    info.kind = load_shared(ei.kind);
    info.exit_code = ei.exit_code;
    info.reason.assign(ei.reason, strnlen(ei.reason, sizeof(ei.reason)));
    info.message.assign(ei.msg, strnlen(ei.msg, sizeof(ei.msg)));
    info.dump.assign(ei.dump, strnlen(ei.dump, sizeof(ei.dump)));
    info.restart = (static_cast<std::uint64_t>(info.exit_code) & skel_->rodata->exit_restart_code) != 0;
    return info;
}

}  // namespace rustland::dispatcher
