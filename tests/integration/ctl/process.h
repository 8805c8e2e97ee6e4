// Child processes for the tests: scx-rustlandctl with captured output and
// plain targets to hold.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rustland::ctl::test {

class Process {
public:
    // Starts argv[0] (searched in PATH) with stdout and stderr captured;
    // `environment` entries override or (empty value) remove variables.
    Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& environment = {});
    ~Process();  // kills and reaps a child still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    // Reads stdout until it contains `text`; false at EOF or after a safety limit.
    bool wait_for_output(const std::string& text);
    // Reads everything and reaps; returns the raw wait status.
    int wait();

    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

private:
    // Reads what is available; false once both pipes are at EOF.
    bool pump(int timeout_ms);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::optional<int> status_;
};

}  // namespace rustland::ctl::test
