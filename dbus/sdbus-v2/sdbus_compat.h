// The sdbus-c++ 2.x side of the seam between sdbus-c++ 1.x (Debian 12) and
// 2.x (Debian 13): dbus/CMakeLists.txt puts this directory or sdbus-v1 on
// the include path, by the version it found. Both define the same names.
#pragma once

#include <poll.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

namespace rustland::dbus_compat {

using ServiceName = sdbus::ServiceName;
using InterfaceName = sdbus::InterfaceName;
using MemberName = sdbus::MemberName;  // method, signal and property names
using ErrorName = sdbus::Error::Name;
using PropertyMap = std::map<sdbus::PropertyName, sdbus::Variant>;  // GetAll, PropertiesChanged
using PropertyNames = std::vector<sdbus::PropertyName>;

// What a match rule's handler receives.
using MessageArg = sdbus::Message;

// An asynchronous call's error, as its reply handler receives it.
using AsyncError = std::optional<sdbus::Error>;
inline const sdbus::Error* error_pointer(const AsyncError& error) { return error ? &*error : nullptr; }

// A match rule that lasts as long as the returned slot.
inline sdbus::Slot add_match(sdbus::IConnection& bus, const std::string& rule, sdbus::message_handler handler) {
    return bus.addMatch(rule, std::move(handler), sdbus::return_slot);
}

// Dispatches one queued message or timer; false when there was none.
inline bool process_pending(sdbus::IConnection& bus) { return bus.processPendingEvent(); }

// Adds the descriptors to poll for `bus` to `fds`; returns sd-bus's own
// timeout for poll(2) (ms, -1: none). 2.x also signals work queued by
// other threads on an event fd.
inline int add_poll_fds(const sdbus::IConnection& bus, std::vector<pollfd>& fds) {
    const auto data = bus.getEventLoopPollData();
    fds.push_back({data.fd, data.events, 0});
    fds.push_back({data.eventFd, POLLIN, 0});
    return data.getPollTimeout();
}

// The sender of the call `object` is handling now, if it handles one.
inline std::optional<std::string> current_sender(const sdbus::IObject& object) {
    const sdbus::Message message = object.getCurrentlyProcessedMessage();
    if (!message.isValid())
        return std::nullopt;
    return std::string(message.getSender());
}

// Signal handlers added with uponSignal() take effect at once in 2.x.
inline void finish_registration(sdbus::IProxy&) {}

// A method, a signal and a read-only property of a hand-made object (test doubles).
template <typename Function>
void add_method(sdbus::IObject& object, const std::string& interface, const std::string& name, Function&& function) {
    object.addVTable(sdbus::registerMethod(name).implementedAs(std::forward<Function>(function)))
        .forInterface(interface);
}
template <typename Getter>
void add_property(sdbus::IObject& object, const std::string& interface, const std::string& name, Getter&& getter) {
    object.addVTable(sdbus::registerProperty(name).withGetter(std::forward<Getter>(getter))).forInterface(interface);
}
template <typename... Args>
void add_signal(sdbus::IObject& object, const std::string& interface, const std::string& name) {
    object.addVTable(sdbus::registerSignal(name).template withParameters<Args...>()).forInterface(interface);
}
inline void finish_registration(sdbus::IObject&) {}

}  // namespace rustland::dbus_compat
