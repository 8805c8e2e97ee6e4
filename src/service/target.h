// Turning a pidfd or a pid from a caller into a held process: its tgid, its
// uids, and a pidfd of our own that tells us when it exits. Resolution is
// ordered so that a reused pid cannot slip in: the pidfd is taken first, the
// process's /proc entry read, and only then the pidfd checked still alive.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace rustland::service {

// An owned file descriptor, closed on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

struct ProcStatus {
    pid_t tgid;
    uid_t real_uid;
    uid_t effective_uid;
};

// The Tgid and Uid lines of /proc/<pid>/status; nullopt if either is missing
// or malformed.
std::optional<ProcStatus> parse_proc_status(std::string_view status);

// The Pid line of /proc/self/fdinfo/<fd>: nullopt when there is none (the fd
// is not a pidfd), -1 for a process that is gone, 0 for one outside our pid
// namespace.
std::optional<long> parse_fdinfo_pid(std::string_view fdinfo);

struct Target {
    UniqueFd pidfd;  // ours; readable once the process has exited
    pid_t tgid;
    uid_t real_uid;
    uid_t effective_uid;
};

// From a caller's pidfd (we dup it). Throws Refusal: InvalidArgument (not a
// pidfd, other pid namespace, a thread's pidfd), NoSuchProcess (exited).
Target resolve_pidfd(int fd);

// From a pid as the daemon sees it; a thread id resolves to its process.
// Throws Refusal: InvalidArgument (0 or out of range), NoSuchProcess.
Target resolve_pid(std::uint32_t pid);

// True once the process a pidfd refers to has exited.
bool process_exited(int pidfd);

}  // namespace rustland::service
