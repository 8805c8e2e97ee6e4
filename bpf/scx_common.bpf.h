/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the dispatcher needs beyond vmlinux.h: libbpf's helper macros, the
 * struct_ops section macros and a few task flags that BTF does not carry
 * (they are #defines in the kernel, not enums).
 *
 * The scx_bpf_* kfunc prototypes come from vmlinux.h itself: bpftool emits
 * them from the kernel's BTF, so they always match the kernel the header was
 * generated from (see gen-vmlinux.sh).
 */
#ifndef SCX_RUSTLAND_COMMON_BPF_H
#define SCX_RUSTLAND_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Non-sleepable and sleepable sched_ext callbacks. */
#define BPF_STRUCT_OPS(name, args...) \
	SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) \
	SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* include/linux/sched.h task flags. */
#define PF_KCOMPACTD	0x00010000
#define PF_KSWAPD	0x00020000
#define PF_KTHREAD	0x00200000

/* Inside libbpf's bpf_for_each(): its iterator, for kfuncs such as scx_bpf_dsq_move(). */
#define BPF_FOR_EACH_ITER	(&___it)

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

/* uapi constants that vmlinux.h does not carry. */
#define CLOCK_MONOTONIC	1
#define ENOENT		2
#define ENOMEM		12
#define E2BIG		7

/*
 * The kernel takes printf-style arguments as an array of u64; this builds it
 * and makes `call`, which sees ___fmt and ___param.
 */
#define ___scx_bstr_call(call, fmt, args...)				\
do {									\
	static char ___fmt[] = fmt;					\
	unsigned long long ___param[___bpf_narg(args)];			\
									\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")		\
	___bpf_fill(___param, args);					\
	_Pragma("GCC diagnostic pop")					\
	call;								\
} while (0)

/* Eject the scheduler with an error, or end it cleanly, with a message. */
#define scx_bpf_error(fmt, args...)					\
	___scx_bstr_call(scx_bpf_error_bstr(___fmt, ___param, sizeof(___param)), fmt, ##args)
#define scx_bpf_exit(code, fmt, args...)				\
	___scx_bstr_call(scx_bpf_exit_bstr(code, ___fmt, ___param, sizeof(___param)), fmt, ##args)

#endif /* SCX_RUSTLAND_COMMON_BPF_H */
