#!/bin/bash
# Generates the libbpf skeleton, adapting it to the installed libbpf headers.
#
# bpftool 7.5 (bookworm-backports) is built against libbpf 1.5 and writes
#     map->link = &obj->links.<struct_ops map>;
# for struct_ops maps, so that bpf_object__attach_skeleton() can auto-attach
# them. libbpf-dev 1.4.6 (the newest for bookworm) has no `link` member in
# struct bpf_map_skeleton, and the generated header does not compile.
#
# Dropping that one assignment is safe: the skeleton records
# map_skel_sz = sizeof(struct bpf_map_skeleton) as compiled against 1.4.6, so
# libbpf reads exactly the fields the header has, and the daemon never relies
# on auto-attach: it attaches the struct_ops map itself with
# bpf_map__attach_struct_ops(). With headers that do have the member (libbpf
# >= 1.5) the skeleton is used unchanged.
set -euo pipefail
bpftool=$1 obj=$2 out=$3

"$bpftool" gen skeleton "$obj" name rustland_bpf > "$out.tmp"

header="$(pkg-config --variable=includedir libbpf 2>/dev/null || echo /usr/include)/bpf/libbpf.h"
map_skeleton=$(awk '/^struct bpf_map_skeleton \{/,/^\};/' "$header")
if ! grep -q '\blink;' <<<"$map_skeleton"; then
    before=$(grep -c -- 'map->link = ' "$out.tmp" || true)
    sed -i -E '/^[[:space:]]*map->link = &obj->links\.[A-Za-z0-9_]+;$/d' "$out.tmp"
    if grep -q -- 'map->link' "$out.tmp"; then
        echo "gen-skeleton.sh: unexpected 'map->link' use left in the skeleton; update this adapter" >&2
        exit 1
    fi
    echo "gen-skeleton.sh: removed $before map->link assignment(s) for libbpf < 1.5 headers" >&2
fi
mv "$out.tmp" "$out"
