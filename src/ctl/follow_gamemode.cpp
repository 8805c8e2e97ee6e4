// scx-rustlandctl follow-gamemode: the games gamemoded registers on the
// session bus become holds on the system bus (GameModeFollower decides
// which). One thread, one poll loop over both buses, the held processes'
// pidfds and a signalfd.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <rustland1_names.h>

#include "ctl/client.h"
#include "ctl/commands.h"
#include "ctl/descriptors.h"
#include "ctl/errors.h"
#include "ctl/gamemode_follower.h"

namespace rustland::ctl {
namespace {

// gamemoded's interface (daemon/gamemode-dbus.c in FeralInteractive/gamemode).
constexpr const char* kGameModeName = "com.feralinteractive.GameMode";
constexpr const char* kGameModePath = "/com/feralinteractive/GameMode";
constexpr const char* kGameModeInterface = "com.feralinteractive.GameMode";
constexpr const char* kGameInterface = "com.feralinteractive.GameMode.Game";
constexpr auto kCallTimeout = std::chrono::seconds(5);
// How long a hold the daemon refused for lack of budget waits to be asked again.
constexpr auto kRetryDelay = std::chrono::seconds(5);

void log_line(std::string_view line) { fmt::print(stderr, "{}\n", line); }

std::string name_owner_rule(const std::string& name) {
    return fmt::format(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{}'",
        name);
}

// The basename of the game's executable: as gamemoded resolved it (it finds
// the .exe behind Wine's preloader), else as /proc shows it.
std::string game_app_id(sdbus::IConnection& session, pid_t pid, const sdbus::ObjectPath& path) {
    std::string executable;
    try {
        executable = sdbus::createProxy(session, dbus_compat::ServiceName{kGameModeName}, path)
                         ->getProperty("Executable")
                         .onInterface(kGameInterface)
                         .get<std::string>();
    } catch (const sdbus::Error&) {
        std::error_code error;
        executable = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid), error);
    }
    if (const auto slash = executable.find_last_of('/'); slash != std::string::npos) {
        executable.erase(0, slash + 1);
    }
    if (executable.empty()) {
        std::ifstream comm(fmt::format("/proc/{}/comm", pid));
        std::getline(comm, executable);
    }
    return executable;
}

class DaemonHolds final : public HoldService {
public:
    explicit DaemonHolds(DaemonClient& client) : client_(client) {}

    std::variant<HoldGrant, Failure> hold(const ProcessInfo& process, const std::string& app_id,
                                          const std::string& reason) override {
        try {
            UniqueFd pidfd = open_pidfd(process.pid);
            // The pidfd names whatever has the pid now: make sure it is still
            // the process that was looked at.
            const auto now = read_process(process.pid);
            if (!now || !same_process(*now, process)) {
                return Failure{ExitCode::no_such_target, "no such process"};
            }
            const auto cookie = client_.Hold(sdbus::UnixFd(pidfd.get()), app_id, reason, {});
            return HoldGrant{cookie, std::move(pidfd), boot_clock_ticks()};
        } catch (const CommandFailed& failed) {
            return failed.failure();
        } catch (const sdbus::Error& error) {
            return failure_from_dbus_error(error.getName(), error.getMessage());
        } catch (const std::system_error& error) {
            return Failure{ExitCode::failure, error.what()};
        }
    }

    std::optional<Failure> release(std::uint64_t cookie) override {
        try {
            client_.Release(cookie);
            return std::nullopt;
        } catch (const sdbus::Error& error) {
            return failure_from_dbus_error(error.getName(), error.getMessage());
        }
    }

private:
    DaemonClient& client_;
};

// What the bus callbacks saw, handled after each wait (the callbacks run
// inside the bus's dispatch, where no blocking call belongs).
struct BusEvent {
    enum class Kind { registered, unregistered, gamemode_owner, daemon_owner };
    Kind kind;
    pid_t pid = 0;
    sdbus::ObjectPath path;
    bool owned = false;  // for the *_owner kinds: the name has an owner now
};

