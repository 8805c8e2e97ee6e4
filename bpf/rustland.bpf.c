/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scx-rustland dispatcher: the kernel half of the scheduler.
 *
 * It makes no policy decision of its own. Tasks that need one are sent to
 * the user-space scheduler through the `queued` ring buffer; its answers come
 * back through the `dispatched` user ring buffer and are inserted into
 * vtime-ordered DSQs: one per CPU and one shared by all CPUs.
 *
 * The user-space scheduler is itself a task. It lives in its own DSQ, gets a
 * finite slice, and is only moved to a CPU when it has work to do. The kernel
 * keeps a few shortcuts that never wait for user space: an idle CPU found at
 * wakeup, per-CPU kthreads and memory reclaim threads, and congestion (queued
 * ring full). Every shortcut and fallback has a counter in .bss, which user
 * space reads through the skeleton's memory mapping.
 */
#include "scx_common.bpf.h"
#include "intf.h"

char _license[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile s32 usersched_pid;	/* tid of the scheduling thread */
const volatile u64 slice_ns = 5 * NSEC_PER_MSEC;
const volatile bool full_user;		/* every decision goes through user space */
const volatile bool debug;

/*
 * Kernel constants user space needs, exported from vmlinux.h so the daemon
 * never keeps its own copy of kernel enum values.
 */
const volatile u64 switch_partial_flag = SCX_OPS_SWITCH_PARTIAL;
const volatile u64 exit_restart_code = SCX_ECODE_ACT_RESTART;

/*
 * Written by user space while running: the slice for kernel-side shortcuts,
 * which follows the scaled slice of the policy.
 */
volatile u64 effective_slice_ns;

/* Published by user space: tasks it holds that still need a decision. */
volatile u64 nr_scheduled;

/* Counters, read by user space. */
volatile u64 nr_queued;			/* records sent since user space last drained */
volatile u64 nr_running;		/* non-scheduler tasks running now */
volatile u64 nr_user_dispatches;	/* decisions of user space applied */
volatile u64 nr_kernel_dispatches;	/* shortcuts that skipped user space */
volatile u64 nr_cancel_dispatches;	/* stale decisions dropped (generation) */
volatile u64 nr_bounce_dispatches;	/* decisions for a CPU the task may not use */
volatile u64 nr_failed_dispatches;	/* decisions for a task that no longer exists */
volatile u64 nr_sched_congested;	/* queued ring full: kernel fallback */
volatile u64 nr_exit_drops;		/* exit notices lost to a full ring */
volatile u64 nr_heartbeats;		/* times the timer had to wake the scheduler */

/* pid running on each CPU, 0 when idle; user space counts free CPUs. */
volatile s32 cpu_map[RL_MAX_CPUS];

/* Why the scheduler ended; read by user space after the link is gone. */
struct rl_exit_info exit_info;

/*
 * Set when the scheduling thread must run even without queued records (the
 * heartbeat sets it; so does the daemon when it needs the loop to turn).
 */
volatile u64 usersched_needed;
static u64 usersched_last_run_at;
static bool usersched_running;
/* Per CPU: what this CPU's ops.dispatch picked last, to take turns fairly. */
struct dispatch_turns {
	bool sched_ran;		/* the scheduling thread */
	bool local_ran;		/* a task from this CPU's own DSQ */
};
static struct dispatch_turns turns[RL_MAX_CPUS];
static s32 usersched_cpu;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RL_RING_RECORDS * sizeof(struct rl_queued_task));
} queued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, RL_RING_RECORDS * sizeof(struct rl_dispatched_task));
} dispatched SEC(".maps");

/* tgid -> latency hint: written by the daemon for held processes, and here for their children. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_LATENCY_HINTS);
	__type(key, s32);
	__type(value, struct rl_latency_hint);
} latency_hints SEC(".maps");

/* Per CPU: whether the task running there is latency-critical (never preempted for another). */
static bool cpu_runs_critical[RL_MAX_CPUS];

