#include "dispatcher/cpu_list.h"

#include <gtest/gtest.h>

namespace rustland::dispatcher {
namespace {

using Cpus = std::vector<unsigned>;

TEST(CpuList, SingleCpusAndRanges) {
    EXPECT_EQ(parse_cpu_list("0"), Cpus{0});
    EXPECT_EQ(parse_cpu_list("0-3\n"), (Cpus{0, 1, 2, 3}));
    EXPECT_EQ(parse_cpu_list("0,2-3,7"), (Cpus{0, 2, 3, 7}));
}

TEST(CpuList, EmptyListIsNoCpu) { EXPECT_EQ(parse_cpu_list(""), Cpus{}); }

TEST(CpuList, MalformedInputIsRejected) {
    for (const char* bad : {"a", "1-", "-1", "3-1", "0,,1", "1 2", "0-4096"})
        EXPECT_FALSE(parse_cpu_list(bad).has_value()) << bad;
}

}  // namespace
}  // namespace rustland::dispatcher
