// The service's authorization rules and hold-request rate limit.
#include <gtest/gtest.h>

#include <string>

#include "service/authorization.h"
#include "service/errors.h"

namespace rustland::service {
namespace {

using namespace std::chrono_literals;
using Clock = Authorizer::Clock;

constexpr uid_t kUser = 1000;
constexpr uid_t kOther = 1001;

Limits test_limits() {
    Limits limits;
    limits.max_holds_per_uid = 3;
    limits.max_holds_total = 5;
    limits.rate_burst = 4;
    limits.rate_per_second = 2.0;
    limits.max_text_bytes = 8;
    return limits;
}

// The error code check_hold() refuses with, or nullopt if it allows.
std::optional<ErrorCode> verdict(Authorizer& authorizer, const HoldRequest& request, LiveHolds live,
                                 Clock::time_point now) {
    try {
        authorizer.check_hold(request, live, now);
        return std::nullopt;
    } catch (const Refusal& refusal) {
        return refusal.code();
    }
}

HoldRequest own(uid_t uid, bool persistent = false) { return {uid, {uid, uid, uid}, persistent}; }

TEST(Authorizer, UserMayHoldOnlyProcessesWithItsRealAndEffectiveUid) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, now), std::nullopt);
    EXPECT_EQ(verdict(authorizer, {kUser, {kOther, kOther, kOther}, false}, {0, 0}, now), ErrorCode::PermissionDenied);
    // A setuid program started by the user: real uid matches, effective does not.
    EXPECT_EQ(verdict(authorizer, {kUser, {kUser, 0, 0}, false}, {0, 0}, now), ErrorCode::PermissionDenied);
    EXPECT_EQ(verdict(authorizer, {kUser, {0, kUser, 0}, false}, {0, 0}, now), ErrorCode::PermissionDenied);
}

TEST(Authorizer, UserMayNotHoldAProcessThatCanSwitchToAnotherUid) {
    Authorizer authorizer(test_limits());
    // Real and effective uid are the user's, but setresuid() could make it root at any time.
    EXPECT_EQ(verdict(authorizer, {kUser, {kUser, kUser, 0}, false}, {0, 0}, Clock::now()),
              ErrorCode::PermissionDenied);
    EXPECT_FALSE(Authorizer::may_keep_hold(kUser, {kUser, 0, 0}));
    EXPECT_TRUE(Authorizer::may_keep_hold(0, {kUser, 0, 0}));
}

TEST(Authorizer, RootMayHoldAnyProcessAndMakePersistentHolds) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    EXPECT_EQ(verdict(authorizer, {0, {kUser, kOther, kUser}, true}, {0, 0}, now), std::nullopt);
    EXPECT_EQ(verdict(authorizer, own(kUser, true), {0, 0}, now), ErrorCode::PermissionDenied);
}

TEST(Authorizer, PerUidCapAppliesToUsersOnly) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    EXPECT_EQ(verdict(authorizer, own(kUser), {2, 2}, now), std::nullopt);
    EXPECT_EQ(verdict(authorizer, own(kUser), {3, 3}, now), ErrorCode::LimitExceeded);
    EXPECT_EQ(verdict(authorizer, own(0), {4, 4}, now), std::nullopt);
}

TEST(Authorizer, TotalCapAppliesToEveryone) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    EXPECT_EQ(verdict(authorizer, own(0), {0, 5}, now), ErrorCode::LimitExceeded);
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 5}, now), ErrorCode::LimitExceeded);
    EXPECT_EQ(verdict(authorizer, own(0), {0, 4}, now), std::nullopt);
}

TEST(Authorizer, RateLimitAllowsABurstThenRefills) {
    Authorizer authorizer(test_limits());
    const auto start = Clock::now();
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, start), std::nullopt) << "request " << i;
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, start), ErrorCode::LimitExceeded);
    // Another uid has its own budget; root has none.
    EXPECT_EQ(verdict(authorizer, own(kOther), {0, 0}, start), std::nullopt);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(verdict(authorizer, own(0), {0, 0}, start), std::nullopt);
    // 2 tokens per second: one more after half a second, not before.
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, start + 400ms), ErrorCode::LimitExceeded);
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, start + 900ms), std::nullopt);
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, start + 900ms), ErrorCode::LimitExceeded);
    // A long pause refills up to the burst, no further.
    const auto later = start + 1h;
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, later), std::nullopt) << "request " << i;
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, later), ErrorCode::LimitExceeded);
}

