#include "daemon/ejection_budget.h"

#include <gtest/gtest.h>

namespace rustland::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = EjectionBudget::Clock;

TEST(EjectionBudget, DelaysDoubleThenGiveUp) {
    EjectionBudget budget(3, 60s, 1s);
    const Clock::time_point t0{};
    EXPECT_EQ(budget.after_ejection(t0), Clock::duration(1s));
    EXPECT_EQ(budget.after_ejection(t0 + 5s), Clock::duration(2s));
    EXPECT_EQ(budget.after_ejection(t0 + 10s), Clock::duration(4s));
    EXPECT_FALSE(budget.after_ejection(t0 + 15s).has_value());
}

TEST(EjectionBudget, OldEjectionsLeaveTheWindow) {
    EjectionBudget budget(3, 60s, 1s);
    const Clock::time_point t0{};
    budget.after_ejection(t0);
    budget.after_ejection(t0 + 1s);
    budget.after_ejection(t0 + 2s);
    // The first three are over a minute old: this one starts over.
    EXPECT_EQ(budget.after_ejection(t0 + 63s), Clock::duration(1s));
    EXPECT_EQ(budget.recent(), 1u);
}

}  // namespace
}  // namespace rustland::daemon
