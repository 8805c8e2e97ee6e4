#include "daemon/memory_lock.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dispatcher/bpf_dispatcher.h"

namespace rustland::daemon {
namespace {

// What the scheduling loop runs: the C and C++ runtimes, the loader, libbpf's
// ring buffers and the seccomp guard installed on it. Any other library's code
// is released; the VM test's page-fault check catches a loop that needs one.
constexpr std::array kSchedulingPath = {"ld-linux",    "libc.so",   "libm.so",      "libstdc++.so",
                                        "libgcc_s.so", "libbpf.so", "libseccomp.so"};

bool on_scheduling_path(std::string_view path) {
    const std::string_view name = path.substr(path.rfind('/') + 1);
    if (!name.starts_with("lib") && !name.starts_with("ld-"))
        return true;  // the executable itself, or not a library
    for (std::string_view lib : kSchedulingPath)
        if (name.starts_with(lib))
            return true;
    return false;
}

std::uintptr_t parse_hex(std::string_view text) {
    std::uintptr_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return value;
}

}  // namespace

std::vector<AddressRange> releasable_library_code(std::string_view maps) {
    std::vector<AddressRange> ranges;
    std::istringstream lines{std::string(maps)};
    for (std::string line; std::getline(lines, line);) {
        // "start-end perms offset dev inode    path"
        std::istringstream fields(line);
        std::string range, perms, offset, dev, inode, path;
        fields >> range >> perms >> offset >> dev >> inode >> path;
        const auto dash = range.find('-');
        if (dash == std::string::npos || perms.size() < 3 || perms[1] == 'w' || perms[2] != 'x' ||
            !path.starts_with('/') || path.find(".so") == std::string::npos || on_scheduling_path(path))
            continue;
        ranges.push_back(
            {parse_hex(std::string_view(range).substr(0, dash)), parse_hex(std::string_view(range).substr(dash + 1))});
    }
    return ranges;
}

// Transparent huge pages are off for this process: khugepaged would collapse
// our locked pages into huge ones, and the scheduling thread would fault
// (seen in the VM, once per run) and might wait on khugepaged itself.
void lock_memory() {
    using dispatcher::Error;
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        spdlog::warn("Cannot disable transparent huge pages: {}", std::strerror(errno));
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0)
        spdlog::warn("Cannot lift RLIMIT_MEMLOCK: {}", std::strerror(errno));
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        throw Error(Error::Kind::Failure,
                    std::string("Cannot lock the daemon's memory (mlockall): ") + std::strerror(errno) + ".");

    std::ifstream in("/proc/self/maps");
    std::stringstream maps;
    maps << in.rdbuf();
    std::size_t released = 0;
    for (const AddressRange& r : releasable_library_code(maps.str())) {
        void* start = reinterpret_cast<void*>(r.start);
        const std::size_t length = r.end - r.start;
        if (munlock(start, length) == 0 && madvise(start, length, MADV_DONTNEED) == 0)
            released += length;
    }
    spdlog::debug("Released {} KiB of library code the scheduling thread never runs", released / 1024);
}

namespace {

constexpr const char* kCompactUnevictable = "/proc/sys/vm/compact_unevictable_allowed";

// systemd's RuntimeDirectory= (kept across restarts by the unit).
std::filesystem::path runtime_dir() {
    const char* dir = std::getenv("RUNTIME_DIRECTORY");
    return dir && *dir ? dir : "/run/scx-rustland";
}

bool read_word(const std::filesystem::path& path, std::string& value) {
    std::ifstream in(path);
    return static_cast<bool>(in >> value);
}

bool write_line(const std::filesystem::path& path, const std::string& value) {
    std::ofstream out(path);
    return static_cast<bool>(out << value << '\n');
}

}  // namespace

PinnedPagesGuard::PinnedPagesGuard() : saved_file_(runtime_dir() / "compact_unevictable_allowed") {
    if (!read_word(saved_file_, original_) && read_word(kCompactUnevictable, original_)) {
        std::error_code ignored;
        std::filesystem::create_directories(saved_file_.parent_path(), ignored);
        write_line(saved_file_, original_);
    }
    if (original_.empty() || !write_line(kCompactUnevictable, "0"))
        original_.clear();
    else
        spdlog::debug("{}: {} -> 0 while attached", kCompactUnevictable, original_);
}

PinnedPagesGuard::~PinnedPagesGuard() {
    if (original_.empty())
        return;
    write_line(kCompactUnevictable, original_);
    std::error_code ignored;
    std::filesystem::remove(saved_file_, ignored);
}

}  // namespace rustland::daemon