TEST(Authorizer, RefusedRequestsSpendTheBudgetToo) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(verdict(authorizer, {kUser, {0, 0, 0}, false}, {0, 0}, now), ErrorCode::PermissionDenied);
    EXPECT_EQ(verdict(authorizer, own(kUser), {0, 0}, now), ErrorCode::LimitExceeded);
}

TEST(Authorizer, NewLimitsApplyToLaterRequests) {
    Authorizer authorizer(test_limits());
    const auto now = Clock::now();
    Limits wider = test_limits();
    wider.max_holds_per_uid = 10;
    authorizer.set_limits(wider);
    EXPECT_EQ(verdict(authorizer, own(kUser), {3, 3}, now), std::nullopt);
    EXPECT_EQ(authorizer.limits().max_holds_per_uid, 10u);
}

TEST(Authorizer, TextLongerThanTheLimitIsAnInvalidArgument) {
    Authorizer authorizer(test_limits());
    EXPECT_NO_THROW(authorizer.check_text("12345678", ""));
    try {
        authorizer.check_text("steam:570", "");
        FAIL() << "a 9-byte app_id passed";
    } catch (const Refusal& refusal) {
        EXPECT_EQ(refusal.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(refusal.what()).find("app_id"), std::string::npos) << refusal.what();
    }
    try {
        authorizer.check_text("", std::string(1000, 'x'));
        FAIL() << "a 1000-byte reason passed";
    } catch (const Refusal& refusal) {
        EXPECT_EQ(refusal.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(refusal.what()).find("reason"), std::string::npos) << refusal.what();
    }
}

TEST(Authorizer, OnlyTheOwnerOrRootReleases) {
    EXPECT_NO_THROW(Authorizer::check_release(kUser, kUser));
    EXPECT_NO_THROW(Authorizer::check_release(0, kUser));
    try {
        Authorizer::check_release(kOther, kUser);
        FAIL() << "another uid released the hold";
    } catch (const Refusal& refusal) {
        EXPECT_EQ(refusal.code(), ErrorCode::PermissionDenied);
    }
}

TEST(Authorizer, OnlyRootReloadsWithoutPolkit) {
    EXPECT_FALSE(Authorizer::reload_needs_polkit(0));
    EXPECT_TRUE(Authorizer::reload_needs_polkit(kUser));
}

TEST(HoldOptions, PersistentIsTheOnlyOptionAndABoolean) {
    EXPECT_FALSE(parse_hold_options({}).persistent);
    EXPECT_TRUE(parse_hold_options({{"persistent", sdbus::Variant(true)}}).persistent);
    EXPECT_FALSE(parse_hold_options({{"persistent", sdbus::Variant(false)}}).persistent);
    for (const auto& options :
         {std::map<std::string, sdbus::Variant>{{"persistent", sdbus::Variant(1u)}},
          std::map<std::string, sdbus::Variant>{{"persistent", sdbus::Variant(std::string("yes"))}},
          std::map<std::string, sdbus::Variant>{{"priority", sdbus::Variant(true)}}}) {
        try {
            parse_hold_options(options);
            FAIL() << "accepted option " << options.begin()->first;
        } catch (const Refusal& refusal) {
            EXPECT_EQ(refusal.code(), ErrorCode::InvalidArgument);
        }
    }
}

TEST(Errors, NamesAreTheInterfaceErrors) {
    EXPECT_STREQ(error_name(ErrorCode::PermissionDenied), "org.scx.Rustland1.Error.PermissionDenied");
    EXPECT_STREQ(error_name(ErrorCode::NoSuchProcess), "org.scx.Rustland1.Error.NoSuchProcess");
    EXPECT_STREQ(error_name(ErrorCode::NoSuchHold), "org.scx.Rustland1.Error.NoSuchHold");
    EXPECT_STREQ(error_name(ErrorCode::LimitExceeded), "org.scx.Rustland1.Error.LimitExceeded");
    EXPECT_STREQ(error_name(ErrorCode::InvalidArgument), "org.scx.Rustland1.Error.InvalidArgument");
    EXPECT_STREQ(error_name(ErrorCode::BadConfig), "org.scx.Rustland1.Error.BadConfig");
    EXPECT_STREQ(error_name(ErrorCode::Failed), "org.scx.Rustland1.Error.Failed");
}

}  // namespace
}  // namespace rustland::service
