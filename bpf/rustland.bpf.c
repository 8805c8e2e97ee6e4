/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scx-rustland dispatcher: the kernel half of the scheduler.
 *
 * The policy lives in user space; this program applies it. In the default
 * mode it schedules every task itself, with no round trip through user
 * space: wakeups go to an idle CPU if there is one, else into vtime-ordered
 * DSQs (one shared by all CPUs, one per CPU for pinned tasks) by a deadline
 * computed from per-task parameters the policy publishes asynchronously
 * (the `params` user ring: weight boost, wakeup preemption). The `queued`
 * ring tells the policy what tasks do (wakeups, slices used up, exits), so
 * it can classify them; it never gates a wakeup.
 *
 * In full-user mode (-u), as in the original design, every task goes to user
 * space through `queued` and waits for a decision from the `dispatched` user
 * ring, which is inserted into the DSQ it names.
 *
 * The user-space scheduler is itself a task. It lives in its own DSQ, gets a
 * finite slice, and is only moved to a CPU when it has work to do. Every
 * shortcut and fallback has a counter in .bss, which user space reads
 * through the skeleton's memory mapping.
 */
#include "scx_common.bpf.h"
#include "intf.h"

char _license[] SEC("license") = "GPL";

/* Each CPU's runqueue: whether sched_ext treats the CPU as online. */
extern const struct rq runqueues __ksym;

/* Set by user space before load. */
const volatile s32 usersched_pid;	/* tid of the scheduling thread */
const volatile bool full_user;		/* every decision goes through user space */
const volatile bool debug;

/*
 * Kernel constants user space needs, exported from vmlinux.h so the daemon
 * never keeps its own copy of kernel enum values.
 */
const volatile u64 switch_partial_flag = SCX_OPS_SWITCH_PARTIAL;
const volatile u64 exit_restart_code = SCX_ECODE_ACT_RESTART;

/* The policy's settings, written by user space at load and on every live reload. */
volatile u64 slice_max_ns = 5 * NSEC_PER_MSEC;	/* slice with nobody waiting (-s) */
volatile u64 slice_min_ns = NSEC_PER_MSEC / 2;	/* floor of the shrinking slice (-S) */
volatile bool deadline_ordering = true;		/* add the current burst to the key */
volatile bool per_cpu_dispatch;			/* queue tasks on the CPU they last ran on (-i) */
volatile u64 starvation_ns = 100 * NSEC_PER_MSEC;	/* a task queued longer runs next */

/* Full-user mode: tasks user space holds that still need a decision. */
volatile u64 nr_scheduled;

/* Counters, read by user space. */
volatile u64 nr_queued;			/* records sent since user space last drained */
volatile u64 nr_running;		/* non-scheduler tasks running now */
volatile u64 nr_user_dispatches;	/* decisions of user space applied (-u) */
volatile u64 nr_kernel_dispatches;	/* tasks queued by BPF with the policy's parameters */
volatile u64 nr_param_updates;		/* task parameters user space published and BPF applied */
volatile u64 nr_preemptions;		/* wakeups that preempted a task of a lower class */
volatile u64 nr_pinned_preemptions;	/* of those, pinned wakeups that preempted their own class */
volatile u64 nr_cancel_dispatches;	/* stale decisions dropped (generation) */
volatile u64 nr_bounce_dispatches;	/* decisions for a CPU the task may not use */
volatile u64 nr_failed_dispatches;	/* decisions or parameters for a task that no longer exists */
volatile u64 nr_sched_congested;	/* queued ring full: -u falls back to BPF; default mode loses a sample */
volatile u64 nr_exit_drops;		/* exit notices lost to a full ring */
volatile u64 nr_heartbeats;		/* times the timer had to wake the scheduler */
volatile u64 nr_tick_preemptions;	/* slices ended at a tick for a waiting interactive wakeup */
volatile u64 nr_starved_dispatches;	/* tasks run out of deadline order: queued past starvation_ns */

/* Why the scheduler ended; read by user space after the link is gone. */
struct rl_exit_info exit_info;

/*
 * Default mode: the scheduling thread only learns from records, so it runs
 * for a batch of them (or when they are this old), not for each one.
 */
#define RL_TELEMETRY_BATCH_BYTES	(RL_RING_RECORDS * sizeof(struct rl_queued_task) / 4)
#define RL_TELEMETRY_PERIOD_NS		(10 * NSEC_PER_MSEC)

/* Set when the scheduling thread must run even without records (heartbeat, its own wakeup). */
volatile u64 usersched_needed;
static u64 usersched_last_run_at;
static s32 usersched_cpu;
/* Per CPU: whether its ops.dispatch picked the scheduling thread last, to take turns. */
static bool sched_ran[RL_MAX_CPUS];
/* Per CPU: whether its own DSQ gave the last task, to alternate with the shared DSQ. */
static bool local_ran[RL_MAX_CPUS];
/* Per CPU: when its ops.dispatch last looked for starved tasks, and in which other CPU's DSQ. */
static u64 starvation_checked_at[RL_MAX_CPUS];
static u32 starvation_peer[RL_MAX_CPUS];

/* Wakeup classes: a waking task may preempt a CPU running a lower one. */
enum rl_wakeup_class {
	RL_CLASS_NORMAL = 0,
	RL_CLASS_INTERACTIVE = 1,	/* the policy said so (default mode) */
	RL_CLASS_CRITICAL = 2,		/* held, in short bursts */
};
/* Per CPU: the class of the task running there. */
static u8 cpu_class[RL_MAX_CPUS];
/*
 * Per CPU: when the current burst of the task running there would have
 * started had it run without a break (0: the scheduling thread, or no
 * storage), so that now minus this is the CPU time of its burst so far.
 */
static u64 cpu_burst_since[RL_MAX_CPUS];
/* Per CPU: until when an unheld wakeup may not displace the task running there (see running). */
static u64 cpu_protected_until[RL_MAX_CPUS];
/* Per CPU: a wakeup has just preempted the task running there. */
static bool cpu_preempted[RL_MAX_CPUS];

