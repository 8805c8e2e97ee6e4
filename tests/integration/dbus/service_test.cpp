// org.scx.Rustland1 served by rustland::service::Service on a private
// system-like bus, called by root clients in this process and by clients in
// forked children running as uid 65534. Needs root.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>

#include "config/config.h"
#include "daemon/control_plane.h"
#include "service_fixtures.h"

namespace rustland::service::testing {
namespace {

constexpr const char* kError = "org.scx.Rustland1.Error.";
constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
const std::map<std::string, sdbus::Variant> kNoOptions;
const std::map<std::string, sdbus::Variant> kPersistent{{"persistent", sdbus::Variant(true)}};

std::string err(const char* name) { return std::string(kError) + name; }

class DbusService : public ServiceOnPrivateBus {
protected:
    static auto changed(const std::string& property) {
        return [=](const Client::Event& event) { return event.what == "changed" && event.detail == property; };
    }
};

std::vector<std::uint64_t> cookies(Client& client) {
    std::vector<std::uint64_t> result;
    for (const auto& hold : client.Holds())
        result.push_back(std::get<0>(hold));
    return result;
}

TEST_F(DbusService, HoldAndReleaseByPidfd) {
    start();
    Client client;
    Sleeper target;
    const int pidfd = pidfd_of(target.pid());
    const auto cookie = client.Hold(sdbus::UnixFd(pidfd, sdbus::adopt_fd), "steam:570", "game", kNoOptions);
    EXPECT_TRUE(client.wait_for([&](const Client::Event& event) {
        return event.what == "added" && event.cookie == cookie &&
               event.detail == std::to_string(target.pid()) + " 0  ";  // app_id, reason: Holds only
    }));
    EXPECT_TRUE(client.wait_for(changed("Holds")));
    const auto holds = client.Holds();
    ASSERT_EQ(holds.size(), 1u);
    EXPECT_EQ(std::get<0>(holds[0]), cookie);
    EXPECT_EQ(std::get<1>(holds[0]), static_cast<std::uint32_t>(target.pid()));
    EXPECT_EQ(std::get<2>(holds[0]), 0u);
    EXPECT_EQ(std::get<3>(holds[0]), "steam:570");
    EXPECT_EQ(std::get<4>(holds[0]), "game");
    EXPECT_GT(std::get<5>(holds[0]), 0);
    EXPECT_FALSE(std::get<6>(holds[0]));
    EXPECT_EQ(hints_.held(), std::vector<pid_t>{target.pid()});

    client.Release(cookie);
    EXPECT_TRUE(client.wait_for(removed(cookie, "released")));
    EXPECT_TRUE(client.Holds().empty());
    EXPECT_TRUE(hints_.held().empty());
    EXPECT_EQ(error_of([&] { client.Release(cookie); }), err("NoSuchHold"));
}

TEST_F(DbusService, HoldByPidCountsHoldsPerProcess) {
    start();
    Client client;
    Sleeper target;
    const auto first = client.HoldPid(static_cast<std::uint32_t>(target.pid()), "a", "", kNoOptions);
    const auto second = client.HoldPid(static_cast<std::uint32_t>(target.pid()), "b", "", kNoOptions);
    EXPECT_NE(first, second);
    EXPECT_EQ(hints_.holds(), 1u);
    client.Release(first);
    EXPECT_EQ(hints_.held(), std::vector<pid_t>{target.pid()}) << "released while a hold is left";
    client.Release(second);
    EXPECT_TRUE(hints_.held().empty());
    EXPECT_EQ(hints_.misuses(), 0u);
}

TEST_F(DbusService, HoldOnAThreadHoldsItsProcess) {
    start();
    Client client;
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    std::thread thread([&] {
        tid = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!done)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
    while (tid == 0)
        std::this_thread::yield();
    std::uint64_t cookie = 0;
    const std::string outcome =
        error_of([&] { cookie = client.HoldPid(static_cast<std::uint32_t>(tid.load()), "", "", kNoOptions); });
    done = true;
    thread.join();
    ASSERT_EQ(outcome, "ok");
    const auto holds = client.Holds();
    ASSERT_EQ(holds.size(), 1u);
    EXPECT_EQ(std::get<1>(holds[0]), static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(hints_.held(), std::vector<pid_t>{::getpid()});
    client.Release(cookie);
}

TEST_F(DbusService, HoldEndsWhenTheProcessExits) {
    start();
    Client client;
    Sleeper target;
    const auto cookie = client.HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kNoOptions);
    target.kill();  // a zombie counts as exited
    EXPECT_TRUE(client.wait_for(removed(cookie, "process-exited")));
    EXPECT_TRUE(client.Holds().empty());
    EXPECT_TRUE(hints_.held().empty());
}

TEST_F(DbusService, HoldEndsWhenTheClientDisconnectsUnlessPersistent) {
    start();
    Client observer;
    Sleeper a, b;
    std::uint64_t transient = 0, persistent = 0;
    {
        Client holder;
        transient = holder.HoldPid(static_cast<std::uint32_t>(a.pid()), "", "", kNoOptions);
        persistent = holder.HoldPid(static_cast<std::uint32_t>(b.pid()), "", "", kPersistent);
    }
    // Both holds were looked at when the disconnect arrived.
    EXPECT_TRUE(observer.wait_for(removed(transient, "client-disconnected")));
    EXPECT_EQ(cookies(observer), std::vector<std::uint64_t>{persistent});
    const auto holds = observer.Holds();
    ASSERT_EQ(holds.size(), 1u);
    EXPECT_TRUE(std::get<6>(holds[0]));
    EXPECT_EQ(hints_.held(), std::vector<pid_t>{b.pid()});
    observer.Release(persistent);
    EXPECT_TRUE(observer.wait_for(removed(persistent, "released")));
}

TEST_F(DbusService, StopEndsEveryHoldAndReleasesTheName) {
    start();
    Client client;
    Sleeper target;
    const auto cookie = client.HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kPersistent);
    service_->stop();
    EXPECT_TRUE(client.wait_for(removed(cookie, "daemon-stopping")));
    EXPECT_TRUE(hints_.held().empty());
    auto driver = sdbus::createProxy(dbus_compat::ServiceName{"org.freedesktop.DBus"},
                                     sdbus::ObjectPath{"/org/freedesktop/DBus"});
    bool owned = true;
    driver->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(std::string("org.scx.Rustland1"))
        .storeResultsTo(owned);
    EXPECT_FALSE(owned);
    service_->stop();  // idempotent
}

TEST_F(DbusService, MalformedArgumentsAreErrorsAndTheServiceKeepsServing) {
    start();
    Client client;
    Sleeper target;
    const auto pid = static_cast<std::uint32_t>(target.pid());
    const auto hold_fd = [&](int fd) {
        return error_of([&] { client.Hold(sdbus::UnixFd(fd, sdbus::adopt_fd), "", "", kNoOptions); });
    };
    EXPECT_EQ(hold_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), err("InvalidArgument"));
    EXPECT_EQ(hold_fd(::eventfd(0, EFD_CLOEXEC)), err("InvalidArgument"));
    {
        Sleeper reaped;
        const int fd = pidfd_of(reaped.pid());
        reaped.kill();
        reaped.reap();
        EXPECT_EQ(hold_fd(fd), err("NoSuchProcess")) << "pidfd of a reaped process";
    }
    {
        Sleeper zombie;
        const int fd = pidfd_of(zombie.pid());
        zombie.kill();
        // Exit is visible on the pidfd before the reply: wait for it here.
        pollfd entry{fd, POLLIN, 0};
        ASSERT_EQ(::poll(&entry, 1, 30000), 1);
        EXPECT_EQ(hold_fd(fd), err("NoSuchProcess")) << "pidfd of a zombie";
    }
    pid_t dead;
    {
        Sleeper gone;
        dead = gone.pid();
    }
    EXPECT_EQ(error_of([&] { client.HoldPid(static_cast<std::uint32_t>(dead), "", "", kNoOptions); }),
              err("NoSuchProcess"));
    EXPECT_EQ(error_of([&] { client.HoldPid(0, "", "", kNoOptions); }), err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.HoldPid(0xffffffffu, "", "", kNoOptions); }), err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, std::string(256, 'a'), "", kNoOptions); }), err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", std::string(1 << 20, 'r'), kNoOptions); }),
              err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", "", {{"priority", sdbus::Variant(true)}}); }),
              err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", "", {{"persistent", sdbus::Variant(std::string("yes"))}}); }),
              err("InvalidArgument"));
    EXPECT_EQ(error_of([&] { client.Release(424242); }), err("NoSuchHold"));
    hints_.refuse_holds(true);
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", "", kNoOptions); }), err("LimitExceeded"));
    hints_.refuse_holds(false);

    EXPECT_TRUE(client.Holds().empty());
    const auto cookie = client.HoldPid(pid, std::string(255, 'a'), std::string(255, 'r'), kNoOptions);
    EXPECT_EQ(cookies(client), std::vector<std::uint64_t>{cookie});
    client.Release(cookie);
    EXPECT_EQ(hints_.misuses(), 0u);
}

