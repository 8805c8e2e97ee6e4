// The scheduling policy: pure C++, no syscalls, no BPF, no globals.
//
// It receives what the dispatcher reports about tasks (one record each, plus
// a clock value) and makes two kinds of decision:
//  - in the default mode, observe(): what kind of task each one is, as
//    parameters (weight boost, wakeup preemption) that the BPF dispatcher
//    applies on every later wakeup without waiting for us;
//  - in full-user mode (-u), enqueue()/peek()/pop(): which task runs next,
//    where, for how long, and with which ordering key.
// This is the part to read, change and experiment with; the rest of the
// daemon only moves records between it and the kernel.
//
// All storage is allocated by the constructor; observe(), enqueue(), peek()
// and pop() never allocate, so the scheduling thread can call them after
// mlockall().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rustland::policy {

// How waiting tasks are ordered.
enum class Ordering {
    // vruntime + CPU time used since the task last slept: tasks that run in
    // short bursts between sleeps go first (the default).
    Deadline,
    // Weighted CPU time only, as in the classic fair scheduler.
    Vruntime,
};

struct Settings {
    std::uint64_t slice_ns = 5'000'000;         // base time slice (-s)
    std::uint64_t slice_min_ns = 500'000;       // floor of the scaled slice (-S)
    std::uint64_t slice_boost = 100;            // weight multiplier of interactive tasks (-b); 0 or 1 = off
    bool per_cpu_dispatch = false;              // keep tasks on the CPU they last ran on (-i)
    std::uint64_t starvation_ns = 100'000'000;  // a task waiting longer goes next, whatever its key
    bool preemption = true;                     // interactive tasks preempt (off with -n)
    Ordering ordering = Ordering::Deadline;
};

// A task the dispatcher reported (mirrors struct rl_queued_task).
struct QueuedTask {
    std::int32_t pid = 0;
    std::int32_t cpu = 0;           // CPU it last ran on
    bool exiting = false;           // the task is gone: forget it
    bool wakeup = false;            // reported because it woke up
    bool latency_critical = false;  // held by a latency-critical hint
    std::uint32_t nr_cpus_allowed = 0;
    std::uint32_t wakeups = 0;           // wakeups since the task's previous record
    std::uint64_t sum_exec_runtime = 0;  // total CPU time, ns
    std::uint64_t exec_runtime = 0;      // CPU time since it last woke up, ns
    std::uint64_t burst_ns = 0;          // CPU time of the bursts those wakeups ended, ns
    std::uint64_t weight = 100;          // 100 = nice 0
    std::uint64_t enq_cnt = 0;           // generation, echoed in the decision
};

inline constexpr std::int32_t kCpuAny = -1;

// Where and how to run one task (mirrors struct rl_dispatched_task).
struct Decision {
    std::int32_t pid = 0;
    std::int32_t cpu = kCpuAny;  // a CPU id, or kCpuAny
    bool preempt = false;
    std::uint64_t slice_ns = 0;
    std::uint64_t vtime = 0;  // the policy's ordering key (deadline or vruntime)
    std::uint64_t enq_cnt = 0;
};

// What the default mode tells BPF about one task (mirrors struct rl_task_params).
struct TaskParams {
    std::int32_t pid = 0;
    std::uint32_t weight_boost = 1;  // its CPU time is charged 1/weight_boost as much
    bool preempt_on_wakeup = false;  // its wakeups may preempt an ordinary task
};

// A task must wake at least this often to count as interactive...
inline constexpr std::uint64_t kInteractiveWakeupsPerSec = 10;
// ...and sleep at least as long as it runs: at most 1/kMaxInteractiveDutyDivisor
// of its wakeup period spent on a CPU.
inline constexpr std::uint64_t kMaxInteractiveDutyDivisor = 2;
// Weights above this (nice < -10 or so) are clamped, as in scx_rustland 0.0.6.
inline constexpr std::uint64_t kMaxWeight = 1000;

struct Counters {
    std::uint64_t nr_tasks = 0;        // tasks with state (known pids)
    std::uint64_t nr_scheduled = 0;    // tasks waiting for a decision
    std::uint64_t nr_interactive = 0;  // known tasks classified interactive
    std::uint64_t nr_untracked = 0;    // records dropped: all `capacity` entries were waiting
    std::uint64_t nr_requeued = 0;     // records for a pid that was already waiting
    std::uint64_t nr_starved = 0;      // dispatches forced by the starvation guard
};

class Scheduler {
public:
    // capacity: the most tasks kept at once (known pids and waiting tasks).
    // When a new pid arrives and every entry is taken, the state of the task
    // that has been idle the longest is forgotten (it restarts as a new task
    // at min_vruntime, close to where the sleeper cap would put it anyway).
    // Only when all `capacity` entries hold *waiting* tasks is a record
    // dropped and counted in nr_untracked: size capacity above the number of
    // tasks that can be runnable at once (e.g. the kernel's threads-max).
    explicit Scheduler(std::size_t capacity);

    // Applies to records enqueued from now on; waiting tasks keep their keys.
    void configure(const Settings& settings);
    const Settings& settings() const { return settings_; }

