#include "service/hold_registry.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

namespace rustland::service {

HoldRegistry::HoldRegistry(ExitProbe exited) : exited_(std::move(exited)) {}

HoldRegistry::Outcome HoldRegistry::hold(pid_t tgid, UniqueFd pidfd, uid_t holder) {
    std::lock_guard lock(mutex_);
    if (const auto found = held_.find(tgid); found != held_.end()) {
        ++found->second.holds;
        return Outcome::Held;
    }
    if (sink_ && !write_to_sink(tgid, holder))
        return Outcome::SinkFull;
    // Exited since the caller resolved it: its pid may already be another
    // process's, which must not stay in the sink.
    if (exited_(pidfd.get())) {
        if (sink_)
            sink_->release(tgid);
        return Outcome::Exited;
    }
    held_.emplace(tgid, Entry{std::move(pidfd), holder, 1});
    return Outcome::Held;
}

// Holds come before inherited entries: a full sink makes room (several
// times if the dispatcher refills it meanwhile) before a hold is refused.
bool HoldRegistry::write_to_sink(pid_t tgid, uid_t holder) {
    bool written = sink_->hold(tgid, holder);
    for (int pass = 0; !written && pass < 4 && make_room(); ++pass)
        written = sink_->hold(tgid, holder);
    return written;
}

// Drops the inherited entries of the uid with the most of them, so one
// user's fork storm cannot block another user's or root's hold. False if
// nothing was inherited.
bool HoldRegistry::make_room() {
    std::map<uid_t, std::vector<pid_t>> inherited;
    for (const auto& [key, held_tgid] : sink_->entries()) {
        if (key == held_tgid)
            continue;
        const auto holder = held_.find(held_tgid);
        inherited[holder == held_.end() ? 0 : holder->second.holder].push_back(key);
    }
    const auto most = std::max_element(inherited.begin(), inherited.end(),
                                       [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
    if (most == inherited.end())
        return false;
    spdlog::warn("The latency hint map is full: children of processes held by uid {} lose their hint ({} of them)",
                 most->first, most->second.size());
    for (const pid_t key : most->second)
        sink_->forget(key);
    return true;
}

void HoldRegistry::release(pid_t tgid) {
    std::lock_guard lock(mutex_);
    const auto found = held_.find(tgid);
    if (found == held_.end() || --found->second.holds > 0)
        return;
    held_.erase(found);
    if (sink_)
        sink_->release(tgid);
}

bool HoldRegistry::exited(pid_t tgid) const {
    std::lock_guard lock(mutex_);
    const auto found = held_.find(tgid);
    return found != held_.end() && exited_(found->second.pidfd.get());
}

std::vector<HoldRegistry::HeldProcess> HoldRegistry::held() const {
    std::lock_guard lock(mutex_);
    std::vector<HeldProcess> processes;
    processes.reserve(held_.size());
    for (const auto& [tgid, entry] : held_)
        processes.push_back({tgid, entry.pidfd.get()});
    return processes;
}

void HoldRegistry::bind(HoldSink& sink) {
    std::lock_guard lock(mutex_);
    sink_ = &sink;
    for (const auto& [tgid, entry] : held_) {
        // Exited, its holds not yet ended by the caller: the pid may be another process's now.
        if (exited_(entry.pidfd.get()))
            continue;
        if (!sink.hold(tgid, entry.holder))
            spdlog::warn("The latency hint map is full: process {} is held but not in it", tgid);
    }
}

void HoldRegistry::unbind() {
    std::lock_guard lock(mutex_);
    sink_ = nullptr;
}

}  // namespace rustland::service