/* The highest vtime of a task that started running: the clock sleepers catch up to. */
static u64 vtime_now;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RL_RING_RECORDS * sizeof(struct rl_queued_task));
} queued SEC(".maps");

/* Full-user mode: decisions. */
struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, RL_RING_RECORDS * sizeof(struct rl_dispatched_task));
} dispatched SEC(".maps");

/* Default mode: task parameters. */
struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, RL_RING_RECORDS * sizeof(struct rl_task_params));
} params SEC(".maps");

/* tgid -> latency hint: written by the daemon for held processes, and here for their children. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_LATENCY_HINTS);
	__type(key, s32);
	__type(value, struct rl_latency_hint);
} latency_hints SEC(".maps");

struct task_ctx {
	u64 enq_cnt;		/* generation of the latest record */
	u64 start_ts;		/* when the task last started running */
	u64 exec_runtime;	/* CPU time since the task last woke up */
	u64 burst_ns;		/* CPU time of its last burst, from wakeup to sleep */
	u64 last_report_ts;	/* when its latest record was sent; 0: never */
	u64 queued_at;		/* when it was last inserted into a vtime-ordered DSQ */
	u64 unreported_burst_ns;	/* bursts ended by the wakeups not reported yet */
	u32 unreported_wakeups;
	u32 weight_boost;	/* from the policy: CPU time is charged 1/boost (0: not set, 1) */
	bool preempt_on_wakeup;	/* from the policy: interactive */
	u8 queued_class;	/* the wakeup class it was queued with; normal after a slice end */
	bool critical;		/* its process is held (as of its last wakeup) */
	bool displaced;		/* taken off its CPU by a preempting wakeup */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctx_stor SEC(".maps");

struct heartbeat {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct heartbeat);
} heartbeat_timer SEC(".maps");

#define dbg(fmt, args...) do { if (debug) bpf_printk(fmt, ##args); } while (0)

static __always_inline void count(volatile u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
}

/* CPU ids index per-CPU arrays; init refuses machines with more CPUs than that. */
static __always_inline u32 cpu_slot(s32 cpu)
{
	return (u32)cpu & (RL_MAX_CPUS - 1);
}

static bool is_usersched_task(const struct task_struct *p)
{
	return p->pid == usersched_pid;
}

static bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

/*
 * The policy's slice rule, applied with the kernel's own queue length: the
 * more tasks wait (in the shared DSQ, and in user space with -u), the
 * shorter each slice, so all of them run soon; never below slice_min_ns,
 * where switching would cost more than it gives.
 */
static u64 task_slice(void)
{
	u64 waiting = scx_bpf_dsq_nr_queued(RL_SHARED_DSQ) + nr_scheduled;
	u64 share = (waiting + 1) / 2;
	u64 slice = share > 1 ? slice_max_ns / share : slice_max_ns;

	return slice > slice_min_ns ? slice : slice_min_ns;
}

/*
 * The kernel's own test before it moves a task to another CPU's local DSQ:
 * an insert into the local DSQ of a CPU whose runqueue is offline lands in
 * the kernel's global DSQ instead. A CPU going down is offline to sched_ext
 * long before it leaves cpu_online_mask.
 */
static bool cpu_takes_tasks(u32 cpu)
{
	const struct rq *rq = bpf_per_cpu_ptr(&runqueues, cpu);

	return rq && (rq->scx.flags & SCX_RQ_ONLINE);
}

static struct task_ctx *lookup_task_ctx(const struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctx_stor, (struct task_struct *)p, 0, 0);
}

/* Tasks that reclaim or compact memory, or are bound to one CPU's kernel work. */
static bool must_bypass_user(const struct task_struct *p)
{
	if ((p->flags & PF_KTHREAD) && p->nr_cpus_allowed == 1)
		return true;
	return p->flags & (PF_KSWAPD | PF_KCOMPACTD);
}

/*
 * The hint of the task's process, if the task still runs as the user who
 * asked for it: a held process's child that exec'd a setuid program (sudo)
 * is someone else's now.
 */
static u32 latency_class_of(const struct task_struct *p)
{
	s32 tgid = p->tgid;
	struct rl_latency_hint *hint = bpf_map_lookup_elem(&latency_hints, &tgid);

	if (!hint)
		return RL_LATENCY_NORMAL;
	if (hint->holder_uid && BPF_CORE_READ(p, cred, euid.val) != hint->holder_uid)
		return RL_LATENCY_NORMAL;
	return hint->latency_class;
}

/*
 * How much a waking task may push aside. A held task only while it runs in
 * short bursts: one that used a whole slice before sleeping is busy, and a
 * held CPU hog must not take a CPU from everyone else at every wakeup.
 */
static u8 wakeup_class(const struct task_ctx *tctx)
{
	if (tctx->critical && tctx->burst_ns < slice_max_ns)
		return RL_CLASS_CRITICAL;
	if (!full_user && tctx->preempt_on_wakeup)
		return RL_CLASS_INTERACTIVE;
	return RL_CLASS_NORMAL;
}

/* Wake one idle CPU the task may run on, so a shared-DSQ task is picked up soon. */
static void kick_idle_cpu_for(const struct task_struct *p)
{
	s32 cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);

	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

static void wake_usersched(void)
{
	__sync_fetch_and_or(&usersched_needed, 1);
}

/*
 * The scheduling thread runs when it has something to do: an explicit
 * request (heartbeat, its own wakeup), records to read, or (-u) decisions
 * it still owes while the kernel has nothing else queued. In the default
 * mode records only teach the policy: they wait for a batch, or until the
 * oldest may be RL_TELEMETRY_PERIOD_NS old.
 */
static bool usersched_has_work(s32 cpu)
{
	u64 avail;

	if (usersched_needed)
		return true;
	avail = bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA);
	if (full_user)
		return avail || (nr_scheduled && !scx_bpf_dsq_nr_queued(RL_SHARED_DSQ) &&
				 !scx_bpf_dsq_nr_queued(cpu));
	return avail >= RL_TELEMETRY_BATCH_BYTES ||
	       (avail && bpf_ktime_get_ns() - usersched_last_run_at >= RL_TELEMETRY_PERIOD_NS);
}

