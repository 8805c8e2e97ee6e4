// The records BPF sends, decoded (to_policy) into the policy, and what the
// policy sends back encoded (to_record), checked against a model, in either
// mode of the scheduling loop:
//  - default: observe() each record; the parameters it reports are
//    published (or not: a full ring); when it reports none, BPF must
//    already apply what the policy wants;
//  - full-user (-u): enqueue() each record (fallback() when there is no
//    room), and dispatch rounds (start_round, peek, pop) checked against the
//    tasks that wait: count, generation, CPU, slice bounds, held tasks first,
//    the starvation guard.
// A record's fields are any bytes (the kernel fills them); the settings are
// any that validation accepts, and may change between records (a live
// reload); the clock moves forward as in the loop, and the default mode's
// record timestamps may lag it by up to 1 ms (records of several CPUs).
//
// Input: a settings block, then operations until the input ends:
//   settings: capacity (1 byte), pid bits (1), slice_us (4), slice_us_min (4),
//             slice_boost (2), flags (1: builtin_idle, no_preemption,
//             vruntime ordering, full-user mode), start of the clock (8)
//   operation: 1 byte: the clock advances by (byte >> 2) * 4 ms, then by
//             byte & 3: 0: a record (its raw bytes; in the default mode the
//             low bit of its timestamp says whether the ring takes the
//             parameters); 1: a dispatch round of at most (next byte) tasks;
//             2: new settings (slice_us .. flags, the mode kept);
//             3: an exiting record for a pid (4 bytes).
// At the end every waiting task is dispatched.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>

#include "config/settings.h"
#include "dispatcher/records.h"
#include "policy/scheduler.h"

namespace {

using namespace rustland;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "records_fuzz: %s\n", what);
    std::abort();
}

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    template <class T>
    std::optional<T> next() {
        if (size_ < sizeof(T))
            return std::nullopt;
        T out;
        std::memcpy(&out, data_, sizeof(T));
        data_ += sizeof(T);
        size_ -= sizeof(T);
        return out;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
};

// `raw` brought into the range validation accepts for `key`.
std::uint64_t in_range(std::string_view key, std::uint64_t raw) {
    const config::Key& k = *config::find_key(key);
    const auto low = static_cast<std::uint64_t>(k.min);
    return low + raw % (static_cast<std::uint64_t>(k.max) - low + 1);
}

struct Mode {
    policy::Settings settings;
    bool full_user;
};

std::optional<Mode> read_settings(Reader& in) {
    const auto slice = in.next<std::uint32_t>();
    const auto slice_min = in.next<std::uint32_t>();
    const auto boost = in.next<std::uint16_t>();
    const auto flags = in.next<std::uint8_t>();
    if (!flags)
        return std::nullopt;
    config::Settings s;
    s.slice_us = in_range("scheduler.slice_us", *slice);
    s.slice_us_min = std::min(in_range("scheduler.slice_us_min", *slice_min), s.slice_us);
    s.slice_boost = in_range("scheduler.slice_boost", *boost);
    s.builtin_idle = *flags & 1;
    s.no_preemption = *flags & 2;
    s.ordering = *flags & 4 ? policy::Ordering::Vruntime : policy::Ordering::Deadline;
    return Mode{s.policy_settings(), (*flags & 8) != 0};
}

// What the policy must have of a waiting task (full-user mode): its latest record.
struct Waiting {
    std::int32_t cpu;
    std::uint64_t enq_cnt;
    bool goes_first;        // held, and not back from a whole slice
    std::uint64_t since;    // clock when it started waiting
    std::uint64_t arrival;  // order in which it started waiting
};

class Harness {
public:
    Harness(std::size_t capacity, const Mode& mode)
        : policy_(capacity), capacity_(capacity), full_user_(mode.full_user) {
        policy_.configure(mode.settings);
    }

    void configure(const policy::Settings& settings) { policy_.configure(settings); }

