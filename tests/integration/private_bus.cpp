#include "private_bus.h"

#include "fail.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace rustland::test_support {
namespace {

// The bus's own settings; who may do what comes from the included policy
// files (private-bus-*.conf next to this file).
std::string bus_config(const std::string& dir, const PrivateBus::Options& options) {
    const bool like_system_bus = options.policy == PrivateBus::Policy::like_system_bus;
    std::string config = R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
)";
    config += std::string("  <type>") + (like_system_bus ? "system" : "session") + "</type>\n";
    config += "  <listen>unix:path=" + dir + "/bus</listen>\n";
    config += "  <limit name=\"max_match_rules_per_connection\">" +
              std::to_string(options.max_match_rules_per_connection) + "</limit>\n";
    config += "  <auth>EXTERNAL</auth>\n";
    if (like_system_bus) {
        config += "  <include>" PRIVATE_BUS_LIKE_SYSTEM_POLICY "</include>\n";
        config += "  <include>" RUSTLAND_BUS_POLICY "</include>\n";
    } else {
        config += "  <include>" PRIVATE_BUS_OPEN_POLICY "</include>\n";
    }
    return config + "</busconfig>\n";
}

}  // namespace

PrivateBus::PrivateBus() : PrivateBus(Options{}) {}

PrivateBus::PrivateBus(const Options& options) : as_system_bus_(options.as_system_bus) {
    char dir_template[] = "/tmp/rustland-dbus-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr)
        fail("mkdtemp");
    dir_ = dir_template;
    // Clients switched to another uid must reach the socket.
    if (::chmod(dir_.c_str(), 0755) != 0)
        fail("chmod " + dir_);
    const std::string config = dir_ + "/bus.conf";
    std::ofstream(config) << bus_config(dir_, options);

    int address_pipe[2];
    if (::pipe2(address_pipe, O_CLOEXEC) != 0)
        fail("pipe2");
    const std::string print_address = "--print-address=" + std::to_string(address_pipe[1]);
    const std::string config_arg = "--config-file=" + config;
    daemon_ = ::fork();
    if (daemon_ < 0)
        fail("fork");
    if (daemon_ == 0) {
        ::fcntl(address_pipe[1], F_SETFD, 0);
        ::execl(DBUS_DAEMON, DBUS_DAEMON, "--nofork", "--nopidfile", config_arg.c_str(), print_address.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(address_pipe[1]);
    char c;
    while (::read(address_pipe[0], &c, 1) == 1 && c != '\n')
        address_ += c;
    ::close(address_pipe[0]);
    if (address_.empty())
        throw std::runtime_error("dbus-daemon (" DBUS_DAEMON ") printed no address; config " + config);
    if (as_system_bus_)
        ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
}

PrivateBus::~PrivateBus() {
    if (daemon_ > 0) {
        ::kill(daemon_, SIGTERM);
        ::waitpid(daemon_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    if (as_system_bus_)
        ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

}  // namespace rustland::test_support