/*
 * Tell user space about a task. The ring's consumer never sleeps on it (it
 * polls between yields), so no wakeup is sent. False if the ring is full.
 */
static bool report(struct task_struct *p, struct task_ctx *tctx, u32 flags)
{
	struct rl_queued_task *rec;
	u64 now = bpf_ktime_get_ns();

	rec = bpf_ringbuf_reserve(&queued, sizeof(*rec), 0);
	if (!rec)
		return false;
	rec->pid = p->pid;
	rec->cpu = scx_bpf_task_cpu(p);
	rec->flags = flags;
	rec->latency_class = tctx->critical ? RL_LATENCY_CRITICAL : RL_LATENCY_NORMAL;
	rec->nr_cpus_allowed = p->nr_cpus_allowed;
	rec->wakeups = tctx->unreported_wakeups;
	rec->sum_exec_runtime = p->se.sum_exec_runtime;
	rec->exec_runtime = tctx->exec_runtime;
	rec->burst_ns = tctx->unreported_burst_ns;
	rec->weight = p->scx.weight;
	rec->enq_cnt = ++tctx->enq_cnt;
	rec->timestamp = now;
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	tctx->unreported_wakeups = 0;
	tctx->unreported_burst_ns = 0;
	tctx->last_report_ts = now;
	count(&nr_queued);
	return true;
}

/*
 * Whether the task's next record may go now: the first at once, then one
 * per RL_REPORT_INTERVAL_NS, which carries what happened in between (the
 * wakeups, the CPU time). A wakeup that preempts a busy task ends that
 * task's slice, and the record of it would be on the woken task's way to
 * the CPU.
 */
static bool report_due(const struct task_ctx *tctx)
{
	return !tctx->last_report_ts ||
	       bpf_ktime_get_ns() - tctx->last_report_ts >= RL_REPORT_INTERVAL_NS;
}

/*
 * The task's place in the vtime-ordered DSQs. Its vtime is its weighted CPU
 * time (charged in ops.stopping), kept within one slice of the clock: a task
 * back from a long sleep is brought up to one slice behind it, so it goes ahead of busy tasks but
 * cannot claim all the time it slept. With deadline ordering the CPU time
 * of the current burst is added, up to one slice, as in the policy's
 * ordering key: tasks that sleep after short bursts sort ahead of CPU hogs,
 * but a long burst can't put a task behind every fresh task of a build.
 */
static u64 task_deadline(struct task_struct *p, const struct task_ctx *tctx)
{
	u64 lag = slice_max_ns;
	u64 burst = tctx->exec_runtime;

	if (vtime_now > lag && vtime_before(p->scx.dsq_vtime, vtime_now - lag))
		p->scx.dsq_vtime = vtime_now - lag;
	/*
	 * Nor can it get more than one slice ahead: a nice-19 task (weight 1)
	 * is charged 100x what it ran, and behind a crowd of boosted tasks,
	 * which barely move the clock, it would wait past the kernel's stall
	 * watchdog (khugepaged was starved 10 s, and the scheduler ejected).
	 */
	if (vtime_before(vtime_now + lag, p->scx.dsq_vtime))
		p->scx.dsq_vtime = vtime_now + lag;
	if (!deadline_ordering)
		return p->scx.dsq_vtime;
	return p->scx.dsq_vtime + (burst < slice_max_ns ? burst : slice_max_ns);
}

/*
 * A CPU the task may use, with nothing queued locally (unless the task is
 * pinned, below) and a task of a lower class running. An interactive (unheld) wakeup preempts only a task that
 * has run at least slice_min_ns in its current burst: two tasks that wake
 * each other (a pipe pair, hackbench's senders and receivers) are both
 * interactive to the policy, and letting each wakeup throw off a task that
 * just started made them preempt each other tens of thousands of times a
 * run, slower than EEVDF. A CPU hog is past that bound almost always, so a
 * frame loop still preempts it at once. Held wakeups preempt at once.
 *
 * A task pinned to one CPU has no other CPU to go to: it also preempts a
 * task of its own class, and any running burst however young, unless the
 * running task was just displaced. Otherwise cyclictest waited out the
 * frame loop's whole burst (1-2 ms) behind it; EEVDF lets such a wakeup in
 * by its deadline. Unpinned tasks that wake each other (hackbench) still
 * find another CPU or wait.
 */
static bool can_preempt_on(const struct task_struct *p, u32 cpu, u8 class, u64 now)
{
	bool pinned = p->nr_cpus_allowed == 1;

	if (cpu >= RL_MAX_CPUS)
		return false;
	/*
	 * The verifier loses the bound above on 32-bit arithmetic; the empty
	 * asm keeps the compiler from dropping the mask that restores it.
	 */
	asm volatile("" : "+r"(cpu));
	cpu &= RL_MAX_CPUS - 1;
	if (cpu_class[cpu] > class || (cpu_class[cpu] == class && !pinned))
		return false;
	if ((class == RL_CLASS_INTERACTIVE || cpu_class[cpu] == class) && now < cpu_protected_until[cpu])
		return false;
	if (class == RL_CLASS_INTERACTIVE && !pinned && now - cpu_burst_since[cpu] < slice_min_ns)
		return false;
	/*
	 * Tasks queued locally run first; an unpinned wakeup does not pile up
	 * behind them but looks for another CPU. A pinned one has none: it
	 * preempts and runs right after them (a kernel worker, say), instead of
	 * waiting for the running task's slice to end.
	 */
	return bpf_cpumask_test_cpu(cpu, p->cpus_ptr) && cpu_takes_tasks(cpu) &&
	       (pinned || !scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu));
}

/*
 * Where a waking task of `class` should preempt: its previous CPU (warm
 * cache), else the next CPU that can take it, so two latency-critical
 * threads (a game's main and render threads) displace background work on
 * two CPUs instead of each other on one. Scans at most RL_PREEMPT_SCAN
 * CPUs; -1 if none fits.
 *
 * Only CPUs whose runqueue is online (cpu_takes_tasks): the kernel serves
 * its global DSQ, where inserts for an offline one land, before it calls
 * ops.dispatch. Tasks that woke each other through such a CPU (stress-ng's
 * switch and futex pairs) kept the other CPU, ops.dispatch never ran, and
 * everything in our DSQs waited until the kernel ejected the scheduler
 * (the CPU hotplug endurance test). Testing cpu_online_mask was not enough:
 * a scheduler attached while CPU 1 was going down saw it online.
 */
