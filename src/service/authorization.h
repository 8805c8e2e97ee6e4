// Who may do what: every authorization decision of the service is made here,
// from the bus's credentials of the caller and facts about the target, never
// from anything the caller claims. Pure logic (the clock is passed in), so it
// is unit-tested on its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include <sdbus-c++/Types.h>

#include "service/service.h"

namespace rustland::service {

struct HoldOptions {
    bool persistent = false;  // outlives the caller's bus connection
};

// The a{sv} options of Hold/HoldPid. Throws Refusal(InvalidArgument) on an
// unknown key or a value of the wrong type.
HoldOptions parse_hold_options(const std::map<std::string, sdbus::Variant>& options);

// A process's real, effective and saved uids (/proc/<pid>/status).
struct ProcessUids {
    uid_t real;
    uid_t effective;
    uid_t saved;

    // True if all three are `uid`: the process can neither be nor become
    // anyone else without exec'ing a setuid program.
    bool all_are(uid_t uid) const { return real == uid && effective == uid && saved == uid; }
};

struct HoldRequest {
    uid_t caller_uid;
    ProcessUids target;
    bool persistent;
};

// Live holds at the time of the request.
struct LiveHolds {
    unsigned of_caller;  // owned by the caller's uid
    unsigned total;
};

class Authorizer {
public:
    using Clock = std::chrono::steady_clock;

    explicit Authorizer(const Limits& limits) : limits_(limits) {}
    // New limits apply to later requests; live holds above a lowered cap stay.
    void set_limits(const Limits& limits) { limits_ = limits; }
    const Limits& limits() const { return limits_; }

    // Throws Refusal(InvalidArgument) when app_id or reason is too long.
    void check_text(const std::string& app_id, const std::string& reason) const;

    // Throws Refusal(PermissionDenied | LimitExceeded) unless the hold may be
    // added. Every request of a non-root caller that gets here spends one
    // token of its uid's budget (rtkit style: refused requests count too, so
    // probing is rate limited as well).
    void check_hold(const HoldRequest& request, LiveHolds live, Clock::time_point now);

    // Throws Refusal(PermissionDenied) unless `caller_uid` may end a hold
    // owned by `owner_uid`.
    static void check_release(uid_t caller_uid, uid_t owner_uid);

    // Throws Refusal(LimitExceeded) when a non-root uid has spent its call
    // budget. Charged for every method call and property read, before any
    // other work.
    void check_call(uid_t caller_uid, Clock::time_point now);

    // Throws Refusal(LimitExceeded) when `caller_uid` already has `pending`
    // authorizations waiting for polkit.
    void check_pending_authorizations(uid_t caller_uid, unsigned pending) const;

    // Root reloads directly; everyone else needs polkit's yes.
    static bool reload_needs_polkit(uid_t caller_uid) { return caller_uid != 0; }

    // True while a non-root holder may keep its hold on a process with
    // these uids (checked again periodically: a process can become root).
    static bool may_keep_hold(uid_t holder_uid, const ProcessUids& target) {
        return holder_uid == 0 || target.all_are(holder_uid);
    }

private:
    // Token buckets per uid: `burst` at once, refilled at `per_second`.
    class Budget {
    public:
        // Takes one token from `uid`'s bucket; false when it is empty.
        bool take(uid_t uid, double burst, double per_second, Clock::time_point now);

    private:
        struct Bucket {
            double tokens;
            Clock::time_point refilled;
        };
        // Only uids whose bucket is not full: bounded by the callers of
        // the last burst/rate seconds.
        std::map<uid_t, Bucket> buckets_;
    };

    Limits limits_;
    Budget holds_budget_;
    Budget calls_budget_;
};

}  // namespace rustland::service