TEST_F(DbusService, RootIsBoundByTheTotalCapOnly) {
    Limits limits;
    limits.max_holds_total = 3;
    limits.max_holds_per_uid = 1;
    limits.rate_burst = 1;
    start(limits);
    Client client;
    Sleeper target;
    const auto pid = static_cast<std::uint32_t>(target.pid());
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", "", kNoOptions); }), "ok") << "hold " << i;
    EXPECT_EQ(error_of([&] { client.HoldPid(pid, "", "", kNoOptions); }), err("LimitExceeded"));
}

TEST_F(DbusService, UserMayHoldOnlyItsOwnProcessesAndNotPersistently) {
    start();
    Client root;
    Sleeper root_target;
    const auto root_cookie = root.HoldPid(static_cast<std::uint32_t>(root_target.pid()), "", "", kNoOptions);
    const pid_t root_pid = ::getpid();
    const std::string result = as_nobody([&] {
        Client client;
        const auto self = static_cast<std::uint32_t>(::getpid());
        std::string out;
        std::uint64_t own = 0;
        out += "own:" + error_of([&] { own = client.HoldPid(self, "", "", kNoOptions); });
        out +=
            " own-pidfd:" + error_of([&] {
                client.Release(client.Hold(sdbus::UnixFd(pidfd_of(::getpid()), sdbus::adopt_fd), "", "", kNoOptions));
            });
        out +=
            " root-pid:" + error_of([&] { client.HoldPid(static_cast<std::uint32_t>(root_pid), "", "", kNoOptions); });
        out += " root-pidfd:" +
               error_of([&] { client.Hold(sdbus::UnixFd(pidfd_of(root_pid), sdbus::adopt_fd), "", "", kNoOptions); });
        out += " persistent:" + error_of([&] { client.HoldPid(self, "", "", kPersistent); });
        out += " release-root:" + error_of([&] { client.Release(root_cookie); });
        out += " release-own:" + error_of([&] { client.Release(own); });
        return out;
    });
    EXPECT_EQ(result, "own:ok own-pidfd:ok root-pid:" + err("PermissionDenied") +
                          " root-pidfd:" + err("PermissionDenied") + " persistent:" + err("PermissionDenied") +
                          " release-root:" + err("PermissionDenied") + " release-own:ok");
    EXPECT_EQ(cookies(root), std::vector<std::uint64_t>{root_cookie});
}

