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

// The system bus, or why there is none.
struct SystemBus {
    std::unique_ptr<sdbus::IConnection> connection;
    std::optional<Failure> missing;
};

// Without --strict, CMD runs unheld when the bus can't be reached; with it,
// CMD does not run at all.
SystemBus connect_unless_strict(const RunCommand& command) {
    SystemBus bus;
    try {
        bus.connection = connect_system_bus();
    } catch (const CommandFailed& failed) {
        bus.missing = failed.failure();
    }
    if (bus.missing && command.strict) {
        throw CommandFailed(*bus.missing);
    }
    return bus;
}

struct Child {
    pid_t pid = 0;
    UniqueFd go;  // the write end of the pipe exec_in_child waits on
    UniqueFd pidfd;
};

// Forks CMD, which waits before exec until `go` is written to.
Child start_child(const RunCommand& command, std::string_view what, const sigset_t& exec_mask) {
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
        exec_in_child(command, what, go_read.get(), exec_mask);
    }
    go_read.reset();
    UniqueFd pidfd = open_pidfd(child);
    return Child{child, std::move(go_write), std::move(pidfd)};
}

// With --strict, a refusal (or no bus) ends run here: the go pipe closes
// unwritten, so CMD exits without running, and the error's code is ours.
void hold_or_warn(const SystemBus& bus, Child& child, const RunCommand& command, std::string_view what) {
    const auto refused = bus.connection ? hold_child(*bus.connection, child.pidfd.get(), command) : bus.missing;
    if (refused && command.strict) {
        child.go.reset();
        ::waitpid(child.pid, nullptr, 0);
        throw CommandFailed(*refused);
    }
    if (refused) {
        fmt::print(stderr, "scx-rustlandctl: warning: {}; running it without a hold\n", failure_text(what, *refused));
    }
}

void let_child_exec(UniqueFd& go) {
    const char byte = 'g';
    if (::write(go.get(), &byte, 1) != 1) {
        throw std::system_error(errno, std::generic_category(), "write to the child");
    }
    go.reset();
}

// Until CMD exits. `bus` is null when CMD runs without a daemon.
void forward_signals(sdbus::IConnection* bus, const SignalFd& forwarded, int child_pidfd) {
    for (;;) {
        const int waited[] = {forwarded.fd(), child_pidfd};
        const auto ready = wait_for_events(bus, waited, std::nullopt);
        if (ready == 0U) {
            const auto info = forwarded.read_one();
            // Terminal-generated signals reached CMD already: it shares our
            // process group. Forward only what was sent to us alone.
            if (info.ssi_code != SI_KERNEL) {
                send_signal(child_pidfd, static_cast<int>(info.ssi_signo));
            }
        } else if (ready == 1U) {
            return;
        }
    }
}

// Reaps CMD and ends as it did.
ExitCode exit_like(pid_t child) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        die_of(WTERMSIG(status));
    }
    return static_cast<ExitCode>(WEXITSTATUS(status));
}

}  // namespace

ExitCode run(const RunCommand& command) {
    const std::string what = describe(command);
    const SystemBus bus = connect_unless_strict(command);
    // Blocked before fork: a signal arriving while CMD starts is forwarded later.
    const SignalFd forwarded{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    Child child = start_child(command, what, forwarded.previous_mask());
    hold_or_warn(bus, child, command, what);
    let_child_exec(child.go);
    forward_signals(bus.connection.get(), forwarded, child.pidfd.get());
    return exit_like(child.pid);
}

}  // namespace rustland::ctl
