// Human and JSON renderings of the daemon's state. Pure functions: the time
// "now" is an argument so that the output is reproducible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rustland::ctl {

// One entry of the Holds property.
struct HoldInfo {
    std::uint64_t cookie = 0;
    std::uint32_t pid = 0;
    std::uint32_t uid = 0;
    std::string app_id;
    std::string reason;
    std::int64_t since_usec = 0;  // realtime, microseconds since the epoch
    bool persistent = false;
};

// The org.scx.Rustland1 properties.
struct DaemonStatus {
    std::string state;
    std::string state_reason;
    std::string ops_name;
    std::string version;
    std::vector<HoldInfo> holds;
    std::map<std::string, std::uint64_t> counters;
};

enum class Newlines { escape, keep };

// `text` safe to print on a terminal: app ids and reasons are chosen by any
// local user, so control characters (C0, DEL, C1) are shown as \xNN instead of
// reaching the terminal. Invalid UTF-8 bytes are escaped the same way.
std::string printable(std::string_view text, Newlines newlines = Newlines::escape);

// "45s", "3m05s", "2h07m", "3d04h"; negative ages (clock steps) count as 0.
std::string format_age(std::int64_t age_usec);

// A table of the holds with a header, or "no holds\n".
std::string format_holds(const std::vector<HoldInfo>& holds, std::int64_t now_usec);

// State, ops, version, holds and counters, one block each.
std::string format_status(const DaemonStatus& status, std::int64_t now_usec);

nlohmann::json holds_to_json(const std::vector<HoldInfo>& holds);
nlohmann::json status_to_json(const DaemonStatus& status);

// Indented JSON text with a final newline.
std::string json_text(const nlohmann::json& value);

}  // namespace rustland::ctl
