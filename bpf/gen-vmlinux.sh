#!/usr/bin/env bash
# gen-vmlinux.sh - regenerate bpf/vmlinux.h from the kernel the VM tests boot.
#
# The BPF side must be compiled against the type layout of a kernel that has
# sched_ext (the host's kernel has none), so we take the BTF of the very kernel
# tests/vm/fetch-kernel.sh caches: unpack the ELF vmlinux from vmlinuz and
# let bpftool dump its BTF as C. No VM boot is needed.
#
# Usage: bpf/gen-vmlinux.sh [-o OUT]      (default OUT: bpf/vmlinux.h next to this script)
# Needs: bpftool, zstd (or gzip/xz, whichever the kernel was compressed with).
set -euo pipefail

log() { printf 'gen-vmlinux: %s\n' "$*" >&2; }
die() { printf 'gen-vmlinux: ERROR: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$here/vmlinux.h
while getopts "o:h" opt; do
	case $opt in
	o) out=$OPTARG ;;
	h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "usage: $0 [-o OUT]" ;;
	esac
done

command -v bpftool >/dev/null || die "bpftool not found (Debian: apt-get install -t bookworm-backports bpftool)"

env_file=$("$repo/tests/vm/fetch-kernel.sh")
# shellcheck disable=SC1090
. "$env_file"
[[ -f $VMLINUZ ]] || die "VMLINUZ=$VMLINUZ from $env_file does not exist"

# ---- vmlinuz -> vmlinux ---------------------------------------------------
# bzImage boot protocol: the compressed kernel sits at
# (setup_sects + 1) * 512 + payload_offset and is payload_length bytes long;
# the kernel build appends the 4-byte little-endian uncompressed size to it.
# Using the header (instead of scanning for a magic number) gives the exact
# frame, so the decompressor sees no trailing garbage.
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# Cached next to the unpacked kernel (~60 MB); fetch-kernel.sh removes it with
# the tree when it switches kernels.
kroot=${KERNEL_ROOT:-$(dirname "$VMLINUZ")}
vmlinux=$kroot/vmlinux-$KERNEL_RELEASE
if [[ ! -s $vmlinux ]]; then
	[[ $(od -An -c -j $((0x202)) -N4 "$VMLINUZ" | tr -d ' ') == HdrS ]] ||
		die "$VMLINUZ is not a bzImage (no HdrS signature)"
	setup_sects=$(u8 "$VMLINUZ" $((0x1f1)))
	((setup_sects)) || setup_sects=4
	payload_off=$(u32 "$VMLINUZ" $((0x248)))
	payload_len=$(u32 "$VMLINUZ" $((0x24c)))
	start=$(((setup_sects + 1) * 512 + payload_off))
	magic=$(od -An -tx1 -j "$start" -N6 "$VMLINUZ" | tr -d ' \n')
	case $magic in
	28b52ffd*) dec=(zstd -dcq) ;;
	1f8b*) dec=(gzip -dc) ;;
	fd377a585a00) dec=(xz -dc) ;;
	*) die "unknown compression (magic $magic) at offset $start of $VMLINUZ" ;;
	esac
	command -v "${dec[0]}" >/dev/null || die "${dec[0]} is needed to unpack $VMLINUZ"
	log "unpacking vmlinux (${dec[0]}, $((payload_len - 4)) bytes at offset $start)"
	# dd, not tail|head: head exiting early would SIGPIPE tail under pipefail.
	dd if="$VMLINUZ" bs=1M iflag=skip_bytes,count_bytes skip="$start" count=$((payload_len - 4)) status=none |
		"${dec[@]}" >"$vmlinux.tmp" ||
		die "decompressing the kernel payload failed"
	want_size=$(u32 "$VMLINUZ" $((start + payload_len - 4)))
	got_size=$(stat -c %s "$vmlinux.tmp")
	[[ $got_size == "$want_size" ]] || die "vmlinux is $got_size bytes, header says $want_size"
	[[ $(od -An -tx1 -N4 "$vmlinux.tmp" | tr -d ' ') == 7f454c46 ]] || die "unpacked payload is not an ELF file"
	mv "$vmlinux.tmp" "$vmlinux"
fi

# ---- BTF -> C -------------------------------------------------------------
tmp=$out.tmp
{
	cat <<EOF
/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmlinux.h - kernel types for the BPF side of scx-rustland.
 *
 * GENERATED, DO NOT EDIT. Regenerate with:  bpf/gen-vmlinux.sh
 *
 * Source: BTF of the Debian kernel the VM tests boot.
 *   package:   $KERNEL_PACKAGE
 *   version:   $KERNEL_VERSION ($KERNEL_SUITE, $KERNEL_MIRROR)
 *   release:   $KERNEL_RELEASE
 *   .deb:      $VMLINUZ_DEB.deb
 *   sha256:    $SHA256
 * Command:     bpftool btf dump file vmlinux format c   ($(bpftool version | head -n1))
 *              (vmlinux unpacked from ${VMLINUZ#"$kroot"/} of that package)
 */
EOF
	bpftool btf dump file "$vmlinux" format c
} >"$tmp"

# Fail loudly if this kernel lacks what the scheduler is built on.
for sym in 'struct sched_ext_ops {' scx_bpf_dsq_insert_vtime scx_bpf_dsq_move_to_local \
	scx_bpf_dsq_insert scx_bpf_create_dsq scx_bpf_kick_cpu; do
	grep -qF -- "$sym" "$tmp" || { rm -f "$tmp"; die "'$sym' missing from the BTF of $KERNEL_PACKAGE"; }
done
mv "$tmp" "$out"
log "wrote $out ($(stat -c %s "$out") bytes) from $KERNEL_PACKAGE $KERNEL_VERSION"
