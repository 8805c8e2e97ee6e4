// What `scx-rustlandctl follow-gamemode` decides, without the buses: which
// processes of the games GameMode registered to hold, and which holds to end.
//
// The rule (reconcile()): every registered game, and every process below it,
// must be latency-critical. A process is so if it is held, or if it was
// forked after an ancestor's hold began (the scheduler passes the hint to
// children forked while held). So a game gets one hold, and each process it
// had forked before that hold gets one too; a registered game below a held
// one (gamemoderun's LD_PRELOAD registers every program a game runs) needs
// none. A hold ends when its process is neither under a registered game nor
// taken for one that is still registered.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/unique_fd.h"
#include "ctl/errors.h"
#include "ctl/process_tree.h"

namespace rustland::ctl {

// A game as gamemoded announced it.
struct Game {
    pid_t pid = 0;
    std::string app_id;  // the basename of its executable
};

// A hold the daemon granted.
struct HoldGrant {
    std::uint64_t cookie = 0;
    UniqueFd pidfd;                   // readable once the process has exited
    std::uint64_t held_at_ticks = 0;  // boot_clock_ticks() once the daemon answered
};

// org.scx.Rustland1 as the follower uses it.
class HoldService {
public:
    virtual ~HoldService() = default;
    // Holds exactly `process` (not a process that reused its pid).
    virtual std::variant<HoldGrant, Failure> hold(const ProcessInfo& process, const std::string& app_id,
                                                  const std::string& reason) = 0;
    virtual std::optional<Failure> release(std::uint64_t cookie) = 0;
};

class GameModeFollower {
public:
    using Snapshotter = std::function<ProcessSnapshot()>;
    using Logger = std::function<void(std::string_view line)>;

    // At most `max_holds` holds at once, so that the games leave some of the
    // user's per-user budget in the daemon to other clients.
    GameModeFollower(HoldService& service, Snapshotter snapshot, Logger log, std::size_t max_holds);

    // gamemoded's ListGames, when it (re)appears: the games it knows replace ours.
    void games_listed(std::vector<Game> games);
    void game_registered(Game game);
    void game_unregistered(pid_t pid);
    // gamemoded left the bus: its registrations went with it.
    void gamemode_vanished();
    // The daemon left the bus (its holds ended with it) / came back.
    void daemon_vanished();
    void daemon_appeared();
    // A held process's pidfd became readable: the daemon ended its hold.
    void process_exited(pid_t pid);
    // Tries again what the daemon refused for lack of budget.
    void retry();

    // Some process still needs a hold the daemon refused for lack of budget.
    bool wants_retry() const { return retry_wanted_; }
    // pidfd -> pid of every held process.
    std::vector<std::pair<int, pid_t>> watched_pidfds() const;
    // pid -> cookie of every hold.
    std::map<pid_t, std::uint64_t> holds() const;

private:
    struct Held {
        ProcessInfo process;
        std::uint64_t cookie = 0;
        UniqueFd pidfd;
        std::uint64_t held_at_ticks = 0;
        pid_t game = 0;  // the registered game it was taken for
    };
    void reconcile();
    // Whether `process` is latency-critical through the holds in `held_`.
    bool covered(const ProcessSnapshot& snapshot, const ProcessInfo& process) const;
    // Asks the daemon; false when the pass must stop (no budget, no daemon).
    bool hold(const ProcessInfo& process, const Game& game);
    void release(const Held& held);
    void report_short_of_budget(std::string_view why);

    HoldService& service_;
    Snapshotter snapshot_;
    Logger log_;
    std::size_t max_holds_;
    std::map<pid_t, Game> games_;
    std::map<pid_t, Held> held_;
    // Processes the daemon refused for good (another user's, say): not asked again.
    std::set<std::pair<pid_t, std::uint64_t>> refused_;
    bool daemon_missing_ = false;
    bool retry_wanted_ = false;     // the daemon refused for lack of budget
    bool short_of_budget_ = false;  // said so in the log already
};

}  // namespace rustland::ctl
