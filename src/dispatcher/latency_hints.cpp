#include "dispatcher/latency_hints.h"

#include <bpf/bpf.h>

#include <cerrno>

namespace rustland::dispatcher {

bool LatencyHintsMap::hold(pid_t tgid, uid_t holder) {
    const s32 key = tgid;
    const rl_latency_hint hint{.latency_class = RL_LATENCY_CRITICAL, .held_tgid = tgid, .holder_uid = holder};
    return bpf_map_update_elem(fd_, &key, &hint, BPF_ANY) == 0;
}

void LatencyHintsMap::release(pid_t tgid) {
    // The held process first: from then on its new children inherit
    // nothing, and only children of children already in the map can still be
    // added, which the next walk finds. Collect before deleting: deleting
    // while walking with get_next_key can restart the walk.
    forget(tgid);
    // Each pass leaves at most the children of children added meanwhile.
    for (int pass = 0; pass < 8; ++pass) {
        std::vector<s32> doomed;
        for (const auto& [key, hint] : entries())
            if (hint.held_tgid == tgid)
                doomed.push_back(key);
        if (doomed.empty())
            return;
        for (const s32 key : doomed)
            bpf_map_delete_elem(fd_, &key);
    }
}

void LatencyHintsMap::forget(pid_t tgid) {
    const s32 key = tgid;
    bpf_map_delete_elem(fd_, &key);
}

std::vector<std::pair<pid_t, rl_latency_hint>> LatencyHintsMap::entries() const {
    std::vector<std::pair<pid_t, rl_latency_hint>> result;
    s32 key = 0;
    s32 next = 0;
    const s32* cursor = nullptr;  // null: start from the first key
    while (bpf_map_get_next_key(fd_, cursor, &next) == 0) {
        rl_latency_hint hint{};
        if (bpf_map_lookup_elem(fd_, &next, &hint) == 0)
            result.emplace_back(next, hint);
        key = next;
        cursor = &key;
    }
    return result;
}

}  // namespace rustland::dispatcher
