/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records exchanged between the BPF dispatcher and the user-space scheduler.
 *
 * This header is included by both sides: the BPF program (with vmlinux.h
 * types) and the C++ daemon (with <linux/types.h>). The C++ side checks the
 * sizes with static_asserts, so a layout change breaks the build, not the
 * running scheduler.
 */
#ifndef SCX_RUSTLAND_INTF_H
#define SCX_RUSTLAND_INTF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
#endif

enum rl_consts {
	/* Upper bound of CPU ids the dispatcher tracks (cpu_map, DSQ ids). */
	RL_MAX_CPUS = 1024,
	/* DSQ shared by all CPUs, for tasks that may run anywhere. */
	RL_SHARED_DSQ = RL_MAX_CPUS,
	/* DSQ that only ever holds the user-space scheduling thread. */
	RL_SCHED_DSQ = RL_MAX_CPUS + 1,
	/* Default mode: a task's wakeups are reported at most once per this many ns (summed). */
	RL_REPORT_INTERVAL_NS = 5000000,
	/* Ring capacity in records, for either direction. */
	RL_RING_RECORDS = 4096,
	/* Capacity of the tgid -> latency hint map (held processes and their children). */
	RL_MAX_LATENCY_HINTS = 4096,
};

/*
 * Whether a machine whose CPU ids run from 0 to nr_cpu_ids - 1 fits: each CPU
 * id is a per-CPU DSQ id and an index of the per-CPU arrays, so every one
 * must stay below RL_MAX_CPUS (and so below the shared DSQs' ids). ops.init
 * refuses a machine that does not fit.
 */
static inline bool rl_cpu_ids_fit(u32 nr_cpu_ids)
{
	return nr_cpu_ids > 0 && nr_cpu_ids <= RL_MAX_CPUS;
}

/* rl_dispatched_task.cpu: let the first CPU that becomes free run the task. */
#define RL_CPU_ANY (-1)

/* rl_queued_task.flags */
enum rl_queued_flags {
	/* The task is gone: user space drops what it knows about the pid. */
	RL_QUEUED_EXITING = 1u << 0,
	/* The task was woken up (as opposed to preempted or yielding). */
	RL_QUEUED_WAKEUP = 1u << 1,
};

/* rl_task_params.flags */
enum rl_param_flags {
	/* The task's wakeups may preempt an ordinary task (interactive). */
	RL_PARAM_PREEMPT_ON_WAKEUP = 1u << 0,
};

/* rl_dispatched_task.flags */
enum rl_dispatch_flags {
	/* Preempt whatever runs on the target CPU (interactive tasks). */
	RL_DISPATCH_PREEMPT = 1u << 0,
};

/* Per-task latency class; the dispatcher copies it into each record. */
enum rl_latency_class {
	RL_LATENCY_NORMAL = 0,
	RL_LATENCY_CRITICAL = 1,
};

/*
 * Value of the latency_hints map, keyed by tgid. The daemon writes one entry
 * per held process (held_tgid == key); the dispatcher adds one for each
 * process a held process forks (held_tgid == the held ancestor), so the
 * daemon can remove a hold together with everything it spread to. A task
 * of such a process that no longer runs as the holder (a setuid program it
 * exec'd, such as sudo) gets no latency class from it.
 */
struct rl_latency_hint {
	u32 latency_class;	/* enum rl_latency_class */
	s32 held_tgid;
	u32 holder_uid;		/* the hint applies to tasks running as this user (0: any) */
};

/*
 * BPF -> user space: a task woke up or stopped running. In full-user mode
 * the task waits for a decision (struct rl_dispatched_task); in the default
 * mode it is already scheduled, and the record only teaches the policy.
 */
struct rl_queued_task {
	s32 pid;
	s32 cpu;		/* CPU the task last ran on */
	u32 flags;		/* enum rl_queued_flags */
	u32 latency_class;	/* enum rl_latency_class */
	u32 nr_cpus_allowed;
	u32 wakeups;		/* wakeups since the task's previous record */
	u64 sum_exec_runtime;	/* total CPU time, ns */
	u64 exec_runtime;	/* CPU time since the task last woke up, ns */
	u64 burst_ns;		/* CPU time of the bursts those wakeups ended, ns */
	u64 weight;		/* 100 is nice 0 */
	u64 enq_cnt;		/* generation: bumped at every enqueue */
	u64 timestamp;		/* bpf_ktime_get_ns() at enqueue */
};

/*
 * User space -> BPF, default mode: how to treat a task from now on. BPF
 * keeps it in the task's storage and applies it on the hot path.
 */
struct rl_task_params {
	s32 pid;
	u32 flags;		/* enum rl_param_flags */
	u32 weight_boost;	/* CPU time is charged 1/weight_boost as much (1: none) */
	u32 pad;
};

/* User space -> BPF, full-user mode: where and how to run a queued task. */
struct rl_dispatched_task {
	s32 pid;
	s32 cpu;		/* target CPU, or RL_CPU_ANY */
	u32 flags;		/* enum rl_dispatch_flags */
	u32 pad;
	u64 slice_ns;
	u64 vtime;		/* ordering key inside the target DSQ */
	u64 enq_cnt;		/* generation of the record this answers */
};

/* Why the kernel (or we) ended the BPF scheduler; filled in ops.exit. */
enum rl_exit_consts {
	RL_EXIT_REASON_LEN = 128,
	RL_EXIT_MSG_LEN = 1024,
	RL_EXIT_DUMP_LEN = 32768,	/* the kernel's default dump size */
};

struct rl_exit_info {
	s32 kind;		/* enum scx_exit_kind, 0 while running */
	u32 pad;
	s64 exit_code;		/* SCX_ECODE_* bits */
	char reason[RL_EXIT_REASON_LEN];
	char msg[RL_EXIT_MSG_LEN];
	char dump[RL_EXIT_DUMP_LEN];	/* kernel's state dump at an error exit */
};

#endif /* SCX_RUSTLAND_INTF_H */
