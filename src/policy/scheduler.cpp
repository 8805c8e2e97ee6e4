// The scheduling policy. Each rule is a short function; the comment above it
// says why the rule exists. Storage layout, all sized by the constructor:
//
//   tasks_  pool of per-pid state. Every entry is in exactly one place:
//           the free list, the idle list (known pid, not waiting) or the heap.
//   index_  pid -> pool entry, open addressing, linear probing, at most half
//           full; deletion shifts entries back instead of leaving tombstones.
//   heap_   waiting tasks, a binary min-heap; each Task knows its position so
//           a new record for a waiting pid updates it in place. The same tasks
//           are also on the waiting list, in arrival order, for the
//           starvation guard.
#include "policy/scheduler.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

namespace rustland::policy {
namespace {

constexpr std::uint64_t kNsPerSec = 1'000'000'000;
// Averages move a quarter of the way to each new sample: a few wakeups are
// enough to classify a new task, and one odd wakeup does not flip it.
constexpr std::uint64_t kAverageWeight = 4;
// The weight of a nice-0 task: one ns of CPU costs it one ns of vruntime.
constexpr std::uint64_t kNiceZeroWeight = 100;
// exec_runtime lengthens the deadline by at most this many slices, so one
// long burst can't put a task behind every new task of a parallel build.
constexpr std::uint64_t kMaxExecSlices = 1;

std::uint64_t saturating_sub(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

// A pid can't be larger than INT32_MAX, so neither can the number of tasks;
// the bound also keeps pool indices below kNone and the index size in range.
std::size_t checked_capacity(std::size_t capacity) {
    if (capacity > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw std::length_error("rustland::policy::Scheduler: capacity above INT32_MAX");
    return capacity;
}

// CPU time to charge for this record.
std::uint64_t used_ns(std::uint64_t prev_sum, const QueuedTask& q, bool is_new, const Settings& s) {
    // A new pid, or a counter that went backwards (pid reused, exec): its past
    // is unknown, so charge what it reports, but no more than one slice, so a
    // long-lived task seen for the first time isn't punished for its history.
    if (is_new || q.sum_exec_runtime < prev_sum)
        return std::min(q.sum_exec_runtime, s.slice_ns);
    return q.sum_exec_runtime - prev_sum;
}

// Heavier (lower nice) tasks accrue vruntime more slowly. Interactive tasks
// count as much heavier still, so their short bursts barely move them back.
std::uint64_t effective_weight(std::uint64_t weight, bool interactive, const Settings& s) {
    const std::uint64_t w = std::clamp<std::uint64_t>(weight, 1, kMaxWeight);
    return interactive ? w * std::max<std::uint64_t>(s.slice_boost, 1) : w;
}

// Deadline: tasks that sleep after short bursts sort ahead of CPU hogs with
// the same vruntime. Vruntime: plain weighted fairness.
std::uint64_t ordering_key(std::uint64_t vruntime, const QueuedTask& q, const Settings& s) {
    if (s.ordering == Ordering::Vruntime)
        return vruntime;
    return vruntime + std::min(q.exec_runtime, kMaxExecSlices * s.slice_ns);
}

// A held task jumps the queue only while it runs in short bursts: one that
// used up a whole slice is busy, and waits its turn like everyone else, so a
// held CPU hog cannot take the machine.
bool goes_first(const QueuedTask& q, const Settings& s) { return q.latency_critical && q.exec_runtime < s.slice_ns; }

// A task allowed on one CPU can run nowhere else; with -i every task goes back
// to the CPU it ran on (warm cache); otherwise the first CPU free takes it.
std::int32_t dispatch_cpu(const QueuedTask& q, const Settings& s) {
    return q.nr_cpus_allowed == 1 || s.per_cpu_dispatch ? q.cpu : kCpuAny;
}

std::uint64_t moving_average(std::uint64_t average, std::uint64_t sample) {
    return average - average / kAverageWeight + sample / kAverageWeight;
}

// Interactive: wakes up often (input, frames, audio periods, pipes) and
// sleeps at least as long as it runs. A task that runs most of its period is
// busy, not waiting for anyone, however often it wakes.
bool is_interactive(std::uint64_t avg_period_ns, std::uint64_t avg_burst_ns) {
    return avg_period_ns > 0 && avg_period_ns <= kNsPerSec / kInteractiveWakeupsPerSec &&
           avg_burst_ns <= avg_period_ns / kMaxInteractiveDutyDivisor;
}

}  // namespace

Scheduler::Scheduler(std::size_t capacity)
    : tasks_(checked_capacity(capacity)),
      index_(std::bit_ceil(std::max<std::size_t>(2 * capacity, 2)), Slot{0, kNone}) {
    heap_.reserve(capacity);
    for (std::size_t i = capacity; i-- > 0;) {
        tasks_[i].next = free_;
        free_ = static_cast<Index>(i);
    }
}

void Scheduler::configure(const Settings& settings) { settings_ = settings; }

// The state of the record's pid, admitted if new; kNone (counted) if there is
// no room, or for an exit notice (the pid is forgotten).
Scheduler::Index Scheduler::find_or_admit(const QueuedTask& q, std::uint64_t now_ns) {
    now_ns_ = std::max(now_ns_, now_ns);
    Index i = lookup(q.pid);
    if (q.exiting) {
        if (i != kNone)
            forget(i);
        return kNone;
    }
    if (i == kNone && (i = admit(q, now_ns)) == kNone)
        ++nr_untracked_;
    return i;
}

bool Scheduler::observe(const QueuedTask& q, std::uint64_t now_ns, TaskParams& out) {
    const Index i = find_or_admit(q, now_ns);
    if (i == kNone)
        return false;
    // Seen now: the last to be forgotten when a new pid needs room.
    list_unlink(idle_, i);
    list_push(idle_, i);
    Task& t = tasks_[i];
    classify(t, q, now_ns);
    out = params_of(t);
    return !t.published_known || out.weight_boost != t.published_boost || out.preempt_on_wakeup != t.published_preempt;
}

void Scheduler::published(const TaskParams& p) {
    if (const Index i = lookup(p.pid); i != kNone) {
        tasks_[i].published_boost = p.weight_boost;
        tasks_[i].published_preempt = p.preempt_on_wakeup;
        tasks_[i].published_known = true;
    }
}

// What BPF applies to a task: interactive tasks are charged a fraction of
// their CPU time (they sort ahead of busy tasks) and, unless -n, their
// wakeups may preempt an ordinary task. Held tasks get the same at most: the
// dispatcher's hint already makes their short wakeups preempt, and a held
// task that keeps a CPU busy must not get more than its share.
TaskParams Scheduler::params_of(const Task& t) const {
    return TaskParams{.pid = t.pid,
                      .weight_boost = t.interactive ? static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
                                                          settings_.slice_boost, 1, UINT32_MAX))
                                                    : 1u,
                      .preempt_on_wakeup = t.interactive && settings_.preemption};
}

bool Scheduler::enqueue(const QueuedTask& q, std::uint64_t now_ns) {
    const bool is_new = lookup(q.pid) == kNone;
    const Index i = find_or_admit(q, now_ns);
    if (i == kNone)
        return q.exiting;
    Task& t = tasks_[i];
    const bool waiting = t.heap_pos != kNone;
    classify(t, q, now_ns);

    // No task may lag the clock by more than one slice: a long sleeper gets
    // ahead of the others when it wakes, but can't monopolise the CPUs.
    t.vruntime = std::max(t.vruntime, saturating_sub(min_vruntime_, settings_.slice_ns));
    t.vruntime += used_ns(t.sum_exec_runtime, q, is_new, settings_) * kNiceZeroWeight /
                  effective_weight(q.weight, t.interactive, settings_);
    t.sum_exec_runtime = q.sum_exec_runtime;
    t.cpu = dispatch_cpu(q, settings_);
    t.enq_cnt = q.enq_cnt;
    t.woke_up = q.wakeup;

    const HeapEntry e{ordering_key(t.vruntime, q, settings_), ++seq_, i, goes_first(q, settings_)};
    if (waiting) {
        // The kernel re-sent a task we still hold: keep one entry, the latest record.
        ++nr_requeued_;
        heap_fix(t.heap_pos, e);
    } else {
        list_unlink(idle_, i);
        t.wait_since = now_ns;
        list_push(waiting_, i);
        heap_.push_back(e);  // within the reserved capacity: no allocation
        heap_fix(heap_.size() - 1, e);
    }
    return true;
}

Decision Scheduler::fallback(const QueuedTask& q) const {
    return Decision{.pid = q.pid,
                    .cpu = dispatch_cpu(q, settings_),
                    .preempt = false,
                    .slice_ns = effective_slice_ns(),
                    .vtime = min_vruntime_,
                    .enq_cnt = q.enq_cnt};
}

// The heap's first task, unless some task has waited longer than the
// starvation limit: then that one, with the first task's key, so it also goes
// ahead of the tasks already handed to the kernel. Boosted and latency-critical tasks may
// jump the queue, but the kernel ejects a scheduler that leaves any runnable
// task waiting for seconds, and a starved task gets a turn well before that.
Scheduler::Index Scheduler::next_task() const {
    const Index oldest = waiting_.head;
    if (oldest != kNone && now_ns_ - tasks_[oldest].wait_since >= settings_.starvation_ns)
        return oldest;
    return heap_.front().task;
}

bool Scheduler::peek(Decision& out) const {
    if (heap_.empty())
        return false;
    const Task& t = tasks_[next_task()];
    const HeapEntry& e = heap_[t.heap_pos];
    // An interactive task that just woke up will likely sleep again soon: it
    // gets the whole slice and may preempt, since shortening its slice would
    // only cost it extra wakeups. The same task back from a used-up slice or a
    // preemption is busy, not waiting for input: it must not preempt anyone.
    // A held (latency-critical) task is treated the same way on its wakeups;
    // back from a yield or a used-up slice it still goes first, but without
    // preempting: a thread spinning on sched_yield() would otherwise kick a
    // CPU, and make the task it displaced come back through us, on every call.
    // Everyone else shares the CPUs with a slice that shrinks as the queue grows.
    const bool urgent = t.woke_up && (e.latency_critical || (t.interactive && settings_.preemption));
    out = Decision{.pid = t.pid,
                   .cpu = t.cpu,
                   .preempt = urgent && settings_.preemption,
                   .slice_ns = urgent ? settings_.slice_ns : effective_slice_ns(),
                   .vtime = std::min(e.key, heap_.front().key),
                   .enq_cnt = t.enq_cnt};
    return true;
}

void Scheduler::pop() {
    if (heap_.empty())
        return;
    const Index i = next_task();
    if (i != heap_.front().task)
        ++nr_starved_;
    // The clock follows the tasks actually dispatched, and never goes back:
    // a sleeper credited below it must not drag everyone's lag cap down.
    min_vruntime_ = std::max(min_vruntime_, tasks_[i].vruntime);
    heap_remove(i);
    list_push(idle_, i);
}

std::size_t Scheduler::nr_scheduled() const { return heap_.size(); }

// With more tasks waiting, each gets a shorter slice so all of them run soon,
// but never less than slice_min_ns, below which switching costs dominate.
// The queue is measured when the round starts: every task of one round gets
// the same slice, whatever its place in the round.
std::uint64_t Scheduler::effective_slice_ns() const {
    const std::uint64_t share = std::max<std::uint64_t>(1, (std::max(round_depth_, heap_.size()) + 1) / 2);
    return std::max(settings_.slice_ns / share, settings_.slice_min_ns);
}

Counters Scheduler::counters() const {
    return Counters{.nr_tasks = nr_tasks_,
                    .nr_scheduled = heap_.size(),
                    .nr_interactive = nr_interactive_,
                    .nr_untracked = nr_untracked_,
                    .nr_requeued = nr_requeued_,
                    .nr_starved = nr_starved_};
}

// A record that counts wakeups is a sample of how often the task wakes and
// how long it ran before sleeping (averaged over the wakeups it sums up), so
// a task is classified at its second such record and a changed one within a
// few. A task that stops sleeping counts no wakeups: its ongoing burst, seen
// when its slice ends, counts as soon as it is longer than its average, so a
// task that turns into a CPU hog loses the boost within a few slices.
void Scheduler::classify(Task& t, const QueuedTask& q, std::uint64_t now_ns) {
    if (q.wakeups > 0) {
        const std::uint64_t period = saturating_sub(now_ns, t.last_wakeup_ns) / q.wakeups;
        const std::uint64_t burst = q.burst_ns / q.wakeups;
        const bool first = t.avg_period_ns == 0;
        t.last_wakeup_ns = now_ns;
        if (period > 0) {  // 0: first seen now, nothing to measure from yet
            t.avg_period_ns = first ? period : moving_average(t.avg_period_ns, period);
            t.avg_burst_ns = first ? burst : moving_average(t.avg_burst_ns, burst);
        }
    }
    if (q.exec_runtime > t.avg_burst_ns)
        t.avg_burst_ns = moving_average(t.avg_burst_ns, q.exec_runtime);
    const bool interactive = is_interactive(t.avg_period_ns, t.avg_burst_ns);
    if (interactive != t.interactive)
        interactive ? ++nr_interactive_ : --nr_interactive_;
    t.interactive = interactive;
}

// State for a pid seen for the first time, starting level with the clock so
// it neither jumps the queue nor waits behind everyone. The pool entry is a
// free one, else the one idle the longest (its state is the least likely to be
// needed again). kNone if every entry holds a waiting task.
Scheduler::Index Scheduler::admit(const QueuedTask& q, std::uint64_t now_ns) {
    if (free_ == kNone && idle_.head != kNone) {
        const Task& victim = tasks_[idle_.head];
        forgot_published_ |= victim.published_boost != 1 || victim.published_preempt;
        forget(idle_.head);
    }
    const Index i = free_;
    if (i == kNone)
        return kNone;
    free_ = tasks_[i].next;
    // Once a state was forgotten while BPF still applied its parameters, a
    // pid met anew may be that task: its parameters are sent once, whatever
    // they are, so BPF never keeps a boost the policy no longer gives.
    tasks_[i] =
        Task{.pid = q.pid, .vruntime = min_vruntime_, .last_wakeup_ns = now_ns, .published_known = !forgot_published_};
    index_insert(q.pid, i);
    list_push(idle_, i);
    ++nr_tasks_;
    return i;
}

// Drops a known task: out of the heap or the idle list, out of the index,
// back to the free list.
void Scheduler::forget(Index i) {
    if (tasks_[i].heap_pos != kNone)
        heap_remove(i);
    else
        list_unlink(idle_, i);
    index_erase(tasks_[i].pid);
    if (tasks_[i].interactive)
        --nr_interactive_;
    tasks_[i].next = free_;
    free_ = i;
    --nr_tasks_;
}

// --- pid index ---------------------------------------------------------------

// Fibonacci hashing: consecutive pids land far apart, so probe runs stay short.
std::size_t Scheduler::home(std::int32_t pid) const {
    const std::uint64_t h = static_cast<std::uint32_t>(pid) * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(h >> 32) & (index_.size() - 1);
}

std::size_t Scheduler::next_slot(std::size_t s) const { return (s + 1) & (index_.size() - 1); }

Scheduler::Index Scheduler::lookup(std::int32_t pid) const {
    for (std::size_t s = home(pid);; s = next_slot(s)) {
        if (index_[s].task == kNone)
            return kNone;
        if (index_[s].pid == pid)
            return index_[s].task;
    }
}

void Scheduler::index_insert(std::int32_t pid, Index i) {
    std::size_t s = home(pid);
    while (index_[s].task != kNone)
        s = next_slot(s);
    index_[s] = Slot{pid, i};
}

void Scheduler::index_erase(std::int32_t pid) {
    const std::size_t mask = index_.size() - 1;
    std::size_t hole = home(pid);
    while (index_[hole].pid != pid)  // no empty slot before it: pid is indexed
        hole = next_slot(hole);
    // Close the hole: an entry further along the run may move into it only if
    // its own probe sequence passes the hole, i.e. its home slot is not
    // between the hole and itself; otherwise a lookup would stop too early.
    for (std::size_t s = next_slot(hole); index_[s].task != kNone; s = next_slot(s)) {
        if (((s - home(index_[s].pid)) & mask) >= ((s - hole) & mask)) {
            index_[hole] = index_[s];
            hole = s;
        }
    }
    index_[hole].task = kNone;
}

// --- idle and waiting lists, oldest first ------------------------------------

void Scheduler::list_push(List& list, Index i) {
    tasks_[i].prev = list.tail;
    tasks_[i].next = kNone;
    (list.tail == kNone ? list.head : tasks_[list.tail].next) = i;
    list.tail = i;
}

void Scheduler::list_unlink(List& list, Index i) {
    const Index prev = tasks_[i].prev;
    const Index next = tasks_[i].next;
    (prev == kNone ? list.head : tasks_[prev].next) = next;
    (next == kNone ? list.tail : tasks_[next].prev) = prev;
    tasks_[i].prev = tasks_[i].next = kNone;
}

// --- heap of waiting tasks ---------------------------------------------------

bool Scheduler::before(const HeapEntry& a, const HeapEntry& b) {
    // Latency-critical tasks first: their hint says waiting costs more than
    // the unfairness of jumping the queue.
    if (a.latency_critical != b.latency_critical)
        return a.latency_critical;
    if (a.key != b.key)
        return a.key < b.key;
    // Equal keys: first come, first served. seq is unique, so the order is
    // total and needs no further tie-break.
    return a.seq < b.seq;
}

void Scheduler::heap_place(std::size_t pos, const HeapEntry& e) {
    heap_[pos] = e;
    tasks_[e.task].heap_pos = static_cast<Index>(pos);
}

// Puts e at pos, then moves it up or down until the heap order holds.
void Scheduler::heap_fix(std::size_t pos, const HeapEntry& e) {
    while (pos > 0 && before(e, heap_[(pos - 1) / 2])) {
        heap_place(pos, heap_[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    for (std::size_t child = 2 * pos + 1; child < heap_.size(); child = 2 * pos + 1) {
        if (child + 1 < heap_.size() && before(heap_[child + 1], heap_[child]))
            ++child;
        if (!before(heap_[child], e))
            break;
        heap_place(pos, heap_[child]);
        pos = child;
    }
    heap_place(pos, e);
}

void Scheduler::heap_remove(Index i) {
    const std::size_t pos = tasks_[i].heap_pos;
    tasks_[i].heap_pos = kNone;
    list_unlink(waiting_, i);
    const HeapEntry last = heap_.back();
    heap_.pop_back();
    if (pos < heap_.size())
        heap_fix(pos, last);
}

}  // namespace rustland::policy
