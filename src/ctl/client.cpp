#include "ctl/client.h"

#include <poll.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include <rustland1_names.h>

#include "ctl/errors.h"

namespace rustland::ctl {
namespace {

// The bus itself, answering questions about names.
constexpr const char* kBusDriver = "org.freedesktop.DBus";  // its name and its interface

std::unique_ptr<sdbus::IProxy> bus_driver(sdbus::IConnection& bus) {
    return sdbus::createProxy(bus, dbus_compat::ServiceName{kBusDriver}, sdbus::ObjectPath{"/org/freedesktop/DBus"});
}

template <class T>
T property_or_default(const dbus_compat::PropertyMap& properties, const std::string& name) {
    const auto found = properties.find(dbus_compat::MemberName{name});
    return found == properties.end() ? T{} : found->second.get<T>();
}

// The earlier of two poll(2) timeouts (ms, -1: none).
int earlier_timeout(int a_ms, int b_ms) {
    if (a_ms < 0 || b_ms < 0) {
        return std::max(a_ms, b_ms);
    }
    return std::min(a_ms, b_ms);
}

}  // namespace

std::unique_ptr<sdbus::IConnection> connect_system_bus() {
    try {
        return sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& error) {
        throw CommandFailed(no_system_bus(error.getMessage()));
    }
}

DaemonClient::DaemonClient(sdbus::IConnection& bus) : DaemonClient(bus, dbus_names::kBusName) {}

DaemonClient::DaemonClient(sdbus::IConnection& bus, const std::string& destination)
    : ProxyInterfaces(bus, dbus_compat::ServiceName{destination}, sdbus::ObjectPath{dbus_names::kObjectPath}) {
    registerProxy();
}

std::string daemon_instance(sdbus::IConnection& bus) {
    std::string owner;
    try {
        bus_driver(bus)
            ->callMethod("GetNameOwner")
            .onInterface(kBusDriver)
            .withArguments(std::string(dbus_names::kBusName))
            .storeResultsTo(owner);
    } catch (const sdbus::Error& error) {
        throw CommandFailed(failure_from_dbus_error(error.getName(), error.getMessage()));
    }
    return owner;
}

bool name_has_owner(sdbus::IConnection& bus, const std::string& name, std::chrono::milliseconds timeout) {
    bool owned = false;
    bus_driver(bus)
        ->callMethod("NameHasOwner")
        .onInterface(kBusDriver)
        .withArguments(name)
        .withTimeout(timeout)
        .storeResultsTo(owned);
    return owned;
}

DaemonClient::~DaemonClient() { unregisterProxy(); }

DaemonStatus DaemonClient::fetch_status() {
    const auto properties = GetAll(org::scx::Rustland1_proxy::INTERFACE_NAME);
    DaemonStatus status;
    status.state = property_or_default<std::string>(properties, "State");
    status.state_reason = property_or_default<std::string>(properties, "StateReason");
    status.ops_name = property_or_default<std::string>(properties, "OpsName");
    status.version = property_or_default<std::string>(properties, "Version");
    using HoldStruct =
        sdbus::Struct<std::uint64_t, std::uint32_t, std::uint32_t, std::string, std::string, std::int64_t, bool>;
    for (const auto& hold : property_or_default<std::vector<HoldStruct>>(properties, "Holds")) {
        status.holds.push_back({std::get<0>(hold), std::get<1>(hold), std::get<2>(hold), std::get<3>(hold),
                                std::get<4>(hold), std::get<5>(hold), std::get<6>(hold)});
    }
    status.counters = property_or_default<std::map<std::string, std::uint64_t>>(properties, "Counters");
    return status;
}

void DaemonClient::onHoldAdded(const std::uint64_t&, const std::uint32_t&, const std::uint32_t&, const std::string&,
                               const std::string&) {
    if (listeners_.changed) {
        listeners_.changed();
    }
}

void DaemonClient::onHoldRemoved(const std::uint64_t& cookie, const std::string& why) {
    if (listeners_.hold_removed) {
        listeners_.hold_removed(cookie, why);
    }
    if (listeners_.changed) {
        listeners_.changed();
    }
}

void DaemonClient::onPropertiesChanged(const dbus_compat::InterfaceName& interface_name,
                                       const dbus_compat::PropertyMap&, const dbus_compat::PropertyNames&) {
    if (interface_name == org::scx::Rustland1_proxy::INTERFACE_NAME && listeners_.changed) {
        listeners_.changed();
    }
}

std::optional<std::size_t> wait_for_events(std::span<sdbus::IConnection* const> buses, std::span<const int> fds,
                                           std::optional<std::chrono::milliseconds> timeout) {
    std::vector<pollfd> polled;
    for (const int fd : fds) {
        polled.push_back({fd, POLLIN, 0});
    }
    int timeout_ms = timeout ? static_cast<int>(timeout->count()) : -1;
    for (auto* bus : buses) {
        // Callbacks that run now may have given the caller work: do not sleep then.
        while (dbus_compat::process_pending(*bus)) {
            timeout_ms = 0;
        }
        timeout_ms = earlier_timeout(timeout_ms, dbus_compat::add_poll_fds(*bus, polled));
    }
    if (::poll(polled.data(), polled.size(), timeout_ms) < 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "poll");
    }
    // What just arrived reaches the callbacks before the caller looks at its state.
    for (auto* bus : buses) {
        while (dbus_compat::process_pending(*bus)) {
        }
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (polled[i].revents != 0) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> wait_for_events(sdbus::IConnection* bus, std::span<const int> fds,
                                           std::optional<std::chrono::milliseconds> timeout) {
    if (bus == nullptr) {
        return wait_for_events(std::span<sdbus::IConnection* const>(), fds, timeout);
    }
    sdbus::IConnection* const buses[] = {bus};
    return wait_for_events(buses, fds, timeout);
}

}  // namespace rustland::ctl
