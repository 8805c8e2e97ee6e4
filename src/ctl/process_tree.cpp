#include "ctl/process_tree.h"

#include <time.h>
#include <unistd.h>

#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace rustland::ctl {
namespace {

template <class T>
bool parse_number(std::string_view text, T& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<ProcessInfo> parse_proc_stat(std::string_view stat) {
    // "PID (COMM) STATE PPID ..." : COMM is whatever the process chose, so
    // the fields start after the last ')'.
    const auto open = stat.find(" (");
    const auto close = stat.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return std::nullopt;
    }
    ProcessInfo info;
    if (!parse_number(stat.substr(0, open), info.pid) || info.pid <= 0) {
        return std::nullopt;
    }
    std::istringstream rest{std::string(stat.substr(close + 1))};
    const std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                          std::istream_iterator<std::string>()};
    // fields[0] is field 3 (state): the parent is field 4, the start time field 22.
    constexpr std::size_t kParent = 4 - 3;
    constexpr std::size_t kStartTime = 22 - 3;
    if (fields.size() <= kStartTime || !parse_number(fields[kParent], info.parent) ||
        !parse_number(fields[kStartTime], info.start_ticks)) {
        return std::nullopt;
    }
    return info;
}

ProcessSnapshot::ProcessSnapshot(const std::vector<ProcessInfo>& processes) {
    for (const auto& process : processes) {
        processes_.emplace(process.pid, process);
        children_.emplace(process.parent, process.pid);
    }
}

std::optional<ProcessInfo> ProcessSnapshot::find(pid_t pid) const {
    const auto found = processes_.find(pid);
    return found == processes_.end() ? std::nullopt : std::optional(found->second);
}

std::vector<ProcessInfo> ProcessSnapshot::descendants(pid_t pid) const {
    std::vector<ProcessInfo> found;
    std::deque<pid_t> parents{pid};
    // Breadth first; the bound stops a cycle (a pid reused while /proc was read).
    while (!parents.empty() && found.size() < processes_.size()) {
        const auto [first, last] = children_.equal_range(parents.front());
        parents.pop_front();
        for (auto child = first; child != last; ++child) {
            if (child->second == pid) {
                continue;
            }
            found.push_back(processes_.at(child->second));
            parents.push_back(child->second);
        }
    }
    return found;
}

std::optional<ProcessInfo> read_process(pid_t pid, const std::string& proc_root) {
    std::ifstream file(proc_root + "/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(file, line)) {
        return std::nullopt;
    }
    return parse_proc_stat(line);
}

ProcessSnapshot read_process_snapshot(const std::string& proc_root) {
    std::vector<ProcessInfo> processes;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(proc_root, error)) {
        pid_t pid = 0;
        if (!parse_number(entry.path().filename().string(), pid)) {
            continue;
        }
        if (auto process = read_process(pid, proc_root)) {
            processes.push_back(*process);
        }
    }
    return ProcessSnapshot(processes);
}

std::uint64_t boot_clock_ticks() {
    // The kernel reports start times from the boot clock (suspend included).
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    const auto ticks_per_second = static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
    return static_cast<std::uint64_t>(now.tv_sec) * ticks_per_second +
           static_cast<std::uint64_t>(now.tv_nsec) * ticks_per_second / 1'000'000'000U;
}

}  // namespace rustland::ctl