#define RL_PREEMPT_SCAN 64
static s32 pick_preempt_cpu(const struct task_struct *p, u8 class)
{
	u32 prev = scx_bpf_task_cpu(p);
	u32 nr_cpus = scx_bpf_nr_cpu_ids();
	u64 now = bpf_ktime_get_ns();
	u32 i, cpu;

	bpf_for(i, 0, RL_PREEMPT_SCAN) {
		if (i >= nr_cpus)
			break;
		cpu = prev + i;
		if (cpu >= nr_cpus)
			cpu -= nr_cpus;
		if (can_preempt_on(p, cpu, class, now))
			return cpu;
	}
	return -1;
}

/*
 * A held task, or one the policy classed interactive, wakes up and no CPU
 * is idle: run it now on a CPU running a task of a lower class, ahead of
 * it, instead of waiting for a slice to end. The displaced task goes back
 * to the DSQ in BPF, so preempting costs one context switch, not a round
 * trip. Only where nothing is queued locally (but for a pinned task), so such
 * wakeups can't pile up.
 * On the task's own CPU (whose runqueue it is being enqueued on),
 * SCX_ENQ_PREEMPT preempts as it is inserted, with no separate kick; for
 * another CPU's local DSQ the flag was not honored in a measured run (the
 * wakeup waited for the slice to end), so that CPU gets a preempting kick.
 */
static bool preempt_for_wakeup(struct task_struct *p, u8 class, u64 enq_flags)
{
	s32 cpu;

	if (class == RL_CLASS_NORMAL)
		return false;
	cpu = pick_preempt_cpu(p, class);
	if (cpu < 0)
		return false;
	count(&nr_preemptions);
	if (cpu_class[cpu_slot(cpu)] == class)
		count(&nr_pinned_preemptions);
	cpu_preempted[cpu_slot(cpu)] = true;
	if (cpu == scx_bpf_task_cpu(p)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_max_ns, enq_flags | SCX_ENQ_PREEMPT);
		return true;
	}
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, slice_max_ns, enq_flags);
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	return true;
}

/*
 * Default mode: queue the task in deadline order, in the shared DSQ, or in
 * its CPU's own DSQ if it may run nowhere else (or with -i, to keep its
 * cache warm), and wake an idle CPU for it.
 */
static void queue_by_deadline(struct task_struct *p, struct task_ctx *tctx, u64 enq_flags)
{
	u64 deadline = task_deadline(p, tctx);
	s32 cpu = scx_bpf_task_cpu(p);

	count(&nr_kernel_dispatches);
	tctx->queued_at = bpf_ktime_get_ns();
	tctx->queued_class = (enq_flags & SCX_ENQ_WAKEUP) ? wakeup_class(tctx) : RL_CLASS_NORMAL;
	if ((p->nr_cpus_allowed == 1 || per_cpu_dispatch) && cpu >= 0 && cpu < RL_MAX_CPUS) {
		scx_bpf_dsq_insert_vtime(p, cpu, task_slice(), deadline, enq_flags);
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		return;
	}
	scx_bpf_dsq_insert_vtime(p, RL_SHARED_DSQ, task_slice(), deadline, enq_flags);
	kick_idle_cpu_for(p);
}

/*
 * Full-user mode: send the task to user space for a decision. When the ring
 * is full, user space is behind: queue the task from BPF instead of making
 * it wait. A held task's wakeup gets the scheduling thread running now.
 */
static void queue_to_user(struct task_struct *p, struct task_ctx *tctx, u64 enq_flags)
{
	bool wakeup = enq_flags & SCX_ENQ_WAKEUP;
	s32 cpu;

	if (!report(p, tctx, wakeup ? RL_QUEUED_WAKEUP : 0)) {
		count(&nr_sched_congested);
		dbg("congested: pid %d scheduled by the kernel", p->pid);
		queue_by_deadline(p, tctx, enq_flags);
		return;
	}
	wake_usersched();
	cpu = wakeup ? pick_preempt_cpu(p, wakeup_class(tctx)) : -1;
	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	else
		scx_bpf_kick_cpu(usersched_cpu, SCX_KICK_IDLE);
}

/*
 * ops.select_cpu: pick the CPU for a waking task. If that CPU is idle, run
 * the task there right away: nobody waits for that CPU, so there is nothing
 * to decide. Full-user mode leaves every decision to user space.
 */
s32 BPF_STRUCT_OPS(rustland_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu;

	if (full_user || is_usersched_task(p))
		return prev_cpu;
	/*
	 * Every CPU runs one of our tasks: none is idle, and the kernel's
	 * search would come back with prev_cpu after scanning for one (about
	 * 8 µs of each loaded wakeup under TCG).
	 */
	if (nr_running >= scx_bpf_nr_cpu_ids())
		return prev_cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(), 0);
		count(&nr_kernel_dispatches);
	}
	return cpu;
}

/*
 * The scheduling thread goes to its own DSQ, from which ops.dispatch takes
 * it when it has work. If it is the last task on its CPU (it yielded, or
 * its slice ended, with nothing else to run) and work is pending, it keeps
 * its CPU: parked in its DSQ, nobody would move it before the next event.
 */
static void enqueue_usersched(struct task_struct *p, u64 enq_flags)
{
	if ((enq_flags & SCX_ENQ_LAST) && usersched_has_work(scx_bpf_task_cpu(p))) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_max_ns, enq_flags);
		return;
	}
	scx_bpf_dsq_insert(p, RL_SCHED_DSQ, slice_max_ns, enq_flags);
	/* It only sleeps in the kernel or for a signal: let it act now. */
	if (enq_flags & SCX_ENQ_WAKEUP) {
		wake_usersched();
		scx_bpf_kick_cpu(scx_bpf_task_cpu(p), SCX_KICK_IDLE);
	}
}

