#include "ctl/descriptors.h"

// glibc 2.36's header lacks the C++ linkage guards.
extern "C" {
#include <sys/pidfd.h>
}

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "ctl/errors.h"

namespace rustland::ctl {

SignalFd::SignalFd(std::initializer_list<int> signals) {
    sigset_t mask;
    sigemptyset(&mask);
    for (const int signal_number : signals) {
        sigaddset(&mask, signal_number);
    }
    if (sigprocmask(SIG_BLOCK, &mask, &previous_mask_) != 0) {
        throw std::system_error(errno, std::generic_category(), "sigprocmask");
    }
    fd_ = UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC));
    if (fd_.get() < 0) {
        const int error = errno;
        sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
        throw std::system_error(error, std::generic_category(), "signalfd");
    }
}

SignalFd::~SignalFd() { sigprocmask(SIG_SETMASK, &previous_mask_, nullptr); }

signalfd_siginfo SignalFd::read_one() const {
    signalfd_siginfo info{};
    ssize_t got = 0;
    do {
        got = ::read(fd_.get(), &info, sizeof info);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof info)) {
        throw std::system_error(errno, std::generic_category(), "read signalfd");
    }
    return info;
}

UniqueFd open_pidfd(pid_t pid) {
    UniqueFd pidfd(pidfd_open(pid, 0));
    if (pidfd.get() < 0) {
        if (errno == ESRCH) {
            throw CommandFailed({ExitCode::no_such_target, "no such process"});
        }
        throw std::system_error(errno, std::generic_category(), fmt::format("pidfd_open {}", pid));
    }
    return pidfd;
}

void send_signal(int pidfd, int signal_number) {
    if (pidfd_send_signal(pidfd, signal_number, nullptr, 0) != 0 && errno != ESRCH) {
        throw std::system_error(errno, std::generic_category(), "pidfd_send_signal");
    }
}

}  // namespace rustland::ctl