    void record(const rl_queued_task& record, std::uint64_t now) {
        if (full_user_)
            enqueue(record, now);
        else
            observe(record, now - (record.timestamp & 0xFFFFF), record.timestamp & 1);
        check_counts();
    }

    // Returns false when nothing waits.
    bool dispatch_round(unsigned budget) {
        policy_.start_round();
        policy::Decision d;
        for (; budget > 0 && policy_.peek(d); --budget) {
            const auto it = waiting_.find(d.pid);
            if (it == waiting_.end())
                fail("a decision for a task that does not wait");
            check_decision(d, &it->second);
            policy_.pop();
            waiting_.erase(it);
            check_counts();
        }
        if (policy_.peek(d) == waiting_.empty())
            fail("peek() disagrees with the tasks waiting");
        return !waiting_.empty();
    }

private:
    void observe(const rl_queued_task& record, std::uint64_t timestamp, bool ring_has_room) {
        const std::uint64_t dropped = policy_.counters().nr_untracked;
        policy::TaskParams params;
        const bool changed = policy_.observe(dispatcher::to_policy(record), timestamp, params);
        if (record.flags & RL_QUEUED_EXITING) {
            if (changed)
                fail("parameters reported for an exiting task");
            in_bpf_.erase(record.pid);  // its task storage goes with it
            return;
        }
        const policy::TaskParams current =
            in_bpf_.try_emplace(record.pid, policy::TaskParams{.pid = record.pid}).first->second;
        if (!changed) {
            // Not dropped: the policy wants what BPF applies.
            if (policy_.counters().nr_untracked == dropped && !same(params, current))
                fail("BPF keeps parameters the policy no longer wants");
            return;
        }
        if (params.pid != record.pid)
            fail("parameters for another pid");
        if (params.weight_boost == 0 || (params.preempt_on_wakeup && !policy_.settings().preemption))
            fail("parameters outside the settings");
        check_params_record(params, dispatcher::to_record(params));
        if (ring_has_room) {
            policy_.published(params);
            in_bpf_[record.pid] = params;
        }
    }

    void enqueue(const rl_queued_task& record, std::uint64_t now) {
        clock_ = now;
        const policy::QueuedTask task = dispatcher::to_policy(record);
        if (!policy_.enqueue(task, now)) {
            if (waiting_.count(record.pid))
                fail("no room for a task that waits");
            const policy::Decision d = policy_.fallback(task);
            if (d.pid != record.pid)
                fail("a fallback decision for another pid");
            check_decision(d, nullptr);
            return;
        }
        if (record.flags & RL_QUEUED_EXITING) {
            waiting_.erase(record.pid);
            return;
        }
        const bool first =
            record.latency_class == RL_LATENCY_CRITICAL && record.exec_runtime < policy_.settings().slice_ns;
        const auto [it, added] = waiting_.try_emplace(record.pid, Waiting{record.cpu, record.enq_cnt, first, now, 0});
        if (added)
            it->second.arrival = ++arrivals_;
        else
            it->second = Waiting{record.cpu, record.enq_cnt, first, it->second.since, it->second.arrival};
    }

    // `task`: the waiting task it is for; nullptr for a fallback decision.
    void check_decision(const policy::Decision& d, const Waiting* task) const {
        const policy::Settings& s = policy_.settings();
        if (task && d.enq_cnt != task->enq_cnt)
            fail("a decision answers an older record");
        if (task && d.cpu != policy::kCpuAny && d.cpu != task->cpu)
            fail("a decision for a CPU the record did not name");
        if (d.slice_ns < s.slice_min_ns || d.slice_ns > s.slice_ns)
            fail("a slice outside slice_min..slice");
        if (d.preempt && !s.preemption)
            fail("a preempting decision with preemption off");
        check_decision_record(d, dispatcher::to_record(d));
        if (!task)
            return;
        const auto oldest = std::min_element(waiting_.begin(), waiting_.end(), [](const auto& a, const auto& b) {
            return a.second.arrival < b.second.arrival;
        });
        if (clock_ - oldest->second.since >= s.starvation_ns) {
            if (d.pid != oldest->first)
                fail("a task waiting past the starvation limit was passed over");
        } else if (!task->goes_first &&
                   std::any_of(waiting_.begin(), waiting_.end(), [](const auto& w) { return w.second.goes_first; })) {
            fail("an ordinary task went before a held one");
        }
    }