struct task_ctx {
	u64 enq_cnt;		/* generation of the latest queued record */
	bool urgent;		/* user space last dispatched it with preemption */
	bool critical;		/* its process is held latency-critical (as of its last enqueue) */
	u64 start_ts;		/* when the task last started running */
	u64 exec_runtime;	/* CPU time since the task last woke up */
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

static bool is_usersched_task(const struct task_struct *p)
{
	return p->pid == usersched_pid;
}

static u64 task_slice(void)
{
	u64 slice = effective_slice_ns;

	return slice ? slice : slice_ns;
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

static u32 latency_class_of(const struct task_struct *p)
{
	s32 tgid = p->tgid;
	struct rl_latency_hint *hint = bpf_map_lookup_elem(&latency_hints, &tgid);

	return hint ? hint->latency_class : RL_LATENCY_NORMAL;
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
 * The scheduling thread runs when it has something to do: new records in the
 * ring, an explicit request (heartbeat), or decisions it still owes while the
 * kernel has nothing else queued for this CPU.
 */
static bool usersched_has_work(s32 cpu)
{
	if (__sync_fetch_and_and(&usersched_needed, 0))
		return true;
	if (bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA) > 0)
		return true;
	return nr_scheduled && !scx_bpf_dsq_nr_queued(RL_SHARED_DSQ) &&
	       !scx_bpf_dsq_nr_queued(cpu);
}

/*
 * Send a task to user space. When the ring is full, user space is behind:
 * schedule the task from the kernel instead of making it wait.
 */
static void queue_to_user(struct task_struct *p, u64 enq_flags)
{
	struct rl_queued_task *rec;
	struct task_ctx *tctx;

	tctx = lookup_task_ctx(p);
	if (!tctx) {
		scx_bpf_error("task_ctx missing for pid %d", p->pid);
		return;
	}

	rec = bpf_ringbuf_reserve(&queued, sizeof(*rec), 0);
	if (!rec) {
		count(&nr_sched_congested);
		dbg("congested: pid %d scheduled by the kernel", p->pid);
		scx_bpf_dsq_insert_vtime(p, RL_SHARED_DSQ, task_slice(),
					 p->scx.dsq_vtime, enq_flags);
		kick_idle_cpu_for(p);
		return;
	}

	rec->pid = p->pid;
	rec->cpu = scx_bpf_task_cpu(p);
	rec->flags = (enq_flags & SCX_ENQ_WAKEUP) ? RL_QUEUED_WAKEUP : 0;
	rec->latency_class = tctx->critical ? RL_LATENCY_CRITICAL : RL_LATENCY_NORMAL;
	rec->nr_cpus_allowed = p->nr_cpus_allowed;
	rec->sum_exec_runtime = p->se.sum_exec_runtime;
	rec->exec_runtime = tctx->exec_runtime;
	rec->nvcsw = p->nvcsw;
	rec->weight = p->scx.weight;
	rec->enq_cnt = ++tctx->enq_cnt;
	rec->timestamp = bpf_ktime_get_ns();
	bpf_ringbuf_submit(rec, 0);
	count(&nr_queued);
}

/*
 * ops.select_cpu: pick the CPU for a waking task. If that CPU is idle and
 * nothing waits in front of the task, run it there right away: user space
 * would only add latency to a decision that is already obvious.
 */
s32 BPF_STRUCT_OPS(rustland_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu;

	if (full_user || is_usersched_task(p))
		return prev_cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle && !scx_bpf_dsq_nr_queued(RL_SHARED_DSQ) &&
	    !scx_bpf_dsq_nr_queued(cpu) && !nr_scheduled) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(), 0);
		count(&nr_kernel_dispatches);
	}
	return cpu;
}

/* A CPU the task may use, with nothing queued locally and no latency-critical task running. */
static bool can_preempt_on(const struct task_struct *p, u32 cpu)
{
	if (cpu >= RL_MAX_CPUS)
		return false;
	/*
	 * The verifier loses the bound above on 32-bit arithmetic; the empty
	 * asm keeps the compiler from dropping the mask that restores it.
	 */
	asm volatile("" : "+r"(cpu));
	cpu &= RL_MAX_CPUS - 1;
	return !cpu_runs_critical[cpu] && bpf_cpumask_test_cpu(cpu, p->cpus_ptr) &&
	       !scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu);
}

/*
 * Where an urgent task should preempt: its previous CPU (warm cache), else
 * the next CPU that can take it, so two latency-critical threads (a game's
 * main and render threads) displace background work on two CPUs instead of
 * each other on one. Scans at most RL_PREEMPT_SCAN CPUs; -1 if none fits.
 */
#define RL_PREEMPT_SCAN 64
static s32 pick_preempt_cpu(const struct task_struct *p)
{
	u32 prev = scx_bpf_task_cpu(p);
	u32 nr_cpus = scx_bpf_nr_cpu_ids();
	u32 i, cpu;

	if (can_preempt_on(p, prev))
		return prev;
	bpf_for(i, 1, RL_PREEMPT_SCAN) {
		if (i >= nr_cpus)
			break;
		cpu = prev + i;
		if (cpu >= nr_cpus)
			cpu -= nr_cpus;
		if (can_preempt_on(p, cpu))
			return cpu;
	}
	return -1;
}

