#include "service/authorization.h"

#include <algorithm>

#include <fmt/format.h>

#include "service/errors.h"

namespace rustland::service {

HoldOptions parse_hold_options(const std::map<std::string, sdbus::Variant>& options) {
    HoldOptions parsed;
    for (const auto& [key, value] : options) {
        if (key != "persistent")
            throw Refusal(ErrorCode::InvalidArgument,
                          fmt::format("unknown option \"{}\" (known: \"persistent\")", key));
        if (!value.containsValueOfType<bool>())
            throw Refusal(
                ErrorCode::InvalidArgument,
                fmt::format("option \"persistent\" must be a boolean (b), not \"{}\"", value.peekValueType()));
        parsed.persistent = value.get<bool>();
    }
    return parsed;
}

void Authorizer::check_text(const std::string& app_id, const std::string& reason) const {
    for (const auto& [field, text] : {std::pair{"app_id", &app_id}, std::pair{"reason", &reason}}) {
        if (text->size() > limits_.max_text_bytes)
            throw Refusal(ErrorCode::InvalidArgument, fmt::format("{} is {} bytes; at most {} are allowed", field,
                                                                  text->size(), limits_.max_text_bytes));
    }
}

void Authorizer::check_hold(const HoldRequest& request, LiveHolds live, Clock::time_point now) {
    const bool root = request.caller_uid == 0;
    if (!root && !holds_budget_.take(request.caller_uid, limits_.rate_burst, limits_.rate_per_second, now))
        throw Refusal(ErrorCode::LimitExceeded,
                      fmt::format("uid {} makes hold requests too fast (burst {}, {}/s)", request.caller_uid,
                                  limits_.rate_burst, limits_.rate_per_second));
    if (request.persistent && !root)
        throw Refusal(ErrorCode::PermissionDenied, "only root may make a persistent hold");
    if (!may_keep_hold(request.caller_uid, request.target))
        throw Refusal(
            ErrorCode::PermissionDenied,
            fmt::format("uid {} may hold only its own processes; the target runs as "
                        "real uid {}, effective uid {}, saved uid {}",
                        request.caller_uid, request.target.real, request.target.effective, request.target.saved));
    if (live.total >= limits_.max_holds_total)
        throw Refusal(ErrorCode::LimitExceeded,
                      fmt::format("{} holds are live, the most the daemon keeps", live.total));
    if (!root && live.of_caller >= limits_.max_holds_per_uid)
        throw Refusal(ErrorCode::LimitExceeded,
                      fmt::format("uid {} already has {} live holds, the most allowed per user", request.caller_uid,
                                  live.of_caller));
}

void Authorizer::check_call(uid_t caller_uid, Clock::time_point now) {
    if (caller_uid != 0 && !calls_budget_.take(caller_uid, limits_.call_burst, limits_.call_rate_per_second, now))
        throw Refusal(ErrorCode::LimitExceeded, fmt::format("uid {} calls too fast (burst {}, {}/s)", caller_uid,
                                                            limits_.call_burst, limits_.call_rate_per_second));
}

void Authorizer::check_pending_authorizations(uid_t caller_uid, unsigned pending) const {
    if (pending >= limits_.max_pending_authorizations_per_uid)
        throw Refusal(
            ErrorCode::LimitExceeded,
            fmt::format("uid {} already waits for {} polkit answers, the most allowed per user", caller_uid, pending));
}

void Authorizer::check_release(uid_t caller_uid, uid_t owner_uid) {
    if (caller_uid != 0 && caller_uid != owner_uid)
        throw Refusal(ErrorCode::PermissionDenied,
                      fmt::format("the hold belongs to uid {}; uid {} may not release it", owner_uid, caller_uid));
}

bool Authorizer::Budget::take(uid_t uid, double burst, double per_second, Clock::time_point now) {
    const auto refill = [&](const Bucket& bucket) {
        const std::chrono::duration<double> elapsed = now - bucket.refilled;
        return std::min(burst, bucket.tokens + std::max(0.0, elapsed.count()) * per_second);
    };
    // Full buckets carry no information: drop them so the map stays small.
    std::erase_if(buckets_, [&](const auto& entry) { return refill(entry.second) >= burst; });
    auto found = buckets_.find(uid);
    const double tokens = found == buckets_.end() ? burst : refill(found->second);
    if (tokens < 1.0) {
        if (found != buckets_.end())
            found->second = {tokens, now};
        return false;
    }
    buckets_.insert_or_assign(uid, Bucket{tokens - 1.0, now});
    return true;
}

}  // namespace rustland::service
