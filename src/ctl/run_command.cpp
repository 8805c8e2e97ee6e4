// scx-rustlandctl run: CMD is held from its first instruction to its exit.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "ctl/client.h"
#include "ctl/commands.h"
#include "ctl/descriptors.h"
#include "ctl/errors.h"

namespace rustland::ctl {
namespace {

// Shell conventions for a command that could not be started.
constexpr int kExitNotFound = 127;
constexpr int kExitNotExecutable = 126;

[[noreturn]] void exec_in_child(const RunCommand& command, std::string_view what, int go_fd, const sigset_t& mask) {
    // The parent writes one byte once CMD is held, or closes the pipe without
    // writing when CMD must not run (--strict).
    char go = 0;
    ssize_t got = 0;
    do {
        got = ::read(go_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) {
        ::_exit(to_int(ExitCode::failure));
    }
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    std::vector<char*> argv;
    for (const auto& argument : command.argv) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    const int error = errno;
    const Failure failure{ExitCode::failure, error == ENOENT ? std::string("command not found") : std::strerror(error)};
    fmt::print(stderr, "{}\n", failure_line(what, failure));
    ::_exit(error == ENOENT ? kExitNotFound : kExitNotExecutable);
}

// Holds the child for the rest of this connection's life (the daemon ends a
// non-persistent hold when its caller disconnects). nullopt on success.
std::optional<Failure> hold_child(sdbus::IConnection& bus, int child_pidfd, const RunCommand& command) {
    try {
        DaemonClient client(bus);
        client.Hold(sdbus::UnixFd(child_pidfd), command.app_id, command.reason, {});
        return std::nullopt;
    } catch (const sdbus::Error& error) {
        return failure_from_dbus_error(error.getName(), error.getMessage());
    }
}

// Dies of `signal_number` like CMD did, so the parent shell sees the same.
[[noreturn]] void die_of(int signal_number) {
    std::fflush(stdout);
    // CMD has dumped core already if it was going to; one is enough.
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::signal(signal_number, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal_number);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(signal_number);
    // Signals whose default action does not kill end here.
    ::_exit(128 + signal_number);
}

}  // namespace

ExitCode run(const RunCommand& command) {
    const std::string what = describe(command);
    std::unique_ptr<sdbus::IConnection> bus;
    std::optional<Failure> no_bus;
    try {
        bus = connect_system_bus();
    } catch (const CommandFailed& failed) {
        no_bus = failed.failure();
    }
    if (no_bus && command.strict) {
        throw CommandFailed(*no_bus);
    }

    // Blocked before fork: a signal arriving while CMD starts is forwarded later.
    const SignalFd forwarded{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    int go_pipe[2];
    if (::pipe2(go_pipe, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    UniqueFd go_read(go_pipe[0]);
    UniqueFd go_write(go_pipe[1]);
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child < 0) {
        throw std::system_error(errno, std::generic_category(), "fork");
    }
    if (child == 0) {
        go_write.reset();
        exec_in_child(command, what, go_read.get(), forwarded.previous_mask());
    }
    go_read.reset();
    const UniqueFd child_fd = open_pidfd(child);

    const auto refused = bus ? hold_child(*bus, child_fd.get(), command) : no_bus;
    if (refused && command.strict) {
        go_write.reset();
        ::waitpid(child, nullptr, 0);
        throw CommandFailed(*refused);
    }
    if (refused) {
        fmt::print(stderr, "scx-rustlandctl: warning: {}; running it without a hold\n", failure_text(what, *refused));
    }
    const char go = 'g';
    if (::write(go_write.get(), &go, 1) != 1) {
        throw std::system_error(errno, std::generic_category(), "write to the child");
    }
    go_write.reset();

    for (;;) {
        const int waited[] = {forwarded.fd(), child_fd.get()};
        const auto ready = wait_for_events(bus.get(), waited, std::nullopt);
        if (ready == 0U) {
            const auto info = forwarded.read_one();
            // Terminal-generated signals reached CMD already: it shares our
            // process group. Forward only what was sent to us alone.
            if (info.ssi_code != SI_KERNEL) {
                send_signal(child_fd.get(), static_cast<int>(info.ssi_signo));
            }
        } else if (ready == 1U) {
            break;
        }
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        die_of(WTERMSIG(status));
    }
    return static_cast<ExitCode>(WEXITSTATUS(status));
}

}  // namespace rustland::ctl
