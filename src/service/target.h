// Turning a pidfd or a pid from a caller into a held process: its tgid, its
// uids, and a pidfd of our own that tells us when it exits. Resolution is
// ordered so that a reused pid cannot slip in: the pidfd is taken first, the
// process's /proc entry read, and only then the pidfd checked still alive.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/unique_fd.h"
#include "service/authorization.h"

namespace rustland::service {

struct ProcStatus {
    pid_t tgid;
    ProcessUids uids;
};

// The Tgid and Uid lines (real, effective, saved) of /proc/<pid>/status;
// nullopt if either is missing or malformed.
std::optional<ProcStatus> parse_proc_status(std::string_view status);

// The Pid line of /proc/self/fdinfo/<fd>: nullopt when there is none (the fd
// is not a pidfd), -1 for a process that is gone, 0 for one outside our pid
// namespace.
std::optional<long> parse_fdinfo_pid(std::string_view fdinfo);

struct Target {
    UniqueFd pidfd;  // ours; readable once the process has exited
    pid_t tgid;
    ProcessUids uids;
};

// From a caller's pidfd (we dup it). Throws Refusal: InvalidArgument (not a
// pidfd, other pid namespace, a thread's pidfd), NoSuchProcess (exited).
Target resolve_pidfd(int fd);

// From a pid as the daemon sees it; a thread id resolves to its process.
// Throws Refusal: InvalidArgument (0 or out of range), NoSuchProcess.
Target resolve_pid(std::uint32_t pid);

// True once the process a pidfd refers to has exited.
bool process_exited(int pidfd);

// The current uids of a process, nullopt if it is gone (the caller tells a
// successor apart with its pidfd). Throws Refusal(LimitExceeded) when the
// daemon is out of file descriptors.
std::optional<ProcessUids> current_uids(pid_t tgid);

}  // namespace rustland::service
