#include "ctl/gamemode_follower.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "ctl/format.h"

namespace rustland::ctl {

GameModeFollower::GameModeFollower(HoldService& service, Snapshotter snapshot, Logger log, std::size_t max_holds)
    : service_(service), snapshot_(std::move(snapshot)), log_(std::move(log)), max_holds_(max_holds) {}

void GameModeFollower::games_listed(std::vector<Game> games) {
    games_.clear();
    for (auto& game : games) {
        const pid_t pid = game.pid;
        games_.insert_or_assign(pid, std::move(game));
    }
    reconcile();
}

void GameModeFollower::game_registered(Game game) {
    const pid_t pid = game.pid;
    games_.insert_or_assign(pid, std::move(game));
    reconcile();
}

void GameModeFollower::game_unregistered(pid_t pid) {
    if (games_.erase(pid) > 0) {
        reconcile();
    }
}

void GameModeFollower::gamemode_vanished() {
    games_.clear();
    reconcile();
}

void GameModeFollower::daemon_vanished() {
    held_.clear();
    daemon_missing_ = true;
}

void GameModeFollower::daemon_appeared() {
    // Whatever we held belonged to the daemon's previous instance.
    held_.clear();
    refused_.clear();
    daemon_missing_ = false;
    reconcile();
}

void GameModeFollower::process_exited(pid_t pid) {
    if (held_.erase(pid) > 0) {
        // Its children lost the hint it passed them: some may need holds now.
        reconcile();
    }
}

void GameModeFollower::retry() { reconcile(); }

std::vector<std::pair<int, pid_t>> GameModeFollower::watched_pidfds() const {
    std::vector<std::pair<int, pid_t>> watched;
    for (const auto& [pid, held] : held_) {
        watched.emplace_back(held.pidfd.get(), pid);
    }
    return watched;
}

std::map<pid_t, std::uint64_t> GameModeFollower::holds() const {
    std::map<pid_t, std::uint64_t> cookies;
    for (const auto& [pid, held] : held_) {
        cookies.emplace(pid, held.cookie);
    }
    return cookies;
}

bool GameModeFollower::covered(const ProcessSnapshot& snapshot, const ProcessInfo& process) const {
    const auto held_as = [this](const ProcessInfo& candidate) -> const Held* {
        const auto found = held_.find(candidate.pid);
        return found != held_.end() && same_process(found->second.process, candidate) ? &found->second : nullptr;
    };
    if (held_as(process)) {
        return true;
    }
    // Up the ancestors: a held one covers us if the process between it and
    // us (or we) was forked after its hold began. Start times only grow
    // downwards, so that process is the one that must be younger than the hold.
    ProcessInfo below = process;
    // Bounded: a snapshot read while pids were reused could hold a cycle.
    for (std::size_t depth = 0; depth < 4096; ++depth) {
        const auto parent = snapshot.find(below.parent);
        if (!parent || parent->pid == below.pid) {
            return false;
        }
        if (const Held* held = held_as(*parent); held && below.start_ticks > held->held_at_ticks) {
            return true;
        }
        below = *parent;
    }
    return false;
}

void GameModeFollower::reconcile() {
    const ProcessSnapshot snapshot = snapshot_();
    // Each process that must be latency-critical, with the game it belongs to.
    std::map<pid_t, std::pair<ProcessInfo, const Game*>> wanted;
    for (const auto& [pid, game] : games_) {
        const auto root = snapshot.find(pid);
        if (!root) {
            continue;  // exited; gamemoded will unregister it
        }
        wanted.try_emplace(pid, *root, &game);
        for (const auto& below : snapshot.descendants(pid)) {
            wanted.try_emplace(below.pid, below, &game);
        }
    }

    // Holds that stay: on a live process that is wanted, or was taken for a
    // game still registered (a helper it started may have been reparented).
    std::vector<Held> doomed;
    for (auto it = held_.begin(); it != held_.end();) {
        const auto now = snapshot.find(it->first);
        const bool alive = now && same_process(*now, it->second.process);
        const bool stays = alive && (wanted.contains(it->first) || games_.contains(it->second.game));
        if (stays) {
            ++it;
        } else {
            doomed.push_back(std::move(it->second));
            it = held_.erase(it);
        }
    }

    // New holds before old ones end: a process passing from one game to
    // another is never left without. Oldest first: parents before children.
    // (A hold taken now covers only processes forked from now on, so none
    // of the ones listed here covers another.)
    std::vector<std::pair<ProcessInfo, const Game*>> needed;
    for (const auto& [pid, entry] : wanted) {
        if (!covered(snapshot, entry.first) && !refused_.contains({pid, entry.first.start_ticks})) {
            needed.push_back(entry);
        }
    }
    // Ties by pid: a total order, the same on every run.
    std::sort(needed.begin(), needed.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.start_ticks, a.first.pid) < std::tie(b.first.start_ticks, b.first.pid);
    });
    retry_wanted_ = false;
    std::size_t done = 0;
    while (done < needed.size() && hold(needed[done].first, *needed[done].second)) {
        ++done;
    }
    if (done == needed.size()) {
        short_of_budget_ = false;
    }

    for (const auto& held : doomed) {
        release(held);
    }
}

