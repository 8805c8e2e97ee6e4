// Keeps the scheduling thread's memory resident: it must never fault, since
// a fault that waits on a task the scheduler has not scheduled deadlocks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace rustland::daemon {

// Locks all memory, now and future (mlockall), then gives back the code of
// the libraries the scheduling thread never runs (journal compression,
// crypto, D-Bus, logging, configuration parsing): only the pages another
// thread touches come back, and they need not stay. Throws on failure to lock.
void lock_memory();

struct AddressRange {
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
};

// The code mappings (r-x) in /proc/self/maps text of libraries outside the
// scheduling thread's path. Only code: writable mappings hold the library's
// state, and read-only data may be relocated (RELRO) pages that the loader
// wrote; dropping those would bring back the file's unrelocated bytes.
std::vector<AddressRange> releasable_library_code(std::string_view maps);

// Compaction may migrate even mlocked pages, and touching a migrated page
// faults. While it lives, vm.compact_unevictable_allowed=0 keeps our locked
// pages in place; the original value comes back when it ends. The original
// is also kept in the runtime directory: after a crash, the restarted daemon
// finds 0 in the sysctl, and must restore what was there before the first
// start.
class PinnedPagesGuard {
public:
    PinnedPagesGuard();
    ~PinnedPagesGuard();
    PinnedPagesGuard(const PinnedPagesGuard&) = delete;
    PinnedPagesGuard& operator=(const PinnedPagesGuard&) = delete;

private:
    std::filesystem::path saved_file_;
    std::string original_;
};

}  // namespace rustland::daemon
