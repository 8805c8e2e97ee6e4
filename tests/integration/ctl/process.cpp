#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>

#include "fail.h"

extern char** environ;

namespace rustland::ctl::test {
namespace {

// A safety net against hangs, not a timing assertion.
constexpr auto kSafetyLimit = std::chrono::seconds(60);

using test_support::fail;

}  // namespace

Process::Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& environment) {
    // Built before fork: the mock daemon's thread may hold locks at fork time.
    std::vector<std::string> variables;
    for (char** variable = environ; *variable != nullptr; ++variable) {
        const std::string entry(*variable);
        if (!environment.contains(entry.substr(0, entry.find('=')))) {
            variables.push_back(entry);
        }
    }
    for (const auto& [name, value] : environment) {
        if (!value.empty()) {
            variables.push_back(name + "=" + value);
        }
    }
    std::vector<char*> envp;
    for (auto& variable : variables) {
        envp.push_back(variable.data());
    }
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);

    int out_pipe[2];
    int err_pipe[2];
    // Closed by a successful exec (close-on-exec): its EOF tells the parent
    // the child runs the new program, so its name and /proc entries are final.
    int exec_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
        fail("pipe2");
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        fail("fork");
    }
    if (pid_ == 0) {
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::execvpe(args[0], args.data(), envp.data());
        const int error = errno;
        [[maybe_unused]] const auto written = ::write(exec_pipe[1], &error, sizeof(error));
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(exec_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    // Either EOF (exec'd) or the exec's errno; the child then exits 127,
    // which wait() reports.
    int exec_error = 0;
    while (::read(exec_pipe[0], &exec_error, sizeof(exec_error)) < 0 && errno == EINTR) {
    }
    ::close(exec_pipe[0]);
}

Process::~Process() {
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int ignored = 0;
        ::waitpid(pid_, &ignored, 0);
    }
    for (const int fd : {out_fd_, err_fd_}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

bool Process::pump(int timeout_ms) {
    std::array<pollfd, 2> fds{{{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}}};
    std::array<std::string*, 2> sinks{&out_, &err_};
    std::array<int*, 2> owners{&out_fd_, &err_fd_};
    if (out_fd_ < 0 && err_fd_ < 0) {
        return false;
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
        fail("poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) {
            continue;
        }
        char buffer[4096];
        const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got > 0) {
            sinks[i]->append(buffer, static_cast<std::size_t>(got));
        } else if (got == 0 || errno != EINTR) {
            ::close(*owners[i]);
            *owners[i] = -1;
        }
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Process::wait_for_output(const std::string& text) {
    const auto limit = std::chrono::steady_clock::now() + kSafetyLimit;
    while (out_.find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() > limit || !pump(100)) {
            return out_.find(text) != std::string::npos;
        }
    }
    return true;
}

int Process::wait() {
    if (status_) {
        return *status_;
    }
    const auto limit = std::chrono::steady_clock::now() + kSafetyLimit;
    while (pump(100)) {
        if (std::chrono::steady_clock::now() > limit) {
            ::kill(pid_, SIGKILL);  // hung: the test fails on its status
        }
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR) {
            fail("waitpid");
        }
    }
    status_ = status;
    return status;
}

}  // namespace rustland::ctl::test
