#include "service_fixtures.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <rustland1_names.h>

#include "fail.h"

namespace rustland::service::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(30);
constexpr uid_t kNobody = 65534;

using test_support::fail;

}  // namespace

bool FakeHints::hold(pid_t tgid, uid_t /*holder*/) {
    std::lock_guard lock(mutex_);
    if (refuse_)
        return false;
    if (held_[tgid])
        ++misuses_;
    held_[tgid] = true;
    ++holds_;
    return true;
}

void FakeHints::release(pid_t tgid) {
    std::lock_guard lock(mutex_);
    if (!held_[tgid])
        ++misuses_;
    held_[tgid] = false;
    ++releases_;
}

void FakeHints::forget(pid_t /*key*/) {
    std::lock_guard lock(mutex_);
    ++misuses_;
}

std::vector<HoldSink::Entry> FakeHints::entries() const {
    std::vector<Entry> entries;
    for (const pid_t tgid : held())
        entries.push_back({tgid, tgid});
    return entries;
}

void FakeHints::refuse_holds(bool refuse) {
    std::lock_guard lock(mutex_);
    refuse_ = refuse;
}

unsigned FakeHints::holds() const {
    std::lock_guard lock(mutex_);
    return holds_;
}

unsigned FakeHints::releases() const {
    std::lock_guard lock(mutex_);
    return releases_;
}

std::vector<pid_t> FakeHints::held() const {
    std::lock_guard lock(mutex_);
    std::vector<pid_t> tgids;
    for (const auto& [tgid, is_held] : held_) {
        if (is_held)
            tgids.push_back(tgid);
    }
    return tgids;
}

unsigned FakeHints::misuses() const {
    std::lock_guard lock(mutex_);
    return misuses_;
}

FakeAdmin::~FakeAdmin() {
    for (auto& thread : threads_)
        thread.join();
}

void FakeAdmin::reload(std::function<void(std::string problems)> done) {
    std::lock_guard lock(mutex_);
    ++reloads_;
    const auto& kept = kept_.emplace_back(std::make_shared<Done>(std::move(done)));
    threads_.emplace_back([done = kept, problems = problems_] { (*done)(problems); });
}

unsigned FakeAdmin::reloads() const {
    std::lock_guard lock(mutex_);
    return reloads_;
}

Client::Client()
    : ProxyInterfaces(sdbus::createSystemBusConnection(), dbus_compat::ServiceName{dbus_names::kBusName},
                      sdbus::ObjectPath{dbus_names::kObjectPath}) {
    registerProxy();
}

Client::~Client() { unregisterProxy(); }

std::string Client::unique_name() { return getProxy().getConnection().getUniqueName(); }

bool Client::wait_for(const std::function<bool(const Event&)>& match, std::size_t count) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, kDeadline, [&] {
        return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), match)) >= count;
    });
}

std::vector<Client::Event> Client::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

void Client::onHoldAdded(const std::uint64_t& cookie, const std::uint32_t& pid, const std::uint32_t& uid,
                         const std::string& app_id, const std::string& reason) {
    record({"added", cookie, std::to_string(pid) + " " + std::to_string(uid) + " " + app_id + " " + reason, {}});
}

void Client::onHoldRemoved(const std::uint64_t& cookie, const std::string& why) {
    record({"removed", cookie, why, {}});
}

void Client::onPropertiesChanged(const dbus_compat::InterfaceName& interface_name,
                                 const dbus_compat::PropertyMap& changed,
                                 const dbus_compat::PropertyNames& invalidated) {
    if (interface_name != org::scx::Rustland1_proxy::INTERFACE_NAME)
        return;
    for (const auto& [name, value] : changed)
        record({"changed", 0, name, {}});
    for (const auto& name : invalidated)
        record({"changed", 0, name, {}});
}

void Client::record(Event event) {
    event.at = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    arrived_.notify_all();
}

FakePolkit::FakePolkit(bool authorize) : FakePolkit(authorize, false) {}

FakePolkit::FakePolkit(Stalled) : FakePolkit(false, true) {}

