// The dispatcher's tgid -> latency hint map, seen from user space: the sink
// of the daemon's held processes. Entries for held processes are written
// here; the dispatcher adds their children.
#pragma once

#include <sys/types.h>

#include <vector>

#include "intf.h"

namespace rustland::dispatcher {

static_assert(sizeof(rl_latency_hint) == 12, "BPF and user space disagree on rl_latency_hint");

class LatencyHintsMap {
public:
    explicit LatencyHintsMap(int map_fd) : fd_(map_fd) {}

    // Holds the process: latency-critical. False if the map is full.
    bool hold(pid_t tgid, uid_t holder);
    // Removes the process and every child process that inherited its hint,
    // including children the dispatcher adds while this runs.
    void release(pid_t tgid);
    // Removes one entry (an inherited hint).
    void forget(pid_t tgid);
    // Every entry: key and value (tests, diagnostics).
    std::vector<std::pair<pid_t, rl_latency_hint>> entries() const;

private:
    int fd_;
};

}  // namespace rustland::dispatcher