bool GameModeFollower::hold(const ProcessInfo& process, const Game& game) {
    if (daemon_missing_) {
        return false;
    }
    if (held_.size() >= max_holds_) {
        // Our own cap: only a hold ending makes room, and that reconciles.
        report_short_of_budget(fmt::format("--max-holds {} reached", max_holds_));
        return false;
    }
    const std::string reason = process.pid == game.pid
                                   ? std::string("GameMode game")
                                   : fmt::format("GameMode: started by game {} before its hold", game.pid);
    auto result = service_.hold(process, game.app_id, reason);
    if (auto* grant = std::get_if<HoldGrant>(&result)) {
        log_(fmt::format("holding pid {} ({}, {}) as cookie {}", process.pid, printable(game.app_id), reason,
                         grant->cookie));
        held_.insert_or_assign(process.pid,
                               Held{process, grant->cookie, std::move(grant->pidfd), grant->held_at_ticks, game.pid});
        return true;
    }
    const auto& failure = std::get<Failure>(result);
    switch (failure.code) {
    case ExitCode::no_such_target: return true;  // exited meanwhile
    case ExitCode::limit_exceeded:
        // The user's cap or hold rate in the daemon: time (or a hold
        // ending) makes room, so ask again later.
        report_short_of_budget(failure.text);
        retry_wanted_ = true;
        return false;
    case ExitCode::daemon_not_running:
        log_(fmt::format("not holding games: {}; waiting for it", failure.text));
        daemon_missing_ = true;
        return false;
    default:
        // Refused for a reason that will not change (another uid's process,
        // a setuid game): not asked again.
        refused_.emplace(process.pid, process.start_ticks);
        log_(fmt::format("not holding pid {} ({}): {}", process.pid, printable(game.app_id),
                         failure_text("hold", failure)));
        return true;
    }
}

void GameModeFollower::release(const Held& held) {
    const auto failure = service_.release(held.cookie);
    // Already ended (its process exited, the daemon restarted): nothing to do.
    if (failure && failure->code != ExitCode::no_such_target && failure->code != ExitCode::daemon_not_running) {
        log_(fmt::format("releasing pid {}: {}", held.process.pid, failure_text("release", *failure)));
        return;
    }
    log_(fmt::format("released pid {} (cookie {})", held.process.pid, held.cookie));
}

void GameModeFollower::report_short_of_budget(std::string_view why) {
    // Once per shortage, not at every retry.
    if (!short_of_budget_) {
        log_(fmt::format("not holding every process of the games: {}", printable(why)));
    }
    short_of_budget_ = true;
}

}  // namespace rustland::ctl
