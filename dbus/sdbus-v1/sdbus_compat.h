// The sdbus-c++ 1.x side of the seam between sdbus-c++ 1.x (Debian 12) and
// 2.x (Debian 13): dbus/CMakeLists.txt puts this directory or sdbus-v2 on
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

// 2.x has a strong type for each kind of name; 1.x takes plain strings.
using ServiceName = std::string;
using InterfaceName = std::string;
using MemberName = std::string;  // method, signal and property names
using ErrorName = std::string;
using PropertyMap = std::map<std::string, sdbus::Variant>;  // GetAll, PropertiesChanged
using PropertyNames = std::vector<std::string>;

// What a match rule's handler receives.
using MessageArg = sdbus::Message&;

// An asynchronous call's error, as its reply handler receives it.
using AsyncError = const sdbus::Error*;
inline const sdbus::Error* error_pointer(AsyncError error) { return error; }

// A match rule that lasts as long as the returned slot.
inline sdbus::Slot add_match(sdbus::IConnection& bus, const std::string& rule, sdbus::message_handler handler) {
    return bus.addMatch(rule, std::move(handler));
}

// Dispatches one queued message or timer; false when there was none.
inline bool process_pending(sdbus::IConnection& bus) { return bus.processPendingRequest(); }

// Adds the descriptors to poll for `bus` to `fds`; returns sd-bus's own
// timeout for poll(2) (ms, -1: none).
inline int add_poll_fds(const sdbus::IConnection& bus, std::vector<pollfd>& fds) {
    const auto data = bus.getEventLoopPollData();
    fds.push_back({data.fd, data.events, 0});
    return data.getPollTimeout();
}

// The sender of the call `object` is handling now, if it handles one.
inline std::optional<std::string> current_sender(const sdbus::IObject& object) {
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    if (message == nullptr)
        return std::nullopt;
    return std::string(message->getSender());
}

// Signal handlers added with uponSignal() take effect here (2.x: at once).
inline void finish_registration(sdbus::IProxy& proxy) { proxy.finishRegistration(); }

// A method, a signal and a read-only property of a hand-made object (test doubles):
// all of an interface's members are added before finish_registration().
template <typename Function>
void add_method(sdbus::IObject& object, const std::string& interface, const std::string& name, Function&& function) {
    object.registerMethod(name).onInterface(interface).implementedAs(std::forward<Function>(function));
}
template <typename Getter>
void add_property(sdbus::IObject& object, const std::string& interface, const std::string& name, Getter&& getter) {
    object.registerProperty(name).onInterface(interface).withGetter(std::forward<Getter>(getter));
}
template <typename... Args>
void add_signal(sdbus::IObject& object, const std::string& interface, const std::string& name) {
    object.registerSignal(name).onInterface(interface).template withParameters<Args...>();
}
inline void finish_registration(sdbus::IObject& object) { object.finishRegistration(); }

}  // namespace rustland::dbus_compat