    // Default mode. Learns from one record; returns true, with the task's new
    // parameters in `out`, when they changed and must be published to BPF.
    // now_ns is a monotonic clock value (ns): when the dispatcher saw the event.
    bool observe(const QueuedTask& task, std::uint64_t now_ns, TaskParams& out);
    // BPF received `params` (the ring had room): observe() reports only
    // changes from what was published last.
    void published(const TaskParams& params);

    // Full-user mode. Feeds one queued record; the task waits for a decision.
    // Returns false if there was no room to keep it: the caller must then
    // run it some other way (fallback()), or it would never run.
    bool enqueue(const QueuedTask& task, std::uint64_t now_ns);
    // A decision for a record enqueue() had no room for: run it on the first
    // free CPU, at the current clock, with the current slice.
    Decision fallback(const QueuedTask& task) const;

    // The decision for the task that should run next, without removing it.
    // Returns false when nothing waits.
    bool peek(Decision& out) const;
    // Removes the task peek() described (it has been handed to the kernel).
    void pop();

    std::size_t nr_scheduled() const;
    // Starts a dispatch round: the tasks waiting now share the slice.
    void start_round() { round_depth_ = heap_.size(); }
    // The slice given to ordinary tasks in this round: shrinks as more tasks wait.
    std::uint64_t effective_slice_ns() const;
    Counters counters() const;

private:
    using Index = std::uint32_t;
    static constexpr Index kNone = UINT32_MAX;

    // What the policy remembers about one pid between records.
    struct Task {
        std::int32_t pid = 0;
        std::int32_t cpu = kCpuAny;  // where to dispatch it
        std::uint64_t enq_cnt = 0;
        std::uint64_t vruntime = 0;          // weighted CPU time, cumulative
        std::uint64_t sum_exec_runtime = 0;  // as of the previous record
        std::uint64_t last_wakeup_ns = 0;    // when it last woke up (or was first seen)
        std::uint64_t avg_period_ns = 0;     // average time between wakeups; 0 = none seen yet
        std::uint64_t avg_burst_ns = 0;      // average CPU time per wakeup
        bool interactive = false;
        std::uint32_t published_boost = 1;  // what BPF applies to it (its defaults at first)
        bool published_preempt = false;
        bool published_known = true;   // false: BPF may hold what a forgotten state sent
        bool woke_up = false;          // its latest record is a wakeup
        std::uint64_t wait_since = 0;  // now_ns when it started waiting
        Index heap_pos = kNone;        // kNone = not waiting
        Index prev = kNone;            // waiting list if waiting, else idle list
        Index next = kNone;            // waiting or idle list, or free list
    };

    // A doubly linked list threaded through Task::prev/next, oldest first.
    struct List {
        Index head = kNone;
        Index tail = kNone;
    };

    // A waiting task in the heap. The ordering key lives here, not in Task, so
    // that sifting compares contiguous memory.
    struct HeapEntry {
        std::uint64_t key;  // deadline or vruntime; also Decision::vtime
        std::uint64_t seq;  // enqueue order, unique
        Index task;
        bool latency_critical;
    };

    // pid -> pool index, open addressing with linear probing.
    struct Slot {
        std::int32_t pid;
        Index task;  // kNone = empty
    };

    Index lookup(std::int32_t pid) const;
    Index find_or_admit(const QueuedTask& q, std::uint64_t now_ns);
    Index admit(const QueuedTask& q, std::uint64_t now_ns);
    void forget(Index i);
    void classify(Task& t, const QueuedTask& q, std::uint64_t now_ns);
    TaskParams params_of(const Task& t) const;

    std::size_t home(std::int32_t pid) const;
    std::size_t next_slot(std::size_t s) const;
    void index_insert(std::int32_t pid, Index i);
    void index_erase(std::int32_t pid);

    void list_push(List& list, Index i);
    void list_unlink(List& list, Index i);
    Index next_task() const;

    static bool before(const HeapEntry& a, const HeapEntry& b);
    void heap_place(std::size_t pos, const HeapEntry& e);
    void heap_fix(std::size_t pos, const HeapEntry& e);
    void heap_remove(Index i);

    Settings settings_;
    std::vector<Task> tasks_;      // the pool, fixed size
    std::vector<Slot> index_;      // power-of-two size, at most half full
    std::vector<HeapEntry> heap_;  // reserved to capacity, min-heap by before()
    Index free_ = kNone;           // singly linked through Task::next
    List idle_;                    // known, not waiting; idle the longest first
    List waiting_;                 // in the heap; waiting the longest first
    std::uint64_t now_ns_ = 0;     // latest clock value seen
    std::uint64_t min_vruntime_ = 0;
    std::uint64_t seq_ = 0;
    std::size_t round_depth_ = 0;
    bool forgot_published_ = false;  // a task forgotten for room had non-default parameters in BPF
    std::uint64_t nr_tasks_ = 0;
    std::uint64_t nr_interactive_ = 0;
    std::uint64_t nr_untracked_ = 0;
    std::uint64_t nr_requeued_ = 0;
    std::uint64_t nr_starved_ = 0;
};

}  // namespace rustland::policy