std::vector<Game> list_games(sdbus::IConnection& session, sdbus::IProxy& gamemode) {
    std::vector<sdbus::Struct<std::int32_t, sdbus::ObjectPath>> listed;
    try {
        gamemode.callMethod("ListGames")
            .onInterface(kGameModeInterface)
            .withTimeout(kCallTimeout)
            .storeResultsTo(listed);
    } catch (const sdbus::Error& error) {
        // Gone again: its NameOwnerChanged follows.
        log_line(fmt::format("ListGames: {}", failure_from_dbus_error(error.getName(), error.getMessage()).text));
    }
    std::vector<Game> games;
    for (const auto& game : listed) {
        const pid_t pid = std::get<0>(game);
        games.push_back({pid, game_app_id(session, pid, std::get<1>(game))});
    }
    return games;
}

std::unique_ptr<sdbus::IConnection> connect_session_bus() {
    try {
        return sdbus::createSessionBusConnection();
    } catch (const sdbus::Error& error) {
        throw CommandFailed({ExitCode::failure, fmt::format("no session bus (where gamemoded "
                                                            "runs): {}",
                                                            error.getMessage())});
    }
}

// One follow-gamemode run: the two buses, the subscriptions on them and the
// follower they feed. The members are declared in the order they are set up:
// the subscriptions come before the first look, so that no change falls in
// between.
class Following {
public:
    explicit Following(std::size_t max_holds);
    Following(const Following&) = delete;
    Following& operator=(const Following&) = delete;

    // Until SIGINT or SIGTERM.
    ExitCode run();

private:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kNoRetry = Clock::time_point::max();

    std::unique_ptr<sdbus::IProxy> subscribe_to_games();
    sdbus::Slot watch_owner(sdbus::IConnection& bus, const std::string& bus_name, BusEvent::Kind kind);
    void look_first();
    std::optional<std::chrono::milliseconds> until_retry();
    std::optional<std::size_t> wait(const std::vector<std::pair<int, pid_t>>& watched,
                                    std::optional<std::chrono::milliseconds> timeout);
    void handle(const BusEvent& event);
    void gamemode_owner_changed(bool owned);
    void daemon_owner_changed(bool owned);

    std::unique_ptr<sdbus::IConnection> session_ = connect_session_bus();
    std::unique_ptr<sdbus::IConnection> system_ = connect_system_bus();
    const SignalFd stop_signals_{SIGINT, SIGTERM};
    std::vector<BusEvent> events_;
    std::unique_ptr<sdbus::IProxy> gamemode_ = subscribe_to_games();
    sdbus::Slot gamemode_watch_ = watch_owner(*session_, kGameModeName, BusEvent::Kind::gamemode_owner);
    sdbus::Slot daemon_watch_ = watch_owner(*system_, dbus_names::kBusName, BusEvent::Kind::daemon_owner);
    DaemonClient client_{*system_};
    DaemonHolds holds_{client_};
    GameModeFollower follower_;
    Clock::time_point retry_at_ = kNoRetry;
};

Following::Following(std::size_t max_holds)
    : follower_(holds_, [] { return read_process_snapshot(); }, log_line, max_holds) {
    log_line(fmt::format("following {} on the session bus; holds go to {} (at most {})", kGameModeName,
                         dbus_names::kBusName, max_holds));
    look_first();
}

std::unique_ptr<sdbus::IProxy> Following::subscribe_to_games() {
    auto gamemode =
        sdbus::createProxy(*session_, dbus_compat::ServiceName{kGameModeName}, sdbus::ObjectPath{kGameModePath});
    gamemode->uponSignal("GameRegistered")
        .onInterface(kGameModeInterface)
        .call([this](std::int32_t pid, const sdbus::ObjectPath& path) {
            events_.push_back({BusEvent::Kind::registered, pid, path, false});
        });
    gamemode->uponSignal("GameUnregistered")
        .onInterface(kGameModeInterface)
        .call([this](std::int32_t pid, const sdbus::ObjectPath& path) {
            events_.push_back({BusEvent::Kind::unregistered, pid, path, false});
        });
    dbus_compat::finish_registration(*gamemode);
    return gamemode;
}

