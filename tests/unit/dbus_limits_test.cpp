// The [dbus] keys of the configuration as the D-Bus service's limits: what
// the daemon hands the service when it starts it and on every reload.
#include "daemon/control_plane.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace rustland::daemon {
namespace {

TEST(DbusLimits, EveryDbusKeyReachesTheService) {
    const config::Loaded loaded = config::parse(
        "[dbus]\nmax_holds_per_user = 3\nhold_rate_burst = 4\nhold_rate_per_second = 0.5\n"
        "call_burst = 7\ncall_rate_per_second = 1.25\nmax_pending_authorizations_per_user = 5\n",
        "limits.toml");
    const service::Limits limits = service_limits(loaded.settings);
    EXPECT_EQ(limits.max_holds_per_uid, 3u);
    EXPECT_EQ(limits.rate_burst, 4u);
    EXPECT_EQ(limits.rate_per_second, 0.5);
    EXPECT_EQ(limits.call_burst, 7u);
    EXPECT_EQ(limits.call_rate_per_second, 1.25);
    EXPECT_EQ(limits.max_pending_authorizations_per_uid, 5u);
}

TEST(DbusLimits, TheDefaultConfigurationKeepsTheServicesDefaults) {
    const service::Limits limits = service_limits(config::Settings{});
    const service::Limits built_in;
    EXPECT_EQ(limits.max_holds_per_uid, built_in.max_holds_per_uid);
    EXPECT_EQ(limits.max_holds_total, built_in.max_holds_total);
    EXPECT_EQ(limits.rate_burst, built_in.rate_burst);
    EXPECT_EQ(limits.rate_per_second, built_in.rate_per_second);
    EXPECT_EQ(limits.max_text_bytes, built_in.max_text_bytes);
    EXPECT_EQ(limits.call_burst, built_in.call_burst);
    EXPECT_EQ(limits.call_rate_per_second, built_in.call_rate_per_second);
    EXPECT_EQ(limits.max_pending_authorizations_per_uid, built_in.max_pending_authorizations_per_uid);
    EXPECT_EQ(limits.authorization_timeout, built_in.authorization_timeout);
}

}  // namespace
}  // namespace rustland::daemon
