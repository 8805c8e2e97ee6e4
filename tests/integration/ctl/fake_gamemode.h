// A stand-in for gamemoded on a private session bus: the part of
// com.feralinteractive.GameMode the follower uses (RegisterGame,
// UnregisterGame, ListGames, GameRegistered/GameUnregistered, and each
// game's object with its Executable). Serves on its own thread; games are
// registered through the bus, as real clients do, so every bus operation
// happens on that thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>
#include <sdbus_compat.h>

namespace rustland::ctl::test {

class FakeGameMode {
public:
    // Owns com.feralinteractive.GameMode on the bus at `address`, with
    // `registered` already registered (no signal: only ListGames tells).
    FakeGameMode(const std::string& address, const std::vector<pid_t>& registered = {});
    ~FakeGameMode();  // leaves the bus: its NameOwnerChanged tells the follower
    FakeGameMode(const FakeGameMode&) = delete;
    FakeGameMode& operator=(const FakeGameMode&) = delete;

private:
    // `announce`: emit GameRegistered.
    std::int32_t register_game(std::int32_t pid, bool announce);
    std::int32_t unregister_game(std::int32_t pid);

    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> manager_;
    // Touched only on the bus thread (and in the constructor, before it runs).
    std::map<pid_t, std::unique_ptr<sdbus::IObject>> games_;
};

// Calls RegisterGame / UnregisterGame(pid) on the bus at `address`, as a
// game's libgamemode would; returns gamemoded's answer (0: done).
std::int32_t call_gamemode(const std::string& address, const std::string& method, pid_t pid);

}  // namespace rustland::ctl::test