sdbus::Slot Following::watch_owner(sdbus::IConnection& bus, const std::string& bus_name, BusEvent::Kind kind) {
    return dbus_compat::add_match(bus, name_owner_rule(bus_name), [this, kind](dbus_compat::MessageArg message) {
        std::string name, old_owner, new_owner;
        message >> name >> old_owner >> new_owner;
        events_.push_back({kind, 0, {}, !new_owner.empty()});
    });
}

void Following::look_first() {
    if (!name_has_owner(*system_, dbus_names::kBusName, kCallTimeout)) {
        log_line(fmt::format("{} has no owner on the system bus: waiting for the daemon", dbus_names::kBusName));
        follower_.daemon_vanished();
    }
    // Not a call to gamemoded: it is D-Bus activatable, and following it
    // must not be what starts it.
    if (name_has_owner(*session_, kGameModeName, kCallTimeout)) {
        follower_.games_listed(list_games(*session_, *gamemode_));
    } else {
        log_line("gamemoded is not running: waiting for it");
    }
}

ExitCode Following::run() {
    for (;;) {
        const auto timeout = until_retry();
        const auto watched = follower_.watched_pidfds();
        const auto ready = wait(watched, timeout);
        if (ready == 0U) {
            const auto signal = stop_signals_.read_one();
            // Our holds end as our bus connection closes.
            log_line(fmt::format("stopping on signal {}", signal.ssi_signo));
            return ExitCode::ok;
        }
        if (ready) {
            follower_.process_exited(watched[*ready - 1].second);
        }
        for (auto pending = std::exchange(events_, {}); const auto& event : pending) {
            handle(event);
        }
        if (Clock::now() >= retry_at_) {
            retry_at_ = kNoRetry;
            follower_.retry();
        }
    }
}

// The retry falls kRetryDelay after the follower first wants it: refusals
// meanwhile do not put it off. nullopt: no retry pending.
std::optional<std::chrono::milliseconds> Following::until_retry() {
    if (follower_.wants_retry() && retry_at_ == kNoRetry) {
        retry_at_ = Clock::now() + kRetryDelay;
    }
    if (retry_at_ == kNoRetry) {
        return std::nullopt;
    }
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - Clock::now()),
                    std::chrono::milliseconds(0));
}

// 0: a stop signal; i > 0: the held process watched[i - 1] exited.
std::optional<std::size_t> Following::wait(const std::vector<std::pair<int, pid_t>>& watched,
                                           std::optional<std::chrono::milliseconds> timeout) {
    sdbus::IConnection* const buses[] = {session_.get(), system_.get()};
    std::vector<int> fds{stop_signals_.fd()};
    for (const auto& [fd, pid] : watched) {
        fds.push_back(fd);
    }
    return wait_for_events(buses, fds, timeout);
}

void Following::handle(const BusEvent& event) {
    switch (event.kind) {
    case BusEvent::Kind::registered:
        follower_.game_registered({event.pid, game_app_id(*session_, event.pid, event.path)});
        break;
    case BusEvent::Kind::unregistered: follower_.game_unregistered(event.pid); break;
    case BusEvent::Kind::gamemode_owner: gamemode_owner_changed(event.owned); break;
    case BusEvent::Kind::daemon_owner: daemon_owner_changed(event.owned); break;
    }
}

void Following::gamemode_owner_changed(bool owned) {
    log_line(owned ? "gamemoded started: reading its games" : "gamemoded stopped: its games are no longer held");
    if (owned) {
        follower_.games_listed(list_games(*session_, *gamemode_));
    } else {
        follower_.gamemode_vanished();
    }
}

void Following::daemon_owner_changed(bool owned) {
    log_line(owned ? "the daemon started: holding the games again" : "the daemon stopped: waiting for it");
    if (owned) {
        follower_.daemon_appeared();
    } else {
        follower_.daemon_vanished();
    }
}

}  // namespace

ExitCode follow_gamemode(const FollowGameModeCommand& command) {
    Following following(command.max_holds);
    return following.run();
}

}  // namespace rustland::ctl
