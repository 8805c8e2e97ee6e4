// Processes as /proc shows them: who forked whom and when. The GameMode
// follower needs this because a hold covers only the children a process
// forks after the hold began; the ones it forked before need holds of their own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rustland::ctl {

struct ProcessInfo {
    pid_t pid = 0;
    pid_t parent = 0;
    // When it started, in clock ticks since boot (/proc/PID/stat field 22).
    // With the pid it names one process: a reused pid starts later.
    std::uint64_t start_ticks = 0;

    bool operator==(const ProcessInfo&) const = default;
};

// Whether both name the same process (its parent may have changed since).
inline bool same_process(const ProcessInfo& a, const ProcessInfo& b) {
    return a.pid == b.pid && a.start_ticks == b.start_ticks;
}

// The pid, parent and start time in the text of /proc/PID/stat; nullopt if
// it is not such a line. The command name may contain spaces and ')'.
std::optional<ProcessInfo> parse_proc_stat(std::string_view stat);

// Every process at one moment.
class ProcessSnapshot {
public:
    ProcessSnapshot() = default;
    explicit ProcessSnapshot(const std::vector<ProcessInfo>& processes);

    std::optional<ProcessInfo> find(pid_t pid) const;
    // The processes below `pid` (children, grandchildren, ...), parents
    // before their children.
    std::vector<ProcessInfo> descendants(pid_t pid) const;

private:
    std::map<pid_t, ProcessInfo> processes_;
    std::multimap<pid_t, pid_t> children_;  // parent -> child
};

// Reads /proc (under `proc_root`); processes that exit meanwhile are left out.
ProcessSnapshot read_process_snapshot(const std::string& proc_root = "/proc");
// /proc/PID/stat of one process; nullopt if it does not exist (any more).
std::optional<ProcessInfo> read_process(pid_t pid, const std::string& proc_root = "/proc");
// Now, in the clock of ProcessInfo::start_ticks, rounded down.
std::uint64_t boot_clock_ticks();

}  // namespace rustland::ctl