    static void check_decision_record(const policy::Decision& d, const rl_dispatched_task& r) {
        if (r.pid != d.pid || r.slice_ns != d.slice_ns || r.enq_cnt != d.enq_cnt || r.vtime != d.vtime)
            fail("to_record() changed a field of a decision");
        if (r.cpu != (d.cpu == policy::kCpuAny ? RL_CPU_ANY : d.cpu))
            fail("to_record() got the CPU wrong");
        if (r.flags != (d.preempt ? RL_DISPATCH_PREEMPT : 0u) || r.pad != 0)
            fail("to_record() got a decision's flags wrong");
    }

    static bool same(const policy::TaskParams& a, const policy::TaskParams& b) {
        return a.weight_boost == b.weight_boost && a.preempt_on_wakeup == b.preempt_on_wakeup;
    }

    static void check_params_record(const policy::TaskParams& p, const rl_task_params& r) {
        if (r.pid != p.pid || r.weight_boost != p.weight_boost || r.pad != 0 ||
            r.flags != (p.preempt_on_wakeup ? RL_PARAM_PREEMPT_ON_WAKEUP : 0u))
            fail("to_record() got task parameters wrong");
    }

    void check_counts() const {
        const policy::Counters c = policy_.counters();
        if (policy_.nr_scheduled() != waiting_.size() || c.nr_scheduled != waiting_.size())
            fail("the policy's waiting count is not the model's");
        if (c.nr_tasks > capacity_)
            fail("more tasks known than the capacity");
    }

    policy::Scheduler policy_;
    std::size_t capacity_;
    bool full_user_;
    std::map<std::int32_t, Waiting> waiting_;            // full-user mode
    std::map<std::int32_t, policy::TaskParams> in_bpf_;  // default mode: what BPF applies
    std::uint64_t arrivals_ = 0;
    // The policy's clock: that of the latest record (peek() and pop() take none).
    std::uint64_t clock_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    const auto capacity = in.next<std::uint8_t>();
    const auto pid_bits = in.next<std::uint8_t>();
    const auto mode = read_settings(in);
    const auto start = in.next<std::uint64_t>();
    if (!start)
        return 0;
    // Few pid bits: records of the same tasks again and again.
    const unsigned bits = 1 + *pid_bits % 32;
    const std::uint32_t pid_mask = bits == 32 ? UINT32_MAX : (1u << bits) - 1;
    const auto pid_of = [&](std::int32_t raw) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(raw) & pid_mask);
    };
    Harness harness(1 + *capacity % 64, *mode);
    // From 2^20 ns (any timestamp lag stays positive) up to 2^50 ns (13 days
    // of uptime); it grows by at most 2^28 ns per operation.
    std::uint64_t now = (1ull << 20) + (*start >> 14);
    while (const auto op = in.next<std::uint8_t>()) {
        now += (*op >> 2) * 4'000'000ull;
        switch (*op & 3) {
        case 0:
            if (auto record = in.next<rl_queued_task>()) {
                record->pid = pid_of(record->pid);
                harness.record(*record, now);
            }
            break;
        case 1:
            if (const auto budget = in.next<std::uint8_t>())
                harness.dispatch_round(*budget);
            break;
        case 2:
            if (const auto next = read_settings(in))
                harness.configure(next->settings);
            break;
        case 3:
            if (const auto pid = in.next<std::int32_t>()) {
                rl_queued_task exiting{};
                exiting.pid = pid_of(*pid);
                exiting.flags = RL_QUEUED_EXITING;
                harness.record(exiting, now);
            }
            break;
        }
    }
    while (harness.dispatch_round(UINT8_MAX)) {
    }
    return 0;
}