/*
 * ops.enqueue: a task became runnable and no idle CPU took it in
 * select_cpu, or its slice ended. Default mode: it is queued here, with the
 * parameters the policy published for it, and slice ends are reported (as
 * often as report_due allows) so the policy sees busy tasks; -u: it goes to
 * user space for a decision.
 */
void BPF_STRUCT_OPS(rustland_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;

	if (is_usersched_task(p)) {
		enqueue_usersched(p, enq_flags);
		return;
	}
	tctx = lookup_task_ctx(p);
	if (!tctx) {
		scx_bpf_error("task_ctx missing for pid %d", p->pid);
		return;
	}
	/* Nothing else wants this CPU: keep running rather than go idle. */
	if (must_bypass_user(p) || (enq_flags & SCX_ENQ_LAST)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(), enq_flags);
		count(&nr_kernel_dispatches);
		return;
	}
	if (full_user) {
		queue_to_user(p, tctx, enq_flags);
		return;
	}
	if (enq_flags & SCX_ENQ_WAKEUP) {
		if (preempt_for_wakeup(p, wakeup_class(tctx), enq_flags))
			return;
	} else if (report_due(tctx) && !report(p, tctx, 0)) {
		count(&nr_sched_congested);
	}
	queue_by_deadline(p, tctx, enq_flags);
}

/*
 * Full-user mode: insert one user-space decision into the DSQ it names.
 * Ordinary decisions go through vtime-ordered DSQs, so tasks keep the order
 * user space chose. Preempting ones go to the tail of a CPU's local DSQ,
 * which runs before anything ops.dispatch would pick, and kick that CPU:
 * never to the head, which would let a stream of them bury older ones.
 */
static void apply_decision(const struct rl_dispatched_task *d)
{
	struct task_struct *p;
	struct task_ctx *tctx;
	bool preempt = d->flags & RL_DISPATCH_PREEMPT;
	s32 cpu = d->cpu;

	p = bpf_task_from_pid(d->pid);
	if (!p) {
		count(&nr_failed_dispatches);
		dbg("failed: pid %d is gone", d->pid);
		return;
	}

	/* Re-queued while user space was deciding: a newer record will answer. */
	tctx = lookup_task_ctx(p);
	if (!tctx || tctx->enq_cnt != d->enq_cnt) {
		count(&nr_cancel_dispatches);
		dbg("cancel: pid %d decision for generation %llu is stale", d->pid, d->enq_cnt);
		goto out;
	}

	/* Preempt where pick_preempt_cpu() says; if every CPU runs a held task, queue behind. */
	if (preempt) {
		cpu = pick_preempt_cpu(p, tctx->critical ? RL_CLASS_CRITICAL : RL_CLASS_INTERACTIVE);
		if (cpu < 0) {
			cpu = scx_bpf_task_cpu(p);
			preempt = false;
		}
	}

	/* A CPU going down would leave the task in a DSQ nobody serves. */
	if (cpu != RL_CPU_ANY &&
	    (cpu < 0 || cpu >= RL_MAX_CPUS || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr) ||
	     !cpu_takes_tasks(cpu))) {
		count(&nr_bounce_dispatches);
		dbg("bounce: pid %d may not run on CPU %d", d->pid, cpu);
		cpu = RL_CPU_ANY;
	} else {
		count(&nr_user_dispatches);
	}

	tctx->queued_at = bpf_ktime_get_ns();
	if (cpu == RL_CPU_ANY) {
		scx_bpf_dsq_insert_vtime(p, RL_SHARED_DSQ, d->slice_ns, d->vtime, 0);
		kick_idle_cpu_for(p);
	} else if (preempt) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, d->slice_ns, 0);
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	} else {
		scx_bpf_dsq_insert_vtime(p, cpu, d->slice_ns, d->vtime, 0);
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	}
out:
	bpf_task_release(p);
}

static long handle_dispatched(struct bpf_dynptr *dynptr, void *ctx)
{
	struct rl_dispatched_task d;

	if (bpf_dynptr_read(&d, sizeof(d), dynptr, 0, 0))
		return 1;
	apply_decision(&d);
	/* Stop once this CPU's dispatch buffer is full; the rest stays queued. */
	return scx_bpf_dispatch_nr_slots() ? 0 : 1;
}

/* Default mode: remember what the policy decided about a task. */
static long handle_params(struct bpf_dynptr *dynptr, void *ctx)
{
	struct rl_task_params prm;
	struct task_struct *p;
	struct task_ctx *tctx;

	if (bpf_dynptr_read(&prm, sizeof(prm), dynptr, 0, 0))
		return 1;
	p = bpf_task_from_pid(prm.pid);
	if (!p) {
		count(&nr_failed_dispatches);
		return 0;
	}
	tctx = lookup_task_ctx(p);
	if (tctx) {
		tctx->weight_boost = prm.weight_boost;
		tctx->preempt_on_wakeup = prm.flags & RL_PARAM_PREEMPT_ON_WAKEUP;
		count(&nr_param_updates);
	}
	bpf_task_release(p);
	return 0;
}

/*
 * The scheduling thread just yielded this CPU with work left: let it go on.
 * That starts a new round as surely as ops.running does, so the telemetry
 * period counts from here: otherwise, once it had run 10 ms in a row, any
 * single record would keep it polling.
 */
static bool keep_usersched_running(struct task_struct *prev)
{
	if (!prev || !is_usersched_task(prev) || !(prev->scx.flags & SCX_TASK_QUEUED))
		return false;
	prev->scx.slice = slice_max_ns;
	usersched_last_run_at = bpf_ktime_get_ns();
	return true;
}

/*
 * A safety net under the deadline order: every RL_STARVATION_CHECK_NS each
 * CPU looks at the latest keys of the shared DSQ, of its own and of one
 * other CPU's, and runs one task that has waited past starvation_ns. The
 * clock advances with every task's full charge (ops.stopping), so this
 * should stay near zero; it is what keeps a task from waiting forever if
 * the order ever has another blind spot (before the clock counted boosted
 * tasks, a storm of their wakeups on one CPU starved the kernel's watchdog
 * work and the scheduler was ejected).
 */