TEST_F(DbusService, PerUserCap) {
    Limits limits;
    limits.max_holds_per_uid = 2;
    start(limits);
    const std::string result = as_nobody([] {
        Client client;
        const auto self = static_cast<std::uint32_t>(::getpid());
        std::string out;
        for (int i = 0; i < 3; ++i)
            out += error_of([&] { client.HoldPid(self, "", "", kNoOptions); }) + " ";
        return out;
    });
    EXPECT_EQ(result, "ok ok " + err("LimitExceeded") + " ");
}

TEST_F(DbusService, PerUserRateLimit) {
    Limits limits;
    limits.rate_burst = 3;
    limits.rate_per_second = 0.001;  // no refill within the test
    start(limits);
    const std::string result = as_nobody([] {
        Client client;
        const auto self = static_cast<std::uint32_t>(::getpid());
        std::string out;
        for (int i = 0; i < 4; ++i)
            out += error_of([&] { client.Release(client.HoldPid(self, "", "", kNoOptions)); }) + " ";
        return out;
    });
    EXPECT_EQ(result, "ok ok ok " + err("LimitExceeded") + " ");
    // Root has no rate limit.
    Client root;
    Sleeper target;
    for (int i = 0; i < 5; ++i)
        root.Release(root.HoldPid(static_cast<std::uint32_t>(target.pid()), "", "", kNoOptions));
}

// The service's limits as the daemon builds them from a configuration file's text.
Limits configured(const std::string& toml) { return daemon::service_limits(config::parse(toml, "test.toml").settings); }

// As many Release calls of a nobody client as `calls`: their errors, space-separated.
std::string releases_by_nobody(int calls) {
    return as_nobody([calls] {
        Client client;
        std::string out;
        for (int i = 0; i < calls; ++i)
            out += error_of([&] { client.Release(999999); }) + " ";
        return out;
    });
}