/*
 * A latency-critical task (its process is held), or one user space last
 * dispatched as urgent (an interactive task waking up), wakes up again: run it
 * on its CPU now, ahead of whatever runs there, instead of waiting for a round
 * trip through user space. The policy still sees the task at its next
 * non-wakeup enqueue (with all its CPU time and switches counted) and clears
 * `urgent` if it became busy. Only when that CPU has nothing queued locally,
 * so a stream of such wakeups can't pile up ahead of everyone else, and never
 * to preempt a latency-critical task; never in full-user mode.
 */
static bool dispatch_urgent_wakeup(struct task_struct *p, u64 enq_flags)
{
	s32 cpu;

	if (full_user)
		return false;
	cpu = pick_preempt_cpu(p);
	if (cpu < 0)
		return false;
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, slice_ns, enq_flags);
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	count(&nr_kernel_dispatches);
	return true;
}

/*
 * ops.enqueue: a task became runnable (or used up its slice). The scheduling
 * thread goes to its own DSQ; kernel threads that must not wait go straight
 * to their CPU; everything else is queued to user space.
 */
void BPF_STRUCT_OPS(rustland_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;

	if (is_usersched_task(p)) {
		scx_bpf_dsq_insert(p, RL_SCHED_DSQ, slice_ns, enq_flags);
		/* It only sleeps in the kernel or for a signal: let it act now. */
		if (enq_flags & SCX_ENQ_WAKEUP) {
			wake_usersched();
			scx_bpf_kick_cpu(scx_bpf_task_cpu(p), SCX_KICK_IDLE);
		}
		return;
	}
	if (must_bypass_user(p)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(), enq_flags);
		count(&nr_kernel_dispatches);
		return;
	}
	tctx = lookup_task_ctx(p);
	if (tctx)
		tctx->critical = latency_class_of(p) == RL_LATENCY_CRITICAL;
	if ((enq_flags & SCX_ENQ_WAKEUP) && tctx && (tctx->urgent || tctx->critical) &&
	    dispatch_urgent_wakeup(p, enq_flags))
		return;
	queue_to_user(p, enq_flags);
	if (!(enq_flags & SCX_ENQ_WAKEUP))
		return;
	/*
	 * No idle CPU took the task in select_cpu. If user space judged it
	 * urgent last time, don't let it wait for the next slice to end: preempt
	 * its previous CPU so the scheduler runs now and decides. Otherwise an
	 * idle CPU, if any, will call ops.dispatch and run the scheduler.
	 */
	if (tctx && (tctx->urgent || tctx->critical) && !usersched_running) {
		s32 cpu = pick_preempt_cpu(p);

		wake_usersched();
		if (cpu >= 0)
			scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		else
			scx_bpf_kick_cpu(scx_bpf_task_cpu(p), SCX_KICK_IDLE);
	} else {
		scx_bpf_kick_cpu(scx_bpf_task_cpu(p), SCX_KICK_IDLE);
	}
}

/*
 * Insert one user-space decision into the DSQ it names. Ordinary decisions
 * go through vtime-ordered DSQs, so tasks keep the order user space chose.
 * Urgent ones (preempt) go to the tail of their CPU's local DSQ, which runs
 * before anything ops.dispatch would pick, and kick that CPU: never to the
 * head, which would let a stream of preempting tasks bury older ones.
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
	tctx->urgent = preempt;

	/* Preempt where pick_preempt_cpu() says; if every CPU runs a critical task, queue behind. */
	if (preempt) {
		cpu = pick_preempt_cpu(p);
		if (cpu < 0) {
			cpu = scx_bpf_task_cpu(p);
			preempt = false;
		}
	}

	if (cpu != RL_CPU_ANY &&
	    (cpu < 0 || cpu >= RL_MAX_CPUS || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))) {
		count(&nr_bounce_dispatches);
		dbg("bounce: pid %d may not run on CPU %d", d->pid, cpu);
		cpu = RL_CPU_ANY;
	} else {
		count(&nr_user_dispatches);
	}

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

