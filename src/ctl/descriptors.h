// File descriptors the commands wait on: an owned fd, and a signalfd that
// turns signals into readable events for wait_for_events().
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <initializer_list>
#include <utility>

namespace rustland::ctl {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

// Blocks `signals` for the process and reads them from a signalfd; the old
// mask comes back on destruction. Blocked signals stay pending, so none is
// lost between construction and the first read.
class SignalFd {
public:
    explicit SignalFd(std::initializer_list<int> signals);
    ~SignalFd();
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;

    int fd() const { return fd_.get(); }
    // The mask to restore in a child before exec.
    const sigset_t& previous_mask() const { return previous_mask_; }
    // One pending signal (the fd must be readable).
    signalfd_siginfo read_one() const;

private:
    sigset_t previous_mask_{};
    UniqueFd fd_;
};

// pidfd_open(2); throws CommandFailed (no such process) or std::system_error.
UniqueFd open_pidfd(pid_t pid);

// pidfd_send_signal(2); a process that has exited meanwhile is not an error.
void send_signal(int pidfd, int signal_number);

}  // namespace rustland::ctl
