// The bound ops.init puts on CPU ids (issue #12, finding 13): each CPU id is
// a per-CPU DSQ id and an index of BPF's per-CPU arrays, so a machine with
// more CPU ids than that would have its last CPUs share a DSQ with the
// shared or the scheduling thread's DSQ, and index past those arrays.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "intf.h"

namespace {

TEST(CpuIds, MachinesUpToTheBoundFit) {
    EXPECT_TRUE(rl_cpu_ids_fit(1));
    EXPECT_TRUE(rl_cpu_ids_fit(2));
    EXPECT_TRUE(rl_cpu_ids_fit(RL_MAX_CPUS));
}

TEST(CpuIds, AMachineWhoseCpuIdsReachTheSharedDsqIdsIsRefused) {
    // CPU id RL_MAX_CPUS would be the shared DSQ's id, the next one the scheduling thread's.
    EXPECT_FALSE(rl_cpu_ids_fit(RL_SHARED_DSQ + 1));
    EXPECT_FALSE(rl_cpu_ids_fit(RL_SCHED_DSQ + 1));
    EXPECT_FALSE(rl_cpu_ids_fit(4096));
    EXPECT_FALSE(rl_cpu_ids_fit(std::numeric_limits<std::uint32_t>::max()));
}

TEST(CpuIds, NoCpuIdsIsRefused) { EXPECT_FALSE(rl_cpu_ids_fit(0)); }

TEST(CpuIds, EveryCpuIdOfAFittingMachineIsItsOwnDsqAndArraySlot) {
    for (std::uint32_t nr = 1; nr <= RL_MAX_CPUS + 2; ++nr) {
        if (!rl_cpu_ids_fit(nr))
            continue;
        const std::uint32_t last = nr - 1;
        EXPECT_LT(last, static_cast<std::uint32_t>(RL_SHARED_DSQ)) << nr << " CPU ids";
        EXPECT_LT(last, static_cast<std::uint32_t>(RL_SCHED_DSQ)) << nr << " CPU ids";
        // BPF's cpu_slot() masks with RL_MAX_CPUS - 1: that must leave every id unchanged.
        EXPECT_EQ(last & (RL_MAX_CPUS - 1), last) << nr << " CPU ids";
    }
}

}  // namespace
