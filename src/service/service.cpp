#include "service/service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sdbus-c++/sdbus-c++.h>

#include "rustland1_adaptor.h"
#include "service/authorization.h"
#include "service/errors.h"
#include "service/target.h"
#include "version.h"

namespace rustland::service {
namespace {

constexpr const char* kBusName = "org.scx.Rustland1";
constexpr const char* kObjectPath = "/org/scx/Rustland1";
constexpr const char* kInterface = "org.scx.Rustland1";
constexpr const char* kReloadAction = "org.scx.rustland.reload";
constexpr const char* kDbusName = "org.freedesktop.DBus";
constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kPolkitAllowUserInteraction = 1;
constexpr auto kCountersInterval = std::chrono::seconds(1);

using Clock = std::chrono::steady_clock;
using HoldRecord = sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string,
                                 std::int64_t, bool>;

sdbus::Error to_dbus_error(ErrorCode code, const std::string& message) {
    return sdbus::Error(error_name(code), message);
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
        spdlog::warn("D-Bus {}: {}: {}", what, error.getName(), error.getMessage());
        throw to_dbus_error(ErrorCode::Failed, fmt::format("{}: {}", error.getName(), error.getMessage()));
    } catch (const std::exception& error) {
        spdlog::warn("D-Bus {}: {}", what, error.what());
        throw to_dbus_error(ErrorCode::Failed, error.what());
    } catch (...) {
        spdlog::warn("D-Bus {}: unknown exception", what);
        throw to_dbus_error(ErrorCode::Failed, "internal error");
    }
}

// Work posted to the service thread from other threads. Shared so that late
// callers (an Admin finishing a reload after stop()) find it closed instead
// of freed.
class Mailbox {
public:
    using Task = std::function<void()>;

    Mailbox() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (!event_)
            throw std::system_error(errno, std::generic_category(), "eventfd");
    }

    // False (and the task dropped) once closed.
    bool post(Task task) {
        std::lock_guard lock(mutex_);
        if (closed_)
            return false;
        tasks_.push_back(std::move(task));
        const std::uint64_t one = 1;
        // Cannot fail short of a counter overflow, which would itself wake the loop.
        [[maybe_unused]] const auto written = ::write(event_.get(), &one, sizeof(one));
        return true;
    }

    std::deque<Task> take() {
        std::uint64_t count;
        [[maybe_unused]] const auto drained = ::read(event_.get(), &count, sizeof(count));
        std::lock_guard lock(mutex_);
        return std::exchange(tasks_, {});
    }

    void close() {
        std::deque<Task> dropped;
        std::lock_guard lock(mutex_);
        closed_ = true;
        dropped.swap(tasks_);
    }

    int fd() const { return event_.get(); }

private:
    UniqueFd event_;
    std::mutex mutex_;
    std::deque<Task> tasks_;
    bool closed_ = false;
};

struct Caller {
    std::string sender;  // unique bus name
    uid_t uid;
    pid_t pid;
};

struct HoldEntry {
    std::uint64_t cookie;
    pid_t tgid;
    uid_t uid;
    std::string app_id;
    std::string reason;
    std::int64_t since_usec;
    bool persistent;
    std::string owner;  // unique bus name of the caller
};

std::int64_t realtime_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// Everything that lives on the service thread: the bus object, holds and the
// state shown as properties. Only the service thread touches it once start()
// has run.
class Server final : public sdbus::AdaptorInterfaces<org::scx::Rustland1_adaptor> {
public:
    Server(sdbus::IConnection& bus, const Limits& limits, LatencyHints& hints, Admin& admin,
           std::shared_ptr<Mailbox> mailbox)
        : AdaptorInterfaces(bus, kObjectPath),
          bus_(bus),
          hints_(hints),
          admin_(admin),
          mailbox_(std::move(mailbox)),
          authorizer_(limits),
          bus_driver_(sdbus::createProxy(bus, kDbusName, "/org/freedesktop/DBus")),
          polkit_(sdbus::createProxy(bus, kPolkitName, kPolkitPath)) {
        registerAdaptor();
    }

    ~Server() { unregisterAdaptor(); }

