#include "daemon/memory_lock.h"

#include <gtest/gtest.h>

namespace rustland::daemon {
namespace {

// A shortened /proc/self/maps of the daemon.
constexpr std::string_view kMaps =
    "55d0a0000000-55d0a0100000 r-xp 00001000 fe:01 10 /usr/sbin/scx-rustland\n"
    "7f0000000000-7f0000100000 r-xp 00028000 fe:01 11 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f0000200000-7f0000300000 r-xp 00010000 fe:01 12 /usr/lib/x86_64-linux-gnu/libgcrypt.so.20.4.1\n"
    "7f0000300000-7f0000310000 r--p 00110000 fe:01 12 /usr/lib/x86_64-linux-gnu/libgcrypt.so.20.4.1\n"
    "7f0000310000-7f0000320000 rw-p 00120000 fe:01 12 /usr/lib/x86_64-linux-gnu/libgcrypt.so.20.4.1\n"
    "7f0000400000-7f0000500000 r-xp 00005000 fe:01 13 /usr/lib/x86_64-linux-gnu/libbpf.so.1.4.6\n"
    "7f0000500000-7f0000600000 r-xp 00004000 fe:01 14 /usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0\n"
    "7f0000600000-7f0000700000 rw-p 00000000 00:00 0 \n"
    "7f0000700000-7f0000710000 r-xp 00001000 fe:01 15 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n"
    "7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0 [vdso]\n";

TEST(MemoryLock, ReleasesTheCodeOfLibrariesOffTheSchedulingPath) {
    const auto ranges = releasable_library_code(kMaps);
    ASSERT_EQ(ranges.size(), 2U);
    EXPECT_EQ(ranges[0].start, 0x7f0000200000U);  // libgcrypt code
    EXPECT_EQ(ranges[0].end, 0x7f0000300000U);
    EXPECT_EQ(ranges[1].start, 0x7f0000500000U);  // libsystemd code
}

// Writable data holds the library's state; read-only data may be relocated
// (RELRO) pages the loader wrote. Dropping either would corrupt the library.
TEST(MemoryLock, NeverReleasesDataMappings) {
    for (const auto& r : releasable_library_code(kMaps)) {
        EXPECT_NE(r.start, 0x7f0000300000U) << "libgcrypt's read-only data";
        EXPECT_NE(r.start, 0x7f0000310000U) << "libgcrypt's writable data";
    }
}

TEST(MemoryLock, KeepsTheExecutableTheRuntimesAndLibbpf) {
    for (const auto& r : releasable_library_code(kMaps)) {
        EXPECT_NE(r.start, 0x55d0a0000000U);
        EXPECT_NE(r.start, 0x7f0000000000U);
        EXPECT_NE(r.start, 0x7f0000400000U);
        EXPECT_NE(r.start, 0x7f0000700000U);
    }
}

}  // namespace
}  // namespace rustland::daemon