TEST_F(DbusService, TheConfiguredCallBurstRefusesTheCallBeyondIt) {
    start(configured("[dbus]\ncall_burst = 3\ncall_rate_per_second = 0.01\n"));
    const std::string no_such = err("NoSuchHold") + " ";
    EXPECT_EQ(releases_by_nobody(4), no_such + no_such + no_such + err("LimitExceeded") + " ");
}

TEST_F(DbusService, ALowerCallBurstAppliesOnReload) {
    start(configured(""));
    const std::string no_such = err("NoSuchHold") + " ";
    EXPECT_EQ(releases_by_nobody(5), no_such + no_such + no_such + no_such + no_such);
    service_->set_limits(configured("[dbus]\ncall_burst = 3\ncall_rate_per_second = 0.01\n"));
    // The service applies posted work in order: once this state is out, so are the limits.
    Client root;
    service_->set_state({"attached", "", "rustland"});
    ASSERT_TRUE(root.wait_for(changed("State")));
    EXPECT_EQ(releases_by_nobody(4), no_such + no_such + no_such + err("LimitExceeded") + " ");
}

TEST_F(DbusService, BusPolicyLetsUsersCallOnlyTheInterfaceAndReadProperties) {
    start();
    const std::string result = as_nobody([] {
        auto connection = sdbus::createSystemBusConnection();
        auto proxy = sdbus::createProxy(*connection, dbus_compat::ServiceName{"org.scx.Rustland1"},
                                        sdbus::ObjectPath{"/org/scx/Rustland1"});
        std::string out;
        out += "own:" + error_of([&] { connection->requestName(dbus_compat::ServiceName{"org.scx.Rustland1"}); });
        out += " get:" + error_of([&] {
                   sdbus::Variant version;
                   proxy->callMethod("Get")
                       .onInterface("org.freedesktop.DBus.Properties")
                       .withArguments(std::string("org.scx.Rustland1"), std::string("Version"))
                       .storeResultsTo(version);
               });
        out += " getall:" + error_of([&] {
                   std::map<std::string, sdbus::Variant> all;
                   proxy->callMethod("GetAll")
                       .onInterface("org.freedesktop.DBus.Properties")
                       .withArguments(std::string("org.scx.Rustland1"))
                       .storeResultsTo(all);
               });
        out +=
            " introspect:" + error_of([&] {
                std::string xml;
                proxy->callMethod("Introspect").onInterface("org.freedesktop.DBus.Introspectable").storeResultsTo(xml);
            });
        out += " ping:" + error_of([&] { proxy->callMethod("Ping").onInterface("org.freedesktop.DBus.Peer"); });
        out += " set:" + error_of([&] {
                   proxy->callMethod("Set")
                       .onInterface("org.freedesktop.DBus.Properties")
                       .withArguments(std::string("org.scx.Rustland1"), std::string("State"),
                                      sdbus::Variant(std::string("attached")));
               });
        out += " other-member:" + error_of([&] { proxy->callMethod("Bogus").onInterface("org.scx.Rustland1"); });
        out += " other-interface:" + error_of([&] {
                   proxy->callMethod("GetManagedObjects").onInterface("org.freedesktop.DBus.ObjectManager");
               });
        return out;
    });
    const std::string denied = kAccessDenied;
    EXPECT_EQ(result, "own:" + denied + " get:ok getall:ok introspect:ok ping:ok set:" + denied +
                          " other-member:" + denied + " other-interface:" + denied);
}