    // pidfds of held processes, with their tgids, for the event loop.
    void watched_pidfds(std::vector<pollfd>& fds, std::vector<pid_t>& tgids) const {
        for (const auto& [tgid, target] : targets_) {
            fds.push_back({target.pidfd.get(), POLLIN, 0});
            tgids.push_back(tgid);
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

    void replay_hints() {
        for (const auto& [tgid, target] : targets_) {
            if (!hints_.mark(tgid))
                spdlog::warn("D-Bus: cannot mark held process {} again: the latency map is full", tgid);
        }
    }

private:
    struct WatchedTarget {
        UniqueFd pidfd;
        unsigned holds;
    };
    struct WatchedOwner {
        sdbus::Slot match;
        unsigned holds;
    };

    // --- org.scx.Rustland1 methods ---

    std::uint64_t Hold(const sdbus::UnixFd& pidfd, const std::string& app_id, const std::string& reason,
                       const std::map<std::string, sdbus::Variant>& options) override {
        return guarded("Hold", [&] {
            return add_hold([&] { return resolve_pidfd(pidfd.get()); }, app_id, reason, options);
        });
    }

    std::uint64_t HoldPid(const std::uint32_t& pid, const std::string& app_id, const std::string& reason,
                          const std::map<std::string, sdbus::Variant>& options) override {
        return guarded("HoldPid", [&] {
            return add_hold([&] { return resolve_pid(pid); }, app_id, reason, options);
        });
    }

    void Release(const std::uint64_t& cookie) override {
        guarded("Release", [&] {
            const Caller caller = identify_caller();
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
                const Caller caller = identify_caller();
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

    std::string State() override { return state_.state; }
    std::string StateReason() override { return state_.reason; }
    std::string OpsName() override { return state_.ops_name; }
    std::string Version() override { return kVersion; }

    std::vector<HoldRecord> Holds() override {
        return guarded("Holds", [&] {
            std::vector<HoldRecord> records;
            records.reserve(holds_.size());
            for (const auto& [cookie, hold] : holds_)
                records.emplace_back(cookie, static_cast<std::uint32_t>(hold.tgid), hold.uid, hold.app_id,
                                     hold.reason, hold.since_usec, hold.persistent);
            return records;
        });
    }

    std::map<std::string, std::uint64_t> Counters() override { return counters_; }

    // --- holds ---

    template <typename Resolve>
    std::uint64_t add_hold(Resolve resolve, const std::string& app_id, const std::string& reason,
                           const std::map<std::string, sdbus::Variant>& options) {
        const HoldOptions parsed = parse_hold_options(options);
        authorizer_.check_text(app_id, reason);
        const std::string sender = current_sender();
        // Watch for the caller's disconnect before asking who it is: if it is
        // still there when the bus answers, its going away reaches us later.
        std::optional<OwnerLease> lease;
        if (!parsed.persistent)
            lease.emplace(*this, sender);
        const Caller caller = credentials_of(sender);
        Target target = resolve();

        const auto of_caller = std::count_if(holds_.begin(), holds_.end(),
                                             [&](const auto& entry) { return entry.second.uid == caller.uid; });
        authorizer_.check_hold({caller.uid, target.real_uid, target.effective_uid, parsed.persistent},
                               {static_cast<unsigned>(of_caller), static_cast<unsigned>(holds_.size())},
                               Clock::now());
        const pid_t tgid = target.tgid;
        watch_target(std::move(target));

        const std::uint64_t cookie = next_cookie_++;
        const auto& hold =
            holds_
                .emplace(cookie, HoldEntry{cookie, tgid, caller.uid, app_id, reason, realtime_usec(),
                                           parsed.persistent, sender})
                .first->second;
        if (lease)
            lease->keep();
        spdlog::debug("D-Bus: hold {} on process {} ({}) for uid {} (pid {}){}", cookie, hold.tgid, app_id,
                      caller.uid, caller.pid, hold.persistent ? ", persistent" : "");
        emit_signal([&] {
            emitHoldAdded(cookie, static_cast<std::uint32_t>(hold.tgid), hold.uid, hold.app_id, hold.reason);
        });
        emit_properties_changed({"Holds"});
        return cookie;
    }

    // Counts a hold on the target's process; the first one marks it.
    void watch_target(Target target) {
        auto found = targets_.find(target.tgid);
        // A pid reused before we saw the old process's exit: end those holds first.
        if (found != targets_.end() && rustland::service::process_exited(found->second.pidfd.get())) {
            end_holds_of_target(target.tgid, "process-exited");
            found = targets_.end();
        }
        if (found == targets_.end()) {
            if (!hints_.mark(target.tgid))
                throw Refusal(ErrorCode::LimitExceeded,
                              "the scheduler's map of latency-critical processes is full");
            found = targets_.emplace(target.tgid, WatchedTarget{std::move(target.pidfd), 0}).first;
        }
        ++found->second.holds;
    }

    void remove_hold(std::map<std::uint64_t, HoldEntry>::iterator found, const std::string& why) {
        const HoldEntry hold = std::move(found->second);
        holds_.erase(found);
        const auto target = targets_.find(hold.tgid);
        if (target != targets_.end() && --target->second.holds == 0) {
            hints_.unmark(hold.tgid);
            targets_.erase(target);
        }
        if (!hold.persistent)
            release_owner(hold.owner);
        spdlog::debug("D-Bus: hold {} on process {} ended: {}", hold.cookie, hold.tgid, why);
        emit_signal([&] { emitHoldRemoved(hold.cookie, why); });
        emit_properties_changed({"Holds"});
    }

    void end_holds_of_target(pid_t tgid, const std::string& why) {
        for (auto it = holds_.begin(); it != holds_.end();) {
            const auto next = std::next(it);
            if (it->second.tgid == tgid)
                remove_hold(it, why);
            it = next;
        }
    }

    void client_disconnected(const std::string& name) {
        for (auto it = holds_.begin(); it != holds_.end();) {
            const auto next = std::next(it);
            if (!it->second.persistent && it->second.owner == name)
                remove_hold(it, "client-disconnected");
            it = next;
        }
    }

    // --- callers ---

    // One reference on the caller's disconnect watch; dropped unless kept.
    class OwnerLease {
    public:
        OwnerLease(Server& server, const std::string& name) : server_(server), name_(name) {
            server_.retain_owner(name_);
        }
        ~OwnerLease() {
            if (!kept_)
                server_.release_owner(name_);
        }
        OwnerLease(const OwnerLease&) = delete;
        OwnerLease& operator=(const OwnerLease&) = delete;
        void keep() { kept_ = true; }

    private:
        Server& server_;
        std::string name_;
        bool kept_ = false;
    };

    void retain_owner(const std::string& name) {
        auto found = owners_.find(name);
        if (found == owners_.end()) {
            const std::string rule = fmt::format(
                "type='signal',sender='{0}',path='/org/freedesktop/DBus',interface='{0}',"
                "member='NameOwnerChanged',arg0='{1}'",
                kDbusName, name);
            auto match = bus_.addMatch(rule, [this](sdbus::Message& message) { on_name_owner_changed(message); });
            found = owners_.emplace(name, WatchedOwner{std::move(match), 0}).first;
        }
        ++found->second.holds;
    }

    void release_owner(const std::string& name) {
        const auto found = owners_.find(name);
        if (found != owners_.end() && --found->second.holds == 0)
            owners_.erase(found);
    }

    void on_name_owner_changed(sdbus::Message& message) {
        try {
            std::string name, old_owner, new_owner;
            message >> name >> old_owner >> new_owner;
            if (new_owner.empty())
                client_disconnected(name);
        } catch (const std::exception& error) {
            spdlog::warn("D-Bus: bad NameOwnerChanged signal: {}", error.what());
        }
    }

    std::string current_sender() {
        const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
        if (message == nullptr)
            throw Refusal(ErrorCode::Failed, "no message is being processed");
        return message->getSender();
    }

    // The caller as the bus knows it; never from the call's arguments.
    Caller credentials_of(const std::string& sender) {
        std::map<std::string, sdbus::Variant> credentials;
        bus_driver_->callMethod("GetConnectionCredentials")
            .onInterface(kDbusName)
            .withArguments(sender)
            .storeResultsTo(credentials);
        const auto uid = credentials.find("UnixUserID");
        if (uid == credentials.end() || !uid->second.containsValueOfType<std::uint32_t>())
            throw Refusal(ErrorCode::PermissionDenied,
                          fmt::format("the bus does not know the uid of {}", sender));
        const auto pid = credentials.find("ProcessID");
        const bool has_pid = pid != credentials.end() && pid->second.containsValueOfType<std::uint32_t>();
        return {sender, uid->second.get<std::uint32_t>(),
                has_pid ? static_cast<pid_t>(pid->second.get<std::uint32_t>()) : 0};
    }

    Caller identify_caller() { return credentials_of(current_sender()); }

    // --- reload ---

    void ask_polkit_then_reload(const Caller& caller, const std::shared_ptr<sdbus::Result<>>& result) {
        using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
        using Answer = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
        const Subject subject{std::string("system-bus-name"),
                              std::map<std::string, sdbus::Variant>{{"name", sdbus::Variant(caller.sender)}}};
        try {
            polkit_->callMethodAsync("CheckAuthorization")
                .onInterface(kPolkitInterface)
                .withArguments(subject, std::string(kReloadAction), std::map<std::string, std::string>{},
                               kPolkitAllowUserInteraction, std::string())
                .uponReplyInvoke([this, result, uid = caller.uid](const sdbus::Error* error, const Answer& answer) {
                    on_polkit_answer(result, uid, error, answer);
                });
        } catch (const sdbus::Error& error) {
            throw polkit_unreachable(error);
        }
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
    // whenever (and from whichever thread) the daemon reports back.
    void reload(const std::shared_ptr<sdbus::Result<>>& result) {
        admin_.reload([mailbox = mailbox_, result](std::string problems) mutable {
            mailbox->post([result = std::move(result), problems = std::move(problems)] {
                if (problems.empty())
                    result->returnResults();
                else
                    reply_error(*result, to_dbus_error(ErrorCode::BadConfig, problems));
            });
        });
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
            spdlog::warn("D-Bus: cannot emit a signal: {}", error.getMessage());
        }
    }

    void emit_properties_changed(const std::vector<std::string>& names) {
        emit_signal([&] { getObject().emitPropertiesChangedSignal(kInterface, names); });
    }

    sdbus::IConnection& bus_;
    LatencyHints& hints_;
    Admin& admin_;
    std::shared_ptr<Mailbox> mailbox_;
    Authorizer authorizer_;

    SchedulerState state_;
    std::map<std::string, std::uint64_t> counters_;
    std::map<std::string, std::uint64_t> signalled_counters_;
    std::optional<Clock::time_point> last_counters_signal_;

    std::uint64_t next_cookie_ = 1;
    std::map<std::uint64_t, HoldEntry> holds_;
    std::map<pid_t, WatchedTarget> targets_;
    std::map<std::string, WatchedOwner> owners_;

    // Last: destroyed first, cancelling calls whose callbacks use the above.
    std::unique_ptr<sdbus::IProxy> bus_driver_;
    std::unique_ptr<sdbus::IProxy> polkit_;
};

struct Service::Impl {
    Impl(std::unique_ptr<sdbus::IConnection> connection, const Limits& limits, LatencyHints& hints, Admin& admin)
        : bus(std::move(connection)),
          mailbox(std::make_shared<Mailbox>()),
          server(std::make_unique<Server>(*bus, limits, hints, admin, mailbox)) {}

    ~Impl() {
        mailbox->close();
        server.reset();  // before the connection it is registered on (if run() did not)
    }

    void post(Mailbox::Task task) { mailbox->post(std::move(task)); }

    void run();
    void run_tasks();

    std::unique_ptr<sdbus::IConnection> bus;
    std::shared_ptr<Mailbox> mailbox;
    std::unique_ptr<Server> server;
    std::thread thread;
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

void Service::Impl::run() {
    std::vector<pollfd> fds;
    std::vector<pid_t> tgids;
    std::optional<Clock::time_point> counters_due;
    while (running) {
        if (bus_ok) {
            try {
                while (bus->processPendingRequest()) {
                }
            } catch (const sdbus::Error& error) {
                // Scheduling goes on; holds still end when their processes exit.
                spdlog::error("D-Bus service: the bus connection failed ({}); the D-Bus API is gone",
                              error.getMessage());
                bus_ok = false;
            }
        }

        fds.assign({{mailbox->fd(), POLLIN, 0}});
        int timeout_ms = -1;
        if (bus_ok) {
            const auto poll_data = bus->getEventLoopPollData();
            fds.push_back({poll_data.fd, poll_data.events, 0});
            timeout_ms = poll_data.getPollTimeout();
        }
        if (counters_due) {
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*counters_due - Clock::now()).count();
            const int due_ms = static_cast<int>(std::clamp<decltype(wait)>(wait, 0, INT_MAX));
            timeout_ms = timeout_ms < 0 ? due_ms : std::min(timeout_ms, due_ms);
        }
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
        counters_due = server->flush_counters(Clock::now());
    }
    // Unregister, then close the connection here, flushing the last signals.
    server.reset();
    bus.reset();
}

Service::Service(std::unique_ptr<sdbus::IConnection> bus, const Limits& limits, LatencyHints& hints, Admin& admin)
    : impl_(std::make_unique<Impl>(std::move(bus), limits, hints, admin)) {}

Service::~Service() { stop(); }

void Service::start() {
    std::lock_guard lock(impl_->lifecycle);
    if (impl_->started)
        return;
    impl_->bus->requestName(kBusName);
    impl_->started = true;
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void Service::stop() {
    std::lock_guard lock(impl_->lifecycle);
    if (!impl_->thread.joinable())
        return;
    impl_->post([impl = impl_.get()] {
        impl->server->end_all_holds("daemon-stopping");
        if (impl->bus_ok) {
            try {
                impl->bus->releaseName(kBusName);
            } catch (const sdbus::Error& error) {
                spdlog::warn("D-Bus service: cannot release {}: {}", kBusName, error.getMessage());
            }
        }
        impl->running = false;
    });
    impl_->thread.join();
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

void Service::replay_hints() {
    impl_->post([impl = impl_.get()] { impl->server->replay_hints(); });
}

}  // namespace rustland::service
