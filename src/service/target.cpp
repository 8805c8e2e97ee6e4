#include "service/target.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "service/errors.h"

namespace rustland::service {

namespace {

// The whitespace-separated fields after "<key>:" on the line starting with it.
std::optional<std::string_view> field_line(std::string_view text, std::string_view key) {
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view line = text.substr(at, end - at);
        if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':')
            return line.substr(key.size() + 1);
        at = end + 1;
    }
    return std::nullopt;
}

// The n-th (0-based) number on a field's line.
template <typename Number>
std::optional<Number> nth_number(std::string_view fields, unsigned n) {
    std::size_t at = 0;
    for (unsigned index = 0;; ++index) {
        at = fields.find_first_not_of(" \t", at);
        if (at == std::string_view::npos)
            return std::nullopt;
        const std::size_t end = std::min(fields.find_first_of(" \t", at), fields.size());
        if (index == n) {
            Number value{};
            const auto [last, error] = std::from_chars(fields.data() + at, fields.data() + end, value);
            if (error != std::errc{} || last != fields.data() + end)
                return std::nullopt;
            return value;
        }
        at = end;
    }
}

// Out of file descriptors is the daemon's problem, not a sign that the
// process is gone: say so instead of answering NoSuchProcess.
[[noreturn]] void out_of_descriptors(const std::string& what) {
    throw Refusal(ErrorCode::LimitExceeded,
                  fmt::format("the daemon has run out of file descriptors ({}: {}); raise LimitNOFILE "
                              "of scx-rustland.service",
                              what, std::strerror(errno)));
}

bool out_of_descriptors_errno() { return errno == EMFILE || errno == ENFILE; }

std::optional<std::string> read_file(const std::string& path) {
    const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
        if (out_of_descriptors_errno())
            out_of_descriptors("open " + path);
        return std::nullopt;
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(file.get(), buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return std::nullopt;
        if (got == 0)
            return text;
        text.append(buffer, static_cast<std::size_t>(got));
    }
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)); }

Refusal gone(pid_t pid) {
    return Refusal(ErrorCode::NoSuchProcess, fmt::format("process {} does not exist (any more)", pid));
}

ProcStatus read_status(pid_t pid) {
    const auto text = read_file(fmt::format("/proc/{}/status", pid));
    if (!text)
        throw gone(pid);
    const auto status = parse_proc_status(*text);
    if (!status)
        throw Refusal(ErrorCode::Failed, fmt::format("cannot parse /proc/{}/status", pid));
    return *status;
}

// The uids of the live process `pid` refers to, checked alive after /proc
// was read so the numbers belong to the pidfd's process, not a successor.
Target finish(UniqueFd pidfd, pid_t pid) {
    const ProcStatus status = read_status(pid);
    if (process_exited(pidfd.get()))
        throw gone(pid);
    if (status.tgid != pid)
        throw Refusal(ErrorCode::InvalidArgument,
                      fmt::format("the pidfd refers to thread {} of process {}; pass a pidfd of "
                                  "the process",
                                  pid, status.tgid));
    return {std::move(pidfd), status.tgid, status.uids};
}

}  // namespace

std::optional<ProcStatus> parse_proc_status(std::string_view status) {
    const auto tgid_line = field_line(status, "Tgid");
    const auto uid_line = field_line(status, "Uid");
    if (!tgid_line || !uid_line)
        return std::nullopt;
    const auto tgid = nth_number<pid_t>(*tgid_line, 0);
    const auto real = nth_number<uid_t>(*uid_line, 0);
    const auto effective = nth_number<uid_t>(*uid_line, 1);
    const auto saved = nth_number<uid_t>(*uid_line, 2);
    if (!tgid || !real || !effective || !saved || *tgid <= 0)
        return std::nullopt;
    return ProcStatus{*tgid, {*real, *effective, *saved}};
}

std::optional<long> parse_fdinfo_pid(std::string_view fdinfo) {
    const auto line = field_line(fdinfo, "Pid");
    if (!line)
        return std::nullopt;
    return nth_number<long>(*line, 0);
}

bool process_exited(int pidfd) {
    pollfd entry{pidfd, POLLIN, 0};
    const int ready = ::poll(&entry, 1, 0);
    return ready > 0;
}

Target resolve_pidfd(int fd) {
    if (fd < 0)
        throw Refusal(ErrorCode::InvalidArgument, "no file descriptor was passed");
    const auto fdinfo = read_file(fmt::format("/proc/self/fdinfo/{}", fd));
    if (!fdinfo)
        throw Refusal(ErrorCode::InvalidArgument, "the file descriptor is not open");
    const auto pid = parse_fdinfo_pid(*fdinfo);
    if (!pid)
        throw Refusal(ErrorCode::InvalidArgument, "the file descriptor is not a pidfd (see pidfd_open(2))");
    if (*pid == -1)
        throw Refusal(ErrorCode::NoSuchProcess, "the pidfd's process has exited");
    if (*pid == 0)
        throw Refusal(ErrorCode::InvalidArgument, "the pidfd's process is outside the daemon's pid namespace");
    if (*pid < 0 || *pid > INT_MAX)
        throw Refusal(ErrorCode::InvalidArgument, fmt::format("the pidfd names pid {}", *pid));
    UniqueFd ours(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!ours && out_of_descriptors_errno())
        out_of_descriptors("duplicating the pidfd");
    if (!ours)
        throw Refusal(ErrorCode::Failed, fmt::format("cannot duplicate the pidfd: {}", std::strerror(errno)));
    return finish(std::move(ours), static_cast<pid_t>(*pid));
}

Target resolve_pid(std::uint32_t pid) {
    if (pid == 0 || pid > INT_MAX)
        throw Refusal(ErrorCode::InvalidArgument, fmt::format("{} is not a valid pid", pid));
    const auto requested = static_cast<pid_t>(pid);
    pid_t tgid = requested;
    UniqueFd pidfd(pidfd_open(requested));
    // pidfd_open() refuses a thread that is not its process's leader (EINVAL,
    // ENOENT since Linux 6.9): hold the process it belongs to.
    if (!pidfd && (errno == EINVAL || errno == ENOENT)) {
        tgid = read_status(requested).tgid;
        pidfd = UniqueFd(pidfd_open(tgid));
    }
    if (!pidfd) {
        if (errno == ESRCH)
            throw gone(requested);
        if (out_of_descriptors_errno())
            out_of_descriptors(fmt::format("pidfd_open({})", tgid));
        throw Refusal(ErrorCode::Failed, fmt::format("pidfd_open({}) failed: {}", tgid, std::strerror(errno)));
    }
    // With the process pinned, the thread must still be one of its own.
    if (tgid != requested && ::access(fmt::format("/proc/{}/task/{}", tgid, requested).c_str(), F_OK) != 0)
        throw gone(requested);
    return finish(std::move(pidfd), tgid);
}

std::optional<ProcessUids> current_uids(pid_t tgid) {
    const auto text = read_file(fmt::format("/proc/{}/status", tgid));
    if (!text)
        return std::nullopt;
    const auto status = parse_proc_status(*text);
    if (!status)
        return std::nullopt;
    return status->uids;
}

}  // namespace rustland::service
