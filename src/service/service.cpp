#include "service/service.h"

#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sdbus_compat.h>
#include <spdlog/spdlog.h>

#include "common/event_queue.h"
#include "common/stack_thread.h"
#include "rustland1_adaptor.h"
#include "rustland1_names.h"
#include "service/authorization.h"
#include "service/errors.h"
#include "service/target.h"
#include "version.h"

namespace rustland::service {
namespace {

using dbus_names::kBusName;
using dbus_names::kObjectPath;
constexpr const char* kInterface = org::scx::Rustland1_adaptor::INTERFACE_NAME;
constexpr const char* kReloadAction = "org.scx.rustland.reload";
constexpr const char* kDbusName = "org.freedesktop.DBus";
constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kPolkitAllowUserInteraction = 1;
constexpr auto kCountersInterval = std::chrono::seconds(1);
// How often the uids of held processes are read again: a held process that
// becomes another user (setresuid, exec of a setuid program) loses its
// non-root holds within this time.
constexpr auto kCredentialsRecheckInterval = std::chrono::milliseconds(500);
// Bus messages handled per turn of the loop before pidfds and the mailbox
// are looked at again: a flood of calls cannot delay an exit or stop().
constexpr int kMessagesPerTurn = 32;
// Callers whose uid is remembered (until they leave the bus); beyond this
// the bus is asked on every call. The system bus allows 2048 connections.
constexpr std::size_t kMaxRememberedCallers = 4096;
// Reloads waiting for polkit in all: half of what dbus-daemon lets one
// connection have pending (128), so the credentials lookups still fit.
constexpr unsigned kMaxPendingAuthorizations = 64;
// Warnings about misbehaving clients: at most this many per window, then
// one summary, so a hostile client cannot bury the scheduler's messages.
constexpr unsigned kWarningsPerWindow = 10;
constexpr auto kWarningWindow = std::chrono::seconds(60);
// The daemon locks all its memory (mlockall): a default 8 MiB thread stack
// would all be resident. sd-bus and our handlers need far less.
constexpr std::size_t kThreadStack = 512 << 10;

using Clock = std::chrono::steady_clock;
using HoldRecord =
    sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string, std::int64_t, bool>;

sdbus::Error to_dbus_error(ErrorCode code, const std::string& message) {
    return sdbus::Error(dbus_compat::ErrorName{error_name(code)}, message);
}

// Warnings caused by clients, rate limited process-wide; the number
// dropped is reported with the next one let through.
template <typename... Args>
void warn_about_client(fmt::format_string<Args...> format, Args&&... args) {
    static std::mutex mutex;
    static Clock::time_point window_start;
    static unsigned in_window = 0;
    static unsigned suppressed = 0;
    std::lock_guard lock(mutex);
    const auto now = Clock::now();
    if (now - window_start >= kWarningWindow) {
        window_start = now;
        in_window = 0;
    }
    if (in_window >= kWarningsPerWindow) {
        ++suppressed;
        return;
    }
    ++in_window;
    const std::string message = fmt::format(format, std::forward<Args>(args)...);
    if (suppressed > 0)
        spdlog::warn("{} ({} similar warnings suppressed)", message, std::exchange(suppressed, 0));
    else
        spdlog::warn("{}", message);
}

// Runs a handler and turns whatever it throws into an error reply: a Refusal
// keeps its name, anything else is Failed. Nothing escapes into sd-bus's C
// callbacks, so no call can take the daemon down.
template <typename Handler>
auto guarded(const char* what, Handler&& handler) -> decltype(handler()) {
    try {
        return handler();
    } catch (const Refusal& refusal) {
        spdlog::debug("D-Bus {}: refused: {}", what, refusal.what());
        throw to_dbus_error(refusal.code(), refusal.what());
    } catch (const sdbus::Error& error) {
        warn_about_client("D-Bus {}: {}: {}", what, error.getName(), error.getMessage());
        throw to_dbus_error(ErrorCode::Failed, fmt::format("{}: {}", error.getName(), error.getMessage()));
    } catch (const std::exception& error) {
        warn_about_client("D-Bus {}: {}", what, error.what());
        throw to_dbus_error(ErrorCode::Failed, error.what());
    } catch (...) {
        warn_about_client("D-Bus {}: unknown exception", what);
        throw to_dbus_error(ErrorCode::Failed, "internal error");
    }
}

// Work posted to the service thread from other threads. Shared so that late
// callers (an Admin finishing a reload after stop()) find it closed instead
// of freed.
using Task = std::function<void()>;
using Mailbox = EventQueue<Task>;

struct Caller {
    std::string sender;  // unique bus name
    uid_t uid;
    pid_t pid;
};

struct HoldEntry {
    std::uint64_t cookie;
    pid_t tgid;
    uid_t uid;  // the caller's
    std::string app_id;
    std::string reason;
    std::int64_t since_usec;
    bool persistent;
    std::string owner;  // unique bus name of the caller
};

// Unguessable and not repeated by a restarted daemon, so that a cookie
// kept by a client can never name somebody else's hold.
std::uint64_t random_cookie() {
    std::uint64_t cookie = 0;
    while (cookie == 0) {
        if (::getrandom(&cookie, sizeof(cookie), 0) != static_cast<ssize_t>(sizeof(cookie)) && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    return cookie;
}

std::int64_t realtime_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// Everything that lives on the service thread: the bus object, holds and the
// state shown as properties. Only the service thread touches it once start()
// has run.
class Server final : public sdbus::AdaptorInterfaces<org::scx::Rustland1_adaptor> {
public:
    Server(sdbus::IConnection& bus, const Limits& limits, HoldRegistry& held, Admin& admin,
           std::shared_ptr<Mailbox> mailbox)
        : AdaptorInterfaces(bus, sdbus::ObjectPath{kObjectPath}),
          bus_(bus),
          held_(held),
          admin_(admin),
          mailbox_(std::move(mailbox)),
          authorizer_(limits),
          bus_driver_(
              sdbus::createProxy(bus, dbus_compat::ServiceName{kDbusName}, sdbus::ObjectPath{"/org/freedesktop/DBus"})),
          polkit_(sdbus::createProxy(bus, dbus_compat::ServiceName{kPolkitName}, sdbus::ObjectPath{kPolkitPath})) {
        // One match for every caller (the bus allows a connection only 512):
        // added before any call is served, so each caller's disconnect
        // reaches us after its last call.
        callers_leaving_ = dbus_compat::add_match(
            bus_,
            fmt::format("type='signal',sender='{0}',path='/org/freedesktop/DBus',interface='{0}',"
                        "member='NameOwnerChanged'",
                        kDbusName),
            [this](dbus_compat::MessageArg message) { on_name_owner_changed(message); });
        // sd-bus runs matches before it dispatches a message to the object,
        // and calls property getters without telling them who asked: this
        // is how a Get/GetAll's caller is known (and charged, once).
        property_calls_ = dbus_compat::add_match(
            bus_, fmt::format("type='method_call',path='{}',interface='org.freedesktop.DBus.Properties'", kObjectPath),
            [this](dbus_compat::MessageArg message) { on_property_call(message); });
        registerAdaptor();
    }

    ~Server() { unregisterAdaptor(); }

    // pidfds of held processes, with their tgids, for the event loop.
    void watched_pidfds(std::vector<pollfd>& fds, std::vector<pid_t>& tgids) const {
        for (const auto& process : held_.held()) {
            fds.push_back({process.pidfd, POLLIN, 0});
            tgids.push_back(process.tgid);
        }
    }

    void process_exited(pid_t tgid) { end_holds_of_target(tgid, "process-exited"); }

    void end_all_holds(const std::string& why) {
        while (!holds_.empty())
            remove_hold(holds_.begin(), why);
    }

    void set_state(const SchedulerState& state) {
        std::vector<std::string> changed;
        if (state.state != state_.state)
            changed.emplace_back("State");
        if (state.reason != state_.reason)
            changed.emplace_back("StateReason");
        if (state.ops_name != state_.ops_name)
            changed.emplace_back("OpsName");
        state_ = state;
        if (!changed.empty())
            emit_properties_changed(changed);
    }

    void set_counters(const std::map<std::string, std::uint64_t>& counters) { counters_ = counters; }

    // Signals a counters change at most once per kCountersInterval; returns
    // when to look again (nullopt: nothing pending).
    std::optional<Clock::time_point> flush_counters(Clock::time_point now) {
        if (counters_ == signalled_counters_)
            return std::nullopt;
        if (last_counters_signal_ && now < *last_counters_signal_ + kCountersInterval)
            return *last_counters_signal_ + kCountersInterval;
        signalled_counters_ = counters_;
        last_counters_signal_ = now;
        emit_properties_changed({"Counters"});
        return std::nullopt;
    }

    void set_limits(const Limits& limits) { authorizer_.set_limits(limits); }

    // Ends the non-root holds of processes that now run (or could switch)
    // as another uid; returns when to look again (nullopt: no such holds).
    std::optional<Clock::time_point> recheck_credentials(Clock::time_point now) {
        const bool any_user_hold =
            std::any_of(holds_.begin(), holds_.end(), [](const auto& entry) { return entry.second.uid != 0; });
        if (!any_user_hold)
            return std::nullopt;
        if (now < next_credentials_check_)
            return next_credentials_check_;
        // A copy: ending the holds below may release a process.
        for (const auto& process : held_.held()) {
            const pid_t tgid = process.tgid;
            std::optional<ProcessUids> uids;
            try {
                uids = current_uids(tgid);
            } catch (const Refusal& refusal) {
                warn_about_client("D-Bus: cannot check the uids of held process {}: {}", tgid, refusal.what());
                continue;
            }
            // Gone, or /proc showed a successor: the pidfd ends the holds.
            if (!uids || held_.exited(tgid))
                continue;
            end_holds_of_target_if(tgid, "credentials-changed",
                                   [&](const HoldEntry& hold) { return !Authorizer::may_keep_hold(hold.uid, *uids); });
        }
        next_credentials_check_ = now + kCredentialsRecheckInterval;
        return next_credentials_check_;
    }

private:
    // --- org.scx.Rustland1 methods ---

    std::uint64_t Hold(const sdbus::UnixFd& pidfd, const std::string& app_id, const std::string& reason,
                       const std::map<std::string, sdbus::Variant>& options) override {
        return guarded("Hold",
                       [&] { return add_hold([&] { return resolve_pidfd(pidfd.get()); }, app_id, reason, options); });
    }

    std::uint64_t HoldPid(const std::uint32_t& pid, const std::string& app_id, const std::string& reason,
                          const std::map<std::string, sdbus::Variant>& options) override {
        return guarded("HoldPid", [&] { return add_hold([&] { return resolve_pid(pid); }, app_id, reason, options); });
    }

    void Release(const std::uint64_t& cookie) override {
        guarded("Release", [&] {
            const Caller caller = admit();
            const auto found = holds_.find(cookie);
            if (found == holds_.end())
                throw Refusal(ErrorCode::NoSuchHold, fmt::format("no hold has cookie {}", cookie));
            Authorizer::check_release(caller.uid, found->second.uid);
            remove_hold(found, "released");
        });
    }

    void Reload(sdbus::Result<>&& result) override {
        auto shared = std::make_shared<sdbus::Result<>>(std::move(result));
        try {
            guarded("Reload", [&] {
                const Caller caller = admit();
                if (Authorizer::reload_needs_polkit(caller.uid))
                    ask_polkit_then_reload(caller, shared);
                else
                    reload(shared);
            });
        } catch (const sdbus::Error& error) {
            reply_error(*shared, error);
        }
    }

    // --- properties ---

    // Property reads are charged once per Get/GetAll (on_property_call);
    // reads for a PropertiesChanged signal are nobody's.
    std::string State() override {
        return guarded("State", [&] { return charged_read(state_.state); });
    }
    std::string StateReason() override {
        return guarded("StateReason", [&] { return charged_read(state_.reason); });
    }
    std::string OpsName() override {
        return guarded("OpsName", [&] { return charged_read(state_.ops_name); });
    }
    std::string Version() override {
        return guarded("Version", [&] { return charged_read(std::string(kVersion)); });
    }
    std::map<std::string, std::uint64_t> Counters() override {
        return guarded("Counters", [&] { return charged_read(counters_); });
    }

    // Root and a hold's own uid see its app_id and reason; everyone else
    // (and every signal, which goes to everyone) sees them empty.
    std::vector<HoldRecord> Holds() override {
        return guarded("Holds", [&] {
            const std::optional<uid_t> viewer = emitting_ ? std::nullopt : std::optional(property_reader().uid);
            std::vector<HoldRecord> records;
            records.reserve(holds_.size());
            for (const auto& [cookie, hold] : holds_) {
                const bool shown = viewer && (*viewer == 0 || *viewer == hold.uid);
                records.emplace_back(cookie, static_cast<std::uint32_t>(hold.tgid), hold.uid,
                                     shown ? hold.app_id : std::string(), shown ? hold.reason : std::string(),
                                     hold.since_usec, hold.persistent);
            }
            return records;
        });
    }

    template <typename Value>
    Value charged_read(Value value) {
        if (!emitting_)
            property_reader();
        return value;
    }

    void on_property_call(sdbus::Message& message) {
        try {
            reader_ = admit(message.getSender());
        } catch (const Refusal& refusal) {
            reader_ = refusal;
        }
    }

    // Who the Get/GetAll being answered comes from; throws its refusal.
    const Caller& property_reader() const {
        if (const auto* refusal = std::get_if<Refusal>(&reader_))
            throw *refusal;
        return std::get<Caller>(reader_);
    }

    // --- holds ---

    template <typename Resolve>
    std::uint64_t add_hold(Resolve resolve, const std::string& app_id, const std::string& reason,
                           const std::map<std::string, sdbus::Variant>& options) {
        // Cheap checks first: they need no answer from the bus.
        const HoldOptions parsed = parse_hold_options(options);
        authorizer_.check_text(app_id, reason);
        const Caller caller = admit();
        Target target = resolve();

        const auto of_caller = std::count_if(holds_.begin(), holds_.end(),
                                             [&](const auto& entry) { return entry.second.uid == caller.uid; });
        authorizer_.check_hold({caller.uid, target.uids, parsed.persistent},
                               {static_cast<unsigned>(of_caller), static_cast<unsigned>(holds_.size())}, Clock::now());
        const pid_t tgid = target.tgid;
        hold_process(std::move(target), caller.uid);

        std::uint64_t cookie = random_cookie();
        while (holds_.contains(cookie))
            cookie = random_cookie();
        // A non-persistent hold ends when its caller leaves the bus: the
        // NameOwnerChanged for that comes after this call (see the match).
        const auto& hold = holds_
                               .emplace(cookie, HoldEntry{cookie, tgid, caller.uid, app_id, reason, realtime_usec(),
                                                          parsed.persistent, caller.sender})
                               .first->second;
        spdlog::debug("D-Bus: hold {} on process {} ({}) for uid {} (pid {}){}", cookie, hold.tgid, app_id, caller.uid,
                      caller.pid, hold.persistent ? ", persistent" : "");
        // app_id and reason are for root and the holder only (Holds).
        emit_signal([&] {
            emitHoldAdded(cookie, static_cast<std::uint32_t>(hold.tgid), hold.uid, std::string(), std::string());
        });
        emit_properties_changed({"Holds"});
        return cookie;
    }

    // Counts a hold on the target's process; the registry writes the first
    // one to the scheduler's map.
    void hold_process(Target target, uid_t holder) {
        // A pid reused before we saw the old process's exit: end those holds first.
        if (held_.exited(target.tgid))
            end_holds_of_target(target.tgid, "process-exited");
        switch (held_.hold(target.tgid, std::move(target.pidfd), holder)) {
        case HoldRegistry::Outcome::Held: return;
        case HoldRegistry::Outcome::SinkFull:
            throw Refusal(ErrorCode::LimitExceeded, "the scheduler's map of latency-critical processes is full");
        case HoldRegistry::Outcome::Exited:
            throw Refusal(ErrorCode::NoSuchProcess, fmt::format("process {} exited while being held", target.tgid));
        }
    }

    void remove_hold(std::map<std::uint64_t, HoldEntry>::iterator found, const std::string& why) {
        const HoldEntry hold = std::move(found->second);
        holds_.erase(found);
        held_.release(hold.tgid);
        spdlog::debug("D-Bus: hold {} on process {} ended: {}", hold.cookie, hold.tgid, why);
        emit_signal([&] { emitHoldRemoved(hold.cookie, why); });
        emit_properties_changed({"Holds"});
    }

    void end_holds_of_target(pid_t tgid, const std::string& why) {
        end_holds_of_target_if(tgid, why, [](const HoldEntry&) { return true; });
    }

    template <typename Predicate>
    void end_holds_of_target_if(pid_t tgid, const std::string& why, Predicate&& predicate) {
        for (auto it = holds_.begin(); it != holds_.end();) {
            const auto next = std::next(it);
            if (it->second.tgid == tgid && predicate(it->second))
                remove_hold(it, why);
            it = next;
        }
    }

    void client_disconnected(const std::string& name) {
        callers_.erase(name);
        for (auto it = holds_.begin(); it != holds_.end();) {
            const auto next = std::next(it);
            if (!it->second.persistent && it->second.owner == name)
                remove_hold(it, "client-disconnected");
            it = next;
        }
    }

    // --- callers ---

    void on_name_owner_changed(sdbus::Message& message) {
        try {
            std::string name, old_owner, new_owner;
            message >> name >> old_owner >> new_owner;
            // Unique names (":1.42") are never reused: gone is gone.
            if (new_owner.empty() && name.starts_with(':'))
                client_disconnected(name);
        } catch (const std::exception& error) {
            warn_about_client("D-Bus: bad NameOwnerChanged signal: {}", error.what());
        }
    }

    std::string current_sender() {
        auto sender = dbus_compat::current_sender(getObject());
        if (!sender)
            throw Refusal(ErrorCode::Failed, "no message is being processed");
        return std::move(*sender);
    }

    // The caller as the bus knows it; never from the call's arguments.
    Caller credentials_of(const std::string& sender) {
        std::map<std::string, sdbus::Variant> credentials;
        try {
            bus_driver_->callMethod("GetConnectionCredentials")
                .onInterface(kDbusName)
                .withArguments(sender)
                .storeResultsTo(credentials);
        } catch (const sdbus::Error& error) {
            // Mostly a caller that left right after calling: not worth a warning.
            throw Refusal(ErrorCode::PermissionDenied, fmt::format("the bus does not know {} ({}: {})", sender,
                                                                   error.getName(), error.getMessage()));
        }
        const auto uid = credentials.find("UnixUserID");
        if (uid == credentials.end() || !uid->second.containsValueOfType<std::uint32_t>())
            throw Refusal(ErrorCode::PermissionDenied, fmt::format("the bus does not know the uid of {}", sender));
        const auto pid = credentials.find("ProcessID");
        const bool has_pid = pid != credentials.end() && pid->second.containsValueOfType<std::uint32_t>();
        return {sender, uid->second.get<std::uint32_t>(),
                has_pid ? static_cast<pid_t>(pid->second.get<std::uint32_t>()) : 0};
    }

    // The bus is asked once per connection: a unique name keeps its uid
    // until it leaves the bus, when NameOwnerChanged forgets it.
    Caller identify(const std::string& sender) {
        if (const auto known = callers_.find(sender); known != callers_.end())
            return known->second;
        Caller caller = credentials_of(sender);
        if (callers_.size() < kMaxRememberedCallers)
            callers_.emplace(sender, caller);
        return caller;
    }

    // Who calls, charged to its uid's call budget: the first thing every
    // method and property read does after checking its arguments.
    Caller admit(const std::string& sender) {
        Caller caller = identify(sender);
        authorizer_.check_call(caller.uid, Clock::now());
        return caller;
    }
    Caller admit() { return admit(current_sender()); }

    // --- reload ---

    void ask_polkit_then_reload(const Caller& caller, const std::shared_ptr<sdbus::Result<>>& result) {
        const unsigned total = std::accumulate(pending_authorizations_.begin(), pending_authorizations_.end(), 0u,
                                               [](unsigned sum, const auto& entry) { return sum + entry.second; });
        if (total >= kMaxPendingAuthorizations)
            throw Refusal(ErrorCode::LimitExceeded,
                          fmt::format("{} reloads already wait for polkit, the most the daemon keeps", total));
        authorizer_.check_pending_authorizations(caller.uid, pending_authorizations_[caller.uid]);
        using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
        using Answer = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
        const Subject subject{std::string("system-bus-name"),
                              std::map<std::string, sdbus::Variant>{{"name", sdbus::Variant(caller.sender)}}};
        try {
            polkit_->callMethodAsync("CheckAuthorization")
                .onInterface(kPolkitInterface)
                .withTimeout(authorizer_.limits().authorization_timeout)
                .withArguments(subject, std::string(kReloadAction), std::map<std::string, std::string>{},
                               kPolkitAllowUserInteraction, std::string())
                .uponReplyInvoke([this, result, uid = caller.uid](dbus_compat::AsyncError error, const Answer& answer) {
                    if (--pending_authorizations_[uid] == 0)
                        pending_authorizations_.erase(uid);
                    on_polkit_answer(result, uid, dbus_compat::error_pointer(error), answer);
                });
        } catch (const sdbus::Error& error) {
            if (pending_authorizations_[caller.uid] == 0)
                pending_authorizations_.erase(caller.uid);
            throw polkit_unreachable(error);
        }
        ++pending_authorizations_[caller.uid];
    }

    static Refusal polkit_unreachable(const sdbus::Error& error) {
        return Refusal(ErrorCode::PermissionDenied,
                       fmt::format("only root may reload: polkit could not be asked ({}: {})", error.getName(),
                                   error.getMessage()));
    }

    void on_polkit_answer(const std::shared_ptr<sdbus::Result<>>& result, uid_t uid, const sdbus::Error* error,
                          const sdbus::Struct<bool, bool, std::map<std::string, std::string>>& answer) {
        try {
            guarded("Reload", [&] {
                if (error != nullptr)
                    throw polkit_unreachable(*error);
                if (!std::get<0>(answer))
                    throw Refusal(ErrorCode::PermissionDenied,
                                  fmt::format("polkit does not authorize uid {} for {}", uid, kReloadAction));
                reload(result);
            });
        } catch (const sdbus::Error& refused) {
            reply_error(*result, refused);
        }
    }

    // Asks the daemon to reload; the answer is sent from the service thread
    // whenever (and from whichever thread) the daemon reports back. The
    // pending reply (an sd-bus message) stays here: the daemon's callback
    // carries only its number, so no sd-bus object is ever released on
    // another thread or after the connection is gone.
    void reload(const std::shared_ptr<sdbus::Result<>>& result) {
        const std::uint64_t id = next_reload_++;
        pending_reloads_.emplace(id, result);
        admin_.reload([mailbox = mailbox_, server = this, id](std::string problems) {
            mailbox->post([server, id, problems = std::move(problems)] { server->answer_reload(id, problems); });
        });
    }

    void answer_reload(std::uint64_t id, const std::string& problems) {
        const auto found = pending_reloads_.find(id);
        if (found == pending_reloads_.end())
            return;
        const auto result = std::move(found->second);
        pending_reloads_.erase(found);
        if (problems.empty())
            result->returnResults();
        else
            reply_error(*result, to_dbus_error(ErrorCode::BadConfig, problems));
    }

    static void reply_error(const sdbus::Result<>& result, const sdbus::Error& error) {
        try {
            result.returnError(error);
        } catch (const sdbus::Error& failed) {
            spdlog::warn("D-Bus: cannot send the Reload error: {}", failed.getMessage());
        }
    }

    // --- emission ---

    template <typename Emit>
    void emit_signal(Emit&& emit) {
        try {
            emit();
        } catch (const sdbus::Error& error) {
            warn_about_client("D-Bus: cannot emit a signal: {}", error.getMessage());
        }
    }

    // The getters called for the signal's values see emitting_ and give
    // what everyone may see.
    void emit_properties_changed(const std::vector<std::string>& names) {
        emitting_ = true;
        const dbus_compat::PropertyNames properties(names.begin(), names.end());
        emit_signal(
            [&] { getObject().emitPropertiesChangedSignal(dbus_compat::InterfaceName{kInterface}, properties); });
        emitting_ = false;
    }

    sdbus::IConnection& bus_;
    HoldRegistry& held_;
    Admin& admin_;
    std::shared_ptr<Mailbox> mailbox_;
    Authorizer authorizer_;

    SchedulerState state_;
    std::map<std::string, std::uint64_t> counters_;
    std::map<std::string, std::uint64_t> signalled_counters_;
    std::optional<Clock::time_point> last_counters_signal_;

    std::map<std::uint64_t, HoldEntry> holds_;
    std::unordered_map<std::string, Caller> callers_;                            // by unique name, until it leaves
    std::map<uid_t, unsigned> pending_authorizations_;                           // Reloads waiting for polkit, per uid
    std::map<std::uint64_t, std::shared_ptr<sdbus::Result<>>> pending_reloads_;  // waiting for the daemon
    std::uint64_t next_reload_ = 0;
    Clock::time_point next_credentials_check_{};
    bool emitting_ = false;
    std::variant<Caller, Refusal> reader_{Refusal(ErrorCode::Failed, "no property read is being answered")};
    sdbus::Slot callers_leaving_;
    sdbus::Slot property_calls_;

    // Last: destroyed first, cancelling calls whose callbacks use the above.
    std::unique_ptr<sdbus::IProxy> bus_driver_;
    std::unique_ptr<sdbus::IProxy> polkit_;
};

struct Service::Impl {
    Impl(std::unique_ptr<sdbus::IConnection> connection, const Limits& limits, HoldRegistry& held, Admin& admin)
        : bus(std::move(connection)),
          mailbox(std::make_shared<Mailbox>()),
          server(std::make_unique<Server>(*bus, limits, held, admin, mailbox)) {}

    ~Impl() {
        mailbox->close();
        server.reset();  // before the connection it is registered on (if run() did not)
    }

    void post(Task task) { mailbox->post(std::move(task)); }

    void run();
    void run_tasks();

    std::unique_ptr<sdbus::IConnection> bus;
    std::shared_ptr<Mailbox> mailbox;
    std::unique_ptr<Server> server;
    std::optional<StackThread> thread;
    std::mutex lifecycle;  // start() and stop() from different threads
    bool started = false;
    bool running = true;  // service thread only
    bool bus_ok = true;   // service thread only
};

void Service::Impl::run_tasks() {
    for (auto& task : mailbox->take()) {
        try {
            task();
        } catch (const std::exception& error) {
            spdlog::warn("D-Bus service: {}", error.what());
        }
    }
}

namespace {

// Waits until `due` at the latest (nullopt: no deadline).
void shorten_timeout(int& timeout_ms, std::optional<Clock::time_point> due) {
    if (!due)
        return;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - Clock::now()).count();
    const int due_ms = static_cast<int>(std::clamp<decltype(wait)>(wait, 0, INT_MAX));
    timeout_ms = timeout_ms < 0 ? due_ms : std::min(timeout_ms, due_ms);
}

}  // namespace

void Service::Impl::run() {
    std::vector<pollfd> fds;
    std::vector<pid_t> tgids;
    std::optional<Clock::time_point> counters_due;
    std::optional<Clock::time_point> credentials_due;
    while (running) {
        bool more_messages = false;
        if (bus_ok) {
            try {
                int handled = 0;
                while (handled < kMessagesPerTurn && dbus_compat::process_pending(*bus))
                    ++handled;
                more_messages = handled == kMessagesPerTurn;
            } catch (const sdbus::Error& error) {
                // Scheduling goes on; holds still end when their processes exit.
                spdlog::error("D-Bus service: the bus connection failed ({}); the D-Bus API is gone",
                              error.getMessage());
                bus_ok = false;
            }
        }

        // After the calls just served, which may have added holds.
        credentials_due = server->recheck_credentials(Clock::now());

        fds.assign({{mailbox->fd(), POLLIN, 0}});
        int timeout_ms = -1;
        if (bus_ok) {
            timeout_ms = dbus_compat::add_poll_fds(*bus, fds);
        }
        shorten_timeout(timeout_ms, counters_due);
        shorten_timeout(timeout_ms, credentials_due);
        if (more_messages)
            timeout_ms = 0;
        const std::size_t first_pidfd = fds.size();
        tgids.clear();
        server->watched_pidfds(fds, tgids);

        if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
            spdlog::error("D-Bus service: poll failed: {}", std::strerror(errno));
            continue;
        }
        if (fds[0].revents != 0)
            run_tasks();
        for (std::size_t i = first_pidfd; running && i < fds.size(); ++i) {
            if (fds[i].revents != 0)
                server->process_exited(tgids[i - first_pidfd]);
        }
        if (!running)
            break;
        counters_due = server->flush_counters(Clock::now());
    }
    // Unregister, then close the connection here, flushing the last signals.
    server.reset();
    bus.reset();
}

Service::Service(std::unique_ptr<sdbus::IConnection> bus, const Limits& limits, HoldRegistry& held, Admin& admin)
    : impl_(std::make_unique<Impl>(std::move(bus), limits, held, admin)) {}

Service::~Service() { stop(); }

void Service::start() {
    std::lock_guard lock(impl_->lifecycle);
    if (impl_->started)
        return;
    impl_->bus->requestName(dbus_compat::ServiceName{kBusName});
    impl_->started = true;
    impl_->thread.emplace(kThreadStack, [impl = impl_.get()] { impl->run(); });
}

void Service::stop() {
    std::lock_guard lock(impl_->lifecycle);
    if (!impl_->thread)
        return;
    impl_->post([impl = impl_.get()] {
        impl->server->end_all_holds("daemon-stopping");
        if (impl->bus_ok) {
            try {
                impl->bus->releaseName(dbus_compat::ServiceName{kBusName});
            } catch (const sdbus::Error& error) {
                spdlog::warn("D-Bus service: cannot release {}: {}", kBusName, error.getMessage());
            }
        }
        impl->running = false;
    });
    impl_->thread.reset();  // joins
    impl_->mailbox->close();
}

void Service::set_state(const SchedulerState& state) {
    impl_->post([impl = impl_.get(), state] { impl->server->set_state(state); });
}

void Service::set_counters(const std::map<std::string, std::uint64_t>& counters) {
    impl_->post([impl = impl_.get(), counters] { impl->server->set_counters(counters); });
}

void Service::set_limits(const Limits& limits) {
    impl_->post([impl = impl_.get(), limits] { impl->server->set_limits(limits); });
}

}  // namespace rustland::service