TEST_F(DbusService, PropertiesAndTheirChangeSignals) {
    start();
    Client client;
    EXPECT_EQ(client.State(), "starting");
    EXPECT_EQ(client.Version(), PROJECT_VERSION);
    service_->set_state({"attached", "", "rustland"});
    EXPECT_TRUE(client.wait_for(changed("State")));
    EXPECT_EQ(client.State(), "attached");
    EXPECT_EQ(client.OpsName(), "rustland");
    service_->set_state({"ejected", "runtime error: stall", ""});
    EXPECT_TRUE(client.wait_for(changed("StateReason")));
    EXPECT_EQ(client.State(), "ejected");
    EXPECT_EQ(client.StateReason(), "runtime error: stall");

    const auto counters_signals = [&] {
        const auto events = client.events();
        std::vector<std::chrono::steady_clock::time_point> at;
        for (const auto& event : events) {
            if (event.what == "changed" && event.detail == "Counters")
                at.push_back(event.at);
        }
        return at;
    };
    service_->set_counters({{"queued", 1}});
    EXPECT_TRUE(client.wait_for(changed("Counters")));
    EXPECT_EQ(client.Counters(), (std::map<std::string, std::uint64_t>{{"queued", 1}}));
    // Unchanged counters are not signalled; a burst of changes is, once, with the last values.
    service_->set_counters({{"queued", 1}});
    for (std::uint64_t i = 2; i <= 5; ++i)
        service_->set_counters({{"queued", i}});
    EXPECT_TRUE(client.wait_for(changed("Counters"), 2));
    EXPECT_EQ(client.Counters(), (std::map<std::string, std::uint64_t>{{"queued", 5}}));
    service_->set_counters({{"queued", 6}});
    EXPECT_TRUE(client.wait_for(changed("Counters"), 3));
    const auto at = counters_signals();
    ASSERT_EQ(at.size(), 3u);
    // At most one a second (a lower bound: slowness only widens the gaps).
    for (std::size_t i = 1; i < at.size(); ++i)
        EXPECT_GE(at[i] - at[i - 1], std::chrono::milliseconds(900)) << "signal " << i;
}

TEST_F(DbusService, ReloadByRoot) {
    start();
    Client client;
    client.Reload();
    EXPECT_EQ(admin_.reloads(), 1u);
}

TEST_F(DbusService, ReloadReportsABadConfig) {
    FakeAdmin admin("/etc/scx-rustland/config.toml:3: slice_us: must be 100..100000");
    service_ = std::make_unique<Service>(sdbus::createSystemBusConnection(), Limits{}, held_, admin);
    service_->start();
    Client client;
    try {
        client.Reload();
        FAIL() << "Reload passed";
    } catch (const sdbus::Error& error) {
        EXPECT_EQ(error.getName(), err("BadConfig"));
        EXPECT_EQ(error.getMessage(), "/etc/scx-rustland/config.toml:3: slice_us: must be 100..100000");
    }
    service_.reset();
}

TEST_F(DbusService, ReloadByUserFailsClosedWithoutPolkit) {
    start();
    const std::string result = as_nobody([] {
        Client client;
        try {
            client.Reload();
            return std::string("ok");
        } catch (const sdbus::Error& error) {
            return error.getName() + ": " + error.getMessage();
        }
    });
    EXPECT_EQ(result.rfind(err("PermissionDenied") + ": ", 0), 0u) << result;
    EXPECT_NE(result.find("polkit could not be asked"), std::string::npos) << result;
    EXPECT_EQ(admin_.reloads(), 0u);
}

TEST_F(DbusService, ReloadByUserAsksPolkit) {
    start();
    for (const bool authorize : {true, false}) {
        FakePolkit polkit(authorize);
        const std::string result = as_nobody([] {
            Client client;
            return client.unique_name() + " " + error_of([&] { client.Reload(); });
        });
        const auto questions = polkit.questions();
        ASSERT_EQ(questions.size(), 1u);
        EXPECT_EQ(questions[0].subject_kind, "system-bus-name");
        EXPECT_EQ(questions[0].action, "org.scx.rustland.reload");
        EXPECT_EQ(questions[0].flags, 1u);
        EXPECT_EQ(result, questions[0].subject_name + " " + (authorize ? "ok" : err("PermissionDenied")));
        EXPECT_EQ(admin_.reloads(), 1u) << (authorize ? "authorized" : "denied");
    }
}

TEST_F(DbusService, TenThousandHoldsLeaveNoState) {
    start();
    Client client;
    Sleeper target;
    const auto pid = static_cast<std::uint32_t>(target.pid());
    const auto cycle = [&] {
        const int pidfd = pidfd_of(target.pid());
        client.Release(client.Hold(sdbus::UnixFd(pidfd, sdbus::adopt_fd), "app", "cycle", kNoOptions));
        client.Release(client.HoldPid(pid, "app", "cycle", kNoOptions));
    };
    cycle();  // lazily opened descriptors are part of the baseline
    const int baseline = open_fd_count();
    for (int i = 0; i < 5000; ++i)
        cycle();
    EXPECT_TRUE(client.Holds().empty());
    EXPECT_TRUE(hints_.held().empty());
    EXPECT_EQ(hints_.holds(), 10002u);
    EXPECT_EQ(hints_.releases(), 10002u);
    EXPECT_EQ(hints_.misuses(), 0u);
    EXPECT_EQ(open_fd_count(), baseline);
}

}  // namespace
}  // namespace rustland::service::testing