/*
 * ops.dispatch: this CPU needs a task. Apply what user space decided, then
 * take turns: the scheduling thread (when it has work) alternates with the
 * queued tasks, and this CPU's own DSQ alternates with the shared one. Strict
 * priorities would let a busy scheduler, or a stream of tasks aimed at this
 * CPU, starve everything else. With nothing at all to run, let the previous
 * task keep the CPU instead of bouncing it through user space.
 */
void BPF_STRUCT_OPS(rustland_dispatch, s32 cpu, struct task_struct *prev)
{
	/* CPU ids are below nr_cpu_ids <= RL_MAX_CPUS; the mask shows the verifier. */
	struct dispatch_turns *turn = &turns[(u32)cpu & (RL_MAX_CPUS - 1)];
	bool tasks_queued;

	bpf_user_ringbuf_drain(&dispatched, handle_dispatched, NULL, BPF_RB_NO_WAKEUP);

	tasks_queued = scx_bpf_dsq_nr_queued(cpu) || scx_bpf_dsq_nr_queued(RL_SHARED_DSQ);
	/* An explicit request (urgent wakeup, heartbeat) skips the turn. */
	if ((usersched_needed || !tasks_queued || !turn->sched_ran) &&
	    usersched_has_work(cpu) && scx_bpf_dsq_move_to_local(RL_SCHED_DSQ)) {
		turn->sched_ran = true;
		return;
	}
	turn->sched_ran = false;

	if (turn->local_ran && scx_bpf_dsq_move_to_local(RL_SHARED_DSQ)) {
		turn->local_ran = false;
		return;
	}
	if (scx_bpf_dsq_move_to_local(cpu)) {
		turn->local_ran = true;
		return;
	}
	if (scx_bpf_dsq_move_to_local(RL_SHARED_DSQ)) {
		turn->local_ran = false;
		return;
	}

	if (prev && !is_usersched_task(prev) && (prev->scx.flags & SCX_TASK_QUEUED))
		prev->scx.slice = task_slice();
}

/* ops.runnable: the task woke up; its burst of CPU time starts from zero. */
void BPF_STRUCT_OPS(rustland_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (tctx)
		tctx->exec_runtime = 0;
}

/* ops.running: remember who holds each CPU and when the task started. */
void BPF_STRUCT_OPS(rustland_running, struct task_struct *p)
{
	s32 cpu = scx_bpf_task_cpu(p);
	struct task_ctx *tctx;

	if (is_usersched_task(p)) {
		usersched_last_run_at = bpf_ktime_get_ns();
		usersched_cpu = cpu;
		usersched_running = true;
		return;
	}
	__sync_fetch_and_add(&nr_running, 1);
	tctx = lookup_task_ctx(p);
	if (cpu >= 0 && cpu < RL_MAX_CPUS) {
		cpu_map[cpu] = p->pid;
		cpu_runs_critical[cpu] = tctx && tctx->critical;
	}
	if (tctx)
		tctx->start_ts = bpf_ktime_get_ns();
}

/* ops.stopping: charge the time the task just ran and free its CPU slot. */
void BPF_STRUCT_OPS(rustland_stopping, struct task_struct *p, bool runnable)
{
	s32 cpu = scx_bpf_task_cpu(p);
	struct task_ctx *tctx;

	if (is_usersched_task(p)) {
		usersched_running = false;
		return;
	}
	__sync_fetch_and_sub(&nr_running, 1);
	if (cpu >= 0 && cpu < RL_MAX_CPUS) {
		cpu_map[cpu] = 0;
		cpu_runs_critical[cpu] = false;
	}
	tctx = lookup_task_ctx(p);
	if (tctx)
		tctx->exec_runtime += bpf_ktime_get_ns() - tctx->start_ts;
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

/* ops.init: create the DSQs and start the heartbeat. */
s32 BPF_STRUCT_OPS_SLEEPABLE(rustland_init)
{
	u32 nr_cpus = scx_bpf_nr_cpu_ids();
	struct bpf_timer *timer;
	u32 key = 0;
	s32 err;
	u32 cpu;

	bpf_for(cpu, 0, nr_cpus) {
		if (cpu >= RL_MAX_CPUS)
			break;
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
	.runnable	= (void *)rustland_runnable,
	.running	= (void *)rustland_running,
	.stopping	= (void *)rustland_stopping,
	.init_task	= (void *)rustland_init_task,
	.exit_task	= (void *)rustland_exit_task,
	.init		= (void *)rustland_init,
	.exit		= (void *)rustland_exit,
	.flags		= SCX_OPS_ENQ_LAST,
	.dispatch_max_batch = 512,
	.timeout_ms	= 10000,
	.name		= "rustland",
};
