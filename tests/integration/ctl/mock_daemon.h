// A stand-in for the scx-rustland daemon's D-Bus service, built from the
// generated adaptor: it records what clients asked for and can be told to
// answer the next call with a given D-Bus error. Serves on its own thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <rustland1_adaptor.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sdbus_compat.h>

namespace rustland::ctl::test {

struct RecordedHold {
    std::string method;  // "Hold" (by pidfd) or "HoldPid"
    std::uint64_t cookie = 0;
    pid_t pid = 0;  // for Hold: the pid the pidfd refers to
    std::string app_id;
    std::string reason;
    bool persistent = false;
    std::int64_t since_usec = 0;
};

class MockDaemon final : public sdbus::AdaptorInterfaces<org::scx::Rustland1_adaptor, sdbus::Properties_adaptor> {
public:
    // Owns org.scx.Rustland1 on the bus DBUS_SYSTEM_BUS_ADDRESS names.
    static std::unique_ptr<MockDaemon> start();
    ~MockDaemon();

    // The next method call fails with this error.
    void fail_next_call(const std::string& error_name, const std::string& message);
    // A live hold, as if some client had asked for it earlier.
    void add_hold(const RecordedHold& hold);

    std::vector<RecordedHold> holds() const;            // live
    std::vector<RecordedHold> holds_requested() const;  // every successful Hold/HoldPid
    std::vector<std::uint64_t> releases() const;        // every successful Release

    // Waits (up to a generous safety limit) until `ready` holds; false if it never did.
    bool wait_until(const std::function<bool(const MockDaemon&)>& ready) const;

private:
    MockDaemon(std::unique_ptr<sdbus::IConnection> connection);

    std::uint64_t Hold(const sdbus::UnixFd& pidfd, const std::string& app_id, const std::string& reason,
                       const std::map<std::string, sdbus::Variant>& options) override;
    std::uint64_t HoldPid(const std::uint32_t& pid, const std::string& app_id, const std::string& reason,
                          const std::map<std::string, sdbus::Variant>& options) override;
    void Release(const std::uint64_t& cookie) override;
    void Reload(sdbus::Result<>&& result) override;
    std::string State() override { return "attached"; }
    std::string StateReason() override { return ""; }
    std::string OpsName() override { return "rustland"; }
    std::string Version() override { return "9.9.9-mock"; }
    std::vector<
        sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string, std::int64_t, bool>>
    Holds() override;
    std::map<std::string, std::uint64_t> Counters() override { return {{"queued", 5}, {"scheduled", 1234567}}; }

    // Throws the error set by fail_next_call(), once.
    void fail_if_told();
    std::uint64_t add(RecordedHold hold, const std::map<std::string, sdbus::Variant>& options);

    std::unique_ptr<sdbus::IConnection> connection_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::optional<std::pair<std::string, std::string>> next_error_;
    std::vector<RecordedHold> live_;
    std::vector<RecordedHold> requested_;
    std::vector<std::uint64_t> released_;
    std::uint64_t next_cookie_ = 1;
};

}  // namespace rustland::ctl::test