#define RL_STARVATION_CHECK_NS	(10 * NSEC_PER_MSEC)
#define RL_STARVATION_SCAN	32
/*
 * Global, not static: the verifier checks it once, not at each of its three
 * calls, which made loading the scheduler ~0.5 s slower under TCG.
 */
__noinline int run_starved_from(u64 dsq_id, s32 cpu, u64 now)
{
	struct task_struct *p;
	struct task_ctx *tctx;
	u32 scanned = 0;

	bpf_for_each(scx_dsq, p, dsq_id, SCX_DSQ_ITER_REV) {
		if (++scanned > RL_STARVATION_SCAN)
			break;
		tctx = lookup_task_ctx(p);
		if (!tctx || now - tctx->queued_at < starvation_ns ||
		    !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		if (scx_bpf_dsq_move(BPF_FOR_EACH_ITER, p, SCX_DSQ_LOCAL, 0)) {
			count(&nr_starved_dispatches);
			return true;
		}
	}
	return false;
}

static bool run_starved(s32 cpu, u32 slot)
{
	u64 now = bpf_ktime_get_ns();
	u32 peer;

	if (now - starvation_checked_at[slot] < RL_STARVATION_CHECK_NS)
		return false;
	starvation_checked_at[slot] = now;
	/* With -u, user space sets the order of these. */
	if (!full_user && (run_starved_from(RL_SHARED_DSQ, cpu, now) || run_starved_from(cpu, cpu, now)))
		return true;
	/*
	 * And in every mode, another CPU's own DSQ, a different one each time:
	 * a CPU going offline stops serving its DSQ (with -i every task it ran
	 * is queued there), and the kernel's own thread that the teardown
	 * waits for was seen waiting in it for good.
	 */
	peer = starvation_peer[slot]++ % scx_bpf_nr_cpu_ids();
	return peer != cpu && run_starved_from(peer, cpu, now);
}

/*
 * ops.dispatch: this CPU needs a task. Apply what user space sent, then
 * take turns: the scheduling thread (when it has work) alternates with the
 * queued tasks, and this CPU's own DSQ alternates with the shared one.
 * Strict priorities would let a busy scheduler, or a stream of tasks aimed
 * at this CPU, starve everything else. With nothing at all to run, the
 * previous task keeps the CPU: a CPU hog alone on a CPU is never switched
 * out for nothing.
 */
void BPF_STRUCT_OPS(rustland_dispatch, s32 cpu, struct task_struct *prev)
{
	u32 slot = cpu_slot(cpu);
	bool tasks_queued;

	if (full_user)
		bpf_user_ringbuf_drain(&dispatched, handle_dispatched, NULL, BPF_RB_NO_WAKEUP);
	else
		bpf_user_ringbuf_drain(&params, handle_params, NULL, BPF_RB_NO_WAKEUP);

	tasks_queued = scx_bpf_dsq_nr_queued(cpu) || scx_bpf_dsq_nr_queued(RL_SHARED_DSQ);
	/* An explicit request (heartbeat, its own wakeup) skips the turn. */
	if ((usersched_needed || !tasks_queued || !sched_ran[slot]) && usersched_has_work(cpu) &&
	    (scx_bpf_dsq_move_to_local(RL_SCHED_DSQ) || keep_usersched_running(prev))) {
		sched_ran[slot] = true;
		return;
	}
	sched_ran[slot] = false;

	if (run_starved(cpu, slot))
		return;
	if (local_ran[slot] && scx_bpf_dsq_move_to_local(RL_SHARED_DSQ)) {
		local_ran[slot] = false;
		return;
	}
	if (scx_bpf_dsq_move_to_local(cpu)) {
		local_ran[slot] = true;
		return;
	}
	if (scx_bpf_dsq_move_to_local(RL_SHARED_DSQ)) {
		local_ran[slot] = false;
		return;
	}

	if (prev && !is_usersched_task(prev) && (prev->scx.flags & SCX_TASK_QUEUED))
		prev->scx.slice = task_slice();
}

/*
 * The highest class among the first few tasks waiting in a DSQ that may run
 * on `cpu`: interactive wakeups have early deadlines, so they sit near the
 * head.
 */
#define RL_TICK_SCAN 4
static u8 waiting_class(u64 dsq_id, s32 cpu)
{
	struct task_struct *p;
	struct task_ctx *tctx;
	u32 scanned = 0;
	u8 class = RL_CLASS_NORMAL;

	bpf_for_each(scx_dsq, p, dsq_id, 0) {
		if (++scanned > RL_TICK_SCAN)
			break;
		tctx = lookup_task_ctx(p);
		if (tctx && tctx->queued_class > class && bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			class = tctx->queued_class;
	}
	return class;
}

/*
 * ops.tick: a waking interactive task that could not preempt (the running
 * task was interactive too and had just started, or the CPU had a task
 * queued locally) waits for the running task's slice to end: with a 5 ms
 * slice and slices checked at ticks, up to two ticks. At a tick, end the
 * slice of a task that has run slice_min_ns of its burst when a wakeup of
 * its class or higher waits for this CPU. One preemption per tick at most,
 * so tasks that wake each other (hackbench) cannot throw each other off at
 * every wakeup, which is what wakeup-time preemption between interactive
 * tasks did.
 */
void BPF_STRUCT_OPS(rustland_tick, struct task_struct *p)
{
	s32 cpu = scx_bpf_task_cpu(p);
	u32 slot = cpu_slot(cpu);
	u8 running = cpu_class[slot];
	u8 waiting;

	if (full_user || is_usersched_task(p) || !cpu_burst_since[slot] ||
	    bpf_ktime_get_ns() - cpu_burst_since[slot] < slice_min_ns)
		return;
	waiting = waiting_class(cpu, cpu);
	if (waiting < RL_CLASS_INTERACTIVE)
		waiting = waiting_class(RL_SHARED_DSQ, cpu);
	if (waiting >= RL_CLASS_INTERACTIVE && waiting >= running) {
		count(&nr_tick_preemptions);
		p->scx.slice = 0;
	}
}

/*
 * ops.runnable: the task woke up. Its burst of CPU time starts from zero;
 * the one that just ended, and its held status, are what the next decisions
 * go by. In the default mode wakeups are reported to the policy here,
 * wherever the task will run (select_cpu may have placed it already): the
 * first at once, then summed up over RL_REPORT_INTERVAL_NS, so a task that
 * wakes 100k times a second costs 200 records a second, not 100k.
 */
void BPF_STRUCT_OPS(rustland_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;

	if (is_usersched_task(p))
		return;
	tctx = lookup_task_ctx(p);
	if (!tctx)
		return;
	tctx->burst_ns = tctx->exec_runtime;
	tctx->exec_runtime = 0;
	tctx->critical = latency_class_of(p) == RL_LATENCY_CRITICAL;
	if (!(enq_flags & SCX_ENQ_WAKEUP))
		return;
	tctx->unreported_wakeups++;
	tctx->unreported_burst_ns += tctx->burst_ns;
	if (full_user || !report_due(tctx))
		return;
	if (!report(p, tctx, RL_QUEUED_WAKEUP))
		count(&nr_sched_congested);
}

/* ops.running: remember what class of task holds each CPU, and when it started. */
void BPF_STRUCT_OPS(rustland_running, struct task_struct *p)
{
	u32 slot = cpu_slot(scx_bpf_task_cpu(p));
	struct task_ctx *tctx;

	if (is_usersched_task(p)) {
		usersched_last_run_at = bpf_ktime_get_ns();
		usersched_cpu = scx_bpf_task_cpu(p);
		/* It reads everything pending now: earlier requests are served. */
		__sync_fetch_and_and(&usersched_needed, 0);
		/* Reading reports can wait: any waking task of a class may take its CPU. */
		cpu_class[slot] = RL_CLASS_NORMAL;
		cpu_burst_since[slot] = 0;
		cpu_protected_until[slot] = 0;
		return;
	}
	__sync_fetch_and_add(&nr_running, 1);
	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
	tctx = lookup_task_ctx(p);
	if (!tctx) {
		cpu_class[slot] = RL_CLASS_NORMAL;
		cpu_burst_since[slot] = 0;
		cpu_protected_until[slot] = 0;
		return;
	}
	cpu_class[slot] = wakeup_class(tctx);
	tctx->start_ts = bpf_ktime_get_ns();
	cpu_burst_since[slot] = tctx->start_ts - tctx->exec_runtime;
	/*
	 * A task a wakeup took the CPU from, in a burst shorter than a slice,
	 * runs slice_min_ns before an unheld wakeup may take it again. Its
	 * burst is past slice_min_ns already, so without this every wakeup
	 * could throw it off as soon as it resumed: hackbench's workers that
	 * the policy did not class interactive made no progress in storms of
	 * such preemptions (42k in 40 runs; 5 of the 40 took 2-7x the median).
	 * A CPU hog's burst never ends, so a frame loop still preempts it at
	 * once.
	 */
	cpu_protected_until[slot] =
		tctx->displaced && tctx->exec_runtime < slice_max_ns ? tctx->start_ts + slice_min_ns : 0;
	tctx->displaced = false;
}

/*
 * ops.stopping: charge the time the task just ran to its vtime, weighted
 * by its nice level and by the boost the policy gave it, and free its CPU.
 */
void BPF_STRUCT_OPS(rustland_stopping, struct task_struct *p, bool runnable)
{
	u32 slot = cpu_slot(scx_bpf_task_cpu(p));
	struct task_ctx *tctx;
	u64 used, boost, charge;
	bool preempted;

	preempted = cpu_preempted[slot];
	cpu_preempted[slot] = false;
	if (is_usersched_task(p))
		return;
	__sync_fetch_and_sub(&nr_running, 1);
	cpu_class[slot] = RL_CLASS_NORMAL;
	tctx = lookup_task_ctx(p);
	if (!tctx)
		return;
	tctx->displaced = runnable && preempted;
	used = bpf_ktime_get_ns() - tctx->start_ts;
	tctx->exec_runtime += used;
	boost = tctx->weight_boost ? tctx->weight_boost : 1;
	charge = used * 100 / (p->scx.weight ? p->scx.weight : 1);
	p->scx.dsq_vtime += charge / boost;
	/*
	 * The clock moves with the time charged, not only when a task with a
	 * later vtime starts: a stream of short new tasks (a build) would
	 * otherwise hold it still, and keep a busy task behind all of them.
	 */
	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
	/*
	 * A boosted task's own vtime moves a hundredth as fast, but the time it
	 * used is gone for everyone: the clock advances by its full charge,
	 * shared among the CPUs. Otherwise boosted tasks alone on the CPUs (a
	 * storm of short wakeups) would stop the clock, and every task behind
	 * them would wait until the starvation guard noticed.
	 */
	if (boost > 1)
		__sync_fetch_and_add(&vtime_now, charge / scx_bpf_nr_cpu_ids());
}

/*
 * A held process forks: the child process is held too, for as long as the
 * hold lasts, without a round trip through the daemon (a game's launcher
 * script execs the game in a child). Threads share the tgid, so they are
 * covered already. A full map only loses the child's hint.
 */
static void inherit_latency_hint(const struct task_struct *child)
{
	/*
	 * The forking task, not child->real_parent: ops.init_task runs before
	 * fork sets real_parent, which still holds the parent's own parent.
	 */
	s32 parent_tgid = bpf_get_current_task_btf()->tgid;
	s32 child_tgid = child->tgid;
	struct rl_latency_hint *parent_hint;
	struct rl_latency_hint hint;

	if (child->pid != child->tgid)
		return;
	parent_hint = bpf_map_lookup_elem(&latency_hints, &parent_tgid);
	if (!parent_hint)
		return;
	hint = *parent_hint;
	bpf_map_update_elem(&latency_hints, &child_tgid, &hint, BPF_NOEXIST);
}

/*
 * ops.enable: a task joins (forked, or there when we attached). It starts
 * level with the clock, with no credit for time it never waited: a stream
 * of new processes (a parallel build) must not jump ahead of everyone.
 */
void BPF_STRUCT_OPS(rustland_enable, struct task_struct *p)
{
	p->scx.dsq_vtime = vtime_now;
}

/* ops.init_task: every task gets its storage before it can be enqueued. */
s32 BPF_STRUCT_OPS(rustland_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctx_stor, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -ENOMEM;
	if (args->fork)
		inherit_latency_hint(p);
	return 0;
}

/*
 * An inherited hint ends with its process (when the thread group leader
 * exits). The daemon removes the entries of held processes themselves, when
 * their pidfd reports the exit.
 */
static void forget_inherited_hint(const struct task_struct *p)
{
	s32 tgid = p->tgid;
	struct rl_latency_hint *hint;

	if (p->pid != tgid)
		return;
	hint = bpf_map_lookup_elem(&latency_hints, &tgid);
	if (hint && hint->held_tgid != tgid)
		bpf_map_delete_elem(&latency_hints, &tgid);
}

/*
 * ops.exit_task: tell user space to forget the pid (counted if the ring is
 * full). If the scheduling thread itself is gone (the daemon was killed or
 * crashed), nobody will dispatch the tasks queued to user space, including
 * the daemon's own dying threads: end the scheduler now, so the kernel moves
 * every task back to the fair class instead of waiting for its watchdog.
 */
void BPF_STRUCT_OPS(rustland_exit_task, struct task_struct *p,
		    struct scx_exit_task_args *args)
{
	struct rl_queued_task *rec;

	if (is_usersched_task(p)) {
		scx_bpf_exit(0, "the scheduling thread exited");
		return;
	}
	forget_inherited_hint(p);
	rec = bpf_ringbuf_reserve(&queued, sizeof(*rec), 0);
	if (!rec) {
		count(&nr_exit_drops);
		return;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->pid = p->pid;
	rec->flags = RL_QUEUED_EXITING;
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

/*
 * Heartbeat: if the scheduling thread has not run for a second, make it run.
 * This covers a wake-up lost in a race and keeps the kernel's watchdog from
 * seeing the (runnable) scheduler starve on an idle machine.
 */
static int heartbeat_fn(void *map, int *key, struct bpf_timer *timer)
{
	if (bpf_ktime_get_ns() - usersched_last_run_at >= NSEC_PER_SEC) {
		count(&nr_heartbeats);
		wake_usersched();
		scx_bpf_kick_cpu(usersched_cpu, SCX_KICK_IDLE);
	}
	bpf_timer_start(timer, NSEC_PER_SEC, 0);
	return 0;
}

/*
 * ops.cpu_online / ops.cpu_offline: with these the kernel keeps the
 * scheduler through CPU hotplug instead of ending it with a restart request.
 * The restart, from inside the hotplug operation, hung the guest in 3 of 4
 * full runs of the hotplug endurance test (the kernel's disable work waited
 * on a lock forever); and every event cost seconds on the fair class while
 * the daemon reattached. Nothing is left to do here: no decision goes to a
 * CPU whose runqueue is offline (cpu_takes_tasks), the kernel moves the
 * tasks off it, and run_starved takes what is left in its DSQ.
 */
void BPF_STRUCT_OPS(rustland_cpu_online, s32 cpu)
{
}

void BPF_STRUCT_OPS(rustland_cpu_offline, s32 cpu)
{
}

/* ops.init: create the DSQs and start the heartbeat. */
s32 BPF_STRUCT_OPS_SLEEPABLE(rustland_init)
{
	u32 nr_cpus = scx_bpf_nr_cpu_ids();
	struct bpf_timer *timer;
	u32 key = 0;
	s32 err;
	u32 cpu;

	if (!rl_cpu_ids_fit(nr_cpus)) {
		scx_bpf_error("%u possible CPUs: scx-rustland supports 1 to %d", nr_cpus, RL_MAX_CPUS);
		return -E2BIG;
	}
	bpf_for(cpu, 0, nr_cpus) {
		err = scx_bpf_create_dsq(cpu, -1);
		if (err) {
			scx_bpf_error("failed to create DSQ for CPU %d: %d", cpu, err);
			return err;
		}
	}
	err = scx_bpf_create_dsq(RL_SHARED_DSQ, -1);
	if (err)
		return err;
	err = scx_bpf_create_dsq(RL_SCHED_DSQ, -1);
	if (err)
		return err;

	timer = bpf_map_lookup_elem(&heartbeat_timer, &key);
	if (!timer)
		return -ENOENT;
	bpf_timer_init(timer, &heartbeat_timer, CLOCK_MONOTONIC);
	bpf_timer_set_callback(timer, heartbeat_fn);
	usersched_last_run_at = bpf_ktime_get_ns();
	return bpf_timer_start(timer, NSEC_PER_SEC, 0);
}

/* ops.exit: keep the kernel's reason so the daemon can log it and decide. */
void BPF_STRUCT_OPS(rustland_exit, struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason), ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	bpf_probe_read_kernel_str(exit_info.dump, sizeof(exit_info.dump), ei->dump);
	exit_info.exit_code = ei->exit_code;
	exit_info.kind = ei->kind;
}

SEC(".struct_ops.link")
struct sched_ext_ops rustland_ops = {
	.select_cpu	= (void *)rustland_select_cpu,
	.enqueue	= (void *)rustland_enqueue,
	.dispatch	= (void *)rustland_dispatch,
	.tick		= (void *)rustland_tick,
	.runnable	= (void *)rustland_runnable,
	.running	= (void *)rustland_running,
	.stopping	= (void *)rustland_stopping,
	.init_task	= (void *)rustland_init_task,
	.enable		= (void *)rustland_enable,
	.exit_task	= (void *)rustland_exit_task,
	.cpu_online	= (void *)rustland_cpu_online,
	.cpu_offline	= (void *)rustland_cpu_offline,
	.init		= (void *)rustland_init,
	.exit		= (void *)rustland_exit,
	.flags		= SCX_OPS_ENQ_LAST,
	.dispatch_max_batch = 512,
	.timeout_ms	= 10000,
	.name		= "rustland",
};
