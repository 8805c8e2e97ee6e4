#include "ctl/format.h"

#include <algorithm>
#include <array>
#include <cstddef>

#include <fmt/format.h>

namespace rustland::ctl {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0.
// Strict (no overlong forms, surrogates or code points past U+10FFFF) so that
// no lenient terminal decoder can turn it into a control character.
std::size_t utf8_sequence_length(std::string_view text, char32_t& code_point) {
    const auto lead = static_cast<unsigned char>(text[0]);
    std::size_t length = 0;
    char32_t minimum = 0;
    if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        minimum = 0x10000;
        code_point = lead & 0x07u;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        minimum = 0x800;
        code_point = lead & 0x0Fu;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        minimum = 0x80;
        code_point = lead & 0x1Fu;
    } else {
        return 0;
    }
    if (text.size() < length) {
        return 0;
    }
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[i]);
        if ((next & 0xC0u) != 0x80u) {
            return 0;
        }
        code_point = (code_point << 6) | (next & 0x3Fu);
    }
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    if (code_point < minimum || surrogate || code_point > 0x10FFFF) {
        return 0;
    }
    return length;
}

void append_escaped(std::string& out, unsigned char byte) { out += fmt::format("\\x{:02x}", byte); }

// Terminal columns of printable() output: one per code point.
std::size_t display_width(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0u) != 0x80u; }));
}

std::string pad_to(std::string_view text, std::size_t width) {
    std::string padded(text);
    padded.append(width - std::min(width, display_width(text)), ' ');
    return padded;
}

}  // namespace

std::string printable(std::string_view text, Newlines newlines) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            const bool control = byte < 0x20 || byte == 0x7F;
            if (control && !(byte == '\n' && newlines == Newlines::keep)) {
                append_escaped(out, byte);
            } else {
                out += static_cast<char>(byte);
            }
            ++i;
            continue;
        }
        char32_t code_point = 0;
        const std::size_t length = utf8_sequence_length(text.substr(i), code_point);
        const bool c1_control = code_point >= 0x80 && code_point <= 0x9F;
        if (length == 0 || c1_control) {
            append_escaped(out, byte);
            ++i;
            continue;
        }
        out.append(text.substr(i, length));
        i += length;
    }
    return out;
}

std::string format_age(std::int64_t age_usec) {
    const std::int64_t seconds = std::max<std::int64_t>(age_usec, 0) / 1'000'000;
    if (seconds < 60) {
        return fmt::format("{}s", seconds);
    }
    if (seconds < 3600) {
        return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
    }
    if (seconds < 86400) {
        return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
    }
    return fmt::format("{}d{:02}h", seconds / 86400, seconds % 86400 / 3600);
}

std::string format_holds(const std::vector<HoldInfo>& holds, std::int64_t now_usec) {
    if (holds.empty()) {
        return "no holds\n";
    }
    using Row = std::array<std::string, 7>;
    std::vector<Row> rows{{"COOKIE", "PID", "UID", "AGE", "PERSISTENT", "APP-ID", "REASON"}};
    for (const auto& hold : holds) {
        rows.push_back({fmt::to_string(hold.cookie), fmt::to_string(hold.pid), fmt::to_string(hold.uid),
                        format_age(now_usec - hold.since_usec), hold.persistent ? "yes" : "no", printable(hold.app_id),
                        printable(hold.reason)});
    }
    std::array<std::size_t, 7> widths{};
    for (const auto& row : rows) {
        for (std::size_t column = 0; column < row.size(); ++column) {
            widths[column] = std::max(widths[column], display_width(row[column]));
        }
    }
    std::string out;
    for (const auto& row : rows) {
        // The last column is not padded: no trailing blanks.
        for (std::size_t column = 0; column + 1 < row.size(); ++column) {
            out += pad_to(row[column], widths[column]);
            out += "  ";
        }
        out += row.back();
        out += '\n';
    }
    return out;
}

std::string format_status(const DaemonStatus& status, std::int64_t now_usec) {
    std::string out;
    out += fmt::format("State:    {}\n", printable(status.state));
    if (!status.state_reason.empty()) {
        out += fmt::format("Reason:   {}\n", printable(status.state_reason));
    }
    out += fmt::format("Ops:      {}\n", status.ops_name.empty() ? "-" : printable(status.ops_name));
    out += fmt::format("Version:  {}\n", printable(status.version));
    out += fmt::format("\nHolds ({}):\n", status.holds.size());
    out += format_holds(status.holds, now_usec);
    out += "\nCounters:\n";
    if (status.counters.empty()) {
        out += "none\n";
    }
    std::size_t name_width = 0;
    std::size_t value_width = 0;
    for (const auto& [name, value] : status.counters) {
        name_width = std::max(name_width, display_width(printable(name)));
        value_width = std::max(value_width, fmt::formatted_size("{}", value));
    }
    for (const auto& [name, value] : status.counters) {
        out += fmt::format("  {}  {:>{}}\n", pad_to(printable(name), name_width), value, value_width);
    }
    return out;
}

nlohmann::json holds_to_json(const std::vector<HoldInfo>& holds) {
    auto array = nlohmann::json::array();
    for (const auto& hold : holds) {
        array.push_back({{"cookie", hold.cookie},
                         {"pid", hold.pid},
                         {"uid", hold.uid},
                         {"app_id", hold.app_id},
                         {"reason", hold.reason},
                         {"since_usec", hold.since_usec},
                         {"persistent", hold.persistent}});
    }
    return array;
}

nlohmann::json status_to_json(const DaemonStatus& status) {
    return {{"state", status.state},     {"state_reason", status.state_reason},  {"ops_name", status.ops_name},
            {"version", status.version}, {"holds", holds_to_json(status.holds)}, {"counters", status.counters}};
}

std::string json_text(const nlohmann::json& value) {
    // D-Bus strings are valid UTF-8, but never let a stray byte abort output.
    return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace rustland::ctl
