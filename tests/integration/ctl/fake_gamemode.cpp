#include "fake_gamemode.h"

#include <filesystem>

namespace rustland::ctl::test {
namespace {

constexpr const char* kName = "com.feralinteractive.GameMode";
constexpr const char* kPath = "/com/feralinteractive/GameMode";
constexpr const char* kInterface = "com.feralinteractive.GameMode";
constexpr const char* kGameInterface = "com.feralinteractive.GameMode.Game";

sdbus::ObjectPath game_path(pid_t pid) {
    return sdbus::ObjectPath(std::string(kPath) + "/Games/" + std::to_string(pid));
}

}  // namespace

FakeGameMode::FakeGameMode(const std::string& address, const std::vector<pid_t>& registered)
    : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
    manager_ = sdbus::createObject(*connection_, sdbus::ObjectPath{kPath});
    dbus_compat::add_method(*manager_, kInterface, "RegisterGame",
                            [this](std::int32_t pid) { return register_game(pid, true); });
    dbus_compat::add_method(*manager_, kInterface, "UnregisterGame",
                            [this](std::int32_t pid) { return unregister_game(pid); });
    dbus_compat::add_method(*manager_, kInterface, "ListGames", [this] {
        std::vector<sdbus::Struct<std::int32_t, sdbus::ObjectPath>> games;
        for (const auto& [pid, object] : games_) {
            games.emplace_back(pid, game_path(pid));
        }
        return games;
    });
    dbus_compat::add_signal<std::int32_t, sdbus::ObjectPath>(*manager_, kInterface, "GameRegistered");
    dbus_compat::add_signal<std::int32_t, sdbus::ObjectPath>(*manager_, kInterface, "GameUnregistered");
    dbus_compat::finish_registration(*manager_);
    for (const pid_t pid : registered) {
        register_game(pid, false);
    }
    connection_->requestName(dbus_compat::ServiceName{kName});
    connection_->enterEventLoopAsync();
}

FakeGameMode::~FakeGameMode() { connection_->leaveEventLoop(); }

std::int32_t FakeGameMode::register_game(std::int32_t pid, bool announce) {
    if (games_.contains(pid)) {
        return -1;
    }
    // What gamemoded reports: the executable, from /proc.
    std::error_code error;
    const std::string executable = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", error);
    auto game = sdbus::createObject(*connection_, game_path(pid));
    dbus_compat::add_property(*game, kGameInterface, "Executable", [executable] { return executable; });
    dbus_compat::add_property(*game, kGameInterface, "ProcessId", [pid] { return pid; });
    dbus_compat::finish_registration(*game);
    games_.emplace(pid, std::move(game));
    if (!announce) {
        return 0;
    }
    manager_->emitSignal("GameRegistered").onInterface(kInterface).withArguments(pid, game_path(pid));
    return 0;
}

std::int32_t FakeGameMode::unregister_game(std::int32_t pid) {
    if (games_.erase(pid) == 0) {
        return -1;
    }
    manager_->emitSignal("GameUnregistered").onInterface(kInterface).withArguments(pid, game_path(pid));
    return 0;
}

std::int32_t call_gamemode(const std::string& address, const std::string& method, pid_t pid) {
    auto connection = sdbus::createSessionBusConnectionWithAddress(address);
    std::int32_t answer = -1;
    sdbus::createProxy(*connection, dbus_compat::ServiceName{kName}, sdbus::ObjectPath{kPath})
        ->callMethod(method)
        .onInterface(kInterface)
        .withArguments(static_cast<std::int32_t>(pid))
        .storeResultsTo(answer);
    return answer;
}

}  // namespace rustland::ctl::test