FakePolkit::FakePolkit(bool authorize, bool stall)
    : authorize_(authorize),
      connection_(sdbus::createSystemBusConnection(dbus_compat::ServiceName{"org.freedesktop.PolicyKit1"})),
      object_(sdbus::createObject(*connection_, sdbus::ObjectPath{"/org/freedesktop/PolicyKit1/Authority"})) {
    constexpr const char* kInterface = "org.freedesktop.PolicyKit1.Authority";
    if (stall) {
        dbus_compat::add_method(*object_, kInterface, "CheckAuthorization",
                                [this](sdbus::Result<Answer>&& result, const Subject& subject,
                                       const std::string& action, const std::map<std::string, std::string>& /*details*/,
                                       const std::uint32_t& flags, const std::string& /*cancellation_id*/) {
                                    {
                                        std::lock_guard lock(mutex_);
                                        unanswered_.push_back(std::move(result));
                                    }
                                    record(subject, action, flags);
                                });
    } else {
        dbus_compat::add_method(*object_, kInterface, "CheckAuthorization",
                                [this](const Subject& subject, const std::string& action,
                                       const std::map<std::string, std::string>& /*details*/,
                                       const std::uint32_t& flags, const std::string& /*cancellation_id*/) -> Answer {
                                    record(subject, action, flags);
                                    return Answer{authorize_, false, std::map<std::string, std::string>{}};
                                });
    }
    dbus_compat::finish_registration(*object_);
    connection_->enterEventLoopAsync();
}

FakePolkit::~FakePolkit() {
    connection_->leaveEventLoop();
    unanswered_.clear();
    object_.reset();
}

void FakePolkit::record(const Subject& subject, const std::string& action, std::uint32_t flags) {
    const auto& details = std::get<1>(subject);
    const auto name = details.find("name");
    {
        std::lock_guard lock(mutex_);
        questions_.push_back({std::get<0>(subject),
                              name == details.end() ? std::string() : name->second.get<std::string>(), action, flags});
    }
    asked_.notify_all();
}

std::vector<FakePolkit::Question> FakePolkit::questions() const {
    std::lock_guard lock(mutex_);
    return questions_;
}

bool FakePolkit::wait_for_question_from(const std::string& subject) const {
    std::unique_lock lock(mutex_);
    return asked_.wait_for(lock, kDeadline, [&] {
        return std::any_of(questions_.begin(), questions_.end(),
                           [&](const Question& question) { return question.subject_name == subject; });
    });
}

std::string error_of(const std::function<void()>& call) {
    try {
        call();
        return "ok";
    } catch (const sdbus::Error& error) {
        return error.getName();
    }
}

std::string as_nobody(const std::function<std::string()>& body) { return as_user(kNobody, body); }

std::string as_user(uid_t uid, const std::function<std::string()>& body) {
    int result_pipe[2];
    if (::pipe2(result_pipe, O_CLOEXEC) != 0)
        fail("pipe2");
    const pid_t child = ::fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        ::close(result_pipe[0]);
        std::string result;
        try {
            if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)
                fail("switching to uid " + std::to_string(uid));
            result = body();
        } catch (const std::exception& error) {
            result = std::string("exception: ") + error.what();
        }
        const char* data = result.data();
        std::size_t left = result.size();
        while (left > 0) {
            const ssize_t written = ::write(result_pipe[1], data, left);
            if (written <= 0)
                break;
            data += written;
            left -= static_cast<std::size_t>(written);
        }
        ::_exit(0);
    }
    ::close(result_pipe[1]);
    std::string result;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(result_pipe[0], buffer, sizeof(buffer))) > 0)
        result.append(buffer, static_cast<std::size_t>(got));
    ::close(result_pipe[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        result += " (child died: status " + std::to_string(status) + ")";
    return result;
}

Sleeper::Sleeper() : pid_(::fork()) {
    if (pid_ < 0)
        fail("fork");
    if (pid_ == 0) {
        for (;;)
            ::pause();
    }
}

Sleeper::~Sleeper() {
    kill();
    reap();
}

void Sleeper::kill() {
    if (!reaped_)
        ::kill(pid_, SIGKILL);
}

void Sleeper::reap() {
    if (!reaped_) {
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
    }
}

int open_fd_count() {
    int count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
    return count;
}

int pidfd_of(pid_t pid) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));
    if (fd < 0)
        fail("pidfd_open " + std::to_string(pid));
    return fd;
}

void ServiceOnPrivateBus::SetUp() {
    ASSERT_EQ(::geteuid(), 0u) << "these tests need root: they run a system-like dbus-daemon and switch "
                                  "child processes to other uids; run them as root";
    bus_.emplace();
    held_.bind(hints_);
}

void ServiceOnPrivateBus::TearDown() {
    service_.reset();
    bus_.reset();
}

void ServiceOnPrivateBus::start(const Limits& limits) {
    service_ = std::make_unique<Service>(sdbus::createSystemBusConnection(), limits, held_, admin_);
    service_->start();
}

std::function<bool(const Client::Event&)> ServiceOnPrivateBus::removed(std::uint64_t cookie, const std::string& why) {
    return [=](const Client::Event& event) {
        return event.what == "removed" && event.cookie == cookie && event.detail == why;
    };
}

}  // namespace rustland::service::testing
